"""Seeded themes: the taxonomy of configs/themes.yaml matched per sentence by patterns and a model.

Patterns (terms and regular expressions, with negative terms masked first) carry the themes any user can
add by editing the YAML file; a one-vs-rest linear model trained on the labelled units (pipeline.labels)
adds the themes that patterns miss, for themes with enough labels. A sentence gets theme T when T's
patterns match or T's model probability reaches themes.model_threshold, and only when its type is one of
themes.theme_types (themes describe problems, measures and experiences, not background).
Discovery of further themes lives in pipeline/discover.py.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import ahocorasick_rs
import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import AfterValidator, Field, model_validator

from pipeline import regex_literals
from pipeline.config import Config, ConfigError, Strict, read_yaml, validate
from pipeline.nfkc import nfkc
from pipeline.segment import TOKENS
from pipeline.stages import code_version
from pipeline.theme_model import ThemeModel, unit_features

THEME_ID = re.compile(r"^[a-z][a-z0-9_]*$")
EVIDENCE_TERMS = 4
MASK = "\x00"


def _regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
    return pattern


def _theme_id(theme_id: str) -> str:
    if not THEME_ID.match(theme_id) or theme_id.startswith("d_"):
        raise ValueError(f"bad theme id {theme_id!r}: use lower_snake_case, not starting with d_ "
                         "(reserved for discovered themes)")
    return theme_id


Regex = Annotated[str, AfterValidator(_regex)]


class ThemeSpec(Strict):
    """One seeded theme of configs/themes.yaml."""

    name_zh: str
    name_en: str
    description: str = ""
    terms: list[str] = Field(default_factory=list, description="literal phrases that mark the theme")
    patterns: list[Regex] = Field(default_factory=list, description="regular expressions that mark the theme")
    negative_terms: list[str] = Field(default_factory=list, description="phrases masked before matching")
    negative_patterns: list[Regex] = Field(default_factory=list, description="regexes masked before matching")
    context_terms: list[str] = Field(default_factory=list, description="phrases that mark the theme only in a "
                                     "sentence that also holds one of `context` (数字化 of a firm's upgrade is "
                                     "not digital governance; 数字化 of community services is)")
    context_patterns: list[Regex] = Field(default_factory=list, description="regular expressions that, like "
                                          "context_terms, count only in a sentence holding one of `context`")
    context: list[str] = Field(default_factory=list, description="phrases of the theme's field, one of which "
                               "a sentence needs for its context_terms and context_patterns to count")
    context_genres_excluded: list[str] = Field(
        default_factory=list, description="genres (the annotate stage's genre: cue) in whose sentences the context "
        "terms and patterns do not count at all: in a statute 依法 and 违法 are the form of every clause")

    @model_validator(mode="after")
    def _has_matchers(self) -> ThemeSpec:
        if not (self.terms or self.patterns or self.context_terms or self.context_patterns):
            raise ValueError("a theme needs at least one entry in terms, patterns, context_terms or context_patterns")
        if (self.context_terms or self.context_patterns) and not self.context:
            raise ValueError("context_terms and context_patterns need a context: the phrases one of which must be "
                             "in the sentence")
        return self


class ThemesFile(Strict):
    discovery_stopwords: list[str] = Field(
        default_factory=list, description="words too generic to name a discovered theme (推进, 加强, ...)")
    themes: dict[Annotated[str, AfterValidator(_theme_id)], ThemeSpec]


def read_themes_file(cfg: Config) -> ThemesFile:
    """cfg.themes.file validated; ConfigError names the file, theme id and key."""
    path = cfg.resolve(cfg.themes.file)
    return validate(ThemesFile, read_yaml(path), path)


def load_themes(cfg: Config) -> dict[str, ThemeSpec]:
    """The seeded themes of cfg.themes.file, by id."""
    return dict(read_themes_file(cfg).themes)


@dataclass(frozen=True)
class CompiledTheme:
    theme_id: str
    positive: re.Pattern | None
    negative: re.Pattern | None
    contextual: re.Pattern | None = None
    context: re.Pattern | None = None
    context_genres_excluded: frozenset[str] = frozenset()

    def hits(self, text: str, genre: str | None = None) -> list[str]:
        """Distinct matched phrases after masking negative phrases (人口老龄化 hides 老龄化); a match may not
        span a masked phrase. Context terms count where the masked text also names the theme's field, and
        the sentence's genre is not one of context_genres_excluded."""
        if self.negative is not None:
            text = self.negative.sub(lambda m: MASK * len(m.group()), text)
        found = [m.group() for m in self.positive.finditer(text)] if self.positive is not None else []
        if self.contextual is not None and genre not in self.context_genres_excluded and self.context.search(text):
            found += [m.group() for m in self.contextual.finditer(text)]
        return list(dict.fromkeys(f for f in found if f and MASK not in f))


