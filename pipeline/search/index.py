"""The search index of a run: RUN/search.sqlite, an SQLite FTS5 index beside the Parquet tables.

Each sentence is indexed three ways in one contentless FTS5 table:
  words   jieba search-mode tokens (a word plus its dictionary sub-words), ranked by BM25;
  grams   character bigrams of the CJK runs (and whole latin/digit words), so any substring of two or
          more characters is found even when the segmenter glued it into a longer word;
  facets  one opaque token per filter value (type, theme, region codes, year, source, document), so
          filters are intersections of posting lists instead of scans.
The original sentence and article text live in ordinary tables (sent, doc) for display and context.
The index is rebuilt only when the fingerprint of the tables' files changes, into a temporary file that
is renamed into place, so readers never see half an index.
"""
from __future__ import annotations

import csv
import hashlib
import json
import operator
import os
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from pipeline import tables
from pipeline.config import ConfigError, load_config
from pipeline.nfkc import nfkc
from pipeline.search.settings import SearchSettings, load_settings
from pipeline.segment import tokenize_for_search

INDEX_NAME = "search.sqlite"
#: bump when the layout or the tokenisation changes, so old indexes are rebuilt
INDEX_VERSION = "5"
SOURCE_TABLES = ("documents", "sentences", "sections", "themes")

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_RUNS = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}]+")
_IS_CJK = re.compile(f"[{_CJK}]")

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE doc(doc_id TEXT PRIMARY KEY, title TEXT, date TEXT, year INTEGER, source TEXT,
  source_path TEXT, region_code TEXT, region_name TEXT, province_code TEXT, province TEXT,
  city_code TEXT, city TEXT, n_sentences INTEGER);
CREATE TABLE sent(rowid INTEGER PRIMARY KEY, doc_id TEXT, sent_id INTEGER, section_id INTEGER,
  start INTEGER, "end" INTEGER, text TEXT, is_heading INTEGER, new_paragraph INTEGER, type TEXT,
  type_score REAL, themes TEXT, year INTEGER, source TEXT, province_code TEXT, city_code TEXT, county_code TEXT);
-- county_code: the article's region_code when it is neither its province nor its city (a county, usually)
CREATE TABLE heading(doc_id TEXT, section_id INTEGER, path TEXT, PRIMARY KEY(doc_id, section_id));
CREATE TABLE theme(theme_id TEXT PRIMARY KEY, name_zh TEXT, name_en TEXT, kind TEXT, description TEXT,
  top_terms TEXT, n_sentences INTEGER, n_documents INTEGER, n_problem INTEGER, n_measure INTEGER,
  n_experience INTEGER);
