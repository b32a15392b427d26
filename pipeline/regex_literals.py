"""Required literals of a regular expression: strings one of which every match must contain.

Why: theme patterns are run on ~50k sentences per corpus and Python's re tries every alternative at
every position. An Aho-Corasick scan for the required literals of all themes at once finds the few
sentences where a theme can match at all, and only those are given to the regular expressions. The
analysis is conservative: any construct it does not understand (flags, backreferences, lookarounds,
wide character classes) means "no literal known" and the theme is then run on every sentence.

The same analysis gives the characters a match must start with (first_chars): annotation's patterns that
scan whole documents are led by a look-ahead for them (scanning), which re tests far quicker than it
tries the alternatives.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from re import IGNORECASE, _constants as C, _parser as sre  # noqa: PLC2701 (stdlib regex parser)

MAX_PRODUCT = 64  # largest set of exact strings a run of literals and small classes is expanded to
MAX_REPEAT = 3  # largest bounded repeat of an exact piece that is expanded
MAX_RANGE = 16  # largest character range of a class that is expanded


def _class_chars(items: list) -> set[str] | None:
    chars: set[str] = set()
    for op, av in items:
        if op is C.LITERAL:
            chars.add(chr(av))
        elif op is C.RANGE and av[1] - av[0] < MAX_RANGE:
            chars.update(chr(c) for c in range(av[0], av[1] + 1))
        else:
            return None
    return chars


def _union(alternatives: list, strings: Callable[[list], set[str] | None]) -> set[str] | None:
    """The strings of every alternative of a branch together, or None when one of them has none."""
    out: set[str] = set()
    for seq in alternatives:
        found = strings(seq)
        if found is None:
            return None
        out |= found
    return out


def _exact_item(op, av) -> set[str] | None:
    """The finite set of strings one parsed item matches, or None when unbounded or not understood."""
    if op is C.LITERAL:
        return {chr(av)}
    if op is C.IN:
        return _class_chars(av)
    if op is C.SUBPATTERN:
        return None if av[1] & IGNORECASE else exact(av[3])
    if op is C.BRANCH:
        out = _union(av[1], exact)
        return out if out is not None and len(out) <= MAX_PRODUCT else None
    if op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[1] <= MAX_REPEAT:
        piece = exact(av[2])
        if piece is None:
            return None
        out, power = set(), {""}
        for k in range(av[1] + 1):
            if k >= av[0]:
                out |= power
            power = {a + b for a in power for b in piece}
            if len(out) + len(power) > MAX_PRODUCT:
                return None
        return out
    return None


def exact(items: list) -> set[str] | None:
    """The finite set of strings a parsed sequence matches, or None."""
    out = {""}
    for op, av in items:
        piece = _exact_item(op, av)
        if piece is None:
            return None
        out = {a + b for a in out for b in piece}
        if len(out) > MAX_PRODUCT:
            return None
    return out


def _nested(op, av, of: Callable[[list], set[str] | None]) -> set[str] | None:
    """`of` of what an item wraps: a group's sequence, every alternative (together), the body of a repeat
    that runs at least once; None for any other item, or a case-insensitive group."""
    if op is C.SUBPATTERN:
        return None if av[1] & IGNORECASE else of(av[3])
    if op is C.BRANCH:
        return _union(av[1], of)
    if op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0] >= 1:
        return of(av[2])
    return None


def requirements(items: list) -> list[set[str]]:
    """Sets of non-empty strings that every match of the parsed sequence contains one of, each.

    Every element of a sequence must match, so each element's requirement is the sequence's; runs of
    exact elements are expanded to their strings (split when too many).
    """
    candidates, run = [], {""}
    for op, av in items:
        piece = _exact_item(op, av)
        if piece is None:
            candidates += [run, _nested(op, av, required)]
            run = {""}
            continue
        product = {a + b for a in run for b in piece}
        if len(product) > MAX_PRODUCT:  # too many strings: the run so far is one requirement, the rest another
            candidates.append(run)
            product = piece
        run = product
    candidates.append(run)
    return [c for c in candidates if c and "" not in c]


def required(items: list) -> set[str] | None:
    """The most selective of the sequence's requirements, or None if none is known."""
    good = requirements(items)
    return max(good, key=lambda c: (min(map(len, c)), -len(c))) if good else None


def _parsed(pattern: str) -> list | None:
    """The parsed top-level sequence of a case-sensitive pattern, None for any other."""
    try:
        tree = sre.parse(pattern)
    except Exception:  # noqa: BLE001 (an unparsable pattern is simply not prefiltered or helped)
        return None
    return None if tree.state.flags & IGNORECASE else list(tree)


def pattern_requirements(pattern: str) -> list[list[set[str]]]:
    """Per top-level alternative of `pattern`, sets of strings such that each match of the alternative
    contains one string of each set; an alternative with [] is unknown (may match anything)."""
    parsed = _parsed(pattern)
    if parsed is None:
        return [[]]
    if len(parsed) == 1 and parsed[0][0] is C.BRANCH:
        return [requirements(seq) for seq in parsed[0][1][1]]
    return [requirements(parsed)]


MAX_FIRST = 256  # largest set of first characters given to the regex engine as a look-ahead


def _first(items: list) -> set[str] | None:
    """The characters a match of the parsed sequence can start with, or None when not known (also when
    it may match the empty string, or starts with an anchor or a look-around)."""
    if not items:
        return None
    op, av = items[0]
    if op in (C.LITERAL, C.IN):  # one character: its strings are its first characters
        return _exact_item(op, av)
    return _nested(op, av, _first)


def first_chars(pattern: str) -> set[str] | None:
    """The characters every match of `pattern` starts with (None when not known)."""
    items = _parsed(pattern)
    return None if items is None else _first(items)


def _engine_prefix(items: list) -> bool:
    """Whether re finds the first characters itself (its compiler's charset prefix: the pattern, inside
    groups, starts with a literal, a class, or alternatives that each start with a literal)."""
    while items and items[0][0] is C.SUBPATTERN:
        items = list(items[0][1][3])
    if not items:
        return False
    op, av = items[0]
    return op in (C.LITERAL, C.IN) or (op is C.BRANCH and all(alt and alt[0][0] is C.LITERAL for alt in av[1]))


def scanning(rx: re.Pattern | None) -> re.Pattern | None:
    """The regex compiled anew for finditer over long texts: led by a look-ahead for its first characters
    when they are known and re does not find them itself. Python's re tries every alternative at every
    position; a one-class test there first halved the time of a list-introduction pattern over the city
    reports (where re has its own prefix, as for (?:19|20)\\d\\d年, a look-ahead doubled it). Matches are
    unchanged."""
    items = None if rx is None or rx.flags & re.IGNORECASE else _parsed(rx.pattern)
    chars = _first(items) if items is not None else None
    if not chars or len(chars) > MAX_FIRST or _engine_prefix(items):
        return rx
    lead = "".join(sorted(re.escape(c) for c in chars))
    return re.compile(f"(?=[{lead}])(?:{rx.pattern})", rx.flags)
