"""Ingest of every supported format and of bad input (each bad file -> one clear error row, no raise)."""
from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path

import pytest

from pipeline import ingest
from pipeline.config import PROJECT_ROOT, load_config
from pipeline.ingest import formats
from pipeline.ingest.formats import find_columns
from pipeline.ingest.normalize import normalize
from pipeline.structure import split

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPORA = SHARED / "corpora"
needs_shared = pytest.mark.skipif(not CORPORA.exists(), reason="../shared corpora absent")
SAMPLE = Path(__file__).resolve().parents[1] / "corpora" / "sample"

CFG = load_config()
BODY = ("过去一年，我们坚持党建引领基层治理，建立网格党支部1100个，召开居民议事会362次，"
        "社区工作者队伍年龄结构偏大、专业能力不足的问题依然存在。")


def read(path: Path, root: Path | None = None, cfg=CFG, chrome=frozenset()) -> ingest.FileResult:
    return ingest.read_file(path, root or path.parent, cfg, chrome)


def only_error(result: ingest.FileResult) -> dict:
    assert not result.articles, result.articles
    assert len(result.errors) == 1, result.errors
    err = result.errors[0]
    assert set(err) == {"source_path", "stage", "error", "hint"} and err["hint"]
    return err


def city_report(name: str = "北京") -> str:
    """A real city work report: the shared corpus's, else the bundled sample's of that name, else 北京's."""
    for p in (CORPORA / "city-reports-2024" / f"{name}.txt", SAMPLE / "city-reports-2024" / f"{name}.txt"):
        if p.exists():
            return p.read_text(encoding="utf-8")
    return (SAMPLE / "city-reports-2024" / "北京.txt").read_text(encoding="utf-8")


def traditional_1954() -> str:
    p = CORPORA / "national-reports" / "government_work_reports.jsonl"
    if p.exists():
        with p.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                if rec["title"].startswith("1954"):
                    return rec["content"][:3000]
    return "各位代表：\n\n我們第一届全國人民代表大會第一次會議，在聽了劉少奇同志關於憲法草案的報告並進行了三天的討論以後。"


# ------------------------------------------------------------------------------------ text encodings

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_chinese_encodings_are_detected(tmp_path, encoding):
    text = city_report("三亚")[:6000]
    p = tmp_path / "report.txt"
    p.write_bytes(text.encode(encoding))
    res = read(p)
    assert not res.errors
    (art,) = res.articles
    assert art["text"][:200] == normalize(text)[: len(art["text"][:200])] or normalize(text).find(art["text"][:200]) >= 0
    assert "encoding" in art and "replaced" not in art["encoding"]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_bom_less_utf16_of_mostly_chinese_text_is_read(tmp_path, encoding):
    """A few ASCII digits give NULs on one parity only, too few for the ASCII-share test: the decoding,
    nearly all Han and punctuation, tells it from binary data."""
    p = tmp_path / "report.txt"
    p.write_bytes((BODY * 3).encode(encoding))
    (art,) = read(p).articles
    assert art["encoding"] == encoding and BODY[:20] in art["text"]
    q = tmp_path / "noise.txt"
    q.write_bytes(bytes(range(1, 256)) * 8 + b"\x00\x00")
    assert only_error(read(q))["error"].startswith("looks like a binary file")


def test_big5_traditional_becomes_simplified(tmp_path):
    text = traditional_1954()
    p = tmp_path / "1954.txt"
    p.write_bytes(text.encode("big5hkscs", "ignore"))
    (art,) = read(p).articles
    assert art["encoding"].startswith("big5")
    assert "我们第一届全国人民代表大会第一次会议" in art["text"]
    assert art["year"] == 1954


