"""Normalisation, boilerplate, compilations and metadata, on real seeds and small real snippets."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import ingest
from pipeline.config import load_config
from pipeline.ingest import compilation, metadata
from pipeline.ingest.boilerplate import Cleaner
from pipeline.ingest.normalize import ideographs, normalize
from pipeline.numerals import cn_number, plan_end_year

SHARED = Path(__file__).resolve().parents[2] / "shared"
SEEDS = SHARED / "corpora" / "seeds"
LABELS = SHARED / "eval" / "dev_labels.jsonl"
needs_seeds = pytest.mark.skipif(not (SEEDS.exists() and LABELS.exists()), reason="../shared seeds absent")
CFG = load_config()
DATA = Path(__file__).resolve().parent / "data"


# ------------------------------------------------------------------------------------ normalisation

@pytest.mark.parametrize("raw, expected", [
    ("社区　治理ＡＢＣ１２３", "社区治理ABC123"),
    ("加强 党建， “两新” 组织", "加强党建，“两新”组织"),
    ("GDP  增长 5%\t左右", "GDP 增长5%左右"),
    ("一、2023 年工作回顾 城镇新增就业 3.7 万人，第 3 条", "一、2023年工作回顾城镇新增就业3.7万人，第3条"),
    ("2023 年工作回顾\n1 总则\n3.2 职责", "2023年工作回顾\n1 总则\n3.2 职责"),
    ("  一、总体要求  \r\n\r\n\r\n\r\n（一）指导思想\u200b", "一、总体要求\n\n（一）指导思想"),
    ("我們第一届全國人民代表大會", "我们第一届全国人民代表大会"),
    ("，。；：？！“”《》（）", "，。；：？！“”《》（）"),
])
def test_normalize_examples(raw, expected):
    assert normalize(raw) == expected


TEXT = st.text(alphabet=st.sampled_from(list("社区治理的问题與會議國發展 \t\u3000\n\r，。ＡＢ１a1“”（）\xa0\u200b")), max_size=60)


@settings(max_examples=300, deadline=None)
@given(TEXT | st.text(max_size=40))
def test_normalize_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_normalize_keeps_every_ideograph(text):
    assert ideographs(normalize(text)) == ideographs(text)


# ------------------------------------------------------------------------------------ seeds end to end

@needs_seeds
def test_seed_compilations_split_clean_and_keep_body():
    cfg = CFG
    paths, errors = ingest.discover(SEEDS, cfg)
    assert not errors and len(paths) == 2
    chrome = ingest.source_chrome(paths, cfg)
    texts, titles = {}, {}
    for p in paths:
        res = ingest.read_file(p, SEEDS, cfg, chrome)
        assert not res.errors
        assert [a["article_index"] for a in res.articles] == list(range(10))
        titles[p.name] = [a["title"] for a in res.articles]
        texts[p.name] = "\n".join(a["text"] for a in res.articles)
        for a in res.articles:
            assert a["date"] == "2024-04-29" and a["year"] == 2024 and a["source"] == "seeds"
            assert a["format"] == "txt" and a["encoding"] == "utf-8" and len(a["sha256"]) == 64
    assert titles["000_db4ec482fa6dddea.txt"] == [f"基层社会治理难点篇{i}" for i in range(1, 11)]
    assert titles["001_69ca87c3cf2ff7ef.txt"] == [f"社区治理经验篇{i}" for i in range(1, 11)]
    labels = [json.loads(line) for line in LABELS.open(encoding="utf-8")]
    lost = [r["text"] for r in labels if r["type"] != "other" and normalize(r["text"]) not in texts[r["doc"]]]
    assert lost == []
    everything = "\n".join(texts.values())
    for chrome_unit in ("版权所有", "首页范文", "下面是小编给大家带来的", "希望大家喜欢", "发布时间",
                        "基层社会治理难点十篇", "社区治理经验十篇\n"):
        assert chrome_unit not in everything
    assert "3、以建设社区基层思想政治工作队伍为重点。\n" in texts["000_db4ec482fa6dddea.txt"]


# ------------------------------------------------------------------------------------ boilerplate

PAGE = """首页 > 范文大全 > 工作总结
当前位置：首页 > 社区治理
社区治理工作总结
发布时间：2021-09-29 10:00 来源：某某网 作者：李四
社区治理工作总结
一、主要做法
今年以来，我们坚持党建引领，建立网格党支部12个，召开居民议事会36次。本站所有内容来源于网络
二、存在问题
社区工作者队伍年龄偏大，专业化能力不足。下面是小编为大家整理的工作总结。希望对你有所帮助！
上一篇：社区工作计划
相关推荐
社区治理经验十篇
本站部分文章来自网络，如有侵权请联系删除
申明敬告：本站不保证该用户上传的文档完整性，不预览、不比对内容而直接下载产生的反悔问题本站不予受理。
"""


def test_web_chrome_removed_body_kept():
    cleaner = Cleaner(CFG.boilerplate)
    text = cleaner.clean(normalize(PAGE), title="社区治理工作总结")
    assert text.split("\n")[0] == "一、主要做法"
    assert "建立网格党支部12个，召开居民议事会36次。" in text
    assert "社区工作者队伍年龄偏大，专业化能力不足。" in text
    for chrome in ("首页", "当前位置", "发布时间", "上一篇", "相关推荐", "十篇", "侵权", "申明敬告", "小编", "有所帮助"):
        assert chrome not in text, chrome


def test_page_metadata_read_before_chrome_removal(tmp_path):
    p = tmp_path / "site" / "总结.txt"
    p.parent.mkdir()
    p.write_text(PAGE, encoding="utf-8")
    (art,) = ingest.read_file(p, tmp_path, CFG).articles
    assert (art["title"], art["date"], art["source"], art["author"]) == ("社区治理工作总结", "2021-09-29", "某某网", "李四")


def test_tail_marker_at_the_top_does_not_swallow_the_body():
    text = normalize("下一篇：别的文章\n" + "一、主要做法\n今年以来，我们建立网格党支部12个。\n" * 5)
    assert Cleaner(CFG.boilerplate).clean(text).count("网格党支部") == 5


def test_a_licence_notice_at_the_end_is_chrome_even_broken_over_lines():
    """Wikisource's notices end every record of the national reports, broken over lines where the page had
    links (real tails of the 2025 government work report and of a 1921 report); the model had tagged 103 of
    their 258 sentences measures."""
    body = "各位代表！信心凝聚力量，实干谱写华章。我们要更加紧密地团结在以习近平同志为核心的党中央周围。\n" * 4
    tails = ["本作品是中华人民共和国的\n法律\n、\n法规\n，国家机关的决议、决定、命令和其他具有立法、行政、司法性质的文件，"
             "及其官方正式译文。根据《\n中华人民共和国著作权法\n》第五条第一项，本作品不适用于该法，在\n中国大陆\n"
             "，也可能在其他管辖区，属于\n公有领域\n。\nPublic domain\nPublic domain\nfalse\nfalse",
             "这部作品在1931年1月1日以前以匿名或別名發表，確實作者身份不明（包括僅以法人名義發表），在\n美國\n"
             "以及版權期限是\n匿名別名作品發表起95年\n以下的國家以及地区屬於\n公有領域\n。\nPublic domain"]
    for tail in tails:
        text = Cleaner(CFG.boilerplate).clean(normalize(body + tail))
        assert text == normalize(body).strip()
    kept = body + "本作品集收录了各地社区治理的典型经验。\n"  # a line that starts so but is no notice
    assert "本作品集" in Cleaner(CFG.boilerplate).clean(normalize(kept))


def test_lines_repeated_across_a_source_are_chrome_but_headings_are_kept(tmp_path):
    for i in range(4):
        (tmp_path / f"{i}.txt").write_text(
            f"某某市政务网欢迎您\n一、总体要求\n第{i}篇正文，加强社区治理，第{i}次会议。\n打印本页 关闭窗口 收藏\n", encoding="utf-8")
    paths, _ = ingest.discover(tmp_path, CFG)
    chrome = ingest.source_chrome(paths, CFG)
    assert "某某市政务网欢迎您" in chrome and "一、总体要求" not in chrome
    (art,) = ingest.read_file(paths[0], tmp_path, CFG, chrome).articles
    assert "欢迎您" not in art["text"] and "一、总体要求" in art["text"] and "打印本页" not in art["text"]


# ------------------------------------------------------------------------------------ compilations

ARTICLE = "今年以来，我们坚持党建引领基层治理，建立网格党支部，召开居民议事会，居民参与度明显提高。" * 6


def test_compilation_with_chinese_numbered_articles():
    text = normalize("社区治理经验汇编\n" + "".join(f"第{n}篇 经验{n}\n{ARTICLE}\n" for n in "一二三"))
    preamble, parts = compilation.split(text, CFG.compilation)
    assert preamble == "社区治理经验汇编"
    assert [p.heading for p in parts] == ["第一篇经验一", "第二篇经验二", "第三篇经验三"]


@needs_seeds
def test_an_article_heading_glued_to_the_line_before_still_splits():
    """A PDF's reflow joined 社区治理经验篇7 to the full line before it (…的研究制定工作社区治理经验篇7), and then
    the numbers ran 1-6, 8-10 and nothing was split: the missing heading is found at the end of that line,
    where it is the same words as the others around its number."""
    text = normalize((SEEDS / "001_69ca87c3cf2ff7ef.txt").read_text(encoding="utf-8"))
    glued = text.replace("研究制定工作\n\n社区治理经验篇7", "研究制定工作社区治理经验篇7")
    assert glued != text
    _, parts = compilation.split(glued, CFG.compilation)
    assert [p.heading for p in parts] == [f"社区治理经验篇{i}" for i in range(1, 11)]
    assert parts[5].text.endswith("研究制定工作")


def test_a_glued_heading_is_sought_only_among_alike_headings():
    """The repair needs every found heading to be the same words around its number: 第一篇 经验一 … are not,
    so a line ending in 第二篇经验二 is left as it is (and the file is not a compilation)."""
    text = normalize("社区治理经验汇编\n" + "".join(f"第{n}篇 经验{n}\n{ARTICLE}\n" for n in "一二三"))
    glued = text.replace("\n第二篇经验二", "第二篇经验二")
    assert compilation.split(glued, CFG.compilation) is None


def test_normal_report_and_reference_lists_are_not_split():
    report = normalize("".join(f"{n}、工作重点\n{ARTICLE}\n" for n in "一二三四"))
    assert compilation.split(report, CFG.compilation) is None
    refs = normalize(ARTICLE + "\n" + "".join(f"【{i}】李培林：《巨变》，2002年。\n" for i in range(1, 5)))
    assert compilation.split(refs, CFG.compilation) is None
    out_of_order = normalize("".join(f"汇编篇{n}\n{ARTICLE}\n" for n in (1, 3, 2)))
    assert compilation.split(out_of_order, CFG.compilation) is None


# ------------------------------------------------------------------------------------ metadata

@pytest.mark.parametrize("text, date", [
    ("2021年9月29日", "2021-09-29"), ("发布于2021-09-29 14:26", "2021-09-29"), ("2021.9.2", "2021-09-02"),
    ("2023年12月", "2023-12"), ("2021年13月40日", None), ("编号1003-9082", None),
    ("二〇二四年三月十五日", "2024-03-15"), ("二○二三年十二月三十一日", "2023-12-31"), ("二〇二四年十三月一日", None),
])
def test_parse_date(text, date):
    assert metadata.parse_date(text) == date


def test_cn_numbers_and_titles():
    assert [cn_number(s) for s in ("一", "十", "十二", "二十三", "一百零五", "12", "甲")] == [1, 10, 12, 23, 105, 12, None]
    assert [cn_number(s) for s in ("一九八五", "二〇二四", "一九八○", "二零三五")] == [1985, 2024, 1980, 2035]  # years
    assert [plan_end_year(n) for n in (1, 2, 3, 6, 10, 14, 15)] == [1957, 1962, 1970, 1985, 2005, 2025, 2030]
    assert metadata.looks_like_title("关于加强基层治理的实施意见")
    assert not metadata.looks_like_title("各位代表：")
    assert not metadata.looks_like_title("一、总体要求")
    assert not metadata.looks_like_title("我们建立了网格党支部。")


def test_a_speech_that_lost_its_title_is_named_by_its_file(tmp_path):
    """Three city reports open below their title: with the occasion (杭州), its tail cut at 会议上 (池州) or the
    speaker (蚌埠). None is a title; a title in the same form as a speech's occasion still is."""
    for line in ("（2024年1月29日在杭州市第十四届人民代表大会第四次会议上）", "人民代表大会第二次会议上", "市长  马  军",
                 "杭州市人民政府市长  姚高员", "——2024年2月29日在玉林市第六届人民代表大会第六次会议上 市长 张惠强"):
        assert not metadata.looks_like_title(line, CFG.ingest.not_title), line
    for line in ("在全市基层治理工作会议上的讲话", "关于加强基层治理的实施意见（试行）", "2024年政府工作报告"):
        assert metadata.looks_like_title(line, CFG.ingest.not_title), line
    p = tmp_path / "city-reports-2024" / "杭州.txt"
    p.parent.mkdir()
    p.write_text("（2024年1月29日在杭州市第十四届人民代表大会第四次会议上）\n\n杭州市人民政府市长  姚高员\n\n各位代表：\n\n"
                 + ARTICLE, encoding="utf-8")
    (art,) = ingest.read_file(p, tmp_path, CFG).articles
    assert art["title"] == "杭州" and art["text"].startswith("（2024年1月29日")


