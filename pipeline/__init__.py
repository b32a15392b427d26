"""zhili: problems, measures, experiences and themes in Chinese governance documents.

From a notebook::

    import pipeline as zhili
    zhili.run("corpora/sample", out="outputs/sample")
    sentences = zhili.load("outputs/sample", "sentences")
"""
from pipeline.tables import load

__version__ = "0.1.0"


def run(corpus, out="outputs/run", config=None, **options):
    """Run the whole pipeline over a corpus folder; returns the run summary (see runner.run_pipeline)."""
    from pipeline.runner import run_pipeline

    return run_pipeline(corpus, out=out, config=config, **options)


__all__ = ["run", "load", "__version__"]
