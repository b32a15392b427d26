"""Sections, paragraphs and sentences of one article, with offsets into its text.

Reports, surveys and regulations share a numbered outline (一、 /（一）/ 1. /（1）/ 一是…, 第一章 /
第一节 / 第一条), but web pages often arrive as one line with every break removed, so headings are found
at line starts and also inline, right after a sentence end. Sentences end at 。！？ (and at ； between two
full clauses), never inside quotes or 《》. The work is done by compiled regexes over the whole text and
a short Python pass over their matches, never over characters, because this stage reads every character
of every corpus. Markers and punctuation live in configs/structure.yaml.

Guarantees (tests/test_structure.py): sentences are in order, non-empty, non-overlapping, at most
max_sentence_chars long, `text[start:end] == sentence`, only whitespace lies between them; each sentence
lies inside its section, the innermost one containing it. Section 0 is the whole article, so the body
before the first heading belongs to it.
"""
from __future__ import annotations

import bisect
import math
import functools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import Field, field_validator, model_validator

from pipeline.config import PROJECT_ROOT, StructureConfig, Strict, read_yaml, regex_fields, validate
from pipeline.numerals import cn_number

_SPACE = " \t\u3000\xa0\r"
_NUMBER = re.compile(r"\d+|[①-⑳]|[零〇一二三四五六七八九十百两]+")
_CJK = "\u3400-\u9fff\uf900-\ufaff"


class Family(Strict):
    """One kind of heading marker (一、, （一）, 1., 一是 ...); see configs/structure.yaml."""

    name: str = Field(pattern=r"^[A-Za-z_]\w*$")
    level: int = Field(ge=1, le=9)
    marker: str
    title: bool = True
    item: bool = False
    nests_in_article: bool = False

    @field_validator("marker")
    @classmethod
    def _one_regex_without_groups(cls, v: str) -> str:
        try:
            groups = re.compile(v).groups
        except re.error as exc:
            raise ValueError(f"bad regular expression {v!r}: {exc}") from None
        if groups:
            raise ValueError(f"{v!r} has capturing groups: write (?:...) instead of (...)")
        return v


class PlainHeadings(Strict):
    """Headings without a marker: a short line of its own (see configs/structure.yaml)."""

    max_chars: int = Field(16, ge=2, le=60)
    min_han: int = Field(2, ge=1)
    body_punctuation: str = Field(min_length=1, description="a line holding any of these is body text")
    exclude: str = Field("", description="regex: a line matching it whole is never a heading (dates, signatures)")

    _exclude = regex_fields("exclude")


class BrokenLines(Strict):
    """Line breaks inside a sentence, joined again at ingest (see configs/structure.yaml)."""

    line_ends: str = Field(min_length=1, description="a line ending with none of these ends mid-sentence")
    keep_starts: str = Field("", description="a line starting with one of these (a list bullet, a table row) is "
                                             "never joined to the line above")
    open_ends: str = Field("", description="a line ending with one of these (a comma, an opening bracket) "
                                           "continues, however short")
    joins_next: str = Field("", description="a line starting with one of these (、 ，) continues the line above")
    title: str = Field("", description="regex (whole line): a document's title (…工作方案, 关于…的通知), never "
                                       "joined to the next line, though it ends with none of line_ends")

    _title = regex_fields("title")


class StructurePatterns(Strict):
    """The contents of configs/structure.yaml."""

    families: list[Family] = Field(min_length=1)
    article_family: str | None = None
    article_item_shift: int = Field(2, ge=0)
    enders: str = Field(min_length=1)
    ascii_enders: str = ""
    closers: str = ""
    quote_pairs: list[str] = []
    semicolons: str = ""
    item_openers: str = ""
    commas: str = Field(min_length=1)
    semicolon_continuations: list[str] = []
    title_stops: str = Field(min_length=1)
    title_weak_stops: str = ""
    line_prefix: str = ""
    reference_entry: str | None = Field(None, description="regex: a line holding it is a reference entry, whose "
                                        "full stops separate fields ([1]作者.题名[J].刊名,2012(2).): no sentence ends "
                                        "at a '.' in it")
    plain_headings: PlainHeadings | None = None
    broken_lines: BrokenLines | None = None

    @field_validator("quote_pairs")
    @classmethod
    def _pairs(cls, v: list[str]) -> list[str]:
        for pair in v:
            if len(pair) != 2:
                raise ValueError(f"{pair!r} must be two characters: the opening and the closing one")
        return v

    _prefix = regex_fields("line_prefix", "reference_entry")

    @model_validator(mode="after")
    def _known_article_family(self) -> StructurePatterns:
        names = [f.name for f in self.families]
        if len(set(names)) != len(names):
            raise ValueError("family names must be unique")
        if self.article_family is not None and self.article_family not in names:
            raise ValueError(f"article_family {self.article_family!r} is not one of the families {names}")
        return self


