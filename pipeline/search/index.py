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
import os
import re
import sqlite3
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from pipeline import tables
from pipeline.config import ConfigError, load_config
from pipeline.search.settings import SEARCH_CONFIG, SearchSettings, load_settings
from pipeline.segment import tokenize_for_search

INDEX_NAME = "search.sqlite"
#: bump when the layout or the tokenisation changes, so old indexes are rebuilt
INDEX_VERSION = "3"
SOURCE_TABLES = ("documents", "sentences", "sections", "themes")

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_RUNS = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}]+")
_IS_CJK = re.compile(f"[{_CJK}]")

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE doc(doc_id TEXT PRIMARY KEY, title TEXT, date TEXT, year INTEGER, source TEXT,
  source_path TEXT, region_code TEXT, region_name TEXT, province_code TEXT, province TEXT,
  city_code TEXT, city TEXT, text TEXT, n_sentences INTEGER);
CREATE TABLE sent(rowid INTEGER PRIMARY KEY, doc_id TEXT, sent_id INTEGER, section_id INTEGER,
  start INTEGER, "end" INTEGER, text TEXT, is_heading INTEGER, type TEXT, type_score REAL,
  themes TEXT, year INTEGER, source TEXT, province_code TEXT, city_code TEXT, county_code TEXT,
  heading TEXT);
CREATE TABLE theme(theme_id TEXT PRIMARY KEY, name_zh TEXT, name_en TEXT, kind TEXT, description TEXT,
  top_terms TEXT, n_sentences INTEGER, n_documents INTEGER, n_problem INTEGER, n_measure INTEGER,
  n_experience INTEGER);
CREATE TABLE region(code TEXT PRIMARY KEY, name TEXT, level TEXT);
CREATE TABLE facet_all(kind TEXT, value TEXT, n INTEGER, PRIMARY KEY(kind, value));
CREATE VIRTUAL TABLE fts USING fts5(words, grams, facets, content='',
  tokenize='unicode61 remove_diacritics 0');
"""
POST_SCHEMA = "CREATE UNIQUE INDEX sent_doc ON sent(doc_id, sent_id);"


class IndexError_(RuntimeError):
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
    return unicodedata.normalize("NFKC", text).lower()


def grams(text: str) -> list[str]:
    """Bigrams of CJK runs (a lone CJK character as itself) and whole latin/digit words."""
    out: list[str] = []
    for run in _RUNS.findall(normalize(text)):
        if _IS_CJK.match(run) and len(run) > 1:
            out.extend(run[i:i + 2] for i in range(len(run) - 1))
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


def fingerprint(run: str | Path, settings_path: Path = SEARCH_CONFIG) -> str:
    """Hash of the tables' files (name, size, mtime), the user dictionary and the settings file."""
    run = Path(run)
    cfg = load_config()
    extra = [cfg.resolve(cfg.annotate.userdict), Path(settings_path)]
    items = [INDEX_VERSION, cfg.annotate.tokenizer]
    for f in [f for name in SOURCE_TABLES for f in table_files(run, name)] + extra:
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
        raise IndexError_(f"no sentences table in {run}: run `zhili run` first, or check the path")
    dataset = ds.dataset(str(path), format="parquet", schema=tables.SENTENCES)
    cols = ["doc_id", "sent_id", "section_id", "start", "end", "text", "is_heading", "type", "type_score", "themes"]
    keep = pa.array(sorted(keep_docs), pa.string())
    for batch in dataset.to_batches(columns=cols, batch_size=batch_rows, filter=pc.field("doc_id").isin(keep)):
        if batch.num_rows:
            yield batch.to_pylist()


