"""The pipeline's stages in one visible list, each declaring the columns it needs and adds.

The list is checked before any file is read. Per-file stages are cached by keys that hash what each
stage depends on (configuration sections, the files they name, their code), chained from the file's
bytes through the stages, so a change invalidates exactly the stages it affects and those after them.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pipeline.cache import code_digest, digest, files_digest
from pipeline.config import Config


@dataclass(frozen=True)
class Stage:
    """A stage, the columns it needs and adds, and what its cached result depends on."""

    name: str
    scope: str  # "file": runs in workers, cached per file; "run": runs once over the whole run
    needs: tuple[str, ...]
    adds: tuple[str, ...]
    config: tuple[str, ...] = ()  # config sections it reads
    files: tuple[str, ...] = ()  # config keys naming files it reads (their contents are hashed)
    code: tuple[str, ...] = ()  # modules of pipeline/ that compute it


STAGES: tuple[Stage, ...] = (
    Stage("ingest", "file", needs=("input.file",),
          adds=("documents.text", "documents.title", "documents.date", "documents.year", "documents.region_code",
                "documents.regions", "mentions.code", "mentions.start", "mentions.end", "errors.error"),
          config=("ingest", "boilerplate", "compilation", "regions", "dedup"),
          files=("regions.lists", "regions.divisions_dir"),
          code=("ingest/*.py", "structure.py", "numerals.py", "config.py", "tables.py", "work.py")),
    Stage("structure", "file", needs=("documents.text",),
          adds=("sections.heading", "sections.level", "sentences.text", "sentences.start", "sentences.end",
                "sentences.section_id", "sentences.is_heading"),
          config=("structure",), files=("structure.patterns",), code=("structure.py", "numerals.py")),
    Stage("annotate", "file", needs=("sentences.text", "sentences.section_id", "sections.heading", "documents.year",
                                     "documents.title"),
          adds=("sentences.type", "sentences.type_score", "sentences.cues", "sentences.method"),
          config=("annotate", "labels"), files=("annotate.userdict", "annotate.cues", "annotate.stopwords", "annotate.weak_labels",
                                               "annotate.vectors", "labels.files"),
          code=("annotate.py", "tagger.py", "labels.py", "segment.py", "vectors.py", "nfkc.py", "keyindex.py",
                "regex_literals.py", "numerals.py", "structure.py")),
    Stage("themes", "file", needs=("sentences.text", "sentences.type"),
          adds=("sentences.themes", "sentence_themes.theme_id"),
          config=("themes", "labels", "annotate"), files=("themes.file", "labels.files", "annotate.userdict"),
          code=("themes.py", "theme_model.py", "labels.py", "segment.py", "nfkc.py", "regex_literals.py")),
    Stage("dedup", "run", needs=("documents.text",), adds=("documents.duplicate_of",)),
    Stage("discover", "run", needs=("sentences.type", "sentences.themes", "documents.duplicate_of"),
          adds=("themes.theme_id", "doc_themes.theme_id", "sentence_themes.theme_id"),
          config=("themes",), code=("themes.py", "discover.py", "theme_model.py", "labels.py", "segment.py", "nfkc.py",
                                    "regex_literals.py")),
)


class PipelineError(RuntimeError):
    """The run cannot proceed at all (nothing to read, bad stage wiring); the message says why."""


@functools.cache
def code_version(name: str) -> str:
    """Digest of a stage's modules: a model trained for the stage (the tagger, the theme model) is keyed by
    it, so code that featurises differently never uses a model stored by other code."""
    return code_digest(next(s.code for s in STAGES if s.name == name))


def check_stages(stages: Iterable[Stage] = STAGES) -> None:
    """Every column a stage needs is added by an earlier stage; checked before any file is read."""
    available = {"input.file"}
    for stage in stages:
        missing = [c for c in stage.needs if c not in available]
        if missing:
            raise PipelineError(f"stage {stage.name!r} needs {missing}, which no earlier stage adds")
        available.update(stage.adds)


def stage_keys(cfg: Config) -> dict[str, str]:
    """Per-stage digest of configuration sections, files and code, computed once per run."""
    dumped = cfg.model_dump()
    keys = {}
    for stage in STAGES:
        if stage.scope != "file":
            continue
        paths: list[Path] = []
        for ref in stage.files:
            section, key = ref.split(".")
            value = dumped[section][key]
            paths.extend(cfg.resolve(v) for v in (value if isinstance(value, list) else [value]) if v is not None)
        keys[stage.name] = digest(stage.name, {s: dumped[s] for s in stage.config},
                                  files_digest(paths), code_digest(stage.code))
    return keys


def file_keys(path: str, rel: str, chrome: frozenset[str], keys: dict[str, str]) -> dict[str, str]:
    """Cache keys of a file's stages: its bytes, path and boilerplate lines, chained through the stages."""
    k_ingest = digest(keys["ingest"], keys["structure"], Path(path).read_bytes(), rel, sorted(chrome))
    k_annot = digest(k_ingest, keys["annotate"])
    return {"ingest": k_ingest, "annotate": k_annot, "themes": digest(k_annot, keys["themes"])}
