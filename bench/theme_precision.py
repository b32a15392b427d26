"""Precision of the seeded themes on work reports and laws: corpora/labels/eval/*-themes.jsonl.

    .venv/bin/python bench/theme_precision.py [--out outputs/theme-precision] [--config FILE]

The seeded themes were written for essays on community governance; a work report speaks of every field in
the same words (经费投入 of R&D, 能力建设 of hospitals, 协同治理 of pollution, 依法 of anything), and a law says
依法 and 法律、法规规定 in every clause. work-report-themes.jsonl holds 220 links (sentence, theme) drawn at random
from those zhili gave the city work reports 2024 (160) and the national reports (60) at stop 32's code;
regulation-themes.jsonl 120 links drawn likewise from 200 local regulations after stop 33's first changes.
Each was judged right or wrong under corpora/labels/GUIDELINES.md ("mark a theme only when the unit is
clearly about it") without seeing how it was found. The script runs the pipeline, as configured, on the
links' source files and prints, per corpus, how many of the links are still given, their precision, and how
many of the right ones are kept. Links a change adds are not in the files: a change that gives more themes
needs links of its own judged.
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import pandas as pd

from pipeline import run
from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpora"
LABELS = [ROOT / "corpora" / "labels" / "eval" / name for name in ("work-report-themes.jsonl", "regulation-themes.jsonl")]
SOURCES = {"city-reports-2024": SHARED / "city-reports-2024", "national-reports": SHARED / "national-reports",
           "local-regulations": SHARED / "local-regulations"}


def given_links(run_dir: Path) -> set[tuple[str, str, str]]:
    """(source file name, sentence text, theme) of every seeded theme link of a run."""
    docs = pd.read_parquet(run_dir / "documents", columns=["doc_id", "source_path"])
    sents = pd.read_parquet(run_dir / "sentences", columns=["doc_id", "sent_id", "text"])
    links = pd.read_parquet(run_dir / "sentence_themes", columns=["doc_id", "sent_id", "theme_id"])
    joined = links.merge(sents, on=["doc_id", "sent_id"]).merge(docs, on="doc_id")
    return {(Path(p).name, t, th) for p, t, th in zip(joined.source_path, joined.text, joined.theme_id)}


def report(links: list[dict], given: set[tuple[str, str, str]]) -> list[str]:
    """Per corpus: links judged, right, still given, precision of those given, right ones kept."""
    by_corpus: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for link in links:
        kept = (Path(link["doc"]).name, link["text"], link["theme"]) in given
        by_corpus[link["corpus"]].append((link["correct"], kept))
    lines = [f"{'corpus':18s} {'links':>5s} {'right':>5s} {'given':>5s} {'precision':>9s} {'right kept':>10s}"]
    for corpus, pairs in sorted(by_corpus.items()):
        right = sum(c for c, _ in pairs)
        given_n = sum(k for _, k in pairs)
        right_kept = sum(c and k for c, k in pairs)
        precision = right_kept / given_n if given_n else 0.0
        lines.append(f"{corpus:18s} {len(pairs):5d} {right:5d} {given_n:5d} {precision:9.3f} {right_kept:6d}/{right}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("outputs/theme-precision"))
    ap.add_argument("--config", type=Path, default=None, help="YAML config (default configs/default.yaml)")
    args = ap.parse_args()
    cfg = load_config(args.config)
    links = [json.loads(line) for path in LABELS for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as work:
        corpus = Path(work) / "corpus"
        for doc, source in sorted({(link["doc"], link["corpus"]) for link in links}):
            target = corpus / source / doc
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(SOURCES[source] / doc, target)
        run(corpus, out=args.out, config=cfg)
    print("\n".join(report(links, given_links(args.out))))


if __name__ == "__main__":
    main()
