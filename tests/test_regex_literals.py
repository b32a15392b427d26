"""regex_literals.scanning: the look-ahead for first characters changes no match, on any text."""
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import load_config
from pipeline.regex_literals import first_chars, scanning

PATTERNS = [
    r"[0-9０-９]+(?:[.,][0-9０-９]+)?(?:多|余)?(?:万|亿)?(?:个|人|户|%)",
    r"(?:19|20)\d\d年",
    r"(?:(?:存在|面临)[^。]{0,12}(?:问题|困难))|(?:不足之处)|(?:清醒(?:地)?(?:认识|看到))",
    r"中图分类号|本站|篇\s*\d+\s*$",
    r"(?:^|[，,])到\d+年",  # an anchor first: left as it is
]
ALPHABET = "0123456789０１２３４５６７８９.,多余万亿个人户%年存在面临问题困难不足之处清醒地认识看到中图分类号本站篇 \n，,。"


def test_first_characters_are_found_or_left_unknown():
    assert first_chars(r"(?:19|20)\d\d年") == {"1", "2"}
    assert first_chars(r"[0-9]+个") == set("0123456789")
    for unknown in [r"\d+个", r"a?b", r"(?=x)y", r"[^a]b", r"(?i:ab)c", r"^ab", r".b", r"(ab|c*)d"]:
        assert first_chars(unknown) is None, unknown
    assert scanning(re.compile(r"\d+个")).pattern == r"\d+个" and scanning(None) is None
    for own_prefix in [r"(?:19|20)\d\d年", r"[0-9]个", r"社区|小区"]:  # re finds these first characters itself
        assert scanning(re.compile(own_prefix)).pattern == own_prefix


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=80), st.sampled_from(PATTERNS), st.sampled_from([0, re.M]))
def test_matches_are_unchanged(text, pattern, flags):
    plain = [(m.span(), m.group(0)) for m in re.compile(pattern, flags).finditer(text)]
    assert [(m.span(), m.group(0)) for m in scanning(re.compile(pattern, flags)).finditer(text)] == plain


def test_the_shipped_scanning_patterns_are_led_by_their_first_characters():
    from pipeline.annotate import load_cues

    spec = load_cues(load_config())
    assert spec.count_regex.pattern.startswith("(?=[") and all(rx.pattern.startswith("(?=[") for rx in spec.intro_regex.values())
