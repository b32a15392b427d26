"""Sentence tagging: problem / measure / experience / other, with a score and the evidence.

One spaCy Doc is built per document from the structure stage's sentences (the segmenter of
pipeline.segment inside a custom spaCy tokenizer; sentence starts from the given boundaries, never
re-detected). Cue phrases of configs/cues.yaml are matched twice on purpose: multi-character cues on
characters (a cue inside a longer token still counts: 不足 in 动力不足) and short ambiguous cues as whole
tokens with a spaCy PhraseMatcher (要 must not match inside 重要). The enclosing section headings give each
sentence its context (a 存在的问题 section makes problems likely). Features are built with numpy in bulk
per document and scored by the linear model of pipeline/tagger.py; strong rules (web chrome, a bare
heading such as 二、存在的问题) override it, and `method` records who decided.
"""
from __future__ import annotations

import bisect
import functools
import hashlib
import re
from dataclasses import dataclass, field

import numpy as np
import spacy
from pydantic import BaseModel, Field, field_validator
from spacy.attrs import ORTH
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from pipeline.config import Config, Strict, _check_regexes, read_yaml, validate
from pipeline.segment import get_cutter, stopwords

TYPES = ("problem", "measure", "experience", "other")
CUE_TYPES = TYPES[:3]
SEPARATOR = "\n"
_TOP = np.uint64(1 << 63)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SALT = np.uint64(0x632BE59BD9B4E019)


# ---------------------------------------------------------------- configuration (configs/cues.yaml)

class CueLexicon(Strict):
    chars: list[str] = Field(default_factory=list, description="matched on characters, also inside tokens")
    tokens: list[str] = Field(default_factory=list, description="matched only as whole tokens")


class HeadingLevel(Strict):
    level: int
    pattern: str

    _v = field_validator("pattern")(classmethod(lambda cls, v: _check_regexes([v])[0]))


class CuesFile(Strict):
    cues: dict[str, CueLexicon]
    count_pattern: str
    heading_kinds: dict[str, list[str]]
    heading_levels: list[HeadingLevel]
    heading_max_chars: int = 40
    heading_kind_max_level: int = 4
    paragraph_intro: dict[str, list[str]] = Field(default_factory=dict)
    bare_heading: str
    boilerplate: list[str] = Field(default_factory=list)

    _v = field_validator("boilerplate")(classmethod(lambda cls, v: _check_regexes(v)))

    @field_validator("cues", "heading_kinds", "paragraph_intro")
    @classmethod
    def _known_types(cls, v: dict) -> dict:
        unknown = set(v) - set(TYPES)
        if unknown:
            raise ValueError(f"unknown type(s) {sorted(unknown)}: use {', '.join(TYPES)}")
        return v

    @field_validator("heading_kinds", "paragraph_intro")
    @classmethod
    def _regexes(cls, v: dict) -> dict:
        for patterns in v.values():
            _check_regexes(patterns)
        return v

    @field_validator("count_pattern", "bare_heading")
    @classmethod
    def _regex(cls, v: str) -> str:
        return _check_regexes([v])[0]


@dataclass(frozen=True, eq=False)
class Cues:
    """configs/cues.yaml compiled once per process."""

    spec: CuesFile
    char_regex: re.Pattern | None
    char_kinds: dict[str, tuple[str, ...]]
    count_regex: re.Pattern
    heading_kind_regex: dict[str, re.Pattern]
    intro_regex: dict[str, re.Pattern]
    level_regex: tuple[tuple[int, re.Pattern], ...]
    bare_regex: re.Pattern
    boilerplate_regex: re.Pattern | None
    digest: str = ""

    @functools.lru_cache(maxsize=65536)
    def heading_kinds(self, heading: str) -> list[tuple[str, str]]:
        """(kind, matched phrase) for each kind whose pattern occurs in a heading, the kind matched last
        first (the head noun of a Chinese heading comes last: 2023年工作回顾 is a review)."""
        found = []
        for kind, rx in self.heading_kind_regex.items():
            last = None
            for last in rx.finditer(heading):
                pass
            if last:
                found.append((last.end(), last.start(), kind, last.group(0)))
        return [(kind, phrase) for _, _, kind, phrase in sorted(found, reverse=True)]

    def heading_level(self, text: str) -> int | None:
        """Level of a heading marker at the start of a text (1 一、 … 5 一是), None without one."""
        for level, rx in self.level_regex:
            if rx.match(text):
                return level
        return None

    def strip_marker(self, text: str) -> str:
        for _, rx in self.level_regex:
            m = rx.match(text)
            if m:
                return text[m.end():].strip()
        return text.strip()

    def is_bare_heading(self, text: str) -> bool:
        return bool(self.bare_regex.match(self.strip_marker(text)))

    def is_boilerplate(self, text: str) -> bool:
        return bool(self.boilerplate_regex and self.boilerplate_regex.search(text))


