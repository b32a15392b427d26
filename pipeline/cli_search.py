"""`zhili index`, `zhili search`, `zhili serve`: full-text search over a run and its web page."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.cli_output import fail, warn
from pipeline.config import ConfigError

FORMATS = ("table", "json", "csv")


def user_errors() -> tuple[type[Exception], ...]:
    from pipeline.search.index import SearchIndexError
    from pipeline.search.query import QueryError
    return QueryError, SearchIndexError, ConfigError, FileNotFoundError, NotADirectoryError


def hit_text(hit: dict) -> Text:
    """The sentence with the matches in bold yellow, context sentences dimmed around it."""
    text = Text(overflow="fold")
    for n in hit.get("before", []):
        text.append(n["text"], style="dim")
    for piece, match in hit["segments"]:
        text.append(piece, style="bold black on yellow" if match else None)
    for n in hit.get("after", []):
        text.append(n["text"], style="dim")
    return text


def zero_message(result: dict) -> str:
    """What to try when nothing matched: the words must all be in one sentence; how many each finds alone,
    and the words without the filters."""
    lines = ["no sentence matches" + (f": every word must be in the same sentence" if len(result["terms"]) > 1 else "")]
    for h in result["zero_hints"]:
        what = "the words without the filters" if h["label"] == "without filters" else f"{h['label']} alone"
        lines.append(f"  {what}: {h['count']} sentences")
    if not result["zero_hints"]:
        lines.append("  try another word, or fewer filters")
    return "\n".join(lines)


def print_table(result: dict) -> None:
    out = Console() if sys.stdout.isatty() else Console(width=140)
    shown = len(result["hits"])
    total = result["total"]
    total = f"{total}+" if result.get("total_capped") else total
    if not result["total"] and result.get("zero_hints") is not None:
        out.print(zero_message(result), highlight=False, markup=False)
        return
    out.print(f"[bold]{total}[/] matching sentences; showing {result['offset'] + 1 if shown else 0}"
              f"–{result['offset'] + shown}", highlight=False)
    table = Table(show_lines=True, expand=True)
    table.add_column("#", justify="right", style="bold", no_wrap=True)
    table.add_column("文章 · 地区 · 日期 / 标题", ratio=2, overflow="fold")
    table.add_column("句子", ratio=5, overflow="fold")
    table.add_column("类型 · 主题", ratio=1, overflow="fold")
    for h in result["hits"]:
        where = Text(h["title"], style="bold")
        where.append("\n" + " · ".join(x for x in (h["region"], h["date"]) if x))
        if h["heading"]:
            where.append("\n" + h["heading"], style="italic")
        kind = Text(f"{h['type']} {h['type_score']:.2f}" if h["type_score"] is not None else str(h["type"]))
        if h["theme_names"]:
            kind.append("\n" + "、".join(h["theme_names"]))
        table.add_row(str(h["rank"]), where, hit_text(h), kind)
    out.print(table)


def register(app: typer.Typer) -> None:
    @app.command()
    def index(
        run: Path = typer.Argument(..., help="run folder written by `zhili run`"),
        force: bool = typer.Option(False, "--force", help="rebuild even when the tables did not change"),
    ) -> None:
        """Build RUN/search.sqlite (full-text index of the run's sentences); skipped when up to date."""
        from pipeline.search.index import build_index
        try:
            info = build_index(run, force=force)
        except user_errors() as exc:
            fail(str(exc))
        if info.rebuilt:
            Console().print(f"indexed {info.n_sentences} sentences of {info.n_documents} articles in "
                            f"{info.seconds:.1f} s -> {info.path} ({info.bytes / 1e6:.1f} MB)", highlight=False, markup=False)
        else:
            Console().print(f"index up to date: {info.path} ({info.n_sentences} sentences)", highlight=False, markup=False)

    @app.command()
    def search(
        run: Path = typer.Argument(..., help="run folder written by `zhili run`"),
        query: str = typer.Argument("", help='words (all must match) and "quoted phrases"'),
        type_: Optional[List[str]] = typer.Option(None, "--type", "-t", help="problem | measure | experience | other (repeatable)"),
        theme: Optional[List[str]] = typer.Option(None, "--theme", help="theme id or name (repeatable)"),
        region: Optional[List[str]] = typer.Option(None, "--region", "-r", help="province/city/county name or code: 天津, 天津市, 12"),
        year: Optional[str] = typer.Option(None, "--year", "-y", help="2023 or a range 2019-2024"),
        source: Optional[List[str]] = typer.Option(None, "--source", help="source of the articles (repeatable)"),
        limit: int = typer.Option(20, "--limit", "-n", help="results to show (capped by configs/search.yaml)"),
        offset: int = typer.Option(0, "--offset", help="skip this many results (paging)"),
        fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv"),
        context: int = typer.Option(0, "--context", "-C", help="also show N sentences before and after"),
    ) -> None:
        """Search the run's sentences: ranked matches with the article title, region, date and heading."""
        from pipeline.search.export import to_csv, to_json
        from pipeline.search.query import search_run
        if fmt not in FORMATS:
            fail(f"unknown --format {fmt!r}: use table, json or csv")
        if limit < 1 or offset < 0 or context < 0:
            fail("--limit must be at least 1, --offset and --context at least 0")
        try:
            result = search_run(run, query, type_, theme, region, year, source, limit, offset, context)
        except user_errors() as exc:
            fail(str(exc))
        for notice in result["notices"]:
            warn(notice, "note")
        if fmt == "json":
            sys.stdout.write(to_json(result) + "\n")
        elif fmt == "csv":
            sys.stdout.write(to_csv(result["hits"]))
        else:
            print_table(result)

    @app.command()
    def serve(
        run: Path = typer.Argument(..., help="run folder written by `zhili run`"),
        host: str = typer.Option("127.0.0.1", help="address to bind (default: this machine only)"),
        port: int = typer.Option(8000, help="port to listen on"),
        workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1,
                                              help="server processes (default: web.workers in configs/search.yaml)"),
    ) -> None:
        """Serve the read-only search web page of a run (search, facets, articles, themes, CSV export)."""
        from pipeline.web.app import serve as serve_app
        try:
            serve_app(run, host=host, port=port, workers=workers)
        except user_errors() as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
