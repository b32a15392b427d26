"""Throughput of ThemeMatcher.match on real documents (MB/s of sentence text, model load excluded).

    .venv/bin/python bench/themes_speed.py [--corpus DIR] [--limit N] [--per-document] [--dump OUT.json] [--profile OUT.prof]

Splits every file of the corpus (default: shared city-reports-2024) with structure.split, types the
sentences once with Annotator.annotate, then times only the matching: ThemeMatcher.match_many over all
documents, as workers call it (--per-document: ThemeMatcher.match one document at a time).
--dump writes every document's `themes` and SENTENCE_THEMES rows, to compare two versions of the matcher.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import time
from pathlib import Path

from pipeline.annotate import Annotator
from pipeline.config import load_config
from pipeline.structure import split
from pipeline.themes import ThemeMatcher

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "city-reports-2024"


def prepared(files: list[Path], cfg) -> list[list[dict]]:
    """Each file's sentence rows, split and typed (the input match() gets in the pipeline)."""
    annotator = Annotator(cfg)
    docs = []
    for path in files:
        sections, sentences = split(path.read_text(encoding="utf-8", errors="replace"), cfg.structure)
        annotator.annotate(sentences, sections)
        docs.append(sentences)
    return docs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT)
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (0 = all)")
    ap.add_argument("--per-document", action="store_true", help="call match per document instead of match_many")
    ap.add_argument("--dump", type=Path, help="write themes and sentence_themes rows per document here")
    ap.add_argument("--profile", type=Path, help="write a cProfile of the timed loop here")
    args = ap.parse_args()
    cfg = load_config()
    files = sorted(args.corpus.glob("*.txt"))[: args.limit or None]
    docs = prepared(files, cfg)
    size = sum(len(s["text"].encode()) for sents in docs for s in sents) / 1e6
    t0 = time.perf_counter()
    matcher = ThemeMatcher(cfg)
    load = time.perf_counter() - t0
    profiler = cProfile.Profile() if args.profile else None
    t0, c0 = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    rows = [matcher.match(sentences) for sentences in docs] if args.per_document else matcher.match_many(docs)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = sum(len(s) for s in docs)
    print(f"{len(files)} documents, {n} sentences, {size:.2f} MB: {dt:.2f} s = {size / dt:.2f} MB/s "
          f"wall, {size / cpu:.2f} MB/s CPU time (model load {load:.1f} s excluded)")
    if args.dump:
        out = {p.name: {"themes": [s["themes"] for s in sents], "rows": r} for p, sents, r in zip(files, docs, rows)}
        args.dump.write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
