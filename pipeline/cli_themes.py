"""`zhili themes`: what themes a run found, with counts, top terms and example sentences."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline.cli_output import fail


def print_themes(rows: list[dict]) -> None:
    table = Table(title="themes", show_lines=True, title_justify="left")
    for name in ("theme", "kind", "sentences P/M/E", "articles P/M/E", "top terms", "examples"):
        table.add_column(name, overflow="fold")
    for r in rows:
        table.add_row(
            escape(f"{r['theme_id']}\n{r['name_zh']}"),
            r["kind"],
            f"{r['sentences']} ({r['sentences_problem']}/{r['sentences_measure']}/{r['sentences_experience']})",
            f"{r['articles']} ({r['articles_problem']}/{r['articles_measure']}/{r['articles_experience']})",
            escape("、".join(r["top_terms"][:8])),
            escape("\n".join(f"• {e[:80]}" for e in r["examples"][:3])),
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    @app.command()
    def themes(
        run: Path = typer.Argument(..., help="output folder of a run (written by `zhili run`)"),
        yaml: Optional[str] = typer.Option(None, "--yaml", metavar="THEME",
                                           help="print a configs/themes.yaml stanza for this discovered theme"),
    ) -> None:
        """List every theme of a run: sentences and articles by type (problem/measure/experience), top terms
        and example sentences; with --yaml THEME, print a themes.yaml stanza for a discovered theme."""
        from pipeline.themes import summarize_run, theme_stanza

        try:
            if yaml:
                typer.echo(theme_stanza(run, yaml), nl=False)
                return
            print_themes(summarize_run(run))
        except (FileNotFoundError, KeyError) as exc:
            fail(str(exc.args[0]) if exc.args else str(exc))
