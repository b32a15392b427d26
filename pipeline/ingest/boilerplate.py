"""Web chrome removal: configured patterns (configs/default.yaml `boilerplate`) plus lines that repeat
across the files of one source.

Conservative by construction: a whole line goes only when a pattern names it as chrome or it repeats in
most files of the source (and does not look like a heading); inside a line only the configured
inline fragments are cut; a tail marker ends the page only after tail_min_share of the text, so a
navigation bar at the top can never swallow the body.
"""
from __future__ import annotations

import math
import os
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

from pipeline.config import BoilerplateConfig, union_regex
from pipeline.ingest.normalize import collapse_whitespace, normalize
from pipeline.ingest.prefilter import may_match

_TEXT_FORMATS = (".txt", ".md")
_TITLE_SPLIT = re.compile(r"\s*(?:[-_|｜—–]+|\s{2,})\s*")


class Cleaner:
    """Boilerplate rules of one configuration. Line and tail patterns are matched at the line start."""

    def __init__(self, cfg: BoilerplateConfig):
        self.cfg = cfg
        self.line = union_regex(cfg.line_patterns)
        self.tail = union_regex(cfg.tail_markers)
        self.tail_m = union_regex(cfg.tail_markers, re.M) if cfg.tail_markers else None
        self.keep = union_regex(cfg.keep_patterns)
        self.inline = [(p, re.compile(p, re.M)) for p in cfg.inline_patterns]

    def is_kept(self, line: str) -> bool:
        return bool(self.keep and self.keep.match(line))

    def cut_tail(self, text: str) -> str:
        """Drop everything from the first tail marker that comes after tail_min_share of the text."""
        if self.tail_m is None:
            return text
        start = int(self.cfg.tail_min_share * len(text))
        m = self.tail_m.search(text, text.rfind("\n", 0, start) + 1 if start else 0)
        while m and m.start() < start:
            m = self.tail_m.search(text, m.end())
        return text[: m.start()] if m else text

    def clean(self, text: str, chrome: frozenset[str] = frozenset(), title: str | None = None) -> str:
        """Normalised text without chrome lines, chrome fragments, the tail section or a repeated title."""
        line_re, tail = self.line, self.tail
        titles = title_variants(title)
        out, head = [], True
        for line in self.cut_tail(text).split("\n"):
            if line and ((line_re and line_re.match(line)) or (line in chrome and not self.is_kept(line))
                         or (tail and len(line) <= 30 and tail.match(line)) or (head and line in titles)):
                continue
            head = head and not line
            out.append(line)
        text = "\n".join(out)
        for source, pattern in self.inline:
            if may_match(source, text):
                text = pattern.sub("", text)
        return collapse_whitespace(text)


def title_variants(title: str | None) -> frozenset[str]:
    """The title and its parts around site separators ('标题 - 某某网' -> '标题')."""
    if not title:
        return frozenset()
    title = normalize(title)
    return frozenset([title, *(p for p in _TITLE_SPLIT.split(title) if len(p) >= 4)])


@lru_cache(maxsize=8)
def cleaner(cfg_json: str) -> Cleaner:
    return Cleaner(BoilerplateConfig.model_validate_json(cfg_json))


def _sample(paths: list[Path], n: int) -> list[Path]:
    """n paths spread evenly over the sorted list (deterministic, bounded work)."""
    if len(paths) <= n:
        return paths
    step = len(paths) / n
    return [paths[int(i * step)] for i in range(n)]


def _head_and_tail(path: Path, n: int) -> bytes:
    """The first and last n bytes; partial lines at the cuts are dropped."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size <= 2 * n:
            return fh.read()
        head = fh.read(n)
        fh.seek(size - n)
        tail = fh.read(n)
    return head[: head.rfind(b"\n") + 1] + b"\n" + tail[tail.find(b"\n") + 1:]


def chrome_sample(paths: list[Path], cfg: BoilerplateConfig) -> list[tuple[str, bytes | None]]:
    """(suffix, first and last bytes) of the files of one source that repeated_lines looks at: a bounded,
    evenly spread sample of its text files; None for a file that cannot be read."""
    sample = _sample(sorted(p for p in paths if p.suffix.lower() in _TEXT_FORMATS), cfg.sample_files)
    out: list[tuple[str, bytes | None]] = []
    for p in sample:
        try:
            out.append((p.suffix.lower(), _head_and_tail(p, cfg.sample_bytes)))
        except OSError:  # reported by read_file, not here
            out.append((p.suffix.lower(), None))
    return out


def repeated_lines(sample: list[tuple[str, bytes | None]], cfg: BoilerplateConfig, read_text) -> frozenset[str]:
    """Short lines found in at least repeated_line_min_files and repeated_line_min_share of the sampled
    files (chrome_sample). read_text(bytes, suffix) -> str decodes and strips format markup; files it
    cannot read are skipped."""
    keep = union_regex(cfg.keep_patterns)
    if len(sample) < cfg.repeated_line_min_files:
        return frozenset()
    counts: Counter[str] = Counter()
    for suffix, data in sample:
        if data is None:
            continue
        try:
            text = normalize(read_text(data, suffix))
        except Exception:  # noqa: BLE001 - unreadable files are reported by read_file, not here
            continue
        counts.update({line for line in text.split("\n")
                       if line and len(line) <= cfg.repeated_line_max_chars and not (keep and keep.match(line))})
    need = max(cfg.repeated_line_min_files, math.ceil(cfg.repeated_line_min_share * len(sample)))
    return frozenset(line for line, c in counts.items() if c >= need)
