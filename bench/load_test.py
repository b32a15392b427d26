"""Load test of `zhili serve`: N concurrent searches for a fixed time, then stop.

    .venv/bin/python bench/load_test.py [--run /tmp/zhili-bench/run] [--concurrency 200] [--seconds 30]

Starts `zhili serve RUN` on a free 127.0.0.1 port (the index must exist or is built first), runs
`concurrency` httpx async clients that each loop over search pages (random words, facets and pages)
until the deadline, stops the server it started, and reports requests, errors, throughput and
latency percentiles.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
WORDS = ["老龄化", "养老", "安全生产", "营商环境", "生态环境", "食品安全", "消防", "网格", "公共服务", "数字经济",
         "乡村振兴", "物业", "医疗", "教育", "交通", "污染", "发展", "管理", '"人民政府"', "社区 养老", "企业 融资"]
FILTERS = [{}, {}, {"type": "problem"}, {"type": "measure"}, {"region": "广东"}, {"year": "2019-2024"},
           {"region": "上海", "type": "experience"}]
PATHS = ["/", "/", "/", "/", "/", "/api/search", "/api/search", "/export.csv"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(run: Path, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "pipeline.cli", "serve", str(run), "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600  # the first start may build the index
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"zhili serve exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("zhili serve did not answer in time")


async def worker(client: httpx.AsyncClient, deadline: float, rng: random.Random, out: dict) -> None:
    while time.monotonic() < deadline:
        path = rng.choice(PATHS)
        params = {"q": rng.choice(WORDS), **rng.choice(FILTERS), "page": rng.choice([1, 1, 1, 2, 3])}
        t0 = time.perf_counter()
        try:
            response = await client.get(path, params=params)
            ok = response.status_code == 200
            if not ok:
                out["status"][response.status_code] = out["status"].get(response.status_code, 0) + 1
        except httpx.HTTPError as exc:
            ok = False
            out["status"][type(exc).__name__] = out["status"].get(type(exc).__name__, 0) + 1
        out["ms"].append((time.perf_counter() - t0) * 1000)
        out["errors"] += not ok


async def load(base: str, concurrency: int, seconds: float, seed: int) -> dict:
    out: dict = {"ms": [], "errors": 0, "status": {}}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        deadline = time.monotonic() + seconds
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client, deadline, random.Random(seed + i), out) for i in range(concurrency)))
        elapsed = time.perf_counter() - t0
    ms = sorted(out["ms"])
    pct = lambda p: round(ms[min(len(ms) - 1, int(p * len(ms)))], 1) if ms else None  # noqa: E731
    return {"concurrency": concurrency, "seconds": round(elapsed, 1), "requests": len(ms), "errors": out["errors"],
            "error_kinds": out["status"], "requests_per_s": round(len(ms) / elapsed, 1),
            "median_ms": round(statistics.median(ms), 1) if ms else None, "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "max_ms": round(ms[-1], 1) if ms else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, default=Path("/tmp/zhili-bench/run"))
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    port = free_port()
    server = start_server(args.run, port)
    try:
        report = asyncio.run(load(f"http://127.0.0.1:{port}", args.concurrency, args.seconds, args.seed))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    print(json.dumps({"run": str(args.run), **report}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
