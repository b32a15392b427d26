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
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

TYPES = ("problem", "measure", "experience", "other")


def col(name: str, type_: pa.DataType, doc: str = "") -> pa.Field:
    """A column with its description kept in the schema, so docs/schema.md is generated from it."""
    return pa.field(name, type_, metadata={"doc": doc} if doc else None)


DOCUMENTS = pa.schema([
    col("doc_id", pa.string(), "stable id: hash of source path and article index"),
    col("source_path", pa.string(), "path of the input file, relative to the corpus root when possible "
                                    "(a document of a .zip archive: 调研.zip/北京.txt)"),
    col("article_index", pa.int32(), "position of the article inside its file (compilations, collections)"),
    col("title", pa.string(), "article title (compilation heading, html/docx/pdf title, collection column or first line)"),
    col("date", pa.string(), "ISO yyyy-mm-dd, or yyyy-mm / yyyy when that is all that is known"),
    col("year", pa.int16(), "year of the date, or of the collection/folder when no date is found"),
    col("source", pa.string(), "site, publisher or collection the article came from"),
    col("author", pa.string(), "author when stated (作者：…)"),
    col("format", pa.string(), "txt md html docx doc wps rtf odt pdf csv jsonl xlsx xls (the extension)"),
    col("encoding", pa.string(), "detected encoding of a text file"),
    col("sha256", pa.string(), "of the input file's bytes"),
    col("text", pa.string(), "the cleaned, normalised article text: every offset points here"),
    col("n_chars", pa.int32(), "characters in text"),
    col("region_code", pa.string(), "primary region: most specific admin-division code"),
    col("region_name", pa.string(), "full name of region_code"),
    col("province_code", pa.string(), "2-digit code of the primary region's province"),
    col("province", pa.string(), "province name (北京市, 广东省, ...)"),
    col("city_code", pa.string(), "city of the primary region: 4-digit code (1201 for a municipality), 6-digit for a county-level city under a province (天门 429006)"),
    col("city", pa.string(), "city name"),
    col("regions", pa.list_(pa.string()), "codes of all regions mentioned"),
    col("duplicate_of", pa.string(), "doc_id of the earlier near-duplicate, null when original"),
    col("n_sections", pa.int32(), "rows of this article in sections"),
    col("n_sentences", pa.int32(), "rows of this article in sentences"),
])

SECTIONS = pa.schema([
    col("doc_id", pa.string(), "article id (documents.doc_id)"),
    col("section_id", pa.int32(), "0 is the article body before any heading"),
    col("parent_id", pa.int32(), "enclosing section, null at the top"),
    col("level", pa.int8(), "0 body, 1 一、/第一章, 2 （一）/第一节, 3 1./1、, 4 （1）, 5 一是…; an unnumbered heading "
        "(存在的问题) sits one level above the next numbered one, and those after it go one deeper under a level-1 one"),
    col("heading", pa.string(), "heading text as written (with its marker)"),
    col("start", pa.int32(), "offsets of the section in the article text"),
    col("end", pa.int32(), "end offset of the section (exclusive)"),
])

SENTENCES = pa.schema([
    col("doc_id", pa.string(), "article id (documents.doc_id)"),
    col("sent_id", pa.int32(), "order within the article, from 0"),
    col("section_id", pa.int32(), "innermost section containing the sentence"),
    col("para_id", pa.int32(), "paragraph number within the article"),
    col("start", pa.int32(), "text == documents.text[start:end]"),
    col("end", pa.int32(), "end offset (exclusive)"),
    col("text", pa.string(), "the sentence as stored in documents.text"),
    col("is_heading", pa.bool_(), "the sentence is a heading"),
    col("type", pa.string(), "problem | measure | experience | other"),
    col("type_score", pa.float32(), "probability of the chosen type, 0..1, calibrated (annotate.temperature: in "
        "cross-validation a score of about 0.8 is right about 80% of the time)"),
    col("cues", pa.list_(pa.string()), "evidence: matched cue phrases as kind:phrase, heading:kind:text, "
        "rule:name (a rule set the type: boilerplate, citation (an entry of a reference list), bare_heading and "
        "statute_part other, statute_duty, statute_item, target and commitment measure; commitment: the sentence "
        "closing a list of problems commits to solving them, 对此，我们将…), genre:statute / genre:plan / "
        "genre:summary (the statute, work-plan or summary prior applied; genre:plan:nothing_done: a plan told by "
        "its content, hardly a sentence of a thing done), statute:duty:X (X the modal of a "
        "statute's duty: 应当, 不得 ...), statute:item_of:X (a list item of such a duty), "
        "target:YYYY年 (the sentence sets a target for that year: rule:target when the document's year is known, "
        "else the target prior); heading:measure:2024年 / heading:experience:2023年 is the kind of a part that "
        "frames a year (the later of a document's framed years is its plan); heading:problem:清醒认识 (a phrase that "
        "introduced the list of problems the sentence is in)"),
    col("method", pa.string(), "rule | model | both"),
    col("themes", pa.list_(pa.string()), "seeded theme ids matched (discovered themes are in sentence_themes)"),
])

