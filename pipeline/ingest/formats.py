"""One reader per input format: bytes in, raw text units (with whatever metadata the format carries) out.

Readers never decide what is boilerplate or how to normalise; they only get the words out of the
container. Every failure is an IngestError carrying a message and a hint for the user, which read_file
turns into an error row.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import fnmatch
import io
import itertools
import json
import logging
import math
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from pipeline.config import COLUMN_FIELDS, CollectionMapping, IngestConfig


class IngestError(Exception):
    """A file that cannot be read or extracted; becomes an ERRORS row."""

    def __init__(self, stage: str, error: str, hint: str):
        super().__init__(error)
        self.stage, self.error, self.hint = stage, error, hint


@dataclass
class Unit:
    """Raw text of one document (a file, or one row of a collection) and the metadata its container gave."""

    text: str
    meta: dict[str, Any] = field(default_factory=dict)  # title, date, year, source, author, region
    row: int | None = None  # row number inside a collection


@dataclass
class Extracted:
    units: list[Unit]
    encoding: str | None = None
    errors: list[IngestError] = field(default_factory=list)  # row-level problems of a collection


# ---------------------------------------------------------------------------------------- decoding

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_CHINESE = {"gb2312": "gb18030", "gbk": "gb18030", "gb18030": "gb18030", "hz": "gb18030",
            "big5": "big5hkscs", "big5hkscs": "big5hkscs", "cp950": "big5hkscs"}
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufffd]")
_UTF16_TEXT = re.compile(r"[\u3400-\u9fff\x20-\x7e\t\n\r\u3000-\u303f\uff00-\uffef\u2010-\u2027]")
#: a text may hold a few stray NUL bytes (an export or a concatenation gone wrong): below this share of the
#: sample they are dropped at normalisation and the file is read; above it the file is binary (random or
#: compressed bytes are 0.4% NULs and fail the printable-text check after decoding anyway)
_STRAY_NULS = 0.005
_BINARY = ("looks like a binary file, not text",
           "check the file: it may be an image, archive or office file with a text extension; "
           "rename it with its real extension or remove it from the corpus")


def _replaced(text: str, data: bytes) -> int:
    """Replacement characters introduced by decoding (not the ones already in the file)."""
    return text.count("\ufffd") - data.count("\ufffd".encode())


def _label(name: str, replaced: int) -> str:
    return f"{name} ({replaced} invalid bytes replaced)" if replaced else name


def _looks_utf16(prefix: bytes) -> str | None:
    """utf-16-le/-be for BOM-less UTF-16: NUL bytes on one parity only (text with ASCII in it), or mostly
    on one (Chinese text with a few digits: 一 is U+4E00) when the decoding is nearly all Han, ASCII and
    CJK punctuation (binary data has NULs on both parities, or decodes to other characters)."""
    if len(prefix) < 4:
        return None
    even, odd = prefix[0::2], prefix[1::2]
    e, o = even.count(0) / len(even), odd.count(0) / max(1, len(odd))
    for name, nul, other in (("utf-16-le", o, e), ("utf-16-be", e, o)):
        if nul > 0.2 and other < 0.02:
            return name
        if nul > 2 * other:
            sample = prefix[: len(prefix) // 2 * 2].decode(name, "replace")
            if len(_UTF16_TEXT.findall(sample)) >= 0.95 * len(sample):
                return name
    return None


def _detect_legacy(sample: bytes) -> str:
    """Best legacy encoding of a sample (charset-normalizer), Chinese code pages widened to supersets."""
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    name = (best.encoding if best else "gb18030").lower().replace("_", "").replace("-", "")
    if name in ("utf8", "ascii", "utf16", "utf32"):
        return "gb18030"
    return _CHINESE.get(name, best.encoding if best else "gb18030")


def _decode_lines(data: bytes, legacy: str) -> tuple[str, str]:
    """Line by line: UTF-8 where a line is valid UTF-8, else the legacy encoding (mixed files)."""
    out, n_utf8, n_legacy = [], 0, 0
    for line in data.split(b"\n"):
        if line.isascii():
            out.append(line.decode("ascii"))
            continue
        try:
            out.append(line.decode("utf-8"))
            n_utf8 += 1
        except UnicodeDecodeError:
            out.append(line.decode(legacy, "replace"))
            n_legacy += 1
    text = "\n".join(out)
    name = f"mixed utf-8 + {legacy} ({n_legacy} of {n_utf8 + n_legacy} lines {legacy})" if n_utf8 and n_legacy \
        else (legacy if n_legacy else "utf-8")
    return text, _label(name, _replaced(text, data))


def decode_bytes(data: bytes, cfg: IngestConfig) -> tuple[str, str]:
    """Text and a label of the encoding used; never raises for text, IngestError for binary data.

    Fast path: strict UTF-8 over the whole file (C speed). charset-normalizer only sees a bounded sample
    starting at the first byte that is not UTF-8, because it is slow on large inputs.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            text = data.decode(name, "replace")
            return text, _label(name, _replaced(text, data))
    prefix = data[: cfg.detect_bytes]
    nuls = prefix.count(0)
    if nuls:
        name = _looks_utf16(prefix)
        if name is not None:
            text = data.decode(name, "replace")
            return _check_printable(text), _label(name, _replaced(text, data))
        if nuls > _STRAY_NULS * len(prefix):
            raise IngestError("read", *_BINARY)
    try:
        return _check_printable(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    text = data.decode("utf-8", "replace")
    bad = _replaced(text, data)
    if bad <= max(cfg.max_invalid_utf8_bytes, len(data) * cfg.max_invalid_utf8_share):
        return _check_printable(text), _label("utf-8", bad)
    start = data.rfind(b"\n", 0, first_bad) + 1
    legacy = _detect_legacy(data[start:start + cfg.detect_bytes])
    text, label = _decode_lines(data, legacy)
    return _check_printable(text), label


def _check_printable(text: str, sample: int = 20000) -> str:
    head = text[:sample]
    if head and len(_CONTROL.findall(head)) > 0.1 * len(head):
        raise IngestError("read", *_BINARY)
    return text


# ---------------------------------------------------------------------------------------- plain text

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n---[ \t]*(?:\n|\Z)", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_MD_HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+", re.M)
_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_RULE = re.compile(r"^[ \t]*(?:\|?(?:[ \t]*:?-{3,}:?[ \t]*\|)+(?:[ \t]*:?-{3,}:?[ \t]*)?|([-*_])(?:[ \t]*\1){2,}[ \t]*)$",
                      re.M)


def read_text(data: bytes, cfg: IngestConfig) -> Extracted:
    text, enc = decode_bytes(data, cfg)
    return Extracted([Unit(_without_page_edges(text, cfg))], enc)


def _without_page_edges(text: str, cfg: IngestConfig) -> str:
    """Text split into pages by form feeds (pdftotext's output, a printer's file) without its running
    headers, footers and page numbers (_edge_lines, as a PDF's) and the blank lines at each page's edges,
    pages joined by a line break: the header had stood in every page's first line, the number in its last,
    inside paragraphs that cross the page."""
    if "\f" not in text.strip("\f\n "):
        return text.replace("\f", "\n")
    pages = [page.split("\n") for page in text.split("\f")]
    out = []
    for page, gone in zip(pages, _edge_lines(pages, re.compile(cfg.pdf_page_number, re.I), cfg.pdf_running_share)):
        kept = [i for i, line in enumerate(page) if line.strip() and i not in gone]
        if kept:  # blank lines inside the page stay (a paragraph break)
            out += [line for i, line in enumerate(page) if kept[0] <= i <= kept[-1] and i not in gone]
    return "\n".join(out)


