"""Theme discovery on real city-report sentences: content-derived ids, stability, merging into seeds."""
import re
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import load_config
from pipeline.discover import discover_themes, stability, theme_id

SHARED = Path(__file__).resolve().parents[2] / "shared"
REPORTS = SHARED / "corpora" / "city-reports-2024"
PROBLEM = re.compile(r"不足|不够|短板|差距|困难|挑战|薄弱|滞后|有待|不强|不高|突出")

pytestmark = pytest.mark.skipif(not REPORTS.exists(), reason="shared corpora absent")


def _cfg(**themes):
    cfg = load_config()
    return cfg.model_copy(update={"themes": cfg.themes.model_copy(update=themes)})


@pytest.fixture(scope="module")
def problems() -> pd.DataFrame:
    """Problem sentences of the 2024 city reports: crude split at 。 and a keyword rule for the type."""
    rows = []
    for f in sorted(REPORTS.glob("*.txt")):
        for i, s in enumerate(re.split(r"(?<=。)|\n", f.read_text(encoding="utf-8"))):
            if len(s.strip()) >= 8 and PROBLEM.search(s):
                rows.append({"doc_id": f.stem, "sent_id": i, "text": s.strip(), "type": "problem", "themes": []})
    return pd.DataFrame(rows)


def test_theme_id_depends_only_on_the_leading_words():
    assert theme_id(["就业", "群体", "高校", "x"]) == theme_id(["高校", "就业", "群体", "y"])
    assert theme_id(["就业", "群体", "高校"]).startswith("d_")
    assert theme_id(["就业", "群体", "高校"]) != theme_id(["生态", "环保", "督察"])


def test_discovery_gives_labelled_themes_with_stable_ids(problems):
    cfg = _cfg()
    found, links = discover_themes(problems, cfg)
    assert 3 <= len(found) <= cfg.themes.max_topics ** (cfg.themes.split_depth + 1)
    for row in found:
        assert re.fullmatch(r"d_[0-9a-f]{8}", row["theme_id"]) and row["kind"] == "discovered"
        assert len(row["top_terms"]) >= 3 and 1 <= len(row["examples"]) <= 3
        assert row["n_sentences"] >= cfg.themes.min_cluster_size and row["n_problem"] == row["n_sentences"]
    assert {l["method"] for l in links} == {"discovered"}
    again, _ = discover_themes(problems.sample(frac=1.0, random_state=3), cfg)
    assert {r["theme_id"] for r in again} == {r["theme_id"] for r in found}


def test_a_theme_holding_much_of_the_sentences_is_split_into_specific_ones(problems):
    """Unsplit, the coherence picks 4 themes of the reports' 1,756 problem sentences, one of them holding 877
    (高校、毕业生、城镇: jobs, but also science, transport and every 'still to improve'); each cluster above
    themes.split_share is clustered again, twice here: 15 themes, none above the share (形式主义、官僚主义、整治 among them)."""
    flat, _ = discover_themes(problems, _cfg(split_depth=0))
    assert len(flat) <= _cfg().themes.max_topics
    assert max(r["n_sentences"] for r in flat) > 0.3 * len(problems)
    found, links = discover_themes(problems, _cfg(split_depth=2, split_share=0.3))
    assert len(found) > len(flat)
    assert max(r["n_sentences"] for r in found) <= 0.3 * len(problems)
    linked = [(l["doc_id"], l["sent_id"]) for l in links]
    assert len(linked) == len(set(linked))  # a sentence belongs to one discovered theme


def test_numbers_and_words_of_degree_are_no_terms():
    """The 1954 State Council report's theme was named 一九五三年、一九五四年、增加, another 生活、很大、改善."""
    from pipeline.discover import words
    from pipeline.themes import read_themes_file

    cfg = load_config()
    text = "一九五三年的工业总产值比一九五四年有了很大的增加，三年来职工生活改善较多。"
    generic = frozenset(read_themes_file(cfg).discovery_stopwords)
    assert words([text], cfg, generic) == [["工业", "总产值", "增加", "职工", "生活", "改善"]]


def test_sentences_with_a_seeded_theme_or_other_types_are_not_clustered(problems):
    themed = problems.assign(themes=[["coordination"]] * len(problems))
    assert discover_themes(themed, _cfg()) == ([], [])
    assert discover_themes(problems.assign(type="other"), _cfg()) == ([], [])


def test_five_seeds_give_the_same_themes(problems):
    assert stability(problems, _cfg()) >= 0.8


def test_a_cluster_matching_a_seeded_theme_is_merged_into_it(problems):
    """Grid sentences the matcher missed (no themes) form a cluster that joins grid_management."""
    grid = [f"推进网格化管理,配齐网格员,网格员入户走访{i}户,网格服务覆盖全部社区。" for i in range(30)]
    frame = pd.concat([problems, pd.DataFrame({"doc_id": "grid", "sent_id": range(30), "text": grid,
                                               "type": "problem", "themes": [[]] * 30})], ignore_index=True)
    found, links = discover_themes(frame, _cfg())
    merged = [l for l in links if l["theme_id"] == "grid_management"]
    assert {("grid", i) for i in range(30)} <= {(l["doc_id"], l["sent_id"]) for l in merged}
    assert all("网格" not in " ".join(r["top_terms"][:3]) for r in found)


def test_nndsvd_start_equals_sklearns_for_the_same_svd():
    """choose_model shares one SVD across k; each k's start is still sklearn's NNDSVD of that SVD."""
    import numpy as np
    import scipy.sparse as sp
    from sklearn.decomposition._nmf import _initialize_nmf
    from sklearn.utils.extmath import randomized_svd

    from pipeline.discover import nndsvd

    x = sp.random(300, 200, density=0.05, random_state=np.random.RandomState(0), format="csr")
    for k in (3, 7):
        expected_w, expected_h = _initialize_nmf(x, k, init="nndsvd", random_state=0)
        w, h = nndsvd(*randomized_svd(x, k, random_state=0))
        assert np.allclose(w, expected_w) and np.allclose(h, expected_h)


def test_k_fitted_in_threads_choose_what_one_thread_chooses(monkeypatch):
    """The k of choose_model are fitted in a thread pool; the chosen model must not depend on it."""
    import numpy as np
    import scipy.sparse as sp

    from pipeline import discover
    from pipeline.config import load_config

    cfg = load_config()
    x = sp.random(400, 250, density=0.04, random_state=np.random.RandomState(1), format="csr")
    chosen = {}
    for cpus in (1, 4):
        monkeypatch.setattr(discover.os, "cpu_count", lambda c=cpus: c)
        chosen[cpus] = discover.choose_model(x, cfg, random_state=0).components_
    assert chosen[1].shape == chosen[4].shape and np.array_equal(chosen[1], chosen[4])
