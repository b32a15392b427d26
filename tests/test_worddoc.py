"""Word 97-2003 (.doc) and WPS (.wps) files: pipeline/ingest/worddoc.py.

The fixture tests/data/word/天津-excerpt.doc is real text (the start of the 天津 2024 work report, with a
table, a hyperlink field, document properties and one paragraph in the Heading 1 style) saved as .doc by
LibreOffice (tests/data/word/build.py);
the piece-table details LibreOffice never writes (8-bit pieces, text after the main document, nested
fields) are checked on streams built here byte by byte.
"""
from __future__ import annotations

import io
import shutil
import struct
from pathlib import Path

import olefile
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import pipeline
from pipeline import ingest, tables
from pipeline.config import load_config
from pipeline.ingest import worddoc
from pipeline.structure import split

CFG = load_config()
FIXTURE = Path(__file__).resolve().parent / "data" / "word" / "天津-excerpt.doc"
DATA = FIXTURE.read_bytes()
HEADING = "一、2023年工作回顾"  # the fixture's one paragraph in the Heading 1 style


def stream_at(name: str) -> tuple[int, bytes]:
    """Where a stream of the fixture lies in the file, and its bytes (LibreOffice writes each in one run of
    sectors, so patching the file there patches the stream)."""
    with olefile.OleFileIO(io.BytesIO(DATA)) as ole:
        stream = ole.openstream(name).read()
    at = DATA.index(stream[:512])
    assert DATA[at: at + len(stream)] == stream
    return at, stream


WORD_AT, WORD = stream_at("WordDocument")
TABLE_AT, TABLE = stream_at("1Table")
FIB = worddoc._fib(WORD)
FKP_PAGES = struct.unpack_from("<2I", TABLE, FIB["fc_papx"] + 12)  # its PlcBtePapx: 3 offsets, then 2 page numbers


def patched(at: int, new: bytes) -> bytes:
    return DATA[:at] + new + DATA[at + len(new):]


def read(path: Path) -> ingest.FileResult:
    return ingest.read_file(path, path.parent, CFG)


def only_error(result: ingest.FileResult) -> dict:
    assert not result.articles and len(result.errors) == 1, result
    return result.errors[0]


def test_doc_text_table_fields_and_properties(tmp_path):
    p = tmp_path / "天津.doc"
    p.write_bytes(DATA)
    (art,) = read(p).articles
    assert art["format"] == "doc" and art["title"] == "2024年天津市政府工作报告"
    assert art["author"] == "天津市人民政府" and art["date"] == "2024-01-21" and art["year"] == 2024
    text = art["text"]
    assert text.startswith("各位代表：\n现在，我代表市人民政府向大会报告工作")
    order = ["一、2023年工作回顾", "——经济运行整体向好", "指标 | 2023年\n地区生产总值 | 增长4.3%\n规上工业增加值 | 增长3.7%",
             "全文见天津市人民政府网站。", "在总结成绩的同时，我们也清醒看到存在的问题和不足"]
    assert [text.index(s) for s in order] == sorted(text.index(s) for s in order)
    assert "HYPERLINK" not in text and not any(c in text for c in "\x07\x13\x14\x15\r")
    sections, _ = split(text, CFG.structure)
    assert "一、2023年工作回顾" in [s["heading"] for s in sections]


def test_wps_in_word_format_is_read_like_a_doc(tmp_path):
    p = tmp_path / "通知.wps"
    p.write_bytes(DATA)
    (art,) = read(p).articles
    assert art["format"] == "wps" and "一、2023年工作回顾" in art["text"]


def test_a_doc_that_is_really_a_web_page_or_a_docx_is_read_as_one(tmp_path):
    import docx

    page = tmp_path / "网页另存.doc"
    page.write_text("<html><head><title>社区治理调研报告</title></head><body><h1>社区治理调研报告</h1>"
                    "<p>过去一年，我们坚持党建引领基层治理，建立网格党支部1100个，召开居民议事会362次。</p>"
                    "<p>社区工作者队伍年龄结构偏大、专业能力不足的问题依然存在。</p></body></html>", encoding="utf-8")
    (art,) = read(page).articles
    assert "建立网格党支部1100个" in art["text"] and "<p>" not in art["text"]
    renamed = tmp_path / "改名.doc"
    d = docx.Document()
    d.add_paragraph("一、基本情况")
    d.add_paragraph("过去一年，我们坚持党建引领基层治理，建立网格党支部1100个，召开居民议事会362次。")
    d.save(str(renamed))
    (art,) = read(renamed).articles
    assert art["text"].startswith("一、基本情况\n过去一年")


