"""Region recognition: mentions with exact offsets, short forms, false positives, primary region."""
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import ConfigError, load_config
from pipeline.ingest.regions import Gazetteer, find_mentions, primary_region, short_form

SHARED = Path(__file__).resolve().parents[2] / "shared"
REPORTS = SHARED / "corpora" / "city-reports-2024"

# Real sentences from city-reports-2024 (file named in each comment).
TIANJIN = "从天津看，我市拥有京津冀协同发展的战略优势，拥有滨海新区、自贸试验区、国家级开发区"  # 天津
LIANGSHAN = "刚刚过去的2023年，是全面贯彻党的二十大精神、全面建设社会主义现代化凉山的开局之年。"  # 凉山
TIANMEN = "投资80亿元的锦纶丝产业园等一批重大项目落户天门。"  # 天门
GUANGXI = "深入学习贯彻习近平总书记对广西重大方略要求"  # 北海
DONGFANG = "着眼于人员跨境往来便利化，加快建设东方枢纽国际商务合作区。"  # 上海
ZHONGSHAN_ROAD = "中山市优化市政基础设施建设，改造提升博爱路、中山路、华柏路等市政道路"  # 中山 (中山市 added)
CHANGZHI = "群众精神文化生活更加丰富，长治久安的思想基础更加稳固。"  # 乌鲁木齐
GUILIN = "《桂林市禁止乱挖滥采砂石土矿产资源规定》获批实施。"  # 桂林


GAZ = Gazetteer.load(load_config())


@pytest.fixture(scope="module")
def gaz():
    return GAZ


def found(text, gaz, hint=""):
    ms = find_mentions(text, gaz, hint)
    for m in ms:
        assert text[m["start"]:m["end"]] == m["text"]
    return [(m["text"], m["code"]) for m in ms]


def test_real_sentences_have_exact_offsets(gaz):
    ms = find_mentions(TIANJIN, gaz)
    assert [(m["start"], m["end"], m["text"], m["code"], m["name"], m["level"]) for m in ms] == [
        (1, 3, "天津", "12", "天津市", "province"),
        (24, 28, "滨海新区", "120116", "滨海新区", "county"),
    ]
    assert ms[0]["city_code"] == "1201" and ms[1]["city_code"] == "1201"  # municipality rule
    assert found(LIANGSHAN, gaz) == [("凉山", "5134")]
    assert find_mentions(LIANGSHAN, gaz)[0]["name"] == "凉山彝族自治州"
    assert found(GUANGXI, gaz) == [("广西", "45")]


def test_short_forms_of_provinces_and_cities(gaz):
    assert found("北京、天津、内蒙古、新疆、内蒙", gaz) == [
        ("北京", "11"), ("天津", "12"), ("内蒙古", "15"), ("新疆", "65"), ("内蒙", "15")]
    assert found("成都、恩施", gaz) == [("成都", "5101"), ("恩施", "4228")]
    assert find_mentions("恩施", gaz)[0]["name"] == "恩施土家族苗族自治州"


def test_short_form_derivation():
    ethnic = ["土家", "苗", "彝", "水", "柯尔克孜"]
    assert short_form("恩施土家族苗族自治州", ["自治州", "市"], ethnic) == "恩施"
    assert short_form("克孜勒苏柯尔克孜自治州", ["自治州", "市"], ethnic) == "克孜勒苏"
    assert short_form("六盘水市", ["自治州", "市"], ethnic) == "六盘水"  # 水 is an ethnic name, not a suffix here


def test_shared_county_name_resolved_by_context(gaz):
    assert dict(found("天津市河东区加快老旧小区改造", gaz))["河东区"] == "120102"
    assert dict(found("临沂市河东区加快老旧小区改造", gaz))["河东区"] == "371312"
    assert dict(found("河东区加快老旧小区改造", gaz, hint="临沂.txt"))["河东区"] == "371312"
    assert dict(found("河东区加快老旧小区改造", gaz))["河东区"] == "120102"  # no context: first by code


def test_county_short_form_needs_its_city(gaz):
    assert found(TIANMEN, gaz) == []  # 天门 alone could be a gate of heaven
    assert found(TIANMEN, gaz, hint="city-reports-2024/天门.txt") == [("天门", "429006")]
    assert found("湖北省天门市", gaz) == [("湖北省", "42"), ("天门市", "429006")]
    assert found("深圳市龙岗区。龙岗", gaz) == [("深圳市", "4403"), ("龙岗区", "440307"), ("龙岗", "440307")]
    assert found("龙岗", gaz) == []


def test_false_positives_in_real_sentences(gaz):
    assert found(DONGFANG, gaz) == []
    assert found(ZHONGSHAN_ROAD, gaz) == [("中山市", "4420")]
    assert found(CHANGZHI, gaz) == []
    assert found(GUILIN, gaz) == [("桂林市", "4503")]  # 资源 is not 资源县
    assert found("湖北京山市", gaz) == [("湖北", "42"), ("京山市", "420882")]  # not 北京
    assert found("孙中山先生", gaz) == []