def _cls(chars: str) -> str:
    """A regex character class matching any of chars (escaped)."""
    return "[" + "".join(re.escape(c) for c in chars) + "]"


@dataclass(frozen=True)
class _Rules:
    """Compiled patterns and settings: built once per (patterns file, config) and shared by all calls."""

    families: dict[str, Family]
    heads: re.Pattern          # a marker after a line break or a sentence end (group ctx: that character)
    first: re.Pattern          # a marker at the very start of the text
    marker: re.Pattern         # any marker, no context (nested markers inside a heading title)
    scan: re.Pattern           # quotes, sentence ends, semicolons, line breaks
    kinds: dict[str, str]      # first character of a scan match -> q(uote) e(nd) n(ewline) s(emicolon)
    after_quote: re.Pattern    # closing marks and enders following a quote that ended a sentence
    title_stop: re.Pattern
    title_weak: re.Pattern | None
    item_stop: re.Pattern
    continuation: re.Pattern | None
    enders: frozenset[str]
    item_openers: frozenset[str]
    commas: str
    article: str | None
    article_shift: int
    max_heading: int
    max_sentence: int
    min_clause: int
    plain_punct: re.Pattern | None  # None: no headings without a marker in plain text
    plain_exclude: re.Pattern | None
    plain_max: int
    plain_min_han: int
    line_ends: str  # empty: lines broken inside a sentence are neither joined nor told from headings
    keep_starts: str
    open_ends: str
    joins_next: str
    title: re.Pattern | None
    body_start: re.Pattern  # the first sentence end: the title block lies before it
    reference: re.Pattern | None


def _compile(p: StructurePatterns, cfg: StructureConfig) -> _Rules:
    """Turn the pattern file and the config into the regexes split() runs."""
    space = _cls(_SPACE)
    enders = p.enders + p.ascii_enders
    alts = "|".join(f"(?P<{f.name}>{f.marker})" for f in p.families)
    prefix = f"(?P<pre>{p.line_prefix})?" if p.line_prefix else "(?P<pre>)"
    closers = f"{_cls(p.closers)}*" if p.closers else ""
    ctx = _cls("\n" + enders + p.item_openers)
    heads = re.compile(f"(?m)(?P<ctx>{ctx}){closers}{space}*{prefix}(?:{alts})")
    first = re.compile(f"(?m){space}*{prefix}(?:{alts})")
    # One alternative per first character and no groups: the regex engine then skips every other
    # character in C (a charset prefix scan), which makes this pass about 9x faster than named groups.
    n = cfg.quotes_max_chars
    kinds = {o: "q" for o, _ in p.quote_pairs}
    branches = [f"{re.escape(o)}[^{re.escape(o + c)}\\n]{{0,{n}}}{re.escape(c)}" for o, c in p.quote_pairs]
    not_url = "(?![0-9A-Za-z=&/-])"
    run = f"(?:{_cls(p.enders)}" + (f"|{_cls(p.ascii_enders)}{not_url}" if p.ascii_enders else "") + ")*"
    for c in p.enders:
        branches.append(f"{re.escape(c)}{run}{closers}")
    for c in p.ascii_enders:
        branches.append(f"{re.escape(c)}{not_url}{run}{closers}")
    kinds |= dict.fromkeys(enders, "e")
    # '.' ends a sentence only after a Chinese character or closing mark and before no letter or digit:
    # never in 1.5亿, 2023.12, U.S., nor in the marker 1. (after a digit)
    branches.append(f"\\.(?<=[{_CJK}{re.escape(p.closers)}]\\.)(?![0-9A-Za-z.．])")
    branches.append("\\n\\s*")
    branches += [re.escape(c) for c in p.semicolons]
    kinds |= {".": "e", "\n": "n"} | dict.fromkeys(p.semicolons, "s")
    cont = "|".join(re.escape(w) for w in sorted(p.semicolon_continuations, key=len, reverse=True))
    plain = p.plain_headings
    return _Rules(
        families={f.name: f for f in p.families},
        heads=heads,
        first=first,
        marker=re.compile(alts),
        scan=re.compile("|".join(branches)),
        kinds=kinds,
        after_quote=re.compile(f"[{re.escape(p.closers + enders)}]*"),
        title_stop=re.compile(_cls("\n" + p.title_stops)),
        title_weak=re.compile(_cls(p.title_weak_stops)) if p.title_weak_stops else None,
        item_stop=re.compile(_cls("\n" + p.title_stops + p.title_weak_stops + p.commas)),
        continuation=re.compile(f"\\s*(?:{cont})") if cont else None,
        enders=frozenset(enders),
        item_openers=frozenset(p.item_openers),
        commas=p.commas,
        article=p.article_family,
        article_shift=p.article_item_shift,
        max_heading=cfg.max_heading_chars,
        max_sentence=cfg.max_sentence_chars,
        min_clause=cfg.min_clause_chars_for_semicolon,
        plain_punct=re.compile(_cls(plain.body_punctuation)) if plain else None,
        plain_exclude=re.compile(plain.exclude) if plain and plain.exclude else None,
        plain_max=plain.max_chars if plain else 16,
        plain_min_han=plain.min_han if plain else 2,
        line_ends=p.broken_lines.line_ends if p.broken_lines else "",
        keep_starts=p.broken_lines.keep_starts if p.broken_lines else "",
        open_ends=p.broken_lines.open_ends if p.broken_lines else "",
        joins_next=p.broken_lines.joins_next if p.broken_lines else "",
        title=re.compile(p.broken_lines.title) if p.broken_lines and p.broken_lines.title else None,
        body_start=re.compile(_cls(enders)),
        reference=re.compile(p.reference_entry) if p.reference_entry else None,
    )