@functools.lru_cache(maxsize=4)
def _compile_cues(path: str, digest: str) -> Cues:
    spec = validate(CuesFile, read_yaml(path), path)
    kinds: dict[str, list[str]] = {}
    for kind, lex in spec.cues.items():
        for phrase in lex.chars:
            kinds.setdefault(phrase, []).append(kind)
    phrases = sorted(kinds, key=len, reverse=True)
    char_regex = re.compile("|".join(map(re.escape, phrases))) if phrases else None
    return Cues(
        spec=spec,
        char_regex=char_regex,
        char_kinds={p: tuple(k) for p, k in kinds.items()},
        count_regex=re.compile(spec.count_pattern),
        heading_kind_regex={k: re.compile("|".join(f"(?:{p})" for p in v)) for k, v in spec.heading_kinds.items() if v},
        intro_regex={k: re.compile("|".join(f"(?:{p})" for p in v)) for k, v in spec.paragraph_intro.items() if v},
        level_regex=tuple((h.level, re.compile(h.pattern)) for h in spec.heading_levels),
        bare_regex=re.compile(spec.bare_heading),
        boilerplate_regex=re.compile("|".join(f"(?:{p})" for p in spec.boilerplate)) if spec.boilerplate else None,
        digest=digest,
    )


def load_cues(cfg: Config) -> Cues:
    """The compiled cue file of the configuration (cached per path and content)."""
    path = cfg.resolve(cfg.annotate.cues)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        digest = ""
    return _compile_cues(str(path), digest)


# ---------------------------------------------------------------- spaCy: tokenizer, extensions, matcher

class SegmenterTokenizer:
    """spaCy tokenizer backed by pipeline.segment (rjieba by default, user dictionary loaded).

    Never lets spaCy's own Chinese segmenter (pkuseg) load: no model download at run time.
    """

    def __init__(self, vocab, cut):
        self.vocab = vocab
        self.cut = cut

    def __call__(self, text: str) -> Doc:
        words = [w for w in self.cut(text) if w]
        return Doc(self.vocab, words=words, spaces=[False] * len(words))

    def sentences_doc(self, texts: list[str]) -> tuple[Doc, np.ndarray]:
        """One Doc for a document's sentences joined by newlines, tokens never crossing a sentence
        boundary; returns the Doc and the sentence index of every token (-1 for separators)."""
        words: list[str] = []
        owner: list[int] = []
        starts: list[bool] = []
        for i, text in enumerate(texts):
            if i:
                words.append(SEPARATOR)
                owner.append(-1)
                starts.append(False)
            toks = [w for w in self.cut(text) if w] or [text or " "]
            words.extend(toks)
            owner.extend([i] * len(toks))
            starts.extend([True] + [False] * (len(toks) - 1))
        doc = Doc(self.vocab, words=words, spaces=[False] * len(words), sent_starts=starts)
        return doc, np.asarray(owner, dtype=np.int64)


def _register_extensions() -> None:
    for name, default in (("type", None), ("type_score", None), ("cues", None), ("method", None)):
        if not Span.has_extension(name):
            Span.set_extension(name, default=default)
    if not Doc.has_extension("sections"):
        Doc.set_extension("sections", default=None)


@functools.lru_cache(maxsize=4)
def build_nlp(tokenizer: str, userdict: str, cue_path: str, cue_digest: str):
    """spacy.blank('zh') with the segmenter tokenizer and a PhraseMatcher of the token cues."""
    _register_extensions()
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "char"}}})
    # lexical attributes (like_num, shape...) are unused here and cost a third of Doc creation
    nlp.vocab.lex_attr_getters = {}
    nlp.tokenizer = SegmenterTokenizer(nlp.vocab, get_cutter(tokenizer, userdict))
    cues = _compile_cues(cue_path, cue_digest)
    matcher = PhraseMatcher(nlp.vocab, attr="ORTH")
    for kind, lex in cues.spec.cues.items():
        if lex.tokens:
            matcher.add(kind, [Doc(nlp.vocab, words=[w]) for w in lex.tokens])
    return nlp, matcher


