"""The benchmark's reference script (bench/reference_script.py) runs every stage on real documents."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def test_the_reference_script_does_the_pipelines_stages(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    reports = sorted((ROOT / "corpora" / "sample" / "city-reports-2024").glob("*.txt"))[:2]
    for path in reports:
        shutil.copy(path, corpus / path.name)
    shutil.copy(reports[0], corpus / "copy-of-the-first.txt")  # a near-duplicate
    out = tmp_path / "ref.parquet"
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "reference_script.py"), str(corpus), str(out)],
                         capture_output=True, text=True, check=True)
    timing = json.loads(res.stdout.strip().splitlines()[-1])
    assert timing["bytes"] == sum(p.stat().st_size for p in corpus.iterdir())
    sentences = pd.read_parquet(out)
    documents = pd.read_parquet(out.with_suffix(".documents.parquet"))
    assert len(documents) == 3 and documents["duplicate_of"].notna().sum() == 1
    assert documents["region"].notna().all()
    assert sentences["is_heading"].any() and set(sentences["type"]) <= {"problem", "measure", "experience", "other"}
    assert sentences["themes"].map(len).sum() > 0 and (sentences["discovered"] >= 0).any()
