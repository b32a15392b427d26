"""Title, date, year, source and author of an article, read from its head lines, its container and its path.

Rules (first that yields a value wins):
- date: a 发布时间/日期 line in the head > a date given by the container (html meta, collection column) >
  a date in the file name (条例(2021-09-29).md) > the first full date in the head lines > the date an
  official document is signed on, a line of its own among its last lines (中共某区委办公室 / 2024年3月15日)
  > docx/pdf creation date. Dates may be written in Chinese numerals (二〇二四年三月十五日).
- year: year of the date > collection column > a year in the title (1954年…报告) > a year in the file
  name, then in folder names from the deepest up (city-reports-2024/北京.txt -> 2024: the publication
  year of the report, although it reviews 2023).
- source: collection column > 来源：line > html site name > top folder of the path.
- author: 作者：/ 文/ / 记者 line > container metadata.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from pipeline.numerals import cn_number

_FULL_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
_MONTH_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*(?:年\s*(\d{1,2})\s*月|[-/.](\d{1,2})(?![-/.\d]))")
_CN_DATE = re.compile(r"([一二三四五六七八九〇零○]{4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月\s*([一二三四五六七八九十]{1,3})\s*日")
_DATE_ONLY = re.compile(r"\s*[（(]?[\d〇零○一二三四五六七八九十年月日\s./-]{6,24}[)）]?\s*")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_TITLE_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*(?:年|—|-|–)")
_DATE_LINE = re.compile(r"(?:发布|发表|更新|发文|成文|印发|公布|上传)(?:时间|日期)|^\s*(?:日期|时间)\s*[:：]")
_SOURCE = re.compile(r"(?:来源|稿源|出处)\s*[:：]\s*(.+?)(?=\s|$|(?:作者|发布|时间|日期|浏览|点击|编辑|字号|责任))")
_AUTHOR = re.compile(r"(?:作者|撰稿|执笔)\s*[:：]\s*(.+?)(?=\s{1}(?:来源|发布|时间|日期|浏览|点击|编辑)|$|\s*[|｜])"
                     r"|^\s*(?:文\s*[/／]|记者\s*[:：]?)\s*(\S.{0,20}?)\s*$")
_HEADING_MARK = re.compile(r"^(?:第[一二三四五六七八九十百零〇\d]+[章节条编部分篇]|[一二三四五六七八九十]+[、.．]"
                           r"|[（(][一二三四五六七八九十\d]+[)）]|\d+[、.．)）]|[①-⑳])")
_NOT_TITLE_END = tuple("。；，、：;,:！？!?…")


def parse_date(text: str) -> str | None:
    """First date in the text as yyyy-mm-dd, or yyyy-mm; None when there is none (or it is impossible)."""
    for m in _FULL_DATE.finditer(text):
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if 1 <= mo <= 12 and 1 <= d <= 31:
            return f"{y:04d}-{mo:02d}-{d:02d}"
    for m in _CN_DATE.finditer(text):
        y, mo, d = (cn_number(g) for g in m.groups())
        if y and 1900 <= y < 2100 and mo and d and 1 <= mo <= 12 and 1 <= d <= 31:
            return f"{y:04d}-{mo:02d}-{d:02d}"
    for m in _MONTH_DATE.finditer(text):
        mo = int(m.group(2) or m.group(3))
        if 1 <= mo <= 12:
            return f"{int(m.group(1)):04d}-{mo:02d}"
    return None


def normalise_date(value: object) -> str | None:
    """A container's date (ISO string, datetime, '2021年9月29日', 2021) as yyyy-mm-dd / yyyy-mm / yyyy."""
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    s = str(value).strip()
    d = parse_date(s)
    if d:
        return d
    m = _YEAR.search(s)
    return m.group(1) if m else None


