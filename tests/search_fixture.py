"""A small run written from real text (corpora/sample) for the search and web tests.

Sentences are split on 。！？ with exact offsets into documents.text; types and themes come from a
few keyword rules here (the real tagger is not what these tests are about); regions and years are
filled from the file names. One extra article carries hostile markup to test escaping.
"""
from __future__ import annotations

import re
from pathlib import Path

from pipeline import tables

SAMPLE = Path(__file__).resolve().parents[1] / "corpora" / "sample"
HOSTILE = ("关于<script>alert(1)</script>的通知",
           "社区治理存在<script>alert(1)</script>问题。"
           "请点击<a href=\"javascript:alert(2)\">链接</a>，并查看<img src=x onerror=alert(3)>图片。"
           "要加强社区网格管理，推动养老服务进社区。")
TYPE_RULES = [("problem", re.compile("问题|困难|不足|短板|薄弱|矛盾|老龄化|负担|难点")),
              ("experience", re.compile("经验|做法|成效|探索|模式")),
              ("measure", re.compile("要|推进|加强|完善|建立|实施|推动"))]
THEME_RULES = {"aging": re.compile("老龄|养老|老年"),
               "admin_burden": re.compile("负担|形式主义|减负|考核|台账"),
               "grassroots": re.compile("基层|社区|网格|村"),
               "economy": re.compile("经济|产业|企业|投资")}
THEMES = [("aging", "人口老龄化", "Population ageing"), ("admin_burden", "基层负担", "Administrative burden"),
          ("grassroots", "基层治理", "Grassroots governance"), ("economy", "经济发展", "Economic development")]
REGIONS = {"天津": ("12", "天津市", "1201", "天津市", "12", "天津市"),
           "北京": ("11", "北京市", "1101", "北京市", "110105", "朝阳区"),
           "seeds": ("44", "广东省", "4403", "深圳市", "440307", "龙岗区")}
HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)")


