"""compare.py and the comparison/gaps writers, on the hand-checkable fixture run of compare_fixture.py."""
from __future__ import annotations

import io

import pandas as pd
import pytest
import typer
from compare_fixture import ADMIN_PROB_2, GRID_1, RULE_PROB_2, build_run
from lxml import html as lxml_html
from openpyxl import load_workbook
from typer.testing import CliRunner

from pipeline import cli_compare
from pipeline.compare import TOTAL, UNKNOWN, CompareError, compare, gaps, load_run, top_examples, type_counts
from pipeline.report import write_comparison, write_gaps
from pipeline.tables import load


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return build_run(tmp_path_factory.mktemp("fixture") / "run")


def test_matrix_shape_and_order_by_province(run):
    c = compare(run, "province", normalize="count", min_docs=1)
    assert c.matrix.shape == (5, 5)  # 4 themes + 合计, 3 provinces + unknown + 合计
    assert list(c.matrix.index) == ["rule_of_law", "admin_burden", "grid_management", "digital_governance", TOTAL]
    assert list(c.matrix.columns) == ["广东省", "上海市", "海南省", UNKNOWN, TOTAL]
    assert c.themes.loc["rule_of_law", "label"] == "法治 (rule_of_law)"


def test_counts_by_hand(run):
    c = compare(run, "province", normalize="count", min_docs=1)
    m = c.counts
    assert m.loc["rule_of_law"].tolist() == [3, 1, 2, 0, 6]  # d2's 'other' sentence is not counted
    assert m.loc["admin_burden"].tolist() == [2, 0, 0, 1, 3]
    assert m.loc["grid_management"].tolist() == [1, 0, 1, 0, 2]
    assert m.loc["digital_governance"].tolist() == [0, 2, 0, 0, 2]
    # 合计 counts each sentence once: d4's last sentence is both grid and rule, so 海南 is 2, not 3
    assert m.loc[TOTAL].tolist() == [6, 3, 2, 1, 12]
    assert c.matrix.equals(c.counts)


def test_per_1000_sentences_by_hand(run):
    c = compare(run, "province", normalize="per_1000_sentences", min_docs=1)
    # denominators: 广东 d1+d2 = 5+4 = 9 sentences, 上海 4, 海南 2, unknown 2, all 17
    assert c.groups["n_sentences"].tolist() == [9, 4, 2, 2]
    assert c.matrix.loc["rule_of_law", "广东省"] == pytest.approx(3 / 9 * 1000)
    assert c.matrix.loc["rule_of_law", "上海市"] == pytest.approx(250.0)
    assert c.matrix.loc["rule_of_law", "海南省"] == pytest.approx(1000.0)
    assert c.matrix.loc["rule_of_law", TOTAL] == pytest.approx(6 / 17 * 1000)
    assert c.matrix.loc[TOTAL, TOTAL] == pytest.approx(12 / 17 * 1000)


def test_share_of_documents_by_hand(run):
    c = compare(run, "province", normalize="share_of_documents", min_docs=1)
    assert c.matrix.loc["rule_of_law", "广东省"] == pytest.approx(1.0)    # d1 and d2
    assert c.matrix.loc["admin_burden", "广东省"] == pytest.approx(0.5)   # d1 only
    assert c.matrix.loc["admin_burden", TOTAL] == pytest.approx(2 / 5)    # d1, d6 of 5 documents
    assert c.matrix.loc["digital_governance", TOTAL] == pytest.approx(1 / 5)


def test_years_ascending_and_types_filter(run):
    c = compare(run, "year", normalize="count", min_docs=1)
    assert list(c.matrix.columns) == ["2023", "2024", TOTAL]
    assert c.counts.loc["rule_of_law"].tolist() == [1, 5, 6]
    with_other = compare(run, "province", types=["problem", "measure", "experience", "other"], normalize="count")
    assert with_other.counts.loc["rule_of_law", "广东省"] == 4
    only_problems = compare(run, "province", types=["problem"], normalize="count")
    assert only_problems.counts.loc["rule_of_law", TOTAL] == 2
    with pytest.raises(CompareError, match="unknown sentence type"):
        compare(run, "province", types=["problems"])


