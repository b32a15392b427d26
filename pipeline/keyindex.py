"""Exact look-up of 64-bit keys (feature keys, word hashes) in numpy, through a hash table.

A document's 200,000 feature keys or 10,000 word hashes each found by binary search cost the annotation
stage several per cent of its time; a multiply, a shift and two gathers per key cost a third of that.
"""
from __future__ import annotations

import numpy as np

MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits of key * MIX pick the slot


class KeyIndex:
    """Position of each query key in `keys` (sorted, distinct, uint64), -1 where it is absent.

    The table maps a slot to the position of the one key hashed there, -1 to none and -2 where keys share
    it (a few per cent of them, found by binary search); every hit is compared with its key, so the
    result is exact whatever the keys."""

    def __init__(self, keys: np.ndarray):
        self.keys = np.asarray(keys, dtype=np.uint64)
        self.bits = max(12, int(np.ceil(np.log2(max(len(self.keys), 1) * 32))))
        slot = self._slot(self.keys)
        self.table = np.full(1 << self.bits, -1, dtype=np.int32)
        self.table[slot] = np.arange(len(self.keys))
        self.table[np.bincount(slot, minlength=1 << self.bits) > 1] = -2

    def _slot(self, keys: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((keys * MIX) >> np.uint64(64 - self.bits)).astype(np.int64)

    def find(self, query: np.ndarray) -> np.ndarray:
        keys = self.keys
        if not len(keys) or not len(query):
            return np.full(len(query), -1, dtype=np.int64)
        pos = self.table[self._slot(query)].astype(np.int64)
        hit = pos >= 0
        pos[hit] = np.where(keys[pos[hit]] == query[hit], pos[hit], -1)
        shared = np.flatnonzero(pos == -2)
        if len(shared):
            idx = np.searchsorted(keys, query[shared]).clip(0, len(keys) - 1)
            pos[shared] = np.where(keys[idx] == query[shared], idx, -1)
        return pos