@functools.lru_cache(maxsize=8)
def _rules_for(path: str, mtime: float, cfg_json: str) -> _Rules:
    del mtime  # part of the cache key only: an edited pattern file is read again
    patterns = validate(StructurePatterns, read_yaml(path), path)
    return _compile(patterns, StructureConfig.model_validate_json(cfg_json))


def rules(cfg: StructureConfig) -> _Rules:
    """The compiled rules of a config (cached; the pattern file is read once per process)."""
    path = Path(cfg.patterns).expanduser()
    path = path if path.is_absolute() else PROJECT_ROOT / path
    mtime = path.stat().st_mtime if path.exists() else 0.0
    return _rules_for(str(path), mtime, cfg.model_dump_json())


def _number(marker: str) -> int:
    """The number a marker carries: 12 in '12.', 3 in '③', 23 in '第二十三条'."""
    m = _NUMBER.search(marker)
    if m is None:
        return 0
    s = m.group()
    if "①" <= s <= "⑳":
        return ord(s) - ord("①") + 1
    return cn_number(s) or 0


@dataclass
class _Head:
    start: int         # start of the heading sentence (a Markdown prefix included)
    mstart: int        # start of the marker
    mend: int          # end of the marker
    stop: int          # end of the title (exclusive, no trailing punctuation)
    end: int           # end of the heading sentence; equals start for list items (no own sentence)
    family: Family
    number: int
    item: bool         # a list item: no heading sentence of its own, the section ends with the paragraph
    level: int = 0     # depth in the outline: the family's level, one more under an unnumbered heading

    def __post_init__(self) -> None:
        self.level = self.level or self.family.level

    def heading(self, text: str) -> str:
        return text[self.mstart:self.stop].strip()


def _title(text: str, r: _Rules, mend: int) -> tuple[int, int]:
    """(title stop, heading sentence end) of a title starting at mend.

    The title runs to the first line break, sentence end, colon or semicolon within max_heading_chars
    ('（二）攻坚克难强产业，发展支撑更加坚实。' keeps both halves: such paired titles are the norm in
    reports); failing that, to the first comma; failing that, it is cut at max_heading_chars.
    """
    limit = min(len(text), mend + r.max_heading)
    m = r.title_stop.search(text, mend, min(len(text), limit + 1))
    if m is None and r.title_weak is not None:
        m = r.title_weak.search(text, mend, min(len(text), limit + 1))
    if m is None:
        return limit, limit
    stop = m.start()
    if text[stop] == "\n":
        end = mend + len(text[mend:stop].rstrip())
        return end, end
    return stop, r.after_quote.match(text, stop + 1).end()