def markdown_to_text(text: str) -> tuple[str, str | None, list[tuple[str, int]]]:
    """Markdown markup removed (front matter, comments, #, links, images, bold, rules); title from the first '# ';
    the headings as (line text after the removal, number of #), for structure."""
    text = text.replace("\r\n", "\n")
    if text.startswith("---"):
        text = _FRONT_MATTER.sub("", text)
    if "<!--" in text:  # each regex is a full scan of the text: run only the ones that can match
        text = _COMMENT.sub("", text)
    title, levels = None, {}
    if "#" in text:
        m = re.search(r"^[ \t]{0,3}#[ \t]+(.+)$", text, re.M)
        title = m.group(1).strip() if m else None
        levels = {text.count("\n", 0, h.start()): len(h.group(1)) for h in _MD_HEADING.finditer(text)}
        text = _MD_HEADING.sub("", text)
    if "](" in text:  # the removals below never span lines, so heading line numbers stay valid
        text = _MD_LINK.sub(r"\1", _MD_IMAGE.sub("", text))
    if "**" in text or "__" in text:
        text = _MD_EMPHASIS.sub(r"\2", text)
    if "---" in text or "***" in text or "___" in text:  # table rules |---|---| and breaks --- (the lines stay, empty)
        text = _MD_RULE.sub("", text)
    lines = text.split("\n") if levels else []
    return text, title, [(lines[i].strip(), level) for i, level in levels.items()]


def read_markdown(data: bytes, cfg: IngestConfig) -> Extracted:
    text, enc = decode_bytes(data, cfg)
    text, title, headings = markdown_to_text(text)
    return Extracted([Unit(text, {"title": title, "headings": headings})], enc)


# ---------------------------------------------------------------------------------------- html

_BLOCK_TAGS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section", "article",
               "blockquote", "pre", "ul", "ol", "dd", "dt", "header", "footer", "nav", "td", "th")
_TAG_BLOCK = re.compile(r"<\s*/?\s*(?:%s)\b[^>]*>" % "|".join(_BLOCK_TAGS), re.I)
_TAG_DROP = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>", re.I | re.S)
_TAG_ANY = re.compile(r"<[^>]*>")
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
_HTML_HEADING_TAG = re.compile(r"<(/?)h([1-6])\b[^>]{0,500}>", re.I)


def _html_fulltext(html: str) -> str:
    """All visible text, paragraphs on their own lines. Regex-based so no depth of nesting can hurt it."""
    import html as htmllib

    text = _TAG_DROP.sub(" ", _COMMENT.sub(" ", html))
    text = _TAG_ANY.sub("", _TAG_BLOCK.sub("\n", text))
    return htmllib.unescape(text)


#: what a data table's cell does not hold: a cell holding one of these, or this much text, lays out a page
_LAYOUT_CONTENT = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "section",
                             "article", "blockquote", "pre", "form"})
_LAYOUT_CELL_CHARS = 300
_TABLE_TAG = re.compile(r"<table\b", re.I)


def _is_layout_table(table) -> bool:
    """A table that lays out a page (the article in one cell, a menu of links) rather than holding data."""
    text = len(table.text_content().strip())
    links = sum(len(a.text_content().strip()) for a in table.iter("a"))
    if text and links > 0.5 * text:
        return True
    return any(len(cell.text_content()) > _LAYOUT_CELL_CHARS or any(d.tag in _LAYOUT_CONTENT for d in cell.iterdescendants())
               for cell in table.iter("td", "th"))


def _unwrap_layout_tables(html: str) -> str:
    """The page with its layout tables turned into plain blocks (table, row and cell -> div).

    Many government sites lay out a whole page in tables: trafilatura then reads the article as one table
    cell and writes it on one line, its paragraphs and headings (一、…) run together with the page's menu.
    Data tables (short cells, no paragraphs) are left as tables. Unparsable markup is returned as it is."""
    if not _TABLE_TAG.search(html):
        return html
    import lxml.html

    try:
        root = lxml.html.document_fromstring(html)
        changed = False
        for table in list(root.iter("table")):
            if _is_layout_table(table):  # its own rows and cells only: a data table inside a cell stays one
                own = table.xpath("./thead|./tbody|./tfoot|./tr|./*/tr|./tr/td|./tr/th|./*/tr/td|./*/tr/th")
                for el in [table, *own]:
                    el.tag = "div"
                changed = True
        return lxml.html.tostring(root, encoding="unicode") if changed else html
    except (ValueError, RecursionError, lxml.etree.LxmlError):
        return html


def read_html(data: bytes, cfg: IngestConfig) -> Extracted:
    """Main text by trafilatura; the whole visible text when it finds nothing or fails on odd markup."""
    import html as htmllib

    html, enc = decode_bytes(data, cfg)
    meta: dict[str, Any] = {}
    m = _HTML_TITLE.search(html[:200_000])
    if m:
        meta["title"] = htmllib.unescape(re.sub(r"\s+", " ", m.group(1))).strip() or None
    text = None
    try:
        import trafilatura

        # favor_recall: its precision mode dropped whole blocks of an article (a <br>-separated part after
        # paragraphs); the chrome it keeps is what the boilerplate rules remove
        doc = trafilatura.bare_extraction(_unwrap_layout_tables(html), with_metadata=True, include_tables=True,
                                          include_comments=False, favor_recall=True)
        if doc is not None and (doc.text or "").strip():
            text = doc.text
            meta.update({k: v for k, v in (("title", doc.title), ("date", doc.date), ("author", doc.author),
                                           ("source", doc.sitename)) if v})
    except Exception:  # noqa: BLE001 - lxml/trafilatura fail in many ways on broken or absurdly nested markup
        text = None
    if text is None:
        text = _html_fulltext(html)  # no main content found: keep all visible text, boilerplate rules clean it
    meta["headings"] = _html_headings(html)
    return Extracted([Unit(text, meta)], enc)


def _html_headings(html: str) -> list[tuple[str, int]]:
    """(text, N) of each <hN> element, inner tags removed (structure finds them among the text's lines)."""
    import html as htmllib

    out = []
    tags = list(_HTML_HEADING_TAG.finditer(html))  # one pass; an opening tag pairs with the next tag only,
    for open_, close in zip(tags, tags[1:]):       # so unclosed ones cost nothing
        if not open_.group(1) and close.group(1) and open_.group(2) == close.group(2):
            inner = html[open_.end():close.start()]
            title = re.sub(r"\s+", " ", htmllib.unescape(_TAG_ANY.sub("", inner))).strip()
            if title and len(title) <= 200:
                out.append((title, int(open_.group(2))))
    return out


# ---------------------------------------------------------------------------------------- docx

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: what a damaged zip raises while opening it or inflating a member: bad headers, an unknown compression
#: method or version (NotImplementedError), bad offsets (ValueError), bad deflate data (zlib.error),
#: a member marked encrypted (RuntimeError)
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError,
              RuntimeError, zlib.error)
_DOCX_HINT = "open it in Word or LibreOffice and save it again as .docx, or export it as .txt"


