"""Score the tagger on work reports it never had gold labels of: corpora/labels/eval/work-reports.jsonl.

    .venv/bin/python bench/score_work_reports.py [--out outputs/work-reports-eval] [--config FILE]

The 265 units (ten random sentences each of 16 city work reports 2024 and 8 State Council / CPC congress
reports, and the problems paragraphs of the three city reports kept out of the weak labels, labelled under
corpora/labels/GUIDELINES.md without seeing the tagger's output) are for evaluation only: no config trains
on them. The script runs the pipeline, as configured, on the units' source files (the city reports and the
two national collections, from ../shared/corpora), leaves out the units that are also weak training units
(annotate.weak_labels: the same sentence, typed by its section) and prints the shared scorer's output on
the rest.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loo_seeds import SHARED, scored  # noqa: E402

from pipeline import run  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.labels import read_labels  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "corpora" / "labels" / "eval" / "work-reports.jsonl"
SOURCES = (SHARED / "corpora" / "city-reports-2024", SHARED / "corpora" / "national-reports")


def held_out(units: list[dict], trained_texts: set[str]) -> list[dict]:
    """The units whose sentence is no training unit."""
    return [u for u in units if u["text"] not in trained_texts]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("outputs/work-reports-eval"))
    ap.add_argument("--config", type=Path, default=None, help="YAML config (default configs/default.yaml)")
    args = ap.parse_args()
    cfg = load_config(args.config)
    if LABELS.resolve() in {Path(cfg.resolve(p)).resolve() for p in cfg.labels.files}:
        sys.exit(f"the config trains on {LABELS}: leave it out of labels.files to score on it")
    units = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    trained = {u["text"] for u in read_labels([cfg.resolve(p) for p in [*cfg.labels.files, *cfg.annotate.weak_labels]])}
    kept = held_out(units, trained)
    with tempfile.TemporaryDirectory() as work:
        corpus = Path(work) / "corpus"
        corpus.mkdir()
        for name in sorted({u["doc"] for u in units}):
            source = next((d / name for d in SOURCES if (d / name).exists()), None)
            if source is None:
                sys.exit(f"{name} is not in {' or '.join(map(str, SOURCES))}")
            shutil.copy(source, corpus / name)
        run(corpus, out=args.out, config=cfg, fresh=True)
        labels = Path(work) / "held-out.jsonl"
        labels.write_text("".join(json.dumps(u, ensure_ascii=False) + "\n" for u in kept), encoding="utf-8")
        print(f"{len(kept)} of {len(units)} units ({len(units) - len(kept)} are training units)")
        print("\n".join(scored(args.out, labels)))


if __name__ == "__main__":
    main()
