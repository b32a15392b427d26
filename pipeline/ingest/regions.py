"""Region recognition: admin-division mentions in article text and the article's primary region.

Names come from the 2023 division tables (configs/admin-divisions) plus short forms derived by rule
(suffix and ethnic names removed: 广西壮族自治区 -> 广西, 凉山彝族自治州 -> 凉山, 龙岗区 -> 龙岗), matched
in one pass by an Aho-Corasick automaton (ahocorasick-rs, ~25 MB/s; pyahocorasick's Unicode build ran at
3 MB/s on this alphabet), leftmost-longest, so 湖北京山市 reads 湖北 + 京山市, never 北京.

Coding rules (the same in mentions and in the primary region):
- Municipalities (北京 天津 上海 重庆) are province and city at once: 天津 has code '12', level 'province',
  and city_code '1201' (province code + '01') with city 天津市, so comparisons by city include them; their
  districts (河东区 120102) also get city_code '1201' and city 天津市.
- County-level units directly under a province (天门 429006, 济源 419001, 石河子 659001) have no prefecture:
  they are their own city, city_code = their 6-digit code, city = their name.

False positives are held back by general rules rather than by listing cases: county short forms (龙岗,
海淀) count only when the text or hint also names their city (天门-like units directly under a province: their
province); a match followed by 路/街/大学... names a street or an institution (中山路, 北京大学); words listed
in configs/regions.yaml as non-places (长治久安, 孙中山) win as longer matches; short forms that are mostly
ordinary words (来宾, 资源, 合作) are never matched alone, their full names still are.
"""
from __future__ import annotations

import csv
import functools
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import ahocorasick_rs
from pydantic import Field

from pipeline.config import Config, ConfigError, Strict, read_yaml, validate

LEVEL_RANK = {"province": 3, "city": 2, "county": 1}
PLACEHOLDER_CITIES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
#: a match is a full official name, a derived short form, or a full name that is also a generic word
FULL, SHORT, GENERIC = "full", "short", "generic"
_PATH_SPLIT = re.compile(r"[/\\]+")


class RegionLists(Strict):
    """configs/regions.yaml: name-derivation rules and the guards against false positives."""

    province_suffixes: list[str] = ["特别行政区", "自治区", "省", "市"]
    city_suffixes: list[str] = ["自治州", "地区", "盟", "市"]
    county_suffixes: list[str] = ["自治县", "自治旗", "林区", "特区", "区", "县", "市", "旗"]
    ethnic_groups: list[str] = Field(default_factory=list, description="removed after the suffix (彝族, 蒙古)")
    no_short_form_markers: list[str] = Field(default_factory=list, description="names containing one: full name only")
    extra_short_forms: dict[str, str] = Field(default_factory=dict, description="short form -> full official name")
    never_short: list[str] = Field(default_factory=list, description="short forms never matched alone")
    generic_full_names: list[str] = Field(default_factory=list, description="full names needing their city/province")
    not_place_words: list[str] = Field(default_factory=list, description="words containing a place name, not places")
    not_followed_by: str = Field("", description="regex tested after a match: streets, schools, companies")
    national_title: str = Field("", description="regex searched in a title naming no place: a national body's "
                                                "document, which gets no primary region")


@dataclass(frozen=True, slots=True)
class Unit:
    """One admin division, with the province and city it is counted under."""

    code: str
    name: str
    level: str
    province_code: str
    city_code: str | None
    parent: str | None  # node above in the counting tree (municipality districts hang under the province)


@dataclass(frozen=True, slots=True)
class Candidate:
    code: str
    kind: str  # FULL, SHORT or GENERIC


