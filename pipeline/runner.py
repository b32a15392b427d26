"""The pipeline run, in three phases.

1. per file, in workers (pipeline/work.py via pipeline/executors.py): ingest -> structure -> annotate ->
   themes.match, each stage's result kept in the content-addressed cache.
   Each batch of files writes its rows as part files numbered by the batch's position (so tables never
   depend on which worker finished first) and returns compact summaries.
2. per run, on one node: near-duplicates over the workers' signatures, marked in the few documents
   parts that hold one.
3. per run: theme discovery on the problem and measure sentences no seeded theme explains, read part by
   part; theme tables from the workers' per-article theme counts.

A run whose every input key is unchanged is copied from the run-level cache instead. Outputs go through
tables.RunWriter: written to a staging folder and swapped into place at the end.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import platform
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import tables
from pipeline.cache import StageCache, code_digest, digest, files_digest
from pipeline.config import Config, load_config
from pipeline.executors import batches, execute
from pipeline.stages import PipelineError, check_stages, file_keys, stage_keys
from pipeline.work import PART_TABLES, BatchResult, FileTask

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


@dataclass
class BatchArticles:
    """What the run node keeps of a batch once its result is in: its articles, their sentence counts and
    near-duplicate signatures, and its error rows. The per-file summaries are dropped on arrival: kept,
    they made the run node grow by ~3 KB a file (110 MB on a 1 GB corpus)."""

    doc_ids: list[str]
    doc_sentences: list[int]
    signatures: list[np.ndarray]
    errors: list[dict]


def _articles(result: BatchResult, summary: RunSummary) -> BatchArticles:
    """Count a batch's files into the summary and keep its articles (files in their batch order)."""
    kept = BatchArticles([], [], [], [])
    for s in result.files:
        kept.doc_ids.extend(s.doc_ids)
        kept.doc_sentences.extend(s.doc_sentences)
        kept.signatures.extend(s.signatures)
        kept.errors.extend(s.errors)
        for stage, sec in s.seconds.items():
            summary.stage_seconds[stage] = summary.stage_seconds.get(stage, 0.0) + sec
        summary.files_cached += s.cached
        summary.articles += len(s.doc_ids)
        summary.sentences += s.n_sentences
    result.files = []
    return kept


def _mark_duplicates(writer: tables.RunWriter, batches_: dict[int, BatchArticles], dup: dict[str, str]) -> None:
    """Fill documents.duplicate_of in the part files of the batches holding a near-duplicate (few)."""
    for index, kept in batches_.items():
        if not any(d in dup for d in kept.doc_ids):
            continue
        docs = pq.read_table(writer.staging / "documents" / tables.part_name(index))
        column = pa.array([dup.get(d) for d in docs["doc_id"].to_pylist()], type=pa.string())
        writer.write_part("documents", docs.set_column(docs.schema.get_field_index("duplicate_of"),
                                                       "duplicate_of", column), index)


def _discovery_pool(staging: Path, dup: dict[str, str], limit_hash: int) -> pd.DataFrame:
    """Problem and measure sentences of originals that no seeded theme explains, read part by part
    (hash-sampled when the run has more than themes.max_discovery_sentences)."""
    folder = staging / "sentences"
    frames = [pd.DataFrame(columns=["doc_id", "sent_id", "text", "type", "themes"])]
    for part in sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []:
        t = pq.read_table(part, columns=["doc_id", "sent_id", "text", "type", "themes"])
        keep = pc.and_(pc.is_in(t["type"], pa.array(["problem", "measure"])),
                       pc.equal(pc.list_value_length(t["themes"]), 0))
        if dup:
            keep = pc.and_(keep, pc.invert(pc.is_in(t["doc_id"], pa.array(list(dup)))))
        t = t.filter(keep)
        if limit_hash < 2**32:  # sampled in Arrow, so that only the sample becomes Python objects
            h = np.fromiter((int.from_bytes(hashlib.md5(s.encode()).digest()[:4], "big")
                             for s in t["text"].to_pylist()), dtype=np.int64, count=t.num_rows)
            t = t.filter(pa.array(h < limit_hash))
        frames.append(t.to_pandas())
    return pd.concat(frames, ignore_index=True)


class ThemeFrames:
    """The workers' doc_themes rows and example candidates, folded in batch order as results arrive.

    A batch's frames are small but many (one pair per 32 files); holding them all until the end made the
    run node grow with the corpus. Every `every` consecutive batches are concatenated into one frame and
    their examples reduced to the top candidates (themes.theme_examples is associative), in batch order
    whatever the order of arrival, so the tables stay deterministic.
    """

    def __init__(self, every: int = 64):
        self.every = every
        self.pending: dict[int, BatchResult] = {}
        self.next = 0
        self.doc_themes: list[pd.DataFrame] = []
        self.examples: list[pd.DataFrame] = []

    def add(self, result: BatchResult) -> None:
        self.pending[result.index] = result
        while all(i in self.pending for i in range(self.next, self.next + self.every)):
            self._fold(list(range(self.next, self.next + self.every)))
            self.next += self.every

    def _fold(self, indices: list[int]) -> None:
        """Concatenate the frames of these batches and drop them from the results."""
        from pipeline import themes

        batch = [self.pending.pop(i) for i in indices]
        self.doc_themes.append(pd.concat([r.doc_themes for r in batch], ignore_index=True))
        self.examples.append(themes.theme_examples(pd.concat([r.examples for r in batch], ignore_index=True)))
        for r in batch:
            r.doc_themes = r.examples = None

    def finish(self) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
        """Every batch's frames in batch order (the results must all have been added)."""
        if self.pending:
            self._fold(sorted(self.pending))
        return self.doc_themes, self.examples


