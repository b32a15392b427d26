"""Search index, query parsing and the `zhili index` / `zhili search` commands, on a run of real text."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import Config
from pipeline.search import index as index_mod
from pipeline.search.export import safe_cell, to_csv
from pipeline.search.index import build_index, grams
from pipeline.search.query import QueryError, Searcher, highlight, parse_years
from pipeline import tables
from pipeline.segment import tokenize, tokenize_for_search
from search_fixture import HOSTILE, build_run, tiny_run

FTS_SYNTAX = ['AND', 'OR NOT', 'NEAR(社区 治理, 2)', '社区*', '^社区', 'words:社区', 'grams : "社区"', '(社区',
              '社区)', '"', '"""', '社区" OR "1', '-社区', 'a AND OR b', '{words grams}: 社区', "社区'; DROP TABLE sent; --"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = build_run(tmp_path_factory.mktemp("search") / "run")
    build_index(out)
    return out


@pytest.fixture(scope="module")
def searcher(run):
    return Searcher(run)


def cli(*args: str):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


# ---- index -------------------------------------------------------------------------------------
def test_index_rebuilds_only_when_tables_change(tmp_path):
    out = build_run(tmp_path / "run")
    first = build_index(out)
    assert first.rebuilt and first.n_sentences > 1000 and first.path == out / "search.sqlite"
    assert not build_index(out).rebuilt
    sentences = out / "sentences.parquet"
    st = sentences.stat()
    os.utime(sentences, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert build_index(out).rebuilt
    assert not list(out.glob(".search.sqlite.tmp-*"))


def test_index_holds_every_sentence_with_filter_columns(run):
    con = sqlite3.connect(run / "search.sqlite")
    n_sent = con.execute("SELECT count(*) FROM sent").fetchone()[0]
    assert n_sent == tables.read_table(run, "sentences").num_rows > 1000
    row = con.execute("SELECT type, themes, year, province_code, city_code, source FROM sent "
                      "WHERE doc_id = (SELECT doc_id FROM doc WHERE title LIKE '天津%') AND type='problem'").fetchone()
    assert row[0] == "problem" and row[2] == 2024 and row[3] == "12" and row[4] == "1201"
    assert con.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()[0]
    paths = [r[0] for r in con.execute("SELECT path FROM heading")]
    assert "二、2024年重点任务 › （十）更加注重保障和改善民生，不断实现人民对美好生活的向往" in paths
    first = con.execute("SELECT count(*) FROM sent WHERE new_paragraph = 1").fetchone()[0]
    assert 0 < first < n_sent


def test_missing_tables_are_a_clear_error(tmp_path):
    with pytest.raises(index_mod.SearchIndexError, match="zhili run"):
        build_index(tmp_path)


def test_search_mode_finds_sub_words_of_user_dictionary_words(tmp_path, monkeypatch):
    userdict = tmp_path / "userdict.txt"
    userdict.write_text("积极应对人口老龄化 n\n", encoding="utf-8")
    assert "积极应对人口老龄化" in tokenize("实施积极应对人口老龄化国家战略", userdict=str(userdict))
    assert "老龄化" in tokenize_for_search("实施积极应对人口老龄化国家战略", userdict=str(userdict))
    cfg = Config()
    cfg.annotate.userdict = str(userdict)
    monkeypatch.setattr(index_mod, "load_config", lambda: cfg)
    out = tiny_run(tmp_path / "run", ["实施积极应对人口老龄化国家战略。推进社区养老服务。", "加强基层治理。"])
    build_index(out)
    searcher = Searcher(out)
    for query in ("老龄化", "人口老龄化", "积极应对人口老龄化", "应对人口", "老龄化 战略"):
        hits = searcher.search(query)["hits"]
        assert [h["text"] for h in hits] == ["实施积极应对人口老龄化国家战略。"], query


def test_bigrams_find_substrings_the_segmenter_glued(searcher):
    assert grams("人口老龄化，AI治理") == ["人口", "口老", "老龄", "龄化", "ai", "治理"]
    whole = searcher.search("老龄化")
    part = searcher.search("龄化")
    assert whole["total"] >= 2 and part["total"] >= whole["total"]
    assert all("龄化" in h["text"] for h in part["hits"])


# ---- queries -----------------------------------------------------------------------------------
def test_words_are_and_and_phrases_are_exact(searcher):
    both = searcher.search("社区 养老", limit=50)
    assert both["total"] > 0
    assert all("社区" in h["text"] and "养老" in h["text"] for h in both["hits"])
    phrase = searcher.search('"基层 治理"', limit=100)
    loose = searcher.search("基层 治理", limit=100)
    assert 0 < phrase["total"] <= loose["total"]
    assert all("基层治理" in h["text"].replace(" ", "") for h in phrase["hits"])


@pytest.mark.parametrize("query", FTS_SYNTAX)
def test_fts_syntax_in_queries_is_harmless(searcher, query):
    result = searcher.search(query + " 社区")
    assert result["total"] >= 0


def test_ranking_is_bm25_then_type_score(searcher):
    hits = searcher.search("社区", limit=200)["hits"]
    keys = [(h["score"], h["type_score"]) for h in hits]
    assert keys == sorted(keys, key=lambda k: (-k[0], -k[1]))
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))