def _evidence(hits: list[str]) -> str:
    """The evidence string of a theme found by its patterns: its first matched phrases."""
    return "、".join(hits[:EVIDENCE_TERMS])


def _score(sentence: dict) -> float:
    """A sentence's type_score; a type given without one (a caller's own rows, gold types) is certain."""
    score = sentence.get("type_score")
    return 1.0 if score is None else float(score)


def _alternation(terms: list[str], patterns: list[str]) -> re.Pattern | None:
    parts = [re.escape(t) for t in sorted(set(terms), key=len, reverse=True)] + [f"(?:{p})" for p in patterns]
    return re.compile("|".join(parts)) if parts else None


def compile_theme(theme_id: str, spec: ThemeSpec) -> CompiledTheme:
    return CompiledTheme(theme_id, _alternation(spec.terms, spec.patterns),
                         _alternation(spec.negative_terms, spec.negative_patterns),
                         _alternation(spec.context_terms, spec.context_patterns), _alternation(spec.context, []),
                         frozenset(spec.context_genres_excluded))


def sentence_genre(sentence: dict) -> str | None:
    """The genre the annotate stage found for the sentence's document (its genre:NAME cue), if any."""
    for cue in sentence.get("cues") or ():
        if cue.startswith("genre:"):
            return cue.split(":")[1]
    return None


class Prefilter:
    """Which themes can match which sentences, from one Aho-Corasick scan for the literals patterns require.

    Each term, and each top-level alternative of each pattern, needs one string of each of its required
    sets (pipeline.regex_literals): '(党员|干部).{0,8}(老龄化|老化)' needs 党员 or 干部, and 老龄化 or 老化.
    A theme is a candidate where one of its alternatives has all its sets present; a theme with an
    alternative of unknown requirements is a candidate everywhere. So the prefilter never changes a
    result: it only skips regular expressions that cannot match.
    """

    def __init__(self, specs: list[ThemeSpec]):
        literals: dict[str, int] = {}
        sets: dict[frozenset[int], int] = {}
        entries: list[tuple[int, list[int]]] = []  # (theme, required set ids)
        self.always = np.zeros(len(specs), dtype=bool)
        for k, spec in enumerate(specs):
            alternatives = [[{term}] for term in spec.terms + spec.context_terms if term]
            for pattern in spec.patterns + spec.context_patterns:
                alternatives += regex_literals.pattern_requirements(pattern)
            for needs in alternatives:
                if not needs:
                    self.always[k] = True
                    break
                ids = [sets.setdefault(frozenset(literals.setdefault(x, len(literals)) for x in need), len(sets))
                       for need in needs]
                entries.append((k, sorted(set(ids))))
        self.literals = list(literals)
        self.automaton = ahocorasick_rs.AhoCorasick(self.literals) if self.literals else None
        lit_rows = [lit for members in sets for lit in members]
        set_cols = [s for members, s in sets.items() for _ in members]
        self.in_set = sp.csr_matrix((np.ones(len(lit_rows)), (lit_rows, set_cols)), shape=(len(literals), len(sets)))
        set_rows = [s for _, ids in entries for s in ids]
        entry_cols = [e for e, (_, ids) in enumerate(entries) for _ in ids]
        self.in_entry = sp.csr_matrix((np.ones(len(set_rows)), (set_rows, entry_cols)), shape=(len(sets), len(entries)))
        self.entry_size = np.array([len(ids) for _, ids in entries])
        self.entry_theme = sp.csr_matrix((np.ones(len(entries)), (np.arange(len(entries)), [k for k, _ in entries])),
                                         shape=(len(entries), len(specs)))

    def candidates(self, texts: list[str]) -> np.ndarray:
        """Boolean texts x themes: where a theme's patterns may match."""
        out = np.tile(self.always, (len(texts), 1))
        if self.automaton is None or not texts:
            return out
        starts = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]])
        found = self.automaton.find_matches_as_indexes("\n".join(texts), overlapping=True)
        if not found:
            return out
        lits, pos, _ = np.asarray(found, dtype=np.int64).T
        rows = np.searchsorted(starts, pos, side="right") - 1
        present = sp.csr_matrix((np.ones(len(lits)), (rows, lits)), shape=(len(texts), len(self.literals)))
        sets_met = ((present @ self.in_set) > 0).astype(np.float64)
        entries = (sets_met @ self.in_entry).tocsr()
        entries.data = (entries.data == self.entry_size[entries.indices]).astype(np.float64)
        out |= (entries @ self.entry_theme).toarray() > 0
        return out


