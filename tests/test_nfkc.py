"""The fast NFKC equals unicodedata's on any text, including the cases it hands back to unicodedata."""
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.nfkc import nfkc

CHINESE = "（一）加强党建引领，推进网格化管理：２０２４年累计服务１２３４５人次！ＡＢＣ①②℃　～"


def test_governance_text_and_awkward_cases():
    for text in [CHINESE, "", "abc", "ｶﾞ", "e\u0301", "𝐀１", "Å", "\uff21\u0301", "ﬁ", "㈱", "\u3000\u00a0", "（\udcff）"]:
        assert nfkc(text) == unicodedata.normalize("NFKC", text), text


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60) | st.text(alphabet=CHINESE + "ｶﾞ\u0301"))
def test_equals_unicodedata(text):
    assert nfkc(text) == unicodedata.normalize("NFKC", text)