def _nested(text: str, r: _Rules, head: _Head, last: dict[str, int]) -> _Head | None:
    """A deeper marker inside a title that starts or continues its numbering, as in the one-line
    '二、存在的问题（一）党员队伍老化。' or '第二章 监管职责第七条 各级…'."""
    if head.item:
        return None
    pos = head.mend
    while True:
        m = r.marker.search(text, pos, head.stop)
        if m is None:
            return None
        fam = r.families[m.lastgroup]
        number = _number(m.group())
        if not fam.item and fam.level > head.family.level and number in (1, last.get(fam.name, 0) + 1):
            return _make_head(text, r, m.start(), m.start(), m.end(), fam, False, number)
        pos = m.start() + 1


def _make_head(text: str, r: _Rules, start: int, mstart: int, mend: int, fam: Family, item: bool,
               number: int) -> _Head:
    """A heading (or list item) whose marker is text[mstart:mend], with its title and sentence end."""
    if item:
        m = r.item_stop.search(text, mend, min(len(text), mend + r.max_heading))
        stop = m.start() if m else min(len(text), mend + r.max_heading)
        return _Head(start, mstart, mend, stop, start, fam, number, True)
    if not fam.title:
        return _Head(start, mstart, mend, mend, mend, fam, number, False)
    stop, end = _title(text, r, mend)
    return _Head(start, mstart, mend, stop, end, fam, number, False)


def _find_headings(text: str, r: _Rules, marked: dict[str, int] | None, breaks: list[int]) -> list[_Head]:
    """Headings in text order.

    A marker at a line start is always a heading. An inline one (after 。！？：；) must not contradict
    the numbering of its family: it is the first of its family in the text, or number 1, or it follows
    the previous one, or the next number comes later (a list whose item was missed: '…建议一、…。二、…。三、').
    """
    m0 = r.first.match(text)
    matches = [(m, m.group("ctx")) for m in r.heads.finditer(text)]
    if m0:
        matches.insert(0, (m0, "\n"))
    found = [(m, ctx, r.families[m.lastgroup]) for m, ctx in matches]
    numbers = [_number(m.group(fam.name)) for m, _, fam in found]
    latest = {(fam.name, n): m.start(fam.name) for (m, _, fam), n in zip(found, numbers)}
    heads: list[_Head] = []
    last: dict[str, int] = {}
    for (m, ctx, fam), number in zip(found, numbers):
        pre = m.group("pre")
        mstart, mend = m.span(fam.name)
        start = m.start("pre") if pre else mstart
        prev = heads[-1] if heads else None
        if prev and (mstart < prev.end or start <= prev.mstart):
            continue
        if ctx != "\n" and fam.name in last and number not in (1, last[fam.name] + 1) \
                and latest.get((fam.name, number + 1), -1) <= mstart:
            continue
        if prev and start < prev.stop:  # a list item's title runs into the next marker
            prev.stop = prev.mstart + len(text[prev.mstart:start].rstrip())
        # after ：or ； a marker opens a list inside the paragraph (…工作：一是…；二是…, …职能是：1.…)
        item = fam.item or ctx in r.item_openers
        head: _Head | None = _make_head(text, r, start, mstart, mend, fam, item, number)
        while head is not None:
            heads.append(head)
            last[head.family.name] = head.number
            child = _nested(text, r, head, last)
            if child is not None:
                head.stop = head.mstart + len(text[head.mstart:child.start].rstrip())
                head.end = child.start
            head = child
    plain = _unnumbered_headings(text, r, heads, marked, breaks)
    return sorted(heads + plain, key=lambda h: h.start) if plain else heads


_HAN = re.compile(f"[{_CJK}]")

_NEXT_LINE = re.compile(r"\s*\n\s*([^\n]*)")


def _excluded(r: _Rules, line: str) -> bool:
    return r.plain_exclude is not None and r.plain_exclude.fullmatch(line) is not None


@functools.lru_cache(maxsize=16)
def _plain_family(level: int) -> Family:
    return Family(name="plain", level=level, marker="(?!)")


