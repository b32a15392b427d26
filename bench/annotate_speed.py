"""Throughput of Annotator.annotate on real documents (MB/s of sentence text, model load excluded).

    .venv/bin/python bench/annotate_speed.py [--corpus DIR] [--limit N]

Splits every file of the corpus (default: shared city-reports-2024) with structure.split first, then
times only the annotation of the prepared rows, one document at a time, in this one process.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from pipeline.annotate import Annotator
from pipeline.config import load_config
from pipeline.structure import split

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "city-reports-2024"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT)
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (0 = all)")
    args = ap.parse_args()
    cfg = load_config()
    files = sorted(args.corpus.glob("*.txt"))[: args.limit or None]
    docs = [split(p.read_text(encoding="utf-8", errors="replace"), cfg.structure) for p in files]
    size = sum(len(s["text"].encode()) for _, sents in docs for s in sents) / 1e6
    t0 = time.perf_counter()
    annotator = Annotator(cfg)
    annotator.annotate(docs[0][1][:5], docs[0][0])  # warm-up: segmenter dictionary, spaCy vocab
    load = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    for sections, sentences in docs:
        annotator.annotate(sentences, sections)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = sum(len(s) for _, s in docs)
    print(f"{len(files)} documents, {n} sentences, {size:.2f} MB: {dt:.2f} s = {size / dt:.2f} MB/s "
          f"wall, {size / cpu:.2f} MB/s CPU time (model load {load:.1f} s excluded)")


if __name__ == "__main__":
    main()