def test_highlight_marks_the_original_text(searcher):
    hit = searcher.search("老龄化")["hits"][0]
    assert "".join(p for p, _ in hit["segments"]) == hit["text"]
    assert [p for p, m in hit["segments"] if m] == ["老龄化"]
    assert highlight("ＡＩ治理与AI", ["ai"]) == [("ＡＩ", True), ("治理与", False), ("AI", True)]
    assert highlight("基层治理", ["基层 治理"]) == [("基层治理", True)]


def test_region_names_and_codes_agree(searcher):
    totals = {r: searcher.search("发展", searcher.filters(regions=[r]))["total"] for r in ("天津", "天津市", "12")}
    assert len(set(totals.values())) == 1 and totals["天津"] > 0
    hits = searcher.search("发展", searcher.filters(regions=["天津"]), limit=50)["hits"]
    assert {h["region"] for h in hits} == {"天津市"}
    county = searcher.search("发展", searcher.filters(regions=["朝阳区"]))["total"]
    assert county == searcher.search("发展", searcher.filters(regions=["北京"]))["total"] > 0


def test_filters_combine(searcher):
    f = searcher.filters(types=["问题"], themes=["人口老龄化"], regions=["广东"], years="2016-2024")
    assert f.types == ["problem"] and f.themes == ["aging"] and f.regions == ["44"]
    hits = searcher.search("", searcher.filters(types=["problem"], years="2024"), limit=100)["hits"]
    assert hits and all(h["type"] == "problem" and h["year"] == 2024 for h in hits)
    assert searcher.search("社区", searcher.filters(years="1990-1991"))["total"] == 0
    sourced = searcher.search("发展", searcher.filters(sources=["city-reports-2024"]), limit=30)["hits"]
    assert sourced and all(h["source"] == "city-reports-2024" for h in sourced)


@pytest.mark.parametrize("call, message", [
    (lambda s: s.filters(themes=["agin"]), "aging"),
    (lambda s: s.filters(regions=["天箐"]), "天津市"),
    (lambda s: s.filters(types=["problems"]), "problem"),
    (lambda s: s.filters(sources=["seed"]), "seeds"),
    (lambda s: s.filters(years="20x9"), "range"),
    (lambda s: s.filters(years="2024-2019"), "after"),
    (lambda s: s.search(""), "empty query"),
    (lambda s: s.search("，。！"), "no searchable words"),
])
def test_bad_filters_and_queries_name_close_matches(searcher, call, message):
    with pytest.raises(QueryError, match=message):
        call(searcher)


def test_long_queries_are_capped_with_a_notice(searcher):
    result = searcher.search("社区" * 5000)
    assert result["notices"] and "200" in result["notices"][0]


def test_context_gives_neighbouring_sentences(searcher):
    hit = searcher.search("老龄化", context=2)["hits"][0]
    assert [n["sent_id"] for n in hit["before"]] == [hit["sent_id"] - 2, hit["sent_id"] - 1][-len(hit["before"]):]
    assert all(n["sent_id"] > hit["sent_id"] for n in hit["after"]) and len(hit["after"]) <= 2


def test_facets_count_the_matches(searcher):
    facets = searcher.facets("社区")
    total = searcher.search("社区")["total"]
    assert sum(facets["type"].values()) == total
    assert facets["type"]["problem"] == searcher.search("社区", searcher.filters(types=["problem"]))["total"]


def test_years_and_csv_helpers():
    assert parse_years("2019-2024", 200) == (2019, 2024)
    assert parse_years("2019", 200) == (2019, 2019)
    assert parse_years("2019-", 200) == (2019, None)
    assert parse_years(" -2024", 200) == (None, 2024)
    assert safe_cell("=cmd()") == "'=cmd()" and safe_cell("社区") == "社区"
    rows = list(csv.reader(io.StringIO(to_csv([{"rank": 1, "text": "+1", "themes": ["a", "b"]}]))))
    assert rows[1][rows[0].index("text")] == "'+1" and rows[1][rows[0].index("themes")] == "a b"


# ---- command line ------------------------------------------------------------------------------
def test_cli_index_builds_then_skips(tmp_path):
    out = build_run(tmp_path / "run")
    first = cli("index", out)
    assert first.exit_code == 0 and "indexed" in first.output
    again = cli("index", out)
    assert again.exit_code == 0 and "up to date" in again.output
    assert "indexed" in cli("index", out, "--force").output


def test_cli_search_table_with_all_filters(run):
    result = cli("search", run, "发展", "--type", "measure", "--theme", "economy", "--region", "天津",
                 "--year", "2019-2024", "--source", "city-reports-2024", "--limit", "3", "--format", "table")
    assert result.exit_code == 0, result.output
    assert "天津市2024年政府工作报告" in result.output and "matching sentences" in result.output


