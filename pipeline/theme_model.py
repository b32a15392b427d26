"""The multi-label theme model: one-vs-rest logistic regressions over word and character n-grams.

Why linear: about a thousand labelled units and a dozen themes. Linear models on sparse n-grams train in
about a second, their weights name the words behind a decision (the evidence column), and the whole
model is plain arrays, so it is cached as JSON + npz (loaded with allow_pickle=False): a cache file can
never run code, unlike a pickle.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pipeline.nfkc import nfkc
from pipeline.segment import TOKENS, get_cutter, stopwords, tokenize

_KEEP = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbfA-Za-z0-9]")
_WORD = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbfA-Za-z]")
DROPPED, NOT_IN_VOCAB = -2, -1
NEWLINE, MAX_PACKED = np.uint64(10), 3
_DROP = re.compile(r"[^\u4e00-\u9fff\u3400-\u4dbfA-Za-z0-9\n]+")


@functools.lru_cache(maxsize=200_000)
def unit_features(text: str, type_: str, tokenizer: str = "rjieba", userdict: str | None = None,
                  stopwords_path: str | None = None) -> tuple[str, ...]:
    """Feature strings of one sentence: words (w:), word bigrams (b:), character 2-3-grams (c:), type (t:).

    Characters catch terms the segmenter splits differently in other genres; words and bigrams keep
    the readable evidence. Cached because cross-validation featurises each unit once per fold.
    """
    stop = stopwords(stopwords_path)
    text = nfkc(text or "")
    words = [w for w in tokenize(text, tokenizer, userdict) if w not in stop and _WORD.search(w)]
    feats = [f"w:{w}" for w in words]
    feats += [f"b:{a}_{b}" for a, b in zip(words, words[1:])]
    chars = "".join(_KEEP.findall(text))
    feats += [f"c:{chars[i:i + n]}" for n in (2, 3) for i in range(len(chars) - n + 1)]
    feats.append(f"t:{type_ or 'other'}")
    return tuple(feats)


def _identity(x):
    return x


def _pack(columns: list[np.ndarray]) -> np.ndarray:
    """One uint64 per position from up to three arrays of code points (21 bits each)."""
    out = np.zeros(len(columns[0]), dtype=np.uint64)
    for col in columns:
        out = (out << np.uint64(21)) | col
    return out


class Featurizer:
    """unit_features for a whole document at once, straight into the count matrix over a fixed vocabulary.

    Why: building millions of feature strings and looking each up costs seconds per corpus. Here the
    character n-grams of the vocabulary are found by one vectorised look-up over the document, words get an
    id once per distinct token, bigrams are looked up as id pairs in numpy, and the counts are exactly those of unit_features + CountVectorizer.
    Texts must already be NFKC-normalised.
    """

    def __init__(self, vocabulary: dict[str, int], tokenizer: str, userdict: str | None, stopwords_path: str | None):
        self.cut = get_cutter(tokenizer, userdict)
        self.stop = stopwords(stopwords_path)
        self.n_features = len(vocabulary)
        by_kind: dict[str, dict[str, int]] = {"w": {}, "b": {}, "c": {}, "t": {}}
        for feature, col in vocabulary.items():
            kind, _, value = feature.partition(":")
            if kind in by_kind:
                by_kind[kind][value] = col
        self.types = by_kind["t"]
        self.gram_index = {}  # n -> (hashed packed codes, their columns) of the character n-grams
        for n in sorted({len(g) for g in by_kind["c"] if 0 < len(g) <= MAX_PACKED}):
            grams = [g for g in by_kind["c"] if len(g) == n]
            codes = _pack([np.array([ord(g[i]) for g in grams], dtype=np.uint64) for i in range(n)])
            self.gram_index[n] = (pd.Index(codes), np.array([by_kind["c"][g] for g in grams], dtype=np.int64))
        # vocabulary words get ids; a bigram a_b is looked up as the pair (id a, id b), registered at every
        # underscore so that words containing one still find the same bigram as the string look-up
        pairs = {(v[:i], v[i + 1:]): col for v, col in by_kind["b"].items()
                 for i, ch in enumerate(v) if ch == "_"}
        names = list(dict.fromkeys([*by_kind["w"], *(w for pair in pairs for w in pair)]))
        self.ids = {w: i for i, w in enumerate(names)}
        self.word_col = np.array([by_kind["w"].get(w, -1) for w in names] + [-1], dtype=np.int64)
        codes = np.array([self.ids[a] * len(names) + self.ids[b] for a, b in pairs], dtype=np.int64)
        order = np.argsort(codes)
        self.pair_codes, self.pair_cols = codes[order], np.array(list(pairs.values()), dtype=np.int64)[order]
        self.code: dict[str, int] = {}  # token -> word id, NOT_IN_VOCAB (kept word) or DROPPED (stopword...)

    def _codes(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(sentence, code) of every kept token (unit_features' words), code -1 when not a vocabulary word."""
        tokens, sent = TOKENS.cut_many(self.cut, texts)
        code = self.code
        if len(code) > 500_000:
            code.clear()
        for tok in set(tokens).difference(code):
            kept = tok not in self.stop and _WORD.search(tok) is not None
            code[tok] = self.ids.get(tok, NOT_IN_VOCAB) if kept else DROPPED
        flat = np.fromiter(map(code.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        kept = flat != DROPPED
        return sent[kept], flat[kept]

    def _char_cells(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every character 2-3-gram occurrence that is in the vocabulary.

        Code points are packed into one integer per n-gram (21 bits each) and looked up in a hash index
        of the vocabulary's n-grams, all in numpy/pandas; texts are joined by newlines, which no n-gram has.
        """
        joined = "\n".join(t.replace("\n", "") for t in texts) if any("\n" in t for t in texts) else "\n".join(texts)
        points = np.frombuffer(_DROP.sub("", joined).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        rows = np.cumsum(points == NEWLINE)
        found_rows, found_cols = [], []
        for n, (codes, cols) in self.gram_index.items():
            if len(points) < n or not len(codes):
                continue
            at = codes.get_indexer(_pack([points[i:len(points) - n + 1 + i] for i in range(n)]))
            hit = np.flatnonzero(at >= 0)
            found_rows.append(rows[hit])
            found_cols.append(cols[at[hit]])
        if not found_rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(found_rows).astype(np.int64), np.concatenate(found_cols)

    def counts(self, texts: list[str], types: list[str | None]) -> sp.csr_matrix:
        """The units x vocabulary count matrix, identical to CountVectorizer over unit_features."""
        sent, codes = self._codes(texts)
        word_cols = self.word_col[codes]
        n_ids = len(self.ids)
        pair = np.where((codes[:-1] >= 0) & (codes[1:] >= 0) & (sent[1:] == sent[:-1]),
                        codes[:-1] * n_ids + codes[1:], -1)
        at = np.minimum(np.searchsorted(self.pair_codes, pair), max(len(self.pair_codes) - 1, 0))
        pair_cols = np.full(len(pair), -1, dtype=np.int64)
        if len(self.pair_codes):
            found = (pair >= 0) & (self.pair_codes[at] == pair)
            pair_cols[found] = self.pair_cols[at[found]]
        type_cols = np.array([self.types.get(t or "other", -1) for t in types], dtype=np.int64)
        char_rows, char_cols = self._char_cells(texts)
        rows = np.concatenate([sent, sent[:-1] if len(sent) else sent, np.arange(len(texts)), char_rows])
        cols = np.concatenate([word_cols, pair_cols, type_cols, char_cols])
        keep = cols >= 0
        x = sp.csr_matrix((np.ones(int(keep.sum()), dtype=np.int64), (rows[keep], cols[keep])),
                          shape=(len(texts), self.n_features))
        x.sum_duplicates()
        x.sort_indices()
        return x


def _damped_weights(y: np.ndarray) -> dict[int, float]:
    """Positives weighted by sqrt(negatives / positives), not the full ratio ("balanced").

    Balanced weights make a rare theme fire on any vaguely similar sentence of another genre (measured on
    city-reports-2024: model-only hits of capacity 202, party_coverage 247, rule_of_law 333, mostly wrong);
    the square root cut those to 55, 20 and 90 for about 0.01 of cross-validated micro-F1.
    """
    pos = max(int(np.sum(y)), 1)
    return {0: 1.0, 1: float(np.sqrt(max(len(y) - pos, 1) / pos))}


def _tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF-IDF with l2 rows, done by hand so a loaded model needs only its arrays (and no
    scikit-learn import: 1.8 s of a worker's start). Rows are scaled as sklearn.preprocessing.normalize
    does, by dividing by the norm."""
    x = counts.astype(np.float64).tocsr()
    x.data = 1.0 + np.log(x.data)
    x = (x @ sp.diags(idf)).tocsr()
    norms = np.sqrt(np.bincount(np.repeat(np.arange(x.shape[0]), np.diff(x.indptr)), weights=x.data ** 2,
                                minlength=x.shape[0]))
    x.data /= np.repeat(np.where(norms > 0, norms, 1.0), np.diff(x.indptr))
    return x


@dataclass
class ThemeModel:
    """Fitted weights: themes[k] has coef[k] over vocabulary (feature -> column) and intercept[k]."""

    themes: list[str]
    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    @classmethod
    def fit(cls, features: list[tuple[str, ...]], targets: dict[str, np.ndarray], c: float = 4.0,
            random_state: int = 0, min_df: int = 2) -> ThemeModel:
        """One balanced logistic regression per theme (targets: theme -> 0/1 array over the units)."""
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.linear_model import LogisticRegression

        counter = CountVectorizer(analyzer=_identity, min_df=min_df, lowercase=False)
        counts = counter.fit_transform(features)
        n = counts.shape[0]
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        x = _tfidf(counts, idf)
        themes = sorted(targets)
        coef = np.zeros((len(themes), x.shape[1]), dtype=np.float32)
        intercept = np.zeros(len(themes), dtype=np.float32)
        for k, theme in enumerate(themes):
            y = targets[theme]
            clf = LogisticRegression(C=c, class_weight=_damped_weights(y), solver="liblinear",
                                     random_state=random_state)
            clf.fit(x, y)
            coef[k], intercept[k] = clf.coef_[0], clf.intercept_[0]
        vocab = {f: int(i) for f, i in counter.vocabulary_.items()}
        return cls(themes, vocab, idf.astype(np.float32), coef, intercept)

    def featurizer(self, tokenizer: str, userdict: str | None, stopwords_path: str | None) -> Featurizer:
        """The document featurizer for these unit_features arguments, built once per model."""
        cache = self.__dict__.setdefault("_featurizers", {})
        key = (tokenizer, userdict, stopwords_path)
        if key not in cache:
            cache[key] = Featurizer(self.vocabulary, *key)
        return cache[key]

    def predict_texts(self, texts: list[str], types: list[str | None], *feature_args) -> tuple[np.ndarray, sp.csr_matrix]:
        """predict_proba of the units' unit_features (texts NFKC-normalised), via the document featurizer."""
        if not texts or not self.themes:
            return self.predict_proba([() for _ in texts])
        return self._predict(_tfidf(self.featurizer(*feature_args).counts(texts, types), self.idf))

    def _predict(self, x: sp.csr_matrix) -> tuple[np.ndarray, sp.csr_matrix]:
        z = np.asarray(x @ self.coef.T) + self.intercept
        return 1.0 / (1.0 + np.exp(-z)), x

    def transform(self, features: list[tuple[str, ...]]) -> sp.csr_matrix:
        from sklearn.feature_extraction.text import CountVectorizer

        counter = CountVectorizer(analyzer=_identity, vocabulary=self.vocabulary, lowercase=False)
        return _tfidf(counter.transform(features), self.idf)

    def predict_proba(self, features: list[tuple[str, ...]]) -> tuple[np.ndarray, sp.csr_matrix]:
        """Probabilities (units x themes) and the feature matrix (for evidence)."""
        if not features or not self.themes:
            return np.zeros((len(features), len(self.themes))), sp.csr_matrix((len(features), len(self.vocabulary)))
        return self._predict(self.transform(features))

    def evidence(self, row: sp.csr_matrix, k: int, n: int = 3) -> str:
        """The n features that pushed unit `row` most towards theme k, without their prefixes."""
        return self._evidence(row.indices, row.data, k, n)

    def evidence_at(self, x: sp.csr_matrix, r: int, k: int, n: int = 3) -> str:
        """evidence() of row r of x, read off its arrays (slicing a CSR row costs more than the rest)."""
        start, end = x.indptr[r], x.indptr[r + 1]
        return self._evidence(x.indices[start:end], x.data[start:end], k, n)

    def _evidence(self, indices: np.ndarray, data: np.ndarray, k: int, n: int) -> str:
        if len(indices) == 0:
            return ""
        contrib = data * self.coef[k, indices]
        names = self.feature_names
        best = [names[indices[i]] for i in np.argsort(-contrib)[:n] if contrib[i] > 0]
        return "、".join(dict.fromkeys(b.split(":", 1)[1].replace("_", "") for b in best))

    @functools.cached_property
    def feature_names(self) -> list[str]:
        """Feature strings in column order."""
        names = [""] * len(self.vocabulary)
        for f, i in self.vocabulary.items():
            names[i] = f
        return names

    def save(self, path: Path) -> None:
        """Write PATH.json (themes, vocabulary in column order) and PATH.npz (arrays), atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"themes": self.themes, "features": self.feature_names}
        tmp_json, tmp_npz = path.with_suffix(".json.tmp"), path.with_suffix(".tmp.npz")
        tmp_json.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        np.savez_compressed(tmp_npz, idf=self.idf, coef=self.coef, intercept=self.intercept)
        tmp_npz.replace(path.with_suffix(".npz"))
        tmp_json.replace(path.with_suffix(".json"))

    @classmethod
    def load(cls, path: Path) -> ThemeModel | None:
        """A saved model, or None when absent or unreadable (it is then retrained)."""
        try:
            meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            with np.load(path.with_suffix(".npz"), allow_pickle=False) as arrays:
                idf, coef, intercept = arrays["idf"], arrays["coef"], arrays["intercept"]
        except (OSError, ValueError, KeyError):
            return None
        vocab = {f: i for i, f in enumerate(meta["features"])}
        if coef.shape != (len(meta["themes"]), len(vocab)):
            return None
        return cls(list(meta["themes"]), vocab, idf, coef, intercept)
