"""The pipeline run, in three phases.

1. per file, in workers (pipeline/work.py via pipeline/executors.py): ingest -> structure -> annotate ->
   themes.match, each stage's result kept in the content-addressed cache.
2. per run, on one node: near-duplicates over the workers' signatures, then the run's tables assembled
   from the cache in file order (so tables never depend on which worker finished first), streamed into
   Parquet part files.
3. per run: theme discovery on the problem and measure sentences no seeded theme explains; theme tables.

A run whose every input key is unchanged is copied from the run-level cache instead. Outputs go through
tables.RunWriter: written to a staging folder and swapped into place at the end.
"""
from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from pipeline import tables
from pipeline.cache import StageCache, code_digest, digest, files_digest
from pipeline.config import Config, load_config
from pipeline.executors import batches, execute
from pipeline.stages import PipelineError, check_stages, file_keys, stage_keys
from pipeline.work import ANNOTATION_COLUMNS, FileSummary, FileTask

__all__ = ["run_pipeline", "RunSummary", "PipelineError"]


@dataclass
class RunSummary:
    out: Path
    files: int = 0
    files_cached: int = 0
    bytes: int = 0
    articles: int = 0
    sentences: int = 0
    errors: int = 0
    duplicates: int = 0
    themes_discovered: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    run_cached: bool = False

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds else 0.0

    def counts(self) -> dict[str, int]:
        return {"files": self.files, "files_cached": self.files_cached, "bytes": self.bytes,
                "articles": self.articles, "sentences": self.sentences, "errors": self.errors,
                "duplicates": self.duplicates, "themes_discovered": self.themes_discovered}


def versions() -> dict[str, str]:
    """Versions of Python and the libraries whose behaviour shapes the tables."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("zhili", "pyarrow", "pandas", "spacy", "rjieba", "jieba", "scikit-learn", "datasketch",
                "trafilatura", "charset-normalizer", "opencc", "ahocorasick-rs", "pdfplumber", "python-docx"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "absent"
    return out


# ---------------------------------------------------------------------------------------------------------
# Phase 2 and 3: per run


class PartBuffer:
    """Collects rows of one table and writes a part file whenever enough have gathered."""

    def __init__(self, writer: tables.RunWriter, name: str, rows_per_part: int):
        self.writer, self.name, self.rows_per_part = writer, name, rows_per_part
        self.pending: list[pa.Table] = []
        self.rows = 0
        self.total = 0

    def add(self, table: pa.Table) -> None:
        if table.num_rows:
            self.pending.append(table)
            self.rows += table.num_rows
            if self.rows >= self.rows_per_part:
                self.flush()

    def flush(self) -> None:
        if self.pending:
            self.writer.write_part(self.name, pa.concat_tables(self.pending))
            self.total += self.rows
            self.pending, self.rows = [], 0

    def close(self) -> None:
        self.flush()
        if not self.total:
            self.writer.write_part(self.name, tables.empty(self.name))


def _assemble_file(s: FileSummary, cache: StageCache, dup: dict[str, str]) -> dict[str, pa.Table]:
    """The rows of one file for each table, with duplicates and themes filled in."""
    k1, k2, k3 = s.keys["ingest"], s.keys["annotate"], s.keys["themes"]
    docs = cache.load(k1, "documents")
    docs = docs.set_column(docs.schema.get_field_index("duplicate_of"), "duplicate_of",
                           pa.array([dup.get(d) for d in docs["doc_id"].to_pylist()], type=pa.string()))
    sentences = cache.load(k1, "sentences")
    annotated = cache.load(k2, "annotations")
    for name in ANNOTATION_COLUMNS:
        sentences = sentences.set_column(sentences.schema.get_field_index(name), name, annotated[name])
    themes = cache.load(k3, "themes")["themes"]
    sentences = sentences.set_column(sentences.schema.get_field_index("themes"), "themes", themes)
    return {
        "documents": docs,
        "sections": cache.load(k1, "sections"),
        "sentences": sentences,
        "mentions": cache.load(k1, "mentions"),
        "sentence_themes": cache.load(k3, "sentence_themes"),
    }


def _discovery_sample(sentences: pa.Table, dup: dict[str, str], limit_hash: int):
    """Problem and measure sentences of originals that no seeded theme explains (hash-sampled at scale)."""
    frame = sentences.select(["doc_id", "sent_id", "text", "type", "themes"]).to_pandas()
    keep = frame["type"].isin(["problem", "measure"]) & (frame["themes"].map(len) == 0)
    keep &= ~frame["doc_id"].isin(dup.keys())
    frame = frame[keep]
    if limit_hash < 2**32:
        h = frame["text"].map(lambda t: int(hashlib.md5(t.encode()).hexdigest()[:8], 16))
        frame = frame[h < limit_hash]
    return frame


def _assemble(writer: tables.RunWriter, ok: list[FileSummary], cache: StageCache, dup: dict[str, str],
              cfg: Config, summary: RunSummary, timings: dict[str, float]) -> None:
    """Stream every file's cached results into the run's part files, then the per-run theme tables."""
    import pandas as pd

    from pipeline import themes

    buffers = {name: PartBuffer(writer, name, rows)
               for name, rows in (("documents", 2000), ("sections", 200_000), ("sentences", 200_000),
                                  ("mentions", 200_000), ("sentence_themes", 200_000))}
    candidates: list[pd.DataFrame] = []
    compact: list[pa.Table] = []
    fraction = min(1.0, cfg.themes.max_discovery_sentences / max(1, sum(s.n_sentences for s in ok)))
    limit = int(2**32 * fraction)
    for s in ok:
        parts = _assemble_file(s, cache, dup)
        for name, table in parts.items():
            buffers[name].add(table)
        summary.articles += parts["documents"].num_rows
        summary.sentences += parts["sentences"].num_rows
        candidates.append(_discovery_sample(parts["sentences"], dup, limit))
        compact.append(parts["sentences"].select(["doc_id", "sent_id", "type", "themes"]))
    for b in buffers.values():
        b.close()

    t = time.perf_counter()
    sentences = pa.concat_tables(compact).to_pandas() if compact else tables.empty("sentences").to_pandas()
    sentences = sentences[~sentences["doc_id"].isin(dup.keys())]
    pool = pd.concat(candidates, ignore_index=True) if candidates else sentences.iloc[:0]
    discovered, discovered_links = (themes.discover(pool, cfg) if cfg.themes.discover and len(pool)
                                    else ([], []))
    timings["theme_discovery"] = time.perf_counter() - t
    if discovered_links:
        writer.write_part("sentence_themes", tables.to_table("sentence_themes", discovered_links))
    links = tables.read_table(writer.staging, "sentence_themes").to_pandas()
    theme_rows, doc_theme_rows = themes.theme_tables(sentences, links, discovered, cfg)
    writer.write("themes", tables.to_table("themes", theme_rows))
    writer.write("doc_themes", tables.to_table("doc_themes", doc_theme_rows))
    summary.themes_discovered = len(discovered)


def run_key(tasks: list[FileTask], cfg: Config) -> str:
    """Everything the whole run's tables depend on: every file's last stage key, and the per-run steps."""
    return digest([(t.rel, t.keys["themes"]) for t in tasks], cfg.dedup.model_dump(), cfg.themes.model_dump(),
                  files_digest([cfg.resolve(cfg.themes.file)]),
                  code_digest(["runner.py", "themes.py", "discover.py", "theme_model.py", "ingest/dedup.py", "tables.py"]))


def _copy_tree(src: Path, dst: Path) -> None:
    """Hard-link (or copy, across file systems) a run's table files."""
    for path in src.rglob("*"):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)


