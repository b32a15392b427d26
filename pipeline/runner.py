"""The pipeline run: the one list of stages, the executors, and the assembly of a run's tables.

A run has three phases:
1. per file, in workers (serial, a process pool or a Dask cluster): ingest -> structure -> annotate ->
   themes.match, each stage's result stored in the content-addressed cache (pipeline/cache.py). Workers
   receive file paths and return compact summaries (counts, near-duplicate signatures), never tokens.
2. per run, on one node: near-duplicates over the signatures, then the run's tables are assembled from
   the cache in file order (so the result never depends on which worker finished first), streamed into
   Parquet part files.
3. per run: theme discovery on the problem and measure sentences no seeded theme explains, theme tables.
Outputs go through tables.RunWriter: written to a staging folder and swapped into place at the end.
"""
from __future__ import annotations

import hashlib
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline import tables
from pipeline.cache import StageCache, code_digest, digest, files_digest
from pipeline.config import Config, load_config


@dataclass(frozen=True)
class Stage:
    """A stage, the columns it needs and adds, and what its cached result depends on."""

    name: str
    scope: str  # "file": runs in workers, cached per file; "run": runs once over the whole run
    needs: tuple[str, ...]
    adds: tuple[str, ...]
    config: tuple[str, ...] = ()  # config sections it reads
    files: tuple[str, ...] = ()  # config keys naming files it reads (their contents are hashed)
    code: tuple[str, ...] = ()  # modules of pipeline/ that compute it


STAGES: tuple[Stage, ...] = (
    Stage("ingest", "file", needs=("input.file",),
          adds=("documents.text", "documents.title", "documents.date", "documents.year", "documents.region_code",
                "documents.regions", "mentions.code", "mentions.start", "mentions.end", "errors.error"),
          config=("ingest", "boilerplate", "compilation", "regions", "dedup"),
          code=("ingest/*.py", "config.py", "tables.py", "runner.py")),
    Stage("structure", "file", needs=("documents.text",),
          adds=("sections.heading", "sections.level", "sentences.text", "sentences.start", "sentences.end",
                "sentences.section_id", "sentences.is_heading"),
          config=("structure",), code=("structure.py",)),
    Stage("annotate", "file", needs=("sentences.text", "sentences.section_id", "sections.heading"),
          adds=("sentences.type", "sentences.type_score", "sentences.cues", "sentences.method"),
          config=("annotate", "labels"), files=("annotate.userdict", "annotate.cues", "labels.files"),
          code=("annotate.py", "tagger.py", "labels.py", "segment.py")),
    Stage("themes", "file", needs=("sentences.text", "sentences.type"),
          adds=("sentences.themes", "sentence_themes.theme_id"),
          config=("themes", "labels", "annotate"), files=("themes.file", "labels.files", "annotate.userdict"),
          code=("themes.py", "labels.py", "segment.py")),
    Stage("dedup", "run", needs=("documents.text",), adds=("documents.duplicate_of",)),
    Stage("discover", "run", needs=("sentences.type", "sentences.themes", "documents.duplicate_of"),
          adds=("themes.theme_id", "doc_themes.theme_id", "sentence_themes.theme_id"),
          config=("themes",), code=("themes.py",)),
)


class PipelineError(RuntimeError):
    """The run cannot proceed at all (nothing to read, bad stage wiring); the message says why."""


def check_stages(stages: Iterable[Stage] = STAGES) -> None:
    """Every column a stage needs is added by an earlier stage; checked before any file is read."""
    available = {"input.file"}
    for stage in stages:
        missing = [c for c in stage.needs if c not in available]
        if missing:
            raise PipelineError(f"stage {stage.name!r} needs {missing}, which no earlier stage adds")
        available.update(stage.adds)


# ---------------------------------------------------------------------------------------------------------
# Phase 1: per file, in workers


@dataclass
class FileTask:
    path: str
    rel: str
    size: int
    chrome: frozenset[str] = frozenset()


@dataclass
class FileSummary:
    """What a worker returns: small enough to ship between processes."""

    rel: str
    size: int
    keys: dict[str, str] = field(default_factory=dict)
    doc_ids: list[str] = field(default_factory=list)
    signatures: list[np.ndarray] = field(default_factory=list)
    n_sentences: int = 0
    errors: list[dict] = field(default_factory=list)
    cached: bool = False