def normalize(text: str) -> str:
    """NFKC (full-width brackets and digits become half-width), as the patterns are written."""
    return nfkc(text or "")


def article_groups(labels: list[dict], marker: str) -> list[tuple[str, int]]:
    """(doc, article number) of each labelled unit: a unit matching `marker` starts a new article."""
    rx, groups, current = re.compile(marker), [], {}
    for unit in labels:
        doc = unit["doc"]
        if rx.search(unit["text"]):
            current[doc] = current.get(doc, 0) + 1
        groups.append((doc, current.get(doc, 0)))
    return groups


def _labels_digest(labels: list[dict]) -> str:
    payload = [[u["text"], u["type"], sorted(u.get("themes") or [])] for u in labels]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


class ThemeMatcher:
    """Matches seeded themes in a document's sentences; loads the themes and the model once per process.

    labels: training units (default: pipeline.labels.training_labels(cfg)); cache: whether the trained
    model is read from / written to cfg.themes.model_cache (cross-validation folds do not cache).
    """

    def __init__(self, cfg: Config, labels: list[dict] | None = None, cache: bool = True):
        self.cfg = cfg
        self.specs = load_themes(cfg)
        self.compiled = [compile_theme(t, s) for t, s in self.specs.items()]
        self.prefilter = Prefilter(list(self.specs.values()))
        self.gate = set(cfg.themes.theme_types)
        self.model_genres_excluded = set(cfg.themes.model_genres_excluded)
        self.pattern_gate = set(cfg.themes.pattern_types)
        self._feature_args = (cfg.annotate.tokenizer, str(cfg.resolve(cfg.annotate.userdict)),
                              str(cfg.resolve(cfg.annotate.stopwords)))
        self.model: ThemeModel | None = None
        if cfg.themes.model:
            if labels is None:
                from pipeline.labels import training_labels

                labels = training_labels(cfg)
            self.model = self._cached_model(labels) if cache else self._train(labels)

    def features(self, text: str, type_: str) -> tuple[str, ...]:
        return unit_features(text, type_, *self._feature_args)

    def _train(self, labels: list[dict]) -> ThemeModel | None:
        """Fit on the gated units, for themes of the YAML file with enough labelled units."""
        units = [u for u in labels if u["type"] in self.gate]
        counts = Counter(t for u in units for t in set(u.get("themes") or []))
        themes = [t for t in self.specs if counts[t] >= self.cfg.themes.model_min_labels]
        if not units or not themes:
            return None
        targets = {t: np.array([t in (u.get("themes") or []) for u in units], dtype=int) for t in themes}
        feats = [self.features(u["text"], u["type"]) for u in units]
        return ThemeModel.fit(feats, targets, c=self.cfg.themes.model_c, random_state=self.cfg.themes.random_state)

    def _cache_key(self, labels: list[dict]) -> str:
        parts = [_labels_digest(labels), cfg_file_bytes(self.cfg), code_version("themes"),
                 json.dumps(self.cfg.themes.model_dump(), sort_keys=True), json.dumps(self._feature_args)]
        for extra in (self._feature_args[1], self._feature_args[2]):
            p = Path(extra)
            parts.append(hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "absent")
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]

    def _cached_model(self, labels: list[dict]) -> ThemeModel | None:
        path = self.cfg.resolve(self.cfg.themes.model_cache) / f"themes-{self._cache_key(labels)}"
        model = ThemeModel.load(path)
        if model is None:
            model = self._train(labels)
            if model is not None:
                try:
                    model.save(path)
                except OSError:
                    pass  # an unwritable cache only costs a retrain next time
        return model

    def score(self, sentences: list[dict], doc_of: np.ndarray | None = None) -> list[dict[str, tuple[float, str, str]]]:
        """Per sentence: theme -> (score, method, evidence) for every theme it is given; doc_of numbers the
        document of each sentence when several are scored at once (a theme never continues across two)."""
        out: list[dict[str, tuple[float, str, str]]] = [{} for _ in sentences]
        self._pattern_themes(sentences, out)
        gated = [i for i, s in enumerate(sentences) if (s.get("type") or "other") in self.gate]
        if not gated:
            return out
        texts = TOKENS.nfkc_all([sentences[i].get("text") for i in gated])  # annotation's, in a worker
        genres = [sentence_genre(sentences[i]) for i in gated]
        proba, x = None, None
        if self.model is not None:
            types = [sentences[i].get("type") for i in gated]
            proba, x = self.model.predict_texts(texts, types, *self._feature_args)
            # the model learnt from essays: in a statute's sentences it neither gives nor continues a theme
            proba[np.array([g in self.model_genres_excluded for g in genres], dtype=bool)] = 0.0
        model_index = {t: k for k, t in enumerate(self.model.themes)} if self.model else {}
        threshold, pattern_score = self.cfg.themes.model_threshold, self.cfg.themes.pattern_score
        candidates = self.prefilter.candidates(texts)
        columns = [model_index.get(theme.theme_id) for theme in self.compiled]
        above = np.zeros((len(gated), len(self.compiled)), dtype=bool)
        if proba is not None:
            for j, k in enumerate(columns):
                if k is not None:
                    above[:, j] = proba[:, k] >= threshold
        for row, j in zip(*(a.tolist() for a in np.nonzero(candidates | above))):
            i, theme, k = gated[row], self.compiled[j], columns[j]
            hits = theme.hits(texts[row], genres[row]) if candidates[row, j] else []
            p = float(proba[row, k]) if k is not None else 0.0
            if hits and p >= threshold:
                out[i][theme.theme_id] = (max(p, pattern_score), "both", _evidence(hits))
            elif hits:
                out[i][theme.theme_id] = (pattern_score, "pattern", _evidence(hits))
            elif p >= threshold:
                out[i][theme.theme_id] = (p, "model", self.model.evidence_at(x, row, k))
        if proba is not None:
            doc_of = np.zeros(len(sentences), dtype=np.int64) if doc_of is None else doc_of
            self._continue_themes(sentences, doc_of, gated, out, proba, x, model_index)
        return out

    def _pattern_themes(self, sentences: list[dict], out: list[dict]) -> None:
        """Themes by their patterns alone for the sentences the tagger put, unsure (type_score below
        themes.pattern_types_below), in a type of themes.pattern_types outside themes.theme_types: its unsure
        other holds problems it missed, and headings (三、行政权力扩张与社区负担) that name their theme; the model,
        trained on themed units, stays off them."""
        below = self.cfg.themes.pattern_types_below
        rows = [i for i, s in enumerate(sentences)
                if (t := s.get("type") or "other") in self.pattern_gate and t not in self.gate
                and _score(s) < below]
        if not rows:
            return
        texts = TOKENS.nfkc_all([sentences[i].get("text") for i in rows])
        for row, j in zip(*(a.tolist() for a in np.nonzero(self.prefilter.candidates(texts)))):
            hits = self.compiled[j].hits(texts[row], sentence_genre(sentences[rows[row]]))
            if hits:
                out[rows[row]][self.compiled[j].theme_id] = (self.cfg.themes.pattern_score, "pattern", _evidence(hits))

    def _continue_themes(self, sentences: list[dict], doc_of: np.ndarray, gated: list[int], out: list[dict],
                         proba: np.ndarray, x, model_index: dict[str, int]) -> None:
        """A sentence with no theme of its own continues the themes of the sentence just before it (same
        section, same type) when the model leans towards them (themes.context_threshold).

        Writers name a theme once and then elaborate it over several sentences (its manifestations and
        causes) that rarely repeat the theme's words.
        """
        low = self.cfg.themes.context_threshold
        own = [bool(found) for found in out]
        doc = doc_of.tolist()
        for row in range(1, len(gated)):
            i, prev = gated[row], gated[row - 1]
            if own[i] or prev != i - 1 or doc[i] != doc[prev] or any(
                    sentences[i].get(c) != sentences[prev].get(c) for c in ("section_id", "type")):
                continue
            for theme_id in list(out[prev]):
                k = model_index.get(theme_id)
                if k is not None and proba[row, k] >= low:
                    evidence = self.model.evidence_at(x, row, k)
                    out[i][theme_id] = (float(proba[row, k]), "model", f"上文;{evidence}" if evidence else "上文")

    def match(self, sentences: list[dict]) -> list[dict]:
        """Fill each sentence's `themes` in place; SENTENCE_THEMES rows (without doc_id) for the document."""
        return self.match_many([sentences])[0]

    def match_many(self, docs: list[list[dict]]) -> list[list[dict]]:
        """match() of several documents, scored together up to themes.match_chunk_sentences sentences at a
        time (per-call costs are paid once per chunk, not per document)."""
        out: list[list[dict]] = []
        chunk: list[list[dict]] = []
        size = 0
        for sentences in docs:
            if chunk and size + len(sentences) > self.cfg.themes.match_chunk_sentences:
                out.extend(self._match_together(chunk))
                chunk, size = [], 0
            chunk.append(sentences)
            size += len(sentences)
        return out + (self._match_together(chunk) if chunk else [])

    def _match_together(self, docs: list[list[dict]]) -> list[list[dict]]:
        flat = [s for sentences in docs for s in sentences]
        doc_of = np.repeat(np.arange(len(docs)), [len(sentences) for sentences in docs])
        found_all = self.score(flat, doc_of)
        out, start = [], 0
        for sentences in docs:
            rows = []
            for i, (sent, found) in enumerate(zip(sentences, found_all[start:start + len(sentences)])):
                sent["themes"] = sorted(found)
                if not found:
                    continue
                sent_id = sent.get("sent_id", i)
                rows.extend({"sent_id": sent_id, "theme_id": t, "score": round(found[t][0], 4),
                             "method": found[t][1], "evidence": found[t][2]} for t in sorted(found))
            out.append(rows)
            start += len(sentences)
        return out