def _theme_tables(writer: tables.RunWriter, frames: ThemeFrames, batches_: dict[int, BatchArticles],
                  dup: dict[str, str], cfg: Config, summary: RunSummary, timings: dict[str, float]) -> None:
    """Theme discovery on the run's unexplained sentences, then the themes and doc_themes tables."""
    from pipeline import themes

    limit = int(2**32 * min(1.0, cfg.themes.max_discovery_sentences / max(1, summary.sentences)))
    t = time.perf_counter()
    pool = _discovery_pool(writer.staging, dup, limit)
    discovered, links = themes.discover(pool, cfg) if cfg.themes.discover and len(pool) else ([], [])
    timings["theme_discovery"] = time.perf_counter() - t
    doc_themes, examples = frames.finish()
    if links:
        writer.write_part("sentence_themes", tables.to_table("sentence_themes", links), len(batches_))
        sizes = {d: n for kept in batches_.values() for d, n in zip(kept.doc_ids, kept.doc_sentences)}
        found_doc_themes, found_examples = themes.link_aggregates(pd.DataFrame(links), pool, sizes)
        doc_themes.append(found_doc_themes)
        examples.append(found_examples)
    doc_themes = pd.concat(doc_themes, ignore_index=True)
    doc_themes = doc_themes[~doc_themes["doc_id"].isin(dup.keys())].sort_values(["doc_id", "theme_id"])
    writer.write("themes", tables.to_table("themes", themes.theme_rows(doc_themes, pd.concat(examples), discovered, cfg)))
    writer.write("doc_themes", tables.to_table("doc_themes", doc_themes))
    summary.themes_discovered = len(discovered)


def run_key(tasks: list[FileTask], cfg: Config, errors: list[dict]) -> str:
    """Everything the whole run's tables depend on: every file's last stage key, the error rows found
    before any file was read (unsupported files), and the per-run steps."""
    return digest([(t.rel, t.keys["themes"]) for t in tasks], [sorted(e.items()) for e in errors],
                  cfg.dedup.model_dump(), cfg.themes.model_dump(),
                  files_digest([cfg.resolve(cfg.themes.file)]),
                  code_digest(["runner.py", "work.py", "themes.py", "discover.py", "theme_model.py", "ingest/dedup.py", "tables.py"]))


def _retry(errors: list[dict]) -> bool:
    """Whether a run must not come from (or go to) the run-level cache: a file or folder could not be
    read, which may not be so next time (a file that cannot be parsed, or an unsupported one, stage
    discover, fails the same way on every run)."""
    return any(e["stage"] == "read" for e in errors)


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


def _chrome_by_folder(paths: list[Path], cfg: Config, ingest_key: str,
                      cache: StageCache | None) -> dict[Path, frozenset[str]]:
    """Each folder's boilerplate lines; with a cache, remembered under the hash of the sampled bytes, so
    a rerun reads the samples but decodes none of them (that was half of an unchanged rerun)."""
    from pipeline import ingest

    folders: dict[Path, list[Path]] = {}
    for p in paths:
        folders.setdefault(p.parent, []).append(p)
    out = {}
    for folder, files in folders.items():
        sample = ingest.chrome_sample(files, cfg.boilerplate)
        key = digest("chrome", ingest_key, *[part for suffix, data in sample for part in (suffix, data or b"\0")])
        if cache is not None and cache.has(key):
            out[folder] = frozenset(cache.load(key)[0]["chrome"]["line"].to_pylist())
            continue
        out[folder] = ingest.source_chrome(files, cfg, sample)
        if cache is not None:
            cache.save(key, {"chrome": pa.table({"line": pa.array(sorted(out[folder]), pa.string())})}, {})
    return out