def split_articles(text: str) -> list[tuple[str, str]]:
    """Title and body of each article of a seeds compilation (headings like 基层社会治理难点篇3)."""
    parts = re.split(r"\n(\S{2,20}篇\d+)\n", text)
    return [(parts[i], parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]


def structure(doc_id: str, text: str) -> tuple[list[dict], list[dict]]:
    """Sections from 一、/（一） heading lines and sentences split on 。！？ with exact offsets."""
    sections = [{"doc_id": doc_id, "section_id": 0, "parent_id": None, "level": 0, "heading": None,
                 "start": 0, "end": len(text)}]
    sentences: list[dict] = []
    pos, current, top = 0, 0, None
    for para_id, line in enumerate(text.split("\n")):
        line_start = pos
        pos += len(line) + 1
        if not line.strip():
            continue
        heading = bool(HEADING.match(line)) and len(line) < 60
        if heading:
            level = 1 if not line.startswith("（") else 2
            parent = top if level == 2 else None
            current = len(sections)
            sections.append({"doc_id": doc_id, "section_id": current, "parent_id": parent, "level": level,
                             "heading": line.strip(), "start": line_start, "end": len(text)})
            if level == 1:
                top = current
        for m in re.finditer(r"[^。！？]+[。！？]?", line):
            if not m.group().strip():
                continue
            start, end = line_start + m.start(), line_start + m.end()
            sentences.append({"doc_id": doc_id, "sent_id": len(sentences), "section_id": current,
                              "para_id": para_id, "start": start, "end": end, "text": text[start:end],
                              "is_heading": heading})
    return sections, sentences


def annotate(sentence: dict) -> None:
    """Keyword rules standing in for the tagger and theme matcher."""
    text = sentence["text"]
    kind = next((t for t, rx in TYPE_RULES if rx.search(text)), "other")
    sentence.update(type=kind, type_score=0.9 if kind != "other" else 0.5, method="rule",
                    cues=[f"{kind}:rule"] if kind != "other" else [],
                    themes=[t for t, rx in THEME_RULES.items() if rx.search(text)])


def articles() -> list[dict]:
    """Real articles: the seeds compilations split into articles, two city reports, one hostile page."""
    out = []
    for path in sorted((SAMPLE / "seeds").glob("*.txt")):
        for i, (title, body) in enumerate(split_articles(path.read_text(encoding="utf-8"))):
            out.append({"source_path": f"seeds/{path.name}", "article_index": i, "title": title, "text": body,
                        "year": 2016 + i % 9, "source": "seeds", "region": "seeds" if i % 2 == 0 else None})
    for city in ("天津", "北京"):
        body = (SAMPLE / "city-reports-2024" / f"{city}.txt").read_text(encoding="utf-8").strip()
        out.append({"source_path": f"city-reports-2024/{city}.txt", "article_index": 0,
                    "title": f"{city}市2024年政府工作报告", "text": body, "year": 2024,
                    "source": "city-reports-2024", "region": city})
    out.append({"source_path": "hostile/page.html", "article_index": 0, "title": HOSTILE[0], "text": HOSTILE[1],
                "year": 2023, "source": "<b>hostile</b>", "region": "天津"})
    return out


def build_run(out: Path) -> Path:
    """Write the fixture run (all tables of the contract) into `out` and return it."""
    docs, all_sections, all_sentences, sent_themes = [], [], [], []
    for n, a in enumerate(articles()):
        doc_id = f"{n:04d}" + "ab" * 6
        sections, sentences = structure(doc_id, a["text"])
        for s in sentences:
            annotate(s)
            sent_themes += [{"doc_id": doc_id, "sent_id": s["sent_id"], "theme_id": t, "score": 1.0,
                             "method": "pattern", "evidence": ""} for t in s["themes"]]
        region = REGIONS.get(a["region"] or "", (None,) * 6)
        docs.append({"doc_id": doc_id, "source_path": a["source_path"], "article_index": a["article_index"],
                     "title": a["title"], "date": str(a["year"]), "year": a["year"], "source": a["source"],
                     "format": "txt", "text": a["text"], "n_chars": len(a["text"]),
                     "province_code": region[0], "province": region[1], "city_code": region[2],
                     "city": region[3], "region_code": region[4], "region_name": region[5],
                     "regions": [c for c in (region[0], region[2], region[4]) if c],
                     "n_sections": len(sections), "n_sentences": len(sentences)})
        all_sections += sections
        all_sentences += sentences
    themes = [{"theme_id": t, "name_zh": zh, "name_en": en, "kind": "seeded", "description": f"{zh}相关的句子",
               "top_terms": [], "examples": [],
               "n_sentences": sum(t in s["themes"] for s in all_sentences)} for t, zh, en in THEMES]
    writer = tables.RunWriter(out)
    writer.write("documents", tables.to_table("documents", docs))
    writer.write("sections", tables.to_table("sections", all_sections))
    writer.write("sentences", tables.to_table("sentences", all_sentences))
    writer.write("sentence_themes", tables.to_table("sentence_themes", sent_themes))
    writer.write("themes", tables.to_table("themes", themes))
    writer.ensure(*tables.SCHEMAS)
    return writer.commit()


def tiny_run(out: Path, texts: list[str]) -> Path:
    """A run of one article per text (sentences split on 。), for focused index tests."""
    docs, sents = [], []
    for n, text in enumerate(texts):
        doc_id = f"tiny{n:04d}"
        _, sentences = structure(doc_id, text)
        for s in sentences:
            annotate(s)
        sents += sentences
        docs.append({"doc_id": doc_id, "source_path": f"tiny/{n}.txt", "article_index": 0, "title": f"tiny {n}",
                     "text": text, "n_chars": len(text), "n_sentences": len(sentences)})
    writer = tables.RunWriter(out)
    writer.write("documents", tables.to_table("documents", docs))
    writer.write("sentences", tables.to_table("sentences", sents))
    writer.ensure(*tables.SCHEMAS)
    return writer.commit()
