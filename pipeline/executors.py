"""Executors: the same work units run serially, on a local process pool, or on a Dask cluster.

Results are yielded as they complete; the runner orders them by batch, so the tables never depend on
which worker finished first.
"""
from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from pipeline.stages import PipelineError
from pipeline.work import BatchResult, FileTask, process_batch

Unit = tuple[int, list[FileTask]]  # a batch and its position, which numbers its part files


def batches(tasks: list[FileTask], max_files: int, max_bytes: int = 4 << 20) -> list[list[FileTask]]:
    """Group files into work units of bounded count and size, in order."""
    out: list[list[FileTask]] = []
    current: list[FileTask] = []
    size = 0
    for task in tasks:
        if current and (len(current) >= max_files or size + task.size > max_bytes):
            out.append(current)
            current, size = [], 0
        current.append(task)
        size += task.size
    if current:
        out.append(current)
    return out


def _serial(work: list[Unit], fn: Callable, args: tuple) -> Iterator[BatchResult]:
    for batch in work:
        yield fn(batch, *args)


def _pool(work: list[Unit], fn: Callable, args: tuple, jobs: int) -> Iterator[BatchResult]:
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(fn, batch, *args) for batch in work]
        for future in as_completed(futures):
            yield future.result()


def _dask(work: list[Unit], fn: Callable, args: tuple, scheduler: str | None,
          workers: int) -> Iterator[BatchResult]:
    from distributed import Client, LocalCluster, as_completed as dask_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
    client = Client(cluster if cluster is not None else scheduler)
    try:
        futures = client.map(fn, work, *[[a] * len(work) for a in args], retries=3, pure=False)
        for future in dask_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def execute(work: list[Unit], args: tuple, executor: str, jobs: int,
            scheduler: str | None = None) -> Iterator[BatchResult]:
    """Run process_batch over the work units; yields results as they complete."""
    if executor == "dask":
        return _dask(work, process_batch, args, scheduler, jobs)
    if executor == "dask-local":
        return _dask(work, process_batch, args, None, jobs)
    if executor != "local":
        raise PipelineError(f"unknown executor {executor!r}: use local, dask or dask-local")
    if jobs <= 1 or len(work) <= 1:
        return _serial(work, process_batch, args)
    return _pool(work, process_batch, args, jobs)
