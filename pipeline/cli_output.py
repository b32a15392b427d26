"""What the commands print on the terminal besides their results: one-line errors and warnings on stderr.

Text from the user's files and configuration (file names, error reasons that quote a damaged file,
sentences, theme names) is escaped before Rich renders it, so a bracket in it is printed as it is and
never read as markup: a PDF error quoting "[/'Count', 1, …]" made `zhili run` end in a traceback after
its tables were written.
"""
from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True)


def fail(message: str) -> NoReturn:
    """Print the error on one line, no traceback, and exit with status 1."""
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def warn(message: str, label: str = "warning") -> None:
    console.print(f"[yellow]{label}:[/] {escape(message)}", highlight=False, soft_wrap=True)