def test_nested_names_prefer_the_larger_unit(gaz):
    assert found("长沙市岳麓区。长沙", gaz)[-1] == ("长沙", "4301")  # the city, not 长沙县
    assert found("吉林", gaz) == [("吉林", "22")]
    assert found("吉林市丰满区。吉林", gaz)[-1] == ("吉林", "2202")


def test_a_city_is_not_its_county_of_the_same_name(gaz):
    """A city report that writes its same-named county in full (乌鲁木齐县, 长沙县) still means the city by the bare
    name: the county was 'named without doubt' and won, so 长沙's report mentioned 长沙县 70 times and 长沙市 6
    times, and seven city reports (长沙, 乌鲁木齐, 承德, 吉安, 东营, 广安, 恩施) had the county as their region."""
    assert found("长沙县、浏阳市。长沙", gaz)[-1] == ("长沙", "4301")
    assert found("乌鲁木齐县，天山区。乌鲁木齐", gaz)[-1] == ("乌鲁木齐", "6501")
    assert found("恩施市。恩施", gaz)[-1] == ("恩施", "4228")  # the prefecture (自治州), not 恩施市
    assert found("吉林市丰满区。吉林", gaz)[-1] == ("吉林", "2202")  # a city and its province: unchanged
    text = (Path(__file__).resolve().parents[1] / "corpora" / "sample" / "city-reports-2024" / "乌鲁木齐.txt").read_text(
        encoding="utf-8")
    hint = "city-reports-2024/乌鲁木齐.txt"
    r = primary_region(find_mentions(text, gaz, hint), hint, gaz)
    assert (r["region_code"], r["region_name"]) == ("6501", "乌鲁木齐市")


def test_words_are_not_places(gaz):
    """和平 'peace' (和平区 of 天津 and 沈阳), 和 'and' before 县 (和县, 马鞍山), rivers and regions named after a
    place, in real sentences; the places themselves are still found."""
    peace = "我们要求一个和平的环境，一个和平的世界。天津、沈阳的工业生产都有增长。"  # 1954 State Council report
    assert [n for n, _ in found(peace, gaz)] == ["天津", "沈阳"]
    assert found("培训10次，市直部门和县区赴先进地区学习。", gaz) == []  # 淮北
    assert found("中心城区带动力和县城承载力还需提升。", gaz) == []  # 温州
    assert found("加快推进赤水河水源涵养", gaz) == []  # 泸州: a river, not 赤水市
    assert [n for n, _ in found("对接武汉，成功举办江汉平原（天门）油菜花节", gaz)] == ["武汉", "天门"]  # not 江汉区
    assert [n for n, _ in found("中国—东盟信息港南宁核心基地", gaz)] == ["南宁"]  # not 港南区 + 宁
    assert [n for n, _ in found("临沂市河东区", gaz)] == ["临沂市", "河东区"]
    assert [n for n, _ in found("汕头市河长制条例；天门河", gaz)] == ["汕头市"]  # 河长制: the river chief system
    assert found("马鞍山市和县", gaz) == [("马鞍山市", "3405"), ("和县", "340523")]
    assert found("天津市和平区", gaz) == [("天津市", "12"), ("和平区", "120101")]


def test_a_national_bodys_document_has_no_region(gaz):
    """The State Council's reports name a province a few times in 30,000 characters; their title says they are
    national. A local implementation of a national law names its place in the title and keeps it."""
    text = "海南建省办经济特区。海南的开发。北京。"  # three mentions, two of 海南: a majority
    assert primary_region(find_mentions(text, gaz), "", gaz)["region_name"] == "海南省"
    for title in ("1988年中华人民共和国国务院政府工作报告", "在中国共产党第十次全国代表大会上的报告",
                  "第十届全国人民代表大会第五次会议关于政府工作报告的决议", "全面开创社会主义现代化建设的新局面 (十二大)"):
        r = primary_region(find_mentions(text, gaz), "", gaz, title)
        assert r["region_code"] is None and r["regions"] == ["11", "46"], title
    for local, place in (("海南省实施《中华人民共和国农业技术推广法》办法", "海南省"), ("北京共产主义组织的报告 (一大)", "北京市")):
        assert primary_region(find_mentions(text, gaz), "", gaz, local)["region_name"] == place, local
    assert primary_region(find_mentions(text, gaz, "海南/x.md"), "海南/x.md", gaz,
                          "国务院关于海南的批复")["region_name"] == "海南省"  # a hint is trusted first


