"""Writers for comparisons and gaps (table, md, csv, xlsx, html) and the one-file HTML report of a run.

HTML is rendered by Jinja2 with autoescape on (document text is untrusted), CSS and charts are inlined
(base64 PNG), so a report opens offline and can be mailed as a single file.
"""
from __future__ import annotations

import base64
import datetime as dt
import io
import json
import platform
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.dataset as ds
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline import __version__, charts
from pipeline.compare import (TOTAL, format_value, CompareError, Comparison, Gaps, RunData, anchor, compare, gaps,
                              load_run, top_examples, type_counts)
from pipeline.config import CompareConfig, load_config
from pipeline.tables import SCHEMAS, table_path

FORMATS = ("table", "md", "csv", "xlsx", "html")
TEMPLATES = Path(__file__).resolve().parent / "report_templates"


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def _now() -> str:
    return dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


def format_from(out: str | Path | None, fmt: str | None) -> str:
    """The output format: as given, else from the --out suffix, else a terminal table."""
    if fmt is None:
        suffix = Path(out).suffix.lower().lstrip(".") if out else ""
        fmt = {"htm": "html", "markdown": "md", "txt": "table"}.get(suffix, suffix) or "table"
    if fmt not in FORMATS:
        raise CompareError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "xlsx" and out is None:
        raise CompareError("xlsx needs a file: add --out FILE.xlsx")
    return fmt


# ---- comparison views -------------------------------------------------------------------------

def _evidence_rows(ev: pd.DataFrame) -> list[dict]:
    return ev[["doc_id", "sent_id", "title", "region", "date", "type", "text"]].fillna("").to_dict("records")


def matrix_view(comp: Comparison, prefix: str = "", cap: int | None = None) -> dict:
    """Everything the HTML macros draw for one comparison: labelled cells with evidence links, and the
    evidence sections (theme, then group), at most `cap` sentences per cell."""
    columns = [{"label": comp.group_label(g), "title": _group_title(comp, g)} for g in comp.matrix.columns]
    rows = []
    for t in comp.matrix.index:
        cells = []
        for g in comp.matrix.columns:
            n = int(comp.counts.loc[t, g])
            href = None
            if n and t != TOTAL:
                href = anchor(prefix, t, g)
            cells.append({"text": format_value(comp.matrix.loc[t, g], comp.normalize), "count": n, "href": href,
                          "is_total": g == TOTAL,
                          "title": f"{n} sentences in {int(comp.doc_counts.loc[t, g])} documents"})
        rows.append({"label": comp.theme_label(t), "is_total": t == TOTAL, "cells": cells})
    sections = []
    for t in comp.matrix.index.drop(TOTAL):
        ev_t = comp.evidence[comp.evidence["theme_id"] == t]
        if ev_t.empty:
            continue
        groups = []
        for g, ev in ev_t.groupby("group", sort=False):
            shown = ev if cap is None else ev.head(cap)
            groups.append({"id": anchor(prefix, t, g), "title": comp.group_label(g), "n": len(ev),
                           "rows": _evidence_rows(shown), "more": len(ev) - len(shown)})
        sections.append({"id": anchor(prefix, t, TOTAL), "title": comp.theme_label(t), "n": len(ev_t),
                         "groups": groups})
    return {"columns": columns, "rows": rows, "sections": sections, "notes": comp.notes,
            "show_counts": comp.normalize != "count"}


def _group_title(comp: Comparison, g: str) -> str:
    if g == TOTAL:
        return "all groups"
    row = comp.groups.loc[g]
    return f"{int(row['n_docs'])} documents, {int(row['n_sentences'])} sentences"


def comparison_frame(comp: Comparison, display: bool = False) -> pd.DataFrame:
    """The labelled matrix; values formatted for reading when display is set."""
    table = comp.table()
    if display:
        for col in table.columns[2:]:
            table[col] = [format_value(v, comp.normalize) for v in table[col]]
    return table


