"""Configuration: YAML files in configs/, validated by pydantic.

Everything tunable lives in YAML (boilerplate patterns, cue lexicons, themes, the user dictionary);
code only reads it. A mistake in a file is reported with the file and the dotted key, never as a
traceback, so a user can fix it without reading the code.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or invalid; the message names file and key."""


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a key must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


def _check_regexes(patterns: list[str]) -> list[str]:
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            raise ValueError(f"bad regular expression {p!r}: {exc}") from None
    return patterns


def check_regex(pattern: str | None) -> str | None:
    """The pattern (or None: an optional one left out), or a ValueError naming it when it does not compile
    (for pydantic validators)."""
    return pattern if pattern is None else _check_regexes([pattern])[0]


def _checked(value: Any) -> Any:
    """check_regex() of a pattern, of each of a list, of each of a dict's values."""
    if isinstance(value, dict):
        for v in value.values():
            _checked(v)
        return value
    return _check_regexes(value) if isinstance(value, list) else check_regex(value)


def regex_fields(*names: str):
    """A pydantic validator of the named fields (a pattern, a list of them, a dict of such, or None): a
    ValueError naming the pattern that does not compile."""
    return field_validator(*names)(classmethod(lambda cls, v: _checked(v)))


def union_regex(patterns: list[str], flags: int = 0) -> re.Pattern | None:
    """One regex matching any of the patterns (each kept as a group of its own), None for no patterns."""
    return re.compile("|".join(f"(?:{p})" for p in patterns), flags) if patterns else None


def year_regex(pattern: str | None) -> str | None:
    """check_regex() of an optional pattern that must capture a group named 'year'."""
    if pattern is not None and "year" not in re.compile(check_regex(pattern)).groupindex:
        raise ValueError(f"{pattern!r} needs a named group (?P<year>...)")
    return pattern


