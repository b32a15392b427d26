"""Settings of search and the web page, read from configs/search.yaml (pydantic-validated)."""
from __future__ import annotations

import functools
from pathlib import Path

from pydantic import Field

from pipeline.config import CONFIG_DIR, Strict, read_yaml, validate

SEARCH_CONFIG = CONFIG_DIR / "search.yaml"


class IndexSettings(Strict):
    include_duplicates: bool = False
    batch_rows: int = Field(20_000, ge=100)


class QuerySettings(Strict):
    max_chars: int = Field(200, ge=1)
    max_terms: int = Field(16, ge=1)
    default_limit: int = Field(20, ge=1)
    max_limit: int = Field(1000, ge=1)
    max_context: int = Field(10, ge=0)
    facet_sample: int = Field(5_000, ge=100)
    count_cap: int = Field(10_000, ge=100)
    rank_window: int = Field(2_000, ge=100)
    word_match_weight: float = Field(1.0, ge=0)
    substring_match_weight: float = Field(0.6, ge=0)
    bm25_k1: float = Field(1.2, ge=0)
    bm25_b: float = Field(0.75, ge=0, le=1)
    max_year_span: int = Field(200, ge=1)


class WebSettings(Strict):
    page_size: int = Field(20, ge=1)
    max_page_size: int = Field(100, ge=1)
    max_offset: int = Field(5000, ge=0)
    export_max_rows: int = Field(1000, ge=1)
    facet_values: int = Field(12, ge=1)
    theme_regions: int = Field(15, ge=1)
    theme_examples: int = Field(3, ge=1)
    cache_entries: int = Field(512, ge=1)
    workers: int = Field(1, ge=1, description="server processes of `zhili serve` (each holds its own page cache)")
    threads: int = Field(4, ge=1, description="threads per server process running page handlers (CPU-bound: "
                                              "more threads only fight over the GIL)")
    backlog: int = Field(2048, ge=64, description="connections the OS queues before the server accepts them")
    keep_alive_seconds: float = Field(30.0, gt=0, description="an idle client connection is kept this long")


class SearchSettings(Strict):
    index: IndexSettings = IndexSettings()
    query: QuerySettings = QuerySettings()
    web: WebSettings = WebSettings()


@functools.lru_cache(maxsize=4)
def load_settings(path: str | None = None) -> SearchSettings:
    """configs/search.yaml (or the given file) validated; errors name the file and key."""
    p = Path(path) if path else SEARCH_CONFIG
    return validate(SearchSettings, read_yaml(p), p)
