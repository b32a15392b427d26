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
from pipeline.numerals import DIGITS, cn_number

NUMBER = rf"(?P<n>\d{{1,3}}|[{''.join(DIGITS)}十百]{{1,4}})"  # what cn_number reads


@dataclass
class Part:
    heading: str | None  # the article heading line (None for the preamble)
    text: str


@lru_cache(maxsize=8)
def _patterns(patterns: tuple[str, ...]) -> list[tuple[str, re.Pattern]]:
    """Each pattern as a whole-line multiline regex, so one scan of the text finds its headings."""
    return [(p, re.compile(f"^(?:{p})$", re.M)) for p in patterns]


Hit = tuple[int, int, str, tuple[str, str]]  # start offset, article number, line, its words around the number


def _headings(text: str, pattern: re.Pattern, max_chars: int) -> list[Hit]:
    """The heading lines the pattern matches."""
    out = []
    for m in pattern.finditer(text):
        n = cn_number(m.group("n")) if "n" in pattern.groupindex and m.group("n") else None
        if n is not None and len(m.group()) <= max_chars:
            a, b = m.start("n") - m.start(), m.end("n") - m.start()
            out.append((m.start(), n, m.group(), (m.group()[:a], m.group()[b:])))
    return out


def _unglued(text: str, hits: list[Hit]) -> str | None:
    """The text with each missing article heading put back on a line of its own, or None when none is.

    A heading whose line break was lost (a PDF's reflow joined it to a full line before it without a
    sentence end: …的研究制定工作社区治理经验篇7) breaks the run of numbers, and then nothing was split.
    Only the numbers missing from the run, and the one after it, are sought, only where every found heading
    is the same words around its number (社区治理经验篇{}), and only at the end of a line that holds other
    text."""
    words = {w for _, _, _, w in hits}
    found = {n for _, n, _, _ in hits}
    if len(words) != 1 or len(found) != len(hits):
        return None
    head, tail = words.pop()
    glued = re.compile(r"(?<=[^\n])" + re.escape(head) + NUMBER + re.escape(tail) + "$", re.M)
    wanted = set(range(1, max(found) + 2)) - found
    cuts = [m.start() for m in glued.finditer(text) if cn_number(m.group("n")) in wanted]
    if not cuts:
        return None
    for at in reversed(cuts):
        text = text[:at] + "\n" + text[at:]
    return text


def _articles(text: str, hits: list[Hit], cfg: CompilationConfig) -> tuple[str, list[Part]] | None:
    """(preamble, articles) when the headings found number 1, 2, 3 … and each article holds real text."""
    if len(hits) < cfg.min_articles or [n for _, n, _, _ in hits] != list(range(1, len(hits) + 1)):
        return None
    ends = [start for start, _, _, _ in hits[1:]] + [len(text)]
    parts = [Part(line, text[start + len(line): end].strip("\n")) for (start, _, line, _), end in zip(hits, ends)]
    if all(len(p.text) >= cfg.min_article_chars for p in parts):
        return text[: hits[0][0]].rstrip("\n"), parts
    return None


def split(text: str, cfg: CompilationConfig) -> tuple[str, list[Part]] | None:
    """(preamble, articles) when the text is a compilation, else None."""
    if not cfg.article_heading_patterns:
        return None
    for source, pattern in _patterns(tuple(cfg.article_heading_patterns)):
        if not may_match(source, text):
            continue
        hits = _headings(text, pattern, cfg.max_heading_chars)
        found = _articles(text, hits, cfg)
        if found is None and len(hits) >= cfg.min_articles:
            repaired = _unglued(text, hits)
            if repaired is not None:
                found = _articles(repaired, _headings(repaired, pattern, cfg.max_heading_chars), cfg)
        if found is not None:
            return found
    return None
