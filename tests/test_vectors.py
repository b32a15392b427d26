"""Word vectors (pipeline.vectors): building, safe loading, sentence vectors, and their use by the tagger."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline import tagger, vectors
from pipeline.annotate import Featurizer
from pipeline.config import PROJECT_ROOT, load_config
from pipeline.segment import get_cutter
from pipeline.vectors import VectorsError, WordVectors

SAMPLE = PROJECT_ROOT / "corpora" / "sample" / "city-reports-2024"  # bundled: the tests run without ../shared
REPORTS = sorted(SAMPLE.glob("*.txt"))


@pytest.fixture(scope="module")
def small() -> WordVectors:
    texts = [p.read_text(encoding="utf-8") for p in REPORTS]
    return vectors.build(texts, get_cutter("rjieba"), dim=20, min_count=3)


def test_built_vectors_are_unit_length_han_words_and_deterministic(small):
    again = vectors.build([p.read_text(encoding="utf-8") for p in REPORTS], get_cutter("rjieba"), dim=20, min_count=3)
    assert small.words == again.words and np.allclose(small.matrix, again.matrix)
    assert small.dim == 20 and len(small.words) > 1000
    assert all(vectors.HAN.search(w) for w in small.words)
    assert np.allclose(np.linalg.norm(small.matrix, axis=1), 1.0, atol=1e-5)


def test_words_of_one_kind_lie_closer_than_unrelated_ones(small):
    """Distributional similarity on real reports: 加强 (strengthen) is nearer 强化 than 亿元."""
    v = {w: small.matrix[small.index[w]] for w in ("加强", "强化", "亿元")}
    assert v["加强"] @ v["强化"] > v["加强"] @ v["亿元"]


def test_sentence_vectors_are_normalised_means(small):
    a, b = small.index["加强"], small.index["强化"]
    ids = np.array([a, b, -1, a, 5, 5])
    owner = np.array([0, 0, 0, 2, 2, -1])
    out = small.sentences(ids, owner, 3)
    want0 = small.matrix[a] + small.matrix[b]
    assert np.allclose(out[0], want0 / np.linalg.norm(want0), atol=1e-6)
    assert not out[1].any()  # no known word: zeros, not NaN
    want2 = small.matrix[a] + small.matrix[5]
    assert np.allclose(out[2], want2 / np.linalg.norm(want2), atol=1e-6)
    shuffled = small.sentences(ids[[3, 0, 1, 2, 4, 5]], owner[[3, 0, 1, 2, 4, 5]], 3)
    assert np.allclose(shuffled, out, atol=1e-6)


def test_round_trip_and_bad_files_say_what_to_do(small, tmp_path):
    path = tmp_path / "v.npz"
    small.save(path)
    back = WordVectors.load(path)
    assert back.words == small.words and np.allclose(back.matrix, small.matrix, atol=1e-3)
    with pytest.raises(VectorsError, match="--build-vectors"):
        WordVectors.load(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not an npz")
    with pytest.raises(VectorsError, match="--build-vectors"):
        WordVectors.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "obj.npz", words=np.array([{"x": 1}], dtype=object), vectors=np.zeros((1, 2)))
    with pytest.raises(VectorsError):  # object arrays would need unpickling: refused
        WordVectors.load(tmp_path / "obj.npz")


def test_shipped_vectors_cover_the_governance_vocabulary():
    cfg = load_config()
    v = WordVectors.load(cfg.resolve(cfg.annotate.vectors))
    assert v.dim == cfg.annotate.vectors_dim and len(v.words) > 20_000
    for word in ("基层治理", "网格化管理", "居委会", "老龄化", "不足", "累计"):
        assert word in v.index, word


def test_rebuild_skips_the_transfer_documents(tmp_path):
    cfg = load_config()
    ann = cfg.annotate.model_copy(update={"vectors": str(tmp_path / "v.npz"), "vectors_dim": 10,
                                          "weak_exclude": ["*.txt"]})
    with pytest.raises(VectorsError, match="too little text"):
        vectors.rebuild(cfg.model_copy(update={"annotate": ann}), [SAMPLE])
    ann = ann.model_copy(update={"weak_exclude": ["北京.txt"]})
    message = vectors.rebuild(cfg.model_copy(update={"annotate": ann}), REPORTS[:3])
    assert "10 dimensions" in message and (tmp_path / "v.npz").exists()
    with pytest.raises(FileNotFoundError, match="not found"):
        vectors.rebuild(cfg.model_copy(update={"annotate": ann}), [tmp_path / "nowhere"])


def test_tagger_features_carry_the_sentence_vector_and_a_mismatch_is_refused():
    cfg = load_config()
    featurizer = Featurizer(cfg)
    rows = [{"sent_id": i, "section_id": 0, "para_id": i, "text": t, "is_heading": False}
            for i, t in enumerate(["社区服务能力不足。", "要加强网格化管理。", "。"])]
    sections = [{"section_id": 0, "parent_id": None, "level": 0, "heading": None}]
    d = featurizer.features(rows, sections)
    assert d.dense.shape == (3, cfg.annotate.vectors_dim)
    assert np.allclose(np.linalg.norm(d.dense[:2], axis=1), 1.0, atol=1e-5) and not d.dense[2].any()
    model = tagger.TypeTagger(context=False).fit([d, d], [np.array(["problem", "measure", "other"])] * 2)
    back = tagger.TypeTagger.from_arrays(model.to_arrays())
    assert back.dense_dim_ == cfg.annotate.vectors_dim
    assert np.allclose(back.predict_proba_doc(d), model.predict_proba_doc(d))
    assert np.allclose(model.predict_proba_doc(d), model._proba(model._matrix(d), model.coef1_, model.intercept1_))
    d.dense = d.dense[:, :5]
    with pytest.raises(tagger.ModelError, match="retrain"):
        model.predict_proba_doc(d)


def test_without_vectors_the_tagger_keeps_its_sparse_features():
    """annotate.vectors: null turns the feature off: no dense columns, no segmentation for them."""
    cfg = load_config()
    cfg = cfg.model_copy(update={"annotate": cfg.annotate.model_copy(update={"vectors": None})})
    featurizer = Featurizer(cfg)
    rows = [{"sent_id": i, "section_id": 0, "para_id": i, "text": t, "is_heading": False}
            for i, t in enumerate(["社区服务能力不足。", "要加强网格化管理。"])]
    d = featurizer.features(rows, [{"section_id": 0, "parent_id": None, "level": 0, "heading": None}])
    assert featurizer.vectors is None and d.dense.shape == (2, 0)
    model = tagger.TypeTagger(context=False).fit([d], [np.array(["problem", "measure"])])
    assert model.dense_dim_ == 0 and model.predict_proba_doc(d).shape == (2, 2)
    assert tagger.TypeTagger.from_arrays(model.to_arrays()).dense_dim_ == 0
