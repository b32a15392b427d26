"""Theme x group comparisons and problem/measure gaps, read from a run's Parquet tables only.

Definitions (also printed as notes with every result, so a table never travels without them):

- A *theme sentence* is a sentence of one of the selected types (default problem, measure,
  experience) that carries the theme, either in `sentences.themes` or in `sentence_themes`.
- `count` = theme sentences in the group.
- `per_1000_sentences` = theme sentences per 1,000 sentences of the group; the denominator is ALL
  sentences of the group's documents (every type, headings included), so groups of long and short
  documents compare fairly and the type filter does not change the denominator.
- `share_of_documents` = share of the group's documents with at least one theme sentence.
- The total row (合计) counts each sentence or document once even when it carries several of the
  listed themes, so it can be smaller than the sum of its column.
- Near-duplicate documents (`documents.duplicate_of` set) are left out unless asked for.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.tables import load, read_run_info, table_path

BY = ("region", "province", "city", "year", "source", "doc")
NORMALIZE = ("count", "per_1000_sentences", "share_of_documents")
TOTAL = "__total__"
TOTAL_LABEL = "合计"
UNKNOWN = "(未知)"
BELOW_MIN_MARK = "*"

DOC_COLUMNS = ["doc_id", "title", "date", "year", "source", "region_code", "region_name", "province_code",
               "province", "city_code", "city", "duplicate_of", "n_sentences"]
SENT_COLUMNS = ["doc_id", "sent_id", "text", "type", "type_score", "themes"]
GROUP_COLUMN = {"region": "region_name", "province": "province", "city": "city", "year": "year",
                "source": "source", "doc": "doc_id"}
EVIDENCE_COLUMNS = ["theme_id", "theme", "group", "group_label", "doc_id", "sent_id", "title", "region",
                    "date", "type", "type_score", "score", "text"]


class CompareError(ValueError):
    """A comparison cannot be made as asked; the message says what to change."""


@dataclass
class RunData:
    """The rows of a run a comparison needs: documents, sentences, (sentence, theme) pairs, themes."""

    docs: pd.DataFrame
    sents: pd.DataFrame
    pairs: pd.DataFrame          # doc_id, sent_id, theme_id, score
    themes: pd.DataFrame         # index theme_id: name_zh, name_en, kind, top_terms, label
    n_duplicates: int
    include_duplicates: bool
    info: dict = field(default_factory=dict)


@dataclass
class Comparison:
    """A theme x group matrix with its raw counts, the sentences behind each cell, and notes.

    `matrix`, `counts` and `doc_counts` are indexed by theme_id (plus TOTAL) with group keys (plus
    TOTAL) as columns; `table()` gives the labelled version for people.
    """

    by: str
    normalize: str
    types: tuple[str, ...]
    matrix: pd.DataFrame
    counts: pd.DataFrame
    doc_counts: pd.DataFrame
    groups: pd.DataFrame         # index group key: label, n_docs, n_sentences, below_min
    themes: pd.DataFrame         # index theme_id: name_zh, label (rows of the matrix, in order)
    evidence: pd.DataFrame
    notes: list[str]
    min_docs: int

    def group_label(self, key: str) -> str:
        if key == TOTAL:
            return TOTAL_LABEL
        row = self.groups.loc[key]
        return f"{row['label']}{BELOW_MIN_MARK}" if row["below_min"] else str(row["label"])

    def theme_label(self, theme_id: str) -> str:
        return TOTAL_LABEL if theme_id == TOTAL else str(self.themes.loc[theme_id, "label"])

    def table(self, values: pd.DataFrame | None = None) -> pd.DataFrame:
        """The matrix (or counts) with theme_id and theme columns and display group labels."""
        values = self.matrix if values is None else values
        out = values.rename(columns=self.group_label)
        out.insert(0, "theme", [self.theme_label(t) for t in values.index])
        out.insert(0, "theme_id", ["" if t == TOTAL else t for t in values.index])
        return out.reset_index(drop=True)

    def cell_evidence(self, theme_id: str, group: str) -> pd.DataFrame:
        """The sentences behind one cell (TOTAL for either coordinate means any)."""
        ev = self.evidence
        if theme_id != TOTAL:
            ev = ev[ev["theme_id"] == theme_id]
        if group != TOTAL:
            ev = ev[ev["group"] == group]
        return ev


@dataclass
class Gaps:
    """Per theme (and group): articles naming it as a problem, proposing measures, describing experience."""

    by: str | None
    table: pd.DataFrame
    examples: pd.DataFrame
    notes: list[str]


def anchor(*parts: object) -> str:
    """A stable HTML id for a cell; hashed because theme ids and group names may be any text."""
    return "ev-" + hashlib.sha1("|".join(map(str, parts)).encode("utf-8")).hexdigest()[:12]


def _optional(run: Path, name: str, columns: list[str]) -> pd.DataFrame:
    """A table that a run may lack (an older or partial run): empty with the asked columns."""
    if table_path(run, name) is None:
        return pd.DataFrame(columns=columns)
    return load(run, name, columns)


def load_run(run: str | Path, include_duplicates: bool = False) -> RunData:
    """Read the tables of a run once; raises CompareError when the run is missing or empty."""
    run = Path(run)
    if not run.exists():
        raise CompareError(f"run folder not found: {run} (run `zhili run CORPUS --out {run}` first)")
    try:
        docs = load(run, "documents", DOC_COLUMNS)
        sents = load(run, "sentences", SENT_COLUMNS)
    except FileNotFoundError as exc:
        raise CompareError(str(exc)) from None
    dup = docs["duplicate_of"].notna() & (docs["duplicate_of"] != "")
    n_dup = int(dup.sum())
    if not include_duplicates:
        docs = docs[~dup]
        sents = sents[sents["doc_id"].isin(docs["doc_id"])]
    docs = docs.reset_index(drop=True)
    sents = sents.reset_index(drop=True)
    pairs = _theme_pairs(sents, _optional(run, "sentence_themes", ["doc_id", "sent_id", "theme_id", "score"]))
    themes = _theme_names(_optional(run, "themes", ["theme_id", "name_zh", "name_en", "kind", "top_terms"]),
                          pairs["theme_id"])
    return RunData(docs, sents, pairs, themes, n_dup, include_duplicates, read_run_info(run))


def _theme_pairs(sents: pd.DataFrame, sentence_themes: pd.DataFrame) -> pd.DataFrame:
    """(doc_id, sent_id, theme_id, score) from both places a run records themes, once each."""
    listed = sents[["doc_id", "sent_id", "themes"]].explode("themes").dropna(subset=["themes"])
    listed = listed.rename(columns={"themes": "theme_id"}).assign(score=float("nan"))
    keys = sents[["doc_id", "sent_id"]]
    scored = sentence_themes.merge(keys, on=["doc_id", "sent_id"])[["doc_id", "sent_id", "theme_id", "score"]]
    both = pd.concat([scored.astype({"score": float}), listed], ignore_index=True)
    both = both[both["theme_id"].astype(str) != ""]
    return (both.groupby(["doc_id", "sent_id", "theme_id"], as_index=False, sort=False)["score"].max()
            .astype({"sent_id": "int64", "score": float}))


def _theme_names(themes: pd.DataFrame, used: pd.Series) -> pd.DataFrame:
    """Themes indexed by id with a display label '名称 (id)'; ids used but not listed keep their id."""
    themes = themes.drop_duplicates("theme_id").set_index("theme_id")
    missing = sorted(set(used.dropna()) - set(themes.index))
    if missing:
        themes = pd.concat([themes, pd.DataFrame(index=pd.Index(missing, name="theme_id"))])
    name = themes["name_zh"].where(themes["name_zh"].notna() & (themes["name_zh"] != ""), themes.index.to_series())
    themes["name_zh"] = name
    themes["label"] = [n if n == i else f"{n} ({i})" for i, n in zip(themes.index, name)]
    return themes


def select_themes(data: RunData, themes: list[str] | None, kind: str | None = None) -> list[str]:
    """Theme ids asked for (by id or Chinese name), in the asked order; else all themes of `kind`
    (seeded | discovered; None = all)."""
    if kind not in (None, "seeded", "discovered"):
        raise CompareError(f"unknown theme kind {kind!r}; choose seeded or discovered")
    if not themes:
        if kind is None:
            return list(data.themes.index)
        kinds = data.themes["kind"] if "kind" in data.themes else pd.Series(index=data.themes.index, dtype=str)
        return list(data.themes.index[kinds == kind])
    by_name = {str(n): i for i, n in data.themes["name_zh"].items()}
    chosen = []
    for t in themes:
        tid = t if t in data.themes.index else by_name.get(t)
        if tid is None:
            known = ", ".join(data.themes.index[:30])
            raise CompareError(f"unknown theme {t!r}; known theme ids: {known}")
        chosen.append(tid)
    return list(dict.fromkeys(chosen))


def check_types(types: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    allowed = ("problem", "measure", "experience", "other")
    bad = [t for t in types if t not in allowed]
    if bad or not types:
        raise CompareError(f"unknown sentence type(s) {bad}; choose from {', '.join(allowed)}")
    return tuple(types)


def group_keys(docs: pd.DataFrame, by: str) -> pd.Series:
    """The group of each document as text (unknown values become '(未知)'), indexed like docs."""
    if by not in BY:
        raise CompareError(f"cannot compare by {by!r}; choose one of {', '.join(BY)}")
    col = docs[GROUP_COLUMN[by]]
    if by == "year":
        col = pd.to_numeric(col, errors="coerce").astype("Int64").astype("string")
    keys = col.astype("string").str.strip()
    if by == "region":
        keys = keys.fillna(docs["region_code"].astype("string"))
    return keys.mask(keys.isna() | (keys == ""), UNKNOWN).astype(str)


def _group_labels(docs: pd.DataFrame, keys: pd.Series, by: str) -> dict[str, str]:
    if by != "doc":
        return {k: k for k in keys.unique()}
    titles = docs["title"].fillna("").astype(str).str.strip().str.slice(0, 40)
    repeated = titles.duplicated(keep=False) | (titles == "")
    return {d: (f"{t} [{d[:8]}]" if r else t) for d, t, r in zip(docs["doc_id"], titles, repeated)}


def _themed(data: RunData, types: tuple[str, ...], theme_ids: list[str]) -> pd.DataFrame:
    """Theme sentences of the chosen types and themes, with their sentence and document fields."""
    pairs = data.pairs[data.pairs["theme_id"].isin(theme_ids)]
    rows = pairs.merge(data.sents.drop(columns=["themes"]), on=["doc_id", "sent_id"])
    rows = rows[rows["type"].isin(types)]
    region = data.docs["region_name"].fillna(data.docs["province"])
    docs = data.docs[["doc_id", "title", "date", "year"]].assign(region=region)
    return rows.merge(docs, on="doc_id")


def compare(run: str | Path | RunData, by: str = "province", types: list[str] | tuple[str, ...] | None = None,
            themes: list[str] | None = None, normalize: str = "per_1000_sentences", min_docs: int = 3,
            include_duplicates: bool = False, kind: str | None = None) -> Comparison:
    """Theme x group matrix of a run with counts, the chosen normalisation, totals and evidence."""
    if normalize not in NORMALIZE:
        raise CompareError(f"unknown normalisation {normalize!r}; choose one of {', '.join(NORMALIZE)}")
    types = check_types(types or ("problem", "measure", "experience"))
    data = run if isinstance(run, RunData) else load_run(run, include_duplicates)
    if data.docs.empty:
        raise CompareError("the run has no documents to compare (all empty, failed or duplicates?)")
    theme_ids = select_themes(data, themes, kind)
    docs = data.docs.assign(group=group_keys(data.docs, by))
    n_sent = data.sents.groupby("doc_id").size()
    docs["n_sent"] = docs["doc_id"].map(n_sent).fillna(0).astype(int)
    labels = _group_labels(docs, docs["group"], by)
    groups = docs.groupby("group").agg(n_docs=("doc_id", "nunique"), n_sentences=("n_sent", "sum"))
    groups["label"] = [labels[k] for k in groups.index]
    groups["below_min"] = groups["n_docs"] < min_docs

    rows = _themed(data, types, theme_ids).merge(docs[["doc_id", "group"]], on="doc_id")
    counts = _pivot(rows, "sent", theme_ids, groups.index)
    doc_counts = _pivot(rows, "doc", theme_ids, groups.index)
    order_rows = counts[TOTAL].drop(TOTAL).sort_values(ascending=False, kind="stable").index
    order_cols = _column_order(groups, counts, by)
    counts = counts.loc[[*order_rows, TOTAL], [*order_cols, TOTAL]]
    doc_counts = doc_counts.loc[counts.index, counts.columns]
    groups = groups.loc[order_cols]
    matrix = _normalise(counts, doc_counts, groups, normalize)

    themes_df = data.themes.loc[list(order_rows), ["name_zh", "label"]]
    evidence = _evidence(rows, themes_df, groups, order_rows, order_cols)
    notes = _notes(data, by, types, normalize, min_docs, groups)
    if counts.loc[TOTAL, TOTAL] == 0:
        notes.insert(0, "no theme sentences of these types in this run: check the run's themes table and "
                        "configs/themes.yaml, or widen --types / --themes.")
    return Comparison(by, normalize, types, matrix, counts, doc_counts, groups, themes_df, evidence, notes,
                      min_docs)


def _pivot(rows: pd.DataFrame, unit: str, theme_ids: list[str], group_index: pd.Index) -> pd.DataFrame:
    """Distinct sentences (or documents) per theme x group, with totals counting each unit once."""
    key = ["doc_id", "sent_id"] if unit == "sent" else ["doc_id"]
    cells = rows.drop_duplicates(["theme_id", "group", *key]).groupby(["theme_id", "group"]).size()
    table = cells.unstack(fill_value=0).reindex(index=theme_ids, columns=group_index, fill_value=0)
    table[TOTAL] = rows.drop_duplicates(["theme_id", *key]).groupby("theme_id").size().reindex(theme_ids, fill_value=0)
    any_theme = rows.drop_duplicates(key)
    total_row = any_theme.groupby("group").size().reindex(group_index, fill_value=0)
    total_row[TOTAL] = len(any_theme)
    table.loc[TOTAL] = total_row
    return table.fillna(0).astype(int)


def _column_order(groups: pd.DataFrame, counts: pd.DataFrame, by: str) -> list[str]:
    """Years ascending; other groups by theme sentences, then documents, descending; unknown last."""
    keys = [k for k in groups.index if k != UNKNOWN]
    if by == "year":
        keys.sort(key=int)
    else:
        total = counts.loc[TOTAL]
        keys.sort(key=lambda k: (-total[k], -groups.loc[k, "n_docs"], groups.loc[k, "label"]))
    return keys + ([UNKNOWN] if UNKNOWN in groups.index else [])


def _normalise(counts: pd.DataFrame, doc_counts: pd.DataFrame, groups: pd.DataFrame, how: str) -> pd.DataFrame:
    if how == "count":
        return counts.copy()
    if how == "per_1000_sentences":
        denom = groups["n_sentences"].astype(float)
        num = counts
    else:
        denom = groups["n_docs"].astype(float)
        num = doc_counts
    denom = pd.concat([denom, pd.Series({TOTAL: denom.sum()})]).replace(0, float("nan"))
    scale = 1000.0 if how == "per_1000_sentences" else 1.0
    return (num.astype(float) * scale).div(denom[num.columns], axis=1)


def _evidence(rows: pd.DataFrame, themes: pd.DataFrame, groups: pd.DataFrame, order_rows, order_cols) -> pd.DataFrame:
    """One row per (theme, group, sentence), in the matrix's order, then by document and sentence."""
    ev = rows.drop_duplicates(["theme_id", "doc_id", "sent_id"]).copy()
    ev["theme"] = ev["theme_id"].map(themes["name_zh"])
    ev["group_label"] = ev["group"].map(groups["label"])
    ev["_r"] = ev["theme_id"].map({t: i for i, t in enumerate(order_rows)})
    ev["_c"] = ev["group"].map({g: i for i, g in enumerate(order_cols)})
    ev = ev.sort_values(["_r", "_c", "doc_id", "sent_id"], kind="stable")
    return ev[EVIDENCE_COLUMNS].reset_index(drop=True)


