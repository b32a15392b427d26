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
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from pipeline.segment import stopwords, tokenize

_KEEP = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbfA-Za-z0-9]")
_WORD = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbfA-Za-z]")


@functools.lru_cache(maxsize=200_000)
def unit_features(text: str, type_: str, tokenizer: str = "rjieba", userdict: str | None = None,
                  stopwords_path: str | None = None) -> tuple[str, ...]:
    """Feature strings of one sentence: words (w:), word bigrams (b:), character 2-3-grams (c:), type (t:).

    Characters catch terms the segmenter splits differently in other genres; words and bigrams keep
    the readable evidence. Cached because cross-validation featurises each unit once per fold.
    """
    stop = stopwords(stopwords_path)
    text = unicodedata.normalize("NFKC", text or "")
    words = [w for w in tokenize(text, tokenizer, userdict) if w not in stop and _WORD.search(w)]
    feats = [f"w:{w}" for w in words]
    feats += [f"b:{a}_{b}" for a, b in zip(words, words[1:])]
    chars = "".join(_KEEP.findall(text))
    feats += [f"c:{chars[i:i + n]}" for n in (2, 3) for i in range(len(chars) - n + 1)]
    feats.append(f"t:{type_ or 'other'}")
    return tuple(feats)


def _identity(x):
    return x


def _tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF-IDF with l2 rows, done by hand so a loaded model needs only its arrays."""
    x = counts.astype(np.float64).tocsr()
    x.data = 1.0 + np.log(x.data)
    return normalize(x @ sp.diags(idf), norm="l2", copy=False).tocsr()


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
            clf = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", random_state=random_state)
            clf.fit(x, targets[theme])
            coef[k], intercept[k] = clf.coef_[0], clf.intercept_[0]
        vocab = {f: int(i) for f, i in counter.vocabulary_.items()}
        return cls(themes, vocab, idf.astype(np.float32), coef, intercept)

    def transform(self, features: list[tuple[str, ...]]) -> sp.csr_matrix:
        counter = CountVectorizer(analyzer=_identity, vocabulary=self.vocabulary, lowercase=False)
        return _tfidf(counter.transform(features), self.idf)

    def predict_proba(self, features: list[tuple[str, ...]]) -> tuple[np.ndarray, sp.csr_matrix]:
        """Probabilities (units x themes) and the feature matrix (for evidence)."""
        if not features or not self.themes:
            return np.zeros((len(features), len(self.themes))), sp.csr_matrix((len(features), len(self.vocabulary)))
        x = self.transform(features)
        z = np.asarray(x @ self.coef.T) + self.intercept
        return 1.0 / (1.0 + np.exp(-z)), x

    def evidence(self, row: sp.csr_matrix, k: int, n: int = 3) -> str:
        """The n features that pushed unit `row` most towards theme k, without their prefixes."""
        if row.nnz == 0:
            return ""
        contrib = row.data * self.coef[k, row.indices]
        names = self.feature_names
        best = [names[row.indices[i]] for i in np.argsort(-contrib)[:n] if contrib[i] > 0]
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