def _names(value: Any) -> list[str]:
    """A column given as one name or a list of candidate names (None: no such column)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


COLUMN_FIELDS = ("text", "title", "date", "year", "source", "author", "region", "id")
#: candidate column names of a collection (also written out in configs/default.yaml; a test keeps both equal)
DEFAULT_COLUMNS: dict[str, list[str]] = {
    "text": ["content", "text", "body", "fulltext", "full_text", "article", "正文", "内容", "全文", "文本", "文章内容", "原文"],
    "title": ["title", "headline", "name", "标题", "题目", "文章标题", "名称"],
    "date": ["date", "publish_date", "pub_date", "published", "time", "日期", "发布日期", "发布时间", "时间", "成文日期"],
    "year": ["year", "年份", "年度"],
    "source": ["url", "link", "source", "链接", "网址", "来源"],
    "author": ["author", "publisher", "作者", "发布机构", "发文机关"],
    "region": ["region", "province", "city", "地区", "省份", "城市", "地市"],
    "id": ["id", "doc_id", "编号"],
}


class CollectionMapping(Strict):
    """How rows of a .csv/.jsonl/.json/.xlsx/.xls collection become documents.

    Each column is a name or a list of candidate names: the first the file has (exact, else ignoring
    case and surrounding spaces) is used, so one mapping serves collections exported by different tools
    (content / text / 正文 / 内容 ...).
    """

    glob: str = Field(description="file-name pattern (fnmatch) the mapping applies to, e.g. '*.jsonl'")
    text: list[str] = Field(min_length=1, description="column holding the document text (candidates, first found wins)")
    title: list[str] = []
    date: list[str] = []
    year: list[str] = []
    source: list[str] = []
    author: list[str] = []
    region: list[str] = []
    id: list[str] = []

    _v = field_validator(*COLUMN_FIELDS, mode="before")(classmethod(lambda cls, v: _names(v)))


class MeetingConfig(Strict):
    """A numbered meeting a document's title names as its own (在中国共产党第九次全国代表大会上的报告, 第十二届
    全国人民代表大会第三次会议关于政府工作报告的决议): the year of a document that states none."""

    pattern: str = Field(description="regex searched in the title; group n: the meeting's number (Chinese "
                         "numerals or digits), optional group session: the session of that numbered meeting")
    years: dict[int, int] = Field(description="number -> year of the meeting (of its first session)")
    sessions: dict[int, list[int]] = Field(default_factory=dict, description="number -> the year of each of its "
                                           "sessions, where they were not one a year from the first")

    @field_validator("pattern")
    @classmethod
    def _groups(cls, v: str) -> str:
        if "n" not in re.compile(check_regex(v)).groupindex:
            raise ValueError(f"{v!r} needs a named group (?P<n>...) for the meeting's number")
        return v


class IngestConfig(Strict):
    extensions: list[str] = [".txt", ".md", ".html", ".htm", ".docx", ".doc", ".wps", ".rtf", ".odt", ".pdf", ".csv",
                             ".jsonl", ".json", ".xlsx", ".xls", ".zip"]
    join_broken_lines: list[str] = Field(
        [".txt", ".md", ".csv", ".jsonl", ".json", ".xlsx", ".xls"], description="formats whose line breaks inside a sentence are "
        "removed (structure.join_broken_lines; word processors and PDFs give their own paragraphs)")
    join_wrapped_lines: list[str] = Field(
        [".docx", ".doc", ".wps", ".rtf", ".odt", ".html", ".htm"], description="formats whose line breaks inside a "
        "sentence are removed only where the text is hard-wrapped (structure.join_broken_lines' wrapped_only: a Word file pasted "
        "from a PDF, a page of <br>-broken lines)")
    max_file_mb: float = Field(256.0, gt=0, description="larger files are refused (error row)")
    max_article_chars: int = Field(2_000_000, gt=0, description="a longer article is refused (error row): the "
                                   "per-file stages hold a whole article in memory, about 200 bytes per character")
    max_docx_ratio: float = Field(100.0, description="refuse a .docx whose inflated size exceeds this ratio")
    min_chars: int = Field(20, description="an article shorter than this (after cleaning) is dropped as empty")
    follow_symlinks: bool = True
    detect_bytes: int = Field(65536, gt=0, description="bytes charset-normalizer sees (it is slow on big inputs)")
    max_invalid_utf8_bytes: int = Field(16, ge=0, description="up to this many bad bytes a file is still UTF-8")
    max_invalid_utf8_share: float = Field(0.001, ge=0, le=1, description="... or up to this share of its bytes")
    head_lines: int = Field(12, ge=1, description="non-empty lines at the top searched for title/date/source/author")
    title_noise: str = Field(
        r"^(?:Microsoft\s+(?:Word|PowerPoint|Excel)|WPS(?:文字|演示|表格)?)\s*-\s*|\.(?:docx?|wps|pdf|pptx?|xlsx?|txt)$"
        r"|(?:\s*(?:[_|｜]|\s[-–—]+\s|--)\s*[^_|｜]{0,30}(?:网|网站|门户|官网|频道|在线|之窗|政府|日报|新闻)\s*)+$",
        description="regex, removed from a title (Microsoft Word - 报告.docx, 报告_某市人民政府门户网站)")
    title_skip: str = Field(
        r"[^，。；：！？\s]{2,40}文件"
        r"|(?:[^，。；！？]{0,20}[〔［\[]\s*(?:19|20)\d{2}\s*[〕］\]]\s*第?\s*\d{1,4}\s*号)?\s*(?:签发人\s*[:：]\s*\S{2,12})?"
        r"|(?:特急|加急|特提|平急|绝密|机密|秘密)[★☆\s\d年个月]*",
        description="regex (whole line): lines above an official document's title that are not it, passed over "
                    "when the title is taken from the text: the issuer's header (某某街道办公室文件), the document "
                    "number (某街办发〔2024〕12号, 签发人：张三), urgency and secrecy marks (特急, 机密★1年)")
    not_title: str = Field(
        r"[（(][^（）()]*[)）]|[—－-]{1,2}.*|.*会议上[)）]?"
        r"|\S{0,20}?(?:市长|省长|州长|县长|区长|盟长|旗长|主席|书记)\s*[\u4e00-\u9fff](?:\s*[\u4e00-\u9fff]){1,3}",
        description="regex (whole line): lines a text may open with that are never its title: the lines under a "
                    "speech's title, its occasion, bracketed or after a dash or cut short at 会议上 (（2024年1月29日在"
                    "杭州市第十四届人民代表大会第四次会议上）, ——2024年2月29日在…), and its speaker (市长  马  军); "
                    "the file is then titled by its name")
    title_placeholders: str = Field(
        r"(?:untitled|title|无标题|未命名|document\s*\d*|文档\s*\d*|新建\s*(?:Microsoft\s*Word\s*|文本\s*)?文档\s*\d*"
        r"|(?:Microsoft\s*)?(?:PowerPoint\s*)?演示文稿\s*\d*|幻灯片\s*\d*)",
        description="regex (whole title, any case): a metadata title that names nothing; the text's first line "
                    "or the file name is used instead")
    pdf_page_number: str = Field(
        r"[-—–－_\s]*(?:第\s*)?\d{1,4}\s*页?(?:\s*[/／]\s*\d{1,4}|\s*共\s*\d{1,4}\s*页)?[-—–－_\s]*"
        r"|(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?",
        description="regex (whole line, any case): a page number at the top or bottom of a PDF page, dropped")
    pdf_word_gap: float = Field(0.3, gt=0, le=2, description="a gap between two characters of a PDF line wider than "
                                "this share of their size is a space (pdfplumber's x_tolerance_ratio): Word and "
                                "LibreOffice set a fifth of an em between Chinese and digits (2023 年), which is no space")
    pdf_footnote_size: float = Field(0.85, gt=0, le=1, description="PDF lines below a page's last body line set in "
                                     "type under this share of the body's height are footnotes: moved to the end "
                                     "of the text, so a paragraph that runs on to the next page is one again")
    pdf_running_share: float = Field(0.5, gt=0, le=1, description="a line at the top or bottom of this share of "
                                     "a PDF's pages (digits aside) is a running header or footer, dropped")
    unsupported: dict[str, str] = Field(
        default_factory=dict, description="extension -> what to do: files of these types in a corpus folder are "
        "not read but listed in the errors table (stage discover) with this hint, so none goes unnoticed")
    pdf_column_gap: float = Field(8.0, gt=0, description="points: a vertical gutter at least this wide in the "
                                  "middle half of a PDF page, with text on both sides, splits it into two columns")
    pdf_column_rows: float = Field(0.2, gt=0, le=0.5, description="share of a page's text rows that must lie "
                                   "wholly on each side of the gutter for it to be two columns")
    pdf_column_min_chars: int = Field(8, ge=1, description="characters the typical line of each column holds "
                                      "at least: a table of short cells either side of a gap is not two columns")
    pdf_max_glyph_codes: float = Field(0.1, ge=0, le=1, description="a PDF whose characters are more than this share "
                                       "(cid:N) glyph codes (fonts without a Unicode map) is refused: OCR it")
    collections: list[CollectionMapping] = [CollectionMapping(glob=g, **DEFAULT_COLUMNS)
                                            for g in ("*.jsonl", "*.json", "*.csv", "*.xlsx", "*.xls")]
    meetings: list[MeetingConfig] = Field(default_factory=list, description="numbered meetings whose own reports "
                                          "and resolutions take their year (metadata.meeting_year)")

    _titles = regex_fields("title_noise", "title_skip", "title_placeholders", "pdf_page_number")


class BoilerplateConfig(Strict):
    """Web-page chrome: whole lines, trailing fragments glued to body lines, and tail sections."""

    line_patterns: list[str] = Field(default_factory=list, description="regexes matched at the start of a line (re.match); a match makes the line chrome")
    inline_patterns: list[str] = Field(default_factory=list, description="regexes cut out of a line (chrome glued to body text)")
    tail_markers: list[str] = Field(default_factory=list, description="regexes matched at the start of a line; the first match ends the page body")
    tail_min_share: float = Field(0.3, ge=0, le=1, description="a tail marker counts only after this share of the text")
    keep_patterns: list[str] = Field(default_factory=list, description="regexes; a matching line is never repeated-line chrome (headings)")
    repeated_line_min_files: int = Field(3, description="a short line in this many files of one source is chrome")
    repeated_line_min_share: float = Field(0.5, ge=0, le=1, description="... and in at least this share of the sampled files")
    repeated_line_max_chars: int = 40
    sample_files: int = Field(40, ge=1, description="files of one folder read to find repeated lines")
    sample_bytes: int = Field(16384, ge=256, description="bytes read from the head and from the tail of each sampled file")

    _v = regex_fields("line_patterns", "inline_patterns", "tail_markers", "keep_patterns")


class CompilationConfig(Strict):
    """A file holding several articles ('…篇1 … 篇10') is split at lines matching one of these patterns.

    Each pattern must have a named group `n` (the article number, Arabic or Chinese numerals); a split
    happens only when one pattern numbers at least min_articles headings 1, 2, 3 … in order.
    """

    article_heading_patterns: list[str] = Field(default_factory=list)
    min_articles: int = 2
    max_heading_chars: int = Field(60, description="longer lines are never article headings")
    min_article_chars: int = Field(200, description="no split when an article between headings is shorter")

    _v = regex_fields("article_heading_patterns")


class RegionConfig(Strict):
    """Region recognition (pipeline/ingest/regions.py); name lists live in the `lists` file."""

    divisions_dir: str = "configs/admin-divisions"
    lists: str = Field("configs/regions.yaml", description="suffixes, ethnic names, guards against false positives")
    min_short_name_chars: int = Field(2, ge=2, description="shorter derived short forms are never matched")
    primary_min_share: float = Field(0.5, gt=0, le=1, description="share of mentions a sub-region needs to become primary")


class DedupConfig(Strict):
    """Near-duplicate articles (pipeline/ingest/dedup.py): MinHash-style signatures + LSH."""

    threshold: float = Field(0.8, gt=0, le=1, description="estimated Jaccard of shingle sets from which a text is a duplicate")
    num_perm: int = Field(128, ge=16, description="signature length (buckets of one-permutation hashing)")
    shingle: int = Field(5, ge=1, description="characters per shingle (whitespace and punctuation removed)")
    min_shingles: int = Field(20, ge=1, description="a shorter text only duplicates an identical text")


class StructureConfig(Strict):
    """Sections and sentences (pipeline/structure.py); heading markers and punctuation live in `patterns`."""

    patterns: str = Field("configs/structure.yaml", description="heading markers and punctuation (YAML)")
    max_heading_chars: int = Field(40, ge=4, description="a heading title longer than this is cut")
    max_sentence_chars: int = Field(300, description="a longer sentence is cut at its last comma before this")
    min_clause_chars_for_semicolon: int = Field(8, ge=1, description="split at ； only between clauses this long")
    quotes_max_chars: int = Field(200, ge=1, description="a quote or 《》 longer than this counts as unclosed")

    @field_validator("max_sentence_chars")
    @classmethod
    def _room_for_headings(cls, v: int, info) -> int:
        """A heading (marker, title, closing punctuation) must fit in one sentence."""
        need = info.data.get("max_heading_chars", 40) + 20
        if v < need:
            raise ValueError(f"must be at least max_heading_chars + 20 = {need}")
        return v


class StatuteConfig(Strict):
    """Statutes (regulations, rules, measures: 第一条 … 第N条), found by their article markers.

    A statute prescribes: it reports neither a difficulty as it exists now (a problem) nor a practice
    already carried out (an experience), yet its present-tense duties (街道办事处负责组建…, 本市支持…) read
    like the experiences and its conditions (尚未交存…的) like the problems of the labelled essays. Its
    sentences' type probabilities are multiplied by type_prior (evidence 'genre:statute'), which by
    default leaves only measure and other: on 60 random local regulations (12,488 sentences) the former
    prior (experience x0.03, problem x0.2) still left 51 experiences and 125 problems, nearly all
    provisions (鼓励…, …由…负责) and conditions (…的，由…处…罚款). The list items of a duty or a ban
    (…应当履行下列职责： （一）…；) are its measures too (item, below).
    """

    article: str = Field(r"\s*#*\s*第[一二三四五六七八九十百零〇两]+条", description="regex: a sentence starting "
                         "with this is an article")
    min_articles: int = Field(5, ge=1, description="a document with this many articles is a statute")
    type_prior: dict[Literal["problem", "measure", "experience", "other"], float] = Field(
        {"experience": 0.0, "problem": 0.0}, description="a statute's sentences: type probability x this "
        "(0 for a type a statute never holds; 0.03 and 0.2 until the list items' rule)")
    duty: str | None = Field(r"应当|不得|必须|禁止|严禁|须经|(?<![相响供适反对呼顺答感效回])应(?![用急对选收付届变声聘邀试])",
                             description="regex: a statute's sentence with this lays down a duty or a ban (应当, "
                             "不得 ..., and 应 as a modal, not in 相应 供应 应用 应急 ...), so it is a measure by rule "
                             "(rule:statute_duty), whatever its other words; null: no such rule")

    item: str | None = Field(r"\s*(?:[（(][一二三四五六七八九十百零〇两\d]+[）)]|\d{1,3}[.．、](?!\d))",
                             description="regex (matched at the start): a list item; in a statute, the items "
                             "after a duty or a ban that ends with a colon (…应当履行下列职责：, 禁止下列行为：) are "
                             "measures by rule (rule:statute_item) until the next sentence that is not an item; "
                             "null: no such rule")
    part: str = Field(r"\s*#*\s*(?:第[一二三四五六七八九十百零〇两]+[编章节]|\S{2,40}(?:条例|办法|规定|规则|细则|决定)\s*$)",
                      description="regex (matched at the start): a statute's sentence that titles it or one of "
                      "its parts (某市物业管理条例, 第五章 保育教育): other by rule (rule:statute_part)")

    _v = regex_fields("article", "part")
    _d = regex_fields("duty")


class GenreConfig(Strict):
    """A genre an official document announces in its first sentences or its title: work plans (annotate.plan:
    …结合街道实际，制定本方案。 / 制定实施方案如下 / 现就相关工作提出如下意见： / 经研究，决定… / …工作方案) and
    summaries (annotate.summary: 现将…工作总结如下： / …年度工作总结 / …经验材料). Their sentences are written
    in words that do not tell a plan from a record: a plan's items are bare verb phrases (成立…领导小组, 组织开展…
    主题宣传活动) that the model, trained mostly on essays and experience write-ups, reads as practices already
    carried out, and a summary writes its done practices as instructions (加强…, 着力…). The genre's sentences'
    type probabilities are multiplied by type_prior (evidence 'genre:plan' / 'genre:summary'), except under a
    heading that names a type the prior lowers (a plan's 工作基础 part, a summary's 下一步打算: the heading is the
    nearer evidence)."""

    announce: str | None = Field(None, description="regex: a sentence with this, among the first within sentences, "
                                 "announces the genre; null: not told this way")
    title: str | None = Field(None, description="regex (a whole sentence): a title line, among the first within "
                              "sentences, naming the genre; null: not told this way")
    within: int = Field(10, ge=1, description="the announcement or the title is looked for in this many first "
                        "sentences")
    type_prior: dict[Literal["problem", "measure", "experience", "other"], float] = Field(
        default_factory=dict, description="the genre's sentences (not under a heading naming a type this lowers): "
        "type probability x this")
    done: str | None = Field(None, description="regex: a sentence reporting a thing done (了, 已, 累计; a count of "
                             "the cues' count_pattern, 20个, is one too); a document that says nothing of the kind, "
                             "at most done_max_share of its sentences, is of the genre too (evidence "
                             "genre:NAME:nothing_done); null: not told so")
    done_max_share: float = Field(0.02, ge=0, le=1)
    done_min_sentences: int = Field(15, ge=1, description="shorter documents are not judged by done")
    done_type_prior: dict[Literal["problem", "measure", "experience", "other"], float] | None = Field(
        None, description="type_prior of a document told by done (its sentences carry no evidence of a thing "
        "done, so it may be stronger); null: type_prior")

    _v = regex_fields("announce", "title", "done")


class TargetConfig(Strict):
    """Targets set for a date (到2024年底，…全部建成… / 力争2024年…投放量150亿元以上): a work plan's measures,
    written in the words of a result (建成, 覆盖率达到100%), which the model, whose labelled essays never set
    a dated target, reads as experiences or background (到2025年，全市社区综合服务设施覆盖率达到100%: experience
    0.98, measure 0.000). A clause that sets one, in a sentence without a word of a thing done or of a
    forecast, is a plan when its year is the document's or later: measure by rule (rule:target, evidence
    'target:2024年'); for an earlier year it is a result (到2023年底，… in a 2024 report's review). Where the
    document's year is unknown, its type probabilities are multiplied by prior instead."""

    pattern: str | None = Field(
        r"(?:^|[，,；;：:。])[^\S\n]*(?:(?:力争|争取|确保|计划|力求|目标是?)[^\S\n]*(?:到|至|在)?|到|至)[^\S\n]*"
        r"(?:(?P<year>(?:19|20)\d\d|[一二][〇零○九][〇零○一二三四五六七八九]{2})[^\S\n]*年"
        r"|[“\"]?第?(?P<plan>十[一二三四五六七八九]?|[一二三四五六七八九])(?:个五年|五[”\"]?)(?:计划|规划)?(?:时期)?"
        r"(?:期末|末期|末|期间))",
        description="regex with a group 'year' (in Arabic or Chinese numerals: 2025, 二〇二五) and optionally one "
                    "'plan' (the number of a five-year plan, whose last year is meant: 十四 of 到“十四五”末): a clause "
                    "that sets a target for that year; null: none")
    exclude: str = Field(r"已|了|累计|截至|截止|预计|预期",
                         description="regex: a sentence with this reports a thing done or forecasts, not a target")
    prior: dict[Literal["problem", "measure", "experience", "other"], float] = Field(
        {"measure": 8.0}, description="a target's type probabilities x this")

    _v = regex_fields("exclude")
    _y = field_validator("pattern")(classmethod(lambda cls, v: year_regex(v)))


class AnnotateConfig(Strict):
    tokenizer: Literal["rjieba", "jieba"] = "rjieba"
    userdict: str = "configs/userdict.txt"
    stopwords: str = "configs/stopwords.txt"
    cues: str = "configs/cues.yaml"
    model_cache: str = "~/.cache/zhili/models"
    random_state: int = 0
    C: float = Field(4.0, gt=0, description="inverse regularisation of the logistic regression")
    min_df: int = Field(2, ge=1, description="an n-gram seen in fewer training sentences is not a feature")
    context: bool = Field(
        False, description="second stage: neighbours' and heading's predictions as features (no gain measured)"
    )
    inner_folds: int = Field(5, ge=2, description="folds giving the second stage out-of-fold predictions")
    rule_score: float = Field(0.95, ge=0, le=1, description="type_score of a sentence a strong rule tags 'other'")
    heading_boost: float = Field(
        3.0, ge=1, description="the type named by the nearest classified heading gets its probability x this"
    )
    decode: Literal["none", "posterior"] = Field(
        "posterior", description="'posterior': each document's sentence types are decoded as a sequence (forward-"
        "backward over a type-to-type transition matrix counted on the labelled articles); 'none': each alone")
    transition_weight: float = Field(
        0.5, ge=0, description="exponent of the transition probabilities in decoding (0: no smoothing at all; "
        "1 scored 0.691 in CV but 0.578 leave-one-file-out, 0.5 scored 0.689 and 0.590, none 0.671 and 0.592)")
    transition_smoothing: float = Field(
        1.0, gt=0, description="pseudo-count added to every type-to-type transition and type count")
    decode_prior_power: float = Field(
        1.0, ge=0, description="the model's probabilities are divided by the labelled type shares to this power "
        "before decoding, so the transitions' pull towards common types does not swamp rare ones")
    decode_window: int = Field(
        8, ge=0, description="sentences each side whose evidence reaches a sentence in decoding (a fixed-lag "
        "smoother: exact for documents of up to window + 1 sentences; a neighbour's pull fades with distance)")
    decode_keep_above: float = Field(
        0.8, ge=0, le=1, description="a sentence whose model probability of its likeliest type (before the heading "
        "prior) is at least this keeps its own type in decoding: neighbours decide only the unsure (1: none kept)")
    temperature: float = Field(
        2.4, gt=0, description="the final type probabilities (type_score) are p ** (1 / temperature), renormalised: "
        "the model, the heading prior and decoding are over-confident (article-grouped CV: a type_score of 0.95-0.99 "
        "was right 80% of the time, expected calibration error 0.19); 2.4 minimises the CV log loss (nested CV: "
        "calibration error 0.02); 1: none. The chosen type never changes")
    article_start: str = Field(
        r"篇\s*\d+\s*$", description="regex: a labelled unit matching it starts a new article (compilations)"
    )
    char_ngrams: list[Literal[1, 2, 3]] = Field(
        [1], description="orders of character n-grams used as features (CV on the seeds: longer ones overfit)"
    )
    word_ngrams: bool = Field(False, description="segmenter word uni/bigrams as features (no gain measured)")
    vectors: str | None = Field(
        "corpora/vectors/words.npz",
        description="word vectors (pipeline.vectors; `zhili train --build-vectors SRC` rebuilds them): each "
                    "sentence's mean word vector is a dense feature; null: none")
    vectors_weight: float = Field(
        3.0, gt=0, description="scale of the sentence vector's columns beside the sparse features (CV on the "
                               "seeds: 2-3 best, 1 about half the gain)")
    vectors_dim: int = Field(100, ge=2, description="dimensions of the vectors --build-vectors writes")
    vectors_window: int = Field(4, ge=1, description="words each side counted as a word's context by --build-vectors")
    vectors_min_count: int = Field(5, ge=1, description="--build-vectors keeps words seen at least this often")
    vectors_max_words: int = Field(
        24_000, ge=2, description="--build-vectors keeps this many most frequent words, and the user "
                                  "dictionary's (24,000 of 27,908: a file under 5 MB, the same CV figures)")
    features: list[Literal["neighbours", "document", "heading_grams"]] = Field(
        default_factory=list,
        description="optional feature groups: neighbours' cues and section cue shares, the document's cue "
                    "shares, character bigrams of the enclosing heading (each lowered the seeds' CV macro-F1)",
    )
    weak_labels: list[str] = Field(
        ["corpora/labels/weak/work-reports.jsonl"],
        description="weakly labelled units added to training (pipeline.weak; `zhili train --build-weak` rebuilds the first)",
    )
    weak_weight: float = Field(0.02, ge=0, description="sample weight of a weak unit (a gold unit weighs 1)")
    weak_per_type: int = Field(1500, ge=1, description="weak units sampled per type by --build-weak")
    statute: StatuteConfig = StatuteConfig()
    plan: GenreConfig = GenreConfig()  # their formulas and priors: configs/default.yaml
    summary: GenreConfig = GenreConfig()
    target: TargetConfig = TargetConfig()
    weak_exclude: list[str] = Field(
        ["北京.txt", "天津.txt", "乌鲁木齐.txt"],
        description="file names (fnmatch) never weak-labelled: the documents of the transfer tests "
                    "(tests/test_annotate.py), so that those test text the tagger was not trained on")

    _v = regex_fields("article_start")


class LabelsConfig(Strict):
    """Labelled sentences the tagger and the theme model learn from."""

    files: list[str] = ["corpora/labels/dev_labels.jsonl"]
    exclude_docs: list[str] = Field(
        default_factory=list,
        description="label 'doc' values left out of training (honest scoring of those source files)",
    )


class ThemesConfig(Strict):
    """Seeded theme matching (patterns + a multi-label model) and discovery of further themes."""

    file: str = "configs/themes.yaml"
    theme_types: list[str] = Field(
        ["problem", "measure", "experience"],
        description="sentence types that may carry themes (themes describe problems, measures, experiences)",
    )
    pattern_types: list[str] = Field(
        ["problem", "measure", "experience", "other"],
        description="sentence types on which a theme's patterns count, for those outside theme_types only when the "
        "tagger is unsure (pattern_types_below); the model's themes and continuations only on theme_types")
    pattern_types_below: float = Field(
        0.6, ge=0, le=1, description="a sentence outside theme_types gets its patterns' themes when its type_score is "
        "below this (leave-one-file-out on the seeds: themes micro-F1 0.685 -> 0.702: the tagger's unsure other holds "
        "problems it missed and headings that name a theme; 0.5: 0.702, 0.7: 0.701; CV with gold types, certain: 0.741)")
    pattern_score: float = Field(0.9, ge=0, le=1, description="score of a theme found by its patterns alone")
    match_chunk_sentences: int = Field(
        5000, ge=1, description="documents are matched together up to this many sentences per call (fewer calls "
        "save per-call costs; a bound keeps a worker's feature matrices small)")
    model: bool = True
    model_min_labels: int = Field(8, description="a theme gets a model only with this many labelled units")
    model_c: float = Field(4.0, gt=0, description="inverse regularisation of the per-theme logistic models")
    model_threshold: float = Field(
        0.7, gt=0, lt=1, description="probability from which the model assigns a theme (0.5 -> 0.7: CV micro-F1 "
        "0.744 -> 0.749, leave-one-file-out 0.711 -> 0.709; the model's own themes on the city work reports 241 -> 77, "
        "most of them wrong at 0.5-0.7: 部分企业生产经营困难 party_coverage, 促进农村宜居宜业 rule_of_law)")
    model_genres_excluded: list[str] = Field(
        ["statute"], description="genres (the annotate stage's genre: cue) whose sentences get no theme from the model, "
        "which learnt from essays: in 120 judged links of local regulations its 7 were all a law's formulas "
        "(（六）法律、法规禁止的其他行为。 rule_of_law)")
    context_threshold: float = Field(
        0.3, gt=0, lt=1, description="lower probability at which a sentence continues a theme of the sentence before it")
    model_cache: str = "~/.cache/zhili/themes"
    article_marker: str = Field(r"篇\s*\d+", description="regex: a labelled unit matching it starts a new article (CV groups)")
    discover: bool = True
    min_cluster_size: int = Field(8, ge=1, description="a discovered theme holds at least this many sentences")
    discovery_max_df: float = Field(0.05, gt=0, le=1, description="words in more sentences than this share name no theme")
    min_topics: int = Field(3, ge=2, description="fewest themes discovery tries in each kind of sentence")
    max_topics: int = Field(12, ge=2, description="most themes it tries (the most coherent number in between wins)")
    merge_overlap: float = Field(0.5, ge=0, le=1, description="a discovered theme sharing this share of sentences or top terms with a seeded one is merged")
    max_discovery_sentences: int = Field(50_000, ge=100, description="beyond this, discovery fits on a hash sample")
    split_share: float = Field(0.3, gt=0, le=1, description="a discovered cluster holding more than this share of "
                               "its kind's sentences is clustered again into more specific themes")
    split_depth: int = Field(1, ge=0, description="how many times a too large cluster may be split (0: never)")
    random_state: int = 0

    @field_validator("max_topics")
    @classmethod
    def _topic_range(cls, v: int, info) -> int:
        """An empty range silently discovered nothing."""
        low = info.data.get("min_topics", 3)
        if v < low:
            raise ValueError(f"must be at least min_topics ({low})")
        return v


class RunConfig(Strict):
    jobs: int = Field(0, ge=0, description="worker processes; 0 = all cores")
    batch_files: int = Field(32, ge=1, description="files a worker takes at a time")
    cache_dir: str = "~/.cache/zhili/files"
    cache_compression: Literal["none", "lz4", "zstd"] = Field(
        "none", description="compression of cache bundles: none is fastest (on 200 articles lz4 bundles were "
                            "37% smaller but 3.5x slower to write and 4x slower to read)")


class CompareConfig(Strict):
    """Defaults of `zhili compare`, `gaps`, `charts` and `report` (command-line options override them)."""

    types: list[Literal["problem", "measure", "experience", "other"]] = ["problem", "measure", "experience"]
    min_docs: int = Field(3, ge=1, description="groups with fewer documents are marked '*' as unreliable")
    report_evidence_per_cell: int = Field(10, ge=1, description="sentences listed per table cell in the report")
    examples_per_theme: int = Field(3, ge=1, description="top example sentences per theme (report, gaps)")
    chart_max_themes: int = Field(15, ge=1, description="themes drawn in a chart, largest first")
    chart_max_groups: int = Field(40, ge=1, description="groups (columns) drawn in a heatmap, largest first")


class Config(Strict):
    ingest: IngestConfig = IngestConfig()
    boilerplate: BoilerplateConfig = BoilerplateConfig()
    compilation: CompilationConfig = CompilationConfig()
    regions: RegionConfig = RegionConfig()
    dedup: DedupConfig = DedupConfig()
    structure: StructureConfig = StructureConfig()
    annotate: AnnotateConfig = AnnotateConfig()
    labels: LabelsConfig = LabelsConfig()
    themes: ThemesConfig = ThemesConfig()
    run: RunConfig = RunConfig()
    compare: CompareConfig = CompareConfig()

    def resolve(self, relpath: str) -> Path:
        """Paths in config are relative to the project root unless absolute or ~."""
        p = Path(relpath).expanduser()
        return p if p.is_absolute() else PROJECT_ROOT / p

    def digest(self) -> str:
        """Stable hash of the whole configuration, for caches."""
        return hashlib.sha256(json.dumps(self.model_dump(), sort_keys=True).encode()).hexdigest()[:16]


def format_validation_error(exc: ValidationError, source: str | Path) -> str:
    """One line per problem, each naming the file and the dotted key."""
    lines = [f"invalid configuration in {source}:"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling)"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def read_yaml(path: str | Path) -> Any:
    """Read a YAML file or raise ConfigError naming it."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None


def validate(model: type[BaseModel], data: Any, source: str | Path) -> Any:
    """Validate data against a model, turning pydantic errors into ConfigError naming file and key."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def load_config(path: str | Path | None = None) -> Config:
    """Load configs/default.yaml (or the given file)."""
    path = Path(path) if path else DEFAULT_CONFIG
    return validate(Config, read_yaml(path), path)