def test_invalid_utf8_bytes_are_replaced_and_reported(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes(city_report()[:3000].encode() + b"\xff\xfe\x80" + BODY.encode())
    (art,) = read(p).articles
    assert art["encoding"] == "utf-8 (3 invalid bytes replaced)"
    assert BODY[:20] in art["text"]


def test_mixed_encodings_in_one_file(tmp_path):
    utf8_part = city_report()[:4000]
    gbk_part = city_report("上海")[:4000]
    p = tmp_path / "mixed.txt"
    p.write_bytes(utf8_part.encode("utf-8") + b"\n" + gbk_part.encode("gbk"))
    (art,) = read(p).articles
    assert art["encoding"].startswith("mixed utf-8 + gb18030")
    assert normalize(utf8_part)[:100] in art["text"] and normalize(gbk_part)[-100:] in art["text"]


def test_one_line_document(tmp_path):
    text = city_report().replace("\n", "")
    p = tmp_path / "北京.txt"
    p.write_text(text, encoding="utf-8")
    (art,) = read(p).articles
    assert "\n" not in art["text"] and len(art["text"]) > 0.95 * len(text)
    assert art["title"] == "北京"


def test_markdown_regulation(tmp_path):
    md = ("---\nbookCollapseSection: true\n---\n# 深圳经济特区绿色建筑条例\n\n2022年3月28日 深圳市第七届人民代表大会"
          "常务委员会第八次会议通过\n\n<!-- INFO END -->\n## 第一章 总 则\n\n第一条 为促进绿色建筑高质量发展，推动绿色"
          "低碳城市建设，打造可持续发展先锋，根据有关法律、行政法规的基本原则，结合深圳经济特区实际，制定本条例。\n")
    folder = tmp_path / "广东地方法规"
    folder.mkdir()
    p = folder / "深圳经济特区绿色建筑条例(2022-03-28).md"
    p.write_text(md, encoding="utf-8")
    (art,) = read(p, tmp_path).articles
    assert art["title"] == "深圳经济特区绿色建筑条例"
    assert art["date"] == "2022-03-28" and art["year"] == 2022
    assert art["text"].startswith("2022年3月28日深圳市") and "\n第一章总则\n" in art["text"]
    assert "#" not in art["text"] and "INFO END" not in art["text"] and "bookCollapse" not in art["text"]
    assert art["source"] == "广东地方法规" and art["region_hint"].endswith("广东地方法规/深圳经济特区绿色建筑条例(2022-03-28)")


def test_markdown_headings_tables_and_rules(tmp_path):
    p = tmp_path / "report.md"
    p.write_text(f"# 社区治理调研\n\n{BODY}\n\n| 指标 | 数量 |\n|---|:---:|\n| 网格党支部 | 1100 |\n\n---\n\n"
                 "## **存在的问题**\n\n### 1 队伍\n\n社区工作者队伍不稳定。\n", encoding="utf-8")
    (art,) = read(p).articles
    assert art["headings"] == {"社区治理调研": 1, "存在的问题": 2, "1 队伍": 3}
    assert "---" not in art["text"] and "| 网格党支部 | 1100 |" in art["text"] and "**" not in art["text"]


# ------------------------------------------------------------------------------------ html

def test_html_main_text_without_chrome(tmp_path):
    html = f"""<html><head><meta charset="gbk"><title>社区治理经验 - 某某范文网</title></head><body>
    <div class="nav"><a href="/">首页</a> &gt; <a>范文</a> &gt; 社区治理经验</div>
    <article><h1>社区治理经验</h1><p>发布时间：2021-09-29 来源：某某日报 作者：张三</p>
    <p>{BODY}</p><p>{BODY.replace('过去一年', '今年以来')}</p>
    <table><tr><td>网格数</td><td>1100</td></tr></table></article>
    <div>相关推荐</div><ul><li>社区治理经验十篇</li><li>基层治理难点</li></ul>
    <footer>Copyright &copy; 2021 某某范文网 版权所有 京ICP备12345678号</footer></body></html>"""
    p = tmp_path / "page.html"
    p.write_bytes(html.encode("gbk"))
    (art,) = read(p).articles
    assert art["format"] == "html" and art["title"] == "社区治理经验"
    assert art["date"] == "2021-09-29" and art["source"] == "某某日报" and art["author"] == "张三"
    assert BODY in art["text"]
    for chrome in ("首页", "相关推荐", "版权所有", "发布时间", "ICP"):
        assert chrome not in art["text"]


def test_a_page_laid_out_in_tables_keeps_its_paragraphs_and_headings(tmp_path):
    """Government sites often lay a whole page out in tables: trafilatura read the article as one table cell
    and wrote it on one line (menu, title, 一、… headings and paragraphs run together). Layout tables are
    now plain blocks; a data table inside the article stays cells."""
    paras = [line for line in city_report("天津").split("\n") if line.strip()][:30]
    menu = "<table><tr><td><a href='/'>首页</a> | <a>政务公开</a> | <a>政府信息公开</a> | <a>互动交流</a></td></tr></table>"
    side = "<td width=200><ul>" + "".join(f"<li><a>关于印发实施方案的通知{i}</a></li>" for i in range(10)) + "</ul></td>"
    body = "".join(f"<p style='text-indent:2em'>{x}</p>" for x in paras[:10])
    body += "<div>" + "<br>　　".join(paras[10:20]) + "</div>"
    body += "<table><tr><td>街道</td><td>网格数</td></tr><tr><td>甲街道</td><td>1100</td></tr></table>"
    body += "".join(f"<p>{x}</p>" for x in paras[20:])
    html = (f"<html><head><meta charset=utf-8><title>2024年政府工作报告_某市人民政府</title></head><body>{menu}"
            f"<table><tr>{side}<td><h1>2024年政府工作报告</h1><div>发布时间：2024-01-20</div>{body}</td></tr></table>"
            "<div>主办：某市人民政府办公室 京ICP备05070251号</div></body></html>")
    p = tmp_path / "report.html"
    p.write_text(html, encoding="utf-8")
    (art,) = read(p).articles
    lines = art["text"].split("\n")
    assert all(x.strip() in lines for x in paras), [x for x in paras if x.strip() not in lines][:2]
    assert "| 街道 | 网格数 |" in lines and "首页" not in art["text"] and "实施方案的通知" not in art["text"]
    sections, _ = split(art["text"], CFG.structure, art["headings"])
    assert "一、2023年工作回顾" in [s["heading"] for s in sections]
    assert art["title"] == "2024年政府工作报告" and art["date"] == "2024-01-20"


def test_html_heading_elements_are_headings(tmp_path):
    html = (f"<html><body><article><h1>社区治理调研</h1><p>{BODY}</p><h2>存在的<b>问题</b></h2>"
            "<p>社区工作者队伍不稳定，待遇偏低，人员流失严重。</p><h2>对策建议</h2><p>健全社区工作者激励机制，提高待遇。</p>"
            "</article></body></html>")
    (tmp_path / "page.html").write_text(html, encoding="utf-8")
    (art,) = read(tmp_path / "page.html").articles
    assert art["headings"] == {"社区治理调研": 1, "存在的问题": 2, "对策建议": 2}
    sections, _ = split(art["text"], CFG.structure, art["headings"])
    assert [(s["level"], s["heading"]) for s in sections[1:]] == [(1, "存在的问题"), (1, "对策建议")]


def test_unclosed_heading_tags_cost_one_pass(tmp_path):
    """50,000 unclosed <h2> (each a search to the end of the page with a lazy regex) and one real heading."""
    p = tmp_path / "broken.html"
    p.write_text(f"<html><body><p>{BODY}</p>" + "<h2>未闭合" * 50_000 + "<h3>存在的问题</h3></body></html>",
                 encoding="utf-8")
    (art,) = read(p).articles
    assert art["headings"] == {"存在的问题": 3}


def test_deeply_nested_and_malformed_html(tmp_path):
    p = tmp_path / "deep.htm"
    p.write_text("<html><body>" + "<div>" * 50000 + BODY + "<p><b><i>未闭合" * 100, encoding="utf-8")
    res = read(p)
    assert not res.errors and BODY in res.articles[0]["text"]


# ------------------------------------------------------------------------------------ docx

def make_docx(path: Path, title: str = "基层治理调研报告") -> None:
    import docx

    d = docx.Document()
    d.core_properties.title = title
    d.add_paragraph("一、基本情况")
    d.add_paragraph(BODY)
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "指标", "数量"
    table.cell(1, 0).text, table.cell(1, 1).text = "网格党支部", "1100个"
    d.add_paragraph("二、存在问题")
    d.save(path)


def test_docx_paragraphs_and_tables_in_order(tmp_path):
    p = tmp_path / "report.docx"
    make_docx(p)
    (art,) = read(p).articles
    assert art["title"] == "基层治理调研报告" and art["format"] == "docx"
    text = art["text"]
    assert text.index("一、基本情况") < text.index(BODY[:20]) < text.index("网格党支部 | 1100个") < text.index("二、存在问题")


W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _xml(fragment: str):
    """A WordprocessingML element from a fragment, the w: namespace declared on its first tag."""
    from docx.oxml import parse_xml

    return parse_xml(fragment if W_NS in fragment else fragment.replace(">", f" {W_NS}>", 1))


@pytest.mark.skipif(not (SHARED / "corpora" / "seeds").exists(), reason="shared corpora not available")
def test_a_word_file_pasted_from_a_pdf_is_joined_and_a_typed_one_is_not(tmp_path):
    """Pasted from a PDF, every layout line of a seed article is a Word paragraph of its own (36 characters):
    its sentences broke at each line. Such a hard-wrapped text is joined as plain text is; a typed Word file,
    whose headings have no end mark (以加强“城中村”党建为核心，将基层党建与基层自治结合起来) and whose paragraphs
    are one each, is left as it is."""
    import docx

    text = (SHARED / "corpora" / "seeds" / "000_db4ec482fa6dddea.txt").read_text(encoding="utf-8")
    paras = [ln.strip() for ln in text.split("\n")[80:200] if ln.strip() and "篇" not in ln][:12]
    pasted, typed = docx.Document(), docx.Document()
    for para in paras:
        typed.add_paragraph(para)
        for k in range(0, len(para), 36):
            pasted.add_paragraph(para[k:k + 36])
    pasted.save(tmp_path / "pasted.docx")
    typed.save(tmp_path / "typed.docx")
    expected = [normalize(para) for para in paras]
    assert read(tmp_path / "typed.docx").articles[0]["text"].split("\n") == expected
    joined = read(tmp_path / "pasted.docx").articles[0]["text"].split("\n")
    assert len(joined) <= len(paras) and "".join(joined) == "".join(expected)


def test_docx_text_as_word_shows_it(tmp_path):
    """Tracked insertions, content controls (block and inline), smart tags and text boxes are the
    document's text; tracked deletions and a text box's VML copy are not (python-docx's Paragraph.text
    drops the first four and never reads the last)."""
    import docx

    mc = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    d = docx.Document()
    p = d.add_paragraph("社区议事会")
    p._p.append(_xml('<w:ins w:id="1" w:author="a"><w:r><w:t>每月召开一次。</w:t></w:r></w:ins>'))
    p._p.append(_xml('<w:del w:id="2" w:author="a"><w:r><w:delText>每季度召开。</w:delText></w:r></w:del>'))
    d.element.body.insert(len(d.element.body) - 1, _xml(
        '<w:sdt><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>填报单位：某街道办事处</w:t></w:r></w:p></w:sdtContent></w:sdt>'))
    q = d.add_paragraph("发布于")
    q._p.append(_xml('<w:smartTag w:uri="u" w:element="date"><w:r><w:t>2023年5月</w:t></w:r></w:smartTag>'))
    q._p.append(_xml('<w:sdt><w:sdtContent><w:r><w:t>，全文如下。</w:t></w:r></w:sdtContent></w:sdt>'))
    box = '<w:txbxContent><w:p><w:r><w:t>中共某市委组织部文件</w:t></w:r></w:p></w:txbxContent>'
    r = d.add_paragraph("正文第一段。")
    r._p.append(_xml(f'<w:r {W_NS} {mc}><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>{box}</w:drawing>'
                     f'</mc:Choice><mc:Fallback><w:pict>{box}</w:pict></mc:Fallback></mc:AlternateContent></w:r>'))
    t = d.add_table(rows=1, cols=2)
    t.cell(0, 0).text = "指标"
    t.cell(0, 1).paragraphs[0]._p.append(_xml('<w:ins w:id="3" w:author="a"><w:r><w:t>1100个</w:t></w:r></w:ins>'))
    path = tmp_path / "tracked.docx"
    d.save(path)
    (unit,) = formats.read_docx(path.read_bytes(), CFG.ingest).units
    assert unit.text.split("\n") == ["社区议事会每月召开一次。", "填报单位：某街道办事处", "发布于2023年5月，全文如下。",
                                     "正文第一段。", "中共某市委组织部文件", "指标 | 1100个"]


def test_docx_table_of_contents_is_left_out(tmp_path):
    """Word's table of contents repeats the headings with page numbers (一、基本情况 3): in a content
    control (Word 2007 on) or as paragraphs in the toc N styles (older Word), it is not the text and opened
    empty sections of its own."""
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    d = docx.Document()
    d.add_paragraph("社区治理调研报告")
    d.element.body.append(_xml(
        '<w:sdt><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/><w:docPartUnique/>'
        '</w:docPartObj></w:sdtPr><w:sdtContent><w:p><w:r><w:t>目录</w:t></w:r></w:p>'
        '<w:p><w:r><w:t>一、基本情况</w:t></w:r><w:r><w:tab/></w:r><w:r><w:t>3</w:t></w:r></w:p>'
        '</w:sdtContent></w:sdt>'))
    toc = d.styles.add_style("toc 1", WD_STYLE_TYPE.PARAGRAPH)
    d.add_paragraph("二、存在问题\t5", style=toc)
    d.add_paragraph("（一）主要做法\t6", style=d.styles.add_style("Contents 2", WD_STYLE_TYPE.PARAGRAPH))  # LibreOffice's name
    d.add_paragraph("一、基本情况", style="Heading 1")
    d.add_paragraph(BODY)
    d.add_paragraph("二、存在问题", style="Heading 1")
    d.add_paragraph("社区工作者队伍年龄结构偏大。")
    d.save(tmp_path / "报告.docx")
    (art,) = read(tmp_path / "报告.docx").articles
    assert art["title"] == "社区治理调研报告"
    assert art["text"].split("\n")[-4:] == ["一、基本情况", BODY, "二、存在问题", "社区工作者队伍年龄结构偏大。"]
    assert "目录" not in art["text"] and art["text"].count("基本情况") == 1 and "主要做法" not in art["text"]
    sections, _ = split(art["text"], CFG.structure, art["headings"])
    assert [s["heading"] for s in sections if s["heading"]] == ["一、基本情况", "二、存在问题"]


def test_docx_template_metadata_is_not_the_documents(tmp_path):
    """python-docx's template says it was created on 2013-12-23 by python-docx: neither is the document's."""
    import datetime

    import docx

    p = tmp_path / "template.docx"
    make_docx(p)
    (art,) = read(p).articles
    assert art["date"] is None and art["year"] is None and art["author"] is None
    d = docx.Document(str(p))
    d.core_properties.created = datetime.datetime(2021, 5, 6, 8, 0)
    d.core_properties.author = "某街道办"
    d.save(p)
    (art,) = read(p).articles
    assert art["date"] == "2021-05-06" and art["year"] == 2021 and art["author"] == "某街道办"


def test_docx_heading_styles_are_headings(tmp_path):
    """Word numbers its Heading N paragraphs itself, so their text has no 一、: the style says they are
    headings (a long one with a comma too), and structure nests them by their level."""
    import docx

    d = docx.Document()
    d.add_paragraph("基层治理调研报告")
    d.add_paragraph(BODY)
    d.add_heading("存在的问题，以及产生问题的原因", level=1)
    d.add_heading("队伍建设", level=2)
    d.add_paragraph("社区工作者队伍不稳定，待遇偏低。")
    d.add_paragraph("（一）待遇偏低")
    d.add_paragraph("工资低于当地平均水平。")
    d.add_heading("对策建议", level=1)
    d.add_paragraph("健全激励机制。")
    d.save(tmp_path / "report.docx")
    (art,) = read(tmp_path / "report.docx").articles
    assert art["headings"] == {"存在的问题，以及产生问题的原因": 1, "队伍建设": 2, "对策建议": 1}
    sections, _ = split(art["text"], CFG.structure, art["headings"])
    assert [(s["level"], s["heading"]) for s in sections[1:]] == [
        (1, "存在的问题，以及产生问题的原因"), (2, "队伍建设"), (3, "（一）待遇偏低"), (1, "对策建议")]


def test_docx_automatic_numbering_is_drawn_into_the_text(tmp_path):
    """Word draws 一、 （一） 1. from its numbering definitions; they are not in the paragraphs' text, and
    without them the outline is lost. A bullet list gets no marker."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    d = docx.Document()
    numbering = d.part.numbering_part.element
    levels = [("chineseCounting", "%1、"), ("chineseCounting", "（%2）"), ("decimal", "%3.")]
    numbering.append(parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90">' + "".join(
            f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="{f}"/><w:lvlText w:val="{t}"/></w:lvl>'
            for i, (f, t) in enumerate(levels)) + "</w:abstractNum>"))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))

    def numbered(text: str, ilvl: int) -> None:
        d.add_paragraph(text)._p.get_or_add_pPr().append(parse_xml(
            f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{ilvl}"/><w:numId w:val="90"/></w:numPr>'))

    d.add_paragraph("基层治理调研报告")
    d.add_paragraph(BODY)
    numbered("存在的问题", 0)
    numbered("队伍不稳定", 1)
    numbered("待遇低", 2)
    numbered("晋升难", 2)
    numbered("参与不足", 1)
    numbered("对策建议", 0)
    d.add_paragraph("网格员", style="List Bullet")
    d.save(tmp_path / "numbered.docx")
    (art,) = read(tmp_path / "numbered.docx").articles
    assert art["text"].split("\n")[1:] == ["一、存在的问题", "（一）队伍不稳定", "1.待遇低", "2.晋升难", "（二）参与不足",
                                           "二、对策建议", "网格员"]
    sections, _ = split(art["text"], CFG.structure, art["headings"])
    assert [s["level"] for s in sections[1:]] == [1, 2, 3, 3, 2, 1]


def test_docx_lists_of_one_definition_share_counters_unless_restarted(tmp_path):
    """Word continues the numbering across the lists (numId) of one abstract definition; "Restart at 1"
    writes a list with a startOverride, and a lvlOverride may redefine a level's format."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    d = docx.Document()
    numbering = d.part.numbering_part.element
    numbering.append(parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="80"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
        '<w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%1、"/></w:lvl></w:abstractNum>'))
    for num_id, override in (("81", ""), ("82", ""),
                             ("83", '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride>'),
                             ("84", '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/><w:lvl w:ilvl="0">'
                                    '<w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/></w:lvl>'
                                    '</w:lvlOverride>')):
        numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="{num_id}"><w:abstractNumId w:val="80"/>'
                                   f'{override}</w:num>'))

    def numbered(text: str, num_id: str) -> None:
        d.add_paragraph(text)._p.get_or_add_pPr().append(parse_xml(
            f'<w:numPr {nsdecls("w")}><w:ilvl w:val="0"/><w:numId w:val="{num_id}"/></w:numPr>'))

    d.add_paragraph("基层治理调研报告")
    numbered("基本情况", "81")
    d.add_paragraph(BODY)
    numbered("存在的问题", "82")
    numbered("对策建议", "82")
    numbered("附件说明", "83")
    numbered("附表目录", "83")
    numbered("数据来源", "84")
    d.save(tmp_path / "lists.docx")
    lines = read(tmp_path / "lists.docx").articles[0]["text"].split("\n")
    assert [line for line in lines if line != BODY] == [
        "一、基本情况", "二、存在的问题", "三、对策建议", "一、附件说明", "二、附表目录", "1.数据来源"]


