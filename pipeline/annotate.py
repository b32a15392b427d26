"""Sentence tagging: problem / measure / experience / other, with a score and the evidence.

All cue phrases of configs/cues.yaml sit in ONE Aho-Corasick automaton (CueMatcher) run once over a
document's sentences joined by newlines: `chars` cues count anywhere (不足 in 动力不足), `tokens` cues only
on token boundaries of the rjieba segmenter (要 as a word, never inside 重要). Features (character n-grams,
cue indicators and counts, the kinds of the enclosing section headings, position, length) are built with
numpy over arrays of matches and sentence offsets and scored by the linear model of pipeline/tagger.py in
one sparse product per document; strong rules (web chrome, a bare heading such as 二、存在的问题) override
it, and `method` records who decided.

spaCy stays the document model: `annotate_doc` builds a Doc from the rjieba tokens with the given sentence
starts (never re-detected), runs the `zhili_cues` component (the same CueMatcher, its matches in
doc.spans['cues']; pipeline/spacy_pipeline.py) and sets Span._.type / ._.type_score / ._.cues / ._.method on
each sentence. The batch path `annotate` skips the Doc (and never imports spaCy): token cues need only the
boundaries of the character runs around their candidates (jieba segments each run on its own, so the
boundaries are the same), and the sentence vectors segment every NFKC sentence once, into the process's
token memo that theme matching reads next. bench/annotate_speed.py measured 1.6-1.8 MB/s in one process
(README, Quality: the segmenter alone runs at about 10 MB/s).
"""
from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from itertools import compress
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field, field_validator
from ahocorasick_rs import AhoCorasick, MatchKind

from pipeline.config import (Config, GenreConfig, StatuteConfig, Strict, read_yaml, regex_fields, union_regex, validate,
                             year_regex)
from pipeline.numerals import cn_number, plan_end_year
from pipeline.keyindex import MIX, KeyIndex
from pipeline.regex_literals import scanning
from pipeline.segment import TOKENS, cut_many, get_cutter, stopwords
from pipeline.vectors import WordVectors

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

TYPES = ("problem", "measure", "experience", "other")
CUE_TYPES = TYPES[:3]
#: the type a rule sets other than other (boilerplate, citation, bare_heading, statute_part: other)
RULE_TYPES = {"statute_duty": "measure", "statute_item": "measure", "target": "measure", "commitment": "measure"}


def rule_type(rule: str) -> str:
    """The type a rule (DocFeatures.rule) gives its sentence, at run time and in cross-validation."""
    return RULE_TYPES.get(rule, "other")
SEPARATOR = "\n"
_TOP = np.uint64(1 << 63)
_SALT = np.uint64(0x632BE59BD9B4E019)


# ---------------------------------------------------------------- configuration (configs/cues.yaml)

class CueLexicon(Strict):
    chars: list[str] = Field(default_factory=list, description="matched on characters, also inside tokens")
    tokens: list[str] = Field(default_factory=list, description="matched only as whole tokens")


class HeadingLevel(Strict):
    level: int
    pattern: str

    _v = regex_fields("pattern")


class CuesFile(Strict):
    cues: dict[str, CueLexicon]
    count_pattern: str
    heading_kinds: dict[str, list[str]]
    heading_levels: list[HeadingLevel]
    heading_max_chars: int = 40
    heading_kind_max_level: int = 4
    heading_year: str | None = Field(
        None, description="regex with a group 'year': a part heading framing one year's work (2024年主要工作)")
    heading_year_max_level: int = Field(1, ge=1, description="headings up to this level are parts framing a year")
    heading_year_generic: list[str] = Field(
        default_factory=list, description="heading-kind phrases that do not say whether a part reviews or plans")
    heading_kind_exclude: dict[str, list[str]] = Field(
        default_factory=dict, description="per kind, regexes of headings that do not get it (关于…问题: a topic)")
    paragraph_intro: dict[str, list[str]] = Field(default_factory=dict)
    paragraph_intro_end: list[str] = Field(
        default_factory=list, description="regexes (matched at the start) of a sentence that closes an introduced "
        "list (对此，我们将…, 因此…): it and the sentences after it are outside the introduction's reach")
    paragraph_intro_commitment: list[str] = Field(
        default_factory=list, description="regexes (matched at the start) of a closing sentence that commits to "
        "solving what the list named (对此，我们将…加以解决): a measure by rule (rule:commitment)")
    paragraph_intro_max_sentences: int = Field(
        12, ge=1, description="an introduction reaches at most this many sentences after it (a text without "
        "paragraph breaks is one paragraph)")
    bare_heading: str
    boilerplate: list[str] = Field(default_factory=list)
    boilerplate_max_chars: int = Field(60, ge=1, description="longer sentences are never web chrome")
    citation: list[str] = Field(default_factory=list, description="regexes of an entry of a reference list or a "
                                "note citing a work (other by rule: its title's words are not the writer's)")
    citation_max_chars: int = Field(200, ge=1, description="longer sentences are never a citation alone")

    _v = regex_fields("boilerplate", "citation", "heading_year_generic", "paragraph_intro_end",
                      "paragraph_intro_commitment", "heading_kinds", "heading_kind_exclude", "paragraph_intro",
                      "count_pattern", "bare_heading")

    @field_validator("cues", "heading_kinds", "heading_kind_exclude", "paragraph_intro")
    @classmethod
    def _known_types(cls, v: dict) -> dict:
        unknown = set(v) - set(TYPES)
        if unknown:
            raise ValueError(f"unknown type(s) {sorted(unknown)}: use {', '.join(TYPES)}")
        return v

    _y = field_validator("heading_year")(classmethod(lambda cls, v: year_regex(v)))


