"""Weak sentence-type labels from the section structure of unlabelled documents (distant supervision).

Government work reports follow one outline: the review (一、2023年工作回顾 / 过去一年) describes what was
done (experience), a paragraph introduced by 问题和不足 lists problems, and the plan (2024年重点任务 /
工作安排) prescribes (measure). structure.split gives the outline and the heading kinds of configs/cues.yaml
name each part, so every body sentence of such a document gets a label for free. These labels are noisy
(a review also states aims, a plan also cites results), so the tagger gives them a low sample weight
(annotate.weak_weight) and learns from them only what the text itself says, never their headings.
`zhili train --build-weak` writes the file listed in annotate.weak_labels.

Statutes are not weak-labelled: their normative clauses as weak measures raised the share of a
regulation's 应当/不得 clauses tagged measure from 92% to 95% but lowered the seeds' leave-one-file-out
macro-F1 by 0.005; the statute type prior (annotate.statute) does most of that work without the cost.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

from pipeline.annotate import CUE_TYPES, load_cues
from pipeline.config import Config
from pipeline.structure import split
from pipeline.vectors import corpus_documents, named

MIN_CHARS, MAX_CHARS = 10, 200
SOURCE_SUFFIXES = (".txt", ".jsonl")


def label_document(text: str, cfg: Config) -> list[tuple[int, str, str]]:
    """(sentence number, text, weak type) of the body sentences whose part of the outline names a type:
    the kind of the top-level heading (工作回顾 -> experience, 重点任务 -> measure, 存在的问题 -> problem),
    overridden by a problem list introduction (还存在…问题和不足。主要是：… / 我们也清醒认识到，…) for the list
    it introduces (Cues.list_reach), whose closing commitment (对此，我们将…加以解决) is a measure."""
    cues = load_cues(cfg)
    sections, sentences = split(text, cfg.structure)
    by_id = {s["section_id"]: s for s in sections}

    def top_kind(sid) -> str | None:
        while sid in by_id and (by_id[sid].get("level") or 0) > 1:
            sid = by_id[sid].get("parent_id")
        kinds = cues.heading_kinds(by_id[sid].get("heading") or "") if sid in by_id else []
        return kinds[0][0] if kinds else None

    intro_rx = cues.intro_regex.get("problem")
    texts = [s["text"] for s in sentences]
    paras = [s["para_id"] for s in sentences]
    headings = [bool(s["is_heading"]) for s in sentences]
    listed: dict[int, str] = {}  # the problems a paragraph introduces, and the commitment that closes them
    for i, body in enumerate(texts):
        if intro_rx is not None and not headings[i] and paras[i] is not None and intro_rx.search(body):
            end, commits = cues.list_reach(i, texts, paras, headings)
            listed.update(dict.fromkeys(range(i, end), "problem"))
            if commits:
                listed[end] = "measure"
    out = []
    for i, s in enumerate(sentences):
        body = s["text"]
        kind = listed.get(i) or top_kind(s["section_id"])
        if kind in CUE_TYPES and not s["is_heading"] and MIN_CHARS <= len(body) <= MAX_CHARS:
            out.append((s["sent_id"], body, kind))
    return out


def build_weak(cfg: Config, sources: list[Path], out: Path, per_type: int = 1500, seed: int = 0) -> dict[str, int]:
    """Write a balanced sample (at most per_type units of each type, fixed seed, distinct texts) of the
    weak labels of every .txt/.jsonl file under `sources`, less the files of annotate.weak_exclude, as
    label JSON lines; returns the counts."""
    pools: dict[str, list[dict]] = {t: [] for t in CUE_TYPES}
    seen: set[str] = set()
    for name, text in corpus_documents(sources, SOURCE_SUFFIXES, named(cfg.annotate.weak_exclude)):
        for n, body, kind in label_document(text, cfg):
            if body not in seen:
                seen.add(body)
                pools[kind].append({"doc": name, "n": n, "text": body, "type": kind, "themes": []})
    rng = random.Random(seed)
    chosen = []
    for kind, pool in pools.items():
        chosen += rng.sample(pool, min(per_type, len(pool)))
    chosen.sort(key=lambda u: (u["doc"], u["n"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for unit in chosen:
            fh.write(json.dumps(unit, ensure_ascii=False) + "\n")
    return {kind: sum(1 for u in chosen if u["type"] == kind) for kind in CUE_TYPES} | {
        f"pool_{kind}": len(pool) for kind, pool in pools.items()}


def rebuild(cfg: Config, sources: list[Path]) -> str:
    """`zhili train --build-weak SRC`: rewrite the first file of annotate.weak_labels from the sources."""
    if not cfg.annotate.weak_labels:
        raise ValueError("annotate.weak_labels is empty: name the file to write there first")
    missing = [str(p) for p in sources if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(f"weak-label source not found: {', '.join(missing)}")
    out = cfg.resolve(cfg.annotate.weak_labels[0])
    counts = build_weak(cfg, [Path(p) for p in sources], out, cfg.annotate.weak_per_type)
    return f"wrote {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
