"""The leave-one-file-out score of bench/loo_seeds.py with the seed files rendered in other formats.

    .venv/bin/python bench/formats_seeds.py [--formats txt docx pdf html] [--out outputs/formats-seeds]

Real collections arrive as Word files, PDFs and web pages, not as clean text: each seed file is rendered as
  docx  one Word paragraph per line, the article headings (…篇N) in the Heading 1 style;
  pdf   a typeset page (reportlab, the CID font STSong-Light): paragraphs broken into lines by width, the
        first line indented two characters (as Word does it: a position, not spaces), no blank lines, a
        running header and a page number on every page;
  pdf-flush  the same with paragraphs not indented but set apart by space (a web page printed to PDF);
  pdf-columns  the same in two columns (a journal's page);
  html  a web page: <title>, a navigation bar, one <p> per line, related links and a footer;
  html-br  an older page in GB18030: one <div> of <br>-separated lines inside a layout table;
  html-cms  a government site's page: menus, a column of 30 links, the text in the CMS's editor <div> as
        indented <p style> paragraphs, the article headings centred in <strong>, a share bar, a footer;
  html-wrapped  a page pasted from a PDF: each line of 36 characters a <br> line;
  md    Markdown with front matter, the article headings as ## headings;
  txt-gb18030, txt-big5  the text in legacy encodings (Big5 after conversion to traditional characters:
        the 240 characters Big5 lacks become ?, which costs a little);
  txt-wrapped  hard-wrapped at 36 characters, paragraphs a blank line apart;
  txt-indented  hard-wrapped at 36 characters, no blank lines, first lines indented by two ideographic spaces;
  docx-wrapped  a Word file pasted from a PDF: each line of 36 characters a paragraph of its own;
  txt-pdftotext  the pdf rendering turned back into text by poppler's pdftotext (header, page numbers, form
        feeds; skipped without pdftotext);
  doc, rtf, odt  the docx saved by LibreOffice in these formats (skipped without soffice);
  pdf-office  the docx printed to PDF by LibreOffice (its own line breaking, justification and fonts);
  pdf-official  the same with an official document's body style: 16-point, justified, first lines indented;
then the pipeline runs on each rendered file with the labels of its seed excluded (as loo_seeds.py does),
and the shared scorer reads the run with the labels' file names changed to the rendered ones. A format
that scores below txt loses text or structure in ingest. Prints one score line per format.
"""
from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from loo_seeds import SHARED, loo_run, scored

ARTICLE = re.compile(r"^.{0,20}篇\s*\d{1,2}$")


def lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def render_docx(src: Path, out: Path, official: bool = False) -> None:
    import docx

    d = docx.Document()
    if official:  # GB/T 9704's body: 16-point type, justified, first lines indented two characters, no spacing
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Pt

        fmt = d.styles["Normal"].paragraph_format
        d.styles["Normal"].font.size = Pt(16)
        fmt.first_line_indent, fmt.alignment = Pt(32), WD_ALIGN_PARAGRAPH.JUSTIFY
        fmt.space_before = fmt.space_after = Pt(0)
    for ln in lines(src):
        (d.add_heading(ln, level=1) if ARTICLE.match(ln) else d.add_paragraph(ln))
    d.save(out)


def _wrap(text: str, first: float, rest: float, width) -> list[str]:
    """Lines of a paragraph as a typesetter breaks them: as many characters as fit the measure (the first
    line `first` points narrower for its indent)."""
    out, line = [], ""
    for ch in text:
        if line and width(line + ch) > (first if not out else rest):
            out.append(line)
            line = ""
        line += ch
    return out + [line] if line else out


def render_pdf(src: Path, out: Path, indent: bool = True, columns: int = 1) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    size, left, gutter = (11, 72.0, 0.0) if columns == 1 else (9.5, 50.0, 24.0)
    measure = (495.0 - gutter * (columns - 1)) / columns if columns > 1 else 420.0

    def width(s: str) -> float:
        return pdfmetrics.stringWidth(s, "STSong-Light", size)

    body = lines(src)
    first = 2 * size if indent else 0
    placed = []  # (x within the column, space above in points, line)
    for ln in body:
        for k, part in enumerate(_wrap(ln, measure - first, measure, width)):
            placed.append((first if k == 0 else 0, 0 if indent or k else 8, part))
    c = canvas.Canvas(str(out))
    page, column, y = 0, columns, 0.0
    for x, above, ln in placed:
        if page == 0 or y - above < 60:
            column += 1
            y, above = 785.0, 0
            if column >= columns:
                if page:
                    c.showPage()
                page, column = page + 1, 0
                c.setFont("STSong-Light", 9)
                c.drawString(left, 800, body[0][:30])
                c.drawString(290, 40, f"- {page} -")
                c.setFont("STSong-Light", size)
        y -= 1.4 * size + above
        c.drawString(left + column * (measure + gutter) + x, y, ln)
    c.save()


