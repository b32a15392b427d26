"""Incremental reruns and the Dask executor, timed: the figures issue 7 asks for besides the bench table.

    .venv/bin/python bench/incremental.py [--mb 10] [--dask-corpus DIR] [--jobs 2]

Runs pipeline.run (jobs=--jobs, one fresh cache) over a corpus of --mb MB built by bench/make_corpus.py,
copied to a scratch folder so that one of its files can be edited:

1. first run; 2. the unchanged corpus again (every table compared with the first run's);
3. one file edited (a sentence appended); 4. the themes file edited (one more term in a theme: theme
matching is redone, ingest and annotation are not); 5. the cue lexicon edited (one more problem cue:
annotation and theme matching are redone, ingest is not).

For each: wall seconds, files whose every stage came from the cache, and the seconds of work per stage
(a stage that came from the cache did none). Then the Dask executor: --dask-corpus (default
city-reports-2024) with the local process pool and with --executor dask-local (a LocalCluster of --jobs
workers), and whether every table is equal.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pipeline as zhili  # noqa: E402
from pipeline import tables  # noqa: E402
from pipeline.config import load_config  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpora"
TABLES = ("documents", "sections", "sentences", "mentions", "sentence_themes", "themes", "doc_themes")


def same_tables(a: Path, b: Path) -> bool:
    """Every table of two runs holds the same rows in the same order."""
    return all(tables.load(a, name).equals(tables.load(b, name)) for name in TABLES)


def timed_run(corpus: Path, out: Path, cfg, **options) -> tuple[float, object]:
    t0 = time.perf_counter()
    summary = zhili.run(corpus, out=out, config=cfg, **options)
    return time.perf_counter() - t0, summary


def report(label: str, seconds: float, summary) -> None:
    work = " ".join(f"{k}={v:.1f}" for k, v in summary.stage_seconds.items() if v >= 0.05) or "none"
    print(f"{label:<28}{seconds:>7.1f} s   {summary.files_cached:>5}/{summary.files} files from cache   "
          f"stage work (s): {work}")


def edited_yaml(src: Path, dst: Path, edit) -> Path:
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    edit(data)
    dst.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return dst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=10)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--dask-corpus", type=Path, default=SHARED / "city-reports-2024")
    args = ap.parse_args()
    built = ROOT / "bench" / "data" / f"corpus-{args.mb:g}mb"
    if not built.exists():
        from make_corpus import build

        build(args.mb, built)
    work = Path(tempfile.mkdtemp(prefix="zhili-incremental-"))
    try:
        corpus = work / "corpus"
        shutil.copytree(built, corpus)
        cfg = load_config()
        options = {"jobs": args.jobs, "cache_dir": str(work / "cache")}
        first, s = timed_run(corpus, work / "first", cfg, **options)
        report("first run", first, s)
        seconds, s = timed_run(corpus, work / "rerun", cfg, **options)
        report("unchanged rerun", seconds, s)
        print(f"{'':<28}{first / seconds:.0f}x faster, identical tables: {same_tables(work / 'first', work / 'rerun')}")

        victim = sorted(corpus.rglob("*.txt"))[0]
        victim.write_text(victim.read_text(encoding="utf-8") + "\n社区工作者待遇偏低，人员流失严重。\n", encoding="utf-8")
        seconds, s = timed_run(corpus, work / "one-file", cfg, **options)
        report("one file edited", seconds, s)

        for label, section, key, edit in (
                ("themes file edited", "themes", "file", lambda d: d["themes"]["admin_burden"]["terms"].append("表格负担")),
                ("cue lexicon edited", "annotate", "cues", lambda d: d["cues"]["problem"]["chars"].append("疲于应付"))):
            edited = cfg.model_copy(deep=True)
            part = getattr(edited, section)
            setattr(part, key, str(edited_yaml(cfg.resolve(getattr(part, key)), work / f"{key}.yaml", edit)))
            seconds, s = timed_run(corpus, work / label.replace(" ", "-"), edited, **options)
            report(label, seconds, s)

        if args.dask_corpus.exists():
            fresh = {"jobs": args.jobs, "fresh": True}
            local, s = timed_run(args.dask_corpus, work / "local", cfg, **fresh)
            report(f"{args.dask_corpus.name}: local", local, s)
            dask, s = timed_run(args.dask_corpus, work / "dask", cfg, executor="dask-local", **fresh)
            report(f"{args.dask_corpus.name}: dask-local", dask, s)
            print(f"{'':<28}identical tables: {same_tables(work / 'local', work / 'dask')}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