def _notes(data: RunData, by: str, types, normalize: str, min_docs: int, groups: pd.DataFrame) -> list[str]:
    notes = [f"rows: themes; columns: {by}; cells: {normalize} of sentences typed {', '.join(types)}."]
    if normalize == "per_1000_sentences":
        notes.append("per_1000_sentences = theme sentences x 1000 / all sentences of the group "
                     "(every type, headings included).")
    if normalize == "share_of_documents":
        notes.append("share_of_documents = documents with at least one theme sentence / documents of the group.")
    notes.append(f"{TOTAL_LABEL} row: sentences with any of the listed themes, each counted once "
                 "(can be less than the column sum).")
    if data.include_duplicates:
        notes.append(f"{data.n_duplicates} near-duplicate documents are included.")
    else:
        notes.append(f"{data.n_duplicates} near-duplicate documents left out (use --include-duplicates).")
    small = groups[groups["below_min"]]
    if len(small):
        notes.append(f"{BELOW_MIN_MARK} {len(small)} group(s) with fewer than {min_docs} documents: "
                     f"values unreliable ({', '.join(small['label'].astype(str)[:10])}"
                     f"{', ...' if len(small) > 10 else ''}).")
    if UNKNOWN in groups.index:
        notes.append(f"{UNKNOWN}: {int(groups.loc[UNKNOWN, 'n_docs'])} documents without a known {by}.")
    return notes


