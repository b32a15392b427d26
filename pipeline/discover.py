"""Discovery of recurring themes that the seeded taxonomy does not explain.

Problem sentences and measure sentences without a seeded theme are clustered separately: TF-IDF over
segmented words (stopwords removed), NMF with NNDSVD initialisation and coordinate descent (no random
step, so runs with different seeds agree exactly; measured faster than MiniBatchNMF here), the number of themes
chosen from the data as the k in [themes.min_topics, themes.max_topics] whose topics have the best mean
NPMI coherence of their top words. Each theme is labelled by its most distinctive words (class-based
TF-IDF) and its three most typical sentences, and gets an id derived from its content ('d_' + hash of
its sorted top-3 words), so it survives a rerun. A discovered theme whose words or sentences overlap a
seeded theme (themes.merge_overlap) is merged into it: its sentences are linked to the seeded theme.
A cluster holding more than themes.split_share of the sentences it was drawn from is clustered again
(themes.split_depth levels), so a large collection gets specific themes, not a few catch-alls.

Scale: a few thousand sentences take seconds. Beyond themes.max_discovery_sentences, the model is
fitted on a deterministic hash sample of that size and every sentence is then assigned by
NMF.transform, so memory and time stay bounded at millions of sentences.
"""
from __future__ import annotations

import hashlib
import itertools
import os
import re
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.extmath import svd_flip

from pipeline.config import Config
from pipeline.nfkc import nfkc_all
from pipeline.segment import stopwords, tokenize_many
from pipeline.themes import compile_theme, load_themes, normalize, read_themes_file

KINDS = ("problem", "measure")
TOP_TERMS = 10
_CJK_WORD = re.compile(r"^[\u4e00-\u9fff\u3400-\u4dbf]{2,}$")
#: a number or date in Chinese numerals (一九五三年, 三年, 二十个): a topic's term never; the 1954 State Council
#: report's discovered theme was named 一九五三年、一九五四年、增加
_NUMERAL_WORD = re.compile(r"^[〇○零一二三四五六七八九十百千万亿两]+[年月日个项次]?$")


def words(texts: list[str], cfg: Config, generic: frozenset[str] = frozenset()) -> list[list[str]]:
    """Content words of each sentence: Chinese words of two or more characters, not numbers, stopwords or
    generic (all sentences segmented in one call)."""
    stop = stopwords(str(cfg.resolve(cfg.annotate.stopwords)))
    flat = nfkc_all(texts)
    toks = tokenize_many(flat, cfg.annotate.tokenizer, str(cfg.resolve(cfg.annotate.userdict)))
    return [[t for t in doc if _CJK_WORD.match(t) and not _NUMERAL_WORD.match(t) and t not in stop and t not in generic]
            for doc in toks]


def _identity(x):
    return x


def _sample(texts: pd.Series, limit: int) -> np.ndarray:
    """Positions of a deterministic hash sample of at most `limit` texts (same texts, same sample)."""
    if len(texts) <= limit:
        return np.arange(len(texts))
    h = texts.map(lambda t: int(hashlib.md5(t.encode("utf-8")).hexdigest()[:12], 16)).to_numpy()
    return np.sort(np.argsort(h, kind="stable")[:limit])


def npmi_coherence(binary: sp.csr_matrix, top: list[np.ndarray]) -> float:
    """Mean NPMI of the word pairs among each topic's top words, over documents (-1..1)."""
    n = binary.shape[0]
    scores = []
    for idx in top:
        cols = binary[:, idx].T.tocsr()
        co = (cols @ cols.T).toarray() / n
        p = np.diag(co)
        vals = []
        for a, b in itertools.combinations(range(len(idx)), 2):
            if co[a, b] == 0:
                vals.append(-1.0)
            elif co[a, b] >= 1:
                vals.append(1.0)
            else:
                vals.append(np.log(co[a, b] / (p[a] * p[b])) / -np.log(co[a, b]))
        scores.append(float(np.mean(vals)) if vals else 0.0)
    return float(np.mean(scores)) if scores else -1.0


