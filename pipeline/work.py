"""Per-file work, run inside workers: ingest -> structure -> annotate -> themes.match, each cached.

Workers receive file paths, write their batch's rows as part files of the run (and each stage's result
to the cache, pipeline/cache.py) and return compact summaries: counts, near-duplicate signatures,
errors, per-article theme counts. Tables and token lists never travel back through the executor.
One bad article or stage becomes an error row, never a crashed run.
"""
from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline import tables
from pipeline.cache import StageCache
from pipeline.config import Config


@dataclass
class FileTask:
    path: str
    rel: str
    size: int
    chrome: frozenset[str] = frozenset()
    keys: dict[str, str] = field(default_factory=dict)  # cache key of each per-file stage


@dataclass
class FileSummary:
    """What a worker returns: small enough to ship between processes."""

    rel: str
    size: int
    keys: dict[str, str] = field(default_factory=dict)
    doc_ids: list[str] = field(default_factory=list)
    doc_sentences: list[int] = field(default_factory=list)  # sentences per article, as doc_ids
    signatures: list[np.ndarray] = field(default_factory=list)
    n_sentences: int = 0
    errors: list[dict] = field(default_factory=list)
    cached: bool = False  # every stage came from the cache
    seconds: dict[str, float] = field(default_factory=dict)  # per stage, work done for this file


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


@contextmanager
def timed(seconds: dict[str, float], stage: str) -> Iterator[None]:
    """Add the time spent in the block to seconds[stage]."""
    t = time.perf_counter()
    try:
        yield
    finally:
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - t


def _ingest_file(task: FileTask, root: Path, cfg: Config, w: _Workers,
                 clock: Callable) -> tuple[dict[str, pa.Table], list]:
    """Ingest, regions, structure and near-duplicate signatures of one file."""
    from pipeline import ingest, structure
    from pipeline.ingest import dedup, regions

    with clock("ingest"):
        result = ingest.read_file(Path(task.path), root, cfg, task.chrome)
    errors = list(result.errors)
    docs, sections, sentences, mentions, sigs = [], [], [], [], []
    for art in result.articles:
        doc_id = doc_id_for(task.rel, art.get("article_index", 0))
        text = art["text"]
        try:
            with clock("regions"):
                found = regions.find_mentions(text, w.gazetteer, art.get("region_hint") or "")
                primary = regions.primary_region(found, art.get("region_hint") or "", w.gazetteer)
        except Exception as exc:  # noqa: BLE001 - one bad article must not stop the file
            errors.append(_bug(task.rel, "regions", exc))
            found, primary = [], {}
        try:
            with clock("structure"):
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
        with clock("dedup"):
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
    return out, errors


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


def _file_tables(base: dict[str, pa.Table], annotated: pa.Table, matched: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """The rows of one file for each part table (documents.duplicate_of is set later, on the run node)."""
    sentences = base["sentences"]
    for name in ANNOTATION_COLUMNS:
        sentences = sentences.set_column(sentences.schema.get_field_index(name), name, annotated[name])
    sentences = sentences.set_column(sentences.schema.get_field_index("themes"), "themes", matched["themes"]["themes"])
    return {"documents": base["documents"], "sections": base["sections"], "sentences": sentences,
            "mentions": base["mentions"], "sentence_themes": matched["sentence_themes"]}


def process_file(task: FileTask, root: Path, cfg: Config,
                 cache: StageCache) -> tuple[FileSummary, dict[str, pa.Table] | None]:
    """All per-file stages, each taken from the cache when its inputs are unchanged; the file's rows."""
    summary = FileSummary(rel=task.rel, size=task.size, keys=task.keys)
    w = _workers(cfg)
    clock = functools.partial(timed, summary.seconds)
    k_ingest, k_annot, k_themes = task.keys["ingest"], task.keys["annotate"], task.keys["themes"]
    if cache.has(k_ingest):
        base, meta = cache.load(k_ingest)
        summary.errors.extend(meta["errors"])
    else:
        base, errors = _ingest_file(task, root, cfg, w, clock)
        summary.errors.extend(errors)
        if not base["documents"].num_rows and errors:
            return summary, None  # a failed read is not cached: the next run tries again
        cache.save(k_ingest, base, {"errors": errors})
    sig_table = base["signatures"]
    summary.doc_ids = sig_table["doc_id"].to_pylist()
    summary.signatures = [np.asarray(s, dtype=np.uint64) for s in sig_table["signature"].to_pylist()]
    summary.doc_sentences = base["documents"]["n_sentences"].to_pylist()
    summary.n_sentences = base["sentences"].num_rows
    summary.cached = cache.has(k_themes)
    if cache.has(k_annot):
        found, meta = cache.load(k_annot)
        annotated = found["annotations"]
        summary.errors.extend(meta["errors"])
    else:
        with clock("annotate"):
            annotated, errors = _annotate_file(base, task.rel, w)
        summary.errors.extend(errors)
        cache.save(k_annot, {"annotations": annotated}, {"errors": errors})
    if summary.cached:
        matched, meta = cache.load(k_themes)
        summary.errors.extend(meta["errors"])
    else:
        with clock("themes"):
            matched, errors = _match_file(base, annotated, task.rel, w)
        summary.errors.extend(errors)
        cache.save(k_themes, matched, {"errors": errors})
    return summary, _file_tables(base, annotated, matched)


PART_TABLES = ("documents", "sections", "sentences", "mentions", "sentence_themes")


@dataclass
class BatchResult:
    """What a worker returns for a batch; its rows are already in the run's part files number `index`."""

    index: int
    files: list[FileSummary]
    doc_themes: pd.DataFrame  # DOC_THEMES rows of the batch's articles (duplicates included)
    examples: pd.DataFrame  # best example candidates per theme (themes.theme_examples)


def process_batch(unit: tuple[int, list[FileTask]], root: str, cfg: Config, cache_url: str,
                  run_url: str) -> BatchResult:
    """The unit of work shipped to a worker: a few files by path; it writes their part files itself."""
    from pipeline import themes

    index, batch = unit
    cache = StageCache(cache_url)
    summaries, parts = [], {name: [] for name in PART_TABLES}
    for task in batch:
        summary, file_tables = process_file(task, Path(root), cfg, cache)
        summaries.append(summary)
        if file_tables is not None:
            for name in PART_TABLES:
                parts[name].append(file_tables[name])
    merged = {name: pa.concat_tables(ts) if ts else tables.empty(name) for name, ts in parts.items()}
    for name, table in merged.items():
        if table.num_rows:
            tables.write_part_file(run_url, name, index, table)
    docs = merged["documents"]
    sizes = dict(zip(docs["doc_id"].to_pylist(), docs["n_sentences"].to_pylist()))
    links = merged["sentence_themes"].select(["doc_id", "sent_id", "theme_id", "score"]).to_pandas()
    sentences = merged["sentences"].select(["doc_id", "sent_id", "type", "text"]).to_pandas()
    return BatchResult(index, summaries, *themes.link_aggregates(links, sentences, sizes))