def test_docx_list_style_numbering_comes_from_the_definition_behind_the_style(tmp_path):
    """Word's list styles: the paragraphs' list names a definition that holds no levels, only the list
    style (numStyleLink); the levels are in the definition behind that style's own numbering."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    d = docx.Document()
    numbering = d.part.numbering_part.element
    numbering.append(parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="60"><w:styleLink w:val="ZhiliList"/>'
        '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%1、"/></w:lvl>'
        '</w:abstractNum>'))
    numbering.append(parse_xml(f'<w:abstractNum {nsdecls("w")} w:abstractNumId="62">'
                               '<w:numStyleLink w:val="ZhiliList"/></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="61"><w:abstractNumId w:val="60"/></w:num>'))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="63"><w:abstractNumId w:val="62"/></w:num>'))
    d.styles.element.append(parse_xml(
        f'<w:style {nsdecls("w")} w:type="numbering" w:styleId="ZhiliList"><w:name w:val="Zhili List"/>'
        '<w:pPr><w:numPr><w:numId w:val="61"/></w:numPr></w:pPr></w:style>'))
    d.add_paragraph("基层治理调研报告")
    d.add_paragraph(BODY)
    for text in ("存在的问题", "对策建议"):
        d.add_paragraph(text)._p.get_or_add_pPr().append(parse_xml(
            f'<w:numPr {nsdecls("w")}><w:ilvl w:val="0"/><w:numId w:val="63"/></w:numPr>'))
    d.save(tmp_path / "liststyle.docx")
    assert read(tmp_path / "liststyle.docx").articles[0]["text"].split("\n")[-2:] == ["一、存在的问题", "二、对策建议"]


def test_docx_styles_based_on_a_heading_or_a_numbered_style(tmp_path):
    """A house style based on Heading 1 is a heading, and a style based on a numbered style is numbered:
    both come through basedOn."""
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    d = docx.Document()
    numbering = d.part.numbering_part.element
    numbering.append(parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="70"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
        '<w:numFmt w:val="chineseCounting"/><w:lvlText w:val="（%1）"/></w:lvl></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="71"><w:abstractNumId w:val="70"/></w:num>'))
    house = d.styles.add_style("公文一级标题", WD_STYLE_TYPE.PARAGRAPH)
    house.base_style = d.styles["Heading 1"]
    listed = d.styles.add_style("编号段落", WD_STYLE_TYPE.PARAGRAPH)
    listed.element.get_or_add_pPr().append(parse_xml(
        f'<w:numPr {nsdecls("w")}><w:ilvl w:val="0"/><w:numId w:val="71"/></w:numPr>'))
    child = d.styles.add_style("编号段落（加粗）", WD_STYLE_TYPE.PARAGRAPH)
    child.base_style = listed
    d.add_paragraph("基层治理调研报告")
    d.add_paragraph(BODY)
    d.add_paragraph("存在的问题", style=house)
    d.add_paragraph("队伍不稳定", style=child)
    d.add_paragraph("参与不足", style=child)
    d.save(tmp_path / "styles.docx")
    (art,) = read(tmp_path / "styles.docx").articles
    assert art["headings"] == {"存在的问题": 1}
    assert art["text"].split("\n")[-2:] == ["（一）队伍不稳定", "（二）参与不足"]


def test_corrupt_docx(tmp_path):
    p = tmp_path / "broken.docx"
    p.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    err = only_error(read(p))
    assert err["stage"] == "read" and "corrupt .docx" in err["error"]


def test_password_protected_docx(tmp_path):
    p = tmp_path / "secret.docx"
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    err = only_error(read(p))
    assert "password" in err["error"] and "remove the password" in err["hint"]


def test_zip_bomb_docx_refused_before_inflating(tmp_path):
    p = tmp_path / "bomb.docx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"\x00" * (50 * 2**20))
    assert p.stat().st_size < 2**20
    err = only_error(read(p))
    assert "zip bomb" in err["error"] and "max_docx_ratio" in err["hint"]


# ------------------------------------------------------------------------------------ pdf

def _canvas(path: Path, **options):
    """A reportlab A4 canvas with a Chinese font registered (STSong-Light, a CID font: no file needed)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return canvas.Canvas(str(path), pagesize=A4, **options)


def _assert_one_column(path: Path) -> None:
    import pdfplumber

    with pdfplumber.open(str(path)) as pdf:
        page = pdf.pages[0]
        assert formats._column_gap(page.chars, float(page.width), CFG.ingest) is None


def _pdf(path: Path, lines: list[str], encrypt: str | None = None, image_only: bool = False,
         title: str = "社区治理调研") -> None:
    c = _canvas(path, encrypt=encrypt)
    c.setTitle(title)
    if image_only:
        c.rect(100, 500, 300, 200, fill=1)
    else:
        c.setFont("STSong-Light", 12)
        y = 780
        for line in lines:
            c.drawString(60, y, line)
            y -= 20
    c.save()


def test_pdf_with_chinese_text(tmp_path):
    p = tmp_path / "report.pdf"
    _pdf(p, ["一、基本情况", BODY[:30], BODY[30:]])
    (art,) = read(p).articles
    assert art["format"] == "pdf" and art["title"] == "社区治理调研"
    assert "一、基本情况" in art["text"] and "网格党支部1100个" in art["text"]


def _paged_pdf(path: Path, pages: list[list[str]], header: str) -> None:
    """A PDF with a running header and a '— N —' footer on every page."""
    c = _canvas(path)
    for number, lines in enumerate(pages, 1):
        c.setFont("STSong-Light", 10)
        c.drawString(200, 810, header)
        c.drawString(280, 30, f"— {number} —")
        c.setFont("STSong-Light", 12)
        for k, line in enumerate(lines):
            c.drawString(60, 780 - 22 * k, line)
        c.showPage()
    c.save()


@pytest.mark.skipif(not (SHARED / "corpora" / "city-reports-2024").exists(), reason="shared corpora not available")
def test_pdf_running_headers_footers_and_page_breaks(tmp_path):
    """A paragraph crossing a page break is one paragraph again; the running header (乌鲁木齐市政府工作报告,
    which structure would otherwise take for a heading) and the page numbers are gone."""
    text = (SHARED / "corpora" / "city-reports-2024" / "乌鲁木齐.txt").read_text(encoding="utf-8")
    paras = [p.replace("·", "") for p in text.split("\n") if len(p) > 120][:4]  # the font has no ·
    lines = [line for p in paras for line in [p[i:i + 30] for i in range(0, len(p), 30)]]
    path = tmp_path / "report.pdf"
    _paged_pdf(path, [lines[:25], lines[25:50], lines[50:]], "乌鲁木齐市政府工作报告")
    (art,) = read(path).articles
    assert art["text"].split("\n") == paras
    assert art["title"] == "乌鲁木齐市政府工作报告"  # page 1 keeps its top line: there it is the title


# a report's parts in full-width characters: a sentence that ends exactly at the first line's end (…治理中。)
# and a numbered heading that fills its line without a sentence end, as 五、推动“法治六进”工作新发展，认真做好…
# 研究制定工作 did in a seed article (the line before 社区治理经验篇7)
TYPESET = [
    "一、基本情况",
    "坚持党建引领，把普法融入社区治理中。居民的法治意识明显增强，矛盾纠纷逐年减少。",
    "社区现有居民三千余户，其中老年人口占四成，外来人口较多，流动性大。",
    "二、主要做法",
    "社区成立了普法工作领导小组，由书记任组长。每月组织一次法治讲座，累计开展讲座四十余场。",
    "三、推动法治进社区工作认真做普法规划",
    "四、存在的问题",
    "部分居民参与普法活动的积极性不高，普法形式较为单一。年轻居民参与较少，经费保障不足。",
    "五、下一步打算",
    "进一步丰富普法形式，推动法治宣传进楼栋、进家庭。",
]


