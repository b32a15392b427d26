"""Leave-one-file-out score of the whole pipeline on the two labelled seed files.

    .venv/bin/python bench/loo_seeds.py [--out outputs/loo-seeds] [--labels ../shared/eval/dev_labels.jsonl]

For each seed file F, the pipeline runs on F alone with labels.exclude_docs=[F], so neither the sentence
tagger nor the theme model has seen a label of F; the two runs' documents and sentences tables are
concatenated into one run directory, which the shared scorer (eval/score.py) then reads. Prints its output.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa

from pipeline import run
from pipeline.config import load_config
from pipeline.tables import RunWriter, read_table

SHARED = Path(__file__).resolve().parents[2] / "shared"


def loo_run(seeds: list[Path], out: Path, work: Path, config: Path | None = None,
            label_docs: list[str] | None = None) -> Path:
    """One run directory holding, for every seed file, its run with its own labels excluded (label_docs:
    the labels' file name of each seed, when it is not the seed's own, e.g. a seed rendered as a PDF)."""
    cfg = load_config(config)
    parts: dict[str, list[pa.Table]] = {"documents": [], "sentences": []}
    for path, doc in zip(seeds, label_docs or [p.name for p in seeds]):
        labels = cfg.labels.model_copy(update={"exclude_docs": [doc]})
        run_dir = work / path.stem
        run(path, out=run_dir, config=cfg.model_copy(update={"labels": labels}), fresh=True)
        for name in parts:
            parts[name].append(read_table(run_dir, name))
    writer = RunWriter(out)
    for name, tables in parts.items():
        writer.write(name, pa.concat_tables(tables))
    return writer.commit()


def scored(run: Path, labels: Path) -> list[str]:
    """The shared scorer's output lines on a run (its last: type_macro_f1=… named_themes_f1=… …)."""
    res = subprocess.run([sys.executable, str(SHARED / "eval" / "score.py"), "--run", str(run), "--labels",
                          str(labels)], check=True, capture_output=True, text=True)
    return res.stdout.strip().splitlines()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=Path, default=SHARED / "corpora" / "seeds")
    ap.add_argument("--labels", type=Path, default=SHARED / "eval" / "dev_labels.jsonl")
    ap.add_argument("--out", type=Path, default=Path("outputs/loo-seeds"))
    ap.add_argument("--config", type=Path, default=None, help="YAML config (default configs/default.yaml)")
    args = ap.parse_args()
    seeds = sorted(args.seeds.glob("*.txt"))
    if not seeds:
        sys.exit(f"no seed files (*.txt) in {args.seeds}")
    with tempfile.TemporaryDirectory() as work:
        out = loo_run(seeds, args.out, Path(work), args.config)
    print("\n".join(scored(out, args.labels)))


if __name__ == "__main__":
    main()