def cfg_file_bytes(cfg: Config) -> str:
    """Hash of the themes file's bytes (part of the model cache key)."""
    path = cfg.resolve(cfg.themes.file)
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigError(f"cannot read themes file {path}: {exc}") from None


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def cross_validate(cfg: Config, labels: list[dict], folds: int = 5) -> dict:
    """Article-grouped K-fold CV of the full matcher (patterns + model) over labelled units.

    Each fold trains the model on the other folds' articles only, then matches the held-out articles
    as documents (units in order, with their labelled type: the tagger's errors are not included).
    Returns per_theme {theme: {precision, recall, f1, support}}, micro_precision/recall/f1, units, folds.
    """
    from sklearn.model_selection import GroupKFold

    groups = article_groups(labels, cfg.themes.article_marker)
    group_ids = pd.factorize(pd.Series([f"{d}\0{a}" for d, a in groups]))[0]
    n_splits = max(2, min(folds, len(set(group_ids))))
    counts: dict[str, Counter] = {}
    predicted: list[set[str]] = [set() for _ in labels]
    for train, test in GroupKFold(n_splits=n_splits).split(labels, groups=group_ids):
        matcher = ThemeMatcher(cfg, labels=[labels[i] for i in train], cache=False)
        rows = [{"text": labels[i]["text"], "type": labels[i]["type"]} for i in test]
        for i, found in zip(test, matcher.score(rows)):
            predicted[i] = set(found)
    for unit, pred in zip(labels, predicted):
        gold = set(unit.get("themes") or [])
        for t in gold | pred:
            c = counts.setdefault(t, Counter())
            c["tp" if t in gold and t in pred else ("fn" if t in gold else "fp")] += 1
    per_theme = {}
    for t, c in sorted(counts.items()):
        p, r, f = _prf(c["tp"], c["fp"], c["fn"])
        per_theme[t] = {"precision": p, "recall": r, "f1": f, "support": c["tp"] + c["fn"]}
    total = Counter()
    for c in counts.values():
        total.update(c)
    mp, mr, mf = _prf(total["tp"], total["fp"], total["fn"])
    return {"per_theme": per_theme, "micro_precision": mp, "micro_recall": mr, "micro_f1": mf,
            "units": len(labels), "folds": n_splits}


