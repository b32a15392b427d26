"""Throughput of region recognition and dedup signatures over city-reports-2024 (best of 3, wall and CPU).

Run: .venv/bin/python bench/regions_dedup.py [corpus folder]
"""
import sys
import time
from pathlib import Path

from pipeline.config import load_config
from pipeline.ingest.dedup import find_duplicates, signature
from pipeline.ingest.regions import Gazetteer, find_mentions, primary_region

CORPUS = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/corpora/city-reports-2024"


def best(f) -> tuple[float, float]:
    wall, cpu = [], []
    for _ in range(3):
        w, c = time.perf_counter(), time.process_time()
        f()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu)


def main() -> None:
    cfg = load_config()
    t = time.perf_counter()
    gaz = Gazetteer.load(cfg)
    print(f"gazetteer build {time.perf_counter() - t:.2f} s, {len(gaz.surfaces)} surface forms")
    paths = sorted(CORPUS.glob("*.txt"))
    texts = [p.read_text(encoding="utf-8") for p in paths]
    mb = sum(len(x.encode()) for x in texts) / 1e6
    runs = {
        "regions (find_mentions + primary_region)":
            lambda: [primary_region(find_mentions(x, gaz, p.name), p.name, gaz) for p, x in zip(paths, texts)],
        "  automaton alone": lambda: [gaz.matcher.find_matches_as_indexes(x) for x in texts],
        "dedup signature": lambda: [signature(x, cfg) for x in texts],
    }
    print(f"{len(paths)} files, {mb:.2f} MB")
    for name, f in runs.items():
        wall, cpu = best(f)
        print(f"{name}: {mb / wall:.1f} MB/s wall, {mb / cpu:.1f} MB/s CPU")
    sigs = [signature(x, cfg) for x in texts]
    wall, _ = best(lambda: find_duplicates([p.stem for p in paths], sigs, cfg))
    dup = find_duplicates([p.stem for p in paths], sigs, cfg)
    print(f"find_duplicates: {wall * 1000:.1f} ms, duplicates {dup}")


if __name__ == "__main__":
    main()