def _unnumbered_headings(text: str, r: _Rules, heads: list[_Head], marked: dict[str, int] | None,
                         breaks: list[int]) -> list[_Head]:
    """Headings without a marker. With `marked` (heading text -> markup level: Markdown #, HTML <hN>,
    Word's Heading N styles, from ingest) those lines are the headings, the first line (the title)
    aside; without, a short line of its own without clause punctuation after the first sentence end
    (so the title block - title, occasion, speaker - holds none) is one: 存在的问题, 2023年工作回顾.

    Levels: the markup levels, in order, just above the first numbered heading after the first of
    these (存在的问题 over 1.…), else from 1; where that leaves no room (2023年工作回顾 over 一、…), the
    numbered headings after it go deeper, so that they stay inside it.
    """
    if marked:
        lines = _marked_lines(text, r, marked, max(text.find("\n"), 0), breaks)
    else:
        body = r.body_start.search(text)
        lines = _plain_lines(text, r, body.end(), breaks) if body is not None else []
    starts = [h.start for h in heads]
    found = []
    for a, b, depth in lines:
        i = bisect.bisect_left(starts, a)
        if i < len(starts) and starts[i] <= b:  # a numbered heading's line
            continue
        if i and heads[i - 1].stop == heads[i - 1].mend and not text[heads[i - 1].stop:a].strip():
            continue  # the title of the bare marker on the line above (第三章 / 规划与建设)
        found.append((a, b, depth))
    if not found:
        return []
    depths = sorted({d for _, _, d in found})
    top = next((h.level for h in heads if h.start > found[0][0] and not h.item), None)
    base = 1 if top is None else max(1, top - len(depths))
    shift = 0 if top is None else max(0, base + len(depths) - top)
    if shift:
        for h in heads:
            if h.start > found[0][0]:
                h.level += shift
    rank = {d: k for k, d in enumerate(depths)}
    return [_Head(a, a, a, b, b, _plain_family(base + rank[d]), 0, False) for a, b, d in found]


def _lines(text: str, breaks: list[int], pos: int, max_chars: int) -> list[tuple[int, int, str]]:
    """(start, end, text) of the stripped lines after pos of at most max_chars characters, read between the
    line breaks split() found (no new scan of the text); a few spaces around them are allowed for."""
    ends = np.array([*breaks, len(text)], dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1] + 1])
    size = ends - starts
    out = []
    keep = np.flatnonzero((ends > pos) & (size >= 1) & (size <= 4 * max_chars))
    for a, b in zip(starts[keep].tolist(), ends[keep].tolist()):
        line = text[a:b]
        title = line.strip(_SPACE + "\n")  # blank lines after a break belong to the next segment
        if 0 < len(title) <= max_chars:
            at = a + line.index(title)
            out.append((at, at + len(title), title))
    return out


def _marked_lines(text: str, r: _Rules, marked: dict[str, int], pos: int,
                  breaks: list[int]) -> list[tuple[int, int, int]]:
    """(start, end, markup level) of the lines that are whole marked headings (a dictionary look-up per
    line: a regex alternation of a long document's headings would try each of them at every line)."""
    return [(a, b, marked[t]) for a, b, t in _lines(text, breaks, pos, r.max_heading) if t in marked]


def _plain_lines(text: str, r: _Rules, pos: int, breaks: list[int]) -> list[tuple[int, int, int]]:
    """(start, end, 1) of the short lines without clause punctuation that may be headings (configs/
    structure.yaml plain_headings): enough Chinese characters, followed by more text, not a date or a
    signature over one."""
    if r.plain_punct is None:
        return []
    out = []
    for a, b, title in _lines(text, breaks, pos, r.plain_max):
        if len(title) < 2 or r.plain_punct.search(title) or not _heading_sized(title, r) or _excluded(r, title):
            continue
        after = _NEXT_LINE.match(text, b)
        if after is None or not after.group(1).strip() or _excluded(r, after.group(1).strip()):
            continue  # the last line, or a signature over its date
        if _continues(text, a, after.group(1).strip(), r):
            continue
        out.append((a, b, 1))
    return out