def gaps(run: str | Path | RunData, by: str | None = None, themes: list[str] | None = None,
         include_duplicates: bool = False, examples: int = 3, kind: str | None = None) -> Gaps:
    """For each theme (and group): articles with problem / measure / experience sentences on it, and the
    articles that report it as a problem without proposing any measure on it ('unaddressed').

    kind: seeded | discovered | all; by default (no kind, no themes) the seeded themes when the run has any.
    """
    data = run if isinstance(run, RunData) else load_run(run, include_duplicates)
    default_seeded = kind is None and not themes and "kind" in data.themes and (data.themes["kind"] == "seeded").any()
    if default_seeded:
        kind = "seeded"
    theme_ids = select_themes(data, themes, None if kind == "all" else kind)
    docs = data.docs.assign(group=group_keys(data.docs, by) if by else TOTAL_LABEL)
    rows = _themed(data, ("problem", "measure", "experience"), theme_ids).merge(docs[["doc_id", "group"]],
                                                                                on="doc_id")
    flags = (rows.assign(v=1).pivot_table(index=["group", "theme_id", "doc_id"], columns="type", values="v",
                                          aggfunc="max", fill_value=0)
             .reindex(columns=["problem", "measure", "experience"], fill_value=0))
    flags["unaddressed"] = (flags["problem"] == 1) & (flags["measure"] == 0)
    table = flags.groupby(["group", "theme_id"]).sum().astype(int).reset_index()
    table.columns = ["group", "theme_id", "problem_docs", "measure_docs", "experience_docs", "unaddressed_docs"]
    table["unaddressed_share"] = (table["unaddressed_docs"] / table["problem_docs"].where(table["problem_docs"] > 0))
    unaddressed = flags[flags["unaddressed"]].reset_index()[["group", "theme_id", "doc_id"]]
    ex = _gap_examples(rows, unaddressed, examples)
    table = table.merge(ex.groupby(["group", "theme_id"])["text"].agg(" ｜ ".join).rename("examples").reset_index(),
                        on=["group", "theme_id"], how="left")
    table["examples"] = table["examples"].fillna("")
    table.insert(2, "theme", table["theme_id"].map(data.themes["name_zh"]))
    table = table.sort_values(["group", "unaddressed_docs", "problem_docs", "theme_id"],
                              ascending=[True, False, False, True], kind="stable")
    if by is None:
        table = table.drop(columns="group")
        ex = ex.drop(columns="group")
    notes = [
        "counts are articles (documents), not sentences; near-duplicates "
        + ("included." if data.include_duplicates else f"left out ({data.n_duplicates})."),
        "unaddressed_docs: articles with a problem sentence on the theme and no measure sentence on the "
        "same theme; unaddressed_share = unaddressed_docs / problem_docs.",
        f"examples: up to {examples} problem sentences (highest type score) from unaddressed articles, one per article.",
    ]
    if default_seeded:
        notes.append("themes: seeded only; discovered themes are left out, since each was found among the "
                     "sentences of one type, so it has no measures (or no problems) by construction "
                     "(kind='discovered' or 'all' to show them).")
    elif kind in ("seeded", "discovered"):
        notes.append(f"themes: {kind} only.")
    return Gaps(by, table.reset_index(drop=True), ex.reset_index(drop=True), notes)


