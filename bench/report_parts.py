"""How a run tagged the parts of work reports: the share of review parts tagged experience, of plan parts measure.

    .venv/bin/python bench/report_parts.py RUN [--show N]

A transfer check on text no label covers (zhili run over ../shared/corpora/city-reports-2024 or
national-reports first): a part is a level-1 section whose heading names a review (回顾, 过去…年, 工作总结) or
a plan (a year such as 2024年, 今年, 工作安排, 主要任务, 重点工作, 工作任务, 总体要求, 总体部署); every body
sentence below it counts. Reviews also hold the report's problems paragraph and plans their statements of
principle, so neither share should reach 100%. --show prints N review sentences not tagged experience.
"""
from __future__ import annotations

import argparse
import re

import pandas as pd

from pipeline.tables import read_table

REVIEW = re.compile(r"回顾|过去.{0,3}年|工作总结")
PLAN = re.compile(r"(?:19|20)\d\d年|今年|工作安排|主要任务|重点工作|工作任务|总体要求|总体部署")


def part_of_sentences(sections: pd.DataFrame, sentences: pd.DataFrame) -> list[str | None]:
    """'review', 'plan' or None for each sentence: the kind of its level-1 ancestor's heading."""
    kind = {}
    for r in sections[sections.level == 1].itertuples():
        heading = r.heading or ""
        kind[(r.doc_id, r.section_id)] = "review" if REVIEW.search(heading) else "plan" if PLAN.search(heading) else None
    parent = {(r.doc_id, r.section_id): r.parent_id for r in sections.itertuples()}

    def part(doc: str, sid) -> str | None:
        seen = set()
        while sid == sid and sid is not None and (doc, sid) not in seen:  # NaN: no parent
            seen.add((doc, sid))
            if (doc, sid) in kind:
                return kind[(doc, sid)]
            sid = parent.get((doc, sid))
        return None

    return [part(d, s) for d, s in zip(sentences.doc_id, sentences.section_id)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--show", type=int, default=0)
    args = ap.parse_args()
    sentences = read_table(args.run, "sentences").to_pandas()
    sentences["part"] = part_of_sentences(read_table(args.run, "sections").to_pandas(), sentences)
    body = sentences[~sentences.is_heading]
    for part, want in (("review", "experience"), ("plan", "measure")):
        x = body[body.part == part]
        mix = ", ".join(f"{t} {v:.1%}" for t, v in x.type.value_counts(normalize=True).items())
        print(f"{part}: {len(x)} sentences, {(x.type == want).mean():.1%} {want} ({mix})")
    missed = body[(body.part == "review") & (body.type != "experience")]
    for r in missed.sample(min(args.show, len(missed)), random_state=0).itertuples():
        print(f"{r.type} {r.type_score:.2f} {r.text[:100]}")


if __name__ == "__main__":
    main()
