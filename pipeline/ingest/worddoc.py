"""Word 97-2003 binary documents (.doc), and WPS Office .wps files written in the same format.

Policy offices' folders are full of them: notices, plans and reports drafted years ago in Word or WPS
and never saved again. The file is an OLE container (read by olefile); its text lies in the WordDocument
stream in pieces listed by the piece table, the Clx of the 0Table or 1Table stream ([MS-DOC] 2.9.38
and 2.8.35): each piece is UTF-16LE, or 8-bit "compressed" text (cp1252, [MS-DOC] 2.4.1). Only the
main document is read (its first FibRgLw97.ccpText characters; footnotes, headers and comments follow
it in the stream). Field codes (HYPERLINK "…", PAGE, TOC …) are dropped and their shown results kept; a
table row's cells are joined with " | ", as .docx rows are. Each paragraph's style is read (its istd, the
first field of its PAPX in the FKP pages of the PlcBtePapx, [MS-DOC] 2.9.175), and the style sheet (the
STSH, 2.9.271) says which styles are headings: built-in Heading 1-9 (sti 1-9), or a style named Heading N
or 标题 N, or one based on such a style; their paragraphs go to the structure stage as meta["headings"],
as a .docx's do. Outline levels set on a paragraph or a style (sprmPOutLvl, which read_docx does read)
are not; nor are footnotes, headers, comments and text boxes. A damaged style sheet or FKP page loses
the headings, never the text.

A .doc is often something else under that name: a web page saved by Word ("Word HTML", or a single-file
MHTML page), an RTF file, or a .docx renamed. `sniff` tells them apart by their first bytes, so web pages
RTF and .docx files are read as what they are.
"""
from __future__ import annotations

import datetime
import io
import re
import struct
from bisect import bisect_right
from collections.abc import Iterator

import numpy as np

from pipeline.config import IngestConfig
from pipeline.ingest.formats import (DOCX_CONTENTS_STYLE, DOCX_HEADING_STYLE, OLE_MAGIC, Extracted, IngestError, Unit,
                                     read_docx, read_html)

_WORD_IDENT = 0xA5EC
_NFIB_WORD97 = 0x00C0  # Word 97 writes 0xC1; Word 6 and 95 (0x65, 0x68) use another layout
_FC_CLX_INDEX = 33  # FibRgFcLcb97: fcClx is the 34th (fc, lcb) pair
_FC_STSHF_INDEX = 1  # the style sheet
_FC_PLCF_BTE_PAPX_INDEX = 13  # the pages of paragraph properties
_FKP_SIZE = 512
_FKP_MAX_RUNS = 0x1D  # [MS-DOC] 2.9.175: crun of a PapxFkp
_ISTD_NIL = 0x0FFF  # istdBase of a style based on none
_MAX_BASED_ON = 10  # styles followed through istdBase, as read_docx follows basedOn
_PARAGRAPH_END = (0x0D, 0x07)  # paragraph mark, and the cell or row mark that ends a table cell's paragraph
_HINT = "open it in Word or WPS and save it as .docx (文件 > 另存为), or run `libreoffice --headless --convert-to docx FILE`"
_PASSWORD_HINT = "remove the password in Word or WPS (文件 > 信息 > 保护文档), save it, then run again"

#: characters of the text stream and what they are in plain text ([MS-DOC] 2.8.25 and 2.4.1)
_CONTROL = str.maketrans({
    "\r": "\n",      # paragraph end
    "\x0b": "\n",    # line break (Shift+Enter)
    "\x0c": "\n",    # page or section break
    "\x0e": "\n",    # column break
    "\x1e": "-",     # non-breaking hyphen
    "\xa0": " ",
    **{c: None for c in "\x00\x01\x02\x03\x04\x05\x06\x08\x1f"},  # pictures, objects, note marks, soft hyphen
})
_FIELD_MARK = re.compile("[\x13\x14\x15]")
_CELL = re.compile(r"[ \t]*\x07[ \t]*")
_CODEPAGES = {936: "gb18030", 950: "big5", 1200: "utf-16-le", 65001: "utf-8"}


def sniff(data: bytes) -> str:
    """What a .doc or .wps file really holds: 'ole' (Word/WPS binary), 'docx', 'html', 'mhtml' (a single-file
    web page), 'rtf' or 'unknown'."""
    if data.startswith(OLE_MAGIC):
        return "ole"
    if data.startswith(b"PK\x03\x04"):
        return "docx"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(b"mime-version:"):
        return "mhtml"
    if b"<html" in head or head.startswith((b"<!doctype html", b"<?xml")):  # <?xml: Word 2003 XML too
        return "html"
    return "unknown"


