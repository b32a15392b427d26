"""Every governance term of configs/userdict.txt comes out of the segmenter as one token."""
from __future__ import annotations

import pytest

from pipeline.segment import DEFAULT_USERDICT, read_userdict, tokenize

TERMS = [word for word, _, _ in read_userdict(DEFAULT_USERDICT)]


def test_userdict_is_large_enough_and_unique():
    assert len(TERMS) >= 300
    assert len(TERMS) == len(set(TERMS))


@pytest.mark.parametrize("term", TERMS)
def test_term_is_one_token(term):
    assert tokenize(term) == [term]


def test_terms_stay_whole_inside_a_real_sentence():
    text = "社区党组织要发挥党建引领基层治理作用，推动在职党员到社区双报到，破解两张皮问题，减轻社区行政负担。"
    tokens = tokenize(text)
    for term in ("在职党员", "双报到", "两张皮", "行政负担"):
        assert term in tokens
