"""Per-file work, run inside workers: ingest -> structure -> annotate -> themes.match, each cached.

Workers receive file paths, write their batch's rows as part files of the run (and each stage's result
to the cache, pipeline/cache.py) and return compact summaries: counts, near-duplicate signatures,
errors, per-article theme counts. Tables and token lists never travel back through the executor.
One bad article or stage becomes an error row, never a crashed run.
"""
from __future__ import annotations

import functools
import gc
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
from pipeline.segment import TOKENS


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
def quiet_collector(young: int = 50_000) -> Iterator[None]:
    """Fewer and cheaper garbage collections during a batch, restored after it.

    A batch allocates hundreds of thousands of row dicts and lists; with the default threshold (700) the
    collector ran ~2,500 times per 800 files and its full passes walked the loaded models and caches every
    time: 6-9% of a worker's time, 1-2% with this. Freezing what exists (models, vocabularies) takes it out
    of those passes; the higher young-generation threshold makes the passes rare. Cycles made in the batch
    are still collected. Also a decorator (process_batch).
    """
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(young, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


@contextmanager
def timed(seconds: dict[str, float], stage: str) -> Iterator[None]:
    """Add the time spent in the block to seconds[stage]."""
    t = time.perf_counter()
    try:
        yield
    finally:
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - t


def _ingest_file(task: FileTask, root: Path, cfg: Config, w: _Workers,
                 clock: Callable) -> tuple[dict[str, pa.Table], dict[str, list[dict]], list]:
    """Ingest, regions, structure and near-duplicate signatures of one file: its tables, its section and
    sentence rows (kept for the next stages, which then need not read them back from the tables)."""
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
                primary = regions.primary_region(found, art.get("region_hint") or "", w.gazetteer, art.get("title") or "")
        except Exception as exc:  # noqa: BLE001 - one bad article must not stop the file
            errors.append(_bug(task.rel, "regions", exc))
            found, primary = [], {}
        try:
            with clock("structure"):
                secs, sents = structure.split(text, cfg.structure, art.get("headings"))
        except Exception as exc:  # noqa: BLE001
            errors.append(_bug(task.rel, "structure", exc))
            secs, sents = [], []
        doc = {k: v for k, v in art.items() if k in tables.DOCUMENTS.names}
        doc.update(primary)
        doc.update(doc_id=doc_id, source_path=art.get("source_path") or task.rel, n_chars=len(text),
                   n_sections=len(secs), n_sentences=len(sents))
        docs.append(doc)
        for row in (*secs, *sents, *found):
            row["doc_id"] = doc_id
        sections.extend(secs)
        sentences.extend(sents)
        mentions.extend(found)
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
    return out, {"sections": sections, "sentences": sentences}, errors


ANNOTATION_COLUMNS = ("type", "type_score", "cues", "method")


def _by_doc(rows: list[dict]) -> dict[str, list[dict]]:
    """Rows grouped by doc_id, in order (a file's articles come one after the other, so rows whose first
    and last doc_id agree are one article: most files)."""
    if rows and rows[0]["doc_id"] == rows[-1]["doc_id"]:
        return {rows[0]["doc_id"]: rows}
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["doc_id"], []).append(row)
    return grouped


def _with_columns(table: pa.Table, columns: dict[str, pa.ChunkedArray | pa.Array]) -> pa.Table:
    for name, column in columns.items():
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table


