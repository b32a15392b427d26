"""Chinese word segmentation: the one module that calls jieba or rjieba.

rjieba (jieba-rs) is jieba-compatible and about 19x faster than jieba.lcut, so it is the default; the
segmenter is chosen by config, imported on first use, given the governance user dictionary once per
process, and a missing package is a clear error, not a silent fallback.
"""
from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from itertools import chain, compress
from pathlib import Path

import numpy as np

from pipeline.config import PROJECT_ROOT
from pipeline.nfkc import nfkc_all

DEFAULT_USERDICT = PROJECT_ROOT / "configs" / "userdict.txt"
DEFAULT_STOPWORDS = PROJECT_ROOT / "configs" / "stopwords.txt"
#: frequency given to user-dictionary words without one: high enough to win over the shorter words
USER_WORD_FREQ = 200_000


class SegmenterError(RuntimeError):
    """The configured segmenter cannot be used; the message says what to install."""


def read_userdict(path: str | Path) -> list[tuple[str, int | None, str | None]]:
    """Entries of a jieba user dictionary: 'word [freq] [tag]' per line, '#' comments allowed."""
    entries = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[-1] if len(parts) > 1 and not parts[-1].isdigit() else None
        entries.append((parts[0], freq, tag))
    return entries


def _import(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        raise SegmenterError(
            f"the segmenter {name!r} is not installed: run `pip install {name}` "
            f"or set annotate.tokenizer in your config to the other one (rjieba or jieba)"
        ) from None


@functools.lru_cache(maxsize=4)
def get_cutter(tokenizer: str = "rjieba", userdict: str | None = None,
               search: bool = False) -> Callable[[str], list[str]]:
    """A function text -> tokens (precise mode, or search mode adding sub-words; HMM on), user dictionary loaded once."""
    path = Path(userdict) if userdict else DEFAULT_USERDICT
    entries = read_userdict(path) if path.exists() else []
    if tokenizer == "rjieba":
        rjieba = _import("rjieba")
        seg = rjieba.Jieba()
        for word, freq, tag in entries:
            seg.add_word(word, freq or USER_WORD_FREQ, tag)
        cut = seg.cut_for_search if search else seg.cut
        cut("预热")
        return lambda text: cut(text, True)
    if tokenizer == "jieba":
        jieba = _import("jieba")
        seg = jieba.Tokenizer()
        seg.initialize()
        for word, freq, tag in entries:
            seg.add_word(word, freq or USER_WORD_FREQ, tag)
        if search:
            return lambda text: seg.lcut_for_search(text, HMM=True)
        return lambda text: seg.lcut(text, HMM=True)
    raise SegmenterError(f"unknown tokenizer {tokenizer!r}: use rjieba or jieba")


def tokenize(text: str, tokenizer: str = "rjieba", userdict: str | None = None) -> list[str]:
    """Tokens of a text, whitespace tokens dropped."""
    return [t for t in get_cutter(tokenizer, userdict)(text) if not t.isspace()]


def one_line(texts: list[str]) -> list[str]:
    """The texts with their own newlines as spaces: both are whitespace to the segmenter (a token of its
    own, which every caller drops), and a newline is what joins texts for one segmenter call."""
    return [t.replace("\n", " ") for t in texts] if any("\n" in t for t in texts) else texts


def cut_many(cut: Callable[[str], list[str]], texts: list[str]) -> tuple[list[str], np.ndarray]:
    """All tokens of the texts and the text of each: one segmenter call on the newline-joined texts
    (one_line), whose joining newlines are left out.

    The segmenter cuts Chinese runs independently and never joins across a newline; should a joining
    newline not come out as a token of its own, each text is cut on its own instead.
    """
    return _cut_lines(cut, one_line(texts))


def _cut_lines(cut: Callable[[str], list[str]], texts: list[str]) -> tuple[list[str], np.ndarray]:
    """cut_many() of texts already without newlines."""
    tokens = cut("\n".join(texts)) if texts else []
    if tokens:
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        starts = np.cumsum(lengths) - lengths
        seps = np.cumsum([len(t) + 1 for t in texts[:-1]]) - 1
        at = np.minimum(np.searchsorted(starts, seps), len(starts) - 1)
        if len(seps) == 0 or (np.all(starts[at] == seps) and np.all(lengths[at] == 1)):
            keep = np.ones(len(tokens), dtype=bool)
            keep[at[:len(seps)]] = False
            return list(compress(tokens, keep.tolist())), np.searchsorted(seps, starts[keep])
    per_text = [cut(t) for t in texts]
    return [t for toks in per_text for t in toks], np.repeat(np.arange(len(texts)), [len(toks) for toks in per_text])


class TokenMemo:
    """Tokens and NFKC forms of the texts one process saw last, per text, so that two stages reading the
    same sentences compute them once: the tagger's sentence vectors (pipeline.annotate) and theme matching
    (pipeline.themes, pipeline.theme_model) both normalise a document's sentences and cut the NFKC forms
    with the same segmenter, in one worker. Exact by construction (the same function of the same text);
    bounded by max_texts (per segmenter for the tokens)."""

    def __init__(self, max_texts: int = 100_000):
        self.max_texts = max_texts
        self._tokens: dict[Callable, dict[str, tuple[str, ...]]] = {}  # per segmenter, which it holds alive
        self._nfkc: dict[str | None, str] = {}

    def clear(self) -> None:
        self._tokens.clear()
        self._nfkc.clear()

    def _recall(self, memo: dict, keys: list, compute: Callable[[list[int]], list], remember: bool) -> list:
        """The memo's value for each key; the missing ones computed together (compute gets their positions)
        and, when asked, remembered, the memo starting over when it would pass max_texts."""
        known = list(map(memo.get, keys))
        missing = [i for i, v in enumerate(known) if v is None]
        if missing:
            if remember and len(memo) + len(missing) > self.max_texts:
                memo.clear()
            for i, value in zip(missing, compute(missing)):
                known[i] = value
                if remember:
                    memo[keys[i]] = value
        return known

    def nfkc_all(self, texts: list[str | None], remember: bool = False) -> list[str]:
        """nfkc.nfkc_all() of the texts, those of remembered texts from the memo; remembered when asked."""
        return self._recall(self._nfkc, texts, lambda idx: nfkc_all([texts[i] for i in idx]), remember)

    def cut_many(self, cut: Callable[[str], list[str]], texts: list[str],
                 remember: bool = False) -> tuple[list[str], np.ndarray]:
        """cut_many() of the texts, reusing the tokens of remembered texts and remembering these ones when
        asked."""
        texts = one_line(texts)
        memo = self._tokens.setdefault(cut, {})

        def segment(idx: list[int]) -> list[tuple[str, ...]]:
            tokens, owner = _cut_lines(cut, [texts[i] for i in idx])
            bounds = np.searchsorted(owner, np.arange(len(idx) + 1)).tolist()
            return [tuple(tokens[a:b]) for a, b in zip(bounds, bounds[1:])]

        known = self._recall(memo, texts, segment, remember)
        return list(chain.from_iterable(known)), np.repeat(np.arange(len(texts)), [len(toks) for toks in known])


#: the process's memo (each worker process has its own)
TOKENS = TokenMemo()


def tokenize_many(texts: list[str], tokenizer: str = "rjieba", userdict: str | None = None) -> list[list[str]]:
    """tokenize() of each text, in one segmenter call."""
    tokens, owner = cut_many(get_cutter(tokenizer, userdict), texts)
    out: list[list[str]] = [[] for _ in texts]
    for tok, i in zip(tokens, owner.tolist()):
        if not tok.isspace():
            out[i].append(tok)
    return out


def tokenize_for_search(text: str, tokenizer: str = "rjieba", userdict: str | None = None) -> list[str]:
    """Search-mode tokens: each word plus its dictionary sub-words, so 老龄化 finds the word 党员老龄化."""
    return [t for t in get_cutter(tokenizer, userdict, search=True)(text) if not t.isspace()]


@functools.lru_cache(maxsize=2)
def stopwords(path: str | None = None) -> frozenset[str]:
    """Stopwords for features only; stored tokens are never filtered."""
    p = Path(path) if path else DEFAULT_STOPWORDS
    return frozenset(w.strip() for w in p.read_text(encoding="utf-8").splitlines() if w.strip())
