"""A tiny run for the compare and report tests, small enough to check every figure by hand.

Sentences are real: copied from /work/shared/corpora (seeds: 基层社会治理难点十篇 / 社区治理经验十篇, and
city-reports-2024: 上海, 三亚), with types and themes assigned by hand as in eval/GUIDELINES.md. Regions
and years are hand-assigned so the groups differ in size.

    doc  province  year  duplicate_of  sentences (type: themes)
    d1   广东省    2023  -             other; experience: grid; experience: rule; problem: admin; measure: admin
    d2   广东省    2024  -             other; problem: rule; problem: rule; other: rule
    d3   上海市    2024  -             experience: digital; measure: rule; experience: digital; other
    d4   海南省    2024  -             measure: rule; experience: grid + rule
    d5   广东省    2023  d1            problem: admin; experience: grid
    d6   (none)    2023  -             problem: admin; other
"""
from __future__ import annotations

from pathlib import Path

from pipeline.tables import RunWriter, to_table

THEMES = [
    ("grid_management", "网格化管理", "grid management"),
    ("rule_of_law", "法治", "rule of law"),
    ("admin_burden", "行政负担", "administrative burden"),
    ("digital_governance", "数字治理", "digital governance"),
]

OTHER_1 = "当前我国正处于发展的重要机遇期,同时也是社会矛盾的凸显期。"
GRID_1 = "目前,已建立社区网格党支部29个,成立党小组173个。"
RULE_EXP = "社区成立以来,积极以法律法规宣传教育为重点,大力倡导社区干部学法、懂法、用法。"
ADMIN_PROB = "在乡镇社会治理过程中,基层往往被布置过多的任务,在相关权力配置上却不对应。"
ADMIN_MEAS = "明确划分政府职能部门与居委会各自的行为边界和权利范围,通过列举的方式细化行政组织在社区的权利和需要社区协助的工作任务。"
OTHER_2 = "社会治理的主体正在经历从政府组织独自引领到以政府组织为主,社会组织共同参与的过程。"
RULE_PROB_1 = "我国目前社会尚处于法治建设初级水平阶段,社会上存在大量侵权事实,尤其是强势群体对于相对弱势群体而言更是司空见惯。"
RULE_PROB_2 = "目前农村村社干部群体中依法行政的能力有待进一步提高。"
OTHER_RULE = "每个乡镇的经济发展情况不一样,遗留问题也不同,从社会治理的角度讲,重点也不一样。"
DIGITAL_1 = "政务服务“一网通办”累计推出41个“一件事”，200个高频事项实现“智慧好办”，296项政策服务实现“免申即享”。"
RULE_MEAS_SH = "增强公职人员法律意识和法治思维，严格落实行政机关负责人出庭应诉制度。"
DIGITAL_2 = "长三角一体化发展21项重点合作事项加快落地，152项政务服务事项实现跨省市“一网通办”。"
OTHER_SH = "深入学习贯彻习近平法治思想，将政府各项工作全面纳入法治轨道。"
RULE_MEAS_SY = "组建依法治市委员会专家库，推进行政机关负责人出庭应诉常态化。"
GRID_RULE = "深入开展扫黑除恶专项斗争,各社区网格员在扫黑除恶专项斗争中累计入户排查29794户,发放扫黑除恶专项斗争入户明白卡27434张。"
ADMIN_PROB_2 = "众所周知,以前的城市居委会曾被群众形象地称为政府的\"腿\",是作为行政部门在最底层履行行政事务的准行政组织存在的。"
OTHER_3 = "党的基层组织作为基层社会治理的领导者、组织者和引领者,在基层社会治理中发挥核心领导作用。"