def test_an_official_document_is_dated_by_its_signature(tmp_path):
    """A 方案 or 通知 states its date below the issuer at its end, not at its head; a date inside a closing
    sentence is not a signature."""
    p = tmp_path / "实施方案.txt"
    body = "某区关于深化党建引领基层治理的实施方案\n\n" + "".join(f"{n}、工作目标\n{ARTICLE}\n\n" for n in "一二三四五六七八")
    p.write_text(body + "中共某区委办公室\n二〇二四年三月十五日\n", encoding="utf-8")
    (art,) = ingest.read_file(p, p.parent, CFG).articles
    assert (art["date"], art["year"]) == ("2024-03-15", 2024)
    p.write_text(body + "会议于2024年3月15日召开。\n", encoding="utf-8")
    (art,) = ingest.read_file(p, p.parent, CFG).articles
    assert art["date"] is None


def test_year_from_folder_when_the_text_has_no_date(tmp_path):
    p = tmp_path / "city-reports-2024" / "北京.txt"
    p.parent.mkdir()
    p.write_text("各位代表：\n\n现在，我代表北京市人民政府，向大会报告政府工作，请予审议。", encoding="utf-8")
    (art,) = ingest.read_file(p, p.parent, CFG).articles
    assert (art["year"], art["date"], art["title"], art["source"]) == (2024, None, "北京", "city-reports-2024")
    assert art["region_hint"] == "city-reports-2024/北京" and art["source_path"] == "北京.txt"