def test_a_place_leading_the_title_is_the_articles_own(gaz):
    """A city's law names one of its districts more often than the city (平顶山: 县（市）、石龙区人民政府 ten times,
    the city once): the law is still the city's. So is a law naming a fish (松江鲈) as often as its city. A
    compilation's file name is no article's title: its articles still go down to their district."""
    text = "第七条市、县（市）、石龙区人民政府城乡规划主管部门。" * 10 + "平顶山市。"
    hint = "河南地方法规/地方性法规/河南/平顶山市城乡规划建设管理条例(2017-11-07).md"
    assert primary_region(find_mentions(text, gaz, hint), hint, gaz)["region_name"] == "石龙区"  # no title
    r = primary_region(find_mentions(text, gaz, hint), hint, gaz, "平顶山市城乡规划建设管理条例")
    assert (r["region_name"], r["province"]) == ("平顶山市", "河南省")
    fish = "第三十九条江豚、胭脂鱼、松江鲈等国家重点保护水生野生动物。上海市。"
    hint = "上海地方法规/上海/上海市中华鲟保护管理条例(2020-05-14).md"
    assert primary_region(find_mentions(fish, gaz, hint), hint, gaz, "上海市中华鲟保护管理条例")["region_name"] == "上海市"
    city = "吉林市丰满区。吉林市船营区。吉林市。长春。"  # 吉林.txt: by the name alone the province, by the text the city
    hint = "city-reports-2024/吉林.txt"
    assert primary_region(find_mentions(city, gaz, hint), hint, gaz, "吉林")["region_name"] == "吉林市"
    hint = "吉林地方法规/吉林省物业管理条例.md"
    assert primary_region(find_mentions("长春市。延边州。", gaz, hint), hint, gaz, "吉林省物业管理条例")["region_name"] == "吉林省"
    district = "朝阳区推进老旧小区改造。朝阳区。北京市。"
    hint = "北京社区治理经验汇编.txt"
    assert primary_region(find_mentions(district, gaz, hint), hint, gaz, "社区治理经验篇3")["region_name"] == "朝阳区"


def test_primary_region_from_hints(gaz):
    def region(hint, text=""):
        return primary_region(find_mentions(text, gaz, hint), hint, gaz)

    assert region("city-reports-2024/北京.txt")["region_code"] == "11"
    assert region("city-reports-2024/北京.txt")["city_code"] == "1101"
    r = region("local-regulations/广东地方法规/地方性法规/清远市住宅小区物业管理条例(2022-12-07).md")
    assert (r["region_code"], r["province"], r["city"]) == ("4418", "广东省", "清远市")
    assert r["regions"] == ["44", "4418"]
    assert region("local-regulations/北京地方法规/地方性法规/x.md")["region_name"] == "北京市"
    r = region("city-reports-2024/天门.txt", TIANMEN)
    assert (r["region_code"], r["city_code"], r["province_code"]) == ("429006", "429006", "42")
    assert region("notes/关于学习北京经验.md")["region_code"] is None  # not a leading name


def test_primary_region_descends_only_on_a_clear_majority(gaz):
    r = primary_region(find_mentions("北京市朝阳区。朝阳区。北京", gaz), "", gaz)
    assert r["region_code"] == "110105" and r["city"] == "北京市"
    assert primary_region(find_mentions("广东、广西、云南和贵州", gaz), "", gaz)["region_code"] is None
    assert primary_region([], "", gaz)["regions"] == []


@pytest.mark.skipif(not REPORTS.exists(), reason="shared corpora absent")
def test_primary_region_of_real_city_reports_without_hint(gaz):
    for name, code in (("成都", "5101"), ("凉山", "5134"), ("天津", "12"), ("南京", "3201")):
        text = (REPORTS / f"{name}.txt").read_text(encoding="utf-8")
        assert primary_region(find_mentions(text, gaz), "", gaz)["region_code"] == code, name


NAMES = ["北京", "天津市", "河东区", "临沂", "广西", "内蒙古", "凉山", "恩施", "天门", "中山路", "东方", "吉林",
         "长治久安", "湖北", "京山市", "龙岗区", "成都", "北京大学"]
FILLER = ["，", "。", "的", "推进", "建设", " ", "\n", "a", "市", "区", "县", "省"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(NAMES + FILLER), max_size=40))
def test_every_mention_slices_the_text(parts):
    gaz = GAZ
    text = "".join(parts)
    ms = find_mentions(text, gaz, "临沂.txt")
    last = 0
    for m in ms:
        assert text[m["start"]:m["end"]] == m["text"]
        assert m["start"] >= last  # in order, never overlapping
        last = m["end"]
        assert m["level"] in ("province", "city", "county") and m["province_code"] == m["code"][:2]
    primary_region(ms, "临沂.txt", gaz)


def test_gazetteer_survives_pickling(gaz):
    import pickle

    assert find_mentions(TIANJIN, pickle.loads(pickle.dumps(gaz))) == find_mentions(TIANJIN, gaz)


def test_bad_lists_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "regions.yaml"
    bad.write_text("never_shrt: [东方]\n", encoding="utf-8")
    cfg = load_config()
    cfg.regions.lists = str(bad)
    with pytest.raises(ConfigError, match="never_shrt"):
        Gazetteer.load(cfg)
