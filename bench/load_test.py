"""Load test of `zhili serve`: N concurrent clients searching for a fixed time, then stop.

    .venv/bin/python bench/load_test.py --run RUN [--concurrency 200] [--seconds 30] [--workers 2] [--timeout 30]

Starts `zhili serve RUN --workers W` on a free 127.0.0.1 port (the index is built first when missing),
then `concurrency` asyncio tasks share one httpx client with a connection pool of the same size; each
task loops over search pages, JSON searches and CSV exports (random words, facets and pages) until the
deadline. Every response that is not a 200, and every exception (timeout, refused or reset connection),
is an error. The server it started is stopped at the end, and the report gives requests/s, latency
percentiles (overall and per path), errors by kind, and the most requests in flight at once.
Only 127.0.0.1 is ever contacted.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
WORDS = ["老龄化", "养老", "安全生产", "营商环境", "生态环境", "食品安全", "消防", "网格", "公共服务", "数字经济",
         "乡村振兴", "物业", "医疗", "教育", "交通", "污染", "发展", "管理", '"人民政府"', "社区 养老", "企业 融资"]
FILTERS = [{}, {}, {"type": "problem"}, {"type": "measure"}, {"region": "广东"}, {"year": "2019-2024"},
           {"region": "上海", "type": "experience"}]
PATHS = ["/", "/", "/", "/", "/", "/api/search", "/api/search", "/export.csv"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(run: Path, port: int, workers: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "pipeline.cli", "serve", str(run), "--host", HOST, "--port", str(port),
           "--workers", str(workers)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600  # the first start may build the index
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"zhili serve exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"http://{HOST}:{port}/", timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    stop_server(proc)
    raise SystemExit("zhili serve did not answer in time")


def stop_server(proc: subprocess.Popen) -> float:
    """Stop the server and its worker processes (by their ids); returns their CPU seconds."""
    try:
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        cpu = sum(sum(p.cpu_times()[:2]) for p in family)
    except psutil.Error:
        family, cpu = [], 0.0
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for p in family[1:]:
        try:
            p.kill()  # a worker left behind by a supervisor that did not stop cleanly
        except psutil.Error:
            pass
    return cpu


def _percentile(ms: list[float], p: float) -> float | None:
    return round(ms[min(len(ms) - 1, int(p * len(ms)))], 1) if ms else None


def summarise(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {"requests": len(ms), "median_ms": round(statistics.median(ms), 1) if ms else None,
            "p95_ms": _percentile(ms, 0.95), "p99_ms": _percentile(ms, 0.99), "max_ms": round(ms[-1], 1) if ms else None}


async def worker(client: httpx.AsyncClient, deadline: float, rng: random.Random, out: dict) -> None:
    while time.monotonic() < deadline:
        path = rng.choice(PATHS)
        params = {"q": rng.choice(WORDS), **rng.choice(FILTERS), "page": rng.choice([1, 1, 1, 2, 3])}
        out["in_flight"] += 1
        out["max_in_flight"] = max(out["max_in_flight"], out["in_flight"])
        t0 = time.perf_counter()
        try:
            response = await client.get(path, params=params)
            kind = None if response.status_code == 200 else f"HTTP {response.status_code}"
        except Exception as exc:  # noqa: BLE001 - every failure counts, whatever its type
            kind = type(exc).__name__
        out["in_flight"] -= 1
        out["ms"].setdefault(path, []).append((time.perf_counter() - t0) * 1000)
        if kind:
            out["errors"][kind] = out["errors"].get(kind, 0) + 1


async def load(base: str, concurrency: int, seconds: float, timeout: float, seed: int) -> dict:
    out: dict = {"ms": {}, "errors": {}, "in_flight": 0, "max_in_flight": 0}
    # one client per user, as with browsers: 200 keep-alive connections in all, and no pool of 200 that
    # httpcore would scan on every request (that cost a core of client CPU at 90 requests/s)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(timeout))
               for _ in range(concurrency)]
    deadline = time.monotonic() + seconds
    t0 = time.perf_counter()
    try:
        tasks = [worker(c, deadline, random.Random(seed + i), out) for i, c in enumerate(clients)]
        await asyncio.wait_for(asyncio.gather(*tasks), seconds + timeout + 30)  # stops even if a task hangs
        elapsed = time.perf_counter() - t0
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    every = [m for ms in out["ms"].values() for m in ms]
    return {"concurrency": concurrency, "max_in_flight": out["max_in_flight"], "seconds": round(elapsed, 1),
            **summarise(every), "errors": sum(out["errors"].values()), "error_kinds": out["errors"],
            "requests_per_s": round(len(every) / elapsed, 1),
            "by_path": {p: summarise(ms) for p, ms in sorted(out["ms"].items())}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="run folder (written by `zhili run`)")
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=2, help="server processes (zhili serve --workers)")
    ap.add_argument("--timeout", type=float, default=30.0, help="a request slower than this is an error")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    port = free_port()
    server = start_server(args.run, port, args.workers)
    try:
        report = asyncio.run(load(f"http://{HOST}:{port}", args.concurrency, args.seconds, args.timeout, args.seed))
    finally:
        server_cpu = stop_server(server)
    client_cpu = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    print(json.dumps({"run": str(args.run), "workers": args.workers, "timeout_s": args.timeout, **report,
                      "cpu_seconds": {"server": round(server_cpu, 1), "client": round(client_cpu, 1)}},
                     ensure_ascii=False, indent=1))
    sys.exit(1 if report["errors"] else 0)


if __name__ == "__main__":
    main()