def test_cli_search_json_and_csv(run):
    data = json.loads(cli("search", run, "老龄化", "--format", "json", "--limit", "5").stdout)
    assert data["total"] >= 2 and data["hits"][0]["highlights"] and "segments" not in data["hits"][0]
    assert "【老龄化】" in data["hits"][0]["marked"]
    rows = list(csv.DictReader(io.StringIO(cli("search", run, "老龄化", "-f", "csv").stdout)))
    assert len(rows) == data["total"] and all("老龄化" in r["text"] for r in rows)


def test_cli_context_limit_and_offset(run):
    data = json.loads(cli("search", run, "社区", "-f", "json", "--context", "1", "--limit", "2", "--offset", "3").stdout)
    assert [h["rank"] for h in data["hits"]] == [4, 5]
    assert all("before" in h and "after" in h for h in data["hits"])
    table = cli("search", run, "老龄化", "--context", "1")
    assert table.exit_code == 0


@pytest.mark.parametrize("args, message", [
    (["--theme", "nosuch"], "unknown theme"),
    (["--region", "火星"], "unknown region"),
    (["--year", "abc"], "bad year"),
    (["--type", "bad"], "unknown type"),
    (["--format", "xml"], "unknown --format"),
    (["--limit", "0"], "--limit"),
])
def test_cli_bad_options_are_one_line_errors(run, args, message):
    result = cli("search", run, "社区", *args)
    assert result.exit_code == 1 and message in result.output


@pytest.mark.parametrize("query", FTS_SYNTAX + ["x" * 10_000])
def test_cli_bad_queries_never_trace(run, query):
    result = cli("search", run, "-f", "json", "--", query)  # `--`: a query may start with "-"
    if result.exit_code:  # nothing searchable left, e.g. a lone quote
        assert result.exit_code == 1 and "no searchable words" in result.output
    else:
        assert json.loads(result.stdout)["total"] >= 0


def test_cli_empty_query(run):
    empty = cli("search", run, "")
    assert empty.exit_code == 1 and "empty query" in empty.output
    listed = json.loads(cli("search", run, "", "--theme", "aging", "-f", "json").stdout)
    assert listed["total"] > 0 and all("aging" in h["themes"] for h in listed["hits"])


def test_nothing_found_says_what_would_match(run, searcher):
    """All words must be in one sentence: with none found, each word's count alone and the words' count
    without the filters tell the user what to drop (the CLI printed an empty table)."""
    r = searcher.search("老龄化 xyzzy")
    assert r["total"] == 0 and r["zero_hints"] == [{"label": "老龄化", "count": searcher.search("老龄化")["total"]},
                                                    {"label": "xyzzy", "count": 0}]
    assert r["zero_hints"][0]["count"] > 0 and searcher.search("老龄化")["zero_hints"] == []
    r = searcher.search("老龄化", searcher.filters(years="1950"))
    assert r["total"] == 0 and r["zero_hints"] == [{"label": "without filters", "count": searcher.search("老龄化")["total"]}]
    out = cli("search", run, "老龄化 xyzzy").output
    assert "every word must be in the same sentence" in out and "老龄化 alone: 2 sentences" in out and "┏" not in out
    assert "the words without the filters: 2 sentences" in cli("search", run, "老龄化", "--year", "1950").output


def test_cli_long_query_note(run):
    result = cli("search", run, "社区" * 5000)
    assert result.exit_code == 0 and "cut to its first 200" in result.output


def test_cli_builds_missing_index_and_reports_bad_runs(tmp_path, run):
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    (copy / "search.sqlite").unlink()
    assert cli("search", copy, "老龄化").exit_code == 0 and (copy / "search.sqlite").exists()
    missing = cli("search", tmp_path / "nope", "社区")
    assert missing.exit_code == 1 and "not a run folder" in missing.output


def test_hostile_text_is_plain_in_cli(run):
    out = cli("search", run, "script", "-f", "json").stdout
    assert json.loads(out)["hits"][0]["title"] == HOSTILE[0]


def test_counts_and_ranking_windows_are_capped(run):
    from pipeline.search.settings import load_settings
    settings = load_settings().model_copy(deep=True)
    settings.query.count_cap = 100
    settings.query.rank_window = 100
    capped = Searcher(run, settings=settings).search("发展", limit=50)
    full = Searcher(run).search("发展", limit=50)
    assert full["total"] > 100 and not full["total_capped"]
    assert capped["total"] == 100 and capped["total_capped"] and len(capped["hits"]) == 50
    assert [h["score"] for h in capped["hits"]] == sorted((h["score"] for h in capped["hits"]), reverse=True)


def test_rowid_order_is_prior_quality_order(run):
    con = sqlite3.connect(run / "search.sqlite")
    rows = con.execute("SELECT type = 'other', type_score FROM sent ORDER BY rowid").fetchall()
    assert rows == sorted(rows, key=lambda r: (r[0], -r[1]))