def test_theme_selection_by_id_or_chinese_name(run):
    c = compare(run, "province", themes=["法治", "grid_management"], normalize="count")
    assert list(c.matrix.index) == ["rule_of_law", "grid_management", TOTAL]
    assert c.counts.loc[TOTAL, "海南省"] == 2
    with pytest.raises(CompareError, match="unknown theme 'nope'.*rule_of_law"):
        compare(run, "province", themes=["nope"])
    with pytest.raises(CompareError, match="cannot compare by"):
        compare(run, "planet")


def test_evidence_backs_every_cell(run):
    c = compare(run, "province", min_docs=1)
    sents = load(run, "sentences").set_index(["doc_id", "sent_id"])
    docs = load(run, "documents").set_index("doc_id")
    assert len(c.evidence) == c.counts.drop(index=TOTAL, columns=TOTAL).to_numpy().sum() == 13
    for e in c.evidence.itertuples():
        sent = sents.loc[(e.doc_id, e.sent_id)]
        assert e.theme_id in list(sent["themes"])
        assert sent["text"] == e.text and sent["type"] in c.types
        province = docs.loc[e.doc_id, "province"]
        assert (UNKNOWN if pd.isna(province) else province) == e.group
    for t in c.themes.index:
        for g in c.groups.index:
            assert len(c.cell_evidence(t, g)) == c.counts.loc[t, g]


def test_duplicates_left_out_unless_included(run):
    base = compare(run, "province", normalize="count", min_docs=1)
    dup = compare(run, "province", normalize="count", min_docs=1, include_duplicates=True)
    assert "d5" not in set(base.evidence["doc_id"]) and "d5" in set(dup.evidence["doc_id"])
    assert base.groups.loc["广东省", "n_docs"] == 2 and dup.groups.loc["广东省", "n_docs"] == 3
    assert base.counts.loc["admin_burden", "广东省"] == 2 and dup.counts.loc["admin_burden", "广东省"] == 3
    assert dup.groups.loc["广东省", "n_sentences"] == 11
    assert any("1 near-duplicate documents left out" in n for n in base.notes)


def test_small_groups_marked_not_dropped(run):
    c = compare(run, "province", min_docs=2)
    assert len(c.matrix.columns) == 5
    assert c.groups["below_min"].tolist() == [False, True, True, True]
    labels = list(c.table().columns[2:])
    assert labels == ["广东省", "上海市*", "海南省*", f"{UNKNOWN}*", "合计"]
    assert any(n.startswith("* 3 group(s) with fewer than 2 documents") for n in c.notes)


def test_group_by_doc_and_source(run):
    by_doc = compare(run, "doc", normalize="count", min_docs=1)
    assert set(by_doc.groups.index) == {"d1", "d2", "d3", "d4", "d6"}
    assert by_doc.groups.loc["d3", "label"] == "上海市政府工作报告"
    by_source = compare(run, "source", normalize="count", min_docs=1)
    assert by_source.counts.loc[TOTAL].to_dict() == {"seeds": 7, "city-reports-2024": 5, TOTAL: 12}


def test_csv_and_evidence_csv_read_back(run, tmp_path):
    c = compare(run, "province", min_docs=2)
    out = write_comparison(c, None, tmp_path / "m.csv")
    back = pd.read_csv(out, encoding="utf-8-sig")
    assert list(back.columns) == ["theme_id", "theme", "广东省", "上海市*", "海南省*", f"{UNKNOWN}*", "合计"]
    assert back.loc[0, "广东省"] == pytest.approx(1000 / 3)
    ev = pd.read_csv(tmp_path / "m.evidence.csv", encoding="utf-8-sig")
    assert len(ev) == 13 and RULE_PROB_2 in set(ev["text"])


def test_xlsx_has_matrix_and_evidence_sheets(run, tmp_path):
    c = compare(run, "province", normalize="count", min_docs=1)
    out = write_comparison(c, "xlsx", tmp_path / "m.xlsx")
    wb = load_workbook(out)
    assert wb.sheetnames[:2] == ["matrix", "evidence"]
    matrix = pd.read_excel(out, sheet_name="matrix")
    assert matrix.set_index("theme_id").loc["rule_of_law", "广东省"] == 3
    ev = pd.read_excel(out, sheet_name="evidence")
    assert {"theme", "group", "doc_id", "title", "region", "date", "type", "text"} <= set(ev.columns)
    assert len(ev) == 13