@dataclass(frozen=True, eq=False)
class Cues:
    """configs/cues.yaml compiled once per process."""

    spec: CuesFile
    char_regex: re.Pattern | None
    char_kinds: dict[str, tuple[str, ...]]
    count_regex: re.Pattern
    heading_kind_regex: dict[str, re.Pattern]
    kind_exclude_regex: dict[str, re.Pattern]
    intro_regex: dict[str, re.Pattern]
    intro_end_regex: re.Pattern | None
    commitment_regex: re.Pattern | None
    level_regex: tuple[tuple[int, re.Pattern], ...]
    bare_regex: re.Pattern
    boilerplate_regex: re.Pattern | None
    year_regex: re.Pattern | None = None
    generic_regex: re.Pattern = re.compile("(?!)")
    digest: str = ""

    @functools.lru_cache(maxsize=65536)
    def heading_kinds(self, heading: str) -> list[tuple[str, str]]:
        """(kind, matched phrase) for each kind whose pattern occurs in a heading, the kind matched last
        first (the head noun of a Chinese heading comes last: 2023年工作回顾 is a review)."""
        found = []
        body = self.strip_marker(heading) if self.kind_exclude_regex else heading
        for kind, rx in self.heading_kind_regex.items():
            if self.excludes(kind, body):
                continue
            last = None
            for last in rx.finditer(heading):
                pass
            if last:
                found.append((last.end(), last.start(), kind, last.group(0)))
        return [(kind, phrase) for _, _, kind, phrase in sorted(found, reverse=True)]

    def excludes(self, kind: str, body: str) -> bool:
        """Whether heading_kind_exclude denies a heading this kind (关于工资问题 names a topic, not a problem);
        body: the heading without its list marker (strip_marker), so the patterns need not describe markers."""
        rx = self.kind_exclude_regex.get(kind)
        return rx is not None and rx.search(body) is not None

    def year_kinds(self, sections: list[dict]) -> dict[int, tuple[str, str]]:
        """(kind, phrase) of each part heading that frames a year in generic words, when a document's parts
        frame two years or more: the latest year's part is a plan (measure), an earlier one a review
        (experience).

        Generic words do not tell them apart: a 2024 report's 二、2024年主要工作 is its plan, though 主要工作
        names a review elsewhere (一、2023年主要工作); the years relative to each other do. A heading whose
        words name another kind (二、2023年工作成效 after 一、2022年基本情况) keeps it."""
        if self.year_regex is None:
            return {}
        years = {}
        for sec in sections:
            if 0 < (sec.get("level") or 0) <= self.spec.heading_year_max_level:
                m = self.year_regex.match(self.strip_marker(sec.get("heading") or ""))
                if m:
                    years[sec["section_id"]] = (int(m.group("year")), sec.get("heading") or "")
        if len({y for y, _ in years.values()}) < 2:
            return {}
        latest = max(y for y, _ in years.values())
        out = {}
        for sid, (year, heading) in years.items():
            kind = "measure" if year == latest else "experience"
            if all(k == kind for k, _ in self._named_kinds(heading)):
                out[sid] = (kind, f"{year}年")
        return out

    def _named_kinds(self, heading: str) -> list[tuple[str, str]]:
        """heading_kinds() but those of generic words (heading_year_generic: 2024年工作, 主要工作)."""
        return [(k, p) for k, p in self.heading_kinds(heading) if not self.generic_regex.fullmatch(p)]

    def part_kinds(self, heading: str, year_kind: tuple[str, str] | None) -> list[tuple[str, str]]:
        """The kinds a section heading gives: heading_kinds(), or for a part a year frames (year_kinds) the
        year's kind in place of its generic words' (二、2024年工作目标和主要任务 is a plan, not a review too)."""
        return self.heading_kinds(heading) if year_kind is None else [year_kind, *self._named_kinds(heading)]

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

    def list_reach(self, i: int, texts: list[str], paras: list, headings: list[bool]) -> tuple[int, bool]:
        """End (exclusive) of the list that a paragraph introduction at sentence i introduces, and whether
        the sentence at that end closes it committing to solve it. The list ends with its paragraph, at a
        heading, after paragraph_intro_max_sentences, and at a sentence that closes it (对此，我们将…:
        paragraph_intro_end; a commitment if paragraph_intro_commitment matches it too). Shared by the
        tagger's contexts and the weak labeller."""
        last = min(len(texts), i + 1 + self.spec.paragraph_intro_max_sentences)
        for j in range(i + 1, last):
            if paras[j] != paras[i] or headings[j]:
                return j, False
            if self.intro_end_regex is not None and self.intro_end_regex.match(texts[j]):
                return j, bool(self.commitment_regex is not None and self.commitment_regex.match(texts[j]))
        return last, False


@functools.lru_cache(maxsize=4)
def compile_cues(path: str, digest: str) -> Cues:
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
        count_regex=scanning(re.compile(spec.count_pattern)),
        heading_kind_regex={k: union_regex(v) for k, v in spec.heading_kinds.items() if v},
        kind_exclude_regex={k: union_regex(v) for k, v in spec.heading_kind_exclude.items() if v},
        intro_regex={k: scanning(union_regex(v)) for k, v in spec.paragraph_intro.items() if v},
        intro_end_regex=union_regex(spec.paragraph_intro_end),
        commitment_regex=union_regex(spec.paragraph_intro_commitment),
        level_regex=tuple((h.level, re.compile(h.pattern)) for h in spec.heading_levels),
        bare_regex=re.compile(spec.bare_heading),
        boilerplate_regex=union_regex(spec.boilerplate),
        year_regex=re.compile(spec.heading_year) if spec.heading_year else None,
        generic_regex=union_regex(spec.heading_year_generic) or re.compile("(?!)"),
        digest=digest,
    )


def load_cues(cfg: Config) -> Cues:
    """The compiled cue file of the configuration (cached per path and content)."""
    path = cfg.resolve(cfg.annotate.cues)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        digest = ""
    return compile_cues(str(path), digest)


# ---------------------------------------------------------------- cue matching: one automaton