def render_html(src: Path, out: Path) -> None:
    body = lines(src)
    paras = "\n".join(f"<h2>{html.escape(ln)}</h2>" if ARTICLE.match(ln) else f"<p>{html.escape(ln)}</p>"
                      for ln in body)
    out.write_text(f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(body[0])}</title></head>
<body><div class="nav"><a href="/">首页</a> &gt; <a href="/fanwen/">范文</a> &gt; <a href="/fanwen/zl/">治理</a></div>
<div class="content"><article>{paras}</article></div>
<div class="related"><h3>相关推荐</h3><ul><li><a href="/a/1.html">社区工作总结范文</a></li>
<li><a href="/a/2.html">基层党建工作计划</a></li></ul></div>
<div class="footer">Copyright © 2024 范文网 版权所有 京ICP备12345678号</div></body></html>""", encoding="utf-8")


def render_html_br(src: Path, out: Path) -> None:
    """An older page: the article one <div> whose paragraphs are <br> apart, inside a layout table."""
    body = "<br>\n".join(html.escape(ln) for ln in lines(src))
    out.write_text(f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>{html.escape(lines(src)[0])}_范文网</title></head><body><table width="960"><tr><td class="left">
<a href="/">首页</a> | <a href="/fanwen/">范文</a></td><td><div id="content">{body}</div></td></tr></table>
<p>Copyright 2024 范文网 All Rights Reserved</p></body></html>""", encoding="gb18030")


def render_html_cms(src: Path, out: Path) -> None:
    """A government site's article page: a header and a column of links, the text in the CMS's editor <div>
    with indented <p style> paragraphs, headings as <p><strong>, a share bar and a long footer."""
    body = lines(src)
    paras = "\n".join(f'<p style="text-align:center"><strong>{html.escape(ln)}</strong></p>' if ARTICLE.match(ln)
                      else f'<p style="text-indent:2em">{html.escape(ln)}</p>' for ln in body)
    links = "".join(f'<li><a href="/xxgk/{k}.html">政务公开栏目{k}</a></li>' for k in range(30))
    out.write_text(f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(body[0])}-某市人民政府</title>
</head><body><div class="header"><img src="/logo.png" alt="某市人民政府"><ul class="menu"><li>首页</li><li>政务公开</li>
<li>政务服务</li><li>互动交流</li></ul></div><div class="main"><div class="sidebar"><ul>{links}</ul></div>
<div class="article"><h1 class="title">{html.escape(body[0])}</h1><div class="info">发布时间：2024-04-29 来源：市民政局
浏览次数：1234 字号：[大 中 小]</div><div class="TRS_Editor">{paras}</div>
<div class="share">分享到：微信 微博 【打印本页】【关闭窗口】</div></div></div><div class="footer">主办单位：某市人民政府办公室
承办单位：某市大数据中心 网站标识码：1234000001 京ICP备12345678号 京公网安备11010502000001号</div></body></html>""",
                   encoding="utf-8")


def render_html_wrapped(src: Path, out: Path, width: int = 36) -> None:
    """A page pasted from a PDF: every layout line of 36 characters a <br> line of one <div>."""
    rows = [ln[i:i + width] for ln in lines(src) for i in range(0, len(ln), width)]
    body = "<br>\n".join(html.escape(r) for r in rows)
    out.write_text(f"<html><head><meta charset='utf-8'><title>{html.escape(lines(src)[0])}</title></head>"
                   f"<body><div class='content'>{body}</div></body></html>", encoding="utf-8")


def render_txt_encoded(src: Path, out: Path, encoding: str, traditional: bool = False) -> None:
    """The text in a legacy encoding (GB18030; Big5 after conversion to traditional characters, as a
    Taiwan or Hong Kong source would have it: a character Big5 lacks becomes ?)."""
    text = src.read_text(encoding="utf-8")
    if traditional:
        import opencc

        text = opencc.OpenCC("s2t").convert(text)
    out.write_bytes(text.encode(encoding, errors="replace"))


def render_txt_wrapped(src: Path, out: Path, width: int = 36) -> None:
    """Plain text hard-wrapped at a fixed width, paragraphs a blank line apart (an e-mail, an export)."""
    paras = [[ln[i:i + width] for i in range(0, len(ln), width)] for ln in lines(src)]
    out.write_text("\n\n".join("\n".join(p) for p in paras) + "\n", encoding="utf-8")


def render_txt_indented(src: Path, out: Path, width: int = 36) -> None:
    """Plain text hard-wrapped at a fixed width, no blank lines, each paragraph's first line indented by two
    ideographic spaces (a text export of a typeset document)."""
    rows = []
    for ln in lines(src):
        ln = "\u3000\u3000" + ln
        rows += [ln[i:i + width] for i in range(0, len(ln), width)]
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")


def render_docx_wrapped(src: Path, out: Path, width: int = 36) -> None:
    """A Word file pasted from a PDF: every layout line its own paragraph."""
    import docx

    d = docx.Document()
    for ln in lines(src):
        for i in range(0, len(ln), width):
            d.add_paragraph(ln[i:i + width])
    d.save(out)


def render_office(src: Path, out: Path, official: bool = False) -> None:
    """The docx rendering saved by LibreOffice as .doc (Word 97-2003), .rtf or .odt (Debian's
    libreoffice-writer-nogui; these formats are skipped where soffice is not installed)."""
    if shutil.which("soffice") is None:
        raise FileNotFoundError("soffice (apt-get install libreoffice-writer-nogui) renders doc, rtf and odt")
    docx_path = out.with_suffix(".tmp.docx")
    render_docx(src, docx_path, official)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["soffice", "--headless", "--convert-to", out.suffix.lstrip("."), "--outdir", tmp,
                        str(docx_path)], check=True, capture_output=True, timeout=300)
        shutil.move(next(Path(tmp).iterdir()), out)
    docx_path.unlink()


def render_txt_pdftotext(src: Path, out: Path) -> None:
    """The typeset PDF (render_pdf) turned back into text by poppler's pdftotext, as many collections are
    built: layout lines, a running header, page numbers and form feeds (skipped without pdftotext)."""
    if shutil.which("pdftotext") is None:
        raise FileNotFoundError("pdftotext (apt-get install poppler-utils) renders txt-pdftotext")
    pdf = out.with_suffix(".tmp.pdf")
    render_pdf(src, pdf)
    subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), str(out)], check=True, capture_output=True, timeout=300)
    pdf.unlink()


def render_md(src: Path, out: Path) -> None:
    """Markdown: the article headings as ## headings, a front-matter block, paragraphs a blank line apart."""
    body = "\n\n".join(f"## {ln}" if ARTICLE.match(ln) else ln for ln in lines(src))
    out.write_text(f"---\ntitle: {lines(src)[0]}\n---\n\n{body}\n", encoding="utf-8")