def test_an_official_document_is_titled_below_its_header_and_number(tmp_path):
    """A red-header document (GB/T 9704): the issuer's header and the document number are not its title
    and stay in its text; the title it repeats above the body is not run into the body's first sentence."""
    p = tmp_path / "notice.txt"
    p.write_text((DATA / "official_notice.txt").read_text(encoding="utf-8"), encoding="utf-8")
    (art,) = ingest.read_file(p, tmp_path, CFG).articles
    assert art["title"] == "关于印发《某某街道2024年党建引领社区治理工作方案》的通知"
    assert art["date"] == "2024-03-15"
    lines = art["text"].split("\n")
    assert lines[:2] == ["中共某某街道工作委员会办公室文件", "某街办发〔2024〕12号"]
    assert "某某街道2024年党建引领社区治理工作方案" in lines
    assert any(line.startswith("为深入贯彻落实中央和省市") for line in lines)


def test_a_deadline_in_the_head_lines_is_not_the_documents_date(tmp_path):
    """请于2024年3月20日前报送 bounds a task: the document is dated by its signature below (2024-03-05)."""
    assert metadata.first_date(["关于报送社区治理材料的通知", "请于2024年3月20日前报送至街道党工委。"]) is None
    assert metadata.first_date(["本办法自2024年1月1日起施行。", "截至2023年底已建成120个", "2023年12月5日"]) == "2023-12-05"
    assert metadata.first_date(["发布时间：2024-03-15 起草：张三"]) == "2024-03-15"
    p = tmp_path / "通知.txt"
    p.write_text("关于报送社区治理材料的通知\n各社区：\n请于2024年3月20日前将社区治理工作总结报送至街道党工委办公室，"
                 "逾期未报的予以通报。\n某某街道党工委\n2024年3月5日\n", encoding="utf-8")
    (art,) = ingest.read_file(p, tmp_path, CFG).articles
    assert art["date"] == "2024-03-05"


@pytest.mark.parametrize("text, title", [
    ("某市人民政府文件\n某政发〔2023〕5号\n签发人：张三\n关于加强社区建设的意见\n各区县人民政府：", "关于加强社区建设的意见"),
    ("特急\n关于做好防汛工作的通知\n各街道：", "关于做好防汛工作的通知"),
    ("社区治理调研报告\n一、基本情况", "社区治理调研报告"),
])
def test_title_line_passes_over_header_lines(text, title):
    found, rest = metadata.title_line(text, CFG.ingest.title_skip)
    assert found == title and title not in rest
    assert rest == text.replace(title + "\n", "")  # the lines above it stay, in order