def _typeset_pdf(path: Path, paragraphs: list[str], indent: bool, per_page: int = 40) -> None:
    """Paragraphs set as a typesetter sets them, 12-point full-width characters: 18 on a paragraph's first
    line, indented two characters (a position, as Word's first-line indent; no spaces in the text) and 20
    on the others, or none indented, 18 to a line and paragraphs set apart by half a line of space; a page
    number on every page."""
    first, per_line = 18, 20 if indent else 18
    placed = []
    for para in paragraphs:
        chunks = [para[:first]] + [para[k:k + per_line] for k in range(first, len(para), per_line)]
        placed += [(2 if indent and k == 0 else 0, 0 if indent or k else 8, chunk) for k, chunk in enumerate(chunks)]
    c = _canvas(path)
    y, count = 780.0, 0
    for x, above, chunk in placed:
        if count == per_page:
            c.drawString(290, 30, f"— {c.getPageNumber()} —")
            c.showPage()
            y, count, above = 780.0, 0, 0
        c.setFont("STSong-Light", 12)
        y -= 18 + above
        c.drawString(60 + 12 * x, y, chunk)
        count += 1
    c.drawString(290, 30, f"— {c.getPageNumber()} —")
    c.save()


@pytest.mark.parametrize("indent", [True, False], ids=["indented", "spaced"])
@pytest.mark.parametrize("per_page", [40, 7], ids=["one page", "page breaks"])
def test_pdf_paragraphs_follow_their_layout(tmp_path, indent, per_page):
    """Where a PDF marks its paragraphs (a first-line indent, or space above), a line that ends with 。 at
    the right margin continues its paragraph, and a heading after a full line without a sentence end (三、…
    工作) stays a line of its own: by sentence ends alone, paragraphs broke in the middle and headings were
    glued to the line before (a compilation's 篇7 among them, so its articles were not split)."""
    path = tmp_path / "typeset.pdf"
    _typeset_pdf(path, TYPESET, indent, per_page=per_page)
    (art,) = read(path).articles
    assert art["text"].split("\n") == TYPESET