def _gap_examples(rows: pd.DataFrame, unaddressed: pd.DataFrame, k: int) -> pd.DataFrame:
    problems = rows[rows["type"] == "problem"].merge(unaddressed, on=["group", "theme_id", "doc_id"])
    problems = problems.sort_values(["type_score", "doc_id", "sent_id"], ascending=[False, True, True], kind="stable")
    best = problems.drop_duplicates(["group", "theme_id", "doc_id"])
    best = best.groupby(["group", "theme_id"], sort=False).head(k)
    return best[["group", "theme_id", "doc_id", "sent_id", "title", "region", "date", "type_score", "text"]]


def top_examples(data: RunData, k: int = 3, types: tuple[str, ...] = ("problem", "measure", "experience")) -> pd.DataFrame:
    """The k best sentences per theme: highest theme score, then type score; repeated texts only once."""
    rows = _themed(data, types, list(data.themes.index))
    rows = rows.assign(_key=rows["text"].astype(str).str.replace(r"\s+", "", regex=True),
                       _s=rows["score"].fillna(0.0), _t=rows["type_score"].fillna(0.0))
    rows = rows.sort_values(["theme_id", "_s", "_t", "doc_id", "sent_id"],
                            ascending=[True, False, False, True, True], kind="stable")
    rows = rows.drop_duplicates(["theme_id", "_key"]).groupby("theme_id", sort=False).head(k)
    rows["theme"] = rows["theme_id"].map(data.themes["name_zh"])
    return rows[["theme_id", "theme", "type", "score", "type_score", "doc_id", "sent_id", "title", "region", "date",
                 "text"]] \
        .reset_index(drop=True)


def type_counts(data: RunData, theme_ids: list[str] | None = None) -> pd.DataFrame:
    """Sentences per theme and type (problem, measure, experience), largest themes first."""
    theme_ids = theme_ids or list(data.themes.index)
    rows = _themed(data, ("problem", "measure", "experience"), theme_ids)
    table = (rows.groupby(["theme_id", "type"]).size().unstack(fill_value=0)
             .reindex(index=theme_ids, columns=["problem", "measure", "experience"], fill_value=0))
    table = table.loc[table.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    table.index = [data.themes.loc[t, "label"] for t in table.index]
    return table


def format_value(v: float, normalize: str) -> str:
    """A cell for people: counts as integers, rates with one decimal, shares as percentages."""
    if pd.isna(v):
        return "–"
    if normalize == "count":
        return f"{int(v)}"
    if normalize == "share_of_documents":
        return f"{v:.0%}"
    return f"{v:.1f}"