# ---------------------------------------------------------------- features

@functools.lru_cache(maxsize=100_000)
def name_key(name: str) -> int:
    """Stable 63-bit key of a named feature (top bit set: never equal to a character n-gram key)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little") | (1 << 63)


@dataclass
class DocFeatures:
    """Features of one document's sentences, before the vocabulary lookup.

    rows/keys/vals: one entry per (sentence, feature key); `block` is 0 for n-grams (normalised per
    sentence) and 1 for indicator features. section/prev/next/heading describe the context for the
    model's second, contextual stage.
    """

    n: int
    rows: np.ndarray
    keys: np.ndarray
    block: np.ndarray
    section: np.ndarray
    heading_row: np.ndarray
    cues: list[list[str]] = field(default_factory=list)
    rule: list[str | None] = field(default_factory=list)
    near_kind: list[str | None] = field(default_factory=list)


def _char_ngram_keys(text: str, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact keys of character 1-3 grams that stay inside one sentence (unigram < 2^21 <= bigram <
    2^42 <= trigram < 2^63: no collisions, no Python loop)."""
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    keep = owner >= 0
    rows, keys = [owner[keep]], [cp[keep]]
    for n in (2, 3):
        if len(cp) < n:
            continue
        same = owner[: len(cp) - n + 1] >= 0
        for j in range(1, n):
            same &= owner[: len(cp) - n + 1] == owner[j: len(cp) - n + 1 + j]
        key = cp[: len(cp) - n + 1].copy()
        for j in range(1, n):
            key = (key << np.uint64(21)) | cp[j: len(cp) - n + 1 + j]
        rows.append(owner[: len(cp) - n + 1][same])
        keys.append(key[same])
    return np.concatenate(rows), np.concatenate(keys)


def _bin(value: float, edges: tuple[float, ...]) -> int:
    return bisect.bisect_right(edges, value)