def test_a_doc_that_is_a_single_file_web_page_is_read(tmp_path):
    """Word's "single file web page" (MHTML): MIME parts, the page in GB2312 and quoted-printable."""
    import quopri

    page = ("<html><head><title>社区治理经验</title></head><body><p>近年来，社区建立了居民议事会制度，"
            "累计解决群众急难愁盼问题362件。</p></body></html>").encode("gb2312")
    mime = (b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"----=_NextPart_01\"\r\n\r\n"
            b"------=_NextPart_01\r\nContent-Location: file:///C:/page.htm\r\nContent-Transfer-Encoding: "
            b"quoted-printable\r\nContent-Type: text/html; charset=\"gb2312\"\r\n\r\n" + quopri.encodestring(page)
            + b"\r\n------=_NextPart_01--\r\n")
    p = tmp_path / "单个网页.doc"
    p.write_bytes(mime)
    (art,) = read(p).articles
    assert "累计解决群众急难愁盼问题362件" in art["text"] and art["title"] == "社区治理经验"


def test_a_doc_that_is_really_rtf_is_read(tmp_path):
    """Sites and older drafting tools export RTF under a .doc name (Word opens it either way)."""
    p = tmp_path / "通知.doc"
    p.write_bytes(b"{\\rtf1\\ansi\\ansicpg936 \\f0 " + "".join(f"\\'{b:02x}" for b in
                  "社区建立了居民议事会制度，累计解决群众急难愁盼问题362件。".encode("gbk")).encode() + b"\\par}")
    (art,) = read(p).articles
    assert art["text"] == "社区建立了居民议事会制度，累计解决群众急难愁盼问题362件。"


def test_a_docx_that_is_really_a_word_binary_is_read(tmp_path):
    p = tmp_path / "旧文件.docx"
    p.write_bytes(DATA)
    (art,) = read(p).articles
    assert "一、2023年工作回顾" in art["text"]


@pytest.mark.parametrize("name, data, error, hint", [
    ("random.doc", bytes(range(256)) * 8, "not a Word or WPS document", "save it as .docx"),
    ("truncated.doc", DATA[:3000], "password-protected or damaged", "remove the password"),
    ("no-text.doc", DATA[:512] + b"\0" * 4096, "password-protected or damaged", "remove the password"),
])
def test_files_that_are_not_readable_word_documents_are_error_rows(tmp_path, name, data, error, hint):
    p = tmp_path / name
    p.write_bytes(data)
    err = only_error(read(p))
    assert err["stage"] in ("read", "extract") and error in err["error"] and hint in err["hint"]


def test_an_encrypted_word_binary_says_password(tmp_path):
    data = bytearray(DATA)
    fib = data.index(struct.pack("<H", 0xA5EC), 512)  # the WordDocument stream's FIB
    struct.pack_into("<H", data, fib + 10, struct.unpack_from("<H", data, fib + 10)[0] | 0x0100)
    p = tmp_path / "加密.doc"
    p.write_bytes(bytes(data))
    err = only_error(read(p))
    assert "password-protected" in err["error"] and "remove the password" in err["hint"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, len(DATA)), flips=st.lists(st.tuples(st.integers(0, len(DATA) - 1), st.integers(0, 255)),
                                                    max_size=30))
def test_damaged_word_files_never_crash(tmp_path, cut, flips):
    """Truncated or corrupted bytes give the article or one error row of a known kind, never an exception
    (nor the 'please report' row of an unexpected one)."""
    data = bytearray(DATA[:cut] if cut % 2 else DATA)
    for pos, value in flips:
        if pos < len(data):
            data[pos] = value
    p = tmp_path / "坏.doc"
    p.write_bytes(bytes(data) or b"\0")
    result = read(p)
    assert len(result.articles) + len(result.errors) >= 1
    assert not any("please report" in e["hint"] for e in result.errors), result.errors
    assert all(1 <= level <= 9 for art in result.articles for level in art["headings"].values())


# ---------------------------------------------------------------- paragraph styles

def test_the_heading_style_paragraph_is_the_only_heading():
    text, meta = worddoc.read_word_binary(DATA)
    assert meta["headings"] == [(HEADING, 1)] and HEADING in text.split("\n")