class Gazetteer:
    """Units, their surface forms and the automaton; build with Gazetteer.load(cfg) (cached per process)."""

    def __init__(self, units: dict[str, Unit], surfaces: dict[str, tuple[Candidate, ...]],
                 masks: list[str], not_followed_by: re.Pattern | None, primary_min_share: float = 0.5,
                 national_title: re.Pattern | None = None) -> None:
        self.units = units
        self.primary_min_share = primary_min_share
        self.national_title = national_title
        self.surfaces = surfaces
        self.not_followed_by = not_followed_by
        self.county_count = {s: sum(units[c.code].level == "county" for c in cands) for s, cands in surfaces.items()}
        self.sure = {s: self._sure(cands) for s, cands in surfaces.items()}  # reading that needs no context
        self.fields = {u.code: {"code": u.code, "name": u.name, "level": u.level, "province_code": u.province_code,
                                "city_code": u.city_code} for u in units.values()}
        self.patterns = list(surfaces) + [w for w in masks if w not in surfaces]
        self.matcher = _matcher(self.patterns)

    def __getstate__(self) -> dict:
        """Picklable for process pools and Dask: the automaton is rebuilt on arrival (~0.1 s)."""
        return {k: v for k, v in self.__dict__.items() if k != "matcher"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.matcher = _matcher(self.patterns)

    def _sure(self, cands: tuple[Candidate, ...]) -> tuple[Unit, tuple[str, ...]] | None:
        """(unit, codes it makes evident) when the surface has one reading valid in any context."""
        if len(cands) != 1:
            return None
        unit = self.units[cands[0].code]
        if cands[0].kind == FULL or (cands[0].kind == SHORT and unit.level != "county"):
            return unit, tuple(x for x in (unit.code, unit.province_code, unit.city_code) if x)
        return None

    @classmethod
    def load(cls, cfg: Config) -> Gazetteer:
        """The gazetteer of cfg.regions (built once per process and configuration)."""
        folder = cfg.resolve(cfg.regions.divisions_dir)
        lists = cfg.resolve(cfg.regions.lists)
        return _load_cached(str(folder), str(lists), json.dumps(cfg.regions.model_dump(), sort_keys=True))

    def city_of(self, unit: Unit) -> tuple[str | None, str | None]:
        """(city_code, city name) under the module's coding rules."""
        if unit.city_code is None:
            return None, None
        city = self.units.get(unit.city_code)  # a prefecture, or the unit itself when directly administered
        return unit.city_code, (city or self.units[unit.province_code]).name  # else a municipality


def _matcher(patterns: list[str]) -> ahocorasick_rs.AhoCorasick:
    return ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)


@functools.lru_cache(maxsize=4)
def _load_cached(folder: str, lists_path: str, regions_cfg: str) -> Gazetteer:
    cfg = json.loads(regions_cfg)
    path = Path(lists_path)
    lists = validate(RegionLists, read_yaml(path), path)
    units = read_units(Path(folder))
    surfaces = build_surfaces(units, lists, cfg["min_short_name_chars"])
    return Gazetteer(units, surfaces, lists.not_place_words, _compile(lists.not_followed_by, path),
                     cfg["primary_min_share"], _compile(lists.national_title, path))


def _compile(pattern: str, source: Path) -> re.Pattern | None:
    try:
        return re.compile(pattern) if pattern else None
    except re.error as exc:
        raise ConfigError(f"invalid configuration in {source}:\n  not_followed_by: bad regular expression: {exc}") from None


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    except OSError as exc:
        raise ConfigError(f"cannot read the admin-division table {path}: {exc} "
                          f"(set regions.divisions_dir to the folder holding provinces.csv, cities.csv, areas.csv)") from None


def read_units(folder: Path) -> dict[str, Unit]:
    """Provinces, cities and counties keyed by code, placeholders (市辖区) resolved by the coding rules."""
    units: dict[str, Unit] = {}
    for row in _read_csv(folder / "provinces.csv"):
        code, name = row["code"], row["name"]
        municipality = name.endswith("市")
        units[code] = Unit(code, name, "province", code, code + "01" if municipality else None, None)
    placeholders = set()
    for row in _read_csv(folder / "cities.csv"):
        code, name, prov = row["code"], row["name"], row["provinceCode"]
        if name in PLACEHOLDER_CITIES:
            placeholders.add(code)
        else:
            units[code] = Unit(code, name, "city", prov, code, prov)
    for row in _read_csv(folder / "areas.csv"):
        code, name, city, prov = row["code"], row["name"], row["cityCode"], row["provinceCode"]
        if city not in placeholders:
            units[code] = Unit(code, name, "county", prov, city, city)
        elif units[prov].city_code:  # a municipality's district or county
            units[code] = Unit(code, name, "county", prov, units[prov].city_code, prov)
        else:  # directly under the province: its own city
            units[code] = Unit(code, name, "county", prov, code, prov)
    return units


