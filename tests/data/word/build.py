"""Rebuild the Word 97-2003 fixtures of tests/test_worddoc.py (by hand: needs LibreOffice, which CI lacks).

    python tests/data/word/build.py      # writes 天津-excerpt.doc and 天津-contents.doc beside this script

The text is real: the first part of corpora/sample/city-reports-2024/天津.txt (its greeting, the 工作回顾
heading in Word's Heading 1 style, its paragraphs, the 存在的问题 paragraph), written to a .docx with
python-docx together with a table of figures quoted from the same report, a hyperlink (a Word field) and
document properties (title, author, and 2024-01-21 as the created date), then converted to the binary .doc
format by `soffice --headless --convert-to doc` (LibreOffice 7.4). 天津-contents.doc has a table of contents:
two paragraphs in the toc 1 style (LibreOffice writes it as Contents 1, sti 19) before the headings they list.
"""
from __future__ import annotations

import datetime
import subprocess
import tempfile
from pathlib import Path

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "corpora" / "sample" / "city-reports-2024" / "天津.txt"


def build_docx(path: Path) -> None:
    lines = [line.strip() for line in SOURCE.read_text(encoding="utf-8").splitlines() if line.strip()]
    problems = next(line for line in lines if line.startswith("在总结成绩的同时"))
    d = docx.Document()
    d.core_properties.title = "2024年天津市政府工作报告"
    d.core_properties.author = "天津市人民政府"
    d.core_properties.created = datetime.datetime(2024, 1, 21)  # not python-docx's template date
    d.add_paragraph(lines[0])
    d.add_paragraph(lines[1])
    d.add_heading(lines[2], level=1)
    for line in lines[3:6]:
        d.add_paragraph(line)
    table = d.add_table(rows=3, cols=2)
    for row, cells in zip(table.rows, [("指标", "2023年"), ("地区生产总值", "增长4.3%"), ("规上工业增加值", "增长3.7%")]):
        for cell, text in zip(row.cells, cells):
            cell.text = text
    link = d.add_paragraph("全文见")
    link._p.append(parse_xml(f'<w:fldSimple {nsdecls("w")} w:instr=" HYPERLINK &quot;https://www.tj.gov.cn/&quot; ">'
                             '<w:r><w:t>天津市人民政府网站</w:t></w:r></w:fldSimple>'))
    link.add_run("。")
    d.add_paragraph(problems)
    d.save(str(path))


def build_contents_docx(path: Path) -> None:
    lines = [line.strip() for line in SOURCE.read_text(encoding="utf-8").splitlines() if line.strip()]
    plans = next(line for line in lines if line.startswith("二、2024年"))
    d = docx.Document()
    d.add_paragraph("2024年天津市政府工作报告")
    toc = d.styles.add_style("toc 1", WD_STYLE_TYPE.PARAGRAPH)
    d.add_paragraph(f"{lines[2]}\t1", style=toc)
    d.add_paragraph(f"{plans}\t5", style=toc)
    d.add_heading(lines[2], level=1)
    d.add_paragraph(lines[3])
    d.add_heading(plans, level=1)
    d.add_paragraph(lines[lines.index(plans) + 1])
    d.save(str(path))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in (("天津-excerpt", build_docx), ("天津-contents", build_contents_docx)):
            src = Path(tmp) / f"{name}.docx"
            build(src)
            subprocess.run(["soffice", "--headless", "--convert-to", "doc", "--outdir", str(HERE), str(src)], check=True)


if __name__ == "__main__":
    main()