class CueMatcher:
    """Every cue phrase of configs/cues.yaml in ONE Aho-Corasick automaton, run once over a document.

    `chars` cues count anywhere (不足 inside 动力不足); `tokens` cues only when the match starts and ends
    on a token boundary of the segmenter (要 as a word, never inside 重要). The batch featurizer and the
    spaCy component `zhili_cues` both call `match`, so the two paths cannot disagree.
    """

    def __init__(self, cues: Cues):
        entries: dict[str, dict[str, bool]] = {}
        for kind, lex in cues.spec.cues.items():
            for phrase in lex.chars:
                entries.setdefault(phrase, {})[kind] = False
            for phrase in lex.tokens:
                entries.setdefault(phrase, {}).setdefault(kind, True)
        self.phrases = sorted(entries)
        self.automaton = AhoCorasick(self.phrases, matchkind=MatchKind.Standard) if self.phrases else None
        pairs = [(pid, kind, aligned) for pid, p in enumerate(self.phrases) for kind, aligned in entries[p].items()]
        self.pair_kind = np.array([CUE_TYPES.index(k) for _, k, _ in pairs], dtype=np.int64)
        self.pair_aligned = np.array([a for _, _, a in pairs], dtype=bool)
        self.pair_label = [f"{k}:{self.phrases[pid]}" for pid, k, _ in pairs]
        counts = np.bincount([pid for pid, _, _ in pairs], minlength=len(self.phrases))
        self.pair_count = counts.astype(np.int64)
        self.pair_first = (np.cumsum(counts) - counts).astype(np.int64)

    def match(self, text: str, bound) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start, end, pair index) of every cue occurrence. `bound` is a boolean array, True where a
        token starts (and at len(text)), or a function giving it from the (start, end) of the
        occurrences that need token boundaries. A phrase of several kinds yields one row per kind."""
        empty = np.zeros(0, np.int64)
        if self.automaton is None or not text:
            return empty, empty, empty
        found = self.automaton.find_matches_as_indexes(text, overlapping=True)
        if not found:
            return empty, empty, empty
        m = np.asarray(found, dtype=np.int64).reshape(-1, 3)
        pid, start, end = m[:, 0], m[:, 1], m[:, 2]
        counts = self.pair_count[pid]
        rep = np.repeat(np.arange(len(m)), counts)
        within = np.arange(len(rep)) - np.repeat(np.cumsum(counts) - counts, counts)
        pair = self.pair_first[pid[rep]] + within
        start, end = start[rep], end[rep]
        need = self.pair_aligned[pair]
        if callable(bound):
            bound = bound(start[need], end[need])
        keep = ~need | (bound[start] & bound[end])
        return start[keep], end[keep], pair[keep]


@functools.lru_cache(maxsize=4)
def cue_matcher(cues: Cues) -> CueMatcher:
    return CueMatcher(cues)


# ---------------------------------------------------------------- features

def is_statute(texts: list[str], spec: StatuteConfig) -> bool:
    """Whether sentences (or lines) are a statute's: at least spec.min_articles of them start an article
    (第N条). Only texts with 第 near their start are matched, so this costs little on other genres."""
    rx = re.compile(spec.article)  # re keeps compiled patterns
    found = 0
    for t in texts:
        if "第" in t[:4] and rx.match(t):
            found += 1
            if found >= spec.min_articles:
                return True
    return False


def is_announced(texts: list[str], spec: GenreConfig) -> bool:
    """Whether a document announces a genre (annotate.plan, annotate.summary): one of its first spec.within
    sentences holds the formula (制定本方案, 提出如下意见：, 现将…总结如下：) or is a title naming it."""
    head = texts[: spec.within]
    if spec.announce and any(re.search(spec.announce, t) for t in head):  # re keeps compiled patterns
        return True
    return bool(spec.title) and any(re.match(spec.title, t.strip()) for t in head)


def says_nothing_done(texts: list[str], counted: np.ndarray, spec: GenreConfig) -> bool:
    """Whether a document of spec.done_min_sentences sentences or more reports at most spec.done_max_share
    of them as done: with a count (counted: the sentences the cues' count_pattern found in, 20个) or a word of
    spec.done (了, 已, 累计). A work plan that announces itself nowhere (its items, 组织开展…主题宣传活动, read
    as practices carried out); a work report's review alone exceeds the share."""
    if not spec.done or len(texts) < spec.done_min_sentences:
        return False
    allowed = int(spec.done_max_share * len(texts))
    found = int(np.count_nonzero(counted))
    done = re.compile(spec.done)  # re's cache: compiled once per process
    for text in compress(texts, ~counted):
        if found > allowed:
            break
        found += done.search(text) is not None
    return found <= allowed


def target_year(m: re.Match) -> int:
    """The year a match of annotate.target.pattern sets its target for: its 'year' group (2025, 二〇二五),
    else the last year of the five-year plan its 'plan' group numbers (十四 of 到“十四五”末: 2025)."""
    found = m.groupdict()
    if found.get("year"):
        return cn_number(found["year"]) or 0
    return plan_end_year(cn_number(found.get("plan") or "") or 0)


@functools.lru_cache(maxsize=200_000)
def name_key(name: str) -> int:
    """Stable 63-bit key of a named feature (top bit set: never equal to a character n-gram key)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little") | (1 << 63)


@dataclass
class DocFeatures:
    """Features of one document's sentences, before the vocabulary lookup.

    rows/keys: one entry per (sentence, feature key); `block` is 0 for n-grams (normalised per sentence)
    and 1 for indicator features. section/heading_row describe the context for the model's second stage;
    tokens/sent_token are kept so a spaCy Doc can be built without segmenting again.
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
    genre: str | None = None  # 'statute' (annotate.statute), 'plan', 'summary' (annotate.plan, .summary)
    genre_prior: dict[str, float] = field(default_factory=dict)  # a plan's or summary's type prior
    target: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # sets a dated target (annotate.target)
    tokens: list[str] = field(default_factory=list)
    token_starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    sentence_starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    dense: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # sentence vectors


def _char_ngram_keys(cp: np.ndarray, owner: np.ndarray, orders=(1, 2, 3)) -> tuple[np.ndarray, np.ndarray]:
    """Exact keys of character n-grams (n in orders, at most 3) that stay inside one sentence (unigram
    < 2^21 <= bigram < 2^42 <= trigram < 2^63: no collisions, no Python loop)."""
    keep = owner >= 0
    rows, keys = ([owner[keep]], [cp[keep]]) if 1 in orders else ([], [])
    for n in (2, 3):
        if len(cp) < n or n not in orders:
            continue
        m = len(cp) - n + 1
        same = owner[:m] >= 0
        for j in range(1, n):
            same &= owner[:m] == owner[j: m + j]
        key = cp[:m].copy()
        for j in range(1, n):
            key = (key << np.uint64(21)) | cp[j: m + j]
        rows.append(owner[:m][same])
        keys.append(key[same])
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.uint64)
    return np.concatenate(rows), np.concatenate(keys)


