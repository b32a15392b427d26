"""Word vectors learnt from unlabelled governance text, and sentence vectors built from them.

The labelled seeds are two web compilations; the documents zhili meets are work reports, plans, surveys
and regulations written in other words. Word vectors carry what the unlabelled corpora say about words the
labels never show: 偏弱 sits beside 不足 and 乏力, 惠及 beside 累计 and 新增. A sentence's vector (the mean
of its words' vectors, unit length) is a dense feature of the tagger (annotate.vectors): on the seeds it
raised leave-one-file-out macro-F1 by about 0.04, more than any cue or n-gram change had.

The vectors are a positive-PMI word-context matrix (window annotate.vectors_window, context counts
smoothed to the power 0.75) reduced by a truncated SVD, each singular vector weighted by the square root
of its singular value (Levy, Goldberg and Dagan 2015: on corpora this size as good as word2vec, and
deterministic and quick to rebuild). `zhili train --build-vectors SRC` writes them; the file is arrays
only (.npz read with allow_pickle=False), so a swapped file can never run code.
"""
from __future__ import annotations

import fnmatch
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from pipeline.config import Config
from pipeline.segment import get_cutter, read_userdict

HAN = re.compile(r"[\u3400-\u9fff]")
SOURCE_SUFFIXES = (".txt", ".md", ".jsonl")
SENTENCE_END = re.compile(r"[。！？；!?;\n]+")


class VectorsError(ValueError):
    """The vectors file is missing, malformed or does not fit the configuration."""


class WordVectors:
    """A vocabulary and its unit-length vectors (float32, one row per word)."""

    def __init__(self, words: list[str], matrix: np.ndarray):
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise VectorsError(f"{len(words)} words but a vector matrix of shape {matrix.shape}")
        self.words = words
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.index = {w: i for i, w in enumerate(words)}

    @property
    def dim(self) -> int:
        return self.matrix.shape[1]

    @classmethod
    def load(cls, path: Path) -> WordVectors:
        """Vectors from an .npz of arrays `words` (unicode) and `vectors`; never unpickles."""
        try:
            with np.load(path, allow_pickle=False) as a:
                return cls(a["words"].tolist(), a["vectors"])
        except FileNotFoundError:
            raise VectorsError(f"word vectors not found: {path} (rebuild them with `zhili train --build-vectors "
                               "CORPUS`, or set annotate.vectors to null)") from None
        except (OSError, KeyError, ValueError) as exc:
            raise VectorsError(f"{path} is not a word-vectors file ({exc}); rebuild it with "
                               "`zhili train --build-vectors CORPUS`") from None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            np.savez_compressed(fh, words=np.asarray(self.words), vectors=self.matrix.astype(np.float16))

    def sentences(self, ids: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
        """Unit-length mean vector of each of n sentences (zeros where none of its words is known), given
        the word id of every token (-1: not in the vocabulary) and its sentence (-1: between sentences)."""
        keep = (ids >= 0) & (owner >= 0)
        rows, ids = owner[keep], ids[keep]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
        if np.any(rows[1:] < rows[:-1]):
            ids = ids[np.argsort(rows, kind="stable")]
        # a sentence x word count matrix as it comes (duplicate words summed by the product itself)
        counts = sp.csr_matrix((np.ones(len(ids), dtype=np.float32), ids, indptr), shape=(n, len(self.words)))
        out = np.asarray(counts @ self.matrix)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


def named(patterns: list[str]) -> Callable[[Path], bool]:
    """Whether a path's file name matches one of the fnmatch patterns (annotate.weak_exclude)."""
    return lambda path: any(fnmatch.fnmatch(path.name, p) for p in patterns)


def corpus_documents(sources: Iterable[Path], suffixes: tuple[str, ...] = SOURCE_SUFFIXES,
                     exclude: Callable[[Path], bool] = lambda p: False) -> Iterator[tuple[str, str]]:
    """(name, text) of every file with one of the suffixes under the sources, and of every record (column
    content) of a .jsonl collection (name FILE#i); a file under a folder is named FOLDER/FILE."""
    for root in sources:
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            if path.suffix not in suffixes or not path.is_file() or exclude(path):
                continue
            name = f"{root.name}/{path.name}" if root.is_dir() else path.name
            if path.suffix == ".jsonl":
                for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines()):
                    if line.strip():
                        yield f"{name}#{i}", str(json.loads(line).get("content") or "")
            else:
                yield name, path.read_text(encoding="utf-8", errors="replace")


