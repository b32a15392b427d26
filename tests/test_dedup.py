"""Near-duplicate detection over real reports: pasted copies caught, different reports kept apart."""
import hashlib
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import load_config
from pipeline.ingest.dedup import find_duplicates, signature, similarity

SHARED = Path(__file__).resolve().parents[2] / "shared"
REPORTS = SHARED / "corpora" / "city-reports-2024"
needs_reports = pytest.mark.skipif(not REPORTS.exists(), reason="shared corpora absent")

CFG = load_config()
# Real text: the opening of the 2024 天津 report.
TIANJIN = ("现在，我代表市人民政府向大会报告工作，请予审议，并请市政协委员和其他列席人员提出意见。"
           "2023年是全面贯彻党的二十大精神的开局之年，是三年新冠疫情防控转段后经济恢复发展的一年。")


def report(name: str) -> str:
    return (REPORTS / f"{name}.txt").read_text(encoding="utf-8")


def test_signature_is_a_small_uint64_array():
    sig = signature(TIANJIN, CFG)
    assert sig.dtype == np.uint64 and sig.shape == (CFG.dedup.num_perm,)
    assert np.array_equal(sig, signature(TIANJIN, CFG))  # deterministic across calls (and processes)


def test_punctuation_and_whitespace_do_not_matter():
    reflowed = TIANJIN.replace("，", ",").replace("。", ".\n\n ")
    assert similarity(signature(TIANJIN, CFG), signature(reflowed, CFG)) == 1.0


@needs_reports
def test_report_pasted_three_times_is_a_duplicate_of_the_report():
    text = report("成都")
    page = "首页 > 新闻中心 > 政府工作报告\n发布时间：2024-01-25\n" + "\n".join([text] * 3) + "\n相关推荐\n版权所有"
    ids = ["cd", "page"]
    assert find_duplicates(ids, [signature(text, CFG), signature(page, CFG)], CFG) == {"page": "cd"}


@needs_reports
def test_half_a_report_is_not_a_duplicate():
    text = report("南京")
    sigs = [signature(text, CFG), signature(text[: len(text) // 2], CFG)]
    assert find_duplicates(["full", "half"], sigs, CFG) == {}


@needs_reports
def test_edited_copies_chain_to_the_first_original():
    """c is close to b and b to a, while c itself is too far from a: c still resolves to a."""
    a, other = report("天津"), report("北京")
    k = len(a) * 8 // 100
    b = a[:-k] + other[:k]
    c = other[k:2 * k] + b[k:]
    sigs = [signature(x, CFG) for x in (a, b, c, other)]
    assert similarity(sigs[0], sigs[2]) < CFG.dedup.threshold <= similarity(sigs[1], sigs[2])
    assert find_duplicates(["a", "b", "c", "d"], sigs, CFG) == {"b": "a", "c": "a"}


@needs_reports
def test_all_city_reports_only_identical_files_are_duplicates():
    """Among the 143 reports, three files (台州, 襄阳, 贵阳) hold the same national report byte for byte:
    they are the only duplicates; no two different reports are."""
    paths = sorted(REPORTS.glob("*.txt"))
    texts = [p.read_text(encoding="utf-8") for p in paths]
    t0 = time.perf_counter()
    sigs = [signature(t, CFG) for t in texts]
    dup = find_duplicates([p.stem for p in paths], sigs, CFG)
    assert time.perf_counter() - t0 < 10
    first_of: dict[str, str] = {}
    expected = {}
    for p, t in zip(paths, texts):
        h = hashlib.sha256(t.encode()).hexdigest()
        if h in first_of:
            expected[p.stem] = first_of[h]
        first_of.setdefault(h, p.stem)
    assert len(paths) == 143 and dup == expected


def test_short_texts_only_duplicate_identical_texts():
    a, b = "关于开展社区志愿服务活动的通知", "关于开展社区志愿服务工作的通知"
    sigs = [signature(x, CFG) for x in (a, b, a + "。")]
    assert find_duplicates(["a", "b", "c"], sigs, CFG) == {"c": "a"}


def test_empty_and_malformed_signatures_are_never_duplicates():
    sigs = [signature("", CFG), signature(" 。\n", CFG), np.zeros(3, dtype=np.uint64)]
    assert find_duplicates(["x", "y", "z"], sigs, CFG) == {}


def test_order_decides_the_original():
    sigs = [signature(TIANJIN, CFG), signature(TIANJIN + "！", CFG)]
    assert find_duplicates(["p", "q"], sigs, CFG) == {"q": "p"}
    assert find_duplicates(["q", "p"], sigs[::-1], CFG) == {"p": "q"}