class _PolyHash:
    """Polynomial hash of any substring in O(1) after one cumulative sum (P odd, so invertible mod 2^64):
    word n-gram keys for all tokens of a document without a Python loop."""

    P = 0x100000001B3

    def __init__(self):
        self.pw = np.ones(1, np.uint64)
        self.ipw = np.ones(1, np.uint64)

    def _grow(self, n: int) -> None:
        if len(self.pw) > n:
            return
        size = max(n + 1, 2 * len(self.pw))
        inv = pow(self.P, -1, 1 << 64)
        with np.errstate(over="ignore"):
            for name, base in (("pw", self.P), ("ipw", inv)):
                steps = np.full(size, base, dtype=np.uint64)
                steps[0] = 1
                setattr(self, name, np.cumprod(steps, dtype=np.uint64))

    def spans(self, cp: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        self._grow(len(cp))
        with np.errstate(over="ignore"):
            acc = np.concatenate([[np.uint64(0)], np.cumsum(cp * self.pw[: len(cp)], dtype=np.uint64)])
            return (acc[ends] - acc[starts]) * self.ipw[starts]

    def word(self, text: str) -> int:
        cp = _codepoints(text)
        return int(self.spans(cp, np.zeros(1, np.int64), np.array([len(cp)]))[0]) if len(cp) else 0


_RUN_ASCII = np.zeros(128, dtype=bool)
_RUN_ASCII[[ord(c) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+#&._%-"]] = True


def _run_char(cp: np.ndarray) -> np.ndarray:
    """Characters that may belong to one segmentation run of jieba/rjieba (a superset of their RE_HAN:
    CJK ideographs, letters, digits, +#&._%-)."""
    ascii_ok = _RUN_ASCII[np.minimum(cp, 127).astype(np.int64)] & (cp < 128)
    return (ascii_ok | ((cp >= 0x3400) & (cp <= 0x9FFF)) | ((cp >= 0xF900) & (cp <= 0xFAFF))
            | ((cp >= 0x20000) & (cp <= 0x2FA1F)))


def _token_offsets(toks: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of consecutive tokens in the text they tile."""
    lens = np.fromiter(map(len, toks), dtype=np.int64, count=len(toks))
    ends = np.cumsum(lens)
    return ends - lens, ends


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def _top_key(h: np.ndarray) -> np.ndarray:
    return (h >> np.uint64(1)) | _TOP


LEN_EDGES = np.array([8, 15, 25, 40, 70, 120])
POS_EDGES = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
SEC_EDGES = np.array([0.01, 0.3, 0.7])
SHARE_EDGES = np.array([0.05, 0.15, 0.3, 0.45, 0.6])


def _keys(fmt: str, values) -> np.ndarray:
    return np.array([name_key(fmt.format(v)) for v in values], dtype=np.uint64)


class Featurizer:
    """Turns one document's sentence rows and section rows into DocFeatures (shared by training and
    annotation so the model sees the same features in both).

    The whole document is segmented in one rjieba call and cue-matched in one automaton pass over the
    sentences joined by newlines; every feature is then built with numpy over arrays of matches, tokens
    and sentence offsets, so the cost per sentence is a few array elements, not Python statements.
    """

    def __init__(self, cfg: Config):
        self._context_memo: dict[tuple, tuple[list[int], str | None, str | None]] = {}
        self.cfg = cfg
        self.cues = load_cues(cfg)
        ann = cfg.annotate
        self.cut = get_cutter(ann.tokenizer, str(cfg.resolve(ann.userdict)))
        self.hash = _PolyHash()
        self.vectors = WordVectors.load(cfg.resolve(ann.vectors)) if ann.vectors else None
        if self.vectors is not None:  # the vocabulary's hashes, sorted: tokens find their word id in numpy
            h = self._hashes(self.vectors.words)
            order = np.argsort(h)
            self.vector_index, self.vector_id = KeyIndex(h[order]), order
        self.matcher = cue_matcher(self.cues)
        cue_words = {w for lex in self.cues.spec.cues.values() for w in lex.tokens + lex.chars}
        stops = set(stopwords(str(cfg.resolve(ann.stopwords)))) - cue_words
        stops |= {SEPARATOR, " ", "\u3000", "\t", "\r"}
        self.stop_hashes = np.unique(np.array([self.hash.word(w) for w in stops], dtype=np.uint64))
        self.groups = set(ann.features)
        self.char_orders = tuple(sorted(set(ann.char_ngrams)))
        k = CUE_TYPES
        self.k_len = _keys("len:{}", range(len(LEN_EDGES) + 1))
        self.k_pos = _keys("pos_doc:{}", range(len(POS_EDGES) + 1))
        self.k_sec = _keys("pos_sec:{}", range(len(SEC_EDGES) + 1))
        self.k_cue = np.array([name_key(f"cue:{label}") for label in self.matcher.pair_label], dtype=np.uint64)
        self.k_cuen = np.array([[name_key(f"cuen:{t}:{c}") for c in range(4)] for t in k], dtype=np.uint64)
        self.k_counts = _keys("counts:{}", range(4))
        self.k_year, self.k_heading, self.k_body = name_key("year"), name_key("is_heading"), name_key("level:body")
        self.k_hkx = np.array([[name_key(f"hk_x:{h}:{c}") for c in k] for h in TYPES], dtype=np.uint64)
        self.k_prev = np.array([name_key(f"prev:{t}") for t in k], dtype=np.uint64)
        self.k_next = np.array([name_key(f"next:{t}") for t in k], dtype=np.uint64)
        self.k_doc = np.array([[name_key(f"doc:{t}:{b}") for b in range(len(SHARE_EDGES) + 1)] for t in k], dtype=np.uint64)
        self.k_doc_top = _keys("doc_top:{}", k)
        self.k_secshare = np.array([[name_key(f"sec:{t}:{b}") for b in range(len(SHARE_EDGES) + 1)] for t in k], dtype=np.uint64)
        self.year_regex = scanning(re.compile(r"(?:19|20)\d\d年"))
        target = cfg.annotate.target
        self.target_regex = re.compile(target.pattern, re.M) if target.pattern else None
        self.not_target_regex = re.compile(target.exclude)
        kinds = list(self.cues.heading_kind_regex)
        # all heading kinds in one multiline regex, a named group per kind: one pass finds them all
        self.own_kind_regex = re.compile("|".join(f"(?P<{k}>{rx.pattern})" for k, rx in self.cues.heading_kind_regex.items()),
                                         re.M) if kinds else None
        self.k_own = {k: name_key(f"own_hk:{k}:h") for k in kinds}
        # chrome patterns anchored at the sentence start are tried there only (re.match per short sentence);
        # the others scan the short sentences joined: scanning every position is what costs
        anchored = [p for p in self.cues.spec.boilerplate if p.startswith("^")]
        floating = [p for p in self.cues.spec.boilerplate if not p.startswith("^")]
        self.boiler_start = union_regex(anchored)
        self.boiler_any = scanning(union_regex(floating, re.M))
        self.citation = scanning(union_regex(self.cues.spec.citation, re.M))

    @functools.cached_property
    def nlp(self) -> Language:
        """The spaCy pipeline (this segmenter as tokenizer, the zhili_cues component), built on first use:
        the batch path never builds a Doc."""
        from pipeline.spacy_pipeline import build_nlp

        ann = self.cfg.annotate
        return build_nlp(ann.tokenizer, str(self.cfg.resolve(ann.userdict)), str(self.cfg.resolve(ann.cues)),
                         self.cues.digest)

    # -- context from sections
    def _section_info(self, sections: list[dict]) -> dict:
        by_id = {s["section_id"]: s for s in sections}
        year_kinds = self.cues.year_kinds(sections)
        info: dict = {}

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
                for kind, phrase in self.cues.part_kinds(sec.get("heading") or "", year_kinds.get(sec["section_id"])):
                    kinds.append((depth, kind, phrase))
            info[sid] = {"kinds": kinds, "level": by_id[sid].get("level") or 0,
                         "heading": by_id[sid].get("heading") or "", "parent": by_id[sid].get("parent_id")}
        return info

    def _context_keys(self, kinds: list, is_heading: bool, heading_text: str) -> tuple[list[int], str | None, str | None]:
        """Keys of a sentence context (its enclosing heading kinds and words), the nearest kind and its
        evidence string; memoised, since documents of one genre share most of their contexts."""
        memo = self._context_memo
        key = (tuple(kinds), is_heading, heading_text)
        if key not in memo:
            if len(memo) > 20_000:
                memo.clear()
            memo[key] = self._compute_context_keys(kinds, is_heading, heading_text)
        return memo[key]

    def _compute_context_keys(self, kinds: list, is_heading: bool,
                              heading_text: str) -> tuple[list[int], str | None, str | None]:
        names = []
        seen: set = set()
        near, evidence = None, None
        for _, kind, phrase in kinds:
            names.append(f"hk:{kind}")
            if not seen:
                names.append(f"hk_near:{kind}")
                near, evidence = kind, f"heading:{kind}:{phrase}"
            seen.add(kind)
            if is_heading:
                names.append(f"hk_h:{kind}")
        names.append(f"hk_top:{kinds[-1][1]}" if kinds else "hk:none")
        if "heading_grams" in self.groups and heading_text:
            body = self.cues.strip_marker(heading_text)
            names.extend(f"hg:{body[j:j + 2]}" for j in range(len(body) - 1))
        return [name_key(x) for x in names], near, evidence

    def _tokens(self, joined: str, owner: np.ndarray, texts: list[str]) -> tuple[list[str], np.ndarray]:
        """Tokens of the joined text and their start offsets; a token never crosses a sentence boundary
        (if the segmenter joined across a separator, the document is cut sentence by sentence instead)."""
        toks = self.cut(joined)
        starts, ends = _token_offsets(toks)
        if len(toks) and not np.array_equal(owner[starts], owner[ends - 1]):
            toks = []
            for i, t in enumerate(texts):
                if i:
                    toks.append(SEPARATOR)
                toks.extend(self.cut(t))
            starts, _ = _token_offsets(toks)
        return toks, starts

    def _local_bounds(self, joined: str, cp: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Token boundaries around the given occurrences, from segmenting only the runs of characters
        that contain them. jieba/rjieba segment each run of CJK/alphanumeric characters on its own (their
        RE_HAN), so a run cut alone gives the same tokens as the whole text; runs are delimited here by
        characters outside a superset of that class, so a run may hold several of theirs, never part."""
        bound = np.zeros(len(joined) + 1, dtype=bool)
        bound[len(joined)] = True
        if not len(starts):
            return bound
        split_at = np.flatnonzero(~_run_char(cp))
        run_start = np.concatenate([[-1], split_at])[np.searchsorted(split_at, starts)] + 1
        run_end = np.append(split_at, len(joined))[np.searchsorted(split_at, ends - 1)]
        runs = sorted(set(zip(run_start.tolist(), run_end.tolist())))
        toks, run_of = cut_many(self.cut, [joined[a:b] for a, b in runs])
        tstart, _ = _token_offsets(toks)  # offsets in the runs laid end to end
        first = np.searchsorted(run_of, run_of)  # the first token of each token's run
        starts_of_runs = np.array([a for a, _ in runs], dtype=np.int64)
        bound[starts_of_runs[run_of] + tstart - tstart[first]] = True
        bound[[b for _, b in runs]] = True
        return bound

    def features(self, sentences: list[dict], sections: list[dict], tokens: bool = False,
                 year: int | None = None, title: str | None = None) -> DocFeatures:
        """Features of one document's rows; tokens=True also segments the whole text (for a spaCy Doc);
        year: the document's, when known (a target set for an earlier year is a result); title: its title,
        when it is not a line of the text (a web page's <title>: it may name the document's genre)."""
        texts = [s.get("text") or " " for s in sentences]
        n = len(texts)
        if not n:
            z = np.zeros(0, np.int64)
            return DocFeatures(0, z, z.astype(np.uint64), z.astype(np.int8), z, z)
        joined = SEPARATOR.join(texts)
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
        sstart = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
        owner = self._char_owner(lengths, len(joined))
        cp = _codepoints(joined)

        # tokens: the whole text is segmented only when words are features or a Doc is wanted; token
        # cues only need the token boundaries around their occurrences (see _local_bounds)
        toks, tstart = [], np.zeros(0, np.int64)
        if tokens or self.cfg.annotate.word_ngrams:
            toks, tstart = self._tokens(joined, owner, texts)
            bound = np.zeros(len(joined) + 1, dtype=bool)
            bound[tstart] = True
            bound[len(joined)] = True
        else:
            bound = functools.partial(self._local_bounds, joined, cp)
        dense = self._sentence_vectors(texts, n)
        c_rows, c_keys = _char_ngram_keys(cp, owner, self.char_orders)
        parts_rows, parts_keys = [c_rows], [c_keys]
        if self.cfg.annotate.word_ngrams:
            th = self.hash.spans(cp, tstart, np.append(tstart[1:], len(joined)))
            town = owner[tstart]
            pos = np.searchsorted(self.stop_hashes, th).clip(0, max(len(self.stop_hashes) - 1, 0))
            content = (town >= 0) & (self.stop_hashes[pos] != th)
            w_rows, w_h = town[content], th[content]
            same = w_rows[:-1] == w_rows[1:]
            with np.errstate(over="ignore"):
                bi = _top_key((w_h[:-1] * MIX) ^ (w_h[1:] + _SALT))
            parts_rows += [w_rows, w_rows[:-1][same]]
            parts_keys += [_top_key(w_h), bi[same]]
        n_gram_parts = len(parts_rows)

        # cues: one automaton pass; counts and years: one regex pass each
        ms, _, mp = self.matcher.match(joined, bound)
        mrow = owner[ms]
        ok = mrow >= 0
        ms, mp, mrow = ms[ok], mp[ok], mrow[ok]
        mkind = self.matcher.pair_kind[mp]
        parts_rows.append(mrow)
        parts_keys.append(self.k_cue[mp])
        cnt = np.bincount(mrow * len(CUE_TYPES) + mkind, minlength=n * len(CUE_TYPES)).reshape(n, len(CUE_TYPES))
        present = cnt > 0
        for t in range(len(CUE_TYPES)):
            parts_rows.append(np.arange(n))
            parts_keys.append(self.k_cuen[t][np.minimum(cnt[:, t], 3)])
        count_hits = [(m.start(), m.group(0)) for m in self.cues.count_regex.finditer(joined)]
        crow = owner[np.fromiter((s for s, _ in count_hits), dtype=np.int64, count=len(count_hits))]
        ncount = np.bincount(crow[crow >= 0], minlength=n)
        has = np.flatnonzero(ncount)
        parts_rows.append(has)
        parts_keys.append(self.k_counts[np.minimum(ncount[has], 3)])
        years = np.unique(owner[[m.start() for m in self.year_regex.finditer(joined)]])
        years = years[years >= 0]
        parts_rows.append(years)
        parts_keys.append(np.full(len(years), self.k_year, np.uint64))

        # length and position
        idx = np.arange(n)
        parts_rows += [idx, idx]
        parts_keys += [self.k_len[np.searchsorted(LEN_EDGES, lengths, side="right")],
                       self.k_pos[np.searchsorted(POS_EDGES, idx / max(n - 1, 1), side="right")]]
        sec_ids = [s.get("section_id") for s in sentences]
        sec_index: dict = {}
        section = np.fromiter((sec_index.setdefault(sid, len(sec_index)) for sid in sec_ids), dtype=np.int64, count=n)
        order = np.argsort(section, kind="stable")
        sizes = np.bincount(section)
        first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        rank = np.empty(n, np.int64)
        rank[order] = np.arange(n) - first[section[order]]
        pos_sec = rank / np.maximum(sizes[section] - 1, 1)
        parts_rows.append(idx)
        parts_keys.append(self.k_sec[np.searchsorted(SEC_EDGES, pos_sec, side="right")])

        # headings, rules, heading kinds of the enclosing sections (one key list per distinct context)
        is_heading = np.fromiter((bool(s.get("is_heading")) for s in sentences), dtype=bool, count=n)
        info = self._section_info(sections)
        heads = np.flatnonzero(is_heading)
        heading_row = np.full(n, -1, np.int64)
        first_heading: dict = {}
        for i in heads.tolist():
            first_heading.setdefault(section[i], i)
        if first_heading:
            fh = np.full(len(sec_index), -1, np.int64)
            fh[list(first_heading)] = list(first_heading.values())
            heading_row = np.where(is_heading, -1, fh[section])
        ruled: dict[int, str] = {}
        max_chrome = self.cues.spec.boilerplate_max_chars
        if self.boiler_start is not None:
            match = self.boiler_start.match
            for i in np.flatnonzero(lengths <= max_chrome).tolist():
                if match(texts[i]):
                    ruled[i] = "boilerplate"
        if self.boiler_any is not None:
            for i in self._search_short(texts, lengths, max_chrome, self.boiler_any)[0].tolist():
                ruled[i] = "boilerplate"
        if self.citation is not None:
            for i in self._search_short(texts, lengths, self.cues.spec.citation_max_chars, self.citation)[0].tolist():
                ruled.setdefault(i, "citation")
        names_rows: list[int] = []
        names_keys: list[int] = []
        for i in heads.tolist():
            sec = info.get(sec_ids[i])
            names_rows += [i, i]
            names_keys += [self.k_heading, name_key(f"level:{sec['level'] if sec else 0}")]
            if i not in ruled and self.cues.is_bare_heading(texts[i]):
                ruled[i] = "bare_heading"
        parts_rows.append(np.flatnonzero(~is_heading))
        parts_keys.append(np.full(n - len(heads), self.k_body, np.uint64))
        if self.own_kind_regex is not None:  # kinds a heading names itself (for other sentences: no gain)
            max_chars = np.where(is_heading, np.iinfo(np.int64).max, -1)
            hit, kinds = self._search_short(texts, lengths, max_chars, self.own_kind_regex, groups=True)
            if self.cues.kind_exclude_regex:
                keep = [not self.cues.excludes(k, self.cues.strip_marker(texts[h])) for h, k in zip(hit.tolist(), kinds)]
                hit, kinds = hit[np.asarray(keep, dtype=bool)], list(compress(kinds, keep))
            parts_rows.append(hit)
            parts_keys.append(np.fromiter((self.k_own[k] for k in kinds), dtype=np.uint64, count=len(kinds)))
        rules: list[str | None] = [None] * n
        for i, r in ruled.items():
            rules[i] = r
            names_rows.append(i)
            names_keys.append(name_key(f"rule:{r}"))

        intro, intro_vals, closing = self._intro(joined, owner, sentences, is_heading)
        for j in closing:  # 对此，我们将…加以解决 after a list of problems: the model read it as more of the list
            rules[j] = rules[j] or "commitment"
        code = (section * 2 + is_heading) * len(intro_vals) + intro
        codes, ctx = np.unique(code, return_inverse=True)
        ctx = ctx.ravel()
        sid_of = list(sec_index)
        ctx_near: list[str | None] = []
        ctx_evidence: list[list[str]] = []
        ctx_keys: list[list[int]] = []
        kind_mask = np.zeros((len(codes), len(TYPES)), dtype=bool)
        for c, value in enumerate(codes.tolist()):
            rest, intro_code = divmod(value, len(intro_vals))
            sec_i, head = divmod(rest, 2)
            sec = info.get(sid_of[sec_i], {"kinds": [], "heading": "", "parent": None})
            kinds = sec["kinds"]
            heading_text = sec["heading"]
            if head:  # the context of a heading is the section around it, not its own
                kinds = [(d - 1, kd, p) for d, kd, p in kinds if d > 0]
                heading_text = info.get(sec["parent"], {}).get("heading", "")
            if intro_code:
                kinds = [(-1, *intro_vals[intro_code])] + kinds
            keys, nk, ev = self._context_keys(kinds, bool(head), heading_text)
            ctx_keys.append(keys)
            ctx_near.append(nk)
            ctx_evidence.append([ev] if ev else [])
            for _, kd, _ in kinds:
                kind_mask[c, TYPES.index(kd)] = True
        per_ctx = np.array([len(k) for k in ctx_keys], dtype=np.int64)
        flat = np.array([k for keys in ctx_keys for k in keys], dtype=np.uint64)
        offset = np.cumsum(per_ctx) - per_ctx
        counts = per_ctx[ctx]
        ctx_rows = np.repeat(idx, counts)
        within = np.arange(len(ctx_rows)) - np.repeat(np.cumsum(counts) - counts, counts)
        parts_rows.append(ctx_rows)
        parts_keys.append(flat[offset[ctx[ctx_rows]] + within] if len(flat) else np.zeros(0, np.uint64))
        for h in range(len(TYPES)):
            for t in range(len(CUE_TYPES)):
                rows = np.flatnonzero(kind_mask[ctx, h] & present[:, t])
                parts_rows.append(rows)
                parts_keys.append(np.full(len(rows), self.k_hkx[h, t], np.uint64))

        if "neighbours" in self.groups:
            for t in range(len(CUE_TYPES)):
                prev = np.flatnonzero(present[:-1, t]) + 1
                nxt = np.flatnonzero(present[1:, t])
                parts_rows += [prev, nxt]
                parts_keys += [np.full(len(prev), self.k_prev[t], np.uint64), np.full(len(nxt), self.k_next[t], np.uint64)]
            sec_share = np.zeros((len(sec_index), len(CUE_TYPES)))
            np.add.at(sec_share, section, present)
            sec_share /= np.maximum(sizes, 1)[:, None]
            for t in range(len(CUE_TYPES)):
                parts_rows.append(idx)
                parts_keys.append(self.k_secshare[t][np.searchsorted(SHARE_EDGES, sec_share[section, t], side="right")])
        if "document" in self.groups:
            share = present.mean(axis=0)
            for t in range(len(CUE_TYPES)):
                parts_rows.append(idx)
                parts_keys.append(np.full(n, self.k_doc[t][np.searchsorted(SHARE_EDGES, share[t], side="right")], np.uint64))
            parts_rows.append(idx)
            parts_keys.append(np.full(n, self.k_doc_top[int(share.argmax())], np.uint64))

        parts_rows.append(np.asarray(names_rows, dtype=np.int64))
        parts_keys.append(np.asarray(names_keys, dtype=np.uint64))
        block = np.concatenate([np.full(len(r), 0 if j < n_gram_parts else 1, np.int8) for j, r in enumerate(parts_rows)])
        rows = np.concatenate([np.asarray(r, dtype=np.int64) for r in parts_rows])
        keys = np.concatenate([np.asarray(k, dtype=np.uint64) for k in parts_keys])

        # evidence strings: cue matches, counts (at most 5 a sentence), the nearest heading kind
        order = np.argsort(mrow, kind="stable")
        labels = self.matcher.pair_label
        cue_labels = [labels[p] for p in mp[order].tolist()]
        cue_bounds = np.searchsorted(mrow[order], np.arange(n + 1)).tolist()
        count_labels = [f"experience:count:{t}" for (_, t), i in zip(count_hits, crow.tolist()) if i >= 0]
        count_bounds = np.searchsorted(crow[crow >= 0], np.arange(n + 1)).tolist()
        ctx_list = ctx.tolist()
        cue_lists = [cue_labels[a:b] for a, b in zip(cue_bounds, cue_bounds[1:])]
        for i in np.flatnonzero(np.diff(count_bounds)).tolist():
            cue_lists[i].extend(count_labels[count_bounds[i]:min(count_bounds[i + 1], count_bounds[i] + 5)])
        for c in np.flatnonzero([bool(e) for e in ctx_evidence]).tolist():
            for i in np.flatnonzero(ctx == c).tolist():
                cue_lists[i].extend(ctx_evidence[c])
        near = [ctx_near[c] for c in ctx_list]
        a = self.cfg.annotate
        head = [title, *texts] if title else texts
        genre = ("statute" if is_statute(texts, a.statute) else "plan" if is_announced(head, a.plan)
                 else "summary" if is_announced(head, a.summary) else None)
        evidence = f"genre:{genre}"
        prior = getattr(a, genre).type_prior if genre in ("plan", "summary") else {}
        if genre is None and says_nothing_done(texts, ncount > 0, a.plan):
            genre, evidence = "plan", "genre:plan:nothing_done"
            prior = a.plan.type_prior if a.plan.done_type_prior is None else a.plan.done_type_prior
        if genre:
            for c in cue_lists:
                c.append(evidence)
        if genre == "statute":
            self._statute_rules(texts, rules, cue_lists)
        target = self._targets(joined, owner, texts, year, near, cue_lists, rules)
        return DocFeatures(n=n, rows=rows, keys=keys, block=block, section=section, heading_row=heading_row,
                           cues=cue_lists, rule=rules, near_kind=near, genre=genre, genre_prior=prior,
                           target=target, tokens=toks, token_starts=tstart, sentence_starts=sstart, dense=dense)

    def _targets(self, joined: str, owner: np.ndarray, texts: list[str], year: int | None,
                 near: list[str | None], cues: list[list[str]], rules: list[str | None]) -> np.ndarray:
        """Sentences that set a target for a date (annotate.target), its year added to their evidence (one
        pass over the joined text, where a sentence is a line). In a document of a known year, a target for
        that year or later is a plan: measure by rule (rule:target); one for an earlier year is a result and
        not a target, and so is one for the document's own year under a heading of work done (near: the
        nearest heading kind; a year-end summary's 一、主要成效 … 到2024年底，全市建成…; a later year there is
        still a plan, and heading kinds are too loose to veto it: 十、坚持走中国特色强军之路 … 力争到二〇三五年…).
        Where the year is unknown, the targets are returned for the target prior."""
        target = np.zeros(len(texts), bool)
        if self.target_regex is None:
            return target
        found: set[int] = set()
        for m in self.target_regex.finditer(joined):
            i = int(owner[min(m.end() - 1, len(owner) - 1)])
            ahead = target_year(m)
            if (i < 0 or i in found or (year and ahead < year) or (ahead == year and near[i] == "experience")
                    or self.not_target_regex.search(texts[i])):
                continue
            found.add(i)
            cues[i].append(f"target:{ahead}年")
            if not year:
                target[i] = True
            elif rules[i] is None:
                rules[i] = "target"
        return target

    def _statute_rules(self, texts: list[str], rules: list[str | None], cues: list[list[str]]) -> None:
        """Rules for a statute's sentences (annotate.statute), which the model, trained on essays, misreads.

        Its title and part titles (某市物业管理条例, 第五章 保育教育) name a topic: other, not the experience
        their words suggest. A sentence that lays down a duty or a ban (应当, 不得 ...) prescribes: measure,
        with the modal as evidence, though the model reads a ban full of problem words (欠交, 纠纷未解决) as a
        problem and a short one (禁止垂钓) as other, at up to 0.99. So do the list items of a duty that
        ends with a colon (…应当履行下列职责： （一）组织开展考核；): each is one of its duties, whatever its
        own words, with the lead-in's modal as evidence."""
        spec = self.cfg.annotate.statute
        part = re.compile(spec.part).match  # re keeps compiled patterns
        duty = re.compile(spec.duty).search if spec.duty else None
        item = re.compile(spec.item).match if spec.item else None
        lead: str | None = None  # the modal of the duty whose list items follow
        for i, text in enumerate(texts):
            found = duty(text) if duty is not None else None
            if item is not None and item(text):
                if lead and not rules[i] and not found:
                    rules[i] = "statute_item"
                    cues[i].append(f"statute:item_of:{lead}")
            else:
                lead = found.group(0) if found and text.rstrip().endswith(("：", ":")) else None
            if rules[i]:
                continue
            if part(text):
                rules[i] = "statute_part"
            elif found:
                rules[i] = "statute_duty"
                cues[i].append(f"statute:duty:{found.group(0)}")

    def _hashes(self, words: list[str] | tuple[str, ...]) -> np.ndarray:
        """_PolyHash of each word (words without newlines), all in one pass over the words joined."""
        if not words:
            return np.zeros(0, np.uint64)
        cp = _codepoints("\n".join(words))
        ends = np.append(np.flatnonzero(cp == 10), len(cp))
        return self.hash.spans(cp, np.concatenate([[0], ends[:-1] + 1]), ends)

    def _sentence_vectors(self, texts: list[str], n: int) -> np.ndarray:
        """Each sentence's vector (annotate.vectors); n x 0 without vectors.

        The words are those of the NFKC sentences, segmented through segment.TOKENS, where the theme model
        finds them again; each token finds its word id by its hash, in numpy (a dict look-up per token
        cost a third of the annotation time)."""
        if self.vectors is None:
            return np.zeros((n, 0), np.float32)
        toks, owner = TOKENS.cut_many(self.cut, TOKENS.nfkc_all(texts, remember=True), remember=True)
        token_hash = self._hashes(toks)
        pos = self.vector_index.find(token_hash)
        ids = np.where(pos >= 0, self.vector_id[pos], -1)
        return self.vectors.sentences(ids, owner, n)

    def _search_short(self, texts: list[str], lengths: np.ndarray, max_chars, rx: re.Pattern,
                      groups: bool = False) -> tuple[np.ndarray, list[str]]:
        """Sentences of at most max_chars (a number or one per sentence) in which a multiline regex
        matches, one pass over those sentences joined instead of one call per sentence; with groups, one
        row per distinct (sentence, name of the matching group)."""
        short = np.flatnonzero(lengths <= max_chars)
        if not len(short):
            return short, []
        text = SEPARATOR.join([texts[i] for i in short.tolist()])
        local = self._char_owner(lengths[short], len(text))
        found = [(m.start(), m.lastgroup) for m in rx.finditer(text) if m.start() < len(text)]
        rows = local[np.fromiter((f[0] for f in found), dtype=np.int64, count=len(found))]
        if not groups:
            hit = np.unique(rows)
            return short[hit[hit >= 0]], []
        pairs = sorted({(int(r), g) for r, (_, g) in zip(rows.tolist(), found) if r >= 0})
        return short[np.array([r for r, _ in pairs], dtype=np.int64)], [g for _, g in pairs]

    @staticmethod
    def _char_owner(lengths: np.ndarray, total: int) -> np.ndarray:
        """Sentence index of every character of the joined text (-1 for the separators)."""
        n = len(lengths)
        vals = np.empty(2 * n, np.int64)
        vals[0::2] = np.arange(n)
        vals[1::2] = -1
        reps = np.empty(2 * n, np.int64)
        reps[0::2] = lengths
        reps[1::2] = 1
        reps[-1] = 0
        out = np.repeat(vals, reps)
        assert len(out) == total
        return out

    def _intro(self, joined: str, owner: np.ndarray, sentences: list[dict],
               is_heading: np.ndarray) -> tuple[np.ndarray, list, list[int]]:
        """Code of the paragraph's list introduction for each sentence of the list it introduces (0: none;
        Cues.list_reach), the (kind, phrase) of each code (政府工作还存在不少问题和不足。主要是：… acts as a
        heading for the rest of its list) and the sentences that close such a list committing to solve it.
        Without the reach's limits, a work report written without paragraph breaks had lent the kind of its
        problems paragraph to the whole plan after it."""
        out = np.zeros(len(sentences), dtype=np.int64)
        values: list = [None]
        closing: list[int] = []
        texts = [s.get("text") or "" for s in sentences]
        paras = [s.get("para_id") for s in sentences]
        headings = is_heading.tolist()
        hits = []
        for kind, rx in self.cues.intro_regex.items():
            hits += [(owner[m.start()], kind, m.group(0)) for m in rx.finditer(joined)]
        for i, kind, phrase in sorted((int(i), k, p) for i, k, p in hits if i >= 0):
            if headings[i] or paras[i] is None:
                continue
            if (kind, phrase) not in values:
                values.append((kind, phrase))
            end, commits = self.cues.list_reach(i, texts, paras, headings)
            out[i:end] = values.index((kind, phrase))
            if commits:
                closing.append(end)
        return out, values, closing


# ---------------------------------------------------------------- the annotator

class Annotator:
    """Tags the sentences of one document at a time; the model is trained or loaded once per process."""

    def __init__(self, cfg: Config, model=None):
        from pipeline import tagger

        self.cfg = cfg
        self.featurizer = Featurizer(cfg)
        self.model = model if model is not None else tagger.load_or_train(cfg, featurizer=self.featurizer)
        self.rule_score = cfg.annotate.rule_score

    def _tag(self, feats: DocFeatures) -> tuple[list[str], list[float], list[list[str]], list[str]]:
        """Columns type, score, evidence, method of the sentences: one sparse product per document."""
        from pipeline.tagger import type_proba

        proba = type_proba(self.model, feats, self.cfg)
        classes = list(self.model.classes_)
        best = proba.argmax(axis=1)
        types = np.asarray(classes, dtype=object)[best].tolist()
        scores = proba[np.arange(feats.n), best].round(4).tolist()
        methods = ["model"] * feats.n
        cues = feats.cues
        for i, rule in enumerate(feats.rule):
            if rule:
                ruled = rule_type(rule)
                methods[i] = "both" if types[i] == ruled else "rule"
                types[i] = ruled
                scores[i] = round(max(float(proba[i, classes.index(ruled)]), self.rule_score), 4)
                cues[i] = cues[i] + [f"rule:{rule}"]
        return types, scores, cues, methods

    def annotate_doc(self, sentences: list[dict], sections: list[dict], year: int | None = None,
                     title: str | None = None) -> Doc:
        """Tag in place and return the spaCy Doc (sentences as doc.sents, cue matches in doc.spans['cues'])
        with Span._.type / ._.type_score / ._.cues / ._.method set on each sentence."""
        from spacy.tokens import Doc

        feats = self.featurizer.features(sentences, sections, tokens=True, year=year, title=title)
        nlp = self.featurizer.nlp
        words = feats.tokens or [" "]
        starts = np.isin(feats.token_starts, feats.sentence_starts).tolist() if feats.tokens else [True]
        starts[0] = True
        doc = Doc(nlp.vocab, words=words, spaces=[False] * len(words), sent_starts=starts)
        doc._.sections = sections
        for _, proc in nlp.pipeline:
            doc = proc(doc)
        if not sentences:
            return doc
        for s, span, chosen, score, cues, method in zip(sentences, doc.sents, *self._tag(feats)):
            s["type"], s["type_score"], s["cues"], s["method"] = chosen, score, cues, method
            span._.type, span._.type_score, span._.cues, span._.method = chosen, score, cues, method
        return doc

    def annotate(self, sentences: list[dict], sections: list[dict], year: int | None = None,
                 title: str | None = None) -> None:
        """Fill type, type_score, cues and method of one document's sentence rows in place (no spaCy Doc
        is built: features come straight from the segmenter's tokens and the cue automaton); year and title:
        the document's, when known (a title that is no line of the text, a web page's, may name its genre)."""
        if not sentences:
            return
        feats = self.featurizer.features(sentences, sections, year=year, title=title)
        for s, chosen, score, cues, method in zip(sentences, *self._tag(feats)):
            s["type"], s["type_score"], s["cues"], s["method"] = chosen, score, cues, method

