"""Commands `compare`, `gaps`, `charts` and `report`: read a run's tables, write tables, charts, a report."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.config import load_config

FORMAT_HELP = "table | md | csv | xlsx | html (default: from the --out suffix, else table)"


def _split(value: Optional[str]) -> Optional[list[str]]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _fail(exc: Exception) -> None:
    """One line, no traceback; an exception we did not foresee is named as such so it gets reported."""
    known = isinstance(exc, (ValueError, RuntimeError, OSError))
    typer.echo(f"error: {exc}" if known else f"error: unexpected {type(exc).__name__}: {exc} "
               "(please report it with the command you ran)", err=True)
    raise typer.Exit(1)


def _done(result, what: str) -> None:
    if isinstance(result, Path):
        typer.echo(f"{what} written to {result}", err=True)
    else:
        typer.echo(result)


def register(app: typer.Typer) -> None:
    """Add compare, gaps, charts and report to the zhili app."""

    @app.command()
    def compare(
        run: Path = typer.Argument(..., help="run folder (output of `zhili run`)"),
        by: str = typer.Option("province", help="region | province | city | year | source | doc"),
        types: Optional[str] = typer.Option(None, help="sentence types counted, comma-separated "
                                            "(default from configs: problem,measure,experience)"),
        themes: Optional[str] = typer.Option(None, help="theme ids or Chinese names, comma-separated (default all)"),
        normalize: str = typer.Option("per_1000_sentences",
                                      help="count | per_1000_sentences | share_of_documents"),
        kind: Optional[str] = typer.Option(None, help="only seeded or discovered themes (default both)"),
        min_docs: Optional[int] = typer.Option(None, help="groups with fewer documents are marked '*' "
                                               "(default from configs: 3)"),
        include_duplicates: bool = typer.Option(False, help="keep near-duplicate documents"),
        format: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
        out: Optional[Path] = typer.Option(None, help="output file (printed when absent)"),
        chart: Optional[Path] = typer.Option(None, help="also draw the matrix: heatmap, or lines when --by year "
                                             "(.png or .svg)"),
        config: Optional[Path] = typer.Option(None, help="configuration file (default configs/default.yaml)"),
    ):
        """Compare themes across regions, provinces, years, sources or documents (theme x group matrix).

        Cells count theme sentences of the chosen types. per_1000_sentences divides by ALL sentences of
        the group (every type); share_of_documents is the share of the group's documents with at least
        one theme sentence. Near-duplicates are left out unless --include-duplicates. Groups with fewer
        than --min-docs documents are marked '*'. Every cell is backed by its sentences: the 'evidence'
        sheet in xlsx, links in html, NAME.evidence.csv beside a csv.
        """
        from pipeline import charts, report
        from pipeline.compare import compare as compare_run

        try:
            cfg = load_config(config).compare
            comp = compare_run(run, by, _split(types) or cfg.types, _split(themes), normalize,
                               cfg.min_docs if min_docs is None else min_docs, include_duplicates, kind)
            _done(report.write_comparison(comp, format, out, run), "comparison")
            if chart is not None:
                draw = charts.trend if by == "year" else charts.heatmap
                _done(draw(comp, chart), "chart")
        except Exception as exc:  # noqa: BLE001 (one-line message, no traceback)
            _fail(exc)

    @app.command()
    def gaps(
        run: Path = typer.Argument(..., help="run folder (output of `zhili run`)"),
        by: Optional[str] = typer.Option(None, help="also per group: region | province | city | year | source"),
        themes: Optional[str] = typer.Option(None, help="theme ids or Chinese names, comma-separated (default all)"),
        kind: Optional[str] = typer.Option(None, help="seeded, discovered or all themes (default seeded: a "
                                           "discovered theme comes from one type's sentences, so it has no gap to show)"),
        include_duplicates: bool = typer.Option(False, help="keep near-duplicate documents"),
        examples: Optional[int] = typer.Option(None, help="example sentences per theme (default from configs: 3)"),
        format: Optional[str] = typer.Option(None, "--format", help=FORMAT_HELP),
        out: Optional[Path] = typer.Option(None, help="output file (printed when absent)"),
        config: Optional[Path] = typer.Option(None, help="configuration file (default configs/default.yaml)"),
    ):
        """Problems without measures: per theme, articles with problems, measures, experiences on it.

        unaddressed_docs counts the articles that report the theme as a problem with no measure sentence on
        the same theme; examples quote those problems. With --by, the same table per group."""
        from pipeline import report
        from pipeline.compare import gaps as gaps_run

        try:
            cfg = load_config(config).compare
            result = gaps_run(run, by, _split(themes), include_duplicates,
                              cfg.examples_per_theme if examples is None else examples, kind)
            _done(report.write_gaps(result, format, out, run), "gaps")
        except Exception as exc:  # noqa: BLE001 (one-line message, no traceback)
            _fail(exc)

    @app.command()
    def charts(
        run: Path = typer.Argument(..., help="run folder (output of `zhili run`)"),
        out: Path = typer.Option(Path("charts"), help="folder for the chart files"),
        format: str = typer.Option("png", "--format", help="png | svg"),
        include_duplicates: bool = typer.Option(False, help="keep near-duplicate documents"),
        config: Optional[Path] = typer.Option(None, help="configuration file (default configs/default.yaml)"),
    ):
        """Draw the charts of a run: theme x province heatmap, themes over years, types per theme.

        Writes heatmap_province, trend_year and types (.png or .svg) into --out. Needs a CJK font
        (Debian: apt-get install fonts-noto-cjk)."""
        from pipeline import report

        try:
            for path in report.write_charts(run, out, format, load_config(config).compare, include_duplicates):
                typer.echo(str(path))
        except Exception as exc:  # noqa: BLE001 (one-line message, no traceback)
            _fail(exc)

    @app.command("report")
    def report_cmd(
        run: Path = typer.Argument(..., help="run folder (output of `zhili run`)"),
        out: Path = typer.Option(Path("report.html"), help="the HTML file to write"),
        include_duplicates: bool = typer.Option(False, help="keep near-duplicate documents"),
        config: Optional[Path] = typer.Option(None, help="configuration file (default configs/default.yaml)"),
    ):
        """Write one self-contained HTML report of a run (one file, opens offline).

        Summary, charts, themes by province and by year with the sentences behind every cell, gaps, top
        example sentences per theme, and the provenance (run.json: corpus, config, versions, timings)."""
        from pipeline import report

        try:
            path = report.build_report(run, out, load_config(config).compare, include_duplicates)
            typer.echo(f"report written to {path}", err=True)
        except Exception as exc:  # noqa: BLE001 (one-line message, no traceback)
            _fail(exc)
