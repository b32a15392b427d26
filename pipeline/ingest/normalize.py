"""Text normalisation: one canonical form for every article text, since all offsets point into it.

Traditional characters become simplified (OpenCC, only on lines that contain a character OpenCC would
change, because most input is already simplified), full-width ASCII letters/digits/space become
half-width, Chinese punctuation is kept as written, and whitespace is collapsed while line breaks (the
paragraph marks) survive. normalize(normalize(x)) == normalize(x).
"""
from __future__ import annotations

import functools
import re

import numpy as np

# Full-width letters/digits -> ASCII; ideographic and other exotic spaces -> ' '; zero-width and control
# characters dropped (they are invisible and break matching); \r and line/paragraph separators -> \n.
_TABLE: dict[int, int | None] = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)}
_TABLE.update({c: c - 0xFEE0 for c in range(0xFF21, 0xFF3B)})
_TABLE.update({c: c - 0xFEE0 for c in range(0xFF41, 0xFF5B)})
_TABLE.update({c: 0x20 for c in (0x3000, 0xA0, 0x1680, 0x202F, 0x205F, 0x0B, 0x0C, *range(0x2000, 0x200B))})
_TABLE.update({c: None for c in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0xAD)})
_TABLE.update({c: None for c in (*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F)})
_TABLE.update({0x0D: 0x0A, 0x2028: 0x0A, 0x2029: 0x0A, 0x85: 0x0A})

# Characters next to which a space is noise in Chinese text: ideographs, CJK and full-width punctuation,
# curly quotes, dashes and ellipses.
CJK = "\u2e80-\u2fff\u3001-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff01-\uff0f" \
      "\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\u2018-\u201f\u2014\u2026\u00b7\U00020000-\U0003134f"
IDEOGRAPH = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_CJK_CHAR = re.compile(f"[{CJK}]")
_SPACE_RUN = re.compile(r"[ \t]+")
_NUMERIC = frozenset("0123456789%")  # a space between these and CJK is typeset spacing too (3.7 万人, 5% 左右)
_SECTION = frozenset("0123456789.")
_BLANKS = re.compile(r"\n{3,}")
# str.translate on a whole text is slow (a dict lookup per character); runs of the few characters that
# need it are rare, so find them with a regex and translate only those.
_NEEDS_TABLE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_TABLE)) + "]+")


@functools.lru_cache(maxsize=1)
def _converter():
    """OpenCC t2s (C++ binding), built once per process."""
    import opencc

    return opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=1)
def _traditional_chars() -> str:
    """Every BMP CJK character OpenCC's t2s changes, derived from OpenCC itself (not a hand list)."""
    chars = [chr(c) for r in ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00)) for c in range(*r)]
    converted = _converter().convert("\n".join(chars)).split("\n")
    return "".join(c for c, t in zip(chars, converted) if c != t)


@functools.lru_cache(maxsize=1)
def traditional_pattern() -> re.Pattern:
    return re.compile(f"[{re.escape(_traditional_chars())}]")


_WIDTH, _TRAD = 1, 2


@functools.lru_cache(maxsize=1)
def _flag_table() -> np.ndarray:
    """Per UTF-16 code unit: _WIDTH if fold_width changes it, _TRAD if t2s changes it."""
    table = np.zeros(0x10000, dtype=np.uint8)
    table[[c for c in _TABLE if c < 0x10000]] |= _WIDTH
    table[[ord(c) for c in _traditional_chars()]] |= _TRAD
    return table


def _flags(text: str, chunk: int = 1 << 22) -> int:
    """Which normalisation steps this text needs, in one vectorised pass (a regex class of 4,000
    characters scans ~10x slower); chunked so a huge single-line text stays in bounded memory."""
    table, out = _flag_table(), 0
    for i in range(0, len(text), chunk):
        units = np.frombuffer(text[i:i + chunk].encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
        out |= int(np.bitwise_or.reduce(table[units])) if len(units) else 0
    return out


def has_traditional(text: str) -> bool:
    """Any character OpenCC t2s would change?"""
    return bool(_flags(text) & _TRAD)


def to_simplified(text: str, check: bool = True) -> str:
    """Convert the lines holding traditional characters; leave the rest untouched (fast path)."""
    if check and not has_traditional(text):
        return text
    trad = traditional_pattern()
    cc = _converter()
    lines = text.split("\n")
    for i, line in enumerate(lines):
        # OpenCC is not always a fixpoint on arbitrary input: convert until stable.
        for _ in range(5):
            if not trad.search(line):
                break
            converted = cc.convert(line)
            if converted == line:
                break
            line = converted
        lines[i] = line
    return "\n".join(lines)


def _space(text: str, m: re.Match) -> str:
    s, e = m.span()
    if 0 < s and e < len(text):
        left, right = _CJK_CHAR.match(text, s - 1), _CJK_CHAR.match(text, e)
        if (left and right) or (left and text[e] in _NUMERIC) or (
                right and text[s - 1] in _NUMERIC and not _after_section_number(text, s)):
            return ""
    return " "


def _after_section_number(text: str, at: int) -> bool:
    """Whether a line starts with at most three digits and dots right before `at` (1 总则, 3.2 职责): a
    section's number, whose space stays. Looks back four characters at most (a search from the text's start
    made each call cost the text's length)."""
    k = at
    while k > max(0, at - 4) and text[k - 1] in _SECTION:
        k -= 1
    return 0 < at - k <= 3 and (k == 0 or text[k - 1] == "\n")


def collapse_whitespace(text: str) -> str:
    """Spaces between CJK characters, and between them and numbers (2023 年, 3.7 万人, 5% 左右: typeset spacing,
    which hid years and counts) removed, except after a line's section number (1 总则); other runs -> one
    space (GDP 增长), lines stripped, <= 1 blank line."""
    if " " in text or "\t" in text:
        text = _SPACE_RUN.sub(functools.partial(_space, text), text)
        text = text.replace(" \n", "\n").replace("\n ", "\n")
    text = text.strip(" \n")
    return _BLANKS.sub("\n\n", text) if "\n\n\n" in text else text


def fold_width(text: str) -> str:
    """Full-width ASCII letters/digits and odd spaces to half-width; invisible characters dropped."""
    return _NEEDS_TABLE.sub(lambda m: m.group().translate(_TABLE), text.replace("\r\n", "\n"))


def normalize(text: str, simplify: bool = True) -> str:
    """The canonical article text: width, script and whitespace normalised; punctuation kept."""
    flags = _flags(text)
    if flags & _WIDTH:
        text = fold_width(text)
    text = collapse_whitespace(text)
    # t2s after the whitespace, so a second pass sees exactly the context OpenCC saw (idempotence)
    return to_simplified(text, check=False) if simplify and flags & _TRAD else text


def ideographs(text: str) -> int:
    """Number of CJK ideographs (what normalisation must never lose)."""
    return len(IDEOGRAPH.findall(text))
