"""The `zhili` command line. Each command parses its options and calls one library function.

Commands live beside the code they drive (pipeline/cli_*.py, each with a register(app) function) and
are listed here, in one place.
"""
from __future__ import annotations

import typer

from pipeline import cli_annotate, cli_compare, cli_run, cli_search, cli_themes

app = typer.Typer(
    name="zhili",
    help="zhili (治理): problems, measures, experiences and themes in Chinese governance documents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (cli_run, cli_search, cli_compare, cli_annotate, cli_themes):
    module.register(app)

if __name__ == "__main__":
    app()