CREATE TABLE region(code TEXT PRIMARY KEY, name TEXT, level TEXT);
CREATE TABLE facet_all(kind TEXT, value TEXT, n INTEGER, PRIMARY KEY(kind, value));
CREATE VIRTUAL TABLE fts USING fts5(words, grams, facets, content='',
  tokenize='unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE fts_vocab USING fts5vocab(fts, row);
"""
POST_SCHEMA = "CREATE UNIQUE INDEX sent_doc ON sent(doc_id, sent_id);"


class SearchIndexError(RuntimeError):
    """The index cannot be built or opened; the message says what to do."""


@dataclass
class BuildInfo:
    path: Path
    rebuilt: bool
    n_sentences: int
    n_documents: int
    seconds: float
    bytes: int


def normalize(text: str) -> str:
    """NFKC and lower case: full-width letters and digits match their half-width forms."""
    return nfkc(text).lower()


def grams(text: str, normalized: bool = False) -> list[str]:
    """Bigrams of CJK runs (a lone CJK character as itself) and whole latin/digit words."""
    out: list[str] = []
    for run in _RUNS.findall(text if normalized else normalize(text)):
        if len(run) > 1 and _IS_CJK.match(run):
            out.extend(map(operator.add, run[:-1], run[1:]))
        else:
            out.append(run)
    return out


def facet_token(kind: str, value: object) -> str:
    """An opaque, tokenizer-safe token for one filter value (ty=type, th=theme, rg=region, yr, so, dc)."""
    return kind + hashlib.sha1(str(value).encode("utf-8")).hexdigest()[:16]


def table_files(run: Path, name: str) -> list[Path]:
    path = tables.table_path(run, name)
    if path is None:
        return []
    return sorted(path.rglob("*.parquet")) if path.is_dir() else [path]


def fingerprint(run: str | Path, settings: SearchSettings | None = None) -> str:
    """Hash of the tables' files (name, size, mtime), the user dictionary and the index settings."""
    run = Path(run)
    cfg = load_config()
    items = [INDEX_VERSION, cfg.annotate.tokenizer, (settings or load_settings()).index.model_dump_json()]
    for f in [f for name in SOURCE_TABLES for f in table_files(run, name)] + [cfg.resolve(cfg.annotate.userdict)]:
        st = f.stat() if f.exists() else None
        items.append(f"{f.name}:{st.st_size}:{st.st_mtime_ns}" if st else f"{f.name}:-")
    return hashlib.sha256("\n".join(items).encode()).hexdigest()


def index_path(run: str | Path) -> Path:
    return Path(run) / INDEX_NAME


def stored_fingerprint(path: Path) -> str | None:
    """The fingerprint an existing index was built from, or None when absent or unreadable."""
    if not path.exists():
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            row = con.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()
        return row[0] if row else None
    except sqlite3.Error:
        return None


def _regions(run: Path, docs: list[dict]) -> dict[str, tuple[str, str]]:
    """code -> (name, level) from the documents, completed by the admin-division tables."""
    out: dict[str, tuple[str, str]] = {}
    cfg = load_config()
    folder = cfg.resolve(cfg.regions.divisions_dir)
    for fname, level in (("provinces.csv", "province"), ("cities.csv", "city"), ("areas.csv", "county")):
        path = folder / fname
        if path.exists():
            with path.open(encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    out[row["code"]] = (row["name"], level)
    for d in docs:
        for code, name, level in ((d.get("province_code"), d.get("province"), "province"),
                                  (d.get("city_code"), d.get("city"), "city"),
                                  (d.get("region_code"), d.get("region_name"), None)):
            if code and name and (code not in out or out[code][0] == "市辖区"):
                out[code] = (name, level or {2: "province", 4: "city"}.get(len(code), "county"))
    return out


def _heading_paths(run: Path) -> dict[tuple[str, int], str]:
    """(doc_id, section_id) -> 'heading › subheading' path, for the line above each result."""
    if tables.table_path(run, "sections") is None:
        return {}
    rows = tables.read_table(run, "sections", ["doc_id", "section_id", "parent_id", "heading"]).to_pylist()
    by_key = {(r["doc_id"], r["section_id"]): r for r in rows}
    out: dict[tuple[str, int], str] = {}
    for key, r in by_key.items():
        parts, seen, cur = [], set(), r
        while cur is not None and (cur["doc_id"], cur["section_id"]) not in seen:
            seen.add((cur["doc_id"], cur["section_id"]))
            if cur["heading"]:
                parts.append(cur["heading"].strip())
            parent = cur["parent_id"]
            cur = by_key.get((cur["doc_id"], parent)) if parent is not None else None
        out[key] = " › ".join(reversed(parts))
    return out


def _sentence_batches(run: Path, keep_docs: set[str], batch_rows: int) -> Iterator[list[dict]]:
    """Sentences of the kept documents, a batch at a time (a million sentences never sit in memory)."""
    path = tables.table_path(run, "sentences")
    if path is None:
        raise SearchIndexError(f"no sentences table in {run}: run `zhili run` first, or check the path")
    dataset = ds.dataset(str(path), format="parquet", schema=tables.SENTENCES)
    cols = ["doc_id", "sent_id", "section_id", "start", "end", "text", "is_heading", "type", "type_score", "themes"]
    keep = pa.array(sorted(keep_docs), pa.string())
    for batch in dataset.to_batches(columns=cols, batch_size=batch_rows, filter=pc.field("doc_id").isin(keep)):
        if batch.num_rows:
            yield batch.to_pylist()


def _stage_rows(rows: Iterable[dict], docs: dict[str, dict], prev_end: dict[str, int]) -> list[tuple]:
    """Rows of the sent table (without rowid) with the article's filter fields.

    A sentence starts a paragraph when the article text between it and the previous sentence holds a
    line break (prev_end tracks the previous sentence's end per article, across batches).
    """
    out = []
    for r in rows:
        d = docs[r["doc_id"]]
        new_paragraph = r["sent_id"] == 0 or "\n" in d["text"][prev_end.get(r["doc_id"], 0):r["start"] or 0]
        prev_end[r["doc_id"]] = r["end"] or 0
        region = d["region_code"] if d["region_code"] not in (d["province_code"], d["city_code"]) else None
        out.append((r["doc_id"], r["sent_id"], r["section_id"], r["start"], r["end"], r["text"] or "",
                    int(bool(r["is_heading"])), int(new_paragraph), r["type"], r["type_score"],
                    json.dumps(list(r["themes"] or []), ensure_ascii=False), d["year"], d["source"],
                    d["province_code"], d["city_code"], region))
    return out


def _fts_rows(rows: list[sqlite3.Row], tokenizer: str, userdict: str | None,
              counts: dict[str, Counter]) -> list[tuple]:
    """(rowid, words, grams, facets) of sent rows; updates the whole-run facet counts."""
    out = []
    for r in rows:
        facets = [facet_token("dc", r["doc_id"])]
        values = [("type", "ty", r["type"]), ("year", "yr", r["year"]), ("source", "so", r["source"]),
                  ("province", "rg", r["province_code"]), ("city", "rg", r["city_code"]), ("", "rg", r["county_code"])]
        values += [("theme", "th", t) for t in json.loads(r["themes"])]
        for kind, prefix, value in values:
            if value is not None and value != "":
                facets.append(facet_token(prefix, value))
                if kind:
                    counts[kind][str(value)] += 1
        norm = normalize(r["text"])
        out.append((r["rowid"], " ".join(tokenize_for_search(norm, tokenizer, userdict)),
                    " ".join(grams(norm, normalized=True)), " ".join(facets)))
    return out


def _write_index(run: Path, path: Path, settings: SearchSettings, fp: str) -> tuple[int, int]:
    """Build the whole index into `path` in one transaction; returns (sentences, documents).

    Sentences are staged, then copied into `sent` in prior-quality order (typed sentences first, by
    type_score) so that rowid order is quality order: a query with more matches than the ranking
    window ranks the best-prior ones, and FTS5 stops reading after them.
    """
    cfg = load_config()
    tokenizer = cfg.annotate.tokenizer
    userdict_path = cfg.resolve(cfg.annotate.userdict)
    userdict = str(userdict_path) if userdict_path.exists() else None
    doc_cols = ["doc_id", "title", "date", "year", "source", "source_path", "region_code", "region_name",
                "province_code", "province", "city_code", "city", "text", "n_sentences", "duplicate_of"]
    docs_list = tables.read_table(run, "documents", doc_cols).to_pylist()
    if not settings.index.include_duplicates:
        docs_list = [d for d in docs_list if not d["duplicate_of"]]
    docs = {d["doc_id"]: d for d in docs_list}
    con = sqlite3.connect(path, isolation_level=None)
    con.row_factory = sqlite3.Row
    try:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=MEMORY", "cache_size=-200000"):
            con.execute(f"PRAGMA {pragma}")
        con.execute("BEGIN")
        for statement in filter(str.strip, SCHEMA.split(";")):
            con.execute(statement)
        kept = [c for c in doc_cols if c not in ("text", "duplicate_of")]
        con.executemany(f"INSERT INTO doc VALUES ({','.join('?' * len(kept))})", ([d[c] for c in kept] for d in docs_list))
        con.executemany("INSERT INTO heading VALUES (?,?,?)",
                        ((doc, sec, path) for (doc, sec), path in _heading_paths(run).items() if path and doc in docs))
        con.execute("CREATE TEMP TABLE stage AS SELECT * FROM sent WHERE 0")
        prev_end: dict[str, int] = {}
        for rows in _sentence_batches(run, set(docs), settings.index.batch_rows):
            con.executemany(f"INSERT INTO stage VALUES (NULL, {','.join('?' * 16)})", _stage_rows(rows, docs, prev_end))
        con.execute("INSERT INTO sent SELECT NULL, doc_id, sent_id, section_id, start, \"end\", text, is_heading, "
                    "new_paragraph, type, type_score, themes, year, source, province_code, city_code, county_code "
                    "FROM stage ORDER BY type IS NULL OR type = 'other', type_score IS NULL, type_score DESC, rowid")
        con.execute("DROP TABLE stage")
        counts: dict[str, Counter] = {k: Counter() for k in ("type", "theme", "province", "city", "year", "source")}
        n = con.execute("SELECT count(*) FROM sent").fetchone()[0]
        step = settings.index.batch_rows
        for lo in range(1, n + 1, step):
            rows = con.execute("SELECT * FROM sent WHERE rowid BETWEEN ? AND ?", (lo, lo + step - 1)).fetchall()
            con.executemany("INSERT INTO fts(rowid, words, grams, facets) VALUES (?,?,?,?)",
                            _fts_rows(rows, tokenizer, userdict, counts))
        con.execute(POST_SCHEMA)
        if tables.table_path(run, "themes") is not None:
            th = tables.read_table(run, "themes").to_pylist()
            con.executemany("INSERT OR REPLACE INTO theme VALUES (?,?,?,?,?,?,?,?,?,?,?)", [
                (t["theme_id"], t["name_zh"], t["name_en"], t["kind"], t["description"],
                 json.dumps(list(t["top_terms"] or []), ensure_ascii=False), t["n_sentences"], t["n_documents"],
                 t["n_problem"], t["n_measure"], t["n_experience"]) for t in th])
        con.executemany("INSERT INTO region VALUES (?,?,?)",
                        [(c, name, level) for c, (name, level) in _regions(run, docs_list).items()])
        con.executemany("INSERT INTO facet_all VALUES (?,?,?)",
                        [(k, v, c) for k, counter in counts.items() for v, c in counter.items()])
        avg_chars = con.execute("SELECT avg(length(text)) FROM sent").fetchone()[0] or 1.0
        meta = {"fingerprint": fp, "version": INDEX_VERSION, "tokenizer": tokenizer, "userdict": userdict or "",
                "n_sentences": str(n), "n_documents": str(len(docs)), "avg_chars": f"{avg_chars:.2f}",
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        con.executemany("INSERT INTO meta VALUES (?,?)", meta.items())
        con.execute("INSERT INTO fts(fts) VALUES ('optimize')")
        con.execute("COMMIT")
    finally:
        con.close()
    return n, len(docs)


def build_index(run: str | Path, force: bool = False, settings: SearchSettings | None = None) -> BuildInfo:
    """Build RUN/search.sqlite unless it is up to date; atomic (temporary file renamed into place)."""
    run = Path(run)
    if not run.is_dir():
        raise SearchIndexError(f"{run} is not a run folder: give the --out folder of `zhili run`")
    if tables.table_path(run, "documents") is None or tables.table_path(run, "sentences") is None:
        raise SearchIndexError(f"{run} has no documents/sentences tables: run `zhili run` first, or check the path")
    settings = settings or load_settings()
    path = index_path(run)
    fp = fingerprint(run, settings)
    t0 = time.perf_counter()
    if not force and stored_fingerprint(path) == fp:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            meta = dict(con.execute("SELECT key, value FROM meta"))
        return BuildInfo(path, False, int(meta["n_sentences"]), int(meta["n_documents"]), 0.0, path.stat().st_size)
    tmp = run / f".{INDEX_NAME}.tmp-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    try:
        n, n_docs = _write_index(run, tmp, settings, fp)
        os.replace(tmp, path)
    except PermissionError as exc:
        raise SearchIndexError(f"cannot write the index in {run} ({exc.strerror}): make the folder writable") from None
    except (sqlite3.Error, ConfigError, OSError) as exc:
        raise SearchIndexError(f"building the search index of {run} failed: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return BuildInfo(path, True, n, n_docs, time.perf_counter() - t0, path.stat().st_size)


def ensure_index(run: str | Path) -> Path:
    """The index path, built first when missing or stale."""
    return build_index(run).path


def connect(path: str | Path) -> sqlite3.Connection:
    """A read-only connection (URI mode=ro): the web page and search never write."""
    con = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, check_same_thread=False)
    con.row_factory = sqlite3.Row
    return con
