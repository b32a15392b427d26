"""The plain-script baseline zhili is measured against: jieba + scikit-learn doing the same stages.

What an analyst would write without zhili, stage for stage with `zhili run`, in one process:
  ingest     read every file (utf-8, else charset-normalizer), one document per file;
  regions    the province, city and county names of configs/admin-divisions found among its words;
  structure  lines that look like headings (一、 (一) 第一章 1.), sentences by a regex, each under its heading;
  dedup      near-duplicate documents by MinHash LSH over character 5-grams (datasketch, as zhili);
  annotate   each sentence segmented once with jieba.lcut; types by TF-IDF + logistic regression trained
             on the shipped labels, with the heading's words as features too;
  themes     seed terms of configs/themes.yaml; discovery: TF-IDF + NMF (10 topics) over the problem and
             measure sentences that no seed explains (a sample of at most 50,000 fits it);
and writes a sentences and a documents Parquet file. It is simpler than zhili at every stage (no cue
lexicon, rules, decoding, dates, sections or evidence), so it is a generous baseline.

    python bench/reference_script.py CORPUS OUT.parquet        (documents go to OUT.documents.parquet)
"""
from __future__ import annotations

import csv
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import jieba
import numpy as np
import pandas as pd
import yaml
from charset_normalizer import from_bytes
from datasketch import MinHash, MinHashLSH
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = re.compile(r"[^。！？；\n]+[。！？；]?")
HEADING = re.compile(r"^\s*(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)]|第[一二三四五六七八九十百]+[章节]|\d+[.、．])")


def _tokens(toks: list[str]) -> list[str]:
    """TfidfVectorizer's analyzer: the tokens jieba already cut (each sentence is segmented once)."""
    return toks


def read(path: Path) -> str:
    """A file's text: UTF-8, else the encoding charset-normalizer finds (GB18030, Big5 …)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return str(from_bytes(raw).best())


def place_names() -> set[str]:
    """Province, city and county names of the shipped admin-division tables that name one place only
    (城区, 郊区 and 市辖区 name many; 县 names none)."""
    names: Counter = Counter()
    for table in ("provinces.csv", "cities.csv", "areas.csv"):
        with open(ROOT / "configs" / "admin-divisions" / table, encoding="utf-8") as fh:
            names.update(row["name"] for row in csv.DictReader(fh))
    return {name for name, n in names.items() if n == 1 and len(name) > 1}


def split(text: str) -> list[tuple[str, bool, str]]:
    """(sentence, is a heading, the heading it is under) of a text."""
    out, heading = [], ""
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if HEADING.match(line) and len(line) <= 40:
            heading = line
            out.append((line, True, ""))
            continue
        out.extend((s.strip(), False, heading) for s in SENTENCE.findall(line) if s.strip())
    return out


def signature(text: str) -> MinHash:
    """MinHash of a document's character 5-grams (zhili's dedup settings: 128 permutations)."""
    m = MinHash(num_perm=128, seed=1)
    m.update_batch([text[i:i + 5].encode("utf-8") for i in range(max(len(text) - 4, 1))])
    return m


def main(corpus: Path, out: Path) -> None:
    t0 = time.perf_counter()
    jieba.setLogLevel(60)
    jieba.load_userdict(str(ROOT / "configs" / "userdict.txt"))
    labels = [json.loads(line) for line in open(ROOT / "corpora" / "labels" / "dev_labels.jsonl", encoding="utf-8")]
    vec = TfidfVectorizer(analyzer=_tokens)
    model = LogisticRegression(max_iter=1000).fit(vec.fit_transform([jieba.lcut(u["text"]) for u in labels]),
                                                  [u["type"] for u in labels])
    themes = yaml.safe_load(open(ROOT / "configs" / "themes.yaml", encoding="utf-8"))["themes"]
    terms = {tid: t.get("terms") or t.get("seed_terms") or [] for tid, t in themes.items()}
    places = place_names()
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    rows, docs, nbytes = [], [], 0
    for k, path in enumerate(sorted(p for p in corpus.rglob("*") if p.is_file())):
        nbytes += path.stat().st_size
        text = read(path)
        units = split(text)
        if not units:
            continue
        sig = signature(text)
        twins = lsh.query(sig)
        lsh.insert(str(k), sig)
        tokens = [jieba.lcut(s) for s, _, _ in units]
        found = Counter(t for toks in tokens for t in toks if t in places)
        docs.append({"doc_id": str(k), "path": str(path), "region": found.most_common(1)[0][0] if found else None,
                     "duplicate_of": min(twins, key=int) if twins else None})
        heading_tokens = {s: toks for (s, is_heading, _), toks in zip(units, tokens) if is_heading}
        x = vec.transform([toks + heading_tokens[h] if h else toks for toks, (_, _, h) in zip(tokens, units)])
        for (s, is_heading, _), toks, ty in zip(units, tokens, model.predict(x)):
            rows.append({"doc_id": str(k), "text": s, "is_heading": is_heading, "tokens": " ".join(toks), "type": ty,
                         "themes": [tid for tid, ts in terms.items() if any(t in s for t in ts)]})
    frame = pd.DataFrame(rows)
    frame["discovered"] = discover(frame)
    frame.to_parquet(out)
    pd.DataFrame(docs).to_parquet(out.with_suffix(".documents.parquet"))
    seconds = time.perf_counter() - t0
    print(json.dumps({"bytes": nbytes, "seconds": round(seconds, 2), "mb_per_s": round(nbytes / 1e6 / seconds, 3)}))


def discover(frame: pd.DataFrame, k: int = 10, sample: int = 50_000) -> pd.Series:
    """Topic (0..k-1) of each problem or measure sentence no seed theme explains, else -1."""
    pool = np.flatnonzero(frame["type"].isin(["problem", "measure"]) & (frame["themes"].map(len) == 0))
    topic = pd.Series(-1, index=frame.index)
    if len(pool) < 2 * k:
        return topic
    words = [[t for t in toks.split() if len(t) > 1] for toks in frame["tokens"].to_numpy()[pool]]
    vec = TfidfVectorizer(analyzer=_tokens, min_df=2, max_df=0.5)
    fit = sorted(random.Random(0).sample(range(len(pool)), min(sample, len(pool))))
    nmf = NMF(n_components=k, init="nndsvd", random_state=0).fit(vec.fit_transform([words[i] for i in fit]))
    topic.iloc[pool] = nmf.transform(vec.transform(words)).argmax(axis=1)
    return topic


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
