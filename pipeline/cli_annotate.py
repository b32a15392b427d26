"""`zhili train`, `zhili review`, `zhili evaluate`: the sentence tagger's model and its figures."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.cli_output import fail
from pipeline.config import ConfigError, load_config


def expected() -> tuple[type[Exception], ...]:
    """Errors shown as a message, not a traceback (imported on demand: the tagger pulls in scikit-learn,
    which would add two seconds to every zhili command)."""
    from pipeline.labels import LabelsError
    from pipeline.tagger import ModelError

    return ConfigError, LabelsError, ModelError, FileNotFoundError, ValueError, OSError


def register(app: typer.Typer) -> None:

    @app.command()
    def train(
        labels: Optional[list[Path]] = typer.Option(None, "--labels", "-l",
                                                    help="extra label file (.jsonl/.csv/.xlsx, e.g. a corrected review file); repeatable"),
        folds: int = typer.Option(5, help="folds of the article-grouped cross-validation"),
        build_weak: Optional[list[Path]] = typer.Option(
            None, "--build-weak", help="first rebuild the weak-label file (annotate.weak_labels) from these work "
                                       "reports (.txt folders or .jsonl collections); repeatable"),
        build_vectors: Optional[list[Path]] = typer.Option(
            None, "--build-vectors", help="first rebuild the word vectors (annotate.vectors) from the texts "
                                          "(.txt/.md folders or .jsonl collections) under these paths; repeatable"),
        config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config (default configs/default.yaml)"),
    ) -> None:
        """Retrain the sentence tagger on labels.files plus --labels files, store it and print CV figures."""
        from pipeline import vectors, weak
        from pipeline.tagger import retrain

        try:
            cfg = load_config(config)
            if build_vectors:
                print(vectors.rebuild(cfg, build_vectors))
            if build_weak:
                print(weak.rebuild(cfg, build_weak))
            print(retrain(cfg, labels or [], folds))
        except expected() as exc:
            fail(str(exc))

    @app.command()
    def review(
        run: Path = typer.Argument(..., help="output folder of a run (zhili run --out)"),
        out: Path = typer.Option(Path("review.xlsx"), "--out", "-o", help="review file to write (.xlsx or .csv)"),
        n: int = typer.Option(200, "--n", help="number of sentences to export"),
    ) -> None:
        """Export the sentences the tagger is least sure of; fill correct_type, then `zhili train --labels FILE`."""
        from pipeline.tagger import export_review

        try:
            count = export_review(run, out, n)
        except expected() as exc:
            fail(str(exc))
        print(f"wrote {count} sentences to {out}: fill in correct_type (a type, or 'ok'), then run "
              f"`zhili train --labels {out}`")

    @app.command()
    def evaluate(
        folds: int = typer.Option(5, help="folds of the article-grouped cross-validation"),
        labels: Optional[list[Path]] = typer.Option(None, "--labels", "-l", help="extra label file; repeatable"),
        config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config (default configs/default.yaml)"),
    ) -> None:
        """Article-grouped CV: type macro-F1, per-type P/R/F1, confusion, keyword baseline, themes."""
        from pipeline.tagger import evaluate as run_evaluation

        try:
            print(run_evaluation(load_config(config), folds, labels or []))
        except expected() as exc:
            fail(str(exc))
