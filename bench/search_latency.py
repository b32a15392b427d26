"""Search latency on a run of >= 1 million sentences built from real text.

    .venv/bin/python bench/search_latency.py [--sentences 1000000] [--out /tmp/zhili-bench]

Sentences come from the local regulations and the 2024 city reports in ../shared/corpora, split crudely
on 。！？； and line ends; the real files are one article each, then articles recombined from random
sentences of all files (half of them spliced at a comma from two sentences) are added until the
target is reached. Types and themes come from a few keyword rules, regions from the folder or file
names. Reports corpus and index build time, index size per million sentences and query latency
(median, p95) for single words, phrases, AND queries, filtered queries, filter-only listings and facets.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import tables  # noqa: E402
from pipeline.search.index import build_index  # noqa: E402
from pipeline.search.query import Searcher  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpora"
SPLIT = re.compile(r"[^。！？；\n]+[。！？；]?")
TYPE_RULES = [("problem", re.compile("问题|困难|不足|短板|薄弱|矛盾|违反|不得")),
              ("experience", re.compile("经验|做法|成效|模式|示范")),
              ("measure", re.compile("应当|加强|推进|完善|建立|实施|推动|组织"))]
THEME_RULES = {"aging": "老龄|养老|老年", "safety": "安全生产|消防|应急", "environment": "生态|污染|环境保护|排放",
               "business": "营商环境|企业|市场主体", "grassroots": "基层|社区|网格|村民", "health": "医疗|卫生|健康",
               "education": "教育|学校|学生", "law": "法律责任|处罚|罚款"}
THEME_RX = {k: re.compile(v) for k, v in THEME_RULES.items()}
QUERIES = {
    "single word": ["老龄化", "养老", "安全生产", "营商环境", "生态环境", "食品安全", "消防", "网格", "公共服务",
                    "数字经济", "乡村振兴", "知识产权", "物业", "医疗", "教育", "交通", "污染", "志愿服务",
                    "发展", "管理"],
    "phrase": ['"安全生产责任"', '"营商环境"', '"社区 养老"', '"生态环境保护"', '"人民政府"', '"食品安全"'],
    "AND words": ["社区 养老", "食品 安全 监督", "企业 融资", "污染 处罚", "学校 安全", "乡村 振兴 产业"],
}
FILTERED = [("发展", {"types": ["problem"]}), ("养老", {"regions": ["广东"]}), ("管理", {"years": "2019-2024"}),
            ("企业", {"themes": ["business"], "types": ["measure"]}), ("安全", {"regions": ["上海"], "years": "2020-2023"}),
            ("社区", {"types": ["experience"], "regions": ["浙江"]}), ("污染", {"themes": ["environment"]}),
            ("教育", {"sources": ["city-reports-2024"]})]
FILTER_ONLY = [{"types": ["problem"]}, {"regions": ["北京"], "years": "2020"}, {"themes": ["aging"]},
               {"types": ["experience"], "regions": ["重庆"]}]


def provinces() -> dict[str, tuple[str, str]]:
    """short name -> (code, full name) of provinces and cities (天津 -> 12, 天津市)."""
    out = {}
    divisions = ROOT / "configs" / "admin-divisions"
    for name in ("cities.csv", "provinces.csv"):
        with (divisions / name).open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                short = re.sub(r"(维吾尔|壮族|回族)?自治区$|省$|市$|地区$|盟$", "", row["name"])
                out[short] = (row["code"], row["name"])
    return out


def sentences_of(text: str) -> list[str]:
    text = re.sub(r"^[#>*\-\s]+", "", text, flags=re.M)
    return [m.group().strip() for m in SPLIT.finditer(text) if len(m.group().strip()) >= 6]


def annotate(text: str) -> tuple[str, float, list[str]]:
    kind = next((t for t, rx in TYPE_RULES if rx.search(text)), "other")
    return kind, (0.6 + (hash(text) % 40) / 100), [t for t, rx in THEME_RX.items() if rx.search(text)]


def real_articles() -> list[dict]:
    """Each real file: its sentences, region and year."""
    names = provinces()
    out = []
    for path in sorted((SHARED / "local-regulations").rglob("*.md")):
        province = path.relative_to(SHARED / "local-regulations").parts[0].replace("地方法规", "")
        year = re.search(r"\((\d{4})-", path.name)
        sents = sentences_of(path.read_text(encoding="utf-8", errors="replace"))
        if sents:
            out.append({"title": path.stem, "sents": sents, "region": names.get(province),
                        "year": int(year.group(1)) if year else None, "source": "local-regulations"})
    for path in sorted((SHARED / "city-reports-2024").glob("*.txt")):
        sents = sentences_of(path.read_text(encoding="utf-8", errors="replace"))
        out.append({"title": f"{path.stem}2024年政府工作报告", "sents": sents, "region": names.get(path.stem),
                    "year": 2024, "source": "city-reports-2024"})
    return out


def recombined(pool: list[str], articles: list[dict], rng: random.Random) -> dict:
    """An article of 20-80 random sentences, half of them spliced at a comma from two sentences."""
    sents = []
    for _ in range(rng.randint(20, 80)):
        a, b = rng.choice(pool), rng.choice(pool)
        if rng.random() < 0.5 and "，" in a and "，" in b:
            a = a.split("，", 1)[0] + "，" + b.split("，", 1)[1]
        sents.append(a)
    like = rng.choice(articles)
    return {"title": f"汇编 {like['title']} {rng.randint(1, 999)}", "sents": sents, "region": like["region"],
            "year": like["year"] or rng.randint(2000, 2024), "source": "recombined"}


def rows(article: dict, n: int) -> tuple[dict, list[dict]]:
    doc_id = f"b{n:07d}"
    text = "\n".join(article["sents"])
    sents, pos = [], 0
    for i, s in enumerate(article["sents"]):
        kind, score, themes = annotate(s)
        sents.append({"doc_id": doc_id, "sent_id": i, "section_id": 0, "para_id": i, "start": pos,
                      "end": pos + len(s), "text": s, "is_heading": False, "type": kind, "type_score": score,
                      "themes": themes, "method": "rule"})
        pos += len(s) + 1
    code, name = article["region"] or (None, None)
    doc = {"doc_id": doc_id, "source_path": f"bench/{n}", "article_index": 0, "title": article["title"],
           "year": article["year"], "date": str(article["year"] or ""), "source": article["source"], "text": text,
           "n_chars": len(text), "n_sentences": len(sents),
           "province_code": code[:2] if code else None, "province": name if code and len(code) == 2 else None,
           "city_code": code if code and len(code) == 4 else None, "city": name if code and len(code) == 4 else None,
           "region_code": code, "region_name": name}
    return doc, sents


def make_run(out: Path, target: int, seed: int = 0) -> tuple[int, float]:
    """Write the bench run (part files) and return (sentences, seconds)."""
    t0 = time.perf_counter()
    rng = random.Random(seed)
    articles = real_articles()
    rng.shuffle(articles)
    pool = [s for a in articles for s in a["sents"]]
    writer = tables.RunWriter(out)
    docs, sents, total, n = [], [], 0, 0
    stream = iter(articles)
    while total < target:
        article = next(stream, None) or recombined(pool, articles, rng)
        doc, srows = rows(article, n)
        n += 1
        docs.append(doc)
        sents += srows
        total += len(srows)
        if len(sents) >= 100_000:
            writer.write_part("documents", tables.to_table("documents", docs))
            writer.write_part("sentences", tables.to_table("sentences", sents))
            docs, sents = [], []
    if docs:
        writer.write_part("documents", tables.to_table("documents", docs))
        writer.write_part("sentences", tables.to_table("sentences", sents))
    writer.write("themes", tables.to_table("themes", [{"theme_id": t, "name_zh": t, "kind": "seeded"}
                                                      for t in THEME_RULES]))
    writer.ensure(*tables.SCHEMAS)
    writer.commit()
    return total, time.perf_counter() - t0


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def summary(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 1),
            "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1), "max_ms": round(ms[-1], 1)}


def measure(run: Path, repeat: int) -> dict:
    searcher = Searcher(run)
    results: dict[str, dict] = {}
    matches: dict[str, int] = {}
    for kind, queries in QUERIES.items():
        ms = []
        for q in queries:
            matches[q] = searcher.search(q)["total"]
            ms += timed(lambda: searcher.search(q), repeat)
        results[kind] = summary(ms)
    ms = []
    for q, f in FILTERED:
        filters = searcher.filters(**f)
        matches[f"{q} {json.dumps(f, ensure_ascii=False)}"] = searcher.search(q, filters)["total"]
        ms += timed(lambda: searcher.search(q, filters), repeat)
    results["filtered word"] = summary(ms)
    ms = []
    for f in FILTER_ONLY:
        filters = searcher.filters(**f)
        ms += timed(lambda: searcher.search("", filters), repeat)
    results["filters only (no words)"] = summary(ms)
    ms = []
    for q in QUERIES["single word"][:10]:
        ms += timed(lambda: searcher.facets(q), 1)
    results["facet counts (web)"] = summary(ms)
    return {"latency": results, "matches": matches}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/zhili-bench/run"))
    ap.add_argument("--repeat", type=int, default=3, help="timings per query")
    ap.add_argument("--reuse", action="store_true", help="keep an existing bench run and index")
    args = ap.parse_args()
    if not SHARED.exists():
        sys.exit(f"the shared corpora are missing: expected {SHARED}")
    report: dict = {}
    if not (args.reuse and tables.table_path(args.out, "sentences")):
        n, secs = make_run(args.out, args.sentences)
        report["corpus"] = {"sentences": n, "seconds": round(secs, 1)}
    cpu = time.process_time()
    info = build_index(args.out, force=not args.reuse)
    cpu = time.process_time() - cpu
    per_million = 1e6 / max(1, info.n_sentences)
    report["index"] = {"sentences": info.n_sentences, "documents": info.n_documents,
                       "build_seconds": round(info.seconds, 1),
                       "build_seconds_per_million": round(info.seconds * per_million, 1),
                       "build_cpu_seconds_per_million": round(cpu * per_million, 1),
                       "size_mb": round(info.bytes / 1e6, 1), "size_mb_per_million": round(info.bytes / 1e6 * per_million, 1)}
    print(json.dumps(report, ensure_ascii=False), flush=True)
    report.update(measure(args.out, args.repeat))
    report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
