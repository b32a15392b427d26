"""Fast NFKC for Chinese text: only the few characters NFKC changes are rewritten.

unicodedata.normalize("NFKC") walks every character of a text (4-5 MB/s here on Chinese prose); in
governance documents only full-width punctuation, digits, letters and a few symbols change, so each
character is rewritten to its own NFKC form (a table look-up over the code points in numpy). That
equals NFKC of the whole text whenever the result is itself NFKC-normalised (NFKC of a concatenation
of NFKC-mapped characters is NFKC of the original), which is checked; otherwise (combining sequences,
characters beyond the Basic Multilingual Plane) the text is normalised the standard way.
"""
from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np


@functools.cache
def _changing() -> tuple[np.ndarray, np.ndarray, re.Pattern, dict[str, str]]:
    """What NFKC does to each BMP character: a code point table (a character NFKC maps to one other
    character maps to it, every other one to itself), a mask of those it maps to several characters,
    and these as a character-class regex with their mapping."""
    one = np.arange(0x110000, dtype=np.uint32)
    several: dict[str, str] = {}
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        ch = chr(code)
        mapped = unicodedata.normalize("NFKC", ch)
        if len(mapped) == 1:
            one[code] = ord(mapped)
        elif mapped != ch:
            several[ch] = mapped
    mask = np.zeros(0x110000, dtype=bool)
    mask[[ord(ch) for ch in several]] = True
    return one, mask, re.compile("[" + "".join(re.escape(ch) for ch in several) + "]"), several


def nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), several times faster on Chinese text: the one-to-one
    rewrites through the code point table in numpy, the few one-to-several ones by regex."""
    if text.isascii():
        return unicodedata.normalize("NFKC", text)
    one, mask, rx, several = _changing()
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    out = one[cp].tobytes().decode("utf-32-le", "surrogatepass")
    if mask[cp].any():
        out = rx.sub(lambda m: several[m.group()], out)
    return out if unicodedata.is_normalized("NFKC", out) else unicodedata.normalize("NFKC", out)


def nfkc_all(texts: list[str | None]) -> list[str]:
    """nfkc() of each text (None as ""), in one call on the newline-joined texts (a newline is NFKC-stable,
    so normalisation never crosses it) unless a text holds a newline itself."""
    joined = "\n".join(t or "" for t in texts)
    if joined.count("\n") == len(texts) - 1:
        out = nfkc(joined).split("\n")
        if len(out) == len(texts):
            return out
    return [nfkc(t or "") for t in texts]