def test_style_headings_reach_the_structure_stage(tmp_path):
    """Ingest passes them on (as for .docx): the styled line is the heading, and the table rows, short
    lines without clause punctuation, are no longer taken for headings."""
    p = tmp_path / "天津.doc"
    p.write_bytes(DATA)
    (art,) = read(p).articles
    assert art["headings"] == {HEADING: 1}
    sections, _ = split(art["text"], CFG.structure, art["headings"])
    assert [(s["heading"], s["level"]) for s in sections] == [("", 0), (HEADING, 1)]


def test_a_styled_heading_without_a_marker_is_found_by_its_style(tmp_path):
    """回顾：2023年工作 has clause punctuation, so only its Heading 1 style makes it a heading."""
    old = HEADING.encode("utf-16-le")
    p = tmp_path / "天津.doc"
    p.write_bytes(DATA.replace(old, "回顾：2023年工作 ".encode("utf-16-le")))
    (art,) = read(p).articles
    assert art["headings"] == {"回顾：2023年工作": 1}
    assert "回顾：2023年工作" in [s["heading"] for s in split(art["text"], CFG.structure, art["headings"])[0]]
    assert "回顾：2023年工作" not in [s["heading"] for s in split(art["text"], CFG.structure)[0]]


def fib_pair(index: int, fc: int, lcb: int) -> tuple[int, bytes]:
    """The file position of the FIB's index-th (fc, lcb) pair (after its 16- and 32-bit arrays, [MS-DOC]
    2.5.1) and the bytes that set it."""
    (csw,) = struct.unpack_from("<H", WORD, 32)
    (cslw,) = struct.unpack_from("<H", WORD, 34 + 2 * csw)
    pairs = 34 + 2 * csw + 2 + 4 * cslw + 2
    assert struct.unpack_from("<II", WORD, pairs + 8 * 33) == (FIB["fc_clx"], FIB["lcb_clx"])
    return WORD_AT + pairs + 8 * index, struct.pack("<II", fc, lcb)


def heading_papx() -> tuple[int, int]:
    """The file positions of the heading's BxPap (its bOffset) and of its PAPX's istd, in the FKP page."""
    pn = FKP_PAGES[0]  # the first page holds it
    page = WORD[pn * 512: pn * 512 + 512]
    crun = page[511]
    for i in range(crun):
        bx = 4 * (crun + 1) + 13 * i
        at = 2 * page[bx]
        istd = at + (1 if page[at] else 2)  # PapxInFkp: cb, a second cb when the first is 0, then the istd
        if at and struct.unpack_from("<H", page, istd)[0] == 1:
            return WORD_AT + pn * 512 + bx, WORD_AT + pn * 512 + istd
    raise AssertionError("no paragraph in Heading 1")


@pytest.mark.parametrize("damage", [
    "style sheet out of the table", "style sheet header too long", "style sheet cut short", "no FKP pages",
    "FKP page out of the file", "FKP page with too many runs", "PAPX out of its page", "PAPX of a missing style",
])
def test_a_damaged_style_sheet_or_fkp_gives_the_text_without_headings(tmp_path, damage):
    stsh, plc = TABLE_AT + FIB["fc_stsh"], TABLE_AT + FIB["fc_papx"]
    at, new = {
        "style sheet out of the table": fib_pair(1, len(TABLE) + 4096, FIB["lcb_stsh"]),
        "style sheet header too long": (stsh, struct.pack("<H", 0xFFFF)),
        "style sheet cut short": fib_pair(1, FIB["fc_stsh"], 200),
        "no FKP pages": fib_pair(13, FIB["fc_papx"], 0),
        "FKP page out of the file": (plc + 12, struct.pack("<2I", 10 ** 6, 10 ** 6)),
        "FKP page with too many runs": (WORD_AT + FKP_PAGES[0] * 512 + 511, b"\xff"),
        "PAPX out of its page": (heading_papx()[0], b"\xff"),
        "PAPX of a missing style": (heading_papx()[1], b"\xff\xff"),
    }[damage]
    p = tmp_path / "坏样式.doc"
    p.write_bytes(patched(at, new))
    text, meta = worddoc.read_word_binary(p.read_bytes())
    assert text == worddoc.read_word_binary(DATA)[0] and meta["headings"] == []
    (art,) = read(p).articles
    assert art["headings"] == {} and HEADING in art["text"]