def nndsvd(u: np.ndarray, s: np.ndarray, vt: np.ndarray, eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """NNDSVD start (Boutsidis & Gallopoulos 2008, as sklearn's init="nndsvd") from a truncated SVD:
    each singular pair contributes its dominant non-negative part."""
    w, h = np.zeros_like(u), np.zeros_like(vt)
    w[:, 0], h[0] = np.sqrt(s[0]) * np.abs(u[:, 0]), np.sqrt(s[0]) * np.abs(vt[0])
    for j in range(1, len(s)):
        x, y = u[:, j], vt[j]
        halves = [(np.maximum(x, 0), np.maximum(y, 0)), (-np.minimum(x, 0), -np.minimum(y, 0))]
        norms = [(np.linalg.norm(a), np.linalg.norm(b)) for a, b in halves]
        pick = 0 if norms[0][0] * norms[0][1] > norms[1][0] * norms[1][1] else 1
        (a, b), (na, nb) = halves[pick], norms[pick]
        if na * nb == 0:
            continue
        scale = np.sqrt(s[j] * na * nb)
        w[:, j], h[j] = scale * a / na, scale * b / nb
    w[w < eps] = 0
    h[h < eps] = 0
    return w, h


def truncated_svd(x: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k leading singular triplets, largest first, by ARPACK from a fixed start vector: exact to its
    tolerance and the same in every run (a randomized SVD's start made sub-themes depend on the seed)."""
    from scipy.sparse.linalg import svds

    u, s, vt = svds(x.astype(np.float64), k=k, v0=np.ones(min(x.shape)), solver="arpack")
    order = np.argsort(-s)
    u, vt = svd_flip(u[:, order], vt[order], u_based_decision=False)
    return u, s[order], vt


def _fit(x: sp.csr_matrix, svd: tuple[np.ndarray, np.ndarray, np.ndarray], k: int, random_state: int) -> NMF:
    """NNDSVD start from the first k singular triplets + coordinate descent: no random step at all,
    about a second for 4,000 sentences (MiniBatchNMF took 4-15 s on the same data and depends on its
    batch order). The caller silences ConvergenceWarning (warning filters are process-wide, not per thread)."""
    u, s, vt = svd
    w, h = nndsvd(u[:, :k], s[:k], vt[:k])
    model = NMF(n_components=k, init="custom", solver="cd", tol=1e-3, max_iter=200, random_state=random_state)
    model.fit_transform(x, W=w, H=h)
    return model


def choose_model(x: sp.csr_matrix, cfg: Config, random_state: int) -> NMF | None:
    """The NMF whose k (in the configured range) gives the most coherent topics.

    One truncated SVD of rank max k serves every k's start (an SVD per k, as NMF(init="nndsvd") does,
    was 60% of discovery's time). The k are fitted in threads: the coordinate descent and the sparse
    products release the GIL (measured 1.6x on 2 cores), and each fit is deterministic whatever the order."""
    binary = (x > 0).astype(np.float64).tocsr()
    ks = [k for k in range(cfg.themes.min_topics, cfg.themes.max_topics + 1) if k < min(x.shape)]
    if not ks:
        return None
    svd = truncated_svd(x, max(ks))

    def fit_and_score(k: int) -> tuple[NMF, float]:
        model = _fit(x, svd, k, random_state)
        return model, npmi_coherence(binary, [np.argsort(-row)[:TOP_TERMS] for row in model.components_])

    with warnings.catch_warnings(), ThreadPoolExecutor(min(len(ks), os.cpu_count() or 1)) as pool:
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = list(pool.map(fit_and_score, ks))
    best, best_score = None, -np.inf
    for model, score in fitted:
        if score > best_score + 1e-9:
            best, best_score = model, score
    return best


def ctfidf_terms(counts: sp.csr_matrix, labels: np.ndarray, vocab: np.ndarray, n: int = TOP_TERMS) -> dict[int, list[str]]:
    """Class-based TF-IDF (BERTopic's c-TF-IDF): words frequent in a cluster and rare in the others."""
    clusters = sorted(set(labels.tolist()) - {-1})
    if not clusters:
        return {}
    rows = sp.vstack([sp.csr_matrix(counts[labels == c].sum(axis=0)) for c in clusters]).toarray()
    tf = rows / np.maximum(rows.sum(axis=1, keepdims=True), 1)
    avg = rows.sum() / len(clusters)
    idf = np.log(1 + avg / np.maximum(rows.sum(axis=0), 1))
    weight = tf * idf
    return {c: [vocab[j] for j in np.argsort(-weight[i])[:n] if weight[i, j] > 0] for i, c in enumerate(clusters)}


def theme_id(top_terms: list[str]) -> str:
    """Content-derived id: the same three leading words give the same id in every run."""
    key = "|".join(sorted(top_terms[:3]))
    return "d_" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]


def cluster(frame: pd.DataFrame, cfg: Config, random_state: int | None = None) -> list[dict]:
    """Clusters of one kind of sentence: [{top_terms, members (frame positions), weights, typical}]."""
    rs = cfg.themes.random_state if random_state is None else random_state
    generic = frozenset(read_themes_file(cfg).discovery_stopwords)
    docs = words(frame["text"].tolist(), cfg, generic)
    # fitted in the texts' sorted order: the same sentences give the same themes in whatever order they come
    canonical = np.argsort(frame["text"].to_numpy(dtype=str), kind="stable")
    return _clusters(docs, frame["text"], canonical, cfg, rs, cfg.themes.split_depth)


def _clusters(docs: list[list[str]], texts: pd.Series, among: np.ndarray, cfg: Config, rs: int,
              depth: int) -> list[dict]:
    """cluster() of the sentences at positions `among`. A cluster holding more than themes.split_share of them
    is clustered again (depth times at most): over a whole collection of work reports the few themes the
    coherence picks left one 'theme' of 15,000 of the 33,000 measures, culture, transport and science alike."""
    keep = among[np.array([len(docs[i]) >= 2 for i in among], dtype=bool)] if len(among) else among
    if len(keep) < max(cfg.themes.min_cluster_size * 2, cfg.themes.min_topics + 1):
        return []
    fit_pos = keep[_sample(texts.iloc[keep].reset_index(drop=True), cfg.themes.max_discovery_sentences)]
    vec = TfidfVectorizer(analyzer=_identity, min_df=2, max_df=cfg.themes.discovery_max_df, sublinear_tf=True)
    try:
        x_fit = vec.fit_transform([docs[i] for i in fit_pos])
    except ValueError:
        return []
    model = choose_model(x_fit, cfg, rs)
    if model is None:
        return []
    x = vec.transform([docs[i] for i in keep])
    w = model.transform(x)
    share = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    labels = np.where(w.max(axis=1) > 0, share.argmax(axis=1), -1)
    counts = (x > 0).astype(np.int64)
    terms = ctfidf_terms(counts, labels, vec.get_feature_names_out())
    out = []
    for c, top in terms.items():
        members = np.flatnonzero(labels == c)
        if len(members) < cfg.themes.min_cluster_size or len(top) < 3:
            continue
        if depth > 0 and len(members) > cfg.themes.split_share * len(keep):
            parts = _clusters(docs, texts, keep[members], cfg, rs, depth - 1)
            if len(parts) >= 2:
                out.extend(parts)
                continue
        order = members[np.argsort(-w[members, c], kind="stable")]
        out.append({"top_terms": top, "members": keep[order], "weights": share[order, c], "typical": keep[order[:3]]})
    return out


def _seed_overlap(top: list[str], texts: list[str], compiled) -> float:
    """Largest share of a cluster's top words or sentences that a seeded theme's patterns match."""
    words_share = sum(bool(compiled.hits(t)) for t in top) / max(len(top), 1)
    sent_share = sum(bool(compiled.hits(normalize(t))) for t in texts) / max(len(texts), 1)
    return max(words_share, sent_share)


def discover_themes(sentences: pd.DataFrame, cfg: Config, random_state: int | None = None
                    ) -> tuple[list[dict], list[dict]]:
    """THEMES rows of discovered themes and SENTENCE_THEMES rows linking sentences to them.

    sentences: doc_id, sent_id, text, type, themes (non-duplicate sentences of a run). Only problem and
    measure sentences without a seeded theme are clustered, each kind on its own.
    """
    if sentences is None or not len(sentences):
        return [], []
    specs = load_themes(cfg)
    compiled = [compile_theme(t, s) for t, s in specs.items()]
    no_theme = sentences["themes"].map(lambda v: v is None or len(v) == 0) if "themes" in sentences else True
    pool = sentences[no_theme & sentences["type"].isin(KINDS)].drop_duplicates("text").reset_index(drop=True)
    rows: dict[str, dict] = {}
    links: list[dict] = []
    for kind in KINDS:
        frame = pool[pool["type"] == kind].reset_index(drop=True)
        for c in cluster(frame, cfg, random_state):
            member_texts = frame["text"].iloc[c["members"]].tolist()
            overlaps = {t.theme_id: _seed_overlap(c["top_terms"], member_texts[:50], t) for t in compiled}
            seed = max(overlaps, key=overlaps.get) if overlaps else None
            merged = seed is not None and overlaps[seed] >= cfg.themes.merge_overlap
            tid = seed if merged else theme_id(c["top_terms"])
            evidence = "、".join(c["top_terms"][:3])
            doc_ids = frame["doc_id"].to_numpy()[c["members"]].tolist()
            sent_ids = frame["sent_id"].to_numpy()[c["members"]].astype(np.int64).tolist()
            links.extend({"doc_id": d, "sent_id": i, "theme_id": tid, "score": s, "method": "discovered",
                          "evidence": evidence}
                         for d, i, s in zip(doc_ids, sent_ids, (round(w, 4) for w in c["weights"].tolist())))
            if merged:
                continue
            row = rows.setdefault(tid, _theme_row(tid, c["top_terms"], kind))
            row["examples"] = (row["examples"] + frame["text"].iloc[c["typical"]].tolist())[:3]
    _count(rows, links, pool)
    return list(rows.values()), links


def _theme_row(tid: str, top: list[str], kind: str) -> dict:
    return {"theme_id": tid, "name_zh": "、".join(top[:3]), "name_en": f"discovered ({kind}): " + " / ".join(top[:3]),
            "kind": "discovered", "description": f"Discovered among {kind} sentences; distinctive words: "
            + "、".join(top), "top_terms": top, "examples": []}


def _count(rows: dict[str, dict], links: list[dict], pool: pd.DataFrame) -> None:
    """Sentence, document and per-type counts of each discovered theme."""
    if not rows:
        return
    frame = pd.DataFrame(links).merge(pool[["doc_id", "sent_id", "type"]], on=["doc_id", "sent_id"], how="left")
    for tid, row in rows.items():
        g = frame[frame["theme_id"] == tid]
        row.update(n_sentences=int(len(g)), n_documents=int(g["doc_id"].nunique()),
                   n_problem=int((g["type"] == "problem").sum()), n_measure=int((g["type"] == "measure").sum()),
                   n_experience=int((g["type"] == "experience").sum()))


def _best_match_jaccard(a: list[set[str]], b: list[set[str]]) -> float:
    if not a or not b:
        return 0.0
    def side(x, y):
        return float(np.mean([max(len(s & t) / len(s | t) for t in y) for s in x]))
    return (side(a, b) + side(b, a)) / 2


def stability(sentences_df: pd.DataFrame, cfg: Config, seeds: tuple[int, ...] = (0, 1, 2, 3, 4),
              fraction: float = 1.0) -> float:
    """Mean best-match Jaccard of discovered top-10 words between the first seed's run and each other's.

    With fraction < 1 each seed also draws its own random share of the sentences: NMF from NNDSVD has no
    random step, so that resampling is what actually tests whether the themes are properties of the data.
    """
    runs = []
    for seed in seeds:
        frame = sentences_df if fraction >= 1 else sentences_df.sample(frac=fraction, random_state=seed)
        found, _ = discover_themes(frame, cfg, random_state=seed)
        runs.append([set(r["top_terms"]) for r in found])
    pairs = [_best_match_jaccard(runs[0], other) for other in runs[1:]]
    return float(np.mean(pairs)) if pairs else 1.0