@dataclass
class _FileWork:
    """One file of a batch on its way through the stages."""

    task: FileTask
    summary: FileSummary
    base: dict[str, pa.Table] | None = None
    rows: dict[str, list[dict]] | None = None  # section and sentence rows, when the file was read in this run
    annotated: pa.Table | None = None
    matched: dict[str, pa.Table] | None = None

    def row_lists(self) -> dict[str, list[dict]]:
        """The file's section and sentence rows: those kept from ingest, or read back from the tables
        (with the annotation columns once there are annotations)."""
        if self.rows is None:
            sentences = self.base["sentences"]
            if self.annotated is not None:
                sentences = _with_columns(sentences, {c: self.annotated[c] for c in ANNOTATION_COLUMNS})
            self.rows = {"sections": self.base["sections"].to_pylist(), "sentences": sentences.to_pylist()}
        return self.rows

    def sentence_rows(self) -> list[dict]:
        return self.row_lists()["sentences"]

    def tables(self) -> dict[str, pa.Table]:
        """The rows of the file for each part table (documents.duplicate_of is set later, on the run node)."""
        columns = {c: self.annotated[c] for c in ANNOTATION_COLUMNS}
        columns["themes"] = self.matched["themes"]["themes"]
        return {"documents": self.base["documents"], "sections": self.base["sections"],
                "sentences": _with_columns(self.base["sentences"], columns),
                "mentions": self.base["mentions"], "sentence_themes": self.matched["sentence_themes"]}


def _annotate(fw: _FileWork, w: _Workers) -> tuple[pa.Table, list]:
    """Type, score, cues and method of every sentence of a file, in the order of its sentences table."""
    errors = []
    rows = fw.row_lists()
    sections = _by_doc(rows["sections"])
    docs = fw.base["documents"]
    ids = docs.column("doc_id").to_pylist()
    years = dict(zip(ids, docs.column("year").to_pylist()))
    titles = dict(zip(ids, docs.column("title").to_pylist()))  # a page's <title> may name a plan the text does not
    for doc_id, sents in _by_doc(rows["sentences"]).items():
        try:
            w.annotator.annotate(sents, sections.get(doc_id, []), years.get(doc_id), titles.get(doc_id))
        except Exception as exc:  # noqa: BLE001
            errors.append(_bug(fw.task.rel, "annotate", exc))
    cols = {c: [s.get(c) for s in rows["sentences"]] for c in ANNOTATION_COLUMNS}
    schema = pa.schema([tables.SENTENCES.field(c) for c in ANNOTATION_COLUMNS])
    return pa.Table.from_pydict(cols, schema=schema), errors


def _match(files: list[_FileWork], w: _Workers) -> list[tuple[dict[str, pa.Table], list]]:
    """Seeded themes of every sentence of the files, their documents scored together (match_many: per-call
    costs dominate a short document); should that fail, each document is matched alone, so that a
    failure stays the bad document's error."""
    docs = [list(_by_doc(fw.sentence_rows()).values()) for fw in files]
    errors: list[list[dict]] = [[] for _ in files]
    try:
        found = iter(w.matcher.match_many([d for file_docs in docs for d in file_docs]))
        links = [[next(found) for _ in file_docs] for file_docs in docs]
    except Exception:  # noqa: BLE001 - find the document that fails
        links = [[_match_alone(d, fw.task.rel, w, errors[k]) for d in file_docs]
                 for k, (fw, file_docs) in enumerate(zip(files, docs))]
    out = []
    for fw, file_docs, rows, errs in zip(files, docs, links, errors):
        st_rows = [{**r, "doc_id": sents[0]["doc_id"]} for sents, doc_rows in zip(file_docs, rows) for r in doc_rows]
        themes = pa.table({"themes": pa.array([s.get("themes") or [] for s in fw.sentence_rows()],
                                              type=pa.list_(pa.string()))})
        out.append(({"themes": themes, "sentence_themes": tables.to_table("sentence_themes", st_rows)}, errs))
    return out


def _match_alone(sentences: list[dict], rel: str, w: _Workers, errors: list[dict]) -> list[dict]:
    try:
        return w.matcher.match(sentences)
    except Exception as exc:  # noqa: BLE001
        errors.append(_bug(rel, "themes", exc))
        return []


