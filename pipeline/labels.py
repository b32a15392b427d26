"""Reading labelled sentence units (jsonl, csv, xlsx) for the tagger and the theme model.

A label file has the columns doc, n, text, type, themes (see corpora/labels/GUIDELINES.md). A review
file exported by `zhili review` has the same columns plus `correct_type` (and context columns): there
the `type` column is only the model's guess, so a row counts only when the analyst filled
`correct_type` (or `label`); writing "ok" there accepts the guess. This lets a corrected review file go
straight back into `zhili train --labels FILE` without editing columns.
"""
from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd

TYPES = ("problem", "measure", "experience", "other")
#: type names an analyst may type instead of the ids (Chinese, short forms)
TYPE_ALIASES = {
    "问题": "problem", "prob": "problem", "p": "problem",
    "措施": "measure", "对策": "measure", "建议": "measure", "meas": "measure", "m": "measure",
    "经验": "experience", "做法": "experience", "exp": "experience", "e": "experience",
    "其他": "other", "其它": "other", "o": "other",
}
#: values of correct_type meaning "the predicted type is right"
ACCEPT = {"ok", "y", "yes", "✓", "√", "=", "对", "是"}
CORRECTION_COLUMNS = ("correct_type", "label")
CONTEXT_COLUMNS = ("heading", "is_heading", "pos_doc", "pos_section")
_THEME_SPLIT = re.compile(r"[\s,;|、，；]+")


class LabelsError(ValueError):
    """A label file cannot be used; the message names the file, the row and what to fix."""


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()


def parse_type(value: Any) -> str | None:
    """A type id from an id, an alias or None when blank; unknown names raise ValueError."""
    if _blank(value):
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if text in TYPES:
        return text
    if text in TYPE_ALIASES:
        return TYPE_ALIASES[text]
    raise ValueError(f"unknown type {value!r}: use one of {', '.join(TYPES)}")


def parse_themes(value: Any) -> list[str]:
    """Themes from a list, a JSON list string or a string separated by , ; | 、 or spaces."""
    if _blank(value):
        return []
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        text = str(value).strip()
        if text.startswith("["):
            try:
                items = [str(v) for v in json.loads(text.replace("'", '"'))]
            except json.JSONDecodeError:
                items = _THEME_SPLIT.split(text.strip("[]"))
        else:
            items = _THEME_SPLIT.split(text)
    return [t.strip().strip("'\"") for t in items if t.strip().strip("'\"")]


def _read_rows(path: Path) -> list[dict]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        rows = []
        for i, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LabelsError(f"{path}: line {i} is not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise LabelsError(f"{path}: line {i} is not a JSON object")
            rows.append(row)
        return rows
    if suffix == ".csv":
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise LabelsError(f"{path}: not UTF-8 or GB18030 text; save the CSV as UTF-8")
        return frame.to_dict("records")
    if suffix in (".xlsx", ".xlsm"):
        frame = pd.read_excel(path, dtype=object, sheet_name=0)
        return frame.to_dict("records")
    raise LabelsError(f"{path}: unsupported label file type {suffix!r}; use .jsonl, .csv or .xlsx")


def _unit(row: dict, index: int, path: Path, review: bool) -> dict | None:
    where = f"{path}: row {index + 1}"
    text = row.get("text")
    if _blank(text):
        raise LabelsError(f"{where}: empty 'text'; every labelled unit needs its sentence text")
    try:
        gold = parse_type(row.get("type"))
        if review:
            correction = next((row.get(c) for c in CORRECTION_COLUMNS if not _blank(row.get(c))), None)
            if correction is None:
                return None
            accepted = str(correction).strip().lower() in ACCEPT
            gold = gold if accepted else parse_type(correction)
    except ValueError as exc:
        raise LabelsError(f"{where}: {exc}") from None
    if gold is None:
        raise LabelsError(f"{where}: empty 'type'; fill in one of {', '.join(TYPES)}")
    n = row.get("n")
    unit = {
        "doc": path.name if _blank(row.get("doc")) else str(row["doc"]),
        "n": index if _blank(n) else int(float(n)),
        "text": str(text).strip(),
        "type": gold,
        "themes": parse_themes(row.get("themes")),
    }
    for key in CONTEXT_COLUMNS:
        if key in row and not _blank(row[key]):
            unit[key] = row[key]
    return unit


def read_labels(paths: list[Path]) -> list[dict]:
    """Units {doc, n, text, type, themes[, heading, is_heading, pos_doc, pos_section]} of the files, in order.

    Raises LabelsError naming the file and row for a missing file, a bad row or an unknown type.
    """
    units: list[dict] = []
    for path in map(Path, paths):
        if not path.is_file():
            raise LabelsError(f"label file not found: {path}")
        try:
            rows = _read_rows(path)
        except (OSError, ValueError) as exc:
            if isinstance(exc, LabelsError):
                raise
            raise LabelsError(f"{path}: cannot read label file: {exc}") from None
        if rows and "text" not in rows[0]:
            raise LabelsError(f"{path}: no 'text' column; expected columns doc, n, text, type, themes")
        review = bool(rows) and any(c in rows[0] for c in CORRECTION_COLUMNS)
        for i, row in enumerate(rows):
            unit = _unit(row, i, path, review)
            if unit is not None:
                units.append(unit)
    return units


def norm_text(text: str) -> str:
    """Text compared across files: NFKC, no spaces or punctuation (as the scorer compares)."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isalnum())


def merge_labels(base: list[dict], extra: list[dict]) -> list[dict]:
    """Base units with later corrections applied: a unit of `extra` with the same doc and text as a base
    unit replaces its type/themes in place (keeping its position, so reconstructed context stays right);
    other extra units are appended (repeats inside one file are distinct units and are all kept)."""
    merged = [dict(u) for u in base]
    where = {(u["doc"], norm_text(u["text"])): i for i, u in enumerate(merged)}
    for unit in extra:
        key = (unit["doc"], norm_text(unit["text"]))
        if key in where:
            merged[where[key]].update(type=unit["type"], themes=unit["themes"])
        else:
            merged.append(dict(unit))
    return merged


def training_labels(cfg, extra: list[Path] | None = None) -> list[dict]:
    """Units of cfg.labels.files (plus extra files, which correct earlier units) minus
    cfg.labels.exclude_docs: the training set of the tagger and the theme model."""
    excluded = set(cfg.labels.exclude_docs)
    units: list[dict] = []
    for path in [cfg.resolve(p) for p in cfg.labels.files] + [Path(p) for p in extra or []]:
        units = merge_labels(units, read_labels([path]))
    return [u for u in units if u["doc"] not in excluded]