def check_zip(path_size: int, data: bytes, cfg: IngestConfig, kind: str = ".docx",
              hint: str = _DOCX_HINT) -> zipfile.ZipFile:
    """Open a .docx, .xlsx or .odt (kind) zip after refusing a zip bomb: inflated sizes from the directory, before inflating
    (a .docx that is an OLE file never comes here: pipeline.ingest.worddoc reads it)."""
    if data.startswith(OLE_MAGIC):
        raise IngestError("read", "the file is password-protected (encrypted) or an old binary Office file",
                          "remove the password (or convert the old .xls) in Excel, WPS or LibreOffice and save it "
                          "as .xlsx")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        inflated = sum(i.file_size for i in zf.infolist())
    except ZIP_ERRORS as exc:
        raise IngestError("read", f"corrupt {kind} (not a valid zip archive: {exc})", hint) from None
    if any(i.flag_bits & 0x1 for i in zf.infolist()):  # zip-level (PKWARE) encryption of the members
        raise IngestError("read", "the file is password-protected (its zip members are encrypted)",
                          "remove the password in Word/Excel/LibreOffice and save it again, then run again")
    if inflated > cfg.max_docx_ratio * max(1, path_size):
        raise IngestError("read", f"refused: the {kind} would inflate to {inflated:,} bytes, over "
                                  f"{cfg.max_docx_ratio:g}x its size (possible zip bomb)",
                          "check where the file came from; raise ingest.max_docx_ratio only if you trust it")
    return zf


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
#: wrappers whose content is the document's own (content controls, custom XML, smart tags)
_DOCX_WRAPPERS = {_W + "sdt", _W + "sdtContent", _W + "customXml", _W + "smartTag"}
#: inside a paragraph: text that is not the document's (deletions, text moved away), a text box (its own
#: paragraphs, read after this one) and markup-compatibility fallbacks (a second copy of a text box)
_DOCX_NOT_TEXT = {_W + "del", _W + "moveFrom", _W + "txbxContent", _MC + "Fallback", _W + "pPr", _W + "rPr",
                  _W + "instrText", _W + "delText"}
_DOCX_CHARS = {_W + "tab": "\t", _W + "ptab": "\t", _W + "br": "\n", _W + "cr": "\n", _W + "noBreakHyphen": "-"}


def _docx_blocks(parent) -> Iterator:
    """The w:p and w:tbl elements of a body or a table cell in document order, including those inside
    content controls and custom XML (python-docx's paragraphs leave those out: a form or a template's
    fields lose their text)."""
    for child in parent.iterchildren():
        if child.tag in (_W + "p", _W + "tbl"):
            yield child
        elif child.tag in _DOCX_WRAPPERS and not _is_docx_contents(child):
            yield from _docx_blocks(child)


def _is_docx_contents(element) -> bool:
    """A content control holding Word's table of contents (docPartGallery "Table of Contents"): its lines
    repeat the headings with page numbers (一、基本情况 3) and would open empty sections."""
    gallery = element.find(f"{_W}sdtPr/{_W}docPartObj/{_W}docPartGallery")
    return gallery is not None and (gallery.get(_W + "val") or "").lower() == "table of contents"


def _docx_text(p) -> str:
    """A paragraph's text as Word shows it with its changes accepted: runs anywhere below it (tracked
    insertions, hyperlinks, fields' results, content controls, smart tags), without tracked deletions;
    python-docx's Paragraph.text drops inserted runs and those under content controls."""
    out: list[str] = []
    stack = [iter(p)]
    while stack:
        el = next(stack[-1], None)
        if el is None:
            stack.pop()
        elif el.tag == _W + "t":
            out.append(el.text or "")
        elif el.tag in _DOCX_CHARS:
            out.append(_DOCX_CHARS[el.tag])
        elif el.tag not in _DOCX_NOT_TEXT and len(el):
            stack.append(iter(el))
    return "".join(out)


def _docx_text_boxes(p) -> list[str]:
    """Lines of the text boxes anchored in a paragraph (a red-header notice's issuer, a sidebar), each
    box once (a box is often written twice: the drawing and its VML fallback)."""
    boxes = [b for b in p.iter(_W + "txbxContent") if not any(a.tag == _MC + "Fallback" for a in b.iterancestors())]
    return [t for box in boxes for el in _docx_blocks(box) if el.tag == _W + "p" for t in [_docx_text(el).strip()] if t]


def _docx_table_lines(tbl) -> list[str]:
    from docx.table import Table

    lines = []
    for row in tbl.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # merged cells repeat the same element
                continue
            seen.add(id(cell._tc))
            inner = []
            for el in _docx_blocks(cell._tc):
                if el.tag == _W + "p":
                    inner += [t for t in [_docx_text(el).strip()] if t]
                else:
                    inner += _docx_table_lines(Table(el, cell))
            cells.append(" ".join(inner))
        if any(cells):
            lines.append(" | ".join(cells))
    return lines


def read_docx(data: bytes, cfg: IngestConfig) -> Extracted:
    """Paragraphs and tables in document order, plus the core-properties title/author/date."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_zip(len(data), data, cfg)
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise IngestError("read", f"corrupt .docx ({type(exc).__name__}: {exc})", _DOCX_HINT) from None
    except Exception as exc:  # noqa: BLE001 - XML errors deep inside the package
        raise IngestError("extract", f"cannot parse the .docx ({type(exc).__name__}: {exc})", _DOCX_HINT) from None
    lines: list[str] = []
    headings: list[tuple[str, int]] = []
    number = _DocxNumbering(document)
    chains: dict[str | None, tuple[list, bool]] = {}  # style id -> (its chain, a table-of-contents style)
    for child in _docx_blocks(document.element.body):
        if child.tag == _W + "p":
            para = Paragraph(child, document)
            chain, contents = _docx_chain(para, chains)
            if contents:
                continue  # a line of a table of contents outside a content control (older Word)
            line = number.marker(para, chain) + _docx_text(child)
            lines.append(line)
            level = _docx_heading_level(para, chain)
            if level and line.strip():
                headings.append((line.strip(), level))
            lines += _docx_text_boxes(child)
        else:
            lines.extend(_docx_table_lines(Table(child, document)))
    meta = {**_docx_properties(document.core_properties), "headings": headings}
    return Extracted([Unit("\n".join(lines), meta)], None)


#: what python-docx's own template says of itself: a file written from it without setting these carries
#: them, and its "created" date (2013-12-23) is the template's, not the document's
_DOCX_TEMPLATE = {"author": "python-docx", "created": datetime.datetime(2013, 12, 23, 23, 15)}


def _docx_properties(props) -> dict:
    """Title, author and created date of a .docx, without the values of python-docx's template."""
    created = props.created.replace(tzinfo=None) if props.created else None
    author = props.author or None
    return {"title": props.title or None,
            "author": None if author == _DOCX_TEMPLATE["author"] else author,
            "created": created.date().isoformat() if created and created != _DOCX_TEMPLATE["created"] else None}


DOCX_HEADING_STYLE = re.compile(r"(?:heading|标题)\s*([1-9])", re.I)
#: table-of-contents styles: Word's toc 1-9 and TOC Heading (目录 N in Chinese Word), LibreOffice's Contents N
DOCX_CONTENTS_STYLE = re.compile(r"(?:toc|contents|目录)\s*(?:[1-9]|heading|标题)", re.I)
_CN_DIGITS = "零一二三四五六七八九"