def _first_stages(fw: _FileWork, root: Path, cfg: Config, cache: StageCache, w: _Workers) -> bool:
    """Ingest and annotate one file, each from the cache when its inputs are unchanged; False when the
    file could not be read at all."""
    task, summary = fw.task, fw.summary
    clock = functools.partial(timed, summary.seconds)
    k_ingest, k_annot = task.keys["ingest"], task.keys["annotate"]
    if cache.has(k_ingest):
        fw.base, meta = cache.load(k_ingest)
        summary.errors.extend(meta["errors"])
    else:
        fw.base, fw.rows, errors = _ingest_file(task, root, cfg, w, clock)
        summary.errors.extend(errors)
        if not fw.base["documents"].num_rows and errors:
            return False  # a failed read is not cached: the next run tries again
        cache.save(k_ingest, fw.base, {"errors": errors})
    sig_table = fw.base["signatures"]
    summary.doc_ids = sig_table["doc_id"].to_pylist()
    summary.signatures = [np.asarray(s, dtype=np.uint64) for s in sig_table["signature"].to_pylist()]
    summary.doc_sentences = fw.base["documents"]["n_sentences"].to_pylist()
    summary.n_sentences = fw.base["sentences"].num_rows
    if cache.has(k_annot):
        found, meta = cache.load(k_annot)
        fw.annotated = found["annotations"]
        fw.rows = None  # the cached annotations are the truth; rows are rebuilt from the tables if needed
        summary.errors.extend(meta["errors"])
    else:
        with clock("annotate"):
            fw.annotated, errors = _annotate(fw, w)
        summary.errors.extend(errors)
        cache.save(k_annot, {"annotations": fw.annotated}, {"errors": errors})
    return True


def _theme_stage(files: list[_FileWork], cache: StageCache, w: _Workers) -> None:
    """Themes of the files, from the cache or matched together; the time is shared out by sentences."""
    todo = []
    for fw in files:
        key = fw.task.keys["themes"]
        if cache.has(key):
            fw.matched, meta = cache.load(key)
            fw.summary.errors.extend(meta["errors"])
            fw.summary.cached = True
        else:
            todo.append(fw)
    if not todo:
        return
    t = time.perf_counter()
    results = _match(todo, w)
    seconds = time.perf_counter() - t
    total = sum(fw.summary.n_sentences for fw in todo) or len(todo)
    for fw, (matched, errors) in zip(todo, results):
        fw.matched = matched
        fw.summary.errors.extend(errors)
        fw.summary.seconds["themes"] = seconds * (fw.summary.n_sentences or 1) / total
        cache.save(fw.task.keys["themes"], matched, {"errors": errors})


PART_TABLES = ("documents", "sections", "sentences", "mentions", "sentence_themes")


@dataclass
class BatchResult:
    """What a worker returns for a batch; its rows are already in the run's part files number `index`."""

    index: int
    files: list[FileSummary]
    doc_themes: pd.DataFrame  # DOC_THEMES rows of the batch's articles (duplicates included)
    examples: pd.DataFrame  # best example candidates per theme (themes.theme_examples)


@quiet_collector()
def process_batch(unit: tuple[int, list[FileTask]], root: str, cfg: Config, cache_url: str,
                  run_url: str) -> BatchResult:
    """The unit of work shipped to a worker: a few files by path; it writes their part files itself."""
    from pipeline import themes

    index, batch = unit
    cache = StageCache(cache_url, cfg.run.cache_compression)
    w = _workers(cfg)
    files = [_FileWork(task, FileSummary(rel=task.rel, size=task.size, keys=task.keys)) for task in batch]
    readable = [fw for fw in files if _first_stages(fw, Path(root), cfg, cache, w)]
    _theme_stage(readable, cache, w)
    TOKENS.clear()  # the batch's segmented sentences served theme matching: none is seen again
    per_file = [fw.tables() for fw in readable]
    merged = {name: pa.concat_tables([t[name] for t in per_file]) if per_file else tables.empty(name)
              for name in PART_TABLES}
    for name, table in merged.items():
        if table.num_rows:
            tables.write_part_file(run_url, name, index, table)
    docs = merged["documents"]
    sizes = dict(zip(docs["doc_id"].to_pylist(), docs["n_sentences"].to_pylist()))
    links = merged["sentence_themes"].select(["doc_id", "sent_id", "theme_id", "score"]).to_pandas()
    sentences = merged["sentences"].select(["doc_id", "sent_id", "type", "text"]).to_pandas()
    return BatchResult(index, [fw.summary for fw in files], *themes.link_aggregates(links, sentences, sizes))
