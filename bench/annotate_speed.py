"""Throughput of Annotator.annotate on real documents (MB/s of sentence text, model load excluded).

    .venv/bin/python bench/annotate_speed.py [--corpus DIR] [--limit N] [--passes N]

Splits every file of the corpus (default: shared city-reports-2024) with structure.split first, then
times only the annotation of the prepared rows, one document at a time, in this one process, --passes
times over the corpus (fresh row copies each pass). The first pass also pays one-time costs (memo and
cache fills, first calls into numpy and rjieba); later passes are the steady state of a worker that has
run for a while (a pass re-reads the same documents, so its heading-context memo is warm; that memo
is ~3% of annotation time; the memo of segmented sentences, segment.TOKENS, is emptied before each
pass). Each pass runs under work.quiet_collector, as a worker's batch does. The
machine is shared, so a single pass can be off by a third: the median is reported.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import time
from pathlib import Path

from pipeline.annotate import Annotator
from pipeline.config import load_config
from pipeline.segment import TOKENS
from pipeline.structure import split
from pipeline.work import quiet_collector

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "city-reports-2024"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT)
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (0 = all)")
    ap.add_argument("--passes", type=int, default=5, help="timed passes over the corpus")
    args = ap.parse_args()
    cfg = load_config()
    files = sorted(args.corpus.glob("*.txt"))[: args.limit or None]
    docs = [split(p.read_text(encoding="utf-8", errors="replace"), cfg.structure) for p in files]
    size = sum(len(s["text"].encode()) for _, sents in docs for s in sents) / 1e6
    t0 = time.perf_counter()
    annotator = Annotator(cfg)
    annotator.annotate(docs[0][1][:5], docs[0][0])  # warm-up: segmenter dictionary, spaCy vocab
    load = time.perf_counter() - t0
    walls = []
    for k in range(args.passes):
        batch = copy.deepcopy(docs)
        TOKENS.clear()  # every pass segments its sentences, as a worker does with new documents
        with quiet_collector():  # as in a worker's batch (pipeline.work)
            t0 = time.perf_counter()
            for sections, sentences in batch:
                annotator.annotate(sentences, sections)
            walls.append(time.perf_counter() - t0)
        print(f"pass {k + 1}: {walls[-1]:.2f} s = {size / walls[-1]:.2f} MB/s")
    n = sum(len(s) for _, s in docs)
    med = statistics.median(walls)
    print(f"{len(files)} documents, {n} sentences, {size:.2f} MB: median pass {med:.2f} s = {size / med:.2f} MB/s, "
          f"first pass {size / walls[0]:.2f} MB/s (model load {load:.1f} s excluded)")


if __name__ == "__main__":
    main()
