"""The output contract: explicit Arrow schemas of every table, and the only code that writes them.

Search, compare and the web page read these tables and nothing else, so names and types here are a
contract (documented in docs/schema.md; tests/test_tables.py checks the two agree). Each table is a
file NAME.parquet or a directory NAME/ of part files; readers accept both.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

TYPES = ("problem", "measure", "experience", "other")

DOCUMENTS = pa.schema([
    ("doc_id", pa.string()),          # stable id: hash of source path and article index
    ("source_path", pa.string()),     # path of the input file, relative to the corpus root when possible
    ("article_index", pa.int32()),    # position of the article inside its file (compilations, collections)
    ("title", pa.string()),
    ("date", pa.string()),            # ISO yyyy-mm-dd, or yyyy-mm / yyyy when that is all that is known
    ("year", pa.int16()),
    ("source", pa.string()),          # site, publisher or collection the article came from
    ("author", pa.string()),
    ("format", pa.string()),          # txt md html docx pdf csv jsonl xlsx
    ("encoding", pa.string()),        # detected encoding of a text file
    ("sha256", pa.string()),          # of the input file's bytes
    ("text", pa.string()),            # the cleaned, normalised article text: every offset points here
    ("n_chars", pa.int32()),
    ("region_code", pa.string()),     # primary region: most specific admin-division code
    ("region_name", pa.string()),
    ("province_code", pa.string()),
    ("province", pa.string()),
    ("city_code", pa.string()),
    ("city", pa.string()),
    ("regions", pa.list_(pa.string())),  # codes of all regions mentioned
    ("duplicate_of", pa.string()),    # doc_id of the earlier near-duplicate, null when original
    ("n_sections", pa.int32()),
    ("n_sentences", pa.int32()),
])

SECTIONS = pa.schema([
    ("doc_id", pa.string()),
    ("section_id", pa.int32()),       # 0 is the article body before any heading
    ("parent_id", pa.int32()),        # enclosing section, null at the top
    ("level", pa.int8()),             # 0 body, 1 一、/第一章, 2 （一）/第一节, 3 1./1、, 4 （1）, 5 一是…
    ("heading", pa.string()),
    ("start", pa.int32()),            # offsets of the section in the article text
    ("end", pa.int32()),
])

SENTENCES = pa.schema([
    ("doc_id", pa.string()),
    ("sent_id", pa.int32()),          # order within the article, from 0
    ("section_id", pa.int32()),
    ("para_id", pa.int32()),
    ("start", pa.int32()),            # text == documents.text[start:end]
    ("end", pa.int32()),
    ("text", pa.string()),
    ("is_heading", pa.bool_()),
    ("type", pa.string()),            # problem | measure | experience | other
    ("type_score", pa.float32()),     # probability of the chosen type, 0..1
    ("cues", pa.list_(pa.string())),  # evidence: matched cue phrases as "kind:phrase", and "heading:..."
    ("method", pa.string()),          # rule | model | both
    ("themes", pa.list_(pa.string())),
])

MENTIONS = pa.schema([
    ("doc_id", pa.string()),
    ("start", pa.int32()),
    ("end", pa.int32()),
    ("text", pa.string()),            # as written (may be a short form: 天津)
    ("code", pa.string()),            # admin-division code (2/4/6 digits)
    ("name", pa.string()),            # full name (天津市)
    ("level", pa.string()),           # province | city | county
    ("province_code", pa.string()),
    ("city_code", pa.string()),
])

SENTENCE_THEMES = pa.schema([
    ("doc_id", pa.string()),
    ("sent_id", pa.int32()),
    ("theme_id", pa.string()),
    ("score", pa.float32()),
    ("method", pa.string()),          # pattern | model | both | discovered
    ("evidence", pa.string()),        # matched terms, or the model's strongest features
])

THEMES = pa.schema([
    ("theme_id", pa.string()),
    ("name_zh", pa.string()),
    ("name_en", pa.string()),
    ("kind", pa.string()),            # seeded | discovered
    ("description", pa.string()),
    ("top_terms", pa.list_(pa.string())),
    ("examples", pa.list_(pa.string())),
    ("n_sentences", pa.int32()),
    ("n_documents", pa.int32()),
    ("n_problem", pa.int32()),
    ("n_measure", pa.int32()),
    ("n_experience", pa.int32()),
])

DOC_THEMES = pa.schema([
    ("doc_id", pa.string()),
    ("theme_id", pa.string()),
    ("n_sentences", pa.int32()),
    ("share", pa.float32()),          # n_sentences / sentences in the article
    ("n_problem", pa.int32()),
    ("n_measure", pa.int32()),
    ("n_experience", pa.int32()),
])

ERRORS = pa.schema([
    ("source_path", pa.string()),
    ("stage", pa.string()),           # discover | read | extract | structure | annotate | themes
    ("error", pa.string()),           # what went wrong
    ("hint", pa.string()),            # what the user can do about it
])

SCHEMAS: dict[str, pa.Schema] = {
    "documents": DOCUMENTS,
    "sections": SECTIONS,
    "sentences": SENTENCES,
    "mentions": MENTIONS,
    "sentence_themes": SENTENCE_THEMES,
    "themes": THEMES,
    "doc_themes": DOC_THEMES,
    "errors": ERRORS,
}


def to_table(name: str, rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pa.Table:
    """Rows (dicts or a DataFrame) as an Arrow table of the named schema; missing columns become null."""
    schema = SCHEMAS[name]
    if isinstance(rows, pd.DataFrame):
        frame = rows.reindex(columns=schema.names)
        return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    rows = list(rows)
    columns = {f.name: [r.get(f.name) for r in rows] for f in schema}
    return pa.Table.from_pydict(columns, schema=schema)


def empty(name: str) -> pa.Table:
    return SCHEMAS[name].empty_table()


def table_path(run: str | Path, name: str) -> Path | None:
    """The file or part-file directory of a table in a run, or None when absent."""
    run = Path(run)
    for p in (run / f"{name}.parquet", run / name):
        if p.exists():
            return p
    return None


def read_table(run: str | Path, name: str, columns: list[str] | None = None, filter=None) -> pa.Table:
    """Read one table of a run (single file or part directory) with its contract schema."""
    path = table_path(run, name)
    if path is None:
        raise FileNotFoundError(f"no {name} table in {run}: run `zhili run` first, or check the path")
    dataset = ds.dataset(str(path), format="parquet", schema=SCHEMAS.get(name))
    return dataset.to_table(columns=columns, filter=filter)


def load(run: str | Path, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """A table of a run as a pandas DataFrame (the notebook entry point)."""
    return read_table(run, name, columns).to_pandas()


def read_run_info(run: str | Path) -> dict[str, Any]:
    path = Path(run) / "run.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def write_parquet(table: pa.Table, path: str | Path) -> None:
    """Write one Parquet file (zstd) after checking it against its contract schema."""
    pq.write_table(table, str(path), compression="zstd")


class RunWriter:
    """Writes a run into a temporary sibling directory and swaps it into place on commit.

    A run that dies before commit() leaves the previous outputs untouched; the staging directory is
    removed on the next run. Only this class writes into outputs/.
    """

    def __init__(self, out: str | Path):
        self.out = Path(out).resolve()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        for stale in self.out.parent.glob(f".{self.out.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        self.staging = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.tmp-", dir=self.out.parent))
        self._parts: dict[str, int] = {}

    def write(self, name: str, table: pa.Table) -> Path:
        """Write a whole table as NAME.parquet."""
        path = self.staging / f"{name}.parquet"
        write_parquet(table.cast(SCHEMAS[name]) if name in SCHEMAS else table, path)
        return path

    def write_part(self, name: str, table: pa.Table) -> Path:
        """Append a part file to the table directory NAME/ (streamed, partitioned runs)."""
        n = self._parts.get(name, 0)
        self._parts[name] = n + 1
        folder = self.staging / name
        folder.mkdir(exist_ok=True)
        path = folder / f"part-{n:05d}.parquet"
        write_parquet(table.cast(SCHEMAS[name]), path)
        return path

    def write_json(self, name: str, data: Any) -> Path:
        path = self.staging / name
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        return path

    def ensure(self, *names: str) -> None:
        """Write an empty table for each name not written, so every run has every table."""
        for name in names:
            if table_path(self.staging, name) is None:
                self.write(name, empty(name))

    def commit(self) -> Path:
        """Swap the staging directory into place: rename old away, rename new in, drop old."""
        old = None
        if self.out.exists():
            old = self.out.with_name(f".{self.out.name}.old-{os.getpid()}")
            os.replace(self.out, old)
        os.replace(self.staging, self.out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.out

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