@settings(max_examples=120, deadline=None)
@example(flips=[("stsh", 22, 1)])  # the Normal style's sti made Heading 1: every paragraph, table cells too
@given(flips=st.lists(st.tuples(st.sampled_from(["stsh", "fkp"]), st.integers(0, 2 ** 16), st.integers(0, 255)),
                      min_size=1, max_size=30))
def test_damaged_styles_never_change_the_text(flips):
    """Bytes flipped in the style sheet and the FKP pages (not in the text): the same text, and headings
    of levels 1-9 drawn from its paragraphs, or none."""
    data = bytearray(DATA)
    for where, pos, value in flips:
        if where == "stsh":
            data[TABLE_AT + FIB["fc_stsh"] + pos % FIB["lcb_stsh"]] = value
        else:
            data[WORD_AT + FKP_PAGES[pos % 2] * 512 + pos % 512] = value
    text, meta = worddoc.read_word_binary(bytes(data))
    assert text == worddoc.read_word_binary(DATA)[0]
    lines = {line.strip() for line in text.split("\n")}
    assert all(line in lines and 1 <= level <= 9 for line, level in meta["headings"])


def test_a_style_sheet_that_makes_body_text_a_heading_is_ignored():
    """istd 0 is Normal: a sheet whose Normal style reads as Heading 1 (its sti byte damaged) would make
    every paragraph a heading, so its styles are dropped and the text keeps no heading."""
    data = bytearray(DATA)
    data[TABLE_AT + FIB["fc_stsh"] + 22] = 1
    styles = worddoc._styles(bytes(data[TABLE_AT + FIB["fc_stsh"]: TABLE_AT + FIB["fc_stsh"] + FIB["lcb_stsh"]]))
    assert styles[0][0] == 1 and 0 in worddoc._heading_levels(styles)
    text, meta = worddoc.read_word_binary(bytes(data))
    assert text == worddoc.read_word_binary(DATA)[0] and meta["headings"] == []


def test_style_levels_follow_the_based_on_chain_and_stop_at_a_cycle():
    """Heading 2 (sti 2); a user style named 标题 3; styles based on them, on each other (a cycle), or on
    a missing style."""
    styles = [(None, 0x0FFF, False), (2, 0, False), (3, 0x0FFF, False), (None, 1, False), (None, 3, False),
              (None, 6, False), (None, 5, False), (None, 40, False), None]
    assert worddoc._heading_levels(styles) == {1: 2, 2: 3, 3: 2, 4: 2}


def stsh(*styles: tuple[int, int, str]) -> bytes:
    """A style sheet of (sti, istdBase, name) styles, each STD a 10-byte base and the name's Xstz; (0, 0, "")
    is an empty slot."""
    out = struct.pack("<HHH", 4, len(styles), 10)
    for sti, base, name in styles:
        std = struct.pack("<HH6x", sti, base << 4 | 1) + struct.pack("<H", len(name)) + \
            name.encode("utf-16-le") + b"\0\0" if sti else b""
        out += struct.pack("<H", len(std)) + std
    return out


def test_heading_styles_are_told_by_sti_or_by_name():
    sheet = stsh((0, 0xFFF, "Normal"), (1, 0, "Heading 1"), (0, 0, ""), (0xFFE, 0, "标题 4,H4"),
                 (0xFFE, 0, "heading3"), (0xFFE, 1, "Heading 1 Char"), (0xFFE, 0, "Heading"), (9, 0, "标题 9"))
    levels = worddoc._heading_levels(worddoc._styles(sheet))
    assert levels == {1: 1, 3: 4, 4: 3, 5: 1, 7: 9}


def test_contents_styles_are_told_by_sti_or_by_name():
    sheet = stsh((0, 0, ""), (19, 0, "toc 1"), (0xFFE, 0, "Contents 2"), (0xFFE, 0, "目录 3"),
                 (46, 0, "Contents Heading"), (0xFFE, 0, "Contents"), (1, 0, "Heading 1"))
    styles = worddoc._styles(sheet)
    assert styles[0] is None and [s[2] for s in styles[1:]] == [True, True, True, True, False, False]
    assert worddoc._heading_levels(styles) == {6: 1}


def test_a_table_of_contents_is_left_out(tmp_path):
    """天津-contents.doc (tests/data/word/build.py): two toc 1 paragraphs list the headings with their page
    numbers; they are not text and opened empty sections. The headings themselves stay."""
    p = tmp_path / "天津.doc"
    p.write_bytes((FIXTURE.parent / "天津-contents.doc").read_bytes())
    (art,) = read(p).articles
    assert art["text"].count("一、2023年工作回顾") == 1 and "\t1" not in art["text"] and "\t5" not in art["text"]
    sections, _ = split(art["text"], CFG.structure, art["headings"])
    assert [s["heading"] for s in sections if s["heading"]] == ["一、2023年工作回顾", "二、2024年主要目标任务"]


