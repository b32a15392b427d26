"""Parse and run searches over a run's index: queries, filters, facets, articles and theme pages.

User text never reaches FTS5 syntax: every token becomes a quoted FTS string (quotes doubled), so
AND OR NOT NEAR * ^ : ( ) " - in a query are just characters. A query word matches when its jieba
tokens are words of the sentence or, failing that, when it is a substring (bigram phrase), so
老龄化 finds 党员老龄化 whatever the segmenter did. The web page and the CLI share this module.
"""
from __future__ import annotations

import difflib
import json
import math
import re
import sqlite3
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.search.index import connect, ensure_index, facet_token, grams, normalize
from pipeline.search.settings import SearchSettings, load_settings
from pipeline.segment import tokenize
from pipeline.tables import TYPES

TYPE_NAMES = {"problem": "问题", "measure": "措施", "experience": "经验", "other": "其他"}
_WORDLIKE = re.compile(r"[^\W_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_YEARS = re.compile(r"^\s*(\d{4})?\s*(?:(-|–|~|至|:)\s*(\d{4})?)?\s*$")
_REGION_SUFFIX = re.compile(r"(?:(?:维吾尔|壮族|回族)?自治区|特别行政区|省|市|地区|盟|自治州|自治县|县|区|旗)$")


class QueryError(ValueError):
    """A query or filter the user must change; the message says how."""


@dataclass
class Term:
    surface: str            # as typed (normalised): what is highlighted
    tokens: list[str]       # jieba tokens, matched as a phrase in the word column
    phrase: bool


@dataclass
class ParsedQuery:
    terms: list[Term]
    notices: list[str] = field(default_factory=list)


@dataclass
class Filters:
    """Resolved filters: OR within a kind, AND across kinds."""

    types: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    years: list[int] | None = None
    sources: list[str] = field(default_factory=list)
    doc_id: str | None = None

    def any(self) -> bool:
        return bool(self.types or self.themes or self.regions or self.years is not None or self.sources
                    or self.doc_id)


def fts_string(text: str) -> str:
    """A quoted FTS5 string: the only way user text enters a MATCH expression."""
    return '"' + text.replace('"', '""') + '"'


def clean_query(text: str, max_chars: int) -> tuple[str, list[str]]:
    """NFKC, control characters removed, capped at max_chars (with a notice)."""
    notices = []
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", text or ""))
    if len(text) > max_chars:
        notices.append(f"query cut to its first {max_chars} characters (it had {len(text)})")
        text = text[:max_chars]
    return text.strip(), notices


def parse_query(text: str, settings: SearchSettings, tokenizer: str = "rjieba",
                userdict: str | None = None) -> ParsedQuery:
    """Quoted phrases and bare words; bare words are segmented and every token must match (AND)."""
    text, notices = clean_query(text, settings.query.max_chars)
    terms: list[Term] = []
    pieces = re.split(r'("[^"]*")', text)
    for piece in pieces:
        if piece.startswith('"') and piece.endswith('"') and len(piece) >= 2:
            inner = piece[1:-1].strip()
            tokens = [normalize(t) for t in tokenize(inner, tokenizer, userdict) if _WORDLIKE.search(t)]
            if tokens:
                terms.append(Term(normalize(inner), tokens, True))
            continue
        for chunk in piece.replace('"', " ").split():
            for tok in tokenize(chunk, tokenizer, userdict):
                if _WORDLIKE.search(tok):
                    terms.append(Term(normalize(tok), [normalize(tok)], False))
    unique = list({(t.surface, t.phrase): t for t in terms}.values())
    if len(unique) > settings.query.max_terms:
        notices.append(f"only the first {settings.query.max_terms} of {len(unique)} query words are used")
        unique = unique[:settings.query.max_terms]
    return ParsedQuery(unique, notices)


def term_expression(term: Term) -> str | None:
    """(word phrase OR bigram phrase) for one term; None when nothing searchable is left."""
    g = grams(term.surface)
    if not g:
        return None
    words = f"words : {fts_string(' '.join(term.tokens))}"
    if len(g) == 1 and len(g[0]) == 1:  # a lone CJK character: any bigram starting with it
        return f"({words} OR grams : {fts_string(g[0])} *)"
    return f"({words} OR grams : {fts_string(' '.join(g))})"


def filter_expression(filters: Filters) -> list[str]:
    """One facets-column clause per filter kind (values OR-ed)."""
    clauses = []
    kinds = [("ty", filters.types), ("th", filters.themes), ("rg", filters.regions), ("so", filters.sources),
             ("yr", filters.years), ("dc", [filters.doc_id] if filters.doc_id else None)]
    for kind, values in kinds:
        if values is None or (not values and kind != "yr"):
            continue
        tokens = [fts_string(facet_token(kind, v)) for v in values] or [fts_string(facet_token(kind, "none"))]
        clauses.append(f"facets : ({' OR '.join(tokens)})")
    return clauses


def match_expression(parsed: ParsedQuery, filters: Filters) -> str | None:
    parts = [e for e in (term_expression(t) for t in parsed.terms) if e] + filter_expression(filters)
    return " AND ".join(parts) if parts else None


def highlight(text: str, surfaces: list[str]) -> list[tuple[str, bool]]:
    """The original text cut into (piece, is_match) runs for every query surface (case-insensitive)."""
    surfaces = sorted({s for s in surfaces if s and not s.isspace()}, key=len, reverse=True)
    if not text or not surfaces:
        return [(text or "", False)]
    folded = "".join(n if len(n := unicodedata.normalize("NFKC", c).lower()) == 1 else c for c in text)
    pattern = re.compile("|".join(r"\s*".join(map(re.escape, s.split())) for s in surfaces))
    out, pos = [], 0
    for m in pattern.finditer(folded):
        if m.start() > pos:
            out.append((text[pos:m.start()], False))
        out.append((text[m.start():m.end()], True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def marked(segments: list[tuple[str, bool]], left: str = "【", right: str = "】") -> str:
    return "".join(f"{left}{s}{right}" if hit else s for s, hit in segments)


def parse_years(spec: str | None, max_span: int) -> tuple[int | None, int | None] | None:
    """'2019-2024', '2019', '2019-', '-2024' -> (from, to); None when no year filter."""
    if spec is None or not str(spec).strip():
        return None
    m = _YEARS.match(str(spec))
    if not m or not (m.group(1) or m.group(3)):
        raise QueryError(f"bad year {spec!r}: use a year (2023) or a range (2019-2024, 2019-, -2024)")
    lo = int(m.group(1)) if m.group(1) else None
    hi = int(m.group(3)) if m.group(3) else (lo if not m.group(2) else None)
    if lo is not None and hi is not None:
        if lo > hi:
            raise QueryError(f"bad year range {spec!r}: the first year is after the second")
        if hi - lo > max_span:
            raise QueryError(f"year range {spec!r} spans more than {max_span} years: narrow it")
    return lo, hi


def close_matches(word: str, options: list[str], n: int = 6) -> list[str]:
    """Options containing the word, then the most similar ones."""
    word = word.strip()
    inside = [o for o in options if word and (word in o or o in word)]
    similar = difflib.get_close_matches(word, options, n=n, cutoff=0.4)
    return list(dict.fromkeys(inside + similar))[:n]


def short_name(name: str) -> str:
    """天津市 -> 天津, 广西壮族自治区 -> 广西: the form people type."""
    short = _REGION_SUFFIX.sub("", name)
    return short if len(short) >= 2 else name


class Searcher:
    """Read-only access to one run's index (one SQLite connection per thread)."""

    def __init__(self, run: str | Path, settings: SearchSettings | None = None, build: bool = True):
        self.run = Path(run)
        self.settings = settings or load_settings()
        self.path = ensure_index(self.run) if build else self.run / "search.sqlite"
        self._local = threading.local()
        con = self.con
        self.meta = dict(con.execute("SELECT key, value FROM meta"))
        self.themes = {r["theme_id"]: dict(r) for r in con.execute("SELECT * FROM theme ORDER BY theme_id")}
        for t in self.themes.values():
            t["top_terms"] = json.loads(t["top_terms"] or "[]")
        self.regions = {r["code"]: (r["name"], r["level"]) for r in con.execute("SELECT * FROM region")}
        self.all_facets: dict[str, Counter] = {}
        for r in con.execute("SELECT kind, value, n FROM facet_all"):
            self.all_facets.setdefault(r["kind"], Counter())[r["value"]] = r["n"]
        self.used_regions = set(self.all_facets.get("province", {})) | set(self.all_facets.get("city", {})) | {
            r[0] for r in con.execute("SELECT DISTINCT county_code FROM sent WHERE county_code IS NOT NULL")}
        self.sources = sorted(self.all_facets.get("source", {}))
        self.years = sorted(int(y) for y in self.all_facets.get("year", {}))
        self.tokenizer = self.meta.get("tokenizer", "rjieba")
        self.userdict = self.meta.get("userdict") or None

    @property
    def con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = connect(self.path)
        return con

    # ---- names -> filter values -------------------------------------------------------------
    def region_name(self, code: str | None) -> str:
        return self.regions.get(code, (code or "", ""))[0] if code else ""

    def resolve_types(self, values: list[str]) -> list[str]:
        out = []
        by_name = {**{t: t for t in TYPES}, **{v: k for k, v in TYPE_NAMES.items()}}
        for v in values:
            key = v.strip().lower()
            if key not in by_name:
                raise QueryError(f"unknown type {v!r}: use one of {', '.join(TYPES)} (or 问题 措施 经验 其他)")
            out.append(by_name[key])
        return out

    def resolve_themes(self, values: list[str]) -> list[str]:
        out = []
        for v in values:
            key = v.strip()
            found = [tid for tid, t in self.themes.items()
                     if key.lower() in (tid.lower(), (t["name_zh"] or "").lower(), (t["name_en"] or "").lower())]
            if not found:
                names = [f"{tid} ({t['name_zh']})" if t["name_zh"] else tid for tid, t in self.themes.items()]
                near = close_matches(key, names) or names[:8]
                raise QueryError(f"unknown theme {v!r}; close matches: {', '.join(near) or 'none (no themes in this run)'}")
            out.extend(found)
        return out

    def resolve_regions(self, values: list[str]) -> list[str]:
        """Names (天津, 天津市) or codes (12, 1201, 120101) -> codes of provinces, cities and counties."""
        out: list[str] = []
        for v in values:
            key = v.strip()
            if key.isdigit() and len(key) in (2, 4, 6) and (key in self.regions or key in self.used_regions):
                out.append(key)
                continue
            found = [c for c, (name, _) in self.regions.items()
                     if name != "市辖区" and len(key) >= 2 and key in (name, short_name(name))]
            used = [c for c in found if c in self.used_regions]
            if not found:
                names = sorted({self.regions[c][0] for c in self.used_regions if c in self.regions})
                everything = sorted({n for n, _ in self.regions.values() if n != "市辖区"})
                near = close_matches(key, names) or close_matches(key, everything)
                raise QueryError(f"unknown region {v!r}; close matches: {', '.join(near) or 'none'} "
                                 f"(give a name such as 天津 or 天津市, or a code such as 12)")
            out.extend(used or found)
        return list(dict.fromkeys(out))

    def resolve_sources(self, values: list[str]) -> list[str]:
        out = []
        for v in values:
            if v in self.sources:
                out.append(v)
                continue
            near = close_matches(v, self.sources)
            raise QueryError(f"unknown source {v!r}; close matches: {', '.join(near) or ', '.join(self.sources[:8])}")
        return out

    def resolve_years(self, spec: str | None) -> list[int] | None:
        bounds = parse_years(spec, self.settings.query.max_year_span)
        if bounds is None:
            return None
        lo, hi = bounds
        return [y for y in self.years if (lo is None or y >= lo) and (hi is None or y <= hi)]

    def filters(self, types=(), themes=(), regions=(), years: str | None = None, sources=(),
                doc_id: str | None = None) -> Filters:
        """Filters from user words; raises QueryError listing close matches for unknown values."""
        clean = lambda vs: [v for v in (vs or []) if v is not None and str(v).strip()]  # noqa: E731
        return Filters(self.resolve_types(clean(types)), self.resolve_themes(clean(themes)),
                       self.resolve_regions(clean(regions)), self.resolve_years(years),
                       self.resolve_sources(clean(sources)), doc_id or None)

    def parse(self, query: str) -> ParsedQuery:
        return parse_query(query, self.settings, self.tokenizer, self.userdict)

    # ---- search ---------------------------------------------------------------------------------
    def search(self, query: str, filters: Filters | None = None, limit: int | None = None, offset: int = 0,
               context: int = 0, total: bool = True) -> dict:
        """Ranked sentences (BM25, then type_score) with highlights, article fields and context.

        `total` is the number of matches counted up to query.count_cap (`total_capped` says it is more).
        """
        filters = filters or Filters()
        parsed = self.parse(query)
        if not parsed.terms and not filters.any():
            why = "the query has no searchable words" if (query or "").strip() else "empty query"
            raise QueryError(f"{why}: type a word (e.g. 老龄化), or give a filter such as --type/--theme/--region/--year "
                             "to list sentences")
        q = self.settings.query
        limit = max(1, min(limit or q.default_limit, q.max_limit))
        offset = max(0, offset)
        context = max(0, min(context, q.max_context))
        expr = match_expression(parsed, filters)
        con = self.con
        if parsed.terms:
            ranked = self._ranked(parsed, filters, expr, q.rank_window + offset + limit)[offset:offset + limit]
        else:  # filters only: rowid order is prior-quality order
            ranked = [(r[0], 0.0) for r in con.execute(
                "SELECT rowid FROM fts WHERE fts MATCH ? LIMIT ? OFFSET ?", (expr, limit, offset))]
        n_total = self._count(expr) if total else None
        hits = self._hits(ranked, [t.surface for t in parsed.terms], context, offset)
        return {"query": query, "terms": [t.surface for t in parsed.terms], "notices": parsed.notices,
                "total": min(n_total, q.count_cap) if n_total is not None else None,
                "total_capped": bool(n_total and n_total > q.count_cap), "offset": offset, "limit": limit,
                "hits": hits, "zero_hints": self._zero_hints(parsed, filters) if n_total == 0 else []}

    def _count(self, expr: str) -> int:
        """Matches of an FTS expression, counted up to query.count_cap + 1."""
        return self.con.execute("SELECT count(*) FROM (SELECT rowid FROM fts WHERE fts MATCH ? LIMIT ?)",
                                (expr, self.settings.query.count_cap + 1)).fetchone()[0]

    def _zero_hints(self, parsed: ParsedQuery, filters: Filters) -> list[dict]:
        """When nothing matches, what would: each word alone (all words must be in one sentence) and the
        words without the filters, as {"label", "count"} (count capped like total)."""
        cap = self.settings.query.count_cap
        hints = []
        if len(parsed.terms) > 1:
            for t in parsed.terms:
                hints.append({"label": t.surface, "count": self._count(match_expression(ParsedQuery([t]), filters))})
        if filters.any() and parsed.terms:
            hints.append({"label": "without filters", "count": self._count(match_expression(parsed, Filters()))})
        return [{**h, "count": min(h["count"], cap)} for h in hints]

    def _ranked(self, parsed: ParsedQuery, filters: Filters, expr: str, window: int) -> list[tuple[int, float]]:
        """(rowid, score) best first: BM25 over at most `window` matches, word matches before substrings.

        Candidates are the first matches in rowid (= prior-quality) order, so FTS5 stops reading after
        `window` of them: a query for a word in every tenth sentence costs the same as a rare one.
        """
        q = self.settings.query
        sql = "SELECT s.rowid, s.text, s.type_score FROM sent s WHERE s.rowid IN " \
              "(SELECT rowid FROM fts WHERE fts MATCH ? LIMIT ?)"
        words_expr = " AND ".join([f"words : {fts_string(' '.join(t.tokens))}" for t in parsed.terms]
                                  + filter_expression(filters))
        rows = {r[0]: (r[1], r[2], q.word_match_weight) for r in self.con.execute(sql, (words_expr, window))}
        if len(rows) < window:
            for r in self.con.execute(sql, (expr, window)):
                rows.setdefault(r[0], (r[1], r[2], q.substring_match_weight))
        idf = [self._idf(t) for t in parsed.terms]
        surfaces = ["".join(t.surface.split()) for t in parsed.terms]
        avg = float(self.meta.get("avg_chars") or 40.0)
        scored = []
        for rowid, (text, type_score, weight) in rows.items():
            norm = text.lower()  # not NFKC: 20 µs a sentence; a full-width letter only costs tf
            norm_len = q.bm25_k1 * (1 - q.bm25_b + q.bm25_b * len(norm) / avg)
            score = 0.0
            for surface, w in zip(surfaces, idf):
                tf = norm.count(surface) or 1
                score += w * tf * (q.bm25_k1 + 1) / (tf + norm_len)
            scored.append((-score * weight, -(type_score or 0.0), rowid))
        scored.sort()
        return [(rowid, -neg) for neg, _, rowid in scored]

    def _idf(self, term: Term) -> float:
        """BM25 idf from the index vocabulary: rows holding the rarest token or bigram of the term."""
        n = max(1, int(self.meta.get("n_sentences") or 1))
        counts = [r[0] for tok in dict.fromkeys(term.tokens + grams(term.surface))
                  for r in self.con.execute("SELECT cnt FROM fts_vocab WHERE term = ?", (tok,))]
        df = min(counts) if counts else 1
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def _hits(self, ranked: list[tuple[int, float]], surfaces: list[str], context: int, offset: int) -> list[dict]:
        if not ranked:
            return []
        con = self.con
        ids = [rid for rid, _ in ranked]
        marks = ",".join("?" * len(ids))
        sents = {r["rowid"]: dict(r) for r in con.execute(
            f"SELECT s.rowid, s.*, h.path AS heading FROM sent s LEFT JOIN heading h "
            f"ON h.doc_id = s.doc_id AND h.section_id = s.section_id WHERE s.rowid IN ({marks})", ids)}
        doc_ids = sorted({s["doc_id"] for s in sents.values()})
        docs = {r["doc_id"]: dict(r) for r in con.execute(
            "SELECT doc_id, title, date, year, source, region_name, province, city, province_code, city_code, "
            f"region_code FROM doc WHERE doc_id IN ({','.join('?' * len(doc_ids))})", doc_ids)}
        hits = []
        for rank, (rid, score) in enumerate(ranked, start=offset + 1):
            s, d = sents[rid], docs[sents[rid]["doc_id"]]
            segments = highlight(s["text"], surfaces)
            hit = {"rank": rank, "doc_id": s["doc_id"], "sent_id": s["sent_id"], "text": s["text"],
                   "segments": segments, "marked": marked(segments), "type": s["type"],
                   "type_score": s["type_score"], "themes": json.loads(s["themes"] or "[]"),
                   "heading": s["heading"] or "", "title": d["title"] or "", "date": d["date"] or "",
                   "year": d["year"], "source": d["source"] or "", "region": self.doc_region(d),
                   "score": round(score, 4)}
            hit["theme_names"] = [self.theme_name(t) for t in hit["themes"]]
            if context:
                near = con.execute("SELECT sent_id, text FROM sent WHERE doc_id = ? AND sent_id BETWEEN ? AND ? "
                                   "ORDER BY sent_id", (s["doc_id"], s["sent_id"] - context, s["sent_id"] + context))
                near = [dict(r) for r in near]
                hit["before"] = [n for n in near if n["sent_id"] < s["sent_id"]]
                hit["after"] = [n for n in near if n["sent_id"] > s["sent_id"]]
            hits.append(hit)
        return hits

    def doc_region(self, d: dict) -> str:
        return d.get("region_name") or d.get("city") or d.get("province") or ""

    def theme_name(self, theme_id: str) -> str:
        t = self.themes.get(theme_id)
        return (t["name_zh"] or theme_id) if t else theme_id

    def facets(self, query: str, filters: Filters | None = None) -> dict:
        """Counts per type, theme, province, city, year and source of the matching sentences."""
        filters = filters or Filters()
        parsed = self.parse(query)
        expr = match_expression(parsed, filters)
        if expr is None:
            return {"approximate": False, **{k: dict(v) for k, v in self.all_facets.items()}}
        cap = self.settings.query.facet_sample
        counts: dict[str, Counter] = {k: Counter() for k in ("type", "theme", "province", "city", "year", "source")}
        rows = self.con.execute(
            "SELECT type, year, source, province_code, city_code, themes, count(*) AS n FROM sent "
            "WHERE rowid IN (SELECT rowid FROM fts WHERE fts MATCH ? LIMIT ?) GROUP BY 1, 2, 3, 4, 5, 6", (expr, cap))
        seen = 0
        for r in rows:
            n = r["n"]
            seen += n
            for kind, value in (("type", r["type"]), ("year", r["year"]), ("source", r["source"]),
                                ("province", r["province_code"]), ("city", r["city_code"])):
                if value is not None:
                    counts[kind][str(value)] += n
            for t in json.loads(r["themes"] or "[]"):
                counts["theme"][t] += n
        return {"approximate": seen >= cap, **{k: dict(v) for k, v in counts.items()}}

    # ---- article and theme pages -------------------------------------------------------------
    def document(self, doc_id: str, query: str = "") -> dict | None:
        """An article with every sentence (type, themes, highlight) and paragraph breaks; None if unknown."""
        con = self.con
        d = con.execute("SELECT * FROM doc WHERE doc_id = ?", (doc_id,)).fetchone()
        if d is None:
            return None
        d = dict(d)
        surfaces = [t.surface for t in self.parse(query).terms] if query else []
        sentences = []
        for r in con.execute("SELECT sent_id, section_id, start, \"end\", text, is_heading, new_paragraph, type, "
                             "type_score, themes FROM sent WHERE doc_id = ? ORDER BY sent_id", (doc_id,)):
            s = dict(r)
            s["new_paragraph"] = bool(s["new_paragraph"])
            s["is_heading"] = bool(s["is_heading"])
            s["themes"] = json.loads(s["themes"] or "[]")
            s["theme_names"] = [self.theme_name(t) for t in s["themes"]]
            s["segments"] = highlight(s["text"], surfaces)
            sentences.append(s)
        d["region"] = self.doc_region(d)
        d["sentences"] = sentences
        d["type_counts"] = dict(Counter(s["type"] for s in sentences))
        return d

    def theme(self, theme_id: str) -> dict | None:
        """Problems, measures and experiences of a theme, grouped by province (top sentences of each)."""
        if theme_id not in self.themes:
            return None
        web = self.settings.web
        expr = " AND ".join(filter_expression(Filters(themes=[theme_id])))
        inner = "SELECT rowid FROM fts WHERE fts MATCH ?"
        con = self.con
        counts = con.execute(
            f"SELECT type, COALESCE(province_code, '') AS code, count(*) AS n FROM sent WHERE rowid IN ({inner}) "
            "AND type IN ('problem', 'measure', 'experience') GROUP BY 1, 2 ORDER BY n DESC", (expr,)).fetchall()
        examples = con.execute(
            "SELECT * FROM (SELECT s.rowid, s.doc_id, s.sent_id, s.text, s.type, s.type_score, "
            "COALESCE(s.province_code, '') AS code, ROW_NUMBER() OVER (PARTITION BY s.type, s.province_code "
            f"ORDER BY s.type_score DESC, s.rowid) AS rn FROM sent s WHERE s.rowid IN ({inner}) "
            "AND s.type IN ('problem', 'measure', 'experience')) WHERE rn <= ? ORDER BY rowid",
            (expr, web.theme_examples)).fetchall()
        titles = {}
        by_group: dict[tuple[str, str], list[dict]] = {}
        for e in examples:
            by_group.setdefault((e["type"], e["code"]), []).append(dict(e))
            titles[e["doc_id"]] = None
        if titles:
            marks = ",".join("?" * len(titles))
            titles = dict(con.execute(f"SELECT doc_id, title FROM doc WHERE doc_id IN ({marks})", list(titles)).fetchall())
        sections = {t: {"type": t, "name": TYPE_NAMES[t], "n": 0, "regions": []} for t in ("problem", "measure", "experience")}
        for r in counts:
            sec = sections[r["type"]]
            sec["n"] += r["n"]
            if len(sec["regions"]) < web.theme_regions:
                items = by_group.get((r["type"], r["code"]), [])
                for item in items:
                    item["title"] = titles.get(item["doc_id"]) or ""
                sec["regions"].append({"code": r["code"], "name": self.region_name(r["code"]) or "未标注地区",
                                       "n": r["n"], "examples": items})
        return {**self.themes[theme_id], "types": list(sections.values())}

    def overview(self) -> dict:
        """What the run holds: counts and the theme list, for the start page."""
        return {"n_sentences": int(self.meta.get("n_sentences", 0)), "n_documents": int(self.meta.get("n_documents", 0)),
                "built_at": self.meta.get("built_at"), "themes": list(self.themes.values())}


def search_run(run: str | Path, query: str, types=(), themes=(), regions=(), years: str | None = None,
               sources=(), limit: int | None = None, offset: int = 0, context: int = 0) -> dict:
    """One search over a run from user words (the CLI entry point); builds the index when missing."""
    searcher = Searcher(run)
    filters = searcher.filters(types, themes, regions, years, sources)
    return searcher.search(query, filters, limit=limit, offset=offset, context=context)
