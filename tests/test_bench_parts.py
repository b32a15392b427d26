"""bench/report_parts.py finds the review and plan part of each sentence of a work report."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from report_parts import part_of_sentences  # noqa: E402


def test_each_sentence_gets_the_kind_of_its_level_one_part():
    sections = pd.DataFrame([
        {"doc_id": "d", "section_id": 0, "parent_id": None, "level": 0, "heading": ""},
        {"doc_id": "d", "section_id": 1, "parent_id": 0, "level": 1, "heading": "一、2023年工作回顾"},
        {"doc_id": "d", "section_id": 2, "parent_id": 1, "level": 2, "heading": "（一）经济运行持续回升向好"},
        {"doc_id": "d", "section_id": 3, "parent_id": 0, "level": 1, "heading": "二、2024年重点工作"},
        {"doc_id": "d", "section_id": 4, "parent_id": 0, "level": 1, "heading": "三、加强政府自身建设"},
    ])
    sentences = pd.DataFrame({"doc_id": ["d"] * 5, "section_id": [0, 1, 2, 3, 4]})
    assert part_of_sentences(sections, sentences) == [None, "review", "review", "plan", None]