def _columns_pdf(path: Path, title: str, left: str, right: str, per_line: int = 22) -> None:
    """One A4 page: a centred title, two columns of 10-point text (right one shorter), a centred footer."""
    c = _canvas(path)
    c.setFont("STSong-Light", 16)
    c.drawString(150, 800, title)
    c.setFont("STSong-Light", 10)
    for x, text in ((50, left), (310, right)):
        for k in range(0, len(text), per_line):
            c.drawString(x, 760 - 15 * (k // per_line), text[k:k + per_line])
    c.drawString(285, 30, "— 1 —")
    c.save()


def test_two_column_pdf_is_read_column_by_column(tmp_path):
    """pdfplumber reads a two-column page across both columns, line by line, interleaving them; the
    gutter is found and each column is read on its own, the title and the footer where they stand."""
    left = "社区是基层治理的基本单元。近年来各地推进网格化管理，建立网格党支部一千一百个，居民参与明显增加。" * 3
    right = "但也存在问题：社区行政负担过重，台账考核过多，社区工作者待遇偏低，队伍不稳定。" * 2
    path = tmp_path / "two.pdf"
    _columns_pdf(path, "关于社区治理的调研报告", left, right)
    (art,) = read(path).articles
    assert art["title"] == "关于社区治理的调研报告"
    assert art["text"].split("\n") == [left, right]


def test_two_column_pdf_with_ragged_lines_is_read_column_by_column(tmp_path):
    """A typeset column's line may end a little inside the gutter (a half-width comma after a full line):
    few rows do, so the gutter is found, but such a row counted as running across both columns and was
    read across them, interleaving the two columns' sentences."""
    left = "社区是基层治理的基本单元。近年来各地推进网格化管理，建立网格党支部，居民参与明显增加。" * 4
    right = "但也存在问题：社区行政负担过重，台账考核过多，社区工作者待遇偏低，队伍不稳定。" * 3
    rows = [left[k:k + 22] for k in range(0, len(left), 22)]
    rows = [row + "," if k % 5 == 2 and k < len(rows) - 1 else row for k, row in enumerate(rows)]  # ragged
    path = tmp_path / "ragged.pdf"
    c = _canvas(path)
    c.setFont("STSong-Light", 10)
    for k, row in enumerate(rows):
        c.drawString(50, 760 - 15 * k, row)
    for k in range(0, len(right), 22):
        c.drawString(296, 760 - 15 * (k // 22), right[k:k + 22])
    c.save()
    (art,) = read(path).articles
    assert art["text"].split("\n") == ["".join(rows), right]


def test_pdf_footnotes_go_to_the_end_and_a_paragraph_across_pages_is_whole(tmp_path):
    """An essay's footnote, in smaller type under the last body line of its page, sat between the two halves
    of a paragraph that runs on to the next page: the paragraph broke there and its rest was joined to the
    note. Footnotes now follow the text."""
    para = ("社区是基层治理的基本单元，近年来各地推进网格化管理①，建立网格党支部一千一百个，居民参与明显增加。"
            "但社区行政负担过重，台账考核过多，社区工作者待遇偏低，队伍不稳定。")
    note = "①参见《关于加强基层治理体系和治理能力现代化建设的意见》。"
    path = tmp_path / "essay.pdf"
    c = _canvas(path)
    rows = [para[k:k + 20] for k in range(0, len(para), 20)]
    for page, lines in enumerate((rows[:3], rows[3:])):
        c.setFont("STSong-Light", 12)
        for k, line in enumerate(lines):
            c.drawString(60 + (24 if page == 0 and k == 0 else 0), 780 - 18 * k, line)
        if page == 0:
            c.setFont("STSong-Light", 8)
            c.drawString(60, 90, note)
        c.showPage()
    c.save()
    assert read(path).articles[0]["text"].split("\n") == [para, note]


def test_pdf_autospace_between_chinese_and_digits_is_no_space(tmp_path):
    """Word and LibreOffice set a fifth of an em between Chinese and digits; pdfplumber's fixed 3-point
    tolerance made it a space in 16-point type (2023 年, 2000 张), so years, counts and targets were not seen
    (10 city reports printed to PDF by LibreOffice agreed with their text on 95.6% of sentence types; now
    99.4%). A table's gap between cells stays a space."""
    from reportlab.pdfbase import pdfmetrics

    path = tmp_path / "autospace.pdf"
    c = _canvas(path)
    c.setFont("STSong-Light", 16)
    x = 60.0
    for piece, gap in (("新建养老床位", 3.3), ("2000", 3.3), ("张，", 0), ("2023", 3.3), ("年建成。", 0)):
        c.drawString(x, 780, piece)
        x += pdfmetrics.stringWidth(piece, "STSong-Light", 16) + gap
    c.drawString(60, 750, "网格党支部")
    c.drawString(330, 750, "1100个")
    c.save()
    assert read(path).articles[0]["text"].split("\n")[0] == "新建养老床位2000张，2023年建成。"
    (row,) = formats.read_pdf(path.read_bytes(), CFG.ingest).units
    assert row.text.split("\n")[1] == "网格党支部 1100个"  # extracted with the gap; the article text has no space


def test_one_column_pdf_with_short_and_right_aligned_lines_is_not_split(tmp_path):
    """Short lines (headings, paragraph ends) leave the right half empty on many rows, and a right-aligned
    signature sits right of the middle: neither makes a one-column page two columns."""
    path = tmp_path / "one.pdf"
    c = _canvas(path)
    c.setFont("STSong-Light", 12)
    lines = []
    for k in range(8):
        lines += [f"（{'一二三四五六七八'[k]}）短标题", BODY[:38], BODY[38:52] + "。"]
    for k, line in enumerate(lines):
        c.drawString(60, 800 - 20 * k, line)
    for k, line in enumerate(["某某街道办事处", "2023年5月6日"]):
        c.drawString(420, 800 - 20 * (len(lines) + k), line)
    c.save()
    _assert_one_column(path)
    assert "2023年5月6日" in read(path).articles[0]["text"]


def test_one_column_pdf_with_a_two_column_table_is_not_split(tmp_path):
    """A table of short cells either side of a wide gap (指标 | 数量) leaves a gutter too; read column by
    column its rows would lose their numbers. Its cells are not lines, so the page stays one column; and
    its rows are not lines of a paragraph (they had been joined, two or three to a line)."""
    path = tmp_path / "table.pdf"
    c = _canvas(path)
    c.setFont("STSong-Light", 12)
    c.drawString(60, 800, BODY[:38])
    names = ["网格党支部", "在职党员报到", "居民议事会", "志愿服务队", "社区社会组织", "楼栋长", "调解委员会"]
    for k in range(28):
        c.drawString(60, 770 - 20 * k, names[k % len(names)] + ("（新增）" if k % 3 else ""))
        c.drawString(330, 770 - 20 * k, f"{100 + 7 * k}个")
    c.save()
    _assert_one_column(path)
    rows = read(path).articles[0]["text"].split("\n")
    assert re.fullmatch("网格党支部 ?100个", rows[1]) and len(rows) == 29  # each row a line of its own


def test_titles_in_file_metadata_lose_tool_decoration_and_placeholders(tmp_path):
    p = tmp_path / "a.pdf"
    _pdf(p, ["一、基本情况", BODY], title="Microsoft Word - 关于社区治理的调研报告.docx")
    assert read(p).articles[0]["title"] == "关于社区治理的调研报告"
    q = tmp_path / "街道调研.pdf"
    _pdf(q, ["一、基本情况", BODY], title="untitled")
    assert read(q).articles[0]["title"] == "街道调研"  # the file name, not the placeholder


@pytest.mark.parametrize("raw, title", [
    ("社区治理经验_XX市人民政府门户网站", "社区治理经验"), ("关于加强社区治理的调研报告 - 中国文明网", "关于加强社区治理的调研报告"),
    ("基层治理_新闻频道_中国网", "基层治理"), ("党建引领基层治理｜人民网", "党建引领基层治理"),
    ("2023年工作总结 - 某某街道办事处", "2023年工作总结 - 某某街道办事处"), ("新时代枫桥经验——浙江日报", "新时代枫桥经验——浙江日报"),
    ("文档1", None), ("Microsoft Word - 报告.docx", "报告")])
def test_clean_title(raw, title):
    from pipeline.ingest.metadata import clean_title

    c = load_config().ingest
    assert clean_title(raw, c.title_noise, c.title_placeholders) == title


def _glyph_pdf(path: Path, lines: list[str], coded: int) -> None:
    """A one-page PDF written by hand: each line in STSong-Light (UCS-2 codes pdfminer maps to text), then
    `coded` glyphs in an embedded-style font without a Unicode map (pdfminer gives '(cid:N)' for those)."""
    ucs2 = "".join(f"BT /F1 12 Tf 60 {780 - 20 * k} Td <{line.encode('utf-16-be').hex()}> Tj ET\n"
                   for k, line in enumerate(lines))
    cids = "".join(f"{100 + j:04X}" for j in range(coded))
    content = (ucs2 + (f"BT /F2 12 Tf 60 100 Td <{cids}> Tj ET\n" if coded else "")).encode("ascii")
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> "
            b"/Contents 4 0 R >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts "
            b"[<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) "
            b"/Ordering (GB1) /Supplement 2 >> >>] >>",
            b"<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+SimSun /Encoding /Identity-H /DescendantFonts "
            b"[<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+SimSun /CIDSystemInfo << /Registry (Adobe) "
            b"/Ordering (Identity) /Supplement 0 >> >>] >>"]
    out, offsets = io.BytesIO(b"%PDF-1.4\n"), []
    out.seek(0, 2)
    for i, obj in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    path.write_bytes(out.getvalue())


def test_pdf_glyph_codes_are_refused_or_marked(tmp_path, capfd):
    """Fonts embedded without a Unicode map give '(cid:1234)' instead of characters: mostly such codes is an
    error row saying to OCR it (the run used to index sentences of '(cid:…)'); a few are U+FFFD."""
    lines = [BODY[:30], BODY[30:]]
    _glyph_pdf(tmp_path / "codes.pdf", lines[:1], 200)
    err = only_error(read(tmp_path / "codes.pdf"))
    assert "fonts have no Unicode map" in err["error"] and "ocrmypdf" in err["hint"]
    _glyph_pdf(tmp_path / "few.pdf", lines, 3)
    (art,) = read(tmp_path / "few.pdf").articles
    assert "cid:" not in art["text"] and art["text"].count("\ufffd") == 3 and BODY[:30] in art["text"]
    assert capfd.readouterr().err == ""


def test_image_only_pdf(tmp_path):
    p = tmp_path / "scan.pdf"
    _pdf(p, [], image_only=True)
    err = only_error(read(p))
    assert "no text layer" in err["error"] and "OCR" in err["hint"]


def test_encrypted_pdf(tmp_path):
    p = tmp_path / "locked.pdf"
    _pdf(p, [BODY], encrypt="secret")
    err = only_error(read(p))
    assert "encrypted" in err["error"] and "password" in err["hint"]


def test_gbk_file_and_folder_names_give_titles_and_regions(tmp_path):
    """A Windows zip unpacked on Linux leaves GBK bytes in names: they are read as Chinese for the title and
    the region hint, while source_path keeps its escapes (two names never show as one)."""
    folder = os.path.join(os.fsencode(tmp_path), "杭州市".encode("gbk"))
    os.mkdir(folder)
    path = os.path.join(folder, "社区治理调研报告.txt".encode("gbk"))
    with open(path, "wb") as fh:
        fh.write((BODY * 3).encode("gb18030"))
    (art,) = read(Path(os.fsdecode(path)), tmp_path).articles
    assert art["title"] == "社区治理调研报告" and "杭州市" in art["region_hint"]
    assert art["source_path"].startswith("\\xba\\xbc")
    assert ingest.readable_name("北京".encode("utf-8")) == "北京"
    assert ingest.readable_name(b"caf\xe9") == "caf\\xe9"  # not Chinese in GB18030 either: escaped


# ------------------------------------------------------------------------------------ collections

def test_jsonl_record_with_traditional_characters(tmp_path):
    p = tmp_path / "government_work_reports.jsonl"
    rec = {"title": "1954年中华人民共和国国务院政府工作报告", "url": "https://zh.wikisource.org/wiki/x",
           "content": traditional_1954(), "year": None}
    p.write_text(json.dumps({"title": "空", "url": "u", "content": "", "year": 1955}, ensure_ascii=False) + "\n"
                 + json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    res = read(p)
    (art,) = res.articles
    assert art["article_index"] == 1 and art["title"] == rec["title"] and art["year"] == 1954
    assert art["source"] == rec["url"]
    assert "我们第一届全国人民代表大会" in art["text"] and "會議" not in art["text"]
    assert any("empty 'content'" in e["error"] for e in res.errors)


def test_csv_missing_text_column_names_the_columns(tmp_path):
    p = tmp_path / "docs.csv"
    p.write_text("标题,段落,年份\n报告,内容内容内容,2021\n", encoding="utf-8")
    err = only_error(read(p))
    assert "none of 'content'" in err["error"] and "'段落'" in err["error"] and "'标题'" in err["error"]
    assert "ingest.collections" in err["hint"]


def test_collection_columns_found_by_common_names(tmp_path):
    """正文/标题/发布时间 (a Chinese export) and Text/Title (another tool's casing) need no configuration."""
    p = tmp_path / "docs.csv"
    p.write_text(f"标题,正文,发布时间\n调研报告,{BODY},2023-05-01\n", encoding="utf-8")
    (art,) = read(p).articles
    assert art["title"] == "调研报告" and art["date"] == "2023-05-01" and BODY[:10] in art["text"]
    q = tmp_path / "docs.jsonl"
    q.write_text(json.dumps({"Title": "报告", "Text": BODY, "URL": "https://example.org/a"}, ensure_ascii=False),
                 encoding="utf-8")
    (art,) = read(q).articles
    assert art["title"] == "报告" and art["source"] == "https://example.org/a"


def test_collection_columns_of_default_yaml_are_the_built_in_defaults():
    """A config file without ingest.collections gets the same candidates as configs/default.yaml."""
    from pipeline.config import IngestConfig

    assert load_config().ingest.collections == IngestConfig().collections


def test_find_columns_prefers_earlier_candidates_and_exact_names():
    assert find_columns(["text", "content"], ["content", "text"]) == ["content", "text"]
    assert find_columns(["Content ", "content"], ["content"]) == ["content"]
    assert find_columns(["Content "], ["content"]) == ["Content "]
    assert find_columns(["正文"], ["content", "正文"]) == ["正文"]
    assert find_columns(["x"], ["content"]) == []


def test_each_row_takes_the_first_text_column_it_fills(tmp_path):
    """A collection merged from two exports: one names its text content, the other 正文; no row is lost."""
    p = tmp_path / "merged.jsonl"
    p.write_text(json.dumps({"标题": "甲", "正文": BODY, "地区": "杭州市"}, ensure_ascii=False) + "\n"
                 + json.dumps({"title": "乙", "content": BODY[::-1]}, ensure_ascii=False) + "\n"
                 + json.dumps({"title": "丙", "content": "", "正文": ""}, ensure_ascii=False) + "\n", encoding="utf-8")
    res = read(p)
    assert [(a["title"], a["text"][:5]) for a in res.articles] == [("甲", BODY[:5]), ("乙", BODY[::-1][:5])]
    assert "杭州市" in res.articles[0]["region_hint"]
    (err,) = res.errors
    assert "1 rows have an empty 'content' or '正文' (line 3)" in err["error"]


def test_ragged_csv(tmp_path):
    p = tmp_path / "docs.csv"
    p.write_text(f"title,content,year,date\n短行,{BODY}\n长行,{BODY},2021,2021-09-29,多余\n正常,{BODY},2020,2020-01-02\n",
                 encoding="utf-8")
    res = read(p)
    assert [a["title"] for a in res.articles] == ["短行", "长行", "正常"]
    assert [a["year"] for a in res.articles] == [None, 2021, 2020]
    assert len(res.errors) == 1 and "different number of cells" in res.errors[0]["error"]


def test_json_lists_and_objects_are_read_as_their_text(tmp_path):
    """Scraped records hold their text as a list of paragraphs or an object of parts: paragraphs on their
    own lines, not Python's repr ("['…', '…']") with its brackets and quotes in the sentences."""
    p = tmp_path / "scraped.jsonl"
    p.write_text(json.dumps({"title": ["社区", "调研"], "content": [BODY[:40], "", None, BODY[40:]]}, ensure_ascii=False)
                 + "\n" + json.dumps({"title": "乙", "content": {"lead": BODY[:40], "body": [BODY[40:]]}},
                                     ensure_ascii=False) + "\n" + json.dumps({"title": "丙", "content": []}) + "\n",
                 encoding="utf-8")
    res = read(p)
    assert [(a["title"], a["text"]) for a in res.articles] == [("社区调研", BODY[:40] + "\n" + BODY[40:]),
                                                            ("乙", BODY[:40] + "\n" + BODY[40:])]
    (err,) = res.errors
    assert "empty 'content' (line 3)" in err["error"]


def test_a_json_export_is_a_collection(tmp_path):
    """A .json file (an API's or a scraper's export) was passed over in silence: an array of documents, an
    object holding one ({"code": 0, "data": [...]}), one document, or JSON Lines saved as .json are read."""
    api = tmp_path / "api.json"
    api.write_text(json.dumps({"code": 0, "msg": "ok", "data": [
        {"标题": "调研报告", "正文": BODY, "发布时间": "2023-05-01", "地区": "杭州市"}, {"标题": "空", "正文": ""},
        {"title": "乙", "content": [BODY[:40], BODY[40:]]}, 5]}, ensure_ascii=False), encoding="utf-8")
    res = read(api)
    assert [(a["title"], a["article_index"]) for a in res.articles] == [("调研报告", 0), ("乙", 2)]
    assert res.articles[0]["date"] == "2023-05-01" and "杭州市" in res.articles[0]["region_hint"]
    assert sorted(e["error"].split(" (")[0] for e in res.errors) == ["1 items are not JSON objects",
                                                                     "1 rows have an empty 'content' or '正文'"]
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"result": {"total": 1, "list": [{"title": "丙", "content": BODY}]}}, ensure_ascii=False),
                      encoding="utf-8")
    assert [a["title"] for a in read(nested).articles] == ["丙"]
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"title": "甲", "content": BODY}, ensure_ascii=False), encoding="utf-8")
    assert [a["title"] for a in read(one).articles] == ["甲"]
    lines = tmp_path / "lines.json"
    lines.write_text("\n".join(json.dumps({"title": t, "text": BODY}, ensure_ascii=False) for t in "甲乙"), encoding="utf-8")
    assert [a["title"] for a in read(lines).articles] == ["甲", "乙"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"text": "x"', encoding="utf-8")
    err = only_error(read(bad))
    assert "not valid JSON" in err["error"] and ".jsonl" in err["hint"]
    bad.write_text("[" * 100_000, encoding="utf-8")  # deeper than Python's stack: no 'please report' row
    assert "nested too deeply" in only_error(read(bad))["error"]


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_a_zip_archive_is_read_as_a_folder_of_documents(tmp_path):
    """A .zip (a folder emailed or downloaded) was passed over in silence with every document in it. Its
    documents are read as files of a folder named after it; its member names written in GBK by Windows come
    out as Chinese; other members are passed over, or reported as a corpus folder's would be."""
    body = f"调研\n\n一、基本情况\n\n{BODY}\n".encode("gb18030")
    gbk_name = "成都.txt".encode("gbk")  # 8 bytes, as 'abcd.txt': patched in after writing, no UTF-8 flag
    path = _zip(tmp_path / "调研材料.zip", {"北京.txt": body, "二季度/天津.md": body, "abcd.txt": body,
                                           "说明.pptx": b"PK", "图片.jpg": b"\xff\xd8", "inner.zip": b"PK",
                                           "空.txt": b"", "__MACOSX/._北京.txt": b"x"})
    path.write_bytes(path.read_bytes().replace(b"abcd.txt", gbk_name))
    res = read(path)
    assert [(a["source_path"], a["title"], a["article_index"]) for a in res.articles] == [
        ("调研材料.zip/北京.txt", "调研", 0), ("调研材料.zip/二季度/天津.md", "调研", 1), ("调研材料.zip/成都.txt", "调研", 2)]
    assert "调研材料" in res.articles[1]["region_hint"] and "二季度" in res.articles[1]["region_hint"]
    assert {e["source_path"]: e["error"] for e in res.errors} == {
        "调研材料.zip/说明.pptx": ".pptx files are not read", "调研材料.zip/inner.zip": ".zip files are not read",
        "调研材料.zip/空.txt": "empty file"}


def test_a_member_that_fails_loses_no_other_member(tmp_path, monkeypatch):
    """An unforeseen failure on one member is that member's row (as a file's is), not the archive's: the
    others are still read."""
    real = ingest.formats.extract

    def extract(path, data, cfg):
        if path.name == "坏.txt":
            raise ValueError("boom")
        return real(path, data, cfg)

    monkeypatch.setattr(ingest.formats, "extract", extract)
    body = f"调研\n\n{BODY}\n".encode()
    res = read(_zip(tmp_path / "材料.zip", {"坏.txt": body, "好.txt": body}))
    assert [a["source_path"] for a in res.articles] == ["材料.zip/好.txt"]
    (err,) = res.errors
    assert err["source_path"] == "材料.zip/坏.txt" and "boom" in err["error"] and "please report" in err["hint"]


def test_a_damaged_or_locked_zip_is_an_error_row(tmp_path):
    bad = tmp_path / "坏.zip"
    bad.write_bytes(b"PK\x03\x04garbage")
    assert "not a readable .zip archive" in only_error(read(bad))["error"]
    locked = _zip(tmp_path / "加密.zip", {"北京.txt": BODY.encode()})
    data = bytearray(locked.read_bytes())
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # set the encryption flag in both headers
        at = data.find(sig)
        flag = at + (6 if sig == b"PK\x03\x04" else 8)
        data[flag] |= 1
    locked.write_bytes(bytes(data))
    err = only_error(read(locked))
    assert err["source_path"] == "加密.zip/北京.txt" and "password" in err["error"]
    empty = _zip(tmp_path / "图.zip", {"a.jpg": b"\xff\xd8"})
    assert "holds no document" in only_error(read(empty))["error"]


def test_a_stray_quote_in_a_csv_loses_no_rows(tmp_path):
    """A quote opened and never closed ran the csv reader over every line after it: three reports became
    one cell of the broken row. Those lines are rows of their own again, and the row is reported by its
    line; a real multi-line cell (a quoted text with line breaks) stays one row."""
    p = tmp_path / "docs.csv"
    p.write_text(f'title,content,year\n甲,{BODY},2021\n"乙,{BODY},2022\n丙,{BODY},2023\n丁,{BODY},2024\n'
                 f'戊,"{BODY[:20]}\n{BODY[20:]}",2025\n', encoding="utf-8")
    res = read(p)
    assert [(a["title"], a["year"]) for a in res.articles] == [("甲", 2021), ("丙", 2023), ("丁", 2024), ("戊", 2025)]
    assert res.articles[-1]["text"].replace("\n", "") == BODY
    (unclosed, empty) = [e["error"] for e in res.errors]
    assert "not closed where the row ends (lines 3)" in unclosed and "empty 'content' (line 3)" in empty


def test_xlsx_collection(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["title", "content", "year", "date"])
    wb.active.append(["调研", BODY, 2023, "2023-05-01"])
    p = tmp_path / "docs.xlsx"
    wb.save(p)
    (art,) = read(p).articles
    assert art["title"] == "调研" and art["date"] == "2023-05-01" and art["year"] == 2023


def test_every_worksheet_of_a_workbook_is_read(tmp_path):
    """A notes sheet first, then one sheet per year with its own header: no sheet is left out."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表收录各街道报送的经验材料。"])
    for year, title in ((2022, "甲街道"), (2023, "乙街道")):
        ws = wb.create_sheet(str(year))
        ws.append(["年份", "标题", "正文"])
        ws.append([year, title, BODY])
    wb["2023"].append([2023, "丙街道", None])
    p = tmp_path / "materials.xlsx"
    wb.save(p)
    res = read(p)
    assert [(a["title"], a["year"]) for a in res.articles] == [("甲街道", 2022), ("乙街道", 2023)]
    (err,) = res.errors  # the notes sheet's one line is its header: no rows; the empty text is found by its place
    assert "1 rows have an empty '正文' (sheet '2023' row 3)" in err["error"]


def test_xls_collection_of_every_sheet(tmp_path):
    """An Excel 97-2003 workbook: each sheet under its own header, date cells as dates, numbers as ints."""
    import datetime

    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for name, title, year, day in (("2022", "甲街道", 2022, datetime.date(2022, 5, 1)),
                                   ("2023", "乙街道", 2023, datetime.date(2023, 6, 30))):
        ws = wb.add_sheet(name)
        for col, head in enumerate(["标题", "年份", "发布日期", "正文"]):
            ws.write(0, col, head)
        ws.write(1, 0, title)
        ws.write(1, 1, year)
        ws.write(1, 2, day, date_style)
        ws.write(1, 3, BODY)
    p = tmp_path / "经验材料.xls"
    wb.save(str(p))
    res = read(p)
    assert [(a["title"], a["year"], a["date"]) for a in res.articles] == [
        ("甲街道", 2022, "2022-05-01"), ("乙街道", 2023, "2023-06-30")]
    assert "网格党支部1100个" in res.articles[0]["text"] and not res.errors


def test_files_named_xls_are_read_as_what_they_are(tmp_path):
    """Exports often carry an .xls name: a renamed .xlsx and a tab-separated text are read; a web page is
    an error row saying what to do."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["title", "content"])
    wb.active.append(["调研", BODY])
    wb.save(tmp_path / "renamed.xls")
    (tmp_path / "export.xls").write_text(f"标题\t正文\n导出\t{BODY}\n", encoding="gb18030")
    (tmp_path / "page.xls").write_text(f"<html><body><table><tr><td>{BODY}</td></tr></table></body></html>",
                                       encoding="utf-8")
    assert [a["title"] for a in read(tmp_path / "renamed.xls").articles] == ["调研"]
    assert [a["title"] for a in read(tmp_path / "export.xls").articles] == ["导出"]
    err = only_error(read(tmp_path / "page.xls"))
    assert "web page" in err["error"] and ".xlsx" in err["hint"]
    (tmp_path / "broken.xls").write_bytes(formats.OLE_MAGIC + b"\0" * 600)
    err = only_error(read(tmp_path / "broken.xls"))
    assert "cannot open the .xls workbook" in err["error"] and "save it as .xlsx" in err["hint"]


def _rtf_escape(text: str) -> str:
    """Text as Word writes it in a Chinese RTF: GBK byte pairs as \\'xx (ASCII as is)."""
    return "".join(c if ord(c) < 128 else "".join(f"\\'{b:02x}" for b in c.encode("gbk")) for c in text)


def test_rtf_in_gbk_with_its_info_group(tmp_path):
    title = "关于加强社区治理的实施方案"
    rtf = ("{\\rtf1\\ansi\\ansicpg936\\deff0{\\fonttbl{\\f0\\fnil\\fcharset134 " + _rtf_escape("宋体") + ";}}"
           "{\\info{\\title " + _rtf_escape(title) + "}{\\author " + _rtf_escape("某区民政局") + "}"
           "{\\creatim\\yr2024\\mo3\\dy15\\hr9\\min30}}\n"
           "\\viewkind4\\uc1\\pard\\f0\\fs32 " + _rtf_escape(title) + "\\par\n"
           "\\fs21 " + _rtf_escape("一、工作目标") + "\\par\n" + _rtf_escape(BODY) + "\\par\n"
           "\\u20840?\\u38754?\\u25512?\\u36827?" + _rtf_escape("居民议事会制度。") + "\\par\n}")
    p = tmp_path / "方案.rtf"
    p.write_bytes(rtf.encode("ascii"))
    (art,) = read(p).articles
    assert art["title"] == title and art["author"] == "某区民政局" and art["date"] == "2024-03-15"
    assert "网格党支部1100个" in art["text"] and "全面推进居民议事会制度。" in art["text"]
    sections, _ = split(art["text"], CFG.structure, art["headings"])
    assert "一、工作目标" in [s["heading"] for s in sections]


def test_rtf_info_fields_are_read_from_their_unicode_copy(tmp_path):
    r"""LibreOffice (and Word) write \upr{ANSI copy}{\*\ud{Unicode copy}}: in a cp1252 file the first copy of a
    Chinese title is all '?' (what LibreOffice 7.4 wrote for 天津's report)."""
    title = "2024年天津市政府工作报告"
    ansi = "".join(c if ord(c) < 128 else "\\'3f" for c in title)
    uni = "".join(c if ord(c) < 128 else f"\\u{ord(c)}\\'3f" for c in title)
    rtf = ("{\\rtf1\\ansi\\ansicpg1252\\deff0{\\info{\\upr{\\title " + ansi + "}{\\*\\ud{\\title " + uni + "}}}"
           "{\\creatim\\yr2024\\mo1\\dy21}}\\pard " + "".join(f"\\u{ord(c)}\\'3f" for c in BODY) + "\\par}")
    p = tmp_path / "天津.rtf"
    p.write_bytes(rtf.encode("ascii"))
    (art,) = read(p).articles
    assert art["title"] == title and art["date"] == "2024-01-21" and BODY in art["text"]


def test_a_file_that_is_not_rtf_under_an_rtf_name_is_an_error_row(tmp_path):
    (tmp_path / "假.rtf").write_bytes("不是RTF".encode("gbk") * 10)
    err = only_error(read(tmp_path / "假.rtf"))
    assert "not an RTF file" in err["error"] and ".docx" in err["hint"]


_ODT_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:dc="http://purl.org/dc/elements/1.1/" '
           'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"')