def _tasks(corpus: Path, root: Path, cfg: Config, errors: list[dict],
           cache: StageCache | None = None) -> list[FileTask]:
    """Input files with their cache keys; a file that cannot be read becomes an error row."""
    from pipeline import ingest

    paths, discover_errors = ingest.discover(corpus, cfg)
    errors.extend(discover_errors)
    keys = stage_keys(cfg)
    chrome = _chrome_by_folder(paths, cfg, keys["ingest"], cache)
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
    unsafe = tables.unsafe_out(out)
    if unsafe:
        raise PipelineError(unsafe)
    errors: list[dict] = []
    cache_url = cache_dir or cfg.run.cache_dir
    if fresh:
        cache_url = str(out.resolve().parent / f".{out.name}.fresh-cache")
        shutil.rmtree(cache_url, ignore_errors=True)
    try:
        cache = StageCache(cache_url, cfg.run.cache_compression)
    except OSError as exc:
        raise PipelineError(f"cannot use the cache folder {cache_url}: {exc.strerror or exc}; give another "
                            "--cache-dir (or run.cache_dir in the config)") from None
    tasks = _tasks(corpus, root, cfg, errors, cache)
    if not tasks:  # an empty folder, or only files zhili does not read: nothing to run (it used to crash)
        raise PipelineError(_nothing_message(corpus, tasks, errors, cfg))
    timings = {"discover": time.perf_counter() - t0}
    if on_start:
        on_start(len(tasks), sum(t.size for t in tasks))
    key = run_key(tasks, cfg, errors)
    runs = Path(cache.url) / "runs" / key if "://" not in cache.url else None
    summary = RunSummary(out=out.resolve(), files=len(tasks), bytes=sum(t.size for t in tasks))
    n_jobs = jobs if jobs is not None else (cfg.run.jobs or os.cpu_count() or 1)
    try:
        writer = tables.RunWriter(out)
    except OSError as exc:
        raise PipelineError(f"cannot write the output folder {out}: {exc.strerror or exc}; give another --out") from None
    try:
        if runs is not None and (runs / "run.json").exists() and not _retry(errors):
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
            raise PipelineError(_nothing_message(corpus, tasks, errors, cfg))
        info = {
            "corpus": str(corpus.resolve()), "out": str(out.resolve()), "argv": sys.argv, "executor": executor,
            "jobs": n_jobs, "run_key": key, "run_cached": summary.run_cached, "config": cfg.model_dump(),
            "versions": versions(), "counts": summary.counts(),
            "timings": {k: round(v, 3) for k, v in timings.items()},
            "stage_seconds": {k: round(v, 3) for k, v in summary.stage_seconds.items()},
            "seconds": round(summary.seconds, 3), "mb_per_s": round(summary.mb_per_s, 3),
        }
        writer.write_json("run.json", info)
        if runs is not None and not summary.run_cached and not _retry(errors):
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
    if cfg.themes.discover and n_jobs > 1:
        # phase 3's imports (scikit-learn: ~2 s) load while the workers run, not after them
        threading.Thread(target=importlib.import_module, args=("pipeline.discover",), daemon=True).start()
    units = list(enumerate(batches(tasks, cfg.run.batch_files)))
    if executor != "local" or (n_jobs > 1 and len(units) > 1):
        _train_models(cfg)
        timings["models"] = time.perf_counter() - t1
    arrived: dict[int, BatchArticles] = {}
    frames = ThemeFrames()
    done_files = done_bytes = 0
    for result in execute(units, (str(root), cfg, cache.url, str(writer.staging)), executor, n_jobs, scheduler):
        done_files += len(result.files)
        done_bytes += sum(s.size for s in result.files)
        arrived[result.index] = _articles(result, summary)
        frames.add(result)
        if progress:
            progress(done_files, done_bytes)
    timings["per_file_stages"] = time.perf_counter() - t1
    kept = {i: arrived[i] for i in sorted(arrived)}
    for batch in kept.values():
        errors.extend(batch.errors)

    t2 = time.perf_counter()
    dup = dedup.find_duplicates([d for b in kept.values() for d in b.doc_ids],
                                [g for b in kept.values() for g in b.signatures], cfg)
    _mark_duplicates(writer, kept, dup)
    timings["dedup"] = time.perf_counter() - t2
    summary.duplicates = len(dup)

    t3 = time.perf_counter()
    _theme_tables(writer, frames, kept, dup, cfg, summary, timings)
    writer.ensure(*PART_TABLES)
    writer.write("errors", tables.to_table("errors", errors))
    summary.errors = len(errors)
    timings["theme_tables"] = time.perf_counter() - t3 - timings["theme_discovery"]


def _train_models(cfg: Config) -> None:
    """Load the tagger and the theme model here, training them into their caches when missing, before the
    workers start: each worker would otherwise find the cache empty and train its own copy at the same
    time (after a cue, label or code change: ~15 s of CPU per worker, on every worker of a cluster that
    shares the cache). Costs about 0.4 s when both are cached."""
    from pipeline.tagger import load_or_train
    from pipeline.themes import ThemeMatcher

    load_or_train(cfg)
    ThemeMatcher(cfg)


def _nothing_message(corpus: Path, tasks: list[FileTask], errors: list[dict], cfg: Config) -> str:
    if not tasks and not errors:
        return (f"no input files found in {corpus}: zhili reads {' '.join(cfg.ingest.extensions)} "
                f"(see ingest.extensions in the config)")
    first = errors[0] if errors else {"source_path": "?", "error": "no articles", "hint": ""}
    what = (f"none of the {len(tasks)} files in {corpus} could be processed" if tasks else
            f"no file in {corpus} is of a type zhili reads")
    hint = f" -> {first['hint']}" if first.get("hint") else ""
    return (f"{what} ({len(errors)} errors, first: {first['source_path']}: {first['error']}{hint}); "
            "previous outputs were left untouched")