MENTIONS = pa.schema([
    col("doc_id", pa.string(), "article id (documents.doc_id)"),
    col("start", pa.int32(), "offset in documents.text"),
    col("end", pa.int32(), "end offset (exclusive)"),
    col("text", pa.string(), "as written (may be a short form: 天津)"),
    col("code", pa.string(), "admin-division code (2/4/6 digits)"),
    col("name", pa.string(), "full name (天津市)"),
    col("level", pa.string(), "province | city | county"),
    col("province_code", pa.string(), "2-digit code of the primary region's province"),
    col("city_code", pa.string(), "city of the primary region: 4-digit code (1201 for a municipality), 6-digit for a county-level city under a province (天门 429006)"),
])

SENTENCE_THEMES = pa.schema([
    col("doc_id", pa.string(), "article id (documents.doc_id)"),
    col("sent_id", pa.int32(), "sentence id within the article (sentences.sent_id)"),
    col("theme_id", pa.string(), "theme id (themes.theme_id)"),
    col("score", pa.float32(), "confidence 0..1"),
    col("method", pa.string(), "pattern | model | both | discovered"),
    col("evidence", pa.string(), "matched terms, or the model's strongest features"),
])

THEMES = pa.schema([
    col("theme_id", pa.string(), "theme id (themes.theme_id)"),
    col("name_zh", pa.string(), "Chinese name"),
    col("name_en", pa.string(), "English name"),
    col("kind", pa.string(), "seeded | discovered"),
    col("description", pa.string(), "what the theme covers"),
    col("top_terms", pa.list_(pa.string()), "most distinctive terms"),
    col("examples", pa.list_(pa.string()), "most typical sentences"),
    col("n_sentences", pa.int32(), "sentences of non-duplicate articles linked to the theme"),
    col("n_documents", pa.int32(), "non-duplicate articles with the theme"),
    col("n_problem", pa.int32(), "its sentences tagged problem"),
    col("n_measure", pa.int32(), "its sentences tagged measure"),
    col("n_experience", pa.int32(), "its sentences tagged experience"),
])

DOC_THEMES = pa.schema([
    col("doc_id", pa.string(), "article id (documents.doc_id)"),
    col("theme_id", pa.string(), "theme id (themes.theme_id)"),
    col("n_sentences", pa.int32(), "sentences of this article linked to the theme"),
    col("share", pa.float32(), "n_sentences / sentences in the article"),
    col("n_problem", pa.int32(), "its sentences tagged problem"),
    col("n_measure", pa.int32(), "its sentences tagged measure"),
    col("n_experience", pa.int32(), "its sentences tagged experience"),
])