def _rich(frame: pd.DataFrame, title: str, notes: list[str]) -> str:
    table = Table(title=escape(title), show_lines=False)  # titles and names are the documents': not markup
    for col in frame.columns:
        table.add_column(escape(str(col)), justify="right" if _numeric_looking(frame[col]) else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*("" if pd.isna(v) else escape(str(v)) for v in row))
    console = Console(record=True, width=10_000, file=io.StringIO())  # the table at its natural width: never cut
    console.print(table)
    for n in notes:
        console.print(f"- {n}", markup=False, highlight=False)
    return console.export_text()


def _numeric_looking(col: pd.Series) -> bool:
    """Numbers, or numbers formatted as text (12.3, 45%, –), are right-aligned."""
    if pd.api.types.is_numeric_dtype(col):
        return True
    text = col.astype(str)
    return bool(text.str.contains(r"\d").any()) and bool(text.str.fullmatch(r"[-–\d.,%\s]*").all())


def _md_cell(v: Any) -> str:
    return "" if pd.isna(v) else str(v).replace("|", "\\|").replace("\n", " ")


def to_markdown(frame: pd.DataFrame, notes: list[str] = ()) -> str:
    """A GitHub-flavoured Markdown table (numbers right-aligned) followed by the notes as a list."""
    numeric = [_numeric_looking(frame[c]) for c in frame.columns]
    lines = ["| " + " | ".join(_md_cell(c) for c in frame.columns) + " |",
             "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines + [""] + [f"- {n}" for n in notes]) + "\n"


def write_xlsx(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    """Sheets in the given order; text is written as text (a sentence starting with '=' is no formula)."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, frame in sheets.items():
        ws = wb.create_sheet(name[:31])
        ws.append([str(c) for c in frame.columns])
        for row in frame.itertuples(index=False):
            ws.append([_xlsx_value(v) for v in row])
        for cells in ws.iter_rows(min_row=2):
            for cell in cells:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
        ws.freeze_panes = "A2"
    wb.save(path)
    return path


def _xlsx_value(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        v = ", ".join(map(str, v))
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, str):
        return ILLEGAL_CHARACTERS_RE.sub("", v)
    return v.item() if hasattr(v, "item") else v


def _html(template: str, **context: Any) -> str:
    css = (TEMPLATES / "style.css").read_text(encoding="utf-8")
    return _env().get_template(template).render(css=css, version=__version__, generated=_now(), **context)


def write_comparison(comp: Comparison, fmt: str, out: str | Path | None = None, run: str | Path = "") -> str | Path:
    """Write a comparison in one format; returns the path written, or the text when out is None.

    csv also writes the evidence beside it (NAME.evidence.csv); xlsx has the sheets matrix, evidence,
    counts, groups and notes; html links every non-empty cell to its sentences.
    """
    fmt = format_from(out, fmt)
    title = f"主题 × {comp.by} · {comp.normalize}"
    if fmt == "table":
        text = _rich(comparison_frame(comp, display=True), title, comp.notes)
    elif fmt == "md":
        text = f"## {title}\n\n" + to_markdown(comparison_frame(comp, display=True), comp.notes)
    elif fmt == "html":
        text = _html("compare.html.j2", title=title, run=str(run), view=matrix_view(comp))
    elif fmt == "csv":
        out = Path(out) if out else None
        if out is None:
            return comparison_frame(comp).to_csv(index=False)
        comparison_frame(comp).to_csv(out, index=False, encoding="utf-8-sig")
        comp.evidence.to_csv(out.with_suffix(".evidence.csv"), index=False, encoding="utf-8-sig")
        return out
    else:
        return write_xlsx(Path(out), {
            "matrix": comparison_frame(comp),
            "evidence": comp.evidence.drop(columns=["group"]).rename(columns={"group_label": "group"}),
            "counts": comp.table(comp.counts),
            "groups": comp.groups.reset_index(),
            "notes": pd.DataFrame({"note": comp.notes}),
        })
    if out is None:
        return text
    Path(out).write_text(text, encoding="utf-8")
    return Path(out)


# ---- gaps -----------------------------------------------------------------------------------------

def gaps_view(g: Gaps) -> dict:
    examples = g.examples.fillna("")
    keys = ["group", "theme_id"] if g.by else ["theme_id"]
    by_key = {k if isinstance(k, tuple) else (k,): grp.to_dict("records")
              for k, grp in examples.groupby(keys, sort=False)} if len(examples) else {}
    rows = []
    for r in g.table.to_dict("records"):
        key = tuple(r[k] for k in keys)
        share = r["unaddressed_share"]
        rows.append({**r, "group": r.get("group", ""), "share": "–" if pd.isna(share) else f"{share:.0%}",
                     "examples": by_key.get(key, [])})
    return {"by": g.by, "rows": rows, "notes": g.notes}


def write_gaps(g: Gaps, fmt: str | None, out: str | Path | None = None, run: str | Path = "") -> str | Path:
    """Write a gaps table in one format (xlsx: sheets gaps and examples; csv: examples beside it)."""
    fmt = format_from(out, fmt)
    title = "缺口 problems without measures" + (f" · by {g.by}" if g.by else "")
    display = g.table.assign(unaddressed_share=[format_value(v, "share_of_documents")
                                                for v in g.table["unaddressed_share"]])
    if fmt == "table":
        text = _rich(display.drop(columns="examples"), title, g.notes)
    elif fmt == "md":
        text = f"## {title}\n\n" + to_markdown(display, g.notes)
    elif fmt == "html":
        text = _html("gaps.html.j2", title=title, run=str(run), gaps=gaps_view(g))
    elif fmt == "csv":
        if out is None:
            return g.table.to_csv(index=False)
        g.table.to_csv(out, index=False, encoding="utf-8-sig")
        g.examples.to_csv(Path(out).with_suffix(".examples.csv"), index=False, encoding="utf-8-sig")
        return Path(out)
    else:
        return write_xlsx(Path(out), {"gaps": g.table, "examples": g.examples,
                                      "notes": pd.DataFrame({"note": g.notes})})
    if out is None:
        return text
    Path(out).write_text(text, encoding="utf-8")
    return Path(out)


# ---- charts and the report ------------------------------------------------------------------------

def write_charts(run: str | Path, out_dir: str | Path, fmt: str = "png", cfg: CompareConfig | None = None,
                 include_duplicates: bool = False) -> list[Path]:
    """heatmap_province, trend_year and types charts of a run into a folder, as png or svg."""
    cfg = cfg or load_config().compare
    if fmt not in ("png", "svg"):
        raise CompareError(f"unknown chart format {fmt!r}; choose png or svg")
    out_dir = Path(out_dir)
    data = load_run(run, include_duplicates)
    by_prov = compare(data, "province", cfg.types, min_docs=cfg.min_docs)
    by_year = compare(data, "year", cfg.types, min_docs=cfg.min_docs)
    return [
        charts.heatmap(by_prov, out_dir / f"heatmap_province.{fmt}", cfg.chart_max_themes, cfg.chart_max_groups),
        charts.trend(by_year, out_dir / f"trend_year.{fmt}", min(cfg.chart_max_themes, 10)),
        charts.type_bars(type_counts(data), out_dir / f"types.{fmt}", cfg.chart_max_themes),
    ]


def _summary(data: RunData, run: Path) -> dict:
    types = data.sents["type"].value_counts()
    n_err = _rows(run, "errors")
    kinds = data.themes["kind"].value_counts() if "kind" in data.themes else pd.Series(dtype=int)
    cards = [
        (len(data.docs), "文档 documents" + (" (incl. duplicates)" if data.include_duplicates else "")),
        (data.n_duplicates, "近似重复 near-duplicates" + ("" if data.include_duplicates else " (left out)")),
        (len(data.sents), "句子 sentences"),
        (int(types.get("problem", 0)), "问题 problem"),
        (int(types.get("measure", 0)), "措施 measure"),
        (int(types.get("experience", 0)), "经验 experience"),
        (len(data.themes), "主题 themes" + "".join(f", {v} {k}" for k, v in kinds.items())),
        (data.docs["province"].nunique(), "省份 provinces"),
        (n_err if n_err is not None else "–", "错误 errors"),
    ]
    timings = []
    for key in ("timings", "stage_seconds"):
        section = data.info.get(key)
        if isinstance(section, dict):
            timings += [(f"{k} ({key})", f"{v:.2f} s" if isinstance(v, (int, float)) else str(v))
                        for k, v in section.items()]
    files = (data.info.get("counts") or {}).get("files")
    if files is not None:
        cards.insert(0, (files, "文件 input files"))
    return {"cards": [{"value": v, "label": label} for v, label in cards], "timings": timings}


def _rows(run: Path, name: str) -> int | None:
    path = table_path(run, name)
    if path is None:
        return None
    return ds.dataset(str(path), format="parquet", schema=SCHEMAS.get(name)).count_rows()


def _provenance(run: Path, info: dict) -> dict:
    items = [("run folder", str(run.resolve())), ("corpus", info.get("corpus", "–")),
             ("report by", f"zhili {__version__}, Python {platform.python_version()}, pandas {pd.__version__}")]
    for key in ("argv", "executor", "jobs", "run_key", "seconds", "config_digest", "versions"):
        if key in info:
            value = info[key]
            if key == "argv" and isinstance(value, list):
                value = " ".join(map(str, value))
            items.append((key, value if isinstance(value, (str, int, float)) else json.dumps(value, ensure_ascii=False)))
    tables = [{"name": n, "rows": _rows(run, n), "path": str(table_path(run, n).relative_to(run))}
              for n in SCHEMAS if table_path(run, n) is not None]
    text = json.dumps(info, ensure_ascii=False, indent=1, default=str) if info else ""
    return {"facts": items, "tables": tables, "run_json": text}


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def _try_compare(data: RunData, by: str, cfg: CompareConfig) -> tuple[Comparison | None, str]:
    try:
        return compare(data, by, cfg.types, min_docs=cfg.min_docs), ""
    except CompareError as exc:
        return None, str(exc)


def build_report(run: str | Path, out: str | Path, cfg: CompareConfig | None = None,
                 include_duplicates: bool = False) -> Path:
    """Write the one-file HTML report of a run: summary, charts, theme tables by province and year,
    gaps, top examples per theme, the evidence behind every cell, and the provenance."""
    cfg = cfg or load_config().compare
    run = Path(run)
    data = load_run(run, include_duplicates)
    by_prov, prov_err = _try_compare(data, "province", cfg)
    by_year, year_err = _try_compare(data, "year", cfg)
    figures, chart_notes = [], []
    if by_prov is not None and by_prov.counts.loc[TOTAL, TOTAL] > 0:
        figures.append(("主题 × 省份 heatmap (per 1,000 sentences)",
                        charts.heatmap(by_prov, None, cfg.chart_max_themes, cfg.chart_max_groups)))
        figures.append(("问题 / 措施 / 经验 per theme", charts.type_bars(type_counts(data), None, cfg.chart_max_themes)))
    if by_year is not None and by_year.counts.loc[TOTAL, TOTAL] > 0:
        if len(by_year.groups) > 1:
            figures.insert(1, ("主题随年份变化 theme prevalence over years",
                               charts.trend(by_year, None, min(cfg.chart_max_themes, 10))))
        else:
            chart_notes.append("All documents are from one year (or of unknown year): no trend chart.")
    ex = top_examples(data, cfg.examples_per_theme, tuple(cfg.types))
    order = list(by_prov.themes.index) if by_prov is not None else list(data.themes.index)
    examples = [{"label": data.themes.loc[t, "label"], "rows": _evidence_rows(ex[ex["theme_id"] == t])}
                for t in order if (ex["theme_id"] == t).any()]
    g = gaps(data, examples=cfg.examples_per_theme)  # seeded themes when the run has any
    title = f"zhili 报告 · {data.info.get('corpus') or run.name}"
    html = _html("report.html.j2", title=title, run=str(run), summary=_summary(data, run),
                 charts=[{"alt": a, "data": _b64(png)} for a, png in figures], chart_notes=chart_notes,
                 province=matrix_view(by_prov, "p", cfg.report_evidence_per_cell) if by_prov else None,
                 province_error=prov_err,
                 year=matrix_view(by_year, "y", cfg.report_evidence_per_cell) if by_year else None,
                 year_error=year_err, gaps=gaps_view(g), examples=examples,
                 provenance=_provenance(run, data.info))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
