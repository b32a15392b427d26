"""A content-addressed cache of per-file stage results, on any fsspec file system.

Each stage of a file is stored under a key that hashes everything its output depends on: the file's
bytes, the key of the stage before, the configuration sections and files the stage reads, and the code
of the modules that compute it. A rerun over an unchanged corpus only reads the cache; changing the
themes file redoes theme matching and nothing before it. Workers on a cluster write here (a shared file
system or object store URL); the runner assembles the run's tables from it.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

PACKAGE_DIR = Path(__file__).resolve().parent


def digest(*parts: Any) -> str:
    """Stable hash of strings, bytes and JSON-able values."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, bytes):
            h.update(part)
        elif isinstance(part, str):
            h.update(part.encode("utf-8", "surrogateescape"))
        else:
            h.update(json.dumps(part, sort_keys=True, ensure_ascii=False, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def files_digest(paths: Iterable[Path]) -> str:
    """Hash of the contents of files and folders (missing ones hash as absent), e.g. a user dictionary."""
    expanded = [q for p in map(Path, paths) for q in (sorted(p.rglob("*")) if p.is_dir() else [p])]
    parts = []
    for p in sorted(expanded):
        parts.append(str(p.name))
        parts.append(p.read_bytes() if p.is_file() else b"<absent>")
    return digest(*parts)


def code_digest(patterns: Iterable[str]) -> str:
    """Hash of the package modules matching the patterns (relative to pipeline/): the code version."""
    paths = sorted({p for pattern in patterns for p in PACKAGE_DIR.glob(pattern) if p.is_file()})
    return files_digest(paths)


class StageCache:
    """Parquet tables and a JSON record per key; writes are atomic (temp name, then move)."""

    def __init__(self, url: str):
        self.url = str(Path(url).expanduser()) if "://" not in url else url
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self.fs.makedirs(self.root, exist_ok=True)

    def _dir(self, key: str) -> str:
        return f"{self.root}/{key[:2]}/{key}"

    def has(self, key: str) -> bool:
        return self.fs.exists(f"{self._dir(key)}/meta.json")

    def save(self, key: str, tables: dict[str, pa.Table], meta: dict[str, Any]) -> None:
        """Write tables and meta into a temporary folder, then move it into place (last writer wins)."""
        final = self._dir(key)
        tmp = f"{self.root}/tmp/{key}-{uuid.uuid4().hex[:8]}"
        self.fs.makedirs(tmp, exist_ok=True)
        for name, table in tables.items():
            with self.fs.open(f"{tmp}/{name}.parquet", "wb") as fh:
                pq.write_table(table, fh, compression="zstd")
        with self.fs.open(f"{tmp}/meta.json", "w") as fh:
            json.dump(meta, fh, ensure_ascii=False, default=str)
        self.fs.makedirs(f"{self.root}/{key[:2]}", exist_ok=True)
        if self.fs.exists(final):
            self.fs.rm(tmp, recursive=True)
            return
        try:
            self.fs.mv(tmp, final, recursive=True)
        except (FileExistsError, OSError):
            self.fs.rm(tmp, recursive=True)
            if not self.has(key):
                raise

    def load(self, key: str, name: str) -> pa.Table:
        with self.fs.open(f"{self._dir(key)}/{name}.parquet", "rb") as fh:
            return pq.read_table(fh)

    def meta(self, key: str) -> dict[str, Any]:
        with self.fs.open(f"{self._dir(key)}/meta.json", "r") as fh:
            return json.load(fh)
