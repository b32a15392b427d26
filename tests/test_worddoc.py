"""Word 97-2003 (.doc) and WPS (.wps) files: pipeline/ingest/worddoc.py.

The fixture tests/data/word/天津-excerpt.doc is real text (the start of the 天津 2024 work report, with a
table, a hyperlink field and document properties) saved as .doc by LibreOffice (tests/data/word/build.py);
the piece-table details LibreOffice never writes (8-bit pieces, text after the main document, nested
fields) are checked on streams built here byte by byte.
"""
from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pipeline
from pipeline import ingest, tables
from pipeline.config import load_config
from pipeline.ingest import worddoc
from pipeline.structure import split

CFG = load_config()
FIXTURE = Path(__file__).resolve().parent / "data" / "word" / "天津-excerpt.doc"
DATA = FIXTURE.read_bytes()


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


def test_a_docx_that_is_really_a_word_binary_is_read(tmp_path):
    p = tmp_path / "旧文件.docx"
    p.write_bytes(DATA)
    (art,) = read(p).articles
    assert "一、2023年工作回顾" in art["text"]


@pytest.mark.parametrize("name, data, error, hint", [
    ("rtf.doc", b"{\\rtf1\\ansi \\f0 \\'bb\\'f9\\'b2\\'e3}", "RTF", "docx"),
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
