"""Literal prefilters for regexes: skip a pattern on a text that cannot match it.

Python's re scans a long Chinese text at ~100 MB/s per pattern, `str in` at GB/s. For every configured
pattern we derive a set of literal strings one of which any match must contain ('小编' for
'(?:下面|以下)是小编…', {'相关推荐', '热门文档', …} for a list of markers); a pattern whose literals
are all absent from a text is not run on it. Patterns with no such literal are always run.
"""
from __future__ import annotations

import re
from functools import lru_cache

try:  # Python >= 3.11
    from re import _constants as C, _parser as P
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse as P  # type: ignore[no-redef]

_MIN = 1  # a literal of one character is still a useful filter for Chinese text


def _best(options: list[frozenset[str]]) -> frozenset[str] | None:
    """Of several required-literal sets, the most selective (longest shortest literal, then fewest)."""
    options = [o for o in options if o]
    if not options:
        return None
    return max(options, key=lambda o: (min(map(len, o)), -len(o)))


def _required(items, flags: int) -> frozenset[str] | None:
    """Literal sets required by a parsed sequence (one literal of the set appears in every match)."""
    if flags & re.IGNORECASE:
        return None
    options: list[frozenset[str]] = []
    run: list[str] = []
    for op, av in list(items) + [(None, None)]:
        if op is C.LITERAL:
            run.append(chr(av))
            continue
        if len(run) >= _MIN:
            options.append(frozenset(["".join(run)]))
        run = []
        if op is C.SUBPATTERN:
            sub = _required(av[-1], flags | (av[1] or 0))
            if sub:
                options.append(sub)
        elif op is C.BRANCH:
            alts = [_required(alt, flags) for alt in av[1]]
            if all(alts):
                options.append(frozenset().union(*alts))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0] >= 1:
            sub = _required(av[2], flags)
            if sub:
                options.append(sub)
        elif op is C.IN and all(o is C.LITERAL for o, _ in av) and len(av) <= 8:
            options.append(frozenset(chr(v) for _, v in av))
    return _best(options)


@lru_cache(maxsize=1024)
def required_literals(pattern: str) -> frozenset[str] | None:
    """Strings one of which every match of pattern contains; None when no such set is known."""
    try:
        parsed = P.parse(pattern)
        return _required(parsed, parsed.state.flags)
    except Exception:  # noqa: BLE001 - an unusual pattern simply gets no prefilter
        return None


def may_match(pattern: str, text: str) -> bool:
    """False only when the pattern certainly cannot match text."""
    lits = required_literals(pattern)
    return lits is None or any(lit in text for lit in lits)