def _continues(text: str, a: int, next_line: str, r: _Rules) -> bool:
    """Whether the short line at `a` is a piece of a sentence broken over lines (a hard-wrapped text, or a
    link an extractor put on a line of its own: …全面推进依法治国、制定\n“十三五”规划\n、全面从严治党…): the
    next line starts with a joining mark, or the line right above it, with no blank line between, is a
    longer body line or a fragment too short to be a heading (和), and ends mid-sentence."""
    if next_line[:1] and next_line[0] in r.joins_next:
        return True
    if not r.line_ends:
        return False
    j = a
    while j > 0 and text[j - 1] in _SPACE:
        j -= 1
    if j == 0 or text[j - 1] != "\n":
        return False
    end = j - 1
    while end > 0 and text[end - 1] in _SPACE:
        end -= 1
    if end == 0 or text[end - 1] == "\n":
        return False  # a blank line above: a paragraph break
    above = text[text.rfind("\n", 0, end) + 1:end].strip(_SPACE)
    return not _heading_sized(above, r) and above[-1] not in r.line_ends


def join_broken_lines(text: str, cfg: StructureConfig, wrapped_only: bool = False) -> str:
    """The text with its line breaks inside a sentence removed (a space between two Latin words: _joint).

    Hard-wrapped text, and pages whose extractor put each link on a line of its own (Wikisource: …我们依照
    / 宪法 / 和 / 基本法 / 有效实施…), otherwise give sentence pieces and false headings. Below the title
    block (up to the first line that ends with one of broken_lines.line_ends, 各位代表：), a line is joined
    to the next when it ends with none of line_ends, starts with no heading marker, and is a body line
    (longer than plain_headings.max_chars), a fragment (fewer than min_han Chinese characters), a line
    ending with one of broken_lines.open_ends (…可视为《) or itself joined to the line above; and the next
    line is not blank and starts with no heading marker and none of keep_starts (bullets, table rows). A
    line starting with one of broken_lines.joins_next (、 ，) is always joined to the one above; one below a
    document title on a line of its own (broken_lines.title: …工作方案, 关于…的通知) never is, though the title
    has no end mark (a link line 制定“十三五”规划 joined to the line above is no title). In a
    hard-wrapped text (_wrap_width: many lines of one length) a full line is joined to the next whatever
    it ends with, a heading's title too, unless the next starts with a marker or one of keep_starts.
    Idempotent: a second pass finds nothing more to join. wrapped_only: leave a text that is not
    hard-wrapped as it is (a Word file's paragraphs are its own; one pasted from a PDF holds each layout line
    as a paragraph)."""
    r = rules(cfg)
    if not r.line_ends or "\n" not in text:
        return text
    lines = text.split("\n")
    wrap = _wrap_width(lines, r.plain_max)
    if wrapped_only and not math.isfinite(wrap):
        return text
    first = _title_block_end(lines, r, wrap)
    if first is None:
        return text
    out = lines[:first + 1]  # up to the first line that ends a sentence (各位代表：): the title block
    width = _wrap_width(lines[first + 1:], r.plain_max)
    joined, last = False, out[-1]  # last: the line above as written, before any joining
    for line in lines[first + 1:]:
        prev = out[-1]
        opens = (line and line[0] not in r.keep_starts and not r.first.match(line)
                 and not (r.title and not joined and r.title.fullmatch(last)))  # a title on a line of its own
        if prev and line and (line[0] in r.joins_next or (opens and len(last) >= width - 1) or (
                opens and prev[-1] not in r.line_ends and not r.first.match(prev)
                and (joined or prev[-1] in r.open_ends or not _heading_sized(prev, r)))):
            out[-1] = prev + _joint(prev[-1], line[0]) + line
            joined = True
        else:
            out.append(line)
            joined = False
        last = line
    return "\n".join(out)


def _title_block_end(lines: list[str], r: _Rules, width: float) -> int | None:
    """The last line of the title block: the first line that ends a sentence (各位代表：), or, in a hard-wrapped
    text, the line before its first full line, whichever comes first (pdftotext's lines seldom end at a
    sentence's end: the whole first article had passed for a title block and stayed broken); width: the
    text's wrap width (_wrap_width)."""
    end = next((i for i, line in enumerate(lines) if line and line[-1] in r.line_ends), None)
    full = next((i for i, line in enumerate(lines) if len(line) >= width - 1), None) if math.isfinite(width) else None
    if full is not None and (end is None or full - 1 < end):
        return max(full - 1, 0)  # a full first line stays first: the lines after it may still join it
    return end


def _heading_sized(line: str, r: _Rules) -> bool:
    """Whether a line is of a plain heading's size (at most plain_max characters, at least min_han of them
    Chinese); one longer is a body line, one with fewer Chinese characters a fragment (和)."""
    return len(line) <= r.plain_max and len(_HAN.findall(line)) >= r.plain_min_han


