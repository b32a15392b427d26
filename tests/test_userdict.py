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


def test_token_memo_gives_the_segmenter_tokens_and_reuses_them():
    """segment.TokenMemo: the tokens of cut_many (joining newlines left out), from the memo when remembered."""
    from pipeline.segment import TokenMemo, cut_many, get_cutter

    calls: list[str] = []

    def cut(text: str) -> list[str]:
        calls.append(text)
        return get_cutter("rjieba")(text)

    texts = ["推进党建引领基层治理。", "社区工作者队伍老龄化,后继乏人。", "", "２０２３年累计新增12个网格。"]
    want, owner = cut_many(get_cutter("rjieba"), texts)
    assert "\n" not in want and "".join(want) == "".join(texts)
    assert owner.tolist() == [i for i, t in enumerate(texts) for tok in get_cutter("rjieba")(t)]
    memo = TokenMemo(max_texts=5)
    got, got_owner = memo.cut_many(cut, texts, remember=True)
    assert got == want and got_owner.tolist() == owner.tolist()
    calls.clear()
    again, again_owner = memo.cut_many(cut, texts[::-1])
    assert calls == [] and again_owner.tolist() == sorted(again_owner.tolist())
    assert again == [t for i in (3, 2, 1, 0) for t, o in zip(got, got_owner) if o == i]
    other, _ = memo.cut_many(get_cutter("rjieba"), texts)  # another segmenter is another key
    assert other == got
    memo.cut_many(cut, ["另一句话。", "第二句。"], remember=True)  # 4 + 2 > 5: the memo starts over
    assert len(memo._tokens[cut]) == 2 and calls == ["另一句话。\n第二句。"]


def test_token_memo_gives_nfkc_forms_and_reuses_them(monkeypatch):
    """segment.TokenMemo.nfkc_all: nfkc.nfkc_all of the texts, those annotation remembered from the memo."""
    from pipeline import segment
    from pipeline.nfkc import nfkc_all

    texts = ["２０２３年累计新增１２个网格。", "推进党建引领基层治理。", None, "ＡＢＣ社区"]
    memo = segment.TokenMemo(max_texts=5)
    assert memo.nfkc_all(texts, remember=True) == nfkc_all(texts) == ["2023年累计新增12个网格。", "推进党建引领基层治理。",
                                                                       "", "ABC社区"]
    computed: list[list] = []
    monkeypatch.setattr(segment, "nfkc_all", lambda ts: computed.append(ts) or nfkc_all(ts))
    assert memo.nfkc_all(texts[::-1] + ["ｘ"]) == nfkc_all(texts)[::-1] + ["x"]
    assert computed == [["ｘ"]]  # only the text annotation did not remember
    memo.nfkc_all(["一", "二"], remember=True)  # 4 + 2 > 5: the memo starts over
    assert len(memo._nfkc) == 2
