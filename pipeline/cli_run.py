"""`zhili run`: the main job, from a corpus folder to a run's Parquet tables."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from pipeline.cli_output import console, fail, warn
from pipeline.config import ConfigError, load_config


def print_summary(summary, errors_preview: list[dict]) -> None:
    table = Table(title="zhili run", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("files read", f"{summary.files} ({summary.files_cached} unchanged, from cache)")
    table.add_row("articles", str(summary.articles))
    table.add_row("sentences", str(summary.sentences))
    table.add_row("errors", str(summary.errors))
    table.add_row("duplicates", str(summary.duplicates))
    table.add_row("discovered themes", str(summary.themes_discovered))
    table.add_row("input", f"{summary.bytes / 1e6:.1f} MB in {summary.seconds:.1f} s = {summary.mb_per_s:.2f} MB/s")
    table.add_row("tables", escape(str(summary.out)))
    Console().print(table)
    for err in errors_preview:
        warn(f"{err['source_path']}: {err['error']} — {err['hint']}")


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        corpus: Path = typer.Argument(Path("corpora/sample"), help="folder (or file) of documents to read"),
        out: Path = typer.Option(Path("outputs/run"), "--out", "-o", help="output folder of the run's tables"),
        config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config (default configs/default.yaml)"),
        jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="worker processes (default: all cores)"),
        executor: str = typer.Option("local", help="local | dask (an existing cluster) | dask-local (a LocalCluster)"),
        scheduler: Optional[str] = typer.Option(None, help="Dask scheduler address, e.g. tcp://HOST:8786"),
        workers: int = typer.Option(2, help="workers of the LocalCluster with --executor dask-local"),
        fresh: bool = typer.Option(False, "--fresh", help="ignore the cache and process every file again"),
        cache_dir: Optional[str] = typer.Option(None, help="cache location (folder or fsspec URL)"),
    ) -> None:
        """Read a corpus folder and write documents, sections, sentences, mentions, themes and errors tables."""
        from pipeline.runner import PipelineError, run_pipeline
        from pipeline.tables import read_table

        if executor == "dask" and not scheduler:
            fail("--executor dask needs --scheduler tcp://HOST:8786 (or use --executor dask-local)")
        n_jobs = workers if executor == "dask-local" else jobs
        try:
            cfg = load_config(config)  # before the progress bar, so a config error is the only output
        except ConfigError as exc:
            fail(str(exc))
        columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("files"), TimeElapsedColumn(), TimeRemainingColumn()]
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task("reading", total=None)
            try:
                summary = run_pipeline(
                    corpus, out=out, config=cfg, jobs=n_jobs, executor=executor, scheduler=scheduler,
                    fresh=fresh, cache_dir=cache_dir,
                    on_start=lambda n, _b: bar.update(task, total=n, description="processing"),
                    progress=lambda done, _b: bar.update(task, completed=done),
                )
            except (ConfigError, PipelineError) as exc:
                fail(str(exc))
            bar.update(task, description="done")
        errors = read_table(summary.out, "errors").to_pylist()
        print_summary(summary, errors[:200])
        if len(errors) > 200:
            console.print(f"... and {len(errors) - 200} more errors in {summary.out / 'errors.parquet'}", markup=False)