def _chrome_by_folder(paths: list[Path], cfg: Config) -> dict[Path, frozenset[str]]:
    from pipeline import ingest

    folders: dict[Path, list[Path]] = {}
    for p in paths:
        folders.setdefault(p.parent, []).append(p)
    return {folder: ingest.source_chrome(files, cfg) for folder, files in folders.items()}


def _tasks(corpus: Path, root: Path, cfg: Config, errors: list[dict]) -> list[FileTask]:
    """Input files with their cache keys; a file that cannot be read becomes an error row."""
    from pipeline import ingest

    paths, discover_errors = ingest.discover(corpus, cfg)
    errors.extend(discover_errors)
    chrome = _chrome_by_folder(paths, cfg)
    keys = stage_keys(cfg)
    tasks = []
    for p in paths:
        rel = ingest.display_path(p, root)
        try:
            size = p.stat().st_size
            tasks.append(FileTask(str(p), rel, size, chrome.get(p.parent, frozenset()),
                                  file_keys(str(p), rel, chrome.get(p.parent, frozenset()), keys)))
        except OSError as exc:
            errors.append({"source_path": rel, "stage": "read", "error": f"cannot read the file: {exc.strerror or exc}",
                           "hint": "check that the file exists and is readable, then run again"})
    return tasks