ERRORS = pa.schema([
    col("source_path", pa.string(), "the input file (relative to the corpus root; a member of a .zip archive: 调研.zip/北京.txt)"),
    col("stage", pa.string(), "discover | read | extract | structure | annotate | themes"),
    col("error", pa.string(), "what went wrong"),
    col("hint", pa.string(), "what the user can do about it"),
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
    rows = rows if isinstance(rows, list) else list(rows)
    # column lists, then from_pydict: a third faster than from_pylist on sentence rows
    return pa.Table.from_pydict({n: [r.get(n) for r in rows] for n in schema.names}, schema=schema)


def empty(name: str) -> pa.Table:
    return SCHEMAS[name].empty_table()


def table_path(run: str | Path, name: str) -> Path | None:
    """The file or part-file directory of a table in a run, or None when absent."""
    run = Path(run)
    if not run.exists():
        run = run.with_name(f".{run.name}.old")  # a commit was interrupted between its two renames
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


def part_name(index: int) -> str:
    """File name of part `index` of a table directory (ordered by name = ordered by index)."""
    return f"part-{index:05d}.parquet"


def write_part_file(run_url: str, name: str, index: int, table: pa.Table) -> str:
    """Write RUN/NAME/part-INDEX.parquet on any fsspec file system, atomically (temporary name, then move).

    Workers write the parts of their batch with this, so a retried task simply rewrites its parts.
    """
    fs, root = fsspec.core.url_to_fs(run_url)
    folder = f"{root}/{name}"
    fs.makedirs(folder, exist_ok=True)
    final = f"{folder}/{part_name(index)}"
    tmp = f"{folder}/.part-{index:05d}-{uuid.uuid4().hex[:8]}.tmp"
    with fs.open(tmp, "wb") as fh:
        pq.write_table(table.cast(SCHEMAS[name]), fh, compression="zstd")
    fs.mv(tmp, final)
    return final


def recover(out: Path) -> None:
    """Finish an interrupted commit: if only the previous outputs (.NAME.old) exist, put them back."""
    old = out.with_name(f".{out.name}.old")
    if old.exists() and not out.exists():
        os.replace(old, out)


def unsafe_out(out: str | Path) -> str | None:
    """Why writing a run to `out` would destroy files that are not a run's, or None when it is safe.

    A run replaces its output folder whole: pointed at a folder of documents (the corpus itself, a
    parent of it, ~/Documents) or at a file, it deleted them. Safe: a folder that does not exist, an
    empty one, or one holding a run (its run.json)."""
    out = Path(out)
    if not out.exists() and not out.is_symlink():
        return None
    if not out.is_dir():
        return f"the output path {out} is a file, not a folder; give a folder for the run's tables"
    if (out / "run.json").is_file() or not any(out.iterdir()):
        return None
    return (f"the output folder {out} holds files but no zhili run (no run.json): writing the run there would "
            "delete them; give a new or empty folder, or the folder of a previous run")


class RunWriter:
    """Writes a run into a temporary sibling directory and swaps it into place on commit.

    A run that dies before commit() leaves the previous outputs untouched; the staging directory is
    removed on the next run. Only this class writes into outputs/.
    """

    def __init__(self, out: str | Path):
        self.out = Path(out).resolve()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        recover(self.out)
        for stale in self.out.parent.glob(f".{self.out.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        self.staging = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.tmp-", dir=self.out.parent))
        self._parts: dict[str, int] = {}

    def write(self, name: str, table: pa.Table) -> Path:
        """Write a whole table as NAME.parquet."""
        path = self.staging / f"{name}.parquet"
        write_parquet(table.cast(SCHEMAS[name]) if name in SCHEMAS else table, path)
        return path

    def write_part(self, name: str, table: pa.Table, index: int | None = None) -> str:
        """Write a part file of the table directory NAME/: the next one, or number `index`."""
        n = self._parts.get(name, 0) if index is None else index
        self._parts[name] = max(self._parts.get(name, 0), n + 1)
        return write_part_file(str(self.staging), name, n, table)

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
        old = self.out.with_name(f".{self.out.name}.old")
        if self.out.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(self.out, old)
        os.replace(self.staging, self.out)
        shutil.rmtree(old, ignore_errors=True)
        return self.out

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def schema_markdown() -> str:
    """The schema reference (docs/schema.md), generated from the schemas so the two never disagree."""
    lines = ["# Output tables", "",
             "Generated from `pipeline/tables.py` by `python -m pipeline.tables > docs/schema.md`.",
             "Each table is `outputs/<run>/NAME.parquet` or a directory `NAME/` of part files "
             "(read both with `pipeline.load(run, NAME)` or `pyarrow.dataset`). Offsets index `documents.text`.",
             ""]
    for name, schema in SCHEMAS.items():
        lines += [f"## {name}", "", "| column | type | meaning |", "|---|---|---|"]
        for f in schema:
            doc = (f.metadata or {}).get(b"doc", b"").decode()
            lines.append(f"| {f.name} | {f.type} | {doc.replace('|', '/')} |")
        lines.append("")
    lines += ["## run.json", "",
              "corpus, out, argv, executor, jobs, config (the full validated configuration), versions (Python and "
              "libraries), counts (files, files_cached, bytes, articles, sentences, errors, duplicates, "
              "themes_discovered), timings (seconds per phase), seconds, mb_per_s.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(schema_markdown(), end="")