def to_year(value: object) -> int | None:
    """An int year from a column value (2021, '2021', 2021.0, '2021年'), None if it is not one."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    m = _YEAR.search(str(value))
    return int(m.group(1)) if m else None


def year_of(date: str | None) -> int | None:
    return int(date[:4]) if date and date[:4].isdigit() else None


def year_in_names(names: Iterable[str]) -> int | None:
    """The first 4-digit year (19xx/20xx) in the given names (file name first, then folders upwards)."""
    for name in names:
        m = _YEAR.search(name)
        if m:
            return int(m.group(1))
    return None


def title_year(title: str | None) -> int | None:
    m = _TITLE_YEAR.search(title or "")
    return int(m.group(1)) if m else None


def meeting_year(title: str | None, meetings: list) -> int | None:
    """The year of the numbered meeting the title names as its own (ingest.meetings): 论联合政府 (七大) -> 1945,
    第十二届全国人民代表大会第三次会议关于政府工作报告的决议 -> 2015 (the third yearly session of the twelfth,
    first met in 2013); None when no meeting of a known number is named."""
    for meeting in meetings:
        m = re.search(meeting.pattern, title or "")
        n = cn_number(m.group("n")) if m else None
        if n not in meeting.years:
            continue
        session = cn_number(m.groupdict().get("session") or "") or 1
        years = meeting.sessions.get(n)
        if years:
            return years[session - 1] if session <= len(years) else None
        return meeting.years[n] + session - 1
    return None


def head_lines(text: str, n: int, max_chars: int = 200) -> list[str]:
    """The first n non-empty lines, each cut to max_chars (metadata lines are short)."""
    out = []
    for line in text.split("\n", 4 * n)[: 4 * n]:
        if line.strip():
            out.append(line[:max_chars])
            if len(out) == n:
                break
    return out


def date_line(lines: list[str]) -> str | None:
    """Date of a 发布时间：/日期： line (web pages state their publication date this way)."""
    for line in lines:
        if _DATE_LINE.search(line):
            d = parse_date(line)
            if d:
                return d
    return None


#: a date that bounds a task, not the document's: 请于2024年3月20日前报送, 截至2023年底, 自2024年1月1日起施行
_DEADLINE = re.compile(r"(?:于|截至|截止|至|到|自|从)\s*(?:19|20)\d{2}\s*[-/.年]|\d{1,2}\s*日?\s*(?:前|以前|之前|止|起(?!草))")


def first_date(lines: list[str], max_chars: int = 100) -> str | None:
    """First full date on a short head line (a date inside a body paragraph is not the document's, nor is
    a deadline or a start: 请于2024年3月20日前报送)."""
    for line in lines:
        d = parse_date(line) if len(line) <= max_chars and not _DEADLINE.search(line) else None
        if d and len(d) == 10:
            return d
    return None


def signed_date(text: str, n: int = 6) -> str | None:
    """The date an official document (通知, 方案, 意见) is signed on: a line that is only a date among its
    last n non-empty lines, below the issuer (中共某区委办公室 / 2024年3月15日); such documents state no date
    at their head."""
    tail = [line for line in text[-2000:].split("\n") if line.strip()][-n:]
    dates = (parse_date(line) for line in reversed(tail) if _DATE_ONLY.fullmatch(line))
    return next((d for d in dates if d and len(d) == 10), None)


def source_line(lines: list[str]) -> str | None:
    for line in lines:
        m = _SOURCE.search(line)
        if m and m.group(1).strip():
            return m.group(1).strip()[:60]
    return None


def author_line(lines: list[str]) -> str | None:
    for line in lines:
        m = _AUTHOR.search(line)
        if m:
            value = (m.group(1) or m.group(2) or "").strip()
            if value:
                return value[:60]
    return None


def clean_title(title: str, noise: str, placeholders: str) -> str | None:
    """A title without its tool's or site's decoration (Microsoft Word - 报告.docx -> 报告, 报告_某市人民政府
    门户网站 -> 报告), or None when it is a placeholder a tool filled in (Untitled, 无标题, 文档1)."""
    title = re.sub(noise, "", title.strip(), flags=re.I).strip()
    if not title or re.fullmatch(placeholders, title, flags=re.I):
        return None
    return title


def title_line(text: str, skip: str, not_title: str = "", max_skipped: int = 4) -> tuple[str, str] | None:
    """The title a text opens with, and the text without it: its first line when that looks like a title,
    or, in an official document, the first line below the lines that are not its title (the issuer's
    header, the document number: ingest.title_skip), which stay in the text; not_title: looks_like_title's."""
    lines = text.split("\n", max_skipped + 1)
    k = 0
    while k < min(max_skipped, len(lines) - 1) and lines[k].strip() and re.fullmatch(skip, lines[k].strip()):
        k += 1
    if not looks_like_title(lines[k], not_title):
        return None
    rest = "\n".join(lines[k + 1:]).lstrip("\n")
    return lines[k], "\n".join([*lines[:k], rest]) if k else rest


def looks_like_title(line: str, not_title: str = "", max_chars: int = 60) -> bool:
    """Short, not a sentence, not a numbered heading, not a salutation or a date line, not a whole line of
    the regex not_title (ingest.not_title: a speech's occasion or speaker, which a file that lost its title
    opens with)."""
    line = line.strip()
    if not 2 <= len(line) <= max_chars or line.endswith(_NOT_TITLE_END) or (not_title and re.fullmatch(not_title, line)):
        return False
    if _HEADING_MARK.match(line) or _DATE_LINE.search(line) or sum(line.count(c) for c in "，。；,") > 1:
        return False
    return not re.fullmatch(r"[\d\W_]+", line)