def _odt(path: Path, body: str, meta: str = "") -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", f'<office:document-content {_ODT_NS}><office:body><office:text>{body}'
                                   "</office:text></office:body></office:document-content>")
        if meta:
            zf.writestr("meta.xml", f"<office:document-meta {_ODT_NS}><office:meta>{meta}</office:meta>"
                                    "</office:document-meta>")


def test_odt_headings_lists_and_tables_without_notes_or_deletions(tmp_path):
    _odt(tmp_path / "报告.odt",
         '<text:tracked-changes><text:changed-region text:id="c1"><text:deletion><text:p>删掉的旧句子。</text:p>'
         '</text:deletion></text:changed-region></text:tracked-changes>'
         '<text:table-of-content><text:index-body><text:p>一、基本情况 1</text:p></text:index-body></text:table-of-content>'
         '<text:h text:outline-level="1">一、基本情况</text:h>'
         f'<text:p>{BODY[:20]}<text:change text:change-id="c1"/><text:s text:c="2"/>{BODY[20:]}'
         '<text:note text:note-class="footnote"><text:note-citation>1</text:note-citation><text:note-body>'
         '<text:p>数据来源：区民政局。</text:p></text:note-body></text:note></text:p>'
         '<text:h text:outline-level="2">（一）主要做法</text:h>'
         '<text:list><text:list-item><text:p>建立居民议事会制度。</text:p></text:list-item></text:list>'
         '<table:table><table:table-row><table:table-cell><text:p>街道</text:p></table:table-cell>'
         '<table:table-cell><text:p>议事次数</text:p></table:table-cell></table:table-row></table:table>',
         "<dc:title>社区治理调研报告</dc:title><meta:initial-creator>张三</meta:initial-creator>"
         "<meta:creation-date>2023-11-02T10:00:00</meta:creation-date>")
    (art,) = read(tmp_path / "报告.odt").articles
    text = art["text"]
    assert art["title"] == "社区治理调研报告" and art["author"] == "张三" and art["date"] == "2023-11-02"
    assert "网格党支部1100个" in text and "建立居民议事会制度。" in text and "街道 | 议事次数" in text
    assert "删掉的旧句子" not in text and "数据来源" not in text and "基本情况 1" not in text
    assert text.count("一、基本情况") == 1 and BODY in text  # the spaces of text:s, between Han, normalised away
    sections, _ = split(text, CFG.structure, art["headings"])
    assert [(s["heading"], s["level"]) for s in sections[1:]] == [("一、基本情况", 1), ("（一）主要做法", 2)]