def _sentence_rows(rows: Iterable[dict], docs: dict[str, dict], headings: dict, tokenizer: str,
                   userdict: str | None, counts: dict[str, Counter], start_rowid: int) -> tuple[list, list]:
    """Rows for the sent table and the fts table; updates the global facet counts."""
    sent_rows, fts_rows = [], []
    rowid = start_rowid
    for r in rows:
        d = docs[r["doc_id"]]
        text = r["text"] or ""
        themes = list(r["themes"] or [])
        county = d["region_code"] if d["region_code"] and len(d["region_code"]) == 6 else None
        codes = {c for c in (d["province_code"], d["city_code"], d["region_code"]) if c}
        facets = [facet_token("dc", r["doc_id"])]
        if r["type"]:
            facets.append(facet_token("ty", r["type"]))
            counts["type"][r["type"]] += 1
        for t in themes:
            facets.append(facet_token("th", t))
            counts["theme"][t] += 1
        for c in codes:
            facets.append(facet_token("rg", c))
        if d["province_code"]:
            counts["province"][d["province_code"]] += 1
        if d["city_code"]:
            counts["city"][d["city_code"]] += 1
        if d["year"] is not None:
            facets.append(facet_token("yr", d["year"]))
            counts["year"][str(d["year"])] += 1
        if d["source"]:
            facets.append(facet_token("so", d["source"]))
            counts["source"][d["source"]] += 1
        words = " ".join(tokenize_for_search(normalize(text), tokenizer, userdict))
        sent_rows.append((rowid, r["doc_id"], r["sent_id"], r["section_id"], r["start"], r["end"], text,
                          int(bool(r["is_heading"])), r["type"], r["type_score"], json.dumps(themes, ensure_ascii=False),
                          d["year"], d["source"], d["province_code"], d["city_code"], county,
                          headings.get((r["doc_id"], r["section_id"]), "")))
        fts_rows.append((rowid, words, " ".join(grams(text)), " ".join(facets)))
        rowid += 1
    return sent_rows, fts_rows


def _write_index(run: Path, path: Path, settings: SearchSettings, fp: str) -> tuple[int, int]:
    """Build the whole index into `path` in one transaction; returns (sentences, documents)."""
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
    headings = _heading_paths(run)
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("PRAGMA temp_store=MEMORY")
        con.execute("PRAGMA cache_size=-200000")
        con.execute("BEGIN")
        for statement in filter(str.strip, SCHEMA.split(";")):
            con.execute(statement)
        con.executemany("INSERT INTO doc VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        ([d[c] for c in doc_cols[:-1]] for d in docs_list))
        counts: dict[str, Counter] = {k: Counter() for k in ("type", "theme", "province", "city", "year", "source")}
        n = 0
        for rows in _sentence_batches(run, set(docs), settings.index.batch_rows):
            sent_rows, fts_rows = _sentence_rows(rows, docs, headings, tokenizer, userdict, counts, n + 1)
            con.executemany(f"INSERT INTO sent VALUES ({','.join('?' * 17)})", sent_rows)
            con.executemany("INSERT INTO fts(rowid, words, grams, facets) VALUES (?,?,?,?)", fts_rows)
            n += len(sent_rows)
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
        meta = {"fingerprint": fp, "version": INDEX_VERSION, "tokenizer": tokenizer, "userdict": userdict or "",
                "n_sentences": str(n), "n_documents": str(len(docs)), "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "words_weight": str(settings.index.words_weight), "grams_weight": str(settings.index.grams_weight)}
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
        raise IndexError_(f"{run} is not a run folder: give the --out folder of `zhili run`")
    if tables.table_path(run, "documents") is None or tables.table_path(run, "sentences") is None:
        raise IndexError_(f"{run} has no documents/sentences tables: run `zhili run` first, or check the path")
    settings = settings or load_settings()
    path = index_path(run)
    fp = fingerprint(run)
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
        raise IndexError_(f"cannot write the index in {run} ({exc.strerror}): make the folder writable") from None
    except (sqlite3.Error, ConfigError, OSError) as exc:
        raise IndexError_(f"building the search index of {run} failed: {exc}") from None
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
