"""Word-processor files other than Word's: RTF (.rtf, and RTF saved under a .doc name) and OpenDocument
text (.odt, LibreOffice and WPS).

RTF is what many government sites and older drafting tools export; Chinese RTF names its code page
(\\ansicpg936) and writes characters as \\'xx byte pairs or \\uN escapes, which striprtf decodes by the
declared code page and each font's charset (fcharset 134: GBK). Its \\info group gives title, author and
creation date. An .odt is a zip whose content.xml holds text:h headings (with their outline level, the
headings the structure stage gets as meta["headings"], as from a .docx), paragraphs, lists and tables;
deleted tracked changes, notes and annotations are not the document's running text and are left out.
"""
from __future__ import annotations

import io
import re

from pipeline.config import IngestConfig
from pipeline.ingest.formats import ZIP_ERRORS, Extracted, IngestError, Unit, check_zip

_RTF_HINT = "open it in Word or WPS and save it as .docx, then run again"
_ODT_HINT = "open it in LibreOffice or WPS and save it again as .odt or .docx, then run again"
_ANSICPG = re.compile(rb"\\ansicpg(\d+)")
#: code pages RTF writers declare for Chinese text, read with the superset codecs
_CODEPAGES = {936: "gb18030", 54936: "gb18030", 950: "big5hkscs", 65001: "utf-8"}
_RTF_CREATED = re.compile(r"\\creatim\\yr(\d{4})\\mo(\d{1,2})\\dy(\d{1,2})")


def _rtf_group(rtf: str, word: str) -> str | None:
    """The raw content of the first {\\word ...} group (balanced braces), or None."""
    m = re.search(r"\{\\" + word + r"\b\s?", rtf)
    if not m:
        return None
    depth, i = 1, m.end()
    while i < len(rtf) and depth:
        c = rtf[i]
        if c == "\\":
            i += 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        i += 1
    return rtf[m.end():i - 1]


def _rtf_info_field(info: str, field: str) -> str | None:
    r"""A field of the \info group, its Unicode copy first: writers since RTF 1.5 (Word, LibreOffice) put
    {\upr{\title 2024\'3f...}{\*\ud{\title 2024\u24180\'3f...}}}, and the first copy has '?' for every character
    outside the file's code page (LibreOffice's cp1252 file gave the title 2024??????????)."""
    at = info.find("{\\*\\ud")
    found = _rtf_group(info[at:], field) if at >= 0 else None
    return found or _rtf_group(info, field)


def read_rtf(data: bytes, cfg: IngestConfig) -> Extracted:
    """The text of an RTF file, and the title, author and creation date of its \\info group."""
    from striprtf.striprtf import rtf_to_text

    if not data.lstrip(b"\xef\xbb\xbf \t\r\n")[:5].lower().startswith(b"{\\rtf"):
        raise IngestError("read", "not an RTF file (it does not start with {\\rtf)", _RTF_HINT)
    m = _ANSICPG.search(data[:4096])
    encoding = _CODEPAGES.get(int(m.group(1)), f"cp{m.group(1)}") if m else "gb18030"
    try:
        rtf = data.decode(encoding, "replace")
    except LookupError:
        encoding = "gb18030"
        rtf = data.decode(encoding, "replace")

    def text_of(part: str) -> str:
        return rtf_to_text(part, encoding=encoding, errors="replace")

    try:
        text = text_of(rtf)
    except Exception as exc:  # noqa: BLE001 - striprtf raises what the damage leads to
        raise IngestError("extract", f"cannot read the RTF ({type(exc).__name__}: {exc})", _RTF_HINT) from None
    meta: dict = {}
    info = _rtf_group(rtf, "info") or ""
    for field in ("title", "author"):
        value = _rtf_info_field(info, field)
        if value:
            value = text_of("{\\rtf1 " + value + "}").strip()
            if value:
                meta[field] = value
    created = _RTF_CREATED.search(info)
    if created:
        y, mo, d = map(int, created.groups())
        meta["created"] = f"{y:04d}-{mo:02d}-{d:02d}"
    return Extracted([Unit(text.replace("\r\n", "\n"), meta)], encoding)


