"""`zhili themes`: what themes a run found, with counts, top terms and example sentences."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from pipeline.cli_output import fail


EXAMPLE_CHARS = 80
MARKS = "①②③"


def example_lines(examples: list[str]) -> str:
    """Up to three examples, one a line, each numbered with no space after its mark: a space was where a
    narrow terminal wrapped, leaving the mark alone on its line above the unbroken Chinese text."""
    return "\n".join(f"{mark}{e[:EXAMPLE_CHARS]}{'…' if len(e) > EXAMPLE_CHARS else ''}"
                     for mark, e in zip(MARKS, examples))


def theme_block(r: dict) -> tuple[str, str]:
    """One theme as Rich markup: a title line (id, name, kind) and its body (counts by type, top terms,
    examples). A block, not a table row: six table columns left the examples a few characters wide at 80
    columns. No space inside the terms or after a mark, where the terminal would wrap."""
    title = f"[bold]{escape(r['theme_id'])}[/bold]  {escape(r['name_zh'])}  [dim]{r['kind']}[/dim]"
    body = [f"{r['sentences']} sentences {r['sentences_problem']}/{r['sentences_measure']}/"
            f"{r['sentences_experience']}, {r['articles']} articles {r['articles_problem']}/"
            f"{r['articles_measure']}/{r['articles_experience']}"]
    if r["top_terms"]:
        body.append(f"terms：{escape('、'.join(r['top_terms'][:8]))}")
    if r["examples"]:
        body.append(escape(example_lines(r["examples"])))
    return title, "\n".join(body)


def print_indented(console: Console, markup: str, indent: int = 2) -> None:
    """Markup wrapped to the console's width less the indent, each line indented and none padded with
    trailing spaces (rich.padding.Padding pads every line to the full width)."""
    options = console.options.update_width(max(console.width - indent, 20))
    for line in console.render_lines(Text.from_markup(markup), options, pad=False):
        text = Text(" " * indent).append_text(Text.assemble(*((seg.text, seg.style) for seg in line if not seg.control)))
        console.print(text, soft_wrap=True)


def print_themes(rows: list[dict]) -> None:
    console = Console()
    console.print(f"{len(rows)} themes (counts as all, then problem/measure/experience)", style="bold")
    for r in rows:
        title, body = theme_block(r)
        console.print()
        console.print(title)
        print_indented(console, body)


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