def read_doc(data: bytes, cfg: IngestConfig) -> Extracted:
    """A .doc or .wps file (or a .docx that is really one of them), read as what its bytes say it is."""
    kind = sniff(data)
    if kind == "ole":
        text, meta = read_word_binary(data)
        return Extracted([Unit(text, meta)], None)
    if kind == "docx":
        return read_docx(data, cfg)
    if kind == "html":
        return read_html(data, cfg)
    if kind == "mhtml":
        return read_html(_mhtml_page(data), cfg)
    if kind == "rtf":
        from pipeline.ingest.richtext import read_rtf

        return read_rtf(data, cfg)
    raise IngestError("read", "not a Word or WPS document (neither a Word binary, a .docx, a web page nor RTF)",
                      "check that the file opens in Word or WPS; if it does, save it as .docx and run again")


def _mhtml_page(data: bytes) -> bytes:
    """The HTML part of a single-file web page (MIME), decoded from its transfer encoding."""
    import email

    message = email.message_from_bytes(data)
    for part in message.walk():
        if part.get_content_type() == "text/html":
            html = part.get_payload(decode=True) or b""
            charset = part.get_content_charset()
            try:  # the part names its charset (gb2312 for most Chinese pages); without one read_html detects it
                return html.decode(charset).encode("utf-8") if charset else html
            except (LookupError, UnicodeDecodeError):
                return html
    raise IngestError("extract", "a single-file web page (MHTML) without an HTML part", _HINT)


def read_word_binary(data: bytes) -> tuple[str, dict]:
    """The main text of a Word 97-2003 binary document and its summary title, author and created date."""
    import olefile

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - olefile raises what the damage leads to (ValueError, OSError, IndexError ...)
        raise IngestError("read", "a password-protected or damaged Word file (its OLE container cannot be read)",
                          f"{_PASSWORD_HINT}; if it has none, {_HINT}") from None
    with ole:
        if ole.exists("EncryptedPackage"):  # an encrypted .docx is an OLE container holding the package
            raise IngestError("read", "the file is password-protected (encrypted)", _PASSWORD_HINT)
        if not ole.exists("WordDocument"):
            raise IngestError("read", "not a Word document: the OLE file has no WordDocument stream (an old WPS "
                                      "format, or a spreadsheet or presentation under this name)", _HINT)
        try:
            word = ole.openstream("WordDocument").read()
            fib = _fib(word)
            table = ole.openstream("1Table" if fib["which_table"] else "0Table").read()
            text = _main_text(word, table, fib)
        except (OSError, struct.error, IndexError) as exc:
            raise IngestError("extract", f"cannot read the Word file's text ({type(exc).__name__}: {exc})",
                              _HINT) from None
        headings, contents = _styled_lines(word, table, fib)
        text = _without_lines(text, contents)
        return text, {**_summary(ole), "headings": _lines_of(text, headings)}


def _fib(word: bytes) -> dict:
    """The fields of the File Information Block that locate the text ([MS-DOC] 2.5.1)."""
    ident, nfib = struct.unpack_from("<HH", word, 0)
    if ident != _WORD_IDENT:
        raise IngestError("read", "not a Word document (its WordDocument stream has no Word signature)", _HINT)
    if nfib < _NFIB_WORD97:
        raise IngestError("read", f"a Word 6/95 document (format {nfib:#x}), older than Word 97", _HINT)
    (flags,) = struct.unpack_from("<H", word, 10)
    if flags & 0x0100:  # fEncrypted
        raise IngestError("read", "the Word file is password-protected (encrypted)", _PASSWORD_HINT)
    pos = 32
    (csw,) = struct.unpack_from("<H", word, pos)
    pos += 2 + 2 * csw
    (cslw,) = struct.unpack_from("<H", word, pos)
    (ccp_text,) = struct.unpack_from("<i", word, pos + 2 + 12)
    pos += 2 + 4 * cslw
    (pairs,) = struct.unpack_from("<H", word, pos)
    if pairs <= _FC_CLX_INDEX:
        raise IngestError("read", "the Word file's header has no piece table", _HINT)
    pos += 2
    fc_clx, lcb_clx = struct.unpack_from("<II", word, pos + 8 * _FC_CLX_INDEX)
    fc_stsh, lcb_stsh = struct.unpack_from("<II", word, pos + 8 * _FC_STSHF_INDEX)
    fc_papx, lcb_papx = struct.unpack_from("<II", word, pos + 8 * _FC_PLCF_BTE_PAPX_INDEX)
    return {"which_table": bool(flags & 0x0200), "ccp_text": max(ccp_text, 0), "fc_clx": fc_clx, "lcb_clx": lcb_clx,
            "fc_stsh": fc_stsh, "lcb_stsh": lcb_stsh, "fc_papx": fc_papx, "lcb_papx": lcb_papx}