def test_xlsx_text_starting_with_equals_is_not_a_formula(run, tmp_path):
    c = compare(run, "province", normalize="count", min_docs=1)
    c.evidence.loc[0, "text"] = "=HYPERLINK(\"http://x\")"
    out = write_comparison(c, "xlsx", tmp_path / "m.xlsx")
    cell = load_workbook(out)["evidence"].cell(row=2, column=list(c.evidence.columns).index("text"))
    assert cell.data_type == "s"


def test_html_cells_link_to_their_sentences_and_text_is_escaped(run, tmp_path):
    c = compare(run, "province", min_docs=1)
    c.evidence.loc[0, "title"] = "<script>alert(1)</script>"
    out = write_comparison(c, "html", tmp_path / "m.html", run)
    text = out.read_text(encoding="utf-8")
    assert "<script>alert(1)" not in text and "&lt;script&gt;" in text
    page = lxml_html.parse(io.StringIO(text))
    links = page.xpath("//table[@class='matrix']//a/@href")
    nonzero = int((c.counts.drop(index=TOTAL) > 0).to_numpy().sum())
    assert len(links) == nonzero
    for href in links:
        target = page.xpath(f"//*[@id='{href[1:]}']")
        assert target, href
    cell = c.evidence[(c.evidence["theme_id"] == "admin_burden") & (c.evidence["group"] == UNKNOWN)]
    section = page.xpath(f"//section[.//td[contains(., '{ADMIN_PROB_2[:12]}')]]/@id")
    assert len(cell) == 1 and section


def test_markdown_and_terminal_table(run, tmp_path):
    c = compare(run, "year", normalize="share_of_documents", min_docs=3)
    md = write_comparison(c, "md", tmp_path / "m.md").read_text(encoding="utf-8")
    lines = [line for line in md.splitlines() if line.startswith("|")]
    assert lines[0] == "| theme_id | theme | 2023* | 2024 | 合计 |"
    assert len(lines) == 2 + 5
    assert "| rule_of_law | 法治 (rule_of_law) | 50% | 100% | 80% |" in lines
    text = write_comparison(c, "table")
    assert "法治" in text and "2023*" in text


def test_gaps_by_hand(run):
    g = gaps(run).table.set_index("theme_id")
    assert g.loc["admin_burden", ["problem_docs", "measure_docs", "experience_docs", "unaddressed_docs"]].tolist() \
        == [2, 1, 0, 1]  # d1 has both; d6 only the problem
    assert g.loc["rule_of_law", ["problem_docs", "measure_docs", "experience_docs", "unaddressed_docs"]].tolist() \
        == [1, 2, 2, 1]  # d2 problems, no measure in d2
    assert g.loc["admin_burden", "unaddressed_share"] == pytest.approx(0.5)
    assert g.loc["rule_of_law", "examples"] == RULE_PROB_2  # highest type score of d2's problems
    assert g.loc["grid_management", "unaddressed_docs"] == 0


def test_gaps_per_province_and_duplicates(run, tmp_path):
    g = gaps(run, by="province")
    t = g.table.set_index(["group", "theme_id"])
    assert t.loc[("广东省", "admin_burden"), "unaddressed_docs"] == 0
    assert t.loc[(UNKNOWN, "admin_burden"), "unaddressed_docs"] == 1
    assert t.loc[("广东省", "rule_of_law"), "unaddressed_docs"] == 1
    assert set(g.examples["doc_id"]) == {"d2", "d6"}
    with_dup = gaps(run, include_duplicates=True).table.set_index("theme_id")
    assert with_dup.loc["admin_burden", "unaddressed_docs"] == 2  # d5 repeats the problem without a measure
    out = write_gaps(g, "xlsx", tmp_path / "g.xlsx")
    assert load_workbook(out).sheetnames[:2] == ["gaps", "examples"]
    back = pd.read_csv(write_gaps(g, "csv", tmp_path / "g.csv"), encoding="utf-8-sig")
    assert len(back) == len(g.table)


def test_top_examples_deduplicated_and_type_counts(run):
    data = load_run(run, include_duplicates=True)
    ex = top_examples(data, k=3)
    grid = ex[ex["theme_id"] == "grid_management"]
    assert grid["text"].tolist().count(GRID_1) == 1 and len(grid) == 2
    counts = type_counts(load_run(run))
    assert counts.loc["法治 (rule_of_law)"].tolist() == [2, 2, 2]
    assert counts.index[0] == "法治 (rule_of_law)"


