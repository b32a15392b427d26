"""The sentence-type model: a linear classifier, its training data, cross-validation and storage.

Stage 1 is a logistic regression over character n-grams, cue indicators and counts, heading kinds,
position and length (features from pipeline.annotate.Featurizer, identical at training and run time),
plus the sentence's mean word vector (pipeline.vectors, learnt from unlabelled reports and regulations):
CV macro-F1 0.696 -> 0.706, leave-one-file-out on the seeds 0.600 -> 0.636.
An optional stage 2 (annotate.context) adds what stage 1 thinks of the sentence's neighbours, section and
heading, trained on out-of-fold stage-1 predictions; on the labelled seeds it did not help, so it is off.
Weak labels (pipeline.weak: sentences of work reports labelled by their section) can be added with a low
sample weight; they never enter a cross-validation test fold.

The types of a document's sentences are then decoded together (annotate.decode, sequence_posterior): a
hidden Markov chain whose transitions are counted on the labelled articles (three sentences in four share
their predecessor's type) lets a sentence the model is unsure of lean to its neighbourhood, while one
whose own words are clear keeps its type (annotate.decode_keep_above). On the seeds (annotate.transition_weight 0.5): CV macro-F1 0.671 -> 0.689.

At run time a document's feature keys are mapped to vocabulary columns through a hash table (a multiply,
a shift and two gathers per key, hits verified), not a binary search each: this was a third of the
annotation time.

scikit-learn is imported only where a model is fitted or cross-validated: a worker that loads a stored
model never imports it (1.8 s of every worker's start).

Storage is safe by construction: a model is arrays in an .npz read with allow_pickle=False plus a JSON
manifest holding the file's sha256; a missing, stale or tampered file is retrained, never executed.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from pipeline.annotate import TYPES, DocFeatures, Featurizer, load_cues, rule_type
from pipeline.config import Config
from pipeline.keyindex import KeyIndex
from pipeline.labels import read_labels, training_labels
from pipeline.stages import code_version
from pipeline.structure import heading_level

N_CONTEXT = 6 * len(TYPES) + 2


class ModelError(RuntimeError):
    """No usable model: no labels, or labels of a single type."""


# ---------------------------------------------------------------- the estimator

class TypeTagger:
    """Logistic regression (optionally two-stage) over per-document sentence features (module docstring).

    fit(docs, y) takes a list of DocFeatures and the matching list of label arrays; predict_proba_doc
    scores one document at a time, all its sentences in one sparse product.
    """

    def __init__(self, C: float = 4.0, min_df: int = 2, context: bool = True, inner_folds: int = 5,
                 class_weight: str | None = "balanced", random_state: int = 0, transition_smoothing: float = 1.0,
                 dense_weight: float = 1.0):
        self.C = C
        self.dense_weight = dense_weight
        self.min_df = min_df
        self.context = context
        self.inner_folds = inner_folds
        self.class_weight = class_weight
        self.random_state = random_state
        self.transition_smoothing = transition_smoothing

    # -- vocabulary and matrices
    def _vocabulary(self, docs: list[DocFeatures]) -> np.ndarray:
        gram, meta = [], []
        for d in docs:
            pairs = np.unique(np.stack([d.rows.astype(np.uint64), d.keys]), axis=1) if d.n else np.zeros((2, 0), np.uint64)
            is_meta = np.isin(pairs[1], d.keys[d.block == 1])
            gram.append(pairs[1][~is_meta])
            meta.append(pairs[1][is_meta])
        keys, df = np.unique(np.concatenate(gram) if gram else np.zeros(0, np.uint64), return_counts=True)
        meta_keys = np.unique(np.concatenate(meta)) if meta else np.zeros(0, np.uint64)
        return np.union1d(keys[df >= self.min_df], meta_keys).astype(np.uint64)

    def _columns(self, keys: np.ndarray) -> np.ndarray:
        """Vocabulary column of each key, -1 for keys outside the vocabulary (exact: hits are verified);
        the vocabulary's index is built once."""
        if getattr(self, "_index_of", None) is not self.vocabulary_:
            self._index, self._index_of = KeyIndex(self.vocabulary_), self.vocabulary_
        return self._index.find(keys)

    def _matrix(self, d: DocFeatures) -> sp.csr_matrix:
        """Sentence x (vocabulary + sentence vector) matrix: n-grams weigh 1/sqrt(distinct n-grams in the
        sentence), indicators 1, a key seen twice in one sentence counts once (binary features measured
        better); the sentence vector's columns follow, times dense_weight."""
        if not d.n:
            return sp.csr_matrix((0, len(self.vocabulary_) + self.dense_dim_))
        X = self._sparse(d)
        if not self.dense_dim_:
            return X
        return sp.hstack([X, sp.csr_matrix(self._dense(d))], format="csr")

    def _dense(self, d: DocFeatures) -> np.ndarray:
        if d.dense.shape[1] != self.dense_dim_:
            raise ModelError(f"the model expects {self.dense_dim_}-dimensional sentence vectors, the features "
                             f"have {d.dense.shape[1]}: retrain with `zhili train`")
        return self.dense_weight * d.dense

    def _sparse(self, d: DocFeatures) -> sp.csr_matrix:
        """The n-gram and indicator part of _matrix, built in canonical form: entries sorted by one sort
        of their (row, column) codes and deduplicated, so scipy neither sorts rows nor sums duplicates."""
        width = len(self.vocabulary_)
        cols = self._columns(d.keys)
        known = cols >= 0
        rows, cols, block = d.rows[known], cols[known], d.block[known]
        is_gram = np.zeros(width, dtype=bool)
        is_gram[cols[block == 0]] = True
        code = np.sort(rows * width + cols)
        if len(code):
            code = code[np.concatenate([[True], code[1:] != code[:-1]])]
        row_of, col = np.divmod(code, width)
        gram_entry = is_gram[col]
        grams = np.bincount(row_of[gram_entry], minlength=d.n)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of, minlength=d.n))])
        data = np.where(gram_entry, 1.0 / np.sqrt(np.maximum(grams[row_of], 1.0)), 1.0)
        return sp.csr_matrix((data, col, indptr), shape=(d.n, width))

    @staticmethod
    def _context(d: DocFeatures, p: np.ndarray) -> np.ndarray:
        """Dense context features of each sentence from the stage-1 probabilities of the document."""
        n, k = p.shape
        out = np.zeros((n, N_CONTEXT))
        if not n:
            return out
        sec_sum = np.zeros((d.section.max() + 1, k))
        np.add.at(sec_sum, d.section, p)
        sec_n = np.bincount(d.section)[d.section][:, None]
        others = sec_n - 1
        out[:, 0:k] = np.where(others > 0, (sec_sum[d.section] - p) / np.maximum(others, 1), 0)
        out[1:, k:2 * k] = p[:-1]
        out[:-1, 2 * k:3 * k] = p[1:]
        has_h = d.heading_row >= 0
        out[has_h, 3 * k:4 * k] = p[d.heading_row[has_h]]
        out[:, 4 * k:5 * k] = p
        out[:, 5 * k:6 * k] = (p.sum(axis=0) - p) / max(n - 1, 1)
        out[:, 6 * k] = others[:, 0] == 0
        out[:, 6 * k + 1] = ~has_h
        return out

    def _fit_lr(self, X, y, weight=None):
        """One logistic regression; BLAS threads limited to one, since oversubscribed threads on a shared
        machine made a 2-second fit take 30 seconds."""
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        lr = LogisticRegression(C=self.C, max_iter=3000, solver="newton-cg", class_weight=self.class_weight,
                                random_state=self.random_state)
        with threadpool_limits(1):
            return lr.fit(X, y, sample_weight=weight)

    def _stage1(self, docs: list[DocFeatures], y: np.ndarray, weight=None):
        return self._fit_lr(sp.vstack([self._matrix(d) for d in docs]).tocsr(), y, weight)

    def fit(self, docs: list[DocFeatures], y: list[np.ndarray] | np.ndarray, groups=None,
            doc_weights: list[float] | None = None) -> "TypeTagger":
        """Fit on documents' features and their sentences' labels (one array per document); doc_weights
        gives every sentence of a document a sample weight (weak labels weigh less than gold ones)."""
        y_docs = [np.asarray(v) for v in y]
        flat = np.concatenate(y_docs) if y_docs else np.zeros(0, dtype=object)
        if len(set(flat)) < 2:
            raise ModelError("the labels hold fewer than two sentence types: nothing to learn")
        weight = None
        if doc_weights is not None:
            weight = np.concatenate([np.full(len(v), w, dtype=float) for v, w in zip(y_docs, doc_weights)])
        self.vocabulary_ = self._vocabulary(docs)
        self.dense_dim_ = next((d.dense.shape[1] for d in docs if d.n), 0)
        stage1 = self._stage1(docs, flat, weight)
        self.classes_ = stage1.classes_
        self.coef1_, self.intercept1_ = stage1.coef_, stage1.intercept_
        self.transitions_, self.class_prior_ = type_transitions(
            y_docs, self.classes_, doc_weights, self.transition_smoothing)
        if self.context:
            oof = self._out_of_fold(docs, y_docs, groups)
            X = sp.hstack([sp.vstack([self._matrix(d) for d in docs]),
                           sp.csr_matrix(np.vstack([self._context(d, p) for d, p in zip(docs, oof)]))]).tocsr()
            stage2 = self._fit_lr(X, flat, weight)
            self.coef2_, self.intercept2_ = stage2.coef_, stage2.intercept_
        return self

    def _out_of_fold(self, docs, y_docs, groups) -> list[np.ndarray]:
        """Stage-1 probabilities of every training document from models that never saw it."""
        from sklearn.model_selection import GroupKFold

        groups = np.arange(len(docs)) if groups is None else np.asarray(groups)
        n_splits = min(self.inner_folds, len(set(groups)))
        oof: list[np.ndarray | None] = [None] * len(docs)
        if n_splits < 2:
            return [self._proba(self._matrix(d), self.coef1_, self.intercept1_) for d in docs]
        for train, test in GroupKFold(n_splits=n_splits).split(docs, groups=groups):
            flat = np.concatenate([y_docs[i] for i in train])
            if len(set(flat)) < len(self.classes_):
                coef, intercept = self.coef1_, self.intercept1_
            else:
                m = self._stage1([docs[i] for i in train], flat)
                coef, intercept = m.coef_, m.intercept_
            for i in test:
                oof[i] = self._proba(self._matrix(docs[i]), coef, intercept)
        return oof

    @staticmethod
    def _proba(X, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
        return _softmax(np.asarray(X @ coef.T) + intercept)

    def predict_proba_doc(self, d: DocFeatures) -> np.ndarray:
        """Probabilities (n sentences x classes_) for one document."""
        if self.context:
            X = self._matrix(d)
            p = self._proba(X, self.coef1_, self.intercept1_)
            return self._proba(sp.hstack([X, sp.csr_matrix(self._context(d, p))]).tocsr(), self.coef2_,
                               self.intercept2_)
        if not d.n or not self.dense_dim_:
            return self._proba(self._matrix(d), self.coef1_, self.intercept1_)
        # the sentence vectors' part as a dense product: a sparse matrix of them costs twice as much
        width = len(self.vocabulary_)
        coef = self.coef1_
        z = np.asarray(self._sparse(d) @ coef[:, :width].T) + self._dense(d) @ coef[:, width:].T
        return _softmax(z + self.intercept1_)

    def predict_doc(self, d: DocFeatures) -> np.ndarray:
        return self.classes_[self.predict_proba_doc(d).argmax(axis=1)]

    def decode(self, proba: np.ndarray, weight: float = 1.0, prior_power: float = 1.0, window: int = 8) -> np.ndarray:
        """Posterior type probabilities of a document's sentences given their neighbours' (sequence_posterior
        with the transitions counted at fit time); weight 0 returns proba unchanged."""
        return sequence_posterior(proba, self.transitions_, self.class_prior_, weight, prior_power, window)

    # -- safe storage: arrays only
    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {"vocabulary": self.vocabulary_, "classes": np.asarray(self.classes_, dtype="<U16"),
                  "coef1": self.coef1_, "intercept1": self.intercept1_,
                  "transitions": self.transitions_, "class_prior": self.class_prior_,
                  "params": np.asarray([self.C, self.min_df, float(self.context), self.inner_folds,
                                        self.random_state, self.dense_weight, self.dense_dim_], dtype=float)}
        if self.context:
            arrays.update(coef2=self.coef2_, intercept2=self.intercept2_)
        return arrays

    @classmethod
    def from_arrays(cls, a) -> "TypeTagger":
        C, min_df, context, inner, rs, dense_weight, dense_dim = a["params"].tolist()
        m = cls(C=C, min_df=int(min_df), context=bool(context), inner_folds=int(inner), random_state=int(rs),
                dense_weight=dense_weight)
        m.vocabulary_ = a["vocabulary"].astype(np.uint64)
        m.dense_dim_ = int(dense_dim)
        m.classes_ = a["classes"].astype(object)
        m.coef1_, m.intercept1_ = a["coef1"], a["intercept1"]
        m.transitions_, m.class_prior_ = a["transitions"], a["class_prior"]
        width, k = len(m.vocabulary_) + m.dense_dim_, len(m.classes_)
        ok = (m.coef1_.shape[1] == width and m.intercept1_.shape[0] == m.coef1_.shape[0]
              and m.transitions_.shape == (k, k) and m.class_prior_.shape == (k,))
        if m.context:
            m.coef2_, m.intercept2_ = a["coef2"], a["intercept2"]
            ok = ok and m.coef2_.shape[1] == width + N_CONTEXT
        if not ok or not set(m.classes_) <= set(TYPES):
            raise ValueError("inconsistent model arrays")
        return m


def _softmax(z: np.ndarray) -> np.ndarray:
    """Class probabilities from linear scores (one column: sklearn's binary case, the score of class 1)."""
    if z.shape[1] == 1:
        z = np.hstack([-z, z])
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- sequence decoding

def type_transitions(y_docs: list[np.ndarray], classes, doc_weights: list[float] | None = None,
                     smoothing: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Type-to-type transition probabilities between consecutive sentences of the labelled documents
    (rows: previous type) and the types' shares, each count weighted by its document's weight and
    smoothed by `smoothing` pseudo-counts (weak units are single sentences: they add to shares only)."""
    col = {c: j for j, c in enumerate(classes)}
    k = len(col)
    counts = np.full((k, k), float(smoothing))
    totals = np.full(k, float(smoothing))
    for i, y in enumerate(y_docs):
        w = 1.0 if doc_weights is None else float(doc_weights[i])
        idx = np.array([col[v] for v in y], dtype=np.int64)
        np.add.at(totals, idx, w)
        np.add.at(counts, (idx[:-1], idx[1:]), w)
    return counts / counts.sum(axis=1, keepdims=True), totals / totals.sum()


def sequence_posterior(proba: np.ndarray, transitions: np.ndarray, prior: np.ndarray, weight: float = 1.0,
                       prior_power: float = 1.0, window: int = 8) -> np.ndarray:
    """Posterior type probabilities of a document's sentences in a hidden Markov chain: its start is
    `prior`, its steps follow transitions ** weight (rows renormalised), its emissions are the model's
    probabilities divided by prior ** prior_power (the model is fitted with balanced class weights; the
    division keeps the chain's pull towards common types from swamping rare ones).

    Labels run in blocks (about three sentences in four share their predecessor's type), so a sentence
    that says little of its own type leans to the type of its neighbourhood. Forward and backward
    messages are passed over at most `window` sentences each side (a fixed-lag smoother: exact when the
    document is at most window + 1 sentences long, and a neighbour's pull fades geometrically with its
    distance anyway); each pass is one small matrix product over all sentences, no Python loop over them.
    """
    n, k = proba.shape
    if weight == 0 or window == 0 or n < 2:
        return proba
    a = transitions ** weight
    a /= a.sum(axis=1, keepdims=True)
    e = np.clip(proba, 1e-9, None) / prior ** prior_power
    ones = np.ones(k)  # row sums as a matrix product: numpy's sum over a short axis is slower
    e /= (e @ ones)[:, None]
    fwd = prior * e  # fwd[t]: the chain started at max(0, t - passes) with the prior
    fwd /= (fwd @ ones)[:, None]
    bwd = np.ones((n, k))
    at = np.ascontiguousarray(a.T)
    for _ in range(min(window, n - 1)):
        step = np.empty((n, k))
        step[0] = fwd[0]
        np.multiply(fwd[:-1] @ a, e[1:], out=step[1:])
        fwd = step / (step @ ones)[:, None]
        step = np.empty((n, k))
        step[-1] = 1.0
        np.matmul(e[1:] * bwd[1:], at, out=step[:-1])
        bwd = step / (step @ ones)[:, None]
    post = fwd * bwd
    return post / (post @ ones)[:, None]


def type_proba(model: TypeTagger, d: DocFeatures, cfg: Config) -> np.ndarray:
    """What the tagger finally believes of each sentence of a document: the model's probabilities, the
    heading prior, then sequence decoding (annotate.decode); rules are applied by the caller."""
    a = cfg.annotate
    own = model.predict_proba_doc(d)
    proba = heading_prior(own, list(model.classes_), d.near_kind, a.heading_boost)
    if d.genre == "statute":
        proba = type_prior(proba, list(model.classes_), a.statute.type_prior)
    elif d.genre_prior:  # a plan's or summary's, not under a heading naming a type it lowers (下一步打算)
        prior = d.genre_prior
        general = np.array([prior.get(k, 1.0) >= 1.0 for k in d.near_kind], dtype=bool)
        proba = proba.copy()
        proba[general] = type_prior(proba[general], list(model.classes_), prior)
    if d.target.any():
        proba = proba.copy()
        proba[d.target] = type_prior(proba[d.target], list(model.classes_), a.target.prior)
    if a.decode == "posterior":
        post = model.decode(proba, a.transition_weight, a.decode_prior_power, a.decode_window)
        # a sentence whose own words are clear keeps its type: neighbours decide only the unsure ones
        proba = np.where(own.max(axis=1, initial=0.0)[:, None] >= a.decode_keep_above, proba, post)
    return calibrate(proba, a.temperature)


def calibrate(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature scaling (annotate.temperature): rows p ** (1 / T), renormalised; the argmax is kept."""
    if temperature == 1.0 or not len(proba):
        return proba
    scaled = np.power(np.clip(proba, 1e-12, None), 1.0 / temperature)
    return scaled / scaled.sum(axis=1, keepdims=True)


def calibration(gold: list[str], pred: list[str], confidence: list[float], p_gold: list[float],
                bins: int = 10) -> dict:
    """Expected calibration error (type_score against accuracy, equal-width bins) and log loss of the
    model's own predictions (sentences a rule typed are left out)."""
    conf = np.asarray(confidence, dtype=float)
    right = np.asarray([g == p for g, p in zip(gold, pred)], dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, bins - 1)
    ece = sum(abs(conf[which == b].mean() - right[which == b].mean()) * (which == b).mean()
              for b in range(bins) if (which == b).any())
    loss = float(-np.log(np.clip(np.asarray(p_gold, dtype=float), 1e-12, None)).mean()) if p_gold else 0.0
    return {"ece": float(ece), "log_loss": loss, "n": len(conf)}


# ---------------------------------------------------------------- training data from labelled units

def unit_articles(units: list[dict], cfg: Config) -> list[tuple[str, list[int]]]:
    """(article id, unit indices) in order: a new article starts at each doc change and at each unit
    matching cfg.annotate.article_start (篇N in a compilation)."""
    rx = re.compile(cfg.annotate.article_start)
    articles: list[tuple[str, list[int]]] = []
    counters: Counter = Counter()
    last_doc = None
    for i, u in enumerate(units):
        if u.get("heading") is not None or u.get("is_heading") is not None:
            articles.append((f"{u['doc']}#review{i}", [i]))
            last_doc = None
            continue
        if u["doc"] != last_doc or rx.search(u["text"]):
            counters[u["doc"]] += 1
            articles.append((f"{u['doc']}#{counters[u['doc']]}", []))
            last_doc = u["doc"]
        articles[-1][1].append(i)
    return articles


def units_to_rows(units: list[dict], level_of, max_heading_chars: int) -> tuple[list[dict], list[dict]]:
    """SENTENCES and SECTIONS rows for one article's labelled units, rebuilding the section tree from
    heading markers, as structure.split would give them at run time.

    A unit with a marker opens a section; it is a heading row only when short and without a sentence
    end inside (otherwise it is a heading run together with its first sentence). A review-file unit
    carries its heading and is_heading in columns instead.
    """
    if len(units) == 1 and (units[0].get("heading") is not None or units[0].get("is_heading") is not None):
        u = units[0]
        heading = str(u.get("heading") or "")
        sections = [{"section_id": 0, "parent_id": None, "level": 0, "heading": None},
                    {"section_id": 1, "parent_id": 0, "level": 1, "heading": heading}]
        is_h = str(u.get("is_heading")).lower() in ("true", "1", "yes")
        return [{"sent_id": 0, "section_id": 1 if heading else 0, "para_id": 0, "text": u["text"],
                 "is_heading": is_h}], sections
    sections = [{"section_id": 0, "parent_id": None, "level": 0, "heading": None}]
    stack = [(0, 0)]  # (level, section_id)
    sentences = []
    for n, u in enumerate(units):
        text = u["text"]
        level = level_of(text)
        is_heading = False
        if level:
            while stack and stack[-1][0] >= level:
                stack.pop()
            sid = len(sections)
            short = len(text) <= max_heading_chars and not re.search(r"[。！？!?；;].", text)
            sections.append({"section_id": sid, "parent_id": stack[-1][1] if stack else 0, "level": level,
                             "heading": re.split(r"[。！？!?]", text, maxsplit=1)[0]})
            stack.append((level, sid))
            is_heading = short
        sentences.append({"sent_id": n, "section_id": stack[-1][1] if stack else 0, "para_id": n,
                          "text": text, "is_heading": is_heading})
    return sentences, sections


def build_training(units: list[dict], cfg: Config, featurizer: Featurizer):
    """Featurised articles of labelled units: (docs, labels per doc, group per doc, unit indices)."""
    level_of = heading_level
    max_chars = load_cues(cfg).spec.heading_max_chars
    docs, ys, groups, index = [], [], [], []
    units = [u for u in units if not u.get("weak")]
    for article, idx in unit_articles(units, cfg):
        sentences, sections = units_to_rows([units[i] for i in idx], level_of, max_chars)
        feats = featurizer.features(sentences, sections)
        docs.append(feats)
        ys.append(np.array([units[i]["type"] for i in idx], dtype=object))
        groups.append(article)
        index.append(idx)
    return docs, ys, groups, index


def weak_units(cfg: Config) -> list[dict]:
    """Units of annotate.weak_labels (distant supervision, see pipeline.weak), marked weak."""
    return [dict(u, weak=True) for u in read_labels([cfg.resolve(p) for p in cfg.annotate.weak_labels])]


def build_weak(units: list[dict], featurizer: Featurizer) -> tuple[list[DocFeatures], list[np.ndarray]]:
    """Each weak unit featurised alone, without its section: its label came from its heading, so the
    heading must not be what the model learns from it, only the sentence's own words and cues."""
    docs, ys = [], []
    for u in units:
        row = {"sent_id": 0, "section_id": 0, "para_id": 0, "text": u["text"], "is_heading": False}
        docs.append(featurizer.features([row], [{"section_id": 0, "parent_id": None, "level": 0, "heading": ""}]))
        ys.append(np.array([u["type"]], dtype=object))
    return docs, ys


def fit_with_weak(cfg: Config, docs, ys, groups, weak: tuple[list, list]) -> TypeTagger:
    """A tagger fitted on gold documents plus weak units (weight annotate.weak_weight each)."""
    w_docs, w_ys = weak
    weights = [1.0] * len(docs) + [cfg.annotate.weak_weight] * len(w_docs)
    return make_tagger(cfg).fit(list(docs) + w_docs, list(ys) + w_ys,
                                groups=list(groups) + [f"weak#{i}" for i in range(len(w_docs))],
                                doc_weights=weights if w_docs else None)


def make_tagger(cfg: Config) -> TypeTagger:
    a = cfg.annotate
    return TypeTagger(C=a.C, min_df=a.min_df, context=a.context, inner_folds=a.inner_folds,
                      random_state=a.random_state, transition_smoothing=a.transition_smoothing,
                      dense_weight=a.vectors_weight)


def train(cfg: Config, units: list[dict], featurizer: Featurizer | None = None) -> TypeTagger:
    """A tagger fitted on labelled units (deterministic for a given random_state)."""
    if not units:
        raise ModelError("no labelled units: check labels.files in your config or pass --labels FILE")
    featurizer = featurizer or Featurizer(cfg)
    docs, ys, groups, _ = build_training(units, cfg, featurizer)
    return fit_with_weak(cfg, docs, ys, groups, build_weak(weak_units(cfg), featurizer))


# ---------------------------------------------------------------- model cache

def model_key(cfg: Config, units: list[dict]) -> str:
    """Hash of everything the model depends on: labels, annotate config, lexicon files, code version."""
    h = hashlib.sha256(code_version("annotate").encode())
    h.update(json.dumps(cfg.annotate.model_dump(), sort_keys=True).encode())
    refs = (cfg.annotate.cues, cfg.annotate.userdict, cfg.annotate.stopwords, cfg.annotate.vectors,
            *cfg.annotate.weak_labels)
    for ref in refs:
        path = cfg.resolve(ref) if ref else None
        h.update(path.read_bytes() if path is not None and path.exists() else b"-")
    payload = [[u["doc"], u["text"], u["type"], u.get("heading"), u.get("is_heading")] for u in units]
    h.update(json.dumps(payload, ensure_ascii=False, default=str).encode())
    return h.hexdigest()[:24]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_model(model: TypeTagger, path: Path) -> None:
    """Write arrays (.npz) and a manifest (.json with the file's sha256), each atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(fd)
    np.savez_compressed(tmp, **model.to_arrays())
    os.replace(tmp, path)
    manifest = {"code_version": code_version("annotate"), "sha256": _sha256(path), "classes": list(model.classes_)}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh)
    os.replace(tmp, path.with_suffix(".json"))


def load_model(path: Path) -> TypeTagger | None:
    """The stored model, or None when missing, tampered with (sha256 differs) or malformed."""
    manifest_path = path.with_suffix(".json")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("code_version") != code_version("annotate") or manifest.get("sha256") != _sha256(path):
            return None
        with np.load(path, allow_pickle=False) as arrays:
            return TypeTagger.from_arrays(arrays)
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None


def load_or_train(cfg: Config, featurizer: Featurizer | None = None, extra: list[Path] | None = None,
                  refresh: bool = False) -> TypeTagger:
    """The model for the configured labels: from the cache when its key matches, else trained and stored."""
    units = training_labels(cfg, extra)
    path = Path(cfg.resolve(cfg.annotate.model_cache)) / f"tagger-{model_key(cfg, units)}.npz"
    model = None if refresh else load_model(path)
    if model is None:
        model = train(cfg, units, featurizer)
        try:
            save_model(model, path)
        except OSError:
            pass  # a read-only cache only costs a retrain next time
    return model


# ---------------------------------------------------------------- evaluation

def heading_prior(proba: np.ndarray, classes: list[str], kinds: list[str | None], boost: float) -> np.ndarray:
    """Probabilities re-weighted by the kind of the nearest classified heading (x boost for its type).

    The labelled seeds hold few sections named like those of other genres, so the model alone learns
    little of 工作回顾 -> experience or 重点任务 -> measure; this prior carries that knowledge to work
    reports and plans, where many sentences say nothing of their type themselves.
    """
    if boost == 1.0 or not len(proba):
        return proba
    weights = np.ones_like(proba)
    col = {c: j for j, c in enumerate(classes)}
    for i, kind in enumerate(kinds):
        if kind in col:
            weights[i, col[kind]] = boost
    return reweighted(proba, weights)


def type_prior(proba: np.ndarray, classes: list[str], factors: dict[str, float]) -> np.ndarray:
    """Probabilities of every sentence re-weighted by a factor per type (a genre's prior)."""
    weights = np.array([factors.get(c, 1.0) for c in classes])
    if not len(proba) or np.all(weights == 1.0):
        return proba
    return reweighted(proba, weights)


def reweighted(proba: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Probabilities times prior weights (per sentence and type, or per type), rows renormalised."""
    out = proba * weights
    return out / out.sum(axis=1, keepdims=True)


def keyword_baseline(featurizer: Featurizer, docs: list[DocFeatures]) -> list[np.ndarray]:
    """The simplest rule classifier, for comparison: the type with most cue matches, 'other' if none."""
    out = []
    for d in docs:
        pred = []
        for cues in d.cues:
            counts = Counter(c.split(":", 1)[0] for c in cues if not c.startswith("heading:"))
            counts.pop("experience:count", None)
            best = max(TYPES[:3], key=lambda t: (counts[t], -TYPES.index(t)))
            pred.append(best if counts[best] else "other")
        out.append(np.array(pred, dtype=object))
    return out


def scores(gold: list[str], pred: list[str]) -> dict:
    """Per-type precision/recall/F1/support, macro-F1 over problem/measure/experience, confusion."""
    per_type = {}
    for t in TYPES:
        tp = sum(1 for g, p in zip(gold, pred) if g == t and p == t)
        fp = sum(1 for g, p in zip(gold, pred) if g != t and p == t)
        fn = sum(1 for g, p in zip(gold, pred) if g == t and p != t)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per_type[t] = {"precision": prec, "recall": rec, "f1": f1, "support": tp + fn}
    confusion = [[sum(1 for g, p in zip(gold, pred) if g == a and p == b) for b in TYPES] for a in TYPES]
    return {"macro_f1": float(np.mean([per_type[t]["f1"] for t in TYPES[:3]])),
            "accuracy": sum(g == p for g, p in zip(gold, pred)) / max(len(gold), 1),
            "per_type": per_type, "confusion": confusion, "labels": list(TYPES)}


def cross_validate(cfg: Config, units: list[dict], folds: int = 5, featurizer: Featurizer | None = None) -> dict:
    """Article-grouped K-fold CV of the tagger (rules included) and of the keyword baseline.

    Returns {'model': scores, 'baseline': scores, 'folds', 'articles', 'units', 'predictions'}; every
    prediction comes from a model that never saw the unit's article.
    """
    from sklearn.model_selection import GroupKFold

    featurizer = featurizer or Featurizer(cfg)
    docs, ys, groups, index = build_training(units, cfg, featurizer)
    weak = build_weak(weak_units(cfg), featurizer)
    n_splits = max(2, min(folds, len(set(groups))))
    pred: list[np.ndarray | None] = [None] * len(docs)
    calib: dict[str, list] = {"gold": [], "pred": [], "conf": [], "p_gold": []}
    for train_idx, test_idx in GroupKFold(n_splits=n_splits).split(docs, groups=groups):
        model = fit_with_weak(cfg, [docs[i] for i in train_idx], [ys[i] for i in train_idx],
                              [groups[i] for i in train_idx], weak)
        classes = list(model.classes_)
        for i in test_idx:
            proba = type_proba(model, docs[i], cfg)
            p = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
            for k, rule in enumerate(docs[i].rule):
                if rule:
                    p[k] = rule_type(rule)
                elif str(ys[i][k]) in classes:
                    calib["gold"].append(str(ys[i][k]))
                    calib["pred"].append(str(p[k]))
                    calib["conf"].append(float(proba[k].max()))
                    calib["p_gold"].append(float(proba[k, classes.index(str(ys[i][k]))]))
            pred[i] = p
    gold = [str(v) for y in ys for v in y]
    flat = [str(v) for p in pred for v in p]
    base = [str(v) for p in keyword_baseline(featurizer, docs) for v in p]
    order = [i for idx in index for i in idx]
    return {"model": scores(gold, flat), "baseline": scores(gold, base), "folds": n_splits,
            "calibration": calibration(calib["gold"], calib["pred"], calib["conf"], calib["p_gold"]),
            "articles": len(set(groups)), "units": len(gold),
            "predictions": [{"unit": i, "gold": g, "pred": p} for i, g, p in zip(order, gold, flat)]}


def format_report(result: dict, themes: dict | None = None, themes_note: str = "") -> str:
    """Plain-text CV report: macro-F1, per-type P/R/F1, confusion matrix, baseline, themes."""
    m, b = result["model"], result["baseline"]
    lines = [f"article-grouped {result['folds']}-fold CV over {result['articles']} articles, {result['units']} units",
             f"type macro-F1 (problem, measure, experience): {m['macro_f1']:.3f}   accuracy {m['accuracy']:.3f}",
             f"keyword baseline macro-F1: {b['macro_f1']:.3f}   accuracy {b['accuracy']:.3f}",
             "", f"{'type':<12}{'P':>7}{'R':>7}{'F1':>7}{'n':>6}   baseline F1"]
    for t in TYPES:
        v = m["per_type"][t]
        lines.append(f"{t:<12}{v['precision']:7.3f}{v['recall']:7.3f}{v['f1']:7.3f}{v['support']:6d}"
                     f"   {b['per_type'][t]['f1']:.3f}")
    lines += ["", "confusion (rows gold, columns predicted):", " " * 12 + "".join(f"{t[:10]:>11}" for t in TYPES)]
    for t, row in zip(TYPES, m["confusion"]):
        lines.append(f"{t:<12}" + "".join(f"{v:11d}" for v in row))
    c = result.get("calibration")
    if c:
        lines += ["", f"type_score calibration ({c['n']} sentences the model typed): expected calibration error "
                      f"{c['ece']:.3f}, log loss {c['log_loss']:.3f}"]
    lines.append("")
    if themes:
        lines.append(f"themes (article-grouped CV): micro-F1 {themes.get('micro_f1', 0.0):.3f}")
        for theme, v in (themes.get("per_theme") or {}).items():
            lines.append(f"  {theme:<22}P {v['precision']:.3f}  R {v['recall']:.3f}  F1 {v['f1']:.3f}  n {v['support']}")
    else:
        lines.append(f"themes: not available{(' (' + themes_note + ')') if themes_note else ''}")
    return "\n".join(lines)


def evaluate(cfg: Config, folds: int = 5, extra: list[Path] | None = None) -> str:
    """`zhili evaluate`: the CV report of the tagger, the keyword baseline and the themes."""
    units = training_labels(cfg, extra)
    result = cross_validate(cfg, units, folds)
    from pipeline.themes import cross_validate as themes_cross_validate

    return format_report(result, themes_cross_validate(cfg, units, folds))


def retrain(cfg: Config, extra: list[Path] | None = None, folds: int = 5) -> str:
    """`zhili train`: retrain on the configured labels plus extra files, store it, report CV figures."""
    units = training_labels(cfg, extra)
    featurizer = Featurizer(cfg)
    load_or_train(cfg, featurizer=featurizer, extra=extra, refresh=True)
    result = cross_validate(cfg, units, folds, featurizer)
    path = Path(cfg.resolve(cfg.annotate.model_cache)) / f"tagger-{model_key(cfg, units)}.npz"
    return f"trained on {len(units)} units; model stored in {path}\n" + format_report(result, None, "see zhili evaluate")


REVIEW_COLUMNS = ["doc", "n", "text", "type", "type_score", "correct_type", "themes", "heading", "is_heading",
                  "context_before", "context_after", "cues", "doc_id"]


def review_rows(sentences, documents, sections, n: int) -> list[dict]:
    """The n sentences the model is least sure of, spread over documents: the lowest type_score of each
    document first (round robin), so one long report cannot fill the whole sheet."""
    import pandas as pd

    s = sentences.sort_values(["doc_id", "sent_id"]).reset_index(drop=True)
    s["context_before"] = s.groupby("doc_id")["text"].shift(1).fillna("")
    s["context_after"] = s.groupby("doc_id")["text"].shift(-1).fillna("")
    heads = sections.set_index(["doc_id", "section_id"])["heading"].to_dict() if len(sections) else {}
    s["heading"] = [heads.get((d, k)) or "" for d, k in zip(s["doc_id"], s["section_id"])]
    names = {d: Path(str(p)).name for d, p in zip(documents["doc_id"], documents["source_path"])}
    s["doc"] = s["doc_id"].map(names).fillna(s["doc_id"])
    s = s[s["text"].str.strip().str.len() > 0]
    s["rank"] = s.sort_values("type_score").groupby("doc_id").cumcount()
    picked = s.sort_values(["rank", "type_score", "doc_id", "sent_id"]).head(n)
    rows = []
    for r in picked.sort_values(["doc", "sent_id"]).itertuples():
        rows.append({"doc": r.doc, "n": int(r.sent_id), "text": r.text, "type": r.type,
                     "type_score": round(float(r.type_score), 3) if pd.notna(r.type_score) else None,
                     "correct_type": "", "themes": ";".join(r.themes if r.themes is not None else []),
                     "heading": r.heading, "is_heading": bool(r.is_heading),
                     "context_before": r.context_before, "context_after": r.context_after,
                     "cues": ";".join(r.cues if r.cues is not None else []), "doc_id": r.doc_id})
    return rows


def export_review(run: Path, out: Path, n: int = 200) -> int:
    """`zhili review`: write the least certain sentences of a run to .xlsx or .csv for correction.

    The analyst fills correct_type (a type, or 'ok' to accept the guess) and may edit themes; the file
    then goes back unchanged into `zhili train --labels FILE`.
    """
    import pandas as pd

    from pipeline import tables

    sentences = tables.load(run, "sentences")
    documents = tables.load(run, "documents", ["doc_id", "source_path"])
    sections = tables.load(run, "sections", ["doc_id", "section_id", "heading"])
    frame = pd.DataFrame(review_rows(sentences, documents, sections, n), columns=REVIEW_COLUMNS)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        frame.to_csv(out, index=False, encoding="utf-8-sig")
    elif out.suffix.lower() == ".xlsx":
        frame.to_excel(out, index=False)
    else:
        raise ValueError(f"review file must end in .xlsx or .csv, not {out.suffix!r}")
    return len(frame)