# doc_id, title, province, city, year, duplicate_of, source, [(text, type, type_score, themes)]
DOCS = [
    ("d1", "社区治理经验篇1", "广东省", "深圳市", 2023, None, "seeds", [
        (OTHER_1, "other", 0.9, []),
        (GRID_1, "experience", 0.8, ["grid_management"]),
        (RULE_EXP, "experience", 0.7, ["rule_of_law"]),
        (ADMIN_PROB, "problem", 0.9, ["admin_burden"]),
        (ADMIN_MEAS, "measure", 0.6, ["admin_burden"]),
    ]),
    ("d2", "基层社会治理难点篇3", "广东省", "广州市", 2024, None, "seeds", [
        (OTHER_2, "other", 0.8, []),
        (RULE_PROB_1, "problem", 0.7, ["rule_of_law"]),
        (RULE_PROB_2, "problem", 0.95, ["rule_of_law"]),
        (OTHER_RULE, "other", 0.5, ["rule_of_law"]),
    ]),
    ("d3", "上海市政府工作报告", "上海市", "上海市", 2024, None, "city-reports-2024", [
        (DIGITAL_1, "experience", 0.9, ["digital_governance"]),
        (RULE_MEAS_SH, "measure", 0.85, ["rule_of_law"]),
        (DIGITAL_2, "experience", 0.8, ["digital_governance"]),
        (OTHER_SH, "other", 0.6, []),
    ]),
    ("d4", "三亚市政府工作报告", "海南省", "三亚市", 2024, None, "city-reports-2024", [
        (RULE_MEAS_SY, "measure", 0.9, ["rule_of_law"]),
        (GRID_RULE, "experience", 0.75, ["grid_management", "rule_of_law"]),
    ]),
    ("d5", "社区治理经验篇1(转载)", "广东省", "深圳市", 2023, "d1", "seeds", [
        (ADMIN_PROB, "problem", 0.9, ["admin_burden"]),
        (GRID_1, "experience", 0.8, ["grid_management"]),
    ]),
    ("d6", "基层社会治理难点篇7", None, None, 2023, None, "seeds", [
        (ADMIN_PROB_2, "problem", 0.8, ["admin_burden"]),
        (OTHER_3, "other", 0.9, []),
    ]),
]


def fixture_tables() -> dict[str, list[dict]]:
    """The rows of every table of the fixture run."""
    docs, sents, sent_themes = [], [], []
    for doc_id, title, province, city, year, dup, source, rows in DOCS:
        text, start = "", 0
        for i, (s, typ, score, themes) in enumerate(rows):
            sents.append(dict(doc_id=doc_id, sent_id=i, section_id=0, para_id=i, start=start,
                              end=start + len(s), text=s, is_heading=False, type=typ, type_score=score,
                              cues=[], method="rule", themes=themes))
            sent_themes += [dict(doc_id=doc_id, sent_id=i, theme_id=t, score=round(0.5 + score / 2, 3),
                                 method="pattern", evidence="") for t in themes]
            text += s
            start += len(s)
        docs.append(dict(doc_id=doc_id, source_path=f"{source}/{doc_id}.txt", article_index=0, title=title,
                         date=f"{year}-03-01", year=year, source=source, text=text, n_chars=len(text),
                         region_code=None, region_name=city, province_code=None, province=province,
                         city_code=None, city=city, regions=[], duplicate_of=dup, n_sections=1,
                         n_sentences=len(rows)))
    themes = [dict(theme_id=t, name_zh=zh, name_en=en, kind="seeded", top_terms=[], examples=[])
              for t, zh, en in THEMES]
    return {"documents": docs, "sentences": sents, "sentence_themes": sent_themes, "themes": themes}


def build_run(out: Path, run_info: dict | None = None) -> Path:
    """Write the fixture as a run folder with RunWriter, like the runner does."""
    writer = RunWriter(out)
    for name, rows in fixture_tables().items():
        writer.write(name, to_table(name, rows))
    writer.ensure("sections", "mentions", "doc_themes", "errors")
    if run_info is not None:
        writer.write_json("run.json", run_info)
    return writer.commit()
