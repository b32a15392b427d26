"""Near-duplicate articles: MinHash-style signatures of character shingles, candidates from datasketch's LSH.

A signature is computed from the article's character shingles (cfg.dedup.shingle characters, whitespace and
punctuation removed, so reflowed or re-punctuated copies still match). Shingles are hashed with numpy and
summarised by one-permutation hashing (each hash falls in one of num_perm buckets, the bucket keeps its
minimum; empty buckets borrow from the next full one), which estimates Jaccard similarity like classic MinHash
at a fraction of the cost: datasketch's MinHash.update_batch ran at ~2 MB/s on the city reports, this at
~40 MB/s. The signatures go into datasketch's MinHashLSH as hash values; candidates it returns are confirmed
with the estimated Jaccard similarity.

Because the shingles form a set, a page holding the same report three times (plus menus) has nearly the
report's own shingle set and is caught as its duplicate. A text with fewer than cfg.dedup.min_shingles
shingles is hashed as one token, so it can only duplicate an identical (cleaned) text: short notices share
too many shingles by chance to be compared by overlap. An empty text has no signature and is never a duplicate.
"""
from __future__ import annotations

import hashlib
import re

import numpy as np

from pipeline.config import Config

_NOT_TEXT = re.compile(r"[\W_]+")  # whitespace and punctuation (full- and half-width); letters and digits stay
_EMPTY = np.uint64(np.iinfo(np.uint64).max)
_MUL = np.uint64(0x100000001B3)
_MIX1, _MIX2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
_SEED = 1  # recorded in the LeanMinHash; signatures are only compared with signatures made here


def _mix(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: spreads the polynomial hash over all bits."""
    h ^= h >> np.uint64(33)
    h *= _MIX1
    h ^= h >> np.uint64(33)
    h *= _MIX2
    h ^= h >> np.uint64(33)
    return h


def shingle_hashes(clean: str, k: int) -> np.ndarray:
    """64-bit hashes of every k-character shingle of a cleaned text (vectorised over code points)."""
    cp = np.frombuffer(clean.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = len(cp) - k + 1
    if n <= 0:
        return np.empty(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = cp[:n].copy()
        for j in range(1, k):
            h *= _MUL
            h += cp[j:j + n]
        return _mix(h)


def _one_token(clean: str) -> np.ndarray:
    return np.frombuffer(hashlib.blake2b(clean.encode("utf-8"), digest_size=8).digest(), dtype=np.uint64).copy()


def _densify(sig: np.ndarray) -> np.ndarray:
    """Fill empty buckets from the next full bucket (circularly), offset by the distance, as in rotation
    densification: two texts agree on a filled bucket exactly when they agree on its source."""
    full = np.flatnonzero(sig != _EMPTY)
    if len(full) in (0, len(sig)):
        return sig
    idx = np.arange(len(sig))
    pos = np.searchsorted(full, idx) % len(full)
    src = full[pos]
    dist = ((src - idx) % len(sig)).astype(np.uint64)
    with np.errstate(over="ignore"):
        return sig[src] + dist * np.uint64(0x9E3779B97F4A7C15)


def signature(text: str, cfg: Config) -> np.ndarray:
    """uint64 array of length cfg.dedup.num_perm; all-max for an empty text (never a duplicate)."""
    d = cfg.dedup
    clean = _NOT_TEXT.sub("", text)
    sig = np.full(d.num_perm, _EMPTY, dtype=np.uint64)
    if not clean:
        return sig
    hashes = shingle_hashes(clean, d.shingle)
    if len(hashes) < d.min_shingles:
        hashes = _one_token(clean)
    buckets = (hashes % np.uint64(d.num_perm)).astype(np.intp)
    values = hashes // np.uint64(d.num_perm)
    np.minimum.at(sig, buckets, values)
    return _densify(sig)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the two shingle sets."""
    return float(np.count_nonzero(a == b)) / len(a)


def find_duplicates(ids: list[str], sigs: list[np.ndarray], cfg: Config) -> dict[str, str]:
    """doc_id -> doc_id of its earliest near-duplicate original, in the order given (the run's order).

    A document is a duplicate of the first earlier document whose estimated Jaccard similarity reaches
    cfg.dedup.threshold; chains (C copies B which copies A) resolve to the first original (A). Empty or
    malformed signatures are skipped.
    """
    from datasketch import LeanMinHash, MinHashLSH  # run node only: workers make signatures without it (0.6 s import)

    d = cfg.dedup
    lsh = MinHashLSH(threshold=d.threshold, num_perm=d.num_perm)
    origin: dict[int, int] = {}
    out: dict[str, str] = {}
    kept: list[np.ndarray | None] = []
    for i, (doc_id, raw) in enumerate(zip(ids, sigs)):
        sig = np.asarray(raw, dtype=np.uint64)
        if sig.shape != (d.num_perm,) or bool((sig == _EMPTY).all()):
            kept.append(None)
            continue
        kept.append(sig)
        mh = LeanMinHash(seed=_SEED, hashvalues=sig, scheme="affine64")  # 64-bit values
        for j in sorted(lsh.query(mh)):
            if similarity(sig, kept[j]) >= d.threshold:
                root = origin.get(j, j)
                if ids[root] != doc_id:
                    origin[i] = root
                    out[doc_id] = ids[root]
                break
        lsh.insert(i, mh, check_duplication=False)
    return out