def _token_ids(texts: Iterable[str], cut: Callable[[str], list[str]], min_count: int, max_words: int,
               keep: frozenset[str] = frozenset()) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The vocabulary (words with a Han character seen at least min_count times: the max_words most
    frequent, then those of `keep` beyond them) and, for every token of every sentence, its word id (-1
    if none) and its sentence number."""
    sentence_tokens = [[t for t in cut(s) if HAN.search(t)] for text in texts for s in SENTENCE_END.split(text)]
    counts = Counter(t for toks in sentence_tokens for t in toks)
    words = [w for w, c in counts.most_common(max_words) if c >= min_count]
    chosen = set(words)
    words += sorted(w for w in keep if w not in chosen and counts[w] >= min_count)
    index = {w: i for i, w in enumerate(words)}
    ids = np.fromiter((index.get(t, -1) for toks in sentence_tokens for t in toks), dtype=np.int64)
    sent = np.repeat(np.arange(len(sentence_tokens)), [len(t) for t in sentence_tokens])
    return words, ids, sent


def cooccurrences(ids: np.ndarray, sent: np.ndarray, n_words: int, window: int) -> sp.csr_matrix:
    """Symmetric word-word counts of pairs at most `window` tokens apart inside one sentence."""
    rows, cols = [], []
    for k in range(1, window + 1):
        a, b = ids[:-k], ids[k:]
        ok = (a >= 0) & (b >= 0) & (sent[:-k] == sent[k:])
        rows += [a[ok], b[ok]]
        cols += [b[ok], a[ok]]
    r, c = np.concatenate(rows), np.concatenate(cols)
    m = sp.csr_matrix((np.ones(len(r), dtype=np.float64), (r, c)), shape=(n_words, n_words))
    m.sum_duplicates()
    return m


def ppmi(counts: sp.csr_matrix, smoothing: float = 0.75) -> sp.csr_matrix:
    """Positive pointwise mutual information, context probabilities smoothed (counts ** smoothing)."""
    total = counts.sum()
    word_p = np.asarray(counts.sum(axis=1)).ravel() / total
    ctx = np.asarray(counts.sum(axis=0)).ravel() ** smoothing
    ctx_p = ctx / ctx.sum()
    coo = counts.tocoo()
    pmi = np.log(coo.data / total / word_p[coo.row] / ctx_p[coo.col])
    keep = pmi > 0
    return sp.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=counts.shape)


def build(texts: Iterable[str], cut: Callable[[str], list[str]], dim: int = 100, window: int = 4,
          min_count: int = 5, max_words: int = 40_000, random_state: int = 0,
          keep: frozenset[str] = frozenset()) -> WordVectors:
    """PPMI-SVD word vectors of a corpus (module docstring); deterministic for a given random_state.
    Words of `keep` (the user dictionary) stay in the vocabulary when frequent enough, whatever their rank."""
    from scipy.sparse.linalg import svds

    words, ids, sent = _token_ids(texts, cut, min_count, max_words, keep)
    if len(words) <= dim:
        raise VectorsError(f"only {len(words)} words occur {min_count} times or more: too little text for "
                           f"{dim}-dimensional vectors")
    m = ppmi(cooccurrences(ids, sent, len(words), window))
    v0 = np.random.default_rng(random_state).standard_normal(len(words))
    u, s, _ = svds(m, k=dim, v0=v0)
    order = np.argsort(-s)
    vec = u[:, order] * np.sqrt(s[order])
    vec /= np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
    return WordVectors(words, vec.astype(np.float32))


def rebuild(cfg: Config, sources: list[Path]) -> str:
    """`zhili train --build-vectors SRC`: rewrite annotate.vectors from the texts under the sources, less
    the files of annotate.weak_exclude (the transfer tests' documents stay unseen, even unlabelled)."""
    ann = cfg.annotate
    if not ann.vectors:
        raise VectorsError("annotate.vectors is null: name the file to write there first")
    missing = [str(p) for p in sources if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(f"vector source not found: {', '.join(missing)}")
    cut = get_cutter(ann.tokenizer, str(cfg.resolve(ann.userdict)))
    texts = (text for _, text in corpus_documents([Path(p) for p in sources], exclude=named(ann.weak_exclude)))
    vectors = build(texts, cut, ann.vectors_dim,
                    ann.vectors_window, ann.vectors_min_count, ann.vectors_max_words, ann.random_state,
                    frozenset(w for w, _, _ in read_userdict(cfg.resolve(ann.userdict))))
    out = cfg.resolve(ann.vectors)
    vectors.save(out)
    return f"wrote {out}: {len(vectors.words)} words, {vectors.dim} dimensions"
