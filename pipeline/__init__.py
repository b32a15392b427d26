"""zhili: problems, measures, experiences and themes in Chinese governance documents.

From a notebook::

    import pipeline as zhili
    summary = zhili.run("corpora/sample", out="outputs/sample")
    sentences = zhili.load("outputs/sample", "sentences")   # a pandas DataFrame
"""
from __future__ import annotations

__version__ = "0.1.0"


def run(corpus, out="outputs/run", config=None, **options):
    """Run the whole pipeline over a corpus folder; returns a RunSummary (see runner.run_pipeline)."""
    from pipeline.runner import run_pipeline

    return run_pipeline(corpus, out=out, config=config, **options)


def load(run_dir, table, columns=None):
    """One table of a run as a pandas DataFrame: documents, sections, sentences, mentions, themes, ..."""
    from pipeline.tables import load as load_table

    return load_table(run_dir, table, columns)


__all__ = ["run", "load", "__version__"]