def _wrap_width(lines: list[str], min_chars: int, share: float = 0.3, at_least: int = 10) -> float:
    """The width a hard-wrapped text was cut at: the length of its shortest full lines, when at least `share`
    of its lines longer than min_chars (and `at_least`) lie within one character of one length; infinite
    for a text that is not wrapped. Within one: a text wrapped by width (pdftotext, a typesetter) holds a
    character more on a line with half-width digits or commas, one less where punctuation may not start the
    next line."""
    lengths = Counter(len(line) for line in lines if len(line) > min_chars)
    if not lengths:
        return math.inf
    count, width = max((lengths[w - 1] + lengths[w] + lengths[w + 1], w) for w in lengths)
    return width - 1 if count >= max(at_least, share * sum(lengths.values())) else math.inf


def _joint(last: str, first: str) -> str:
    """What replaces a line break inside a sentence: a space between two words of Latin script (go / on,
    2024 / year), nothing in Chinese text or inside a number (1 / 4.2%, 5.4 / %)."""
    latin = last.isascii() and last.isalnum() and first.isascii() and first.isalnum()
    return " " if latin and not (last.isdigit() and first.isdigit()) else ""


def _sections(text: str, heads: list[_Head], breaks: list[int], r: _Rules) -> list[dict]:
    """Section rows, nested by level: one per heading, under section 0, the whole article (level 0).

    A section runs to the next heading of its level or higher, so section 0 runs to the end and holds
    the body before the first heading. A list item (一是…) also ends with its paragraph, so the text
    after an inline list belongs to the enclosing section again.
    """
    n = len(text)
    rows = [{"section_id": 0, "parent_id": None, "level": 0, "heading": "", "start": 0, "end": n}]
    stack: list[tuple[int, int]] = [(0, n)]  # open sections (id, end of its paragraph or n), outermost first
    in_article = [False]
    for sid, h in enumerate(heads, 1):
        _close(rows, stack, lambda _sid, limit: limit <= h.start)
        level = h.level
        if h.family.nests_in_article and any(in_article[i] for i, _ in stack):
            level += r.article_shift
        _close(rows, stack, lambda sid_, _limit: rows[sid_]["level"] >= level, h.start)
        limit = n
        if h.item:
            i = bisect.bisect_left(breaks, h.start)
            limit = breaks[i] if i < len(breaks) else n
        rows.append({"section_id": sid, "parent_id": stack[-1][0], "level": level,
                     "heading": h.heading(text), "start": h.start, "end": n})
        in_article.append(h.family.name == r.article)
        stack.append((sid, min([limit] + [lim for _, lim in stack])))
    _close(rows, stack, lambda _sid, _limit: True)
    return rows


def _close(rows: list[dict], stack: list[tuple[int, int]], done, at: int | None = None) -> None:
    """Pop every open section from the outermost one for which done(id, limit) holds; it ends at `at`
    (a new heading) or, when None, at its own limit."""
    for i, (sid, limit) in enumerate(stack):
        if done(sid, limit):
            for sid_, limit_ in stack[i:]:
                rows[sid_]["end"] = limit_ if at is None else at
            del stack[i:]
            return


def _boundaries(text: str, r: _Rules) -> tuple[list[int], list[int]]:
    """Sentence cut positions (sorted) and line-break positions, from one regex pass.

    A ； cuts when the clauses on both sides have min_clause_chars_for_semicolon characters and the
    right one does not open with a connective (而, 但, 并且...) that leans on the left one. A parser
    could check for a new subject; this cheap proxy keeps '增长5%；收入增长9.3%' apart and '…；而…' whole.
    """
    cuts: list[int] = []
    breaks: list[int] = []
    cut_at, break_at = cuts.append, breaks.append
    prev, pending = 0, -1
    kinds, enders, min_clause, after_quote = r.kinds, r.enders, r.min_clause, r.after_quote
    for m in r.scan.finditer(text):
        at = m.start()
        kind = kinds[text[at]]
        if kind == "e":
            cut = m.end()
        elif kind == "n":
            cut = at
            break_at(at)
        elif kind == "q":
            if text[m.end() - 2] not in enders:
                continue
            cut = after_quote.match(text, m.end()).end()
        else:
            if pending >= 0 and _clause_split(text, pending, at, r):
                cut_at(pending + 1)
            pending = at if at - prev >= min_clause else -1
            prev = at + 1
            continue
        if pending >= 0:
            if _clause_split(text, pending, at, r):
                cut_at(pending + 1)
            pending = -1
        cut_at(cut)
        prev = cut
    if pending >= 0 and _clause_split(text, pending, len(text), r):
        cut_at(pending + 1)
    return _without_reference_stops(text, cuts, r), breaks