def test_odd_attribute_values_do_not_lose_the_text(tmp_path):
    _odt(tmp_path / "odd.odt", '<text:h text:outline-level="x">一、基本情况</text:h>'
                               f'<text:p>{BODY[:10]}<text:s text:c=""/>{BODY[10:]}</text:p>')
    (art,) = read(tmp_path / "odd.odt").articles
    assert art["text"].startswith("一、基本情况\n") and BODY in art["text"]


@pytest.mark.parametrize("make, error", [
    (lambda p: p.write_bytes(b"not a zip at all" * 10), "not a valid zip"),
    (lambda p: zipfile.ZipFile(p, "w").writestr("mimetype", "x"), "no content.xml"),
    (lambda p: _odt(p, "<text:p>未闭合"), "cannot parse the .odt"),
])
def test_broken_odt_files_are_error_rows(tmp_path, make, error):
    p = tmp_path / "坏.odt"
    make(p)
    err = only_error(read(p))
    assert error in err["error"] and err["hint"]


@needs_shared
@pytest.mark.slow
def test_national_reports_with_default_mapping():
    root = CORPORA / "national-reports"
    arts = []
    for p in sorted(root.glob("*.jsonl")):
        res = read(p, root)
        arts += res.articles
    assert len(arts) == 88
    y1954 = [a for a in arts if a["title"].startswith("1954")]
    assert y1954 and y1954[0]["year"] == 1954 and "全国人民代表大会" in y1954[0]["text"]
    by_title = {a["title"]: a["year"] for a in arts}
    assert by_title["论联合政府 (七大)"] == 1945 and by_title["在中国共产党第九次全国代表大会上的报告"] == 1969
    assert by_title["第十二届全国人民代表大会第三次会议关于政府工作报告的决议"] == 2015
    assert sum(y is None for y in by_title.values()) == 0  # the congresses' reports and resolutions too


def test_a_meeting_a_title_names_as_its_own_gives_its_year():
    from pydantic import ValidationError

    from pipeline.config import MeetingConfig
    from pipeline.ingest.metadata import meeting_year

    meetings = load_config().ingest.meetings
    assert meeting_year("陈独秀在中国共产党第三次全国代表大会上的报告", meetings) == 1923
    assert meeting_year("北京共产主义组织的报告 (一大)", meetings) == 1921
    assert meeting_year("第二届全国人民代表大会第三次会议关于政府工作报告的决议", meetings) == 1962  # no session in 1961
    assert meeting_year("第十四届全国人民代表大会第二次会议关于政府工作报告的决议", meetings) == 2024
    assert meeting_year("第三届全国人民代表大会第二次会议关于政府工作报告的决议", meetings) is None  # it met once
    for mention in ["学习贯彻党的二十大精神的实施方案", "关于传达第十四届全国人民代表大会第二次会议精神的通知", "", None]:
        assert meeting_year(mention, meetings) is None
    with pytest.raises(ValidationError, match=r"\(\?P<n>"):
        MeetingConfig(pattern="第([一二三]+)次全国代表大会", years={1: 1921})


# ------------------------------------------------------------------------------------ bad input

