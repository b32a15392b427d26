"""The table contract: schemas, documentation, atomic writes."""
import os

import pyarrow as pa
import pytest

from pipeline import tables
from pipeline.config import PROJECT_ROOT


def test_schema_doc_is_generated_from_schemas():
    assert (PROJECT_ROOT / "docs" / "schema.md").read_text(encoding="utf-8") == tables.schema_markdown()


def test_every_column_is_documented():
    for name, schema in tables.SCHEMAS.items():
        for f in schema:
            assert f.metadata and f.metadata.get(b"doc"), f"{name}.{f.name} has no description"


def test_design_contract_columns_keep_their_names():
    contract = {
        "documents": ["doc_id", "source_path", "title", "date", "regions"],
        "sentences": ["doc_id", "sent_id", "section_id", "start", "end", "text", "type", "type_score", "cues", "themes"],
        "sections": ["doc_id", "section_id", "level", "heading"],
        "themes": ["theme_id", "name_zh", "name_en", "kind", "top_terms"],
        "errors": ["source_path", "stage", "error"],
        "sentence_themes": ["doc_id", "sent_id", "theme_id", "score", "method", "evidence"],
    }
    for name, cols in contract.items():
        assert set(cols) <= set(tables.SCHEMAS[name].names), name


def test_to_table_fills_missing_columns_with_null():
    t = tables.to_table("errors", [{"source_path": "a.txt", "stage": "read", "error": "空文件"}])
    assert t.schema.equals(tables.ERRORS)
    assert t.to_pylist() == [{"source_path": "a.txt", "stage": "read", "error": "空文件", "hint": None}]


def test_run_writer_is_atomic(tmp_path):
    out = tmp_path / "run"
    w = tables.RunWriter(out)
    w.write("errors", tables.to_table("errors", [{"source_path": "first"}]))
    w.commit()
    w2 = tables.RunWriter(out)
    w2.write("errors", tables.to_table("errors", [{"source_path": "second"}]))
    assert tables.load(out, "errors")["source_path"].tolist() == ["first"]  # not visible before commit
    w2.abort()
    assert tables.load(out, "errors")["source_path"].tolist() == ["first"]
    w3 = tables.RunWriter(out)
    w3.write_part("errors", tables.to_table("errors", [{"source_path": "third"}]))
    w3.commit()
    assert tables.load(out, "errors")["source_path"].tolist() == ["third"]
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_interrupted_commit_is_recovered(tmp_path):
    out = tmp_path / "run"
    w = tables.RunWriter(out)
    w.write("errors", tables.to_table("errors", [{"source_path": "kept"}]))
    w.commit()
    os.replace(out, tmp_path / ".run.old")  # killed between the two renames of a later commit
    assert tables.load(out, "errors")["source_path"].tolist() == ["kept"]
    tables.RunWriter(out).abort()
    assert out.exists()


def test_missing_table_names_the_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="zhili run"):
        tables.read_table(tmp_path, "sentences")


def test_part_directory_and_single_file_read_alike(tmp_path):
    w = tables.RunWriter(tmp_path / "r")
    for i in range(3):
        w.write_part("mentions", tables.to_table("mentions", [{"doc_id": f"d{i}", "start": i, "end": i + 2}]))
    w.commit()
    t = tables.read_table(tmp_path / "r", "mentions")
    assert t.num_rows == 3 and isinstance(t, pa.Table)
