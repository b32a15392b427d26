"""A content-addressed cache of per-file stage results, on any fsspec file system.

Each stage of a file is stored under a key that hashes everything its output depends on: the file's
bytes, the key of the stage before, the configuration sections and files the stage reads, and the code
of the modules that compute it. A rerun over an unchanged corpus only reads the cache; changing the
themes file redoes theme matching and nothing before it. Workers on a cluster write here (a shared file
system or object store URL).
"""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
from fsspec.implementations.local import LocalFileSystem

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
    """One bundle file per key: each table as an Arrow IPC stream (compressed as run.cache_compression
    says), plus a JSON record.

    A bundle is an Arrow IPC file with one row and one binary column per table, the record in its schema
    metadata: one file to write and one to read per stage of a file (small Parquet files cost more to open
    than to decode). Writes are atomic (temporary name, then move).
    """

    def __init__(self, url: str, compression: str = "none"):
        self.url = str(Path(url).expanduser()) if "://" not in url else url
        self.options = pa.ipc.IpcWriteOptions(compression=None if compression == "none" else compression)
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self.fs.makedirs(self.root, exist_ok=True)
        self.local = isinstance(self.fs, LocalFileSystem)
        self._made: set[str] = set()  # folders known to exist

    def _path(self, key: str) -> str:
        return f"{self.root}/{key[:2]}/{key}.arrow"

    def has(self, key: str) -> bool:
        return os.path.exists(self._path(key)) if self.local else self.fs.exists(self._path(key))

    def save(self, key: str, tables: dict[str, pa.Table], meta: dict[str, Any]) -> None:
        """Write the bundle under a temporary name, then move it into place (last writer wins)."""
        columns = {name: _one_blob(_stream_bytes(table, self.options)) for name, table in tables.items()}
        bundle = pa.table(columns).replace_schema_metadata(
            {"meta": json.dumps(meta, ensure_ascii=False, default=str)})
        final = self._path(key)
        tmp = f"{self.root}/tmp/{key}-{uuid.uuid4().hex[:8]}.arrow"
        for folder in (f"{self.root}/tmp", f"{self.root}/{key[:2]}"):
            if folder not in self._made:
                self.fs.makedirs(folder, exist_ok=True)
                self._made.add(folder)
        # on a local disk, plain files: fsspec's open and mv cost more than writing a small bundle
        sink = pa.OSFile(tmp, "wb") if self.local else self.fs.open(tmp, "wb")
        with sink as fh, pa.ipc.new_file(fh, bundle.schema) as writer:
            writer.write_table(bundle)
        (os.replace if self.local else self.fs.mv)(tmp, final)

    def _reader(self, key: str) -> pa.ipc.RecordBatchFileReader:
        path = self._path(key)
        source = pa.memory_map(path) if self.local else pa.py_buffer(self.fs.cat_file(path))
        return pa.ipc.open_file(source)

    def load(self, key: str) -> tuple[dict[str, pa.Table], dict[str, Any]]:
        """Every table of a bundle, and its record, from one read."""
        reader = self._reader(key)
        batch = reader.get_batch(0)
        found = {name: pa.ipc.open_stream(batch.column(name)[0].as_buffer()).read_all()
                 for name in batch.schema.names}
        return found, json.loads(reader.schema.metadata[b"meta"])


def _one_blob(buffer: pa.Buffer) -> pa.Array:
    """A one-element binary array over the buffer, without copying it."""
    offsets = pa.py_buffer(np.array([0, buffer.size], dtype=np.int64))
    return pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, buffer])


def _stream_bytes(table: pa.Table, options: pa.ipc.IpcWriteOptions) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return sink.getvalue()