_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_META = "{urn:oasis:names:tc:opendocument:xmlns:meta:1.0}"
#: not the running text: notes, annotations, change marks and the deleted text they keep, the table of contents
_ODT_SKIP = {_TEXT + "note", _OFFICE + "annotation", _TEXT + "tracked-changes", _TEXT + "change",
             _TEXT + "change-start", _TEXT + "change-end", _TEXT + "table-of-content"}


def _count(value: str | None) -> int:
    """A positive count attribute (text:c, text:outline-level); 1 when absent or not a number, as readers do."""
    return int(value) if value and value.isdigit() and int(value) > 0 else 1


def _odt_inline(el) -> str:
    """The text of a paragraph or heading as shown: text:s as spaces, tabs and line breaks, notes left out."""
    out = [el.text or ""]
    for child in el:
        tag = child.tag
        if tag == _TEXT + "s":
            out.append(" " * _count(child.get(_TEXT + "c")))
        elif tag == _TEXT + "tab":
            out.append("\t")
        elif tag == _TEXT + "line-break":
            out.append("\n")
        elif tag not in _ODT_SKIP:
            out.append(_odt_inline(child))
        out.append(child.tail or "")
    return "".join(out)


def _odt_blocks(parent, lines: list[str], headings: list[tuple[str, int]]) -> None:
    """Lines of the block elements under parent, in document order; headings with their outline level."""
    for el in parent:
        tag = el.tag
        if tag == _TEXT + "h":
            line = _odt_inline(el)
            lines.append(line)
            if line.strip():
                headings.append((line.strip(), min(_count(el.get(_TEXT + "outline-level")), 9)))
        elif tag == _TEXT + "p":
            lines.append(_odt_inline(el))
        elif tag == _TABLE + "table":
            for row in el.iter(_TABLE + "table-row"):
                cells = []
                for cell in row.iterchildren(_TABLE + "table-cell"):
                    inner: list[str] = []
                    _odt_blocks(cell, inner, [])
                    cells.append(" ".join(t.strip() for t in inner if t.strip()))
                if any(cells):
                    lines.append(" | ".join(cells))
        elif tag not in _ODT_SKIP:  # lists, sections, frames: their paragraphs in place; a table of contents
            _odt_blocks(el, lines, headings)  # only repeats the headings


def read_odt(data: bytes, cfg: IngestConfig) -> Extracted:
    """Headings, paragraphs, lists and tables of an OpenDocument text, and its meta.xml title, author and
    creation date."""
    from lxml import etree

    zf = check_zip(len(data), data, cfg, ".odt", _ODT_HINT)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.fromstring(zf.read("content.xml"), parser)
    except KeyError:
        raise IngestError("read", "not an OpenDocument text (the archive has no content.xml)", _ODT_HINT) from None
    except (etree.XMLSyntaxError, *ZIP_ERRORS) as exc:
        raise IngestError("extract", f"cannot parse the .odt ({type(exc).__name__}: {exc})", _ODT_HINT) from None
    body = root.find(f"{_OFFICE}body/{_OFFICE}text")
    if body is None:
        raise IngestError("extract", "the .odt holds no text body (a spreadsheet or presentation under this name?)",
                          _ODT_HINT)
    lines: list[str] = []
    headings: list[tuple[str, int]] = []
    _odt_blocks(body, lines, headings)
    meta: dict = {"headings": headings}
    try:
        info = etree.parse(io.BytesIO(zf.read("meta.xml")), parser).getroot()
    except (KeyError, etree.XMLSyntaxError, *ZIP_ERRORS):
        info = None
    if info is not None:
        for key, path in (("title", f".//{_DC}title"), ("author", f".//{_META}initial-creator"),
                          ("created", f".//{_META}creation-date")):
            value = (info.findtext(path) or "").strip()
            if value:
                meta[key] = value[:10] if key == "created" else value
    return Extracted([Unit("\n".join(lines), meta)], None)
