"""The plain-script baseline zhili is measured against: jieba + scikit-learn doing the same stages.

What an analyst would write without zhili: read every file (charset-normalizer), split sentences with
a regex, segment each with jieba.lcut, tag types with a TF-IDF + logistic regression model trained on
the shipped labels, match themes by their seed terms, and write one Parquet file. One process.

    python bench/reference_script.py CORPUS OUT.parquet
"""
from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import jieba
import pandas as pd
import yaml
from charset_normalizer import from_bytes
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = re.compile(r"[^。！？；\n]+[。！？；]?")


def main(corpus: Path, out: Path) -> None:
    t0 = time.perf_counter()
    jieba.setLogLevel(60)
    jieba.load_userdict(str(ROOT / "configs" / "userdict.txt"))
    labels = [json.loads(l) for l in open(ROOT / "corpora" / "labels" / "dev_labels.jsonl", encoding="utf-8")]
    vec = TfidfVectorizer(tokenizer=jieba.lcut, token_pattern=None, lowercase=False)
    model = LogisticRegression(max_iter=1000).fit(vec.fit_transform([l["text"] for l in labels]),
                                                  [l["type"] for l in labels])
    themes = yaml.safe_load(open(ROOT / "configs" / "themes.yaml", encoding="utf-8"))["themes"]
    terms = {tid: t.get("terms") or t.get("seed_terms") or [] for tid, t in themes.items()}
    rows, nbytes = [], 0
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        nbytes += len(raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = str(from_bytes(raw).best())
        sentences = [s.strip() for s in SENTENCE.findall(text) if s.strip()]
        tokens = [jieba.lcut(s) for s in sentences]
        if not sentences:
            continue
        types = model.predict(vec.transform(sentences))
        for s, toks, ty in zip(sentences, tokens, types):
            found = [tid for tid, ts in terms.items() if any(t in s for t in ts)]
            rows.append({"path": str(path), "text": s, "tokens": " ".join(toks), "type": ty, "themes": found})
    pd.DataFrame(rows).to_parquet(out)
    seconds = time.perf_counter() - t0
    print(json.dumps({"bytes": nbytes, "seconds": round(seconds, 2), "mb_per_s": round(nbytes / 1e6 / seconds, 3)}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