def stage_keys(cfg: Config) -> dict[str, str]:
    """Per-stage digest of configuration sections, files and code, computed once per run."""
    dumped = cfg.model_dump()
    keys = {}
    for stage in STAGES:
        if stage.scope != "file":
            continue
        paths: list[Path] = []
        for ref in stage.files:
            section, key = ref.split(".")
            value = dumped[section][key]
            paths.extend(cfg.resolve(v) for v in (value if isinstance(value, list) else [value]))
        keys[stage.name] = digest(stage.name, {s: dumped[s] for s in stage.config},
                                  files_digest(paths), code_digest(stage.code))
    return keys


def doc_id_for(rel: str, article_index: int) -> str:
    """Stable article id: the same file path and position give the same id in every run."""
    return hashlib.sha1(f"{rel}\0{article_index}".encode("utf-8", "surrogateescape")).hexdigest()[:16]


class _Workers:
    """Per-process models, created on first use (a cached rerun never loads them)."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self._annotator = self._matcher = self._gazetteer = None

    @property
    def gazetteer(self):
        if self._gazetteer is None:
            from pipeline.ingest.regions import Gazetteer

            self._gazetteer = Gazetteer.load(self.cfg)
        return self._gazetteer

    @property
    def annotator(self):
        if self._annotator is None:
            from pipeline.annotate import Annotator

            self._annotator = Annotator(self.cfg)
        return self._annotator

    @property
    def matcher(self):
        if self._matcher is None:
            from pipeline.themes import ThemeMatcher

            self._matcher = ThemeMatcher(self.cfg)
        return self._matcher


_STATE: dict[str, _Workers] = {}


def _workers(cfg: Config) -> _Workers:
    key = cfg.digest()
    if key not in _STATE:
        _STATE.clear()
        _STATE[key] = _Workers(cfg)
    return _STATE[key]


def _bug(rel: str, stage: str, exc: BaseException) -> dict:
    return {"source_path": rel, "stage": stage, "error": f"{type(exc).__name__}: {exc}",
            "hint": "the file was skipped at this stage; this is a bug in zhili, please report it with the file"}


def _ingest_file(task: FileTask, root: Path, cfg: Config, w: _Workers) -> tuple[dict[str, pa.Table], list, list]:
    """Ingest, regions, structure and near-duplicate signatures of one file."""
    from pipeline import ingest, structure
    from pipeline.ingest import dedup, regions

    result = ingest.read_file(Path(task.path), root, cfg, task.chrome)
    errors = list(result.errors)
    docs, sections, sentences, mentions, sigs = [], [], [], [], []
    for art in result.articles:
        doc_id = doc_id_for(task.rel, art.get("article_index", 0))
        text = art["text"]
        try:
            found = regions.find_mentions(text, w.gazetteer)
            primary = regions.primary_region(found, art.get("region_hint") or "", w.gazetteer)
        except Exception as exc:  # noqa: BLE001 - one bad article must not stop the file
            errors.append(_bug(task.rel, "regions", exc))
            found, primary = [], {}
        try:
            secs, sents = structure.split(text, cfg.structure)
        except Exception as exc:  # noqa: BLE001
            errors.append(_bug(task.rel, "structure", exc))
            secs, sents = [], []
        doc = {k: v for k, v in art.items() if k in tables.DOCUMENTS.names}
        doc.update(primary)
        doc.update(doc_id=doc_id, source_path=task.rel, n_chars=len(text),
                   n_sections=len(secs), n_sentences=len(sents))
        docs.append(doc)
        sections.extend({**s, "doc_id": doc_id} for s in secs)
        sentences.extend({**s, "doc_id": doc_id} for s in sents)
        mentions.extend({**m, "doc_id": doc_id} for m in found)
        sigs.append(dedup.signature(text, cfg))
    out = {
        "documents": tables.to_table("documents", docs),
        "sections": tables.to_table("sections", sections),
        "sentences": tables.to_table("sentences", sentences),
        "mentions": tables.to_table("mentions", mentions),
        "signatures": pa.table({"doc_id": [d["doc_id"] for d in docs],
                                "signature": [s.astype(np.uint64) for s in sigs]},
                               schema=pa.schema([("doc_id", pa.string()), ("signature", pa.list_(pa.uint64()))])),
    }
    return out, errors, sigs


ANNOTATION_COLUMNS = ("type", "type_score", "cues", "method")


def _rows_by_doc(table: pa.Table) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in table.to_pylist():
        grouped.setdefault(row["doc_id"], []).append(row)
    return grouped


def _annotate_file(base: dict[str, pa.Table], rel: str, w: _Workers) -> tuple[pa.Table, list]:
    """Type, score, cues and method for every sentence of a file, in the order of its sentences table."""
    errors = []
    sections = _rows_by_doc(base["sections"])
    out: list[dict] = []
    for doc_id, sents in _rows_by_doc(base["sentences"]).items():
        try:
            w.annotator.annotate(sents, sections.get(doc_id, []))
        except Exception as exc:  # noqa: BLE001
            errors.append(_bug(rel, "annotate", exc))
        out.extend(sents)
    cols = {c: [s.get(c) for s in out] for c in ANNOTATION_COLUMNS}
    schema = pa.schema([tables.SENTENCES.field(c) for c in ANNOTATION_COLUMNS])
    return pa.Table.from_pydict(cols, schema=schema), errors


def _match_file(base: dict[str, pa.Table], annotated: pa.Table, rel: str, w: _Workers) -> tuple[dict, list]:
    """Seeded themes of every sentence of a file."""
    errors = []
    sentences = base["sentences"]
    for name in ANNOTATION_COLUMNS:
        sentences = sentences.set_column(sentences.schema.get_field_index(name), name, annotated[name])
    themes_col: list[list[str]] = []
    st_rows: list[dict] = []
    for doc_id, sents in _rows_by_doc(sentences).items():
        try:
            rows = w.matcher.match(sents)
            st_rows.extend({**r, "doc_id": doc_id} for r in rows)
        except Exception as exc:  # noqa: BLE001
            errors.append(_bug(rel, "themes", exc))
        themes_col.extend(s.get("themes") or [] for s in sents)
    themes = pa.table({"themes": pa.array(themes_col, type=pa.list_(pa.string()))})
    return {"themes": themes, "sentence_themes": tables.to_table("sentence_themes", st_rows)}, errors


def process_file(task: FileTask, root: Path, cfg: Config, cache: StageCache, keys: dict[str, str]) -> FileSummary:
    """All per-file stages, each taken from the cache when its inputs are unchanged."""
    summary = FileSummary(rel=task.rel, size=task.size)
    try:
        content = digest(Path(task.path).read_bytes())
    except OSError as exc:
        summary.errors.append({"source_path": task.rel, "stage": "read", "error": f"cannot read the file: {exc}",
                               "hint": "check that the file exists and is readable, then run again"})
        return summary
    w = _workers(cfg)
    k_ingest = digest(keys["ingest"], keys["structure"], content, task.rel, sorted(task.chrome))
    k_annot = digest(k_ingest, keys["annotate"])
    k_themes = digest(k_annot, keys["themes"])
    summary.keys = {"ingest": k_ingest, "annotate": k_annot, "themes": k_themes}
    summary.cached = cache.has(k_themes)
    if cache.has(k_ingest):
        base = {n: cache.load(k_ingest, n) for n in ("sections", "sentences")}
        meta = cache.meta(k_ingest)
        summary.errors.extend(meta["errors"])
        sig_table = cache.load(k_ingest, "signatures")
        sigs = [np.asarray(s, dtype=np.uint64) for s in sig_table["signature"].to_pylist()]
        doc_ids = sig_table["doc_id"].to_pylist()
    else:
        out, errors, sigs = _ingest_file(task, root, cfg, w)
        summary.errors.extend(errors)
        doc_ids = out["documents"]["doc_id"].to_pylist()
        if not out["documents"].num_rows and errors:
            return summary  # a failed read is not cached: the next run tries again
        cache.save(k_ingest, out, {"errors": errors, "rel": task.rel})
        base = out
    summary.doc_ids, summary.signatures = doc_ids, sigs
    summary.n_sentences = base["sentences"].num_rows
    if cache.has(k_annot):
        annotated = cache.load(k_annot, "annotations")
        summary.errors.extend(cache.meta(k_annot)["errors"])
    else:
        annotated, errors = _annotate_file(base, task.rel, w)
        summary.errors.extend(errors)
        cache.save(k_annot, {"annotations": annotated}, {"errors": errors})
    if cache.has(k_themes):
        summary.errors.extend(cache.meta(k_themes)["errors"])
    else:
        matched, errors = _match_file(base, annotated, task.rel, w)
        summary.errors.extend(errors)
        cache.save(k_themes, matched, {"errors": errors})
    return summary


def process_batch(batch: list[FileTask], root: str, cfg: Config, cache_url: str, keys: dict[str, str]) -> list[FileSummary]:
    """The unit of work shipped to a worker: a few files, by path."""
    cache = StageCache(cache_url)
    return [process_file(task, Path(root), cfg, cache, keys) for task in batch]


# ---------------------------------------------------------------------------------------------------------
# Executors


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


def _serial(work: list[list[FileTask]], fn: Callable, args: tuple) -> Iterator[list[FileSummary]]:
    for batch in work:
        yield fn(batch, *args)


def _pool(work: list[list[FileTask]], fn: Callable, args: tuple, jobs: int) -> Iterator[list[FileSummary]]:
    import multiprocessing

    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(fn, batch, *args) for batch in work]
        for future in as_completed(futures):
            yield future.result()


def _dask(work: list[list[FileTask]], fn: Callable, args: tuple, scheduler: str | None,
          workers: int) -> Iterator[list[FileSummary]]:
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


def execute(work: list[list[FileTask]], args: tuple, executor: str, jobs: int,
            scheduler: str | None = None) -> Iterator[list[FileSummary]]:
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


def _discovery_sample(sentences: pa.Table, dup: dict[str, str], limit_hash: int) -> pd.DataFrame:
    """Problem and measure sentences of originals that no seeded theme explains (hash-sampled at scale)."""
    frame = sentences.select(["doc_id", "sent_id", "text", "type", "themes"]).to_pandas()
    keep = frame["type"].isin(["problem", "measure"]) & (frame["themes"].map(len) == 0)
    keep &= ~frame["doc_id"].isin(dup.keys())
    frame = frame[keep]
    if limit_hash < 2**32:
        h = frame["text"].map(lambda t: int(hashlib.md5(t.encode()).hexdigest()[:8], 16))
        frame = frame[h < limit_hash]
    return frame


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

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds else 0.0


def versions() -> dict[str, str]:
    """Versions of Python and the libraries whose behaviour shapes the tables."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "zhili": "0.1.0"}
    for pkg in ("pyarrow", "pandas", "spacy", "rjieba", "jieba", "scikit-learn", "datasketch", "trafilatura",
                "charset-normalizer", "opencc-python-reimplemented", "pdfplumber", "python-docx"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "absent"
    return out


def _chrome_by_folder(paths: list[Path], cfg: Config) -> dict[Path, frozenset[str]]:
    from pipeline import ingest

    folders: dict[Path, list[Path]] = {}
    for p in paths:
        folders.setdefault(p.parent, []).append(p)
    return {folder: ingest.source_chrome(files, cfg) for folder, files in folders.items()}


def run_pipeline(corpus: str | Path, out: str | Path = "outputs/run", config: str | Path | Config | None = None,
                 jobs: int | None = None, executor: str = "local", scheduler: str | None = None,
                 fresh: bool = False, cache_dir: str | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 on_start: Callable[[int, int], None] | None = None) -> RunSummary:
    """Run every stage over a corpus folder (or one file) and write the run's tables to `out`.

    progress(files_done, bytes_done) is called as work completes; on_start(n_files, n_bytes) once.
    Raises PipelineError when nothing at all could be processed.
    """
    from pipeline import ingest
    from pipeline.ingest import dedup

    check_stages()
    cfg = config if isinstance(config, Config) else load_config(config)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    corpus = Path(corpus)
    if not corpus.exists():
        raise PipelineError(f"corpus not found: {corpus} (give a folder or a file)")
    root = corpus if corpus.is_dir() else corpus.parent
    paths, errors = ingest.discover(corpus, cfg)
    chrome = _chrome_by_folder(paths, cfg)
    tasks = []
    for p in paths:
        try:
            size = p.stat().st_size
        except OSError:
            size = 0
        tasks.append(FileTask(str(p), os.fsdecode(p.relative_to(root)) if p != root else p.name, size,
                              chrome.get(p.parent, frozenset())))
    timings["discover"] = time.perf_counter() - t0
    if on_start:
        on_start(len(tasks), sum(t.size for t in tasks))

    cache_url = cache_dir or cfg.run.cache_dir
    if fresh:
        cache_url = str(Path(out).resolve().parent / f".{Path(out).name}.fresh-cache")
        import shutil

        shutil.rmtree(cache_url, ignore_errors=True)
    cache = StageCache(cache_url)
    keys = stage_keys(cfg)
    n_jobs = jobs if jobs is not None else (cfg.run.jobs or os.cpu_count() or 1)
    work = batches(tasks, cfg.run.batch_files)
    summaries: dict[str, FileSummary] = {}
    t1 = time.perf_counter()
    done_files = done_bytes = 0
    for result in execute(work, (str(root), cfg, cache.url, keys), executor, n_jobs, scheduler):
        for s in result:
            summaries[s.rel] = s
            done_files += 1
            done_bytes += s.size
        if progress:
            progress(done_files, done_bytes)
    timings["per_file_stages"] = time.perf_counter() - t1

    ordered = [summaries[t.rel] for t in tasks if t.rel in summaries]
    for s in ordered:
        errors.extend(s.errors)
    ok = [s for s in ordered if s.keys and s.doc_ids is not None and "themes" in s.keys and cache.has(s.keys["themes"])]
    t2 = time.perf_counter()
    ids = [d for s in ok for d in s.doc_ids]
    sigs = [g for s in ok for g in s.signatures]
    dup = dedup.find_duplicates(ids, sigs, cfg)
    timings["dedup"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    writer = tables.RunWriter(out)
    try:
        summary = _assemble(writer, ok, cache, dup, cfg, errors, timings)
        summary.files = len(tasks)
        summary.files_cached = sum(s.cached for s in ordered)
        summary.bytes = sum(t.size for t in tasks)
        summary.duplicates = len(dup)
        summary.errors = len(errors)
        timings["assemble_and_themes"] = time.perf_counter() - t3
        summary.seconds = time.perf_counter() - t0
        summary.timings = timings
        if summary.articles == 0:
            raise PipelineError(_nothing_message(corpus, tasks, errors))
        writer.write_json("run.json", {
            "corpus": str(corpus.resolve()), "out": str(Path(out).resolve()), "argv": sys.argv,
            "executor": executor, "jobs": n_jobs, "config": cfg.model_dump(), "versions": versions(),
            "counts": {"files": summary.files, "files_cached": summary.files_cached, "bytes": summary.bytes,
                       "articles": summary.articles, "sentences": summary.sentences, "errors": summary.errors,
                       "duplicates": summary.duplicates, "themes_discovered": summary.themes_discovered},
            "timings": {k: round(v, 3) for k, v in timings.items()},
            "seconds": round(summary.seconds, 3), "mb_per_s": round(summary.mb_per_s, 3),
        })
        summary.out = writer.commit()
    except BaseException:
        writer.abort()
        raise
    return summary


def _nothing_message(corpus: Path, tasks: list[FileTask], errors: list[dict]) -> str:
    if not tasks:
        return (f"no input files found in {corpus}: zhili reads .txt .md .html .htm .docx .pdf .csv .jsonl .xlsx "
                f"(see ingest.extensions in the config)")
    return (f"none of the {len(tasks)} files in {corpus} could be processed ({len(errors)} errors, "
            f"first: {errors[0]['source_path']}: {errors[0]['error']}); previous outputs were left untouched")


def _assemble(writer: tables.RunWriter, ok: list[FileSummary], cache: StageCache, dup: dict[str, str],
              cfg: Config, errors: list[dict], timings: dict[str, float]) -> RunSummary:
    """Stream every file's cached results into the run's part files, then the per-run theme tables."""
    from pipeline import themes

    summary = RunSummary(out=writer.out)
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
    writer.write("errors", tables.to_table("errors", errors))

    t = time.perf_counter()
    sentences = pa.concat_tables(compact).to_pandas() if compact else tables.empty("sentences").to_pandas()
    sentences = sentences[~sentences["doc_id"].isin(dup.keys())]
    pool = pd.concat(candidates, ignore_index=True) if candidates else pd.DataFrame(
        columns=["doc_id", "sent_id", "text", "type", "themes"])
    discovered, discovered_links = (themes.discover(pool, cfg) if cfg.themes.discover and len(pool)
                                    else ([], []))
    timings["discover"] = time.perf_counter() - t
    seeded_links = tables.read_table(writer.staging, "sentence_themes").to_pandas()
    if discovered_links:
        writer.write_part("sentence_themes", tables.to_table("sentence_themes", discovered_links))
    theme_rows, doc_theme_rows = themes.theme_tables(sentences, seeded_links, discovered, cfg)
    writer.write("themes", tables.to_table("themes", theme_rows))
    writer.write("doc_themes", tables.to_table("doc_themes", doc_theme_rows))
    summary.themes_discovered = len(discovered)
    return summary