TYPED = ("problem", "measure", "experience")
COUNT_COLUMNS = ["n_sentences", *(f"n_{t}" for t in TYPED)]
DOC_THEME_COLUMNS = ["doc_id", "theme_id", "n_sentences", "share", *(f"n_{t}" for t in TYPED)]


def link_aggregates(links: pd.DataFrame, sentences: pd.DataFrame,
                    doc_sizes: Mapping[str, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """doc_themes rows and example candidates for the theme links of some whole articles.

    links: doc_id, sent_id, theme_id, score; sentences: doc_id, sent_id, type, text; doc_sizes: sentences
    per article (the share's denominator). Workers call this per batch, and the run node for discovered
    links: no article spans two calls, so the run's doc_themes is the concatenation of the results and
    theme_rows reduces the examples.
    """
    joined = links[["doc_id", "sent_id", "theme_id", "score"]].merge(
        sentences[["doc_id", "sent_id", "type", "text"]], on=["doc_id", "sent_id"], how="inner")
    return doc_theme_counts(joined, doc_sizes), theme_examples(joined)


def doc_theme_counts(joined: pd.DataFrame, doc_sizes: Mapping[str, int]) -> pd.DataFrame:
    """DOC_THEMES rows from links joined with their sentence's type."""
    if not len(joined):
        return pd.DataFrame({c: pd.Series(dtype="int64" if c.startswith("n_") else "object")
                             for c in DOC_THEME_COLUMNS})
    frame = joined[["doc_id", "theme_id"]].assign(n_sentences=1)
    for t in TYPED:
        frame[f"n_{t}"] = (joined["type"] == t).astype("int64")
    out = frame.groupby(["doc_id", "theme_id"], sort=True).sum().reset_index()
    sizes = out["doc_id"].map(doc_sizes).fillna(out["n_sentences"]).clip(lower=1)
    out["share"] = out["n_sentences"] / sizes
    return out[DOC_THEME_COLUMNS]


def theme_examples(joined: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """The k best-scoring distinct texts of each theme (theme_id, score, text), ties broken by text.

    Taking the top k of the union of top-k lists gives the top k overall, so batches reduce cheaply.
    """
    if not len(joined):
        return pd.DataFrame({"theme_id": pd.Series(dtype="object"), "score": pd.Series(dtype="float64"),
                             "text": pd.Series(dtype="object")})
    top = joined[["theme_id", "score", "text"]].sort_values(["theme_id", "score", "text"],
                                                            ascending=[True, False, True])
    top = top.drop_duplicates(["theme_id", "text"])
    return top.groupby("theme_id", sort=False).head(k).reset_index(drop=True)


def theme_rows(doc_themes: pd.DataFrame, examples: pd.DataFrame, discovered_rows: list[dict],
               cfg: Config) -> list[dict]:
    """THEMES rows for every seeded and discovered theme, counted over the run's doc_themes rows.

    doc_themes should hold non-duplicate articles only. A discovered theme without rows there keeps the
    counts computed by discovery.
    """
    totals = doc_themes.groupby("theme_id")[COUNT_COLUMNS].sum()
    n_docs = doc_themes.groupby("theme_id")["doc_id"].nunique()
    best = theme_examples(examples)
    texts = {t: list(g["text"]) for t, g in best.groupby("theme_id")}

    def counts(theme_id: str) -> dict[str, int]:
        if theme_id not in totals.index:
            return {}
        row = totals.loc[theme_id]
        return {"n_documents": int(n_docs[theme_id]), **{c: int(row[c]) for c in COUNT_COLUMNS}}

    rows = []
    for theme_id, spec in load_themes(cfg).items():
        rows.append({"theme_id": theme_id, "name_zh": spec.name_zh, "name_en": spec.name_en, "kind": "seeded",
                     "description": spec.description, "top_terms": spec.terms[:10],
                     "examples": texts.get(theme_id, []), "n_documents": 0, **dict.fromkeys(COUNT_COLUMNS, 0),
                     **counts(theme_id)})
    rows.extend({**d, "kind": "discovered", **counts(d["theme_id"])} for d in discovered_rows)
    return rows


def discover(sentences: pd.DataFrame, cfg: Config) -> tuple[list[dict], list[dict]]:
    """Discovered themes of a run and their sentence links (see pipeline.discover.discover_themes)."""
    from pipeline.discover import discover_themes

    return discover_themes(sentences, cfg)


def summarize_run(run: str | Path) -> list[dict]:
    """Every theme of a run with its sentences and articles by type, top terms and examples (for the CLI).

    Counts come from the run's doc_themes table (non-duplicate articles, one row per article and theme),
    so the sentences table is never read.
    """
    from pipeline.tables import load

    themes_df = load(run, "themes")
    per_doc = load(run, "doc_themes")
    out = []
    for row in themes_df.to_dict("records"):
        g = per_doc[per_doc["theme_id"] == row["theme_id"]]
        summary = {k: row[k] for k in ("theme_id", "name_zh", "name_en", "kind")}
        for t in TYPED:
            summary[f"sentences_{t}"] = int(g[f"n_{t}"].sum())
            summary[f"articles_{t}"] = int((g[f"n_{t}"] > 0).sum())
        summary["sentences"], summary["articles"] = int(g["n_sentences"].sum()), int(len(g))
        summary["top_terms"] = list(row["top_terms"] if row["top_terms"] is not None else [])
        summary["examples"] = list(row["examples"] if row["examples"] is not None else [])
        out.append(summary)
    return out


def theme_stanza(run: str | Path, theme_id: str) -> str:
    """A configs/themes.yaml stanza for a discovered theme of a run, to paste under `themes:`.

    The new id is built from the theme's words; its terms are the discovered top terms, which the user
    should prune (a pasted theme matches by these terms at once).
    """
    import yaml

    from pipeline.tables import load

    themes_df = load(run, "themes")
    found = themes_df[themes_df["theme_id"] == theme_id]
    if not len(found):
        known = ", ".join(themes_df.loc[themes_df["kind"] == "discovered", "theme_id"]) or "none"
        raise KeyError(f"no theme {theme_id!r} in {run} (discovered themes: {known})")
    row = found.iloc[0]
    terms = [str(t) for t in (row["top_terms"] if row["top_terms"] is not None else [])]
    new_id = "theme_" + theme_id.removeprefix("d_")
    stanza = {new_id: {"name_zh": str(row["name_zh"]), "name_en": str(row["name_en"]),
                       "description": str(row["description"] or ""), "terms": terms, "patterns": [],
                       "negative_terms": [], "negative_patterns": []}}
    text = yaml.safe_dump(stanza, allow_unicode=True, sort_keys=False, width=100)
    return "\n".join("  " + line if line else line for line in text.splitlines()) + "\n"