# ---------------------------------------------------------------- the piece table, byte by byte

def word_streams(pieces: list[tuple[str, bool]], main_chars: int | None = None) -> tuple[bytes, bytes]:
    """A WordDocument stream (a Word 97 FIB, then each piece's bytes: UTF-16LE, or cp1252 when compressed)
    and a table stream holding its Clx (a property-modifier entry, then the piece table)."""
    fib = bytearray(154 + 93 * 8)
    struct.pack_into("<HH", fib, 0, 0xA5EC, 0xC1)
    struct.pack_into("<H", fib, 32, 14)   # csw
    struct.pack_into("<H", fib, 62, 22)   # cslw
    struct.pack_into("<H", fib, 152, 93)  # cbRgFcLcb
    body, cps, pcds = bytearray(), [0], bytearray()
    for text, compressed in pieces:
        offset = len(fib) + len(body)
        body += text.encode("cp1252" if compressed else "utf-16-le")
        pcds += struct.pack("<HIH", 0, (offset * 2) | 0x40000000 if compressed else offset, 0)
        cps.append(cps[-1] + len(text))
    struct.pack_into("<i", fib, 64 + 12, cps[-1] if main_chars is None else main_chars)  # ccpText
    plc = struct.pack(f"<{len(cps)}I", *cps) + pcds
    clx = b"\x01" + struct.pack("<h", 2) + b"\x00\x00" + b"\x02" + struct.pack("<I", len(plc)) + plc
    struct.pack_into("<II", fib, 154 + 33 * 8, 0, len(clx))  # fcClx, lcbClx
    return bytes(fib + body), clx


def main_text(pieces, main_chars=None) -> str:
    word, table = word_streams(pieces, main_chars)
    return worddoc._main_text(word, table, worddoc._fib(word))


def test_compressed_and_unicode_pieces_in_order():
    assert main_text([("Report 2024\r", True), ("一、基本情况\r社区", False), (" OK\r", True)]) == \
        "Report 2024\n一、基本情况\n社区 OK\n"


def test_only_the_main_document_is_read():
    """Footnotes and headers follow the main text in the stream: ccpText ends it."""
    assert main_text([("正文。\r", False), ("脚注内容\r", False)], main_chars=4) == "正文。\n"


@pytest.mark.parametrize("stream, plain", [
    ("见\x13 HYPERLINK \"https://www.gov.cn\" \x14中国政府网\x15。", "见中国政府网。"),
    ("第\x13 PAGE \x15页", "第页"),
    ("\x13 IF \x13 DATE \x142024\x15 > 0 \x14结果\x13 REF a \x14甲\x15\x15末", "结果甲末"),
    ("指标\x07数量\x07\x07网格党支部\x071100个\x07\x07", "指标 | 数量\n网格党支部 | 1100个\n"),
    ("一行\x0b二行\x0c三行\x1e四\x1f五\x01", "一行\n二行\n三行-四五"),
])
def test_stream_characters_to_plain_text(stream, plain):
    assert worddoc._plain(stream) == plain


def test_a_folder_with_doc_and_wps_files_runs_through_the_pipeline(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(FIXTURE, corpus / "天津.doc")
    shutil.copy(FIXTURE, corpus / "天津副本.wps")
    (corpus / "坏.doc").write_bytes(DATA[:2000])
    summary = pipeline.run(corpus, out=tmp_path / "out", jobs=1, cache_dir=str(tmp_path / "cache"))
    docs = tables.load(tmp_path / "out", "documents")
    sentences = tables.load(tmp_path / "out", "sentences")
    errors = tables.load(tmp_path / "out", "errors")
    assert summary.articles == 2 and sorted(docs["format"]) == ["doc", "wps"]
    assert docs["duplicate_of"].notna().sum() == 1  # the .wps is the same text
    assert errors["source_path"].tolist() == ["坏.doc"]
    problems = sentences[sentences["text"].str.contains("产业结构调整任重道远")]
    assert len(problems) == 2 and (problems["type"] == "problem").all()
    assert set(tables.load(tmp_path / "out", "sections")["heading"]) == {"", HEADING}  # the styled one only