def short_form(name: str, suffixes: list[str], ethnic: list[str]) -> str:
    """Name without its longest administrative suffix and, for autonomous units, trailing ethnic names
    (恩施土家族苗族自治州 -> 恩施; 六盘水市 keeps its 水, which is also an ethnic name)."""
    for suffix in sorted(suffixes, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    else:
        return name
    if "自治" not in suffix:
        return name
    forms = sorted({e + "族" for e in ethnic} | set(ethnic), key=len, reverse=True)
    changed = True
    while changed:
        changed = False
        for e in forms:
            if name.endswith(e) and len(name) > len(e) + 1:
                name, changed = name[: -len(e)], True
                break
    return name


def build_surfaces(units: dict[str, Unit], lists: RegionLists, min_chars: int) -> dict[str, tuple[Candidate, ...]]:
    """Every matchable string with the units it may denote."""
    out: dict[str, dict[str, str]] = {}
    suffixes = {"province": lists.province_suffixes, "city": lists.city_suffixes, "county": lists.county_suffixes}
    generic, never = set(lists.generic_full_names), set(lists.never_short)
    for u in units.values():
        out.setdefault(u.name, {})[u.code] = GENERIC if u.name in generic else FULL
        if any(m in u.name for m in lists.no_short_form_markers):
            continue
        short = short_form(u.name, suffixes[u.level], lists.ethnic_groups)
        if short != u.name and len(short) >= min_chars and short not in never:
            out.setdefault(short, {}).setdefault(u.code, SHORT)
    by_name = {u.name: u.code for u in units.values() if u.level != "county"}
    for short, full in lists.extra_short_forms.items():
        if full in by_name:
            out.setdefault(short, {}).setdefault(by_name[full], SHORT)
    return {s: tuple(Candidate(c, k) for c, k in sorted(cands.items())) for s, cands in out.items()}


def _raw_matches(text: str, gaz: Gazetteer) -> list[tuple[int, int, str, tuple[Candidate, ...]]]:
    """Leftmost-longest matches (start, end, surface, candidates); masks and street/institution uses dropped."""
    out = []
    guard, patterns, surfaces = gaz.not_followed_by, gaz.patterns, gaz.surfaces
    for i, start, end in gaz.matcher.find_matches_as_indexes(text):
        cands = surfaces.get(patterns[i])
        if cands is None or (guard is not None and guard.match(text, end)):
            continue
        out.append((start, end, patterns[i], cands))
    return out


def _evidence(matches: list, gaz: Gazetteer) -> set[str]:
    """Codes (and their province and city) named without doubt: one candidate needing no context."""
    codes: set[str] = set()
    sure = gaz.sure
    for _, _, surface, _ in matches:
        known = sure[surface]
        if known is not None:
            codes.update(known[1])
    return codes


def _context(unit: Unit, evidence: set[str]) -> int:
    """2 when the unit's city is named, 1 when only its province is, else 0."""
    if unit.level != "province" and unit.city_code and unit.city_code != unit.code and unit.city_code in evidence:
        return 2
    if unit.level != "province" and unit.province_code in evidence:
        return 1
    return 0


def _allowed(c: Candidate, unit: Unit, ctx: int, n_counties: int, leading: bool) -> bool:
    """County short forms and generic names need their city named in the text or hint (their province for
    county-level units directly under it, such as 天门, when no other county shares the name).

    A name leading a file or folder name (`leading`) was put there as a place: a county short form shared
    by no other county needs no further context there (天门.txt).
    """
    if c.kind == FULL or (c.kind == SHORT and unit.level != "county"):
        return True
    if leading and c.kind == SHORT and n_counties == 1:
        return True
    return ctx >= (1 if unit.city_code == unit.code and n_counties == 1 else 2)


def _resolve(surface: str, cands: tuple[Candidate, ...], evidence: set[str], gaz: Gazetteer,
             leading: bool = False) -> Unit | None:
    """The city rather than its county of the same name (乌鲁木齐 is 乌鲁木齐市, even where 乌鲁木齐县 is also
    written in full); then the candidate named elsewhere without doubt; else the larger of two nested ones
    (长沙 is the city, not 长沙县; 吉林 the province unless 吉林市 is written somewhere); then the one whose city
    or province the text names; then the higher level; then the lower code."""
    n_counties = gaz.county_count[surface]
    allowed = []
    for c in cands:
        unit = gaz.units[c.code]
        ctx = _context(unit, evidence)
        if _allowed(c, unit, ctx, n_counties, leading):
            allowed.append((unit.code in evidence, ctx, LEVEL_RANK[unit.level], -int(unit.code), unit))
    codes = {a[4].code for a in allowed}
    allowed = [a for a in allowed if a[4].level != "county" or a[4].parent not in codes]
    if len(allowed) > 1:
        named = [a for a in allowed if a[0]]
        if named:
            allowed = named
        else:
            codes = {a[4].code for a in allowed}
            allowed = [a for a in allowed if not ({a[4].parent, a[4].province_code} - {a[4].code}) & codes]
    return max(allowed, key=lambda a: a[:4])[4] if allowed else None


def hint_mentions(hint: str, gaz: Gazetteer) -> list[dict]:
    """Mentions leading a path component of the hint (北京地方法规, 清远市住宅小区…条例.md, 天门.txt)."""
    return [m for part in _PATH_SPLIT.split(hint) for m in leading_mentions(part, gaz)]


def leading_mentions(text: str, gaz: Gazetteer) -> list[dict]:
    """The places a name or title opens with, one right after the other (北京市朝阳区…, 济南市城市公共交通条例)."""
    out, pos = [], 0
    for m in _mentions(text, gaz, set(), leading=True):
        if m["start"] != pos:
            break
        out.append(m)
        pos = m["end"]
    return out


def find_mentions(text: str, gaz: Gazetteer, hint: str = "") -> list[dict]:
    """MENTIONS rows (without doc_id) for every recognised region name in text, in text order.

    The hint (folder or file name) only helps to resolve names shared by several places (河东区).
    """
    extra: set[str] = set()
    for m in hint_mentions(hint, gaz) if hint else []:
        extra.update(x for x in (m["code"], m["province_code"], m["city_code"]) if x)
    return _mentions(text, gaz, extra)


def _mentions(text: str, gaz: Gazetteer, extra_evidence: set[str], leading: bool = False) -> list[dict]:
    matches = _raw_matches(text, gaz)
    evidence = _evidence(matches, gaz) | extra_evidence
    rows = []
    resolved: dict[str, Unit | None] = {}  # evidence is fixed for the text: one decision per surface
    for start, end, surface, cands in matches:
        known = gaz.sure[surface]
        if known is not None:
            unit = known[0]
        elif leading and start == 0:
            unit = _resolve(surface, cands, evidence, gaz, True)
        else:
            if surface not in resolved:
                resolved[surface] = _resolve(surface, cands, evidence, gaz)
            unit = resolved[surface]
        if unit is None:
            continue
        rows.append({"start": start, "end": end, "text": surface, **gaz.fields[unit.code]})
    return rows


def _ancestors(code: str, gaz: Gazetteer) -> list[str]:
    chain = []
    while code is not None:
        chain.append(code)
        code = gaz.units[code].parent
    return chain


def _descend(node: str | None, counts: Counter, children: dict[str | None, list[str]], min_share: float) -> str | None:
    """Go down while one child holds at least min_share of the mentions under the current node."""
    while True:
        kids = children.get(node, [])
        if not kids:
            return node
        total = counts[node] if node else sum(counts[k] for k in kids)
        best = max(kids, key=lambda k: (counts[k], -int(k)))
        if not counts[best] or counts[best] < min_share * total:
            return node
        node = best


def is_national(title: str, gaz: Gazetteer) -> bool:
    """A national body's own document (国务院政府工作报告, 在中国共产党第十次全国代表大会上的报告): its title
    matches the lists' national_title and names no place (北京市实施《中华人民共和国…法》办法 names one)."""
    return bool(title and gaz.national_title is not None and gaz.national_title.search(title)
                and not _mentions(title, gaz, set()))


def _most_specific(found: list[dict]) -> str | None:
    """Code of the most specific place among mentions (the last of equals)."""
    if not found:
        return None
    return max(found, key=lambda m: (LEVEL_RANK["province"] - LEVEL_RANK[m["level"]], m["start"]))["code"]


def _own_place(own: list[dict], counts: Counter, gaz: Gazetteer) -> str | None:
    """The most specific of the places leading the title; a name that is also a unit inside it
    is that unit when the text is mostly about it (吉林.txt: the province by the name alone, 吉林市 by the
    text)."""
    code = _most_specific(own)
    surface = next(m["text"] for m in own if m["code"] == code)
    inner = [c.code for c in gaz.surfaces.get(surface, ()) if c.code != code and code in _ancestors(c.code, gaz)]
    best = max(inner, key=lambda c: counts[c], default=None)
    return best if best and counts[best] >= gaz.primary_min_share * counts[code] > 0 else code


def primary_region(mentions: list[dict], hint_text: str, gaz: Gazetteer, title: str = "") -> dict:
    """The article's region, most specific first, from its title, its hint and its mentions.

    A place leading the article's title (济南市城市公共交通条例; 北京 for city-reports-2024/北京.txt, titled by its
    file name) names the article's own place: that is its region, however often the text names one of its
    districts (a city's law singles out one district again and again: 县（市）、长清区人民政府 ten times in
    济南's). A file name is no article's title when the file is a compilation of articles or a collection of
    rows, each with a title of its own. Otherwise a place leading a folder or file name (北京地方法规/,
    北京社区治理经验汇编.txt) is the start, else the whole country, and the rule walks down the
    division tree while one child region holds at least regions.primary_min_share of the mentions under the
    current one, a mention counting for its region and every region above it: an article about one district
    goes down to it; a national text naming many provinces gets no region, and neither does a national
    body's document (is_national: the State Council's reports name one province or city more than others,
    海南 or 浦东, a few times in 30,000 characters).
    """
    hinted = hint_mentions(hint_text, gaz) if hint_text else []
    own = leading_mentions(title, gaz) if title else []
    counts: Counter = Counter()
    for m in mentions:
        if m["code"] in gaz.units:
            counts.update(_ancestors(m["code"], gaz))
    children: dict[str | None, list[str]] = {}
    for code in counts:
        children.setdefault(gaz.units[code].parent, []).append(code)
    start = _most_specific(hinted)
    if own:
        code = _own_place(own, counts, gaz)
    elif start is None and is_national(title, gaz):
        code = None
    else:
        code = _descend(start, counts, children, gaz.primary_min_share)
    regions = sorted({m["code"] for m in (*mentions, *hinted, *own)})
    if code is None:
        return {"region_code": None, "region_name": None, "province_code": None, "province": None,
                "city_code": None, "city": None, "regions": regions}
    unit = gaz.units[code]
    city_code, city = gaz.city_of(unit)
    return {"region_code": unit.code, "region_name": unit.name, "province_code": unit.province_code,
            "province": gaz.units[unit.province_code].name, "city_code": city_code, "city": city,
            "regions": regions}
