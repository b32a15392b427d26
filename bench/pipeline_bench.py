"""End-to-end speed and memory of `zhili run`, printed as one table (run by hand, not a test).

Builds realistic corpora (bench/make_corpus.py: real skeletons, recombined real sentences, so no
near-duplicates and no cache hits), then runs each configuration as a separate process and samples the
resident memory of its whole process tree:

  jobs=1 and jobs=2 on the small corpus (cold cache), a rerun on it (warm cache), the plain
  jieba + scikit-learn reference script on it, and jobs=2 on the large corpus.

    python bench/pipeline_bench.py --small-mb 100 --large-mb 1000
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from make_corpus import build  # noqa: E402


def measure(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) of the process tree, and stdout of a command."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    peak = 0.0
    parent = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            procs = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()) / 1e6)
        except psutil.Error:
            pass
        time.sleep(0.2)
    out = proc.stdout.read()
    if proc.returncode:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return time.perf_counter() - t0, peak, out


def zhili(corpus: Path, out: Path, jobs: int, cache: Path, fresh: bool = False) -> dict:
    cmd = [sys.executable, "-m", "pipeline.cli", "run", str(corpus), "--out", str(out), "--jobs", str(jobs),
           "--cache-dir", str(cache)]
    seconds, peak, _ = measure(cmd + (["--fresh"] if fresh else []))
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    mb = info["counts"]["bytes"] / 1e6
    stages = {k: mb / v for k, v in info["stage_seconds"].items() if v}
    return {"mb": mb, "seconds": seconds, "mb_s": mb / seconds, "peak_mb": peak, "stages": stages,
            "sentences": info["counts"]["sentences"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small-mb", type=float, default=100)
    ap.add_argument("--large-mb", type=float, default=1000)
    ap.add_argument("--data", type=Path, default=ROOT / "bench" / "data")
    args = ap.parse_args()
    small = args.data / f"corpus-{args.small_mb:g}mb"
    large = args.data / f"corpus-{args.large_mb:g}mb"
    for corpus, mb in ((small, args.small_mb), (large, args.large_mb)):
        if not corpus.exists():
            build(mb, corpus)
    work = Path(tempfile.mkdtemp(prefix="zhili-bench-"))
    rows = {}
    try:
        rows["small jobs=1"] = zhili(small, work / "s1", 1, work / "cache1")
        rows["small jobs=2"] = zhili(small, work / "s2", 2, work / "cache2")
        rows["small rerun (cached)"] = zhili(small, work / "s2", 2, work / "cache2")
        seconds, peak, out = measure([sys.executable, "bench/reference_script.py", str(small), str(work / "ref.parquet")])
        ref = json.loads(out.strip().splitlines()[-1])
        rows["reference script"] = {"mb": ref["bytes"] / 1e6, "seconds": seconds, "mb_s": ref["bytes"] / 1e6 / seconds,
                                    "peak_mb": peak, "stages": {}, "sentences": None}
        rows["large jobs=2"] = zhili(large, work / "l2", 2, work / "cache3")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'configuration':<22}{'MB':>8}{'s':>9}{'MB/s':>8}{'peak RSS MB':>13}  per-stage MB/s (one core)")
    for name, r in rows.items():
        stages = " ".join(f"{k}={v:.1f}" for k, v in r["stages"].items())
        print(f"{name:<22}{r['mb']:>8.1f}{r['seconds']:>9.1f}{r['mb_s']:>8.2f}{r['peak_mb']:>13.0f}  {stages}")
    s1, s2 = rows["small jobs=1"], rows["small jobs=2"]
    print()
    print(f"speed-up 1 -> 2 jobs:            {s1['seconds'] / s2['seconds']:.2f}x   (target >= 1.6x)")
    print(f"zhili jobs=2 vs reference:       {rows['reference script']['seconds'] / s2['seconds']:.2f}x   (target >= 8x)")
    print(f"rerun on unchanged corpus:       {s2['seconds'] / rows['small rerun (cached)']['seconds']:.1f}x faster   (target >= 20x)")
    print(f"end-to-end MB/s, large jobs=2:   {rows['large jobs=2']['mb_s']:.2f}   (target >= 5)")
    print(f"peak RSS large / small:          {rows['large jobs=2']['peak_mb'] / s2['peak_mb']:.2f}   "
          f"(target < 1.2; large peak {rows['large jobs=2']['peak_mb']:.0f} MB, target < 2000)")


if __name__ == "__main__":
    main()