RENDER = {"docx": render_docx, "pdf": render_pdf, "html": render_html,
          "pdf-flush": lambda src, out: render_pdf(src, out, indent=False),
          "pdf-columns": lambda src, out: render_pdf(src, out, columns=2),
          "html-br": render_html_br, "html-cms": render_html_cms, "html-wrapped": render_html_wrapped, "md": render_md,
          "txt-gb18030": lambda src, out: render_txt_encoded(src, out, "gb18030"),
          "txt-big5": lambda src, out: render_txt_encoded(src, out, "big5hkscs", traditional=True),
          "txt-wrapped": render_txt_wrapped, "txt-indented": render_txt_indented,
          "docx-wrapped": render_docx_wrapped, "doc": render_office, "rtf": render_office, "odt": render_office,
          "pdf-office": render_office, "txt-pdftotext": render_txt_pdftotext, "pdf-official": lambda src, out: render_office(src, out, official=True)}


def score(run: Path, labels: Path, suffix: str, work: Path) -> str:
    """The scorer's last line on the run, the labels' file names given the rendered suffix."""
    renamed = work / f"labels-{suffix}.jsonl"
    with open(labels, encoding="utf-8") as src, open(renamed, "w", encoding="utf-8") as dst:
        for line in src:
            if line.strip():
                unit = json.loads(line)
                unit["doc"] = str(Path(unit["doc"]).with_suffix(f".{suffix}"))
                dst.write(json.dumps(unit, ensure_ascii=False) + "\n")
    return scored(run, renamed)[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=Path, default=SHARED / "corpora" / "seeds")
    ap.add_argument("--labels", type=Path, default=SHARED / "eval" / "dev_labels.jsonl")
    ap.add_argument("--formats", nargs="+", default=["txt", *RENDER], choices=["txt", *RENDER])
    ap.add_argument("--out", type=Path, default=Path("outputs/formats-seeds"))
    args = ap.parse_args()
    seeds = sorted(args.seeds.glob("*.txt"))
    if not seeds:
        sys.exit(f"no seed files (*.txt) in {args.seeds}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for fmt in args.formats:
            folder = work / fmt
            folder.mkdir()
            rendered = []
            try:
                for seed in seeds:
                    target = folder / f"{seed.stem}.{fmt.split('-')[0]}"
                    (target.write_bytes(seed.read_bytes()) if fmt == "txt" else RENDER[fmt](seed, target))
                    rendered.append(target)
            except FileNotFoundError as exc:
                print(f"{fmt:11s} skipped: {exc}", flush=True)
                continue
            run = loo_run(rendered, args.out / fmt, work / f"runs-{fmt}", label_docs=[s.name for s in seeds])
            print(f"{fmt:11s} {score(run, args.labels, fmt.split('-')[0], work)}", flush=True)


if __name__ == "__main__":
    main()
