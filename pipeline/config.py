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


class CollectionMapping(Strict):
    """How rows of a .csv/.jsonl/.xlsx collection become documents."""

    glob: str = Field(description="file-name pattern (fnmatch) the mapping applies to, e.g. '*.jsonl'")
    text: str = Field(description="column holding the document text")
    title: str | None = None
    date: str | None = None
    year: str | None = None
    source: str | None = None
    author: str | None = None
    region: str | None = None
    id: str | None = None


class IngestConfig(Strict):
    extensions: list[str] = [".txt", ".md", ".html", ".htm", ".docx", ".pdf", ".csv", ".jsonl", ".xlsx"]
    max_file_mb: float = 256.0
    max_docx_ratio: float = Field(100.0, description="refuse a .docx whose inflated size exceeds this ratio")
    min_chars: int = Field(20, description="an article shorter than this (after cleaning) is dropped as empty")
    follow_symlinks: bool = True
    collections: list[CollectionMapping] = [
        CollectionMapping(glob="*.jsonl", text="content", title="title", year="year", source="url"),
        CollectionMapping(glob="*.csv", text="content", title="title", year="year", date="date"),
        CollectionMapping(glob="*.xlsx", text="content", title="title", year="year", date="date"),
    ]


class BoilerplateConfig(Strict):
    line_patterns: list[str] = Field(default_factory=list, description="regexes; a matching line is chrome")
    tail_markers: list[str] = Field(default_factory=list, description="regexes; the first match ends the page body")
    repeated_line_min_files: int = Field(3, description="a short line in this many files of one source is chrome")
    repeated_line_max_chars: int = 40

    _v = field_validator("line_patterns", "tail_markers")(classmethod(lambda cls, v: _check_regexes(v)))


class CompilationConfig(Strict):
    article_heading_patterns: list[str] = Field(default_factory=list)
    min_articles: int = 2

    _v = field_validator("article_heading_patterns")(classmethod(lambda cls, v: _check_regexes(v)))


class RegionConfig(Strict):
    divisions_dir: str = "configs/admin-divisions"
    min_short_name_chars: int = 2
    ambiguous_short_names: list[str] = Field(default_factory=list, description="short forms never matched alone")


class DedupConfig(Strict):
    threshold: float = 0.8
    num_perm: int = 128
    shingle: int = 5


class StructureConfig(Strict):
    max_sentence_chars: int = 300
    min_clause_chars_for_semicolon: int = 8


class AnnotateConfig(Strict):
    tokenizer: Literal["rjieba", "jieba"] = "rjieba"
    userdict: str = "configs/userdict.txt"
    stopwords: str = "configs/stopwords.txt"
    cues: str = "configs/cues.yaml"
    model_cache: str = "~/.cache/zhili/models"
    random_state: int = 0


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
    pattern_score: float = Field(0.9, ge=0, le=1, description="score of a theme found by its patterns alone")
    model: bool = True
    model_min_labels: int = Field(8, description="a theme gets a model only with this many labelled units")
    model_c: float = Field(4.0, gt=0, description="inverse regularisation of the per-theme logistic models")
    model_threshold: float = Field(0.5, gt=0, lt=1, description="probability from which the model assigns a theme")
    context_threshold: float = Field(
        0.25, gt=0, lt=1, description="lower probability at which a sentence continues a theme of the sentence before it")
    model_cache: str = "~/.cache/zhili/themes"
    article_marker: str = Field(r"篇\s*\d+", description="regex: a labelled unit matching it starts a new article (CV groups)")
    discover: bool = True
    min_cluster_size: int = 8
    min_topics: int = 3
    max_topics: int = 12
    merge_overlap: float = Field(0.5, description="a discovered theme sharing this share of sentences or top terms with a seeded one is merged")
    max_discovery_sentences: int = Field(50_000, description="beyond this, discovery fits on a hash sample")
    random_state: int = 0


class RunConfig(Strict):
    jobs: int = 0  # 0 = all cores
    batch_files: int = 32
    cache_dir: str = "~/.cache/zhili/files"


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