def _pieces(table: bytes, fc_clx: int, lcb_clx: int) -> list[tuple[int, int, int, bool]]:
    """(first character, last character + 1, byte offset, compressed) of each piece of the piece table."""
    clx = table[fc_clx: fc_clx + lcb_clx]
    pos = 0
    while pos < len(clx) and clx[pos] == 0x01:  # Prc: property modifiers, skipped
        (size,) = struct.unpack_from("<h", clx, pos + 1)
        pos += 3 + max(size, 0)
    if pos >= len(clx) or clx[pos] != 0x02:
        raise IngestError("extract", "the Word file's piece table is missing or damaged", _HINT)
    (lcb,) = struct.unpack_from("<I", clx, pos + 1)
    plc = clx[pos + 5: pos + 5 + lcb]
    n = (len(plc) - 4) // 12
    cps = struct.unpack_from(f"<{n + 1}I", plc, 0)
    out = []
    for i in range(n):
        (fc,) = struct.unpack_from("<I", plc, 4 * (n + 1) + 8 * i + 2)
        compressed = bool(fc & 0x40000000)
        fc &= 0x3FFFFFFF
        out.append((cps[i], cps[i + 1], fc // 2 if compressed else fc, compressed))
    return out


def _main_pieces(word: bytes, table: bytes, fib: dict) -> Iterator[tuple[bytes, int, bool]]:
    """(bytes, byte offset, compressed) of the pieces' parts that hold the main document, in order."""
    limit = fib["ccp_text"]
    for first, end, offset, compressed in _pieces(table, fib["fc_clx"], fib["lcb_clx"]):
        end = min(end, limit)
        if end > first:
            yield word[offset: offset + (end - first) * (1 if compressed else 2)], offset, compressed


def _decode(raw: bytes, compressed: bool) -> str:
    """A piece's bytes as characters; damaged bytes become U+FFFD rather than an error."""
    return raw.decode("cp1252" if compressed else "utf-16-le", "replace")


def _main_text(word: bytes, table: bytes, fib: dict) -> str:
    """The main document's characters, decoded piece by piece, as plain text."""
    return _plain("".join(_decode(raw, compressed) for raw, _, compressed in _main_pieces(word, table, fib)))


def _styled_lines(word: bytes, table: bytes, fib: dict) -> tuple[list[tuple[str, int]], list[str]]:
    """(text as in the plain text, stripped; level) of the paragraphs in a heading style, and the lines of
    the table of contents (toc 1-9 styles); none when the style sheet or the paragraph properties cannot be
    read, since the text does not depend on them."""
    try:
        styles = _styles(table[fib["fc_stsh"]: fib["fc_stsh"] + fib["lcb_stsh"]])
        levels = _heading_levels(styles)
        if 0 in levels:  # istd 0 is Normal, the style of body text: a sheet that makes it a heading is damaged
            return [], []
        contents = {istd for istd, style in enumerate(styles) if style is not None and style[2]}
        runs = _paragraph_runs(word, table[fib["fc_papx"]: fib["fc_papx"] + fib["lcb_papx"]]) \
            if levels or contents else []
        if not runs:
            return [], []
        starts = [start for start, _, _ in runs]
        headings: list[tuple[str, int]] = []
        toc: list[str] = []
        for text, mark in _paragraphs(word, table, fib):
            i = bisect_right(starts, mark) - 1
            istd = runs[i][2] if i >= 0 and mark < runs[i][1] else None
            if istd in contents or istd in levels:
                line = _plain(text).strip()
                if line and istd in contents:
                    toc.append(line)
                elif line:
                    headings.append((line, levels[istd]))
        return headings, toc
    except (struct.error, IndexError, ValueError):
        return [], []


def _lines_of(text: str, headings: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The headings that are lines of the text: a heading-styled table cell is joined into its row, so it
    is not a line the structure stage could open a section at."""
    lines = {line.strip() for line in text.split("\n")}
    return [(line, level) for line, level in headings if line in lines]


def _without_lines(text: str, drop: list[str]) -> str:
    """The text without the lines of a table of contents (each dropped once, in order): they repeat the
    headings with page numbers (一、2023年工作回顾\t1) and opened empty sections."""
    if not drop:
        return text
    lines, out, k = text.split("\n"), [], 0
    for line in lines:
        if k < len(drop) and line.strip() == drop[k]:
            k += 1
            continue
        out.append(line)
    return "\n".join(out)


def _paragraphs(word: bytes, table: bytes, fib: dict) -> Iterator[tuple[str, int]]:
    """(stream characters, byte offset of its end mark) of each paragraph of the main document; the mark's
    offset finds its properties, and a paragraph may run over several pieces."""
    pending: list[str] = []
    for raw, offset, compressed in _main_pieces(word, table, fib):
        width = 1 if compressed else 2
        units = np.frombuffer(raw, dtype=np.uint8 if compressed else "<u2", count=len(raw) // width)
        start = 0
        for i in np.flatnonzero(np.isin(units, _PARAGRAPH_END)).tolist():
            pending.append(_decode(raw[start * width: (i + 1) * width], compressed))
            yield "".join(pending), offset + i * width
            pending, start = [], i + 1
        pending.append(_decode(raw[start * width:], compressed))


def _paragraph_runs(word: bytes, plc: bytes) -> list[tuple[int, int, int]]:
    """(first byte offset, end offset, istd) of the runs of text in the PAPX FKP pages named by the
    PlcBtePapx, sorted; a run without a PAPX has the Normal style (istd 0)."""
    n = (len(plc) - 4) // 8
    pages = dict.fromkeys(struct.unpack_from(f"<{n}I", plc, 4 * (n + 1))) if n > 0 else {}
    runs = []
    for pn in pages:  # each page once: a damaged table may name one page many times
        page = word[pn * _FKP_SIZE: (pn + 1) * _FKP_SIZE]
        crun = page[_FKP_SIZE - 1]
        if not 0 < crun <= _FKP_MAX_RUNS:
            raise ValueError(f"an FKP page of {crun} runs")
        fcs = struct.unpack_from(f"<{crun + 1}I", page, 0)
        for i in range(crun):
            at = 2 * page[4 * (crun + 1) + 13 * i]  # BxPap.bOffset: the PapxInFkp, in 2-byte units
            if at == 0:
                istd = 0
            else:  # PapxInFkp: cb, a second cb when the first is 0, then GrpPrlAndIstd starting with the istd
                (istd,) = struct.unpack_from("<H", page, at + (1 if page[at] else 2))
            runs.append((fcs[i], fcs[i + 1], istd))
    return sorted(runs)


def _styles(stsh: bytes) -> list[tuple[int | None, int, bool] | None]:
    """For each istd of the style sheet ([MS-DOC] 2.9.271 STSH): (heading level it names, istdBase, whether
    it is a table-of-contents style), or None for an empty slot. Built-in Heading 1-9 and toc 1-9 are told by
    their sti (1-9, 19-27), other styles by their names."""
    (cb_stshi,) = struct.unpack_from("<H", stsh, 0)
    cstd, cb_base = struct.unpack_from("<HH", stsh, 2)
    pos = 2 + cb_stshi
    out: list[tuple[int | None, int, bool] | None] = []
    for _ in range(min(cstd, len(stsh) // 2)):
        (cb,) = struct.unpack_from("<H", stsh, pos)
        std = stsh[pos + 2: pos + 2 + cb]
        pos += 2 + cb
        if not cb:
            out.append(None)
            continue
        sti, base = struct.unpack_from("<HH", std, 0)
        sti, base = sti & 0x0FFF, base >> 4
        name = _style_name(std, cb_base)
        contents = 19 <= sti <= 27 or DOCX_CONTENTS_STYLE.fullmatch(name) is not None
        m = DOCX_HEADING_STYLE.fullmatch(name)
        level = sti if 1 <= sti <= 9 else int(m.group(1)) if m else None
        out.append((None if contents else level, base, contents))
    return out


def _style_name(std: bytes, cb_base: int) -> str:
    """A style's name (its Xstz after the STD base; "Name,alias,…"), read as read_docx reads Heading N / 标题 N
    and toc N; "" when it has none."""
    if len(std) < cb_base + 2:
        return ""
    (cch,) = struct.unpack_from("<H", std, cb_base)
    return std[cb_base + 2: cb_base + 2 + 2 * cch].decode("utf-16-le", "replace").split(",")[0].strip()


def _heading_levels(styles: list[tuple[int | None, int] | None]) -> dict[int, int]:
    """istd -> level of the heading styles: a style that names a level, or the nearest style it is based
    on that does (at most _MAX_BASED_ON steps, so a cycle of bases ends)."""
    out = {}
    for istd in range(len(styles)):
        at = istd
        for _ in range(_MAX_BASED_ON):
            if at == _ISTD_NIL or at >= len(styles) or styles[at] is None:
                break
            level, at, _ = styles[at]
            if level:
                out[istd] = level
                break
    return out


def _plain(text: str) -> str:
    """Stream characters to plain text: field codes out, table cells joined, control characters mapped."""
    text = _drop_field_codes(text)
    lines = []
    for line in text.translate(_CONTROL).split("\n"):
        if "\x07" in line:  # a cell ends with 0x07 and its row with one more: one line per row
            line = "\n".join(" | ".join(c for c in _CELL.split(row) if c) for row in line.split("\x07\x07"))
        lines.append(line)
    return "\n".join(lines)


def _drop_field_codes(text: str) -> str:
    """A field is 0x13 code 0x14 result 0x15 (or 0x13 code 0x15), possibly nested: keep only results."""
    if "\x13" not in text:
        return text
    out, open_fields, last = [], [], 0  # open_fields: "code" or "result" for each field entered
    for m in _FIELD_MARK.finditer(text):
        if "code" not in open_fields:
            out.append(text[last:m.start()])
        mark = m.group()
        if mark == "\x13":
            open_fields.append("code")
        elif mark == "\x14" and open_fields and open_fields[-1] == "code":
            open_fields[-1] = "result"
        elif mark == "\x15" and open_fields:
            open_fields.pop()
        last = m.end()
    if "code" not in open_fields:
        out.append(text[last:])
    return "".join(out)


def _summary(ole) -> dict:
    """Title, author and created date from the SummaryInformation stream; a damaged one loses them, not the
    text."""
    if not ole.exists("\x05SummaryInformation"):
        return {}
    try:
        props = _properties(ole.openstream("\x05SummaryInformation").read(), _SUMMARY_IDS)
    except (OSError, struct.error, ValueError):
        return {}
    codepage = props.get(_CODEPAGE)
    encoding = _CODEPAGES.get(codepage, f"cp{codepage}" if codepage else "gb18030")

    def string(value) -> str | None:
        if isinstance(value, bytes):
            try:
                value = value.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                value = value.decode("gb18030", "replace")
        value = value.strip("\x00 \t\r\n") if isinstance(value, str) else ""
        return value or None

    created = props.get(_CREATED)
    return {"title": string(props.get(_TITLE)), "author": string(props.get(_AUTHOR)),
            "created": created.date().isoformat() if isinstance(created, datetime.datetime) and created.year > 1980
            else None}


_CODEPAGE, _TITLE, _AUTHOR, _CREATED = 1, 2, 4, 12
_SUMMARY_IDS = frozenset({_CODEPAGE, _TITLE, _AUTHOR, _CREATED})
_VT_I2, _VT_LPSTR, _VT_LPWSTR, _VT_FILETIME = 2, 30, 31, 64
_FILETIME_ZERO = datetime.datetime(1601, 1, 1)


def _properties(stream: bytes, wanted: frozenset[int]) -> dict[int, object]:
    """The wanted properties of the first section of a property-set stream ([MS-OLEPS] 2.20-2.21).

    Read here rather than with olefile.get_metadata, which parses every property and, on a damaged file,
    builds a vector of whatever count the bytes claim (fuzzed .doc files made it run for minutes and take
    gigabytes); only the four simple types needed are decoded, every length bounded by the stream."""
    (section,) = struct.unpack_from("<I", stream, 44)
    (count,) = struct.unpack_from("<I", stream, section + 4)
    count = min(count, (len(stream) - section - 8) // 8)
    out: dict[int, object] = {}
    for i in range(count):
        pid, offset = struct.unpack_from("<II", stream, section + 8 + 8 * i)
        if pid not in wanted:
            continue
        at = section + offset
        (vt,) = struct.unpack_from("<H", stream, at)
        if vt == _VT_I2:
            out[pid] = struct.unpack_from("<H", stream, at + 4)[0]  # a code page: unsigned (65001, not -535)
        elif vt == _VT_LPSTR:
            (size,) = struct.unpack_from("<I", stream, at + 4)
            out[pid] = stream[at + 8: at + 8 + size]
        elif vt == _VT_LPWSTR:
            (size,) = struct.unpack_from("<I", stream, at + 4)
            out[pid] = stream[at + 8: at + 8 + 2 * size].decode("utf-16-le", "replace")
        elif vt == _VT_FILETIME:
            (ticks,) = struct.unpack_from("<Q", stream, at + 4)
            out[pid] = _FILETIME_ZERO + datetime.timedelta(microseconds=ticks // 10) if ticks < 10 ** 18 else None
    return out
