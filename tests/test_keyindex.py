"""KeyIndex: the hash-table look-up gives the positions a binary search gives, for any keys."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.keyindex import KeyIndex

U64 = st.integers(min_value=0, max_value=2**64 - 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(U64, max_size=300), st.lists(U64, max_size=100))
def test_find_equals_binary_search(keys, others):
    keys = np.unique(np.array(keys, dtype=np.uint64))
    query = np.array(others + keys[::3].tolist(), dtype=np.uint64)
    idx = np.searchsorted(keys, query).clip(0, max(len(keys) - 1, 0))
    want = np.where(keys[idx] == query, idx, -1) if len(keys) else np.full(len(query), -1)
    assert np.array_equal(KeyIndex(keys).find(query), want)


def test_keys_sharing_slots_are_still_found():
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 2**63, 40_000, dtype=np.uint64))  # a few hundred slots are shared
    index = KeyIndex(keys)
    assert (index.table == -2).any()
    query = np.concatenate([keys, keys + np.uint64(2**63)])
    assert np.array_equal(index.find(query), np.concatenate([np.arange(len(keys)), np.full(len(keys), -1)]))