class Featurizer:
    """Turns one document's sentence rows and section rows into DocFeatures (shared by training and
    annotation so the model sees the same features in both)."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.cues = load_cues(cfg)
        ann = cfg.annotate
        self.nlp, self.matcher = build_nlp(
            ann.tokenizer, str(cfg.resolve(ann.userdict)), str(cfg.resolve(ann.cues)), self.cues.digest
        )
        self.tokenizer: SegmenterTokenizer = self.nlp.tokenizer
        cue_words = {w for lex in self.cues.spec.cues.values() for w in lex.tokens + lex.chars}
        stops = set(stopwords(str(cfg.resolve(ann.stopwords)))) - cue_words
        strings = self.nlp.vocab.strings
        self.stop_hashes = np.array(sorted({strings.add(w) for w in stops | {SEPARATOR, " "}}), dtype=np.uint64)
        self.match_kind = {strings.add(k): k for k in self.cues.spec.cues}

    # -- context from sections
    def _section_info(self, sections: list[dict]) -> dict[int, dict]:
        by_id = {s["section_id"]: s for s in sections}
        info: dict[int, dict] = {}

        def chain(sid):
            out, seen = [], set()
            while sid is not None and sid in by_id and sid not in seen:
                seen.add(sid)
                out.append(by_id[sid])
                sid = by_id[sid].get("parent_id")
            return out

        for sid in by_id:
            kinds = []
            for depth, sec in enumerate(chain(sid)):
                if (sec.get("level") or 0) > self.cues.spec.heading_kind_max_level:
                    continue
                for kind, phrase in self.cues.heading_kinds(sec.get("heading") or ""):
                    kinds.append((depth, kind, phrase))
            info[sid] = {"kinds": kinds, "level": by_id[sid].get("level") or 0, "parent": by_id[sid].get("parent_id")}
        return info

    def features(self, sentences: list[dict], sections: list[dict]) -> tuple[DocFeatures, Doc]:
        texts = [s.get("text") or "" for s in sentences]
        n = len(texts)
        doc, tok_owner = self.tokenizer.sentences_doc(texts)
        doc._.sections = sections
        joined = SEPARATOR.join(texts)
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
        starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]) if n else np.zeros(0, np.int64)
        char_owner = np.full(len(joined), -1, dtype=np.int64)
        for i in range(n):
            char_owner[starts[i]: starts[i] + lengths[i]] = i

        # word uni/bigrams without stopwords
        orth = doc.to_array([ORTH]).astype(np.uint64).ravel()
        content = ~np.isin(orth, self.stop_hashes) & (tok_owner >= 0)
        w_rows, w_orth = tok_owner[content], orth[content]
        uni = (w_orth >> np.uint64(1)) | _TOP
        same = w_rows[:-1] == w_rows[1:]
        bi = (((w_orth[:-1] * _MIX) ^ (w_orth[1:] + _SALT)) >> np.uint64(1)) | _TOP
        c_rows, c_keys = _char_ngram_keys(joined, char_owner)
        gram_rows = np.concatenate([w_rows, w_rows[:-1][same], c_rows])
        gram_keys = np.concatenate([uni, bi[same], c_keys])

        cue_lists: list[list[str]] = [[] for _ in range(n)]
        if self.cues.char_regex is not None:
            for m in self.cues.char_regex.finditer(joined):
                i = char_owner[m.start()]
                if i >= 0:
                    for kind in self.cues.char_kinds[m.group(0)]:
                        cue_lists[i].append(f"{kind}:{m.group(0)}")
        for match_id, s, e in self.matcher(doc):
            i = tok_owner[s]
            if i >= 0:
                cue_lists[i].append(f"{self.match_kind[match_id]}:{doc[s:e].text}")
        counts = [[] for _ in range(n)]
        for m in self.cues.count_regex.finditer(joined):
            i = char_owner[m.start()]
            if i >= 0:
                counts[i].append(m.group(0))

        info = self._section_info(sections)
        sec_ids = [s.get("section_id") for s in sentences]
        sec_index = {sid: k for k, sid in enumerate(dict.fromkeys(sec_ids))}
        section = np.array([sec_index[s] for s in sec_ids], dtype=np.int64)
        heading_row = np.full(n, -1, dtype=np.int64)
        first_heading: dict = {}
        for i, s in enumerate(sentences):
            if s.get("is_heading") and s.get("section_id") not in first_heading:
                first_heading[s.get("section_id")] = i
        pos_in_sec = np.zeros(n)
        sec_sizes = np.bincount(section, minlength=len(sec_index)) if n else np.zeros(0)
        seen_in_sec = np.zeros(len(sec_index), dtype=np.int64)
        intro: dict = {}  # para_id -> (kind, phrase) of the paragraph's list introduction so far
        meta_rows: list[int] = []
        meta_keys: list[int] = []
        rules: list[str | None] = []
        near: list[str | None] = []
        out_cues: list[list[str]] = []
        for i, s in enumerate(sentences):
            text = texts[i]
            k = section[i]
            pos_in_sec[i] = seen_in_sec[k] / max(sec_sizes[k] - 1, 1)
            seen_in_sec[k] += 1
            sid = s.get("section_id")
            is_heading = bool(s.get("is_heading"))
            heading_row[i] = first_heading.get(sid, -1) if not is_heading else -1
            sec = info.get(sid, {"kinds": [], "level": 0, "parent": None})
            kinds = sec["kinds"]
            if is_heading:  # the context of a heading is the section around it, not its own
                kinds = [(d - 1, kd, p) for d, kd, p in kinds if d > 0]
            para = s.get("para_id")
            for kind, rx in self.cues.intro_regex.items():
                m = rx.search(text)
                if m and not is_heading and para is not None:
                    intro[para] = (kind, m.group(0))
            if para in intro:
                kinds = [(-1, intro[para][0], intro[para][1])] + kinds
            names = [f"len:{_bin(len(text), (8, 15, 25, 40, 70, 120))}",
                     f"pos_doc:{_bin(i / max(n - 1, 1), (0.1, 0.3, 0.5, 0.7, 0.9))}",
                     f"pos_sec:{_bin(pos_in_sec[i], (0.01, 0.3, 0.7))}",
                     f"level:{sec['level'] if is_heading else 'body'}"]
            if is_heading:
                names.append("is_heading")
            ev = cue_lists[i]
            present = {c.split(":", 1)[0] for c in ev}
            for c in ev:
                names.append(f"cue:{c}")
            for kind in CUE_TYPES:
                cnt = sum(1 for c in ev if c.startswith(kind + ":"))
                names.append(f"cuen:{kind}:{min(cnt, 3)}")
            if counts[i]:
                names.append(f"counts:{min(len(counts[i]), 3)}")
                ev = ev + [f"experience:count:{c}" for c in counts[i][:5]]
            if re.search(r"(19|20)\d\d年", text):
                names.append("year")
            seen_kinds = set()
            for depth, kind, phrase in kinds:
                names.append(f"hk:{kind}")
                if kind not in seen_kinds:
                    if not seen_kinds:
                        names.append(f"hk_near:{kind}")
                        ev = ev + [f"heading:{kind}:{phrase}"]
                    seen_kinds.add(kind)
                if is_heading:
                    names.append(f"hk_h:{kind}")
                for ck in present:
                    names.append(f"hk_x:{kind}:{ck}")
            near.append(kinds[0][1] if kinds else None)
            if kinds:
                names.append(f"hk_top:{kinds[-1][1]}")
            else:
                names.append("hk:none")
            own = self.cues.heading_kinds(text) if is_heading or len(text) <= self.cues.spec.heading_max_chars else []
            for kind, _ in own:
                names.append(f"own_hk:{kind}:{'h' if is_heading else 's'}")
            rule = None
            if self.cues.is_boilerplate(text):
                rule = "boilerplate"
            elif is_heading and self.cues.is_bare_heading(text):
                rule = "bare_heading"
            if rule:
                names.append(f"rule:{rule}")
            rules.append(rule)
            out_cues.append(ev)
            meta_rows.extend([i] * len(names))
            meta_keys.extend(name_key(x) for x in names)

        rows = np.concatenate([gram_rows, np.asarray(meta_rows, dtype=np.int64)])
        keys = np.concatenate([gram_keys, np.asarray(meta_keys, dtype=np.uint64)])
        block = np.concatenate([np.zeros(len(gram_rows), np.int8), np.ones(len(meta_rows), np.int8)])
        feats = DocFeatures(n=n, rows=rows, keys=keys, block=block, section=section,
                            heading_row=heading_row, cues=out_cues, rule=rules, near_kind=near)
        return feats, doc


# ---------------------------------------------------------------- the annotator

class Annotator:
    """Tags the sentences of one document at a time; the model is trained or loaded once per process."""

    def __init__(self, cfg: Config, model=None):
        from pipeline import tagger

        self.cfg = cfg
        self.featurizer = Featurizer(cfg)
        self.model = model if model is not None else tagger.load_or_train(cfg, featurizer=self.featurizer)
        self.rule_score = cfg.annotate.rule_score

    def annotate_doc(self, sentences: list[dict], sections: list[dict]) -> Doc:
        """Tag in place and return the spaCy Doc with Span._.type / ._.type_score / ._.cues set."""
        from pipeline.tagger import heading_prior

        feats, doc = self.featurizer.features(sentences, sections)
        proba = self.model.predict_proba_doc(feats) if feats.n else np.zeros((0, len(TYPES)))
        classes = list(self.model.classes_)
        proba = heading_prior(proba, classes, feats.near_kind, self.cfg.annotate.heading_boost)
        other = classes.index("other")
        best = proba.argmax(axis=1) if feats.n else np.zeros(0, dtype=int)
        for i, (s, span) in enumerate(zip(sentences, doc.sents)):
            model_type = classes[best[i]]
            if feats.rule[i]:
                chosen, score = "other", max(float(proba[i, other]), self.rule_score)
                method = "both" if model_type == "other" else "rule"
            else:
                chosen, score, method = model_type, float(proba[i, best[i]]), "model"
            cues = feats.cues[i] + ([f"rule:{feats.rule[i]}"] if feats.rule[i] else [])
            s.update(type=chosen, type_score=round(score, 4), cues=cues, method=method)
            span._.type, span._.type_score, span._.cues, span._.method = chosen, score, cues, method
        return doc

    def annotate(self, sentences: list[dict], sections: list[dict]) -> None:
        """Fill type, type_score, cues and method of one document's sentence rows in place."""
        if sentences:
            self.annotate_doc(sentences, sections)