def _xls_bytes() -> bytes:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("2022")
    for col, value in enumerate(["标题", "年份", "正文"]):
        ws.write(0, col, value)
    for col, value in enumerate(["甲街道", 2022, BODY]):
        ws.write(1, col, value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _sample_bytes(ext: str, tmp: Path) -> bytes:
    """A small valid file of each format read through a parser of its own."""
    if ext == ".docx":
        make_docx(tmp / "a.docx")
    elif ext == ".odt":
        _odt(tmp / "a.odt", f'<text:h text:outline-level="1">一、基本情况</text:h><text:p>{BODY}</text:p>'
                            "<text:list><text:list-item><text:p>建立居民议事会制度。</text:p></text:list-item></text:list>",
             "<dc:title>社区治理</dc:title><meta:creation-date>2023-11-02T10:00:00</meta:creation-date>")
    elif ext == ".pdf":
        _pdf(tmp / "a.pdf", [BODY[:30], BODY[30:60]])
    elif ext == ".xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        wb.active.append(["title", "content"])
        wb.active.append(["调研", BODY])
        wb.save(tmp / "a.xlsx")
    elif ext == ".xls":
        return _xls_bytes()
    elif ext == ".rtf":
        return ("{\\rtf1\\ansi\\ansicpg936{\\fonttbl{\\f0\\fcharset134 " + _rtf_escape("宋体") + ";}}{\\info{\\title "
                + _rtf_escape("方案") + "}{\\creatim\\yr2024\\mo3\\dy15}}\\pard " + _rtf_escape(BODY) + "\\par\\u20840?}"
                ).encode("ascii")
    elif ext == ".html":
        return f"<html><head><title>调研</title></head><body><h1>一、基本情况</h1><p>{BODY}</p></body></html>".encode()
    elif ext == ".csv":
        return f"title,content,year\n调研,{BODY},2023\n".encode("gbk")
    elif ext == ".jsonl":
        return (json.dumps({"title": "调研", "content": BODY, "date": "2023-01-02"}, ensure_ascii=False) + "\n").encode()
    elif ext == ".zip":
        return _zip(tmp / "a.zip", {"a.txt": f"# 调研\n\n{BODY}\n".encode(), "b/c.csv": f"title,content\n调研,{BODY}\n".encode()}
                    ).read_bytes()
    elif ext == ".json":
        return json.dumps({"code": 0, "data": [{"title": "调研", "content": BODY}, {"title": "乙", "content": [BODY]}]},
                          ensure_ascii=False).encode()
    else:
        return f"# 调研\n\n## 一、基本情况\n\n{BODY}\n".encode("gb18030" if ext == ".txt" else "utf-8")
    return (tmp / f"a{ext}").read_bytes()


DAMAGED_FORMATS = (".docx", ".odt", ".pdf", ".xlsx", ".xls", ".rtf", ".html", ".csv", ".jsonl", ".json", ".zip", ".md",
                   ".txt")


@pytest.mark.parametrize("ext", DAMAGED_FORMATS)
def test_damaged_files_of_every_format_never_crash(tmp_path_factory, ext):
    """Truncated or byte-flipped files of each format (.doc has its own, test_worddoc) give their articles or
    one error row of a known kind, never the 'please report' row of an exception nobody foresaw; the
    libraries' warnings about the damage stay off the terminal. Random damage at first found zip files of an
    unknown version (.odt, .xlsx), a PDF whose page tree fails again when it is closed and .xls sheets that
    fail only when they are loaded."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    tmp = tmp_path_factory.mktemp("damaged")
    data = _sample_bytes(ext, tmp)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(cut=st.integers(0, len(data)), flips=st.lists(
        st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), min_size=1, max_size=20))
    def damaged(cut, flips):
        b = bytearray(data[:cut] if cut % 3 == 0 else data)
        for pos, value in flips:
            if pos < len(b):
                b[pos] = value
        path = tmp / f"坏{ext}"
        path.write_bytes(bytes(b) or b"\0")
        result = read(path)
        assert len(result.articles) + len(result.errors) >= 1
        assert not [e for e in result.errors if "please report" in e["hint"]], result.errors
        assert all(len(e["error"]) <= ingest.MAX_ERROR_CHARS for e in result.errors)

    damaged()


@pytest.mark.parametrize("ext", [".docx", ".odt", ".xlsx"])
def test_a_zip_of_an_unknown_version_is_an_error_row(tmp_path, ext):
    data = bytearray(_sample_bytes(ext, tmp_path))
    entry = data.index(b"PK\x01\x02")  # the first central-directory entry: its 'version needed to extract'
    data[entry + 6:entry + 8] = b"\xff\x00"
    p = tmp_path / f"坏{ext}"
    p.write_bytes(bytes(data))
    err = only_error(read(p))
    assert err["stage"] == "read" and f"corrupt {ext}" in err["error"] and "zip file version" in err["error"]


def test_a_pdf_whose_page_tree_is_damaged_is_an_error_row_with_a_short_reason(tmp_path, capfd):
    """pdfplumber walks the page tree again when the file is closed: the second failure used to replace the
    error row's reason with an 'unexpected' one. pdfminer's own warnings about it stay off the terminal."""
    data = _sample_bytes(".pdf", tmp_path)
    p = tmp_path / "坏.pdf"
    p.write_bytes(data.replace(b"/Kids [", b"/Kids \xe9", 1))
    err = only_error(read(p))
    assert "cannot extract text from page 1 of the PDF" in err["error"] and "save/print it again" in err["hint"]
    assert len(err["error"]) <= ingest.MAX_ERROR_CHARS
    assert capfd.readouterr().err == ""


def test_an_xls_whose_sheets_cannot_be_loaded_is_an_error_row(tmp_path, capfd):
    """Sheets are parsed when asked for: cells whose formats (XF records) are gone fail there, not at opening;
    xlrd's warnings on a truncated file are not printed."""
    import struct

    data = _xls_bytes()
    p = tmp_path / "坏.xls"
    p.write_bytes(data.replace(struct.pack("<HH", 0x00E0, 20), struct.pack("<HH", 0x0FFF, 20)))
    err = only_error(read(p))
    assert err["stage"] == "extract" and "cannot read the .xls workbook's sheets" in err["error"]
    assert "save it as .xlsx" in err["hint"]
    p.write_bytes(data[:len(data) - 700])
    read(p)
    assert capfd.readouterr() == ("", "")


def test_empty_and_whitespace_only(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text(" \n\u3000\t\n\n ", encoding="utf-8")
    assert only_error(read(tmp_path / "empty.txt"))["error"] == "empty file"
    assert "empty file" in only_error(read(tmp_path / "blank.txt"))["error"]


def test_binary_with_text_extension(tmp_path):
    p = tmp_path / "image.txt"
    p.write_bytes(bytes(range(256)) * 40)
    assert "binary" in only_error(read(p))["error"]
    q = tmp_path / "controls.txt"
    q.write_bytes(bytes([1, 2, 3, 4, 5, 6, 0x1b, 0x7f]) * 500)
    assert "binary" in only_error(read(q))["error"]


def _wrap_by_width(paragraph: str, width: int = 36) -> list[str]:
    """Lines as pdftotext gives a typeset paragraph: as many characters as fit, a half-width one (digit,
    comma) counting half."""
    lines, line, used = [], "", 0.0
    for ch in paragraph:
        w = 0.5 if ch.isascii() else 1.0
        if used + w > width:
            lines.append(line)
            line, used = "", 0.0
        line, used = line + ch, used + w
    return lines + [line] if line else lines


def test_a_report_from_pdftotext_is_whole_again(tmp_path):
    """pdftotext writes a typeset report as lines broken by width (36 characters, more where digits and
    commas are half-width: no single length holds 30% of them), a running header and a page number on each
    page, pages apart by form feeds. The lines were not seen as hard-wrapped, and its first lines, none of
    which ends with 。, passed for a title block: the paragraphs stayed broken, with the header and the page
    numbers inside them. The report now ingests to its own paragraphs."""
    paras = [line for line in city_report("北京").split("\n") if line.strip()][:40]
    lines = [row for para in paras for row in _wrap_by_width(para)]
    pages = [lines[k:k + 40] for k in range(0, len(lines), 40)]
    text = "\f".join("北京市政府工作报告\n" + "\n".join(page) + f"\n- {n} -\n" for n, page in enumerate(pages, 1))
    p = tmp_path / "北京.txt"
    p.write_text(text, encoding="utf-8")
    (art,) = read(p).articles
    got = art["text"].split("\n")
    assert "北京市政府工作报告" not in art["text"][20:] and not any(re.fullmatch(r"- \d+ -", x) for x in got)
    whole = [x for x in paras if normalize(x) in got]
    assert len(whole) >= 0.9 * len(paras), [x for x in paras if normalize(x) not in got][:3]


def test_a_text_with_a_few_stray_nul_bytes_is_read_without_them(tmp_path):
    """One NUL byte used to make a whole report a 'binary file' error row; random bytes (0.4% NULs) and a
    zip named .txt are still refused."""
    import random

    text = city_report("天津")
    data = text.encode("utf-8")
    p = tmp_path / "天津.txt"
    p.write_bytes(data[:3000] + b"\x00" + data[3000:6000] + b"\x00\x00" + data[6000:])
    (art,) = read(p).articles
    assert "\x00" not in art["text"] and len(art["text"]) > 0.95 * len(text)
    rng = random.Random(0)
    q = tmp_path / "random.txt"
    q.write_bytes(bytes(rng.randrange(256) for _ in range(50_000)))
    assert "binary" in only_error(read(q))["error"]
    z = tmp_path / "archive.txt"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.bin", bytes(rng.randrange(256) for _ in range(50_000)))
    z.write_bytes(buf.getvalue())
    assert "binary" in only_error(read(z))["error"]


def test_oversize_file(tmp_path):
    p = tmp_path / "big.txt"
    p.write_text(BODY * 100, encoding="utf-8")
    cfg = CFG.model_copy(update={"ingest": CFG.ingest.model_copy(update={"max_file_mb": 0.001})})
    err = only_error(read(p, cfg=cfg))
    assert "too large" in err["error"] and "max_file_mb" in err["hint"]


def test_unreadable_and_vanished_files(tmp_path, monkeypatch):
    p = tmp_path / "a.txt"
    p.write_text(BODY, encoding="utf-8")
    paths, _ = ingest.discover(tmp_path, CFG)
    p.unlink()
    assert "not found" in only_error(read(paths[0], tmp_path))["error"]
    p.write_text(BODY, encoding="utf-8")
    real_open = open

    def deny(file, mode="r", *args, **kwargs):
        if str(file) == str(p):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
    err = only_error(read(p))
    assert "permission denied" in err["error"] and "chmod" in err["hint"]


def test_weird_file_names(tmp_path):
    names = [b"with space.txt", b"quote\"'s.txt", b"new\nline.txt", b"latin1-\xe9\xff.txt"]
    for n in names:
        (tmp_path / os.fsdecode(n)).write_text(BODY, encoding="utf-8")
    paths, errors = ingest.discover(tmp_path, CFG)
    assert not errors and len(paths) == 4
    got = set()
    for p in paths:
        (art,) = read(p, tmp_path).articles
        art["source_path"].encode("utf-8")  # a valid str (no lone surrogates)
        got.add(art["source_path"])
    assert got == {"with space.txt", "quote\"'s.txt", "new\nline.txt", "latin1-\\xe9\\xff.txt"}


def test_read_file_never_raises_on_a_folder(tmp_path):
    assert only_error(read(tmp_path, tmp_path))["stage"] == "read"


# ------------------------------------------------------------------------------------ discover

def test_discover_order_filters_and_symlink_loop(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    for rel in ("b/2.txt", "a/1.md", "a/z.txt", "top.html", ".hidden.txt", "a/skip.exe"):
        (tmp_path / rel).write_text(BODY, encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_text(BODY, encoding="utf-8")
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    paths, errors = ingest.discover(tmp_path, CFG)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == ["top.html", "a/1.md", "a/z.txt", "b/2.txt"]
    assert len(errors) == 1 and "loop" in errors[0]["error"] and errors[0]["source_path"] == "a/loop"
    assert ingest.discover(tmp_path / "a" / "1.md", CFG) == ([tmp_path / "a" / "1.md"], [])
    assert ingest.discover(tmp_path / "a" / "skip.exe", CFG)[1][0]["error"].startswith("unsupported")


def test_wikisource_links_on_lines_of_their_own_are_joined_into_their_sentences():
    """The bundled national reports (Wikisource) put every link on a line of its own; ingest joins them
    back (ingest.join_broken_lines), so a sentence is whole and a link is no heading."""
    path = PROJECT_ROOT / "corpora" / "sample" / "national-reports" / "government_work_reports.sample.jsonl"
    articles = {a["title"]: a for a in read(path).articles}
    text = articles["1954年中华人民共和国国务院政府工作报告"]["text"]
    assert "在听了刘少奇同志关于宪法草案的报告并进行了三天的讨论以后" in text
    assert "通过了我们国家的根本法——中华人民共和国宪法，接着" in text
    sections, sentences = split(text, CFG.structure)
    assert "中华人民共和国宪法" not in {s["heading"] for s in sections}
    assert not [s for s in sentences if s["text"] in ("关于宪法草案的报告", "中华人民共和国宪法")]
    cfg = load_config()
    cfg.ingest.join_broken_lines = []
    kept = {a["title"]: a for a in ingest.read_file(path, path.parent, cfg).articles}
    assert "刘少奇同志\n关于宪法草案的报告\n并进行了" in kept["1954年中华人民共和国国务院政府工作报告"]["text"]


@pytest.mark.parametrize("width", [30, 41])
def test_a_hard_wrapped_report_reads_as_its_original(tmp_path, width):
    """天津's work report wrapped at a fixed width (as pdftotext or an old editor writes it) ingests to the
    same text as the report itself: every line break inside a sentence, a heading's title or a paragraph
    is joined again, and none between paragraphs."""
    import textwrap

    src = (PROJECT_ROOT / "corpora" / "sample" / "city-reports-2024" / "天津.txt").read_text(encoding="utf-8")
    wrapped = "\n".join("\n".join(textwrap.wrap(line, width)) for line in src.split("\n"))
    assert wrapped.count("\n") > 3 * src.count("\n")
    (tmp_path / "original.txt").write_text(src, encoding="utf-8")
    (tmp_path / "wrapped.txt").write_text(wrapped, encoding="utf-8")
    (original,) = read(tmp_path / "original.txt").articles
    (rejoined,) = read(tmp_path / "wrapped.txt").articles
    assert rejoined["text"] == original["text"]