def _chinese_number(n: int) -> str:
    """1 -> 一, 10 -> 十, 21 -> 二十一 (Word's chineseCounting, up to 99; larger numbers in digits)."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else _CN_DIGITS[tens]) + "十" if tens else "") + (_CN_DIGITS[ones] if ones else "")


_NUM_FORMATS = {
    "decimal": str, "decimalZero": lambda n: f"{n:02d}", "chineseCounting": _chinese_number,
    "chineseCountingThousand": _chinese_number, "chineseLegalSimplified": _chinese_number,
    "ideographTraditional": lambda n: "甲乙丙丁戊己庚辛壬癸"[(n - 1) % 10],
    "decimalEnclosedCircle": lambda n: chr(0x2460 + n - 1) if 0 < n <= 20 else str(n),
    "decimalEnclosedCircleChinese": lambda n: chr(0x2460 + n - 1) if 0 < n <= 20 else str(n),
    "decimalFullWidth": lambda n: "".join(chr(0xFF10 + int(c)) for c in str(n)),
    "upperLetter": lambda n: chr(64 + (n - 1) % 26 + 1), "lowerLetter": lambda n: chr(96 + (n - 1) % 26 + 1),
}


class _DocxNumbering:
    """The list markers Word draws before numbered paragraphs (一、 （一） 1.), which are not in their text.

    Headings numbered by a multilevel list keep their outline only through these. Numbering comes from
    the paragraph's numPr or its style's (followed through basedOn); a definition that only names a list
    style (numStyleLink) stands for the one behind that style. As Word does, the lists (numId) of one
    abstract definition share its counters unless a list restarts a level (lvlOverride/startOverride,
    what "Restart at 1" writes) or redefines it (lvlOverride/lvl); a level restarts after a higher one,
    and lvlText ('%1、', '（%2）') is filled with each level's count in its format. Bullets and formats
    without a rendering here give no marker."""

    def __init__(self, document):
        from docx.oxml.ns import qn

        self.qn = qn
        self.lists: dict[str, tuple[str, dict[int, tuple[str, str, int]], dict[int, int]]] = {}
        self.counts: dict[str, dict[int, int]] = {}  # per abstract definition
        self.restarted: set[tuple[str, int]] = set()  # (numId, level) whose startOverride was applied
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError, ValueError):
            return
        abstract = {an.get(qn("w:abstractNumId")): self._levels(an) for an in root.findall(qn("w:abstractNum"))}
        nums = root.findall(qn("w:num"))
        of_num = {num.get(qn("w:numId")): self._val(num, "w:abstractNumId") for num in nums}
        linked = {an.get(qn("w:abstractNumId")): self._val(an, "w:numStyleLink")
                  for an in root.findall(qn("w:abstractNum"))}
        for num in nums:
            abstract_id = self._linked(document, of_num.get(num.get(qn("w:numId"))), linked, of_num)
            if abstract_id not in abstract:
                continue
            levels, starts = dict(abstract[abstract_id]), {}
            for override in num.findall(qn("w:lvlOverride")):
                ilvl = override.get(qn("w:ilvl"), "")
                if not ilvl.isdigit():
                    continue
                levels.update(self._levels(override))
                start = self._val(override, "w:startOverride")
                if start.isdigit():
                    starts[int(ilvl)] = int(start)
            self.lists[num.get(qn("w:numId"))] = (abstract_id, levels, starts)

    def _linked(self, document, abstract_id: str | None, linked: dict[str, str], of_num: dict[str, str]) -> str | None:
        """The abstract definition that holds the levels: a definition that only names a list style
        (numStyleLink, what Word's list styles write) stands for the one behind that style's numbering."""
        style_id = linked.get(abstract_id)
        if not style_id:
            return abstract_id
        try:
            styles = document.styles.element.findall(self.qn("w:style"))
        except (KeyError, AttributeError, ValueError):  # no usable styles part: the list has no levels
            return abstract_id
        for style in styles:
            if style.get(self.qn("w:styleId")) == style_id:
                found = self._num_pr(style)
                target = of_num.get(found[0]) if found else None
                return target if target and not linked.get(target) else abstract_id
        return abstract_id

    def _val(self, element, name: str, default: str = "") -> str:
        el = element.find(self.qn(name))
        return el.get(self.qn("w:val"), default) if el is not None else default

    def _levels(self, element) -> dict[int, tuple[str, str, int]]:
        """(numFmt, lvlText, start) of each w:lvl under an abstractNum or a lvlOverride."""
        out = {}
        for lvl in element.findall(self.qn("w:lvl")):
            start, ilvl = self._val(lvl, "w:start", "1"), lvl.get(self.qn("w:ilvl"), "0")
            if ilvl.isdigit():  # a malformed level is skipped: its paragraphs get no marker
                out[int(ilvl)] = (self._val(lvl, "w:numFmt", "decimal"), self._val(lvl, "w:lvlText"),
                                  int(start) if start.isdigit() else 1)
        return out

    def _num_pr(self, element) -> tuple[str, int] | None:
        ppr = element.find(self.qn("w:pPr")) if element is not None else None
        num_pr = ppr.find(self.qn("w:numPr")) if ppr is not None else None
        if num_pr is None:
            return None
        num_id, ilvl = num_pr.find(self.qn("w:numId")), num_pr.find(self.qn("w:ilvl"))
        value = ilvl.get(self.qn("w:val"), "0") if ilvl is not None else "0"
        return (num_id.get(self.qn("w:val")) if num_id is not None else None), int(value) if value.isdigit() else 0

    def marker(self, para, chain: list) -> str:
        """The marker before this paragraph ('' for none); chain: its style's (_docx_chain)."""
        if not self.lists:
            return ""
        found = self._num_pr(para._p)
        for base in chain:
            if found is not None:
                break
            found = self._num_pr(base.element)
        if found is None or found[0] not in self.lists or found[1] not in self.lists[found[0]][1]:
            return ""
        num_id, ilvl = found
        abstract_id, levels, starts = self.lists[num_id]
        counts = self.counts.setdefault(abstract_id, {})
        if ilvl in starts and (num_id, ilvl) not in self.restarted:
            self.restarted.add((num_id, ilvl))
            counts[ilvl] = starts[ilvl]
        else:
            counts[ilvl] = counts[ilvl] + 1 if counts.get(ilvl) else levels[ilvl][2]
        for deeper in [k for k in counts if k > ilvl]:
            del counts[deeper]
        fmt, text, _ = levels[ilvl]
        if fmt not in _NUM_FORMATS or not text:
            return ""

        def fill(m: re.Match) -> str:
            k = int(m.group(1)) - 1
            f, _, start = levels.get(k, ("decimal", "", 1))
            return _NUM_FORMATS.get(f, str)(counts.get(k) or start)

        out = re.sub(r"%([1-9])", fill, text)
        return out if out[-1:] in "、.．)）:：" else out + " "


def _docx_chain(para, memo: dict[str | None, tuple[list, bool]]) -> tuple[list, bool]:
    """The paragraph's style and the styles it is based on (_style_chain), and whether it is a table-of-
    contents style, looked up once per style id: python-docx finds a paragraph's style by scanning every
    style of the document (most of the time of reading a long report)."""
    key = para._p.style
    if key not in memo:
        try:
            chain = _style_chain(para.style)
        except (KeyError, ValueError, AttributeError):  # a style the package lacks
            chain = []
        memo[key] = chain, any(DOCX_CONTENTS_STYLE.fullmatch((s.name or "").strip()) for s in chain)
    return memo[key]


def _style_chain(style, depth: int = 10) -> list:
    """The style and the styles it is based on, nearest first (a cycle or a missing base ends it)."""
    chain = []
    while style is not None and len(chain) < depth and all(style.element is not s.element for s in chain):
        chain.append(style)
        try:
            style = style.base_style
        except (KeyError, ValueError, AttributeError):
            break
    return chain


def _docx_heading_level(para, chain: list) -> int | None:
    """1-9 for a heading paragraph: an outline level set on the paragraph, else the nearest of its style
    and the styles that one is based on to be a Heading N (标题 N) style or to set an outline level;
    None for body text."""
    from docx.oxml.ns import qn

    def outline(element) -> int | None:
        ppr = element.find(qn("w:pPr")) if element is not None else None
        lvl = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
        value = lvl.get(qn("w:val")) if lvl is not None else None
        return int(value) + 1 if value is not None and value.isdigit() and int(value) < 9 else None

    found = outline(para._p)
    for base in chain:
        if found:
            break
        m = DOCX_HEADING_STYLE.fullmatch((base.name or "").strip())
        found = int(m.group(1)) if m else outline(base.element)
    return found


# ---------------------------------------------------------------------------------------- pdf

_PDF_DATE = re.compile(r"D:(\d{4})(\d{2})?(\d{2})?")
_SENTENCE_END = tuple("。！？；：!?;:")
_CLOSERS = tuple("”」』）)")
_DIGITS = re.compile(r"\d+")
_EDGE_LINES = 2  # lines at the top and at the bottom of a page where headers, footers and numbers sit


def _ends_sentence(line: str) -> bool:
    """A line ends a paragraph at 。！？；：, also behind a closing mark (。”), not at a bare one (“…一家亲”)."""
    return line.rstrip("".join(_CLOSERS)).endswith(_SENTENCE_END)


class _Line(NamedTuple):
    """A layout line of a PDF page: its text, where its first character starts (points), how far that is
    right of the text edge of its page or column (a paragraph's first line may be indented), how far its end
    is left of the column's right edge (a paragraph's last line stops short), its height and the space above
    it (None at the top of a page or column: the line above is elsewhere)."""

    text: str
    x0: float = 0.0
    x1: float = 0.0
    indent: float = 0.0
    height: float = 0.0
    space: float | None = None
    short: float | None = None


def _char_width(lines: list[_Line]) -> float:
    """The typical width of a character (points), from the lines' extents; 0 when unknown."""
    widths = [(x.x1 - x.x0) / len(x.text) for x in lines if len(x.text) >= 8 and x.x1 > x.x0]
    return float(np.median(widths)) if widths else 0.0


def _dense(lines: list[_Line]) -> list[bool]:
    """Which lines are written text, characters side by side (the line's height is about an em); a table's
    row spans its columns with gaps between the cells: it is no line of a paragraph, and it neither joins
    the line above nor takes the one below (its rows had been joined into one)."""
    return [not x.height or x.x1 - x.x0 <= 1.3 * x.height * len(x.text) for x in lines]


def _full(lines: list[_Line], dense: list[bool], em: float) -> list[bool]:
    """Which lines of text run to the right edge of their column: by characters (85% of the longest
    lines'), or by position where the layout is known (within two characters of the edge: an indented first
    line holds fewer characters, a line of half-width digits and commas more; Chinese text breaks anywhere,
    but punctuation may not start a line); em: the typical character width (_char_width)."""
    width = sorted(len(x.text) for x in lines)[int(0.9 * (len(lines) - 1))]
    return [d and (len(x.text) >= 0.85 * width or (x.short is not None and x.short <= 2 * em))
            for x, d in zip(lines, dense)]


def _marked(flags: list[bool | None], clear_ends: list[int]) -> bool:
    """Whether a document marks its paragraphs so: the lines after its clear paragraph ends (a short line
    ending a sentence) mostly carry the mark."""
    after = [flags[i + 1] for i in clear_ends if flags[i + 1] is not None]
    return len(after) >= 3 and sum(after) >= 0.6 * len(after)


def _paragraph_starts(lines: list[_Line], full: list[bool], em: float) -> list[bool | None]:
    """Per line: True where it starts a paragraph, False where it does not, None where its layout does not
    tell. Documents mark a paragraph by indenting its first line (Word's first-line indent, GB/T 9704's two
    characters) or by space above it (a web page printed to PDF); a mark counts once the document is seen
    to use it."""
    heights = [x.height for x in lines if x.height > 0]
    spaces = [x.space for x in lines if x.space is not None and x.space >= 0]
    if not em or not heights or not spaces:
        return [None] * len(lines)
    indented: list[bool | None] = [x.indent >= 1.2 * em for x in lines]
    leading = Counter(round(x, 1) for x in spaces)  # between the lines of a paragraph: the least space two share
    step = min((x for x, n in leading.items() if n >= 2), default=min(leading)) + 0.4 * float(np.median(heights))
    spaced: list[bool | None] = [None if x.space is None else x.space > step for x in lines]
    ends = [i for i in range(len(lines) - 1) if not full[i] and _ends_sentence(lines[i].text)]
    use = [flags for flags in (indented, spaced) if _marked(flags, ends)]
    if not use:
        return [None] * len(lines)
    out: list[bool | None] = []
    for marks in zip(*use):
        out.append(True if True in marks else None if None in marks else False)
    return out


def _reflow(lines: list[_Line]) -> list[str]:
    """Join PDF layout lines back into paragraphs.

    A line after a short one starts a paragraph. After a full-width one, the layout decides where the
    document marks its paragraphs (_paragraph_starts): a line that happens to end with 。 at the right margin
    does not end its paragraph, and a heading that follows a full line without a sentence end
    (五、推动…工作 / 社区治理经验篇7) is not glued to it. Elsewhere a full-width line not ending a sentence
    continues."""
    if not lines:
        return []
    lines = [x._replace(text=x.text.strip()) for x in lines]
    dense = _dense(lines)
    em = _char_width(lines)
    full = _full(lines, dense, em)
    starts = _paragraph_starts(lines, full, em)
    out = [lines[0].text]
    for i in range(1, len(lines)):
        start = starts[i] if starts[i] is not None else _ends_sentence(lines[i - 1].text)
        if full[i - 1] and dense[i] and not start:
            out[-1] += lines[i].text
        else:
            out.append(lines[i].text)
    return out


def _edge_lines(pages: list[list[str]], page_number: re.Pattern, share: float) -> list[set[int]]:
    """Per page, the positions of its running headers and footers (a line among the first or last non-blank
    lines of `share` of the pages, digits aside: 乌鲁木齐市政府工作报告, — 3 —) and page numbers. The first page
    keeps its top lines: a header there is also the document's title line."""
    filled = [[i for i, line in enumerate(page) if line.strip()] for page in pages]
    edges = [set(f[:_EDGE_LINES]) | set(f[-_EDGE_LINES:]) for f in filled]
    seen: Counter[str] = Counter()
    for page, edge in zip(pages, edges):
        seen.update({_DIGITS.sub("#", page[i].strip()) for i in edge})
    need = max(2, math.ceil(share * len(pages)))
    running = {key for key, n in seen.items() if n >= need} if len(pages) >= 2 else set()
    out = []
    for k, (page, edge) in enumerate(zip(pages, edges)):
        top = set(filled[k][:_EDGE_LINES]) if k == 0 else set()
        out.append({i for i in edge if page_number.fullmatch(page[i].strip())
                    or (_DIGITS.sub("#", page[i].strip()) in running and i not in top)})
    return out


def _page_edges(pages: list[list[_Line]], page_number: re.Pattern, share: float) -> list[list[_Line]]:
    """Pages without blank lines, running headers, footers and page numbers (_edge_lines), so a paragraph
    that crosses a page break is joined again and no header becomes a heading of its own."""
    pages = [[x for x in page if x.text.strip()] for page in pages]
    out = []
    for page, gone in zip(pages, _edge_lines([[x.text for x in page] for page in pages], page_number, share)):
        # the space above a line measures from the line before it only when that one stays
        out.append([line._replace(space=None) if i - 1 in gone else line
                    for i, line in enumerate(page) if i not in gone])
    return out


def _spans(x0: float | np.ndarray, x1: float | np.ndarray, a: float, b: float) -> bool | np.ndarray:
    """Whether text from x0 to x1 reaches into the middle third of the gutter from a to b: a column's ragged
    line may end a little inside the gutter (few rows do, so it still counts as free), a full-width row
    runs across it."""
    third = (b - a) / 3
    return (x0 < b - third) & (x1 > a + third)


def _footnotes(pages: list[list[_Line]], size: float) -> tuple[list[list[_Line]], list[_Line]]:
    """The pages without their footnotes, and the footnotes in page order. A footnote is set in smaller
    type (height under `size` of the body's, the commonest line height) below the last body line of its
    page; left in place, it broke a paragraph that runs on to the next page, whose rest joined the note."""
    heights = Counter(round(x.height, 1) for page in pages for x in page if x.height > 0)
    if not heights:
        return pages, []
    small = heights.most_common(1)[0][0] * size
    body, notes = [], []
    for page in pages:
        last = max((i for i, x in enumerate(page) if x.height >= small), default=-1)
        tail = page[last + 1:]
        if last >= 0 and tail and all(0 < x.height < small for x in tail):
            body.append(page[:last + 1])
            notes += tail
        else:
            body.append(page)
    return body, notes


def _column_gap(chars: list[dict], width: float, cfg: IngestConfig) -> tuple[float, float] | None:
    """(left, right) x of the gutter between two text columns of a page, or None for one column.

    The gutter is the widest run of x positions in the middle half of the page that few text rows cross
    (a title, a centred header or page number may); the page is two columns only when enough rows that
    do not cross it have text on each side of it (a one-column page has text right of its middle only in
    the rows that cross it), and the text on each side is lines, not a table's short cells."""
    chars = [c for c in chars if c.get("text", "").strip()]
    if len(chars) < 40 or width <= 0:
        return None
    top = np.array([c["top"] for c in chars])
    x0 = np.clip(np.array([c["x0"] for c in chars]), 0, width).astype(int)
    x1 = np.clip(np.ceil([c["x1"] for c in chars]), 0, width).astype(int)
    _, row = np.unique(np.round(top / 2), return_inverse=True)
    rows = row.max() + 1
    cover = np.zeros((rows, int(width) + 2), dtype=np.int32)
    np.add.at(cover, (row, x0), 1)
    np.add.at(cover, (row, x1), -1)
    crossing = (np.cumsum(cover, axis=1) > 0).sum(axis=0)
    lo, hi = int(width * 0.25), int(width * 0.75)
    free = np.concatenate([[False], crossing[lo:hi] <= rows * cfg.pdf_column_rows, [False]])
    edges = np.flatnonzero(np.diff(free.astype(np.int8)))
    runs = [(a + lo, b + lo) for a, b in zip(edges[::2], edges[1::2])]
    if not runs:
        return None
    a, b = max(runs, key=lambda r: r[1] - r[0])
    if b - a < cfg.pdf_column_gap:
        return None
    across = np.zeros(rows, dtype=bool)
    across[row[_spans(x0, x1, a, b)]] = True
    left, right = np.zeros(rows, dtype=bool), np.zeros(rows, dtype=bool)
    left[row[x1 <= a]] = True
    right[row[x0 >= b]] = True
    need = max(3, cfg.pdf_column_rows * rows)
    if (left & ~across).sum() < need or (right & ~across).sum() < need:
        return None
    # a column's lines are long, a table's cells short: each side's rows must hold lines, not cells
    char_width = float(np.median(x1 - x0)) or 1.0
    for side, keep in (((x1 <= a), left & ~across), ((x0 >= b), right & ~across)):
        start = np.full(rows, np.inf)
        end = np.zeros(rows)
        np.minimum.at(start, row[side], x0[side])
        np.maximum.at(end, row[side], x1[side])
        if np.median((end - start)[keep]) < cfg.pdf_column_min_chars * char_width:
            return None
    return float(a), float(b)


def _box_lines(page, box: tuple[float, float, float, float] | None, word_gap: float) -> list[_Line]:
    """The layout lines of a page, or of one box of it, with their indent from the box's text edge (the
    leftmost start shared by two lines: a stray line further left does not move it, and on a page of short
    paragraphs most lines may be indented first lines), how short of its right edge they stop (the 90th
    percentile of their ends, where the box holds three lines or more) and the space above them."""
    found = (page if box is None else page.crop(box)).extract_text_lines(return_chars=False,
                                                                        x_tolerance_ratio=word_gap)
    found = [x for x in found if x["text"].strip()]
    if not found:
        return []
    starts = Counter(round(x["x0"]) for x in found)
    edge = min((x for x, n in starts.items() if n >= 2), default=min(starts))
    right = float(np.percentile([x["x1"] for x in found], 90)) if len(found) >= 3 else None
    return [_Line(x["text"], float(x["x0"]), float(x["x1"]), float(x["x0"]) - edge, float(x["bottom"] - x["top"]),
                  float(x["top"] - found[i - 1]["bottom"]) if i else None,
                  None if right is None else max(0.0, right - float(x["x1"])))
            for i, x in enumerate(found)]


def _page_lines(page, cfg: IngestConfig) -> list[_Line]:
    """A page's lines; a two-column page column by column, each band of full-width rows where it stands."""
    gap = _column_gap(page.chars, float(page.width), cfg)
    if gap is None:
        return _box_lines(page, None, cfg.pdf_word_gap)
    a, b = gap
    rows: dict[float, list[dict]] = {}
    for c in page.chars:
        if c.get("text", "").strip():
            rows.setdefault(round(c["top"] / 2), []).append(c)
    bands: list[tuple[bool, float, float]] = []  # (full width, top, bottom)
    for key in sorted(rows):
        chars = rows[key]
        full = any(_spans(c["x0"], c["x1"], a, b) for c in chars)
        top, bottom = min(c["top"] for c in chars), max(c["bottom"] for c in chars)
        if bands and bands[-1][0] == full:
            bands[-1] = (full, bands[-1][1], max(bands[-1][2], bottom))
        else:
            bands.append((full, top, bottom))
    x0, top0, x1, bottom1 = page.bbox
    out: list[_Line] = []
    for k, (full, top, bottom) in enumerate(bands):
        upper = top0 if k == 0 else (bands[k - 1][2] + top) / 2
        lower = bottom1 if k == len(bands) - 1 else (bottom + bands[k + 1][1]) / 2
        boxes = [(x0, upper, x1, lower)] if full else [(x0, upper, (a + b) / 2, lower), ((a + b) / 2, upper, x1, lower)]
        for box in boxes:
            out += _box_lines(page, box, cfg.pdf_word_gap)
    return out


_GLYPH_CODE = re.compile(r"\(cid:\d+\)")


def _glyph_codes(text: str, max_share: float) -> str:
    """Text whose fonts had no Unicode map comes out as (cid:1234) codes, not characters (common in Chinese
    PDFs made by some typesetting tools): mostly codes is an error row saying to OCR it; a few become U+FFFD
    (a missing character, counted as such), not '(cid:…)' inside sentences."""
    text, codes = _GLYPH_CODE.subn("\ufffd", text)
    if not codes:
        return text
    share = codes / max(1, len(re.sub(r"\s", "", text)))
    if share > max_share:
        raise IngestError("extract", f"the PDF's fonts have no Unicode map: {share:.0%} of its characters are "
                                     "glyph codes ((cid:N)), not text",
                          "run OCR (e.g. ocrmypdf --force-ocr -l chi_sim in.pdf out.pdf), or export the text from "
                          "the program that made the PDF, and ingest the result")
    return text


def _close_pdf(pdf) -> None:
    """Close a pdfplumber PDF whatever state its damage left it in: closing walks the page tree again,
    and a tree that could not be read raises there too (it replaced the error row's reason)."""
    with contextlib.suppress(Exception):
        pdf.close()


def read_pdf(data: bytes, cfg: IngestConfig) -> Extracted:
    """The text layer page by page; encrypted or image-only PDFs are errors with what to do."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    # pdfminer logs each damaged object it skips; what matters reaches the errors table, not the terminal
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - pdfplumber wraps pdfminer's many error types
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc.__context__ or exc
        if isinstance(cause, (PDFPasswordIncorrect, PDFEncryptionError)) or "password" in repr(cause).lower():
            raise IngestError("read", f"the PDF is encrypted / password-protected ({type(cause).__name__})",
                              "remove the password (e.g. qpdf --decrypt in.pdf out.pdf) and run again") from None
        raise IngestError("read", f"corrupt PDF ({type(cause).__name__}: {cause})",
                          "open it in a PDF viewer and save/print it again as PDF") from None
    pages: list[list[_Line]] = []
    try:
        for page in pdf.pages:
            pages.append(_page_lines(page, cfg))
        info = pdf.metadata or {}
    except Exception as exc:  # noqa: BLE001 - damaged page streams raise many types
        raise IngestError("extract", f"cannot extract text from page {len(pages) + 1} of the PDF "
                                     f"({type(exc).__name__}: {exc})",
                          "open it in a PDF viewer and save/print it again as PDF") from None
    finally:
        _close_pdf(pdf)
    page_number = re.compile(cfg.pdf_page_number, re.I)
    body, notes = _footnotes(_page_edges(pages, page_number, cfg.pdf_running_share), cfg.pdf_footnote_size)
    text = "\n".join(_reflow([line for page in body for line in page]) + _reflow(notes))
    if not text.strip():
        raise IngestError("extract", f"the PDF has no text layer ({len(pages)} pages, scanned images only?)",
                          "run OCR first (e.g. ocrmypdf -l chi_sim in.pdf out.pdf) and ingest the result")
    text = _glyph_codes(text, cfg.pdf_max_glyph_codes)
    meta: dict[str, Any] = {}
    for key, name in (("Title", "title"), ("Author", "author")):
        value = info.get(key)
        if isinstance(value, bytes):
            value = value.decode("utf-16" if value.startswith(codecs.BOM_UTF16_BE) else "latin-1", "replace")
        if isinstance(value, str) and value.strip():
            meta[name] = value.strip()
    m = _PDF_DATE.match(str(info.get("CreationDate", "")))
    if m:
        meta["created"] = "-".join(g for g in m.groups() if g)
    return Extracted([Unit(text, meta)], None)


# ---------------------------------------------------------------------------------------- collections

def mapping_for(path: Path, cfg: IngestConfig) -> CollectionMapping | None:
    """The first ingest.collections entry whose glob matches the file name."""
    return next((m for m in cfg.collections if fnmatch.fnmatch(path.name, m.glob)), None)


def _csv_rows(lines: list[str], dialect, width: int, start: int = 0) -> Iterator[tuple[int, list[str], bool]]:
    """(first line, cells, quote left open) of each row of lines[start:], line numbers 1-based.

    A quote opened and never closed where its row ends runs the reader over the lines after it (a stray "
    in one row swallowed every report after it into one cell). Such a row spans several lines, has not the
    header's number of cells, and the line after its first holds a whole row of its own: it is read as its
    first line alone and the reading starts again on the next line. A real multi-line cell keeps its row."""
    def alone(line: str) -> list[str]:
        return next(csv.reader([line], dialect), [])

    while True:
        reader = csv.reader(itertools.islice(lines, start, None), dialect)
        end = start
        for values in reader:
            first, end = end + 1, start + reader.line_num
            if len(values) != width and end > first and len(alone(lines[first])) == width:
                yield first, alone(lines[first - 1]), True
                start = first
                break
            yield first, values, False
        else:
            return


#: what each collection reader returns: the header, (where, row) pairs (where: "line 12", "sheet '2023' row 4",
#: for messages a user can act on), the encoding label and the rows' problems
Records = tuple[list[str], list[tuple[str, dict]], str | None, list[IngestError]]


def _records_csv(data: bytes, cfg: IngestConfig) -> Records:
    text, enc = decode_bytes(data, cfg)
    csv.field_size_limit(1 << 30)
    try:
        dialect = csv.Sniffer().sniff(text[:20000], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    lines = io.StringIO(text, newline="").readlines()  # split as the reader splits them
    reader = csv.reader(lines, dialect)
    header = [h.strip().lstrip("\ufeff") for h in next(reader, [])]
    rows, ragged, unclosed = [], [], []
    for first, values, open_quote in _csv_rows(lines, dialect, len(header), start=reader.line_num):
        if open_quote:
            unclosed.append(first)
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header) and not open_quote:
            ragged.append(first)
        rows.append((f"line {first}", dict(zip(header, values))))  # short rows: missing cells absent; extras dropped
    errors = []
    if unclosed:
        errors.append(IngestError("extract", f"{len(unclosed)} rows open a quote (\") that is not closed where the "
                                             f"row ends (lines {_some(unclosed)}); the lines after it were read "
                                             f"as rows of their own", "check the quotes on those lines"))
    if ragged:
        errors.append(IngestError("extract", f"{len(ragged)} rows have a different number of cells than the "
                                             f"header (lines {_some(ragged)}); missing cells read as empty, "
                                             f"extra cells ignored", "check the quoting of those rows"))
    return header, rows, enc, errors


def _some(items: list, n: int = 5) -> str:
    return ", ".join(map(str, items[:n])) + (" ..." if len(items) > n else "")


def _object_rows(items: Iterable[tuple[int, Any]], unit: str, hint: str) -> tuple[list[str], list, list[IngestError]]:
    """(header, rows, errors) of parsed JSON values numbered by their place: each object is a row named
    'unit N'; anything else (None: not parsed) is reported by its number."""
    rows, bad, header = [], [], {}
    for n, obj in items:
        if isinstance(obj, dict):
            rows.append((f"{unit} {n}", obj))
            header.update(dict.fromkeys(obj))
        else:
            bad.append(n)
    errors = [IngestError("extract", f"{len(bad)} {unit}s are not JSON objects ({unit}s {_some(bad)})", hint)] if bad else []
    return list(header), rows, errors


def _json_or_none(line: str) -> Any:
    try:
        return json.loads(line)
    except (json.JSONDecodeError, RecursionError):  # RecursionError: nested deeper than Python's stack
        return None


def _records_jsonl(data: bytes, cfg: IngestConfig) -> Records:
    text, enc = decode_bytes(data, cfg)
    parsed = ((i + 1, _json_or_none(line)) for i, line in enumerate(text.split("\n")) if line.strip())
    header, rows, errors = _object_rows(parsed, "line", "fix or remove those lines; each line must be one JSON object")
    return header, rows, enc, errors


def _json_rows(obj: Any) -> list | None:
    """The documents of a parsed .json export: an array of objects, an object holding one (the longest:
    {"code": 0, "data": [...]}, as an API or a scraper writes it), or one object that is itself a document."""
    if isinstance(obj, list):
        return obj
    if not isinstance(obj, dict):
        return None
    arrays = [v for v in obj.values() if isinstance(v, list) and any(isinstance(x, dict) for x in v)]
    if not arrays:
        arrays = [r for v in obj.values() if isinstance(v, dict) for r in [_json_rows(v)] if r and r != [v]]
    return max(arrays, key=lambda a: sum(isinstance(x, dict) for x in a)) if arrays else [obj]


def _records_json(data: bytes, cfg: IngestConfig) -> Records:
    """Rows of a .json export (_json_rows); a file of one object per line is read as JSON Lines."""
    text, enc = decode_bytes(data, cfg)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        header, rows, _, errors = _records_jsonl(data, cfg)
        if rows:  # JSON Lines saved as .json
            return header, rows, enc, errors
        raise IngestError("extract", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                          "fix the file, or write it as JSON Lines (.jsonl): one object per line") from None
    except RecursionError:
        raise IngestError("extract", "the JSON is nested too deeply to read",
                          "write it as an array of objects, one per document") from None
    found = _json_rows(obj)
    if found is None:
        raise IngestError("extract", f"the JSON holds a {type(obj).__name__}, not documents",
                          "write an array of objects, one per document, each with a text field (content, 正文 ...)")
    header, rows, errors = _object_rows(enumerate(found, start=1), "item",
                                        "each item of the array must be one object (one document)")
    return header, rows, enc, errors


_XLSX_HINT = "open it in Excel/LibreOffice and save it again as .xlsx"


def _records_xlsx(data: bytes, cfg: IngestConfig) -> Records:
    """Rows of every worksheet, each under its own header row (a workbook often holds one sheet per year
    or region, or a notes sheet before the data); the header is all sheets' columns, first sheet first."""
    import openpyxl

    if data.startswith(OLE_MAGIC):  # an Excel 97-2003 workbook renamed .xlsx, or an encrypted one
        return _records_xls(data, cfg)
    check_zip(len(data), data, cfg, ".xlsx", _XLSX_HINT)
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types on broken workbooks
        raise IngestError("read", f"cannot open the workbook ({type(exc).__name__}: {exc})", _XLSX_HINT) from None
    header: dict[str, None] = {}
    rows: list[tuple[str, dict]] = []
    try:
        for ws in wb.worksheets:  # read-only mode parses each sheet as it is read
            it = ws.iter_rows(values_only=True)
            names = [str(h).strip() if h is not None else "" for h in next(it, ())]
            header.update(dict.fromkeys(n for n in names if n))
            rows += [(f"sheet {ws.title!r} row {k}", dict(zip(names, r))) for k, r in enumerate(it, 2)
                     if any(v not in (None, "") for v in r)]
    except Exception as exc:  # noqa: BLE001 - a damaged sheet raises zip, XML or value errors
        raise IngestError("extract", f"cannot read the workbook's sheets ({type(exc).__name__}: {exc})",
                          _XLSX_HINT) from None
    finally:
        wb.close()
    return list(header), rows, None, []


_XLS_HINT = "remove any password, open it in Excel, WPS or LibreOffice and save it as .xlsx"


def _xls_value(cell, datemode: int) -> Any:
    """A .xls cell as openpyxl would give it: dates as datetimes, whole numbers as ints, blanks as None."""
    import xlrd

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return None
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate.xldate_as_datetime(cell.value, datemode)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return cell.value
    if cell.ctype == xlrd.XL_CELL_NUMBER and float(cell.value).is_integer():
        return int(cell.value)
    return cell.value


def _records_xls(data: bytes, cfg: IngestConfig) -> Records:
    """Rows of every worksheet of an Excel 97-2003 workbook (xlrd), as _records_xlsx. Files named .xls are
    often something else: a renamed .xlsx is read as one, a tab-separated export as a .csv; a web page
    saved as .xls is refused with what to do."""
    import xlrd

    if data.startswith(b"PK\x03\x04"):
        return _records_xlsx(data, cfg)
    if not data.startswith(OLE_MAGIC):
        if re.match(rb"\s*(?:\xef\xbb\xbf)?\s*<", data[:512]):
            raise IngestError("read", "the .xls file is a web page (an HTML table saved with an .xls name)",
                              "open it in Excel or WPS and save it as .xlsx, then run again")
        return _records_csv(data, cfg)
    try:  # xlrd writes its warnings on damaged files to logfile: kept off the user's terminal
        book = xlrd.open_workbook(file_contents=data, on_demand=True, logfile=io.StringIO())
    except Exception as exc:  # noqa: BLE001 - xlrd raises many types on broken or encrypted workbooks
        raise IngestError("read", f"cannot open the .xls workbook ({type(exc).__name__}: {exc})", _XLS_HINT) from None
    header: dict[str, None] = {}
    rows: list[tuple[str, dict]] = []
    try:  # on_demand: each sheet is parsed when it is asked for, so a damaged one raises here
        for k in range(book.nsheets):
            sheet = book.sheet_by_index(k)
            if not sheet.nrows:
                continue
            names = [str(_xls_value(c, book.datemode) or "").strip() for c in sheet.row(0)]
            header.update(dict.fromkeys(n for n in names if n))
            for r in range(1, sheet.nrows):
                values = [_xls_value(c, book.datemode) for c in sheet.row(r)]
                if any(v not in (None, "") for v in values):
                    rows.append((f"sheet {sheet.name!r} row {r + 1}", dict(zip(names, values))))
            book.unload_sheet(k)
    except Exception as exc:  # noqa: BLE001 - struct, index and key errors from damaged records
        raise IngestError("extract", f"cannot read the .xls workbook's sheets ({type(exc).__name__}: {exc})",
                          _XLS_HINT) from None
    finally:
        book.release_resources()
    return list(header), rows, None, []


_RECORDS = {".csv": _records_csv, ".jsonl": _records_jsonl, ".json": _records_json, ".xlsx": _records_xlsx,
            ".xls": _records_xls}
#: formats of collections: one document a row
COLLECTION_EXTENSIONS = tuple(_RECORDS)


def _flat(value: Any, sep: str) -> Any:
    """A JSON list or object as the text of its items (a scraped record often holds its text as a list of
    paragraphs, or {"p": ...}): joined with sep, not Python's repr with its brackets and quotes."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        parts = (str(_flat(v, sep)).strip() for v in value if v is not None)
        return sep.join(part for part in parts if part)
    return value


def _cell(row: dict, columns: list[str], sep: str = " ") -> Any:
    """The row's value in the first of the columns where it has one (None if none has); lists and objects
    flattened (_flat)."""
    for column in columns:
        value = _flat(row.get(column), sep)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return value
    return None


def find_columns(header: list[str], candidates: list[str]) -> list[str]:
    """Every candidate the header has, in the candidates' order: exact names, else ignoring case and outer
    spaces. A collection merged from several exports names its text content in one row and 正文 in
    another: each row takes the first of them it fills."""
    present = set(header)
    folded = {h.strip().casefold(): h for h in reversed(header)}
    found = (c if c in present else folded.get(c.strip().casefold()) for c in candidates)
    return list(dict.fromkeys(c for c in found if c is not None))


def read_collection(data: bytes, path: Path, cfg: IngestConfig) -> Extracted:
    """Each row is a document, mapped by the first matching ingest.collections entry."""
    mapping = mapping_for(path, cfg)
    if mapping is None:
        raise IngestError("extract", f"no ingest.collections entry matches {path.name!r}",
                          "add a mapping (glob, text column, ...) for this file to ingest.collections in the config")
    header, rows, enc, errors = _RECORDS[path.suffix.lower()](data, cfg)
    columns = {k: find_columns(header, getattr(mapping, k)) for k in COLUMN_FIELDS}
    text_columns = columns.pop("text")
    if not text_columns:
        tried = ", ".join(map(repr, mapping.text))
        raise IngestError("extract", f"no text column: none of {tried} found; available columns: "
                                     f"{', '.join(map(repr, header)) or '(none)'}",
                          f"add the column holding the text to ingest.collections[glob={mapping.glob!r}].text")
    units, empty = [], []
    for i, (where, row) in enumerate(rows):
        text = _cell(row, text_columns, "\n")
        if text is None:
            empty.append(where)
            continue
        meta = {k: _cell(row, column) for k, column in columns.items()}
        units.append(Unit(str(text), {k: v for k, v in meta.items() if v is not None}, row=i))
    if empty:
        errors.append(IngestError("extract", f"{len(empty)} rows have an empty {' or '.join(map(repr, text_columns))} "
                                             f"({_some(empty)})",
                                  "those rows were skipped; fill the text or remove them"))
    return Extracted(units, enc, errors)


def extract(path: Path, data: bytes, cfg: IngestConfig) -> Extracted:
    """Dispatch on the extension."""
    ext = path.suffix.lower()
    if ext == ".md":
        return read_markdown(data, cfg)
    if ext in (".html", ".htm"):
        return read_html(data, cfg)
    if ext in (".doc", ".wps") or (ext == ".docx" and data.startswith(OLE_MAGIC)):
        from pipeline.ingest.worddoc import read_doc  # it reads .docx and web pages with this module's readers

        return read_doc(data, cfg)
    if ext == ".docx":
        return read_docx(data, cfg)
    if ext == ".pdf":
        return read_pdf(data, cfg)
    if ext in (".rtf", ".odt"):
        from pipeline.ingest.richtext import read_odt, read_rtf  # they use this module's zip check

        return read_rtf(data, cfg) if ext == ".rtf" else read_odt(data, cfg)
    if ext in _RECORDS:
        return read_collection(data, path, cfg)
    return read_text(data, cfg)
