"""Split a compilation ('基层社会治理难点篇1 … 篇10') into its articles.

A split needs strong evidence, so a normal report is never cut at its 一、二、 headings: one configured
pattern must match whole short lines whose numbers run 1, 2, 3 … in order, at least min_articles of
them, and every article between two headings must hold real text (not a numbered reference list).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pipeline.config import CompilationConfig
from pipeline.ingest.prefilter import may_match
from pipeline.numerals import cn_number


@dataclass
class Part:
    heading: str | None  # the article heading line (None for the preamble)
    text: str


@lru_cache(maxsize=8)
def _patterns(patterns: tuple[str, ...]) -> list[tuple[str, re.Pattern]]:
    """Each pattern as a whole-line multiline regex, so one scan of the text finds its headings."""
    return [(p, re.compile(f"^(?:{p})$", re.M)) for p in patterns]


def _headings(text: str, pattern: re.Pattern, max_chars: int) -> list[tuple[int, int, str]]:
    """(start offset, article number, line) of the heading lines the pattern matches."""
    out = []
    for m in pattern.finditer(text):
        n = cn_number(m.group("n")) if "n" in pattern.groupindex and m.group("n") else None
        if n is not None and len(m.group()) <= max_chars:
            out.append((m.start(), n, m.group()))
    return out


def split(text: str, cfg: CompilationConfig) -> tuple[str, list[Part]] | None:
    """(preamble, articles) when the text is a compilation, else None."""
    if not cfg.article_heading_patterns:
        return None
    for source, pattern in _patterns(tuple(cfg.article_heading_patterns)):
        if not may_match(source, text):
            continue
        hits = _headings(text, pattern, cfg.max_heading_chars)
        if len(hits) < cfg.min_articles or [n for _, n, _ in hits] != list(range(1, len(hits) + 1)):
            continue
        ends = [start for start, _, _ in hits[1:]] + [len(text)]
        parts = [Part(line, text[start + len(line): end].strip("\n")) for (start, _, line), end in zip(hits, ends)]
        if all(len(p.text) >= cfg.min_article_chars for p in parts):
            return text[: hits[0][0]].rstrip("\n"), parts
    return None