def run_pipeline(corpus: str | Path, out: str | Path = "outputs/run", config: str | Path | Config | None = None,
                 jobs: int | None = None, executor: str = "local", scheduler: str | None = None,
                 fresh: bool = False, cache_dir: str | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 on_start: Callable[[int, int], None] | None = None) -> RunSummary:
    """Run every stage over a corpus folder (or one file) and write the run's tables to `out`.

    progress(files_done, bytes_done) is called as work completes; on_start(n_files, n_bytes) once.
    Raises PipelineError when nothing at all could be processed (previous outputs are left untouched).
    """
    check_stages()
    cfg = config if isinstance(config, Config) else load_config(config)
    t0 = time.perf_counter()
    corpus, out = Path(corpus), Path(out)
    if not corpus.exists():
        raise PipelineError(f"corpus not found: {corpus} (give a folder or a file)")
    root = corpus if corpus.is_dir() else corpus.parent
    errors: list[dict] = []
    tasks = _tasks(corpus, root, cfg, errors)
    timings = {"discover": time.perf_counter() - t0}
    if on_start:
        on_start(len(tasks), sum(t.size for t in tasks))
    cache_url = cache_dir or cfg.run.cache_dir
    if fresh:
        cache_url = str(out.resolve().parent / f".{out.name}.fresh-cache")
        shutil.rmtree(cache_url, ignore_errors=True)
    cache = StageCache(cache_url)
    key = run_key(tasks, cfg)
    runs = Path(cache.url) / "runs" / key if "://" not in cache.url else None
    summary = RunSummary(out=out.resolve(), files=len(tasks), bytes=sum(t.size for t in tasks))
    n_jobs = jobs if jobs is not None else (cfg.run.jobs or os.cpu_count() or 1)
    writer = tables.RunWriter(out)
    try:
        if runs is not None and (runs / "run.json").exists() and not errors:
            _copy_tree(runs, writer.staging)
            previous = tables.read_run_info(writer.staging)
            for name, value in previous["counts"].items():
                setattr(summary, name, value)
            summary.files_cached, summary.run_cached = summary.files, True
            if progress:
                progress(len(tasks), summary.bytes)
        else:
            _process(tasks, root, cfg, cache, executor, n_jobs, scheduler, progress, writer, summary, errors, timings)
        summary.seconds = time.perf_counter() - t0
        summary.timings = timings
        if summary.articles == 0:
            raise PipelineError(_nothing_message(corpus, tasks, errors))
        info = {
            "corpus": str(corpus.resolve()), "out": str(out.resolve()), "argv": sys.argv, "executor": executor,
            "jobs": n_jobs, "run_key": key, "run_cached": summary.run_cached, "config": cfg.model_dump(),
            "versions": versions(), "counts": summary.counts(),
            "timings": {k: round(v, 3) for k, v in timings.items()},
            "stage_seconds": {k: round(v, 3) for k, v in summary.stage_seconds.items()},
            "seconds": round(summary.seconds, 3), "mb_per_s": round(summary.mb_per_s, 3),
        }
        writer.write_json("run.json", info)
        if runs is not None and not summary.run_cached and not any(e["stage"] == "read" for e in errors):
            shutil.rmtree(runs, ignore_errors=True)
            _copy_tree(writer.staging, runs)
        summary.out = writer.commit()
    except BaseException:
        writer.abort()
        raise
    return summary


def _process(tasks: list[FileTask], root: Path, cfg: Config, cache: StageCache, executor: str, n_jobs: int,
             scheduler: str | None, progress, writer: tables.RunWriter, summary: RunSummary,
             errors: list[dict], timings: dict[str, float]) -> None:
    """Phases 1-3 for a run that is not in the run-level cache."""
    from pipeline.ingest import dedup

    t1 = time.perf_counter()
    results: dict[str, FileSummary] = {}
    done_bytes = 0
    for result in execute(batches(tasks, cfg.run.batch_files), (str(root), cfg, cache.url), executor, n_jobs,
                          scheduler):
        for s in result:
            results[s.rel] = s
            done_bytes += s.size
        if progress:
            progress(len(results), done_bytes)
    timings["per_file_stages"] = time.perf_counter() - t1
    ordered = [results[t.rel] for t in tasks if t.rel in results]
    for s in ordered:
        errors.extend(s.errors)
        for stage, sec in s.seconds.items():
            summary.stage_seconds[stage] = summary.stage_seconds.get(stage, 0.0) + sec
    ok = [s for s in ordered if s.complete]
    summary.files_cached = sum(s.cached for s in ordered)

    t2 = time.perf_counter()
    dup = dedup.find_duplicates([d for s in ok for d in s.doc_ids], [g for s in ok for g in s.signatures], cfg)
    timings["dedup"] = time.perf_counter() - t2
    summary.duplicates = len(dup)

    t3 = time.perf_counter()
    _assemble(writer, ok, cache, dup, cfg, summary, timings)
    writer.write("errors", tables.to_table("errors", errors))
    summary.errors = len(errors)
    timings["assemble"] = time.perf_counter() - t3 - timings.get("theme_discovery", 0.0)


def _nothing_message(corpus: Path, tasks: list[FileTask], errors: list[dict]) -> str:
    if not tasks and not errors:
        return (f"no input files found in {corpus}: zhili reads .txt .md .html .htm .docx .pdf .csv .jsonl .xlsx "
                f"(see ingest.extensions in the config)")
    first = errors[0] if errors else {"source_path": "?", "error": "no articles"}
    return (f"none of the {len(tasks)} files in {corpus} could be processed ({len(errors)} errors, first: "
            f"{first['source_path']}: {first['error']}); previous outputs were left untouched")
