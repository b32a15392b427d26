"""Search results as JSON and CSV (the CLI's --format and the web page's /export.csv)."""
from __future__ import annotations

import csv
import io
import json

CSV_COLUMNS = ["rank", "doc_id", "sent_id", "title", "date", "region", "source", "heading", "type", "type_score",
               "themes", "text", "marked"]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def spans(segments: list[tuple[str, bool]]) -> list[list[int]]:
    """[start, end] offsets of the highlighted pieces within the sentence."""
    out, pos = [], 0
    for piece, hit in segments:
        if hit:
            out.append([pos, pos + len(piece)])
        pos += len(piece)
    return out


def hit_record(hit: dict) -> dict:
    """A hit without the render-only segments, with highlight offsets instead."""
    record = {k: v for k, v in hit.items() if k != "segments"}
    record["highlights"] = spans(hit.get("segments", []))
    return record


def to_json(result: dict) -> str:
    data = {**result, "hits": [hit_record(h) for h in result["hits"]]}
    return json.dumps(data, ensure_ascii=False, indent=1)


def safe_cell(value: object) -> object:
    """Cells a spreadsheet would run as a formula get a leading apostrophe (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def to_csv(hits: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for h in hits:
        row = {**h, "themes": " ".join(h.get("themes", []))}
        writer.writerow([safe_cell(row.get(c, "")) for c in CSV_COLUMNS])
    return buf.getvalue()