def _without_reference_stops(text: str, cuts: list[int], r: _Rules) -> list[int]:
    """The cuts, less those at a '.' inside a reference entry's line (r.reference): an entry is one unit,
    not 作者. / 题名[J]. / 刊名,2012(2):68-79. (a fragment such as the last read as a count, experience)."""
    if r.reference is None or not cuts:
        return cuts
    starts: list[int] = []
    ends: list[int] = []
    for m in r.reference.finditer(text):
        a = text.rfind("\n", 0, m.start()) + 1
        if starts and a == starts[-1]:
            continue
        b = text.find("\n", m.end())
        starts.append(a)
        ends.append(len(text) if b < 0 else b)
    if not starts:
        return cuts

    def inside(c: int) -> bool:
        k = bisect.bisect_left(starts, c) - 1
        return k >= 0 and c < ends[k]

    return [c for c in cuts if text[c - 1] != "." or not inside(c)]


def _clause_split(text: str, semicolon: int, next_stop: int, r: _Rules) -> bool:
    """Whether the clause after a ； (up to next_stop) is long and independent enough to stand alone."""
    if next_stop - semicolon - 1 < r.min_clause:
        return False
    return not (r.continuation and r.continuation.match(text, semicolon + 1))


def _cut_long(text: str, start: int, end: int, r: _Rules) -> list[tuple[int, int]]:
    """Pieces of an over-long sentence, each cut after its last comma before the limit (or at it)."""
    out = []
    while end - start > r.max_sentence:
        limit = start + r.max_sentence
        at = max(text.rfind(c, start + 1, limit) for c in r.commas) + 1
        cut = at if at > start + 1 else limit
        piece = text[start:cut].rstrip()
        out.append((start, start + len(piece)))
        rest = text[cut:end]
        start = end - len(rest.lstrip())
    out.append((start, end))
    return out


def split(text: str, cfg: StructureConfig, marked: dict[str, int] | None = None) -> tuple[list[dict], list[dict]]:
    """SECTIONS rows and SENTENCES rows (without doc_id) of one cleaned article text; `marked`: the
    headings its markup named (text -> level, see ingest), found without a marker."""
    r = rules(cfg)
    cuts, breaks = _boundaries(text, r)
    heads = _find_headings(text, r, marked, breaks)
    sections = _sections(text, heads, breaks, r)
    forced = [p for h in heads for p in (h.start, h.end)]
    bounds = sorted(set(cuts).union(forced, (0, len(text))))
    heading_starts = {h.start for h in heads if h.end > h.start}
    head_starts = [h.start for h in heads]
    ends = [row["end"] for row in sections]
    parents = [row["parent_id"] or 0 for row in sections]
    sentences: list[dict] = []
    append = sentences.append
    sec = brk = 0
    n_heads, n_breaks, max_sentence = len(head_starts), len(breaks), r.max_sentence
    for a, b in zip(bounds, bounds[1:]):
        piece = text[a:b]
        body = piece.strip()
        if not body:
            continue
        start = a if piece[0] == body[0] else a + piece.index(body)
        end = start + len(body)
        while sec < n_heads and head_starts[sec] <= start:
            sec += 1
        section = sec
        while section and ends[section] <= start:  # past the paragraph of a list item
            section = parents[section]
        while brk < n_breaks and breaks[brk] < start:
            brk += 1
        spans = ((start, end),) if end - start <= max_sentence else _cut_long(text, start, end, r)
        for s, e in spans:
            append({"sent_id": len(sentences), "section_id": section, "para_id": brk, "start": s, "end": e,
                    "text": text[s:e], "is_heading": s in heading_starts})
    return sections, sentences


def heading_level(line: str) -> int | None:
    """Level (1-5) of the heading a line starts with under the default patterns, or None for body text.

    The level is the marker's own; inside a regulation article split() may nest list markers deeper.
    """
    r = rules(StructureConfig())
    m = r.first.match(line)
    return r.families[m.lastgroup].level if m else None