def test_missing_run_is_a_clear_error(tmp_path):
    with pytest.raises(CompareError, match="run folder not found"):
        compare(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CompareError, match="no documents table"):
        compare(tmp_path / "empty")


@pytest.fixture(scope="module")
def cli():
    app = typer.Typer()
    cli_compare.register(app)
    return app


def test_cli_compare_and_gaps(run, cli, tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["compare", str(run), "--by", "year", "--format", "md", "--normalize", "count"])
    assert res.exit_code == 0, res.output
    assert "| rule_of_law | 法治 (rule_of_law) | 1 | 5 | 6 |" in res.stdout
    res = runner.invoke(cli, ["compare", str(run), "--out", str(tmp_path / "m.xlsx"), "--chart",
                              str(tmp_path / "h.png")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "m.xlsx").stat().st_size > 0 and (tmp_path / "h.png").stat().st_size > 0
    res = runner.invoke(cli, ["gaps", str(run), "--by", "province", "--format", "csv"])
    assert res.exit_code == 0 and "unaddressed_docs" in res.stdout


def test_text_tables_are_never_cut():
    """`zhili gaps` on the sample printed mobility_a… and problem_do…: the text table had a fixed width."""
    from pipeline import report

    frame = pd.DataFrame({"theme_id": ["mobility_atomization"], "theme": ["人口流动与社会原子化"],
                          **{f"experience_docs_{i}": [i] for i in range(6)}})
    text = report._rich(frame, "缺口", [])
    assert "mobility_atomization" in text and "experience_docs_5" in text and "…" not in text


def test_cli_errors_are_one_line(run, cli, tmp_path):
    runner = CliRunner()
    for args in (["compare", str(tmp_path / "none")], ["compare", str(run), "--by", "planet"],
                 ["compare", str(run), "--format", "xlsx"], ["gaps", str(run), "--themes", "nope"]):
        res = runner.invoke(cli, args)
        assert res.exit_code == 1, args
        assert res.output.startswith("error: ") and "Traceback" not in res.output
        assert res.output.count("\n") == 1


def test_themes_recorded_only_in_sentence_themes_count(tmp_path):
    """A run may list a sentence's themes in sentence_themes only (e.g. discovered themes), without a themes table."""
    from compare_fixture import fixture_tables

    from pipeline.tables import RunWriter, to_table

    rows = fixture_tables()
    writer = RunWriter(tmp_path / "run")
    writer.write("documents", to_table("documents", rows["documents"]))
    writer.write("sentences", to_table("sentences", [dict(s, themes=[]) for s in rows["sentences"]]))
    writer.write("sentence_themes", to_table("sentence_themes", rows["sentence_themes"]))
    c = compare(writer.commit(), "province", normalize="count", min_docs=1)
    assert c.counts.loc["rule_of_law"].tolist() == [3, 1, 2, 0, 6]
    assert c.themes.loc["rule_of_law", "label"] == "rule_of_law"
    other = compare(tmp_path / "run", "province", types=["other"], normalize="count")
    assert other.counts.loc[TOTAL, TOTAL] == 1  # d2's 'other' sentence on rule_of_law
    none = compare(tmp_path / "run", "province", types=["other"], themes=["digital_governance"])
    assert none.counts.loc[TOTAL, TOTAL] == 0 and none.notes[0].startswith("no theme sentences")


def test_theme_kind_filter(run):
    assert len(compare(run, "province", kind="seeded").themes) == 4
    assert compare(run, "province", kind="discovered").counts.loc[TOTAL, TOTAL] == 0
    assert gaps(run, kind="seeded").notes[-1] == "themes: seeded only."
    default = gaps(run)  # seeded by default: a discovered theme comes from one type's sentences
    assert default.table.equals(gaps(run, kind="seeded").table) and "discovered themes are left out" in default.notes[-1]
    assert set(gaps(run, kind="all").table["theme_id"]) >= set(default.table["theme_id"])
    with pytest.raises(CompareError, match="unknown theme kind"):
        compare(run, "province", kind="found")
