"""Ingest: find input files, read each into cleaned, normalised articles with their metadata.

discover() lists the files of a corpus, source_chrome() learns the lines a source repeats on every
page, read_file() turns one file into article dicts (documents columns + region_hint) and error rows.
read_file never raises: whatever goes wrong with a file becomes an ERRORS row with a hint.
"""
from __future__ import annotations

import errno
import hashlib
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipeline.config import Config
from pipeline.ingest import compilation, formats, metadata
from pipeline.ingest.boilerplate import chrome_sample, cleaner, repeated_lines
from pipeline.ingest.formats import IngestError
from pipeline.ingest.normalize import IDEOGRAPH, normalize
from pipeline.structure import join_broken_lines

_FORMAT_NAMES = {".htm": "html"}
#: the ways a damaged .zip fails in zipfile (found by fuzzing): wrong headers, bad data, an unknown version or
#: method, encryption, seeks outside the file
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
               ValueError, OSError, struct.error)


@dataclass
class FileResult:
    articles: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


def display_path(path: Path, root: Path | None = None) -> str:
    """Path relative to root when possible, as a valid str even for non-UTF-8 bytes in names (\\xff)."""
    try:
        rel = path.relative_to(root) if root is not None and path != root else Path(path.name)
    except ValueError:
        rel = path
    raw = os.fsencode(rel)
    return raw.decode("utf-8", "backslashreplace")


MAX_ERROR_CHARS = 300


def error_row(source_path: str, stage: str, error: str, hint: str) -> dict:
    """An errors-table row; a reason that quotes a library's message is cut to MAX_ERROR_CHARS (pdfminer
    quotes whole damaged dictionaries: thousands of characters on one warning line)."""
    if len(error) > MAX_ERROR_CHARS:
        error = error[:MAX_ERROR_CHARS - 1] + "…"
    return {"source_path": source_path, "stage": stage, "error": error, "hint": hint}


# ---------------------------------------------------------------------------------------- discover

def discover(root: Path, cfg: Config) -> tuple[list[Path], list[dict]]:
    """Input files under root (or root itself if it is a file), in a deterministic order.

    Hidden files and folders are skipped; only configured extensions are kept, and a file of a known
    unsupported type (ingest.unsupported: .pptx, .caj, .ofd ...) is an error row saying what to do; a
    symbolic link back to an enclosing folder is reported as a loop and not followed; a folder reached
    twice is walked once.
    """
    root = Path(root)
    exts = {e.lower() for e in cfg.ingest.extensions}
    unsupported = {e.lower(): hint for e, hint in cfg.ingest.unsupported.items()}
    follow = cfg.ingest.follow_symlinks
    if root.is_file():
        if root.suffix.lower() in exts:
            return [root], []
        return [], [error_row(display_path(root, root.parent), "read", f"unsupported file type {root.suffix!r}",
                              f"give a file with one of: {' '.join(sorted(exts))} (see ingest.extensions)")]
    if not root.is_dir():
        return [], [error_row(display_path(root), "read", "corpus not found", "give an existing folder or file")]
    st = root.stat()
    visited = {(st.st_dev, st.st_ino)}
    stack: list[tuple[Path, frozenset]] = [(root, frozenset(visited))]
    paths: list[Path] = []
    errors: list[dict] = []
    while stack:
        folder, ancestors = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: os.fsencode(e.name))
        except OSError as exc:
            errors.append(error_row(display_path(folder, root), "read", f"cannot list folder: {exc.strerror or exc}",
                                    "check the folder's permissions, then run again"))
            continue
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=follow):
                    s = entry.stat(follow_symlinks=True)
                    key = (s.st_dev, s.st_ino)
                    if key in ancestors:
                        errors.append(error_row(display_path(path, root), "read",
                                                "symbolic link loop: the link points back to an enclosing folder",
                                                "remove or fix the link; its folder was not read twice"))
                    elif key not in visited:
                        visited.add(key)
                        subdirs.append((path, ancestors | {key}))
                elif entry.is_file(follow_symlinks=follow):
                    if path.suffix.lower() in exts:
                        paths.append(path)
                    elif (row := _unread_row(display_path(path, root), path.suffix, unsupported)) is not None:
                        errors.append(row)
                elif entry.is_symlink() and follow and not os.path.exists(entry.path):
                    errors.append(error_row(display_path(path, root), "read", "broken or looping symbolic link",
                                            "fix or remove the link"))
            except OSError as exc:
                if exc.errno == errno.ELOOP:  # a link to itself or a cycle of links between files
                    errors.append(error_row(display_path(path, root), "read", "looping symbolic link "
                                            f"({exc.strerror})", "fix or remove the link"))
                    continue
                errors.append(error_row(display_path(path, root), "read", f"cannot inspect: {exc.strerror or exc}",
                                        "check the file's permissions, then run again"))
        stack.extend(reversed(subdirs))
    return paths, errors


# ---------------------------------------------------------------------------------------- chrome

def _sample_text(data: bytes, suffix: str, cfg: Config) -> str:
    text, _ = formats.decode_bytes(data, cfg.ingest)
    return formats.markdown_to_text(text)[0] if suffix == ".md" else text


def source_chrome(paths: list[Path], cfg: Config,
                  sample: list[tuple[str, bytes | None]] | None = None) -> frozenset[str]:
    """Lines that repeat across the files of one source (boilerplate), from a bounded sample of them
    (chrome_sample(paths, cfg.boilerplate) unless given)."""
    if sample is None:
        sample = chrome_sample(list(paths), cfg.boilerplate)
    return repeated_lines(sample, cfg.boilerplate, lambda data, suffix: _sample_text(data, suffix, cfg))


# ---------------------------------------------------------------------------------------- read_file

def read_file(path: Path, root: Path, cfg: Config, chrome: frozenset[str] = frozenset()) -> FileResult:
    """Articles of one file; every failure becomes an error row (never raises)."""
    path, root = Path(path), Path(root)
    rel = display_path(path, root)
    return _guarded(rel, lambda: _read(path, root, rel, cfg, chrome))


def _guarded(rel: str, read: Callable[[], FileResult]) -> FileResult:
    """read()'s result; whatever it raises becomes the error row of the file at rel (a file on disk or a
    member of an archive, so one bad member does not lose the others)."""
    try:
        return read()
    except IngestError as exc:
        return FileResult([], [error_row(rel, exc.stage, exc.error, exc.hint)])
    except MemoryError:
        return FileResult([], [error_row(rel, "read", "not enough memory to read this file",
                                         "lower ingest.max_file_mb or split the file")])
    except RecursionError:
        return FileResult([], [error_row(rel, "extract", "the file's structure is nested too deeply to parse",
                                         "convert it to plain text (.txt) and run again")])
    except Exception as exc:  # noqa: BLE001 - a bad file must never stop the run
        return FileResult([], [error_row(rel, "extract", f"unexpected {type(exc).__name__}: {exc}",
                                         "the file was skipped; please report this with the file")])


def _read_bytes(path: Path, max_bytes: float) -> bytes:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise IngestError("read", "file not found (deleted or moved during the run?)",
                          "check that the file still exists, then run again") from None
    except OSError as exc:
        raise IngestError("read", f"cannot read the file: {exc.strerror or exc}",
                          "check the file's permissions, then run again") from None
    if not stat.S_ISREG(st.st_mode):
        raise IngestError("read", "not a regular file", "give regular files only")
    if st.st_size > max_bytes:
        raise IngestError("read", f"file too large: {st.st_size / 2**20:.1f} MB over ingest.max_file_mb "
                                  f"({max_bytes / 2**20:g} MB)",
                          "split the file, or raise ingest.max_file_mb in the config")
    if st.st_size == 0:
        raise IngestError("read", "empty file", "the file has no content; remove it or replace it with the real file")
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise IngestError("read", "file not found (deleted or moved during the run?)",
                          "check that the file still exists, then run again") from None
    except PermissionError as exc:
        raise IngestError("read", f"permission denied: {exc.strerror or exc}",
                          "make the file readable (chmod +r) or run as a user who can read it") from None
    except OSError as exc:
        raise IngestError("read", f"cannot read the file: {exc.strerror or exc}",
                          "check the disk and the file, then run again") from None


def _unread_row(rel: str, suffix: str, unsupported: dict[str, str]) -> dict | None:
    """The errors row of a file zhili does not read: a type unsupported (lower-case suffix -> hint) names is
    listed with what to do; any other (an image, a stylesheet) is passed over, None."""
    hint = unsupported.get(suffix.lower())
    return None if hint is None else error_row(rel, "discover", f"{suffix} files are not read", hint)


def _read(path: Path, root: Path, rel: str, cfg: Config, chrome: frozenset[str]) -> FileResult:
    data = _read_bytes(path, cfg.ingest.max_file_mb * 2**20)
    if path.suffix.lower() == ".zip":
        return _read_archive(data, path, root, rel, cfg)
    return _read_data(data, path, root, rel, cfg, chrome)


def _read_archive(data: bytes, path: Path, root: Path, rel: str, cfg: Config) -> FileResult:
    """Every document of a .zip archive, each read as a file in a folder named after the archive (its
    source_path: 调研报告.zip/北京.txt); a member zhili does not read is passed over as discover() passes
    over such a file, or reported when ingest.unsupported names its type."""
    import io

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        raise IngestError("extract", f"not a readable .zip archive ({exc})",
                          "unpack it with another tool into the corpus folder, or create the archive again") from None
    readable = {e.lower() for e in cfg.ingest.extensions} - {".zip"}
    unsupported = {".zip": "unpack the inner archive into the corpus folder and run again",
                   **{k.lower(): v for k, v in cfg.ingest.unsupported.items()}}
    result, max_bytes = FileResult(), cfg.ingest.max_file_mb * 2**20
    for info in archive.infolist():
        name = _member_name(info)
        suffix = Path(name).suffix.lower()
        if info.is_dir() or Path(name).name.startswith((".", "~$")) or "__MACOSX" in name.split("/"):
            continue
        member_rel = f"{rel}/{name}"
        if suffix not in readable:
            if (row := _unread_row(member_rel, suffix, unsupported)) is not None:
                result.errors.append(row)
            continue
        found = _guarded(member_rel, lambda: _read_data(_member_bytes(archive, info, max_bytes), path / name, root,
                                                        member_rel, cfg, frozenset()))
        for art in found.articles:
            art["article_index"] = len(result.articles)  # unique within the archive: doc ids derive from it
            result.articles.append(art)
        result.errors.extend(found.errors)
    if not result.articles and not result.errors:
        result.errors.append(error_row(rel, "extract", "the archive holds no document zhili reads",
                                       f"zhili reads {', '.join(sorted(readable))}"))
    return result


def _member_bytes(archive, info, max_bytes: float) -> bytes:
    """A member's content, or an IngestError saying why it cannot be had (too large, locked, damaged, empty)."""
    if info.file_size > max_bytes:
        raise IngestError("read", f"file too large: {info.file_size / 2**20:.1f} MB over ingest.max_file_mb "
                                  f"({max_bytes / 2**20:g} MB)", "unpack it and split the file")
    if info.flag_bits & 0x1:
        raise IngestError("read", "password-protected in the archive",
                          "unpack the archive with its password into the corpus folder and run again")
    try:
        data = archive.read(info)
    except _ZIP_ERRORS as exc:
        raise IngestError("read", f"cannot unpack it ({exc})",
                          "unpack the archive with another tool into the corpus folder") from None
    if not data:
        raise IngestError("read", "empty file", "the file has no content in the archive")
    return data


def _member_name(info) -> str:
    """A member's name as text: zipfile reads names without the UTF-8 flag as cp437, but a Chinese Windows
    archive writes them in GBK (北京.txt arrived as ▒▒▒▒.txt)."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    return readable_name(raw)


def _read_data(data: bytes, path: Path, root: Path, rel: str, cfg: Config, chrome: frozenset[str]) -> FileResult:
    """Articles of one file's bytes (a file on disk, or a member of an archive at path)."""
    sha = hashlib.sha256(data).hexdigest()
    extracted = formats.extract(path, data, cfg.ingest)
    del data
    result = FileResult(errors=[error_row(rel, e.stage, e.error, e.hint) for e in extracted.errors])
    base = {"source_path": rel, "format": _FORMAT_NAMES.get(path.suffix.lower(), path.suffix.lower().lstrip(".")),
            "encoding": extracted.encoding, "sha256": sha}
    names = _names(path, root)
    top = _top_folder(names, root, path)
    is_collection = path.suffix.lower() in formats.COLLECTION_EXTENSIONS  # never split
    join = _join_mode(path.suffix.lower(), cfg)
    blank = 0
    while extracted.units:
        unit = extracted.units.pop(0)
        if len(unit.text) > cfg.ingest.max_article_chars:  # refused before any copy: bounded memory
            result.errors.append(error_row(rel, "extract", f"{'' if unit.row is None else f'row {unit.row + 1}: '}one article of {len(unit.text):,} characters, over "
                                           f"ingest.max_article_chars ({cfg.ingest.max_article_chars:,})",
                                           "split the file into articles (one per file, or one per row of a "
                                           ".jsonl), or raise ingest.max_article_chars if memory allows"))
            continue
        text, unit.text = normalize(unit.text), ""  # drop the raw copy at once: bounded memory on huge files
        if not text:
            blank += 1
            continue
        for art in _articles(text, unit, names, top, cfg, chrome, split=not is_collection, join=join):
            if len(art["text"]) < cfg.ingest.min_chars:
                result.errors.append(error_row(rel, "extract", f"article {art['title'] or ''!r} has only "
                                               f"{len(art['text'])} characters after cleaning; skipped",
                                               "nothing to do if it is really empty; otherwise check the "
                                               "boilerplate patterns in the config"))
                continue
            art.update(base, article_index=len(result.articles) if not is_collection else unit.row)
            result.articles.append(art)
    if not result.articles and not result.errors:
        error = ("empty file (only whitespace or markup)" if blank
                 else "no text left after removing boilerplate")
        result.errors.append(error_row(rel, "extract", error, "check the file's content; nothing was ingested"))
    return result


def _names(path: Path, root: Path) -> list[str]:
    """Root folder name, folders below it, and the file stem, as readable strings (for hints and years)."""
    try:
        parts = list(path.relative_to(root).parts) if path != root else [path.name]
    except ValueError:
        parts = [path.name]
    prefix = [root.name] if root != path and root.name else []
    names = [*prefix, *parts[:-1], Path(parts[-1]).stem]
    return [readable_name(os.fsencode(n)) for n in names]


def readable_name(raw: bytes) -> str:
    """A file or folder name's bytes as text for titles, years and region hints: UTF-8, else GB18030 when
    that gives Chinese (names from a Windows zip unpacked on Linux: 北京市/工作报告.txt in GBK), else UTF-8
    with \\xNN escapes. source_path keeps the escapes, so two names never show as one."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")
    return text if IDEOGRAPH.search(text) else raw.decode("utf-8", "backslashreplace")


def _top_folder(names: list[str], root: Path, path: Path) -> str | None:
    """The first folder below the corpus root, else the corpus folder itself (the default source)."""
    return names[1] if len(names) > 2 and root != path and root.name else (names[0] if len(names) > 1 else None)


JoinMode = Literal["always", "wrapped", "never"]


def _join_mode(suffix: str, cfg: Config) -> JoinMode:
    """When a format's line breaks inside a sentence are removed: always (plain text, ingest.join_broken_lines),
    where the text is hard-wrapped (word processors, web pages: ingest.join_wrapped_lines), or never."""
    if suffix in {e.lower() for e in cfg.ingest.join_broken_lines}:
        return "always"
    return "wrapped" if suffix in {e.lower() for e in cfg.ingest.join_wrapped_lines} else "never"


def _articles(text: str, unit: formats.Unit, names: list[str], top: str | None, cfg: Config,
              chrome: frozenset[str], split: bool, join: JoinMode) -> list[dict[str, Any]]:
    """Metadata from the head, compilation split, boilerplate removal, broken lines joined (join), titles."""
    clean = cleaner(cfg.boilerplate.model_dump_json())
    head = metadata.head_lines(text, cfg.ingest.head_lines)
    meta = unit.meta
    parts = compilation.split(text, cfg.compilation) if split else None
    if parts is None:
        pieces = [(meta.get("title"), text)]
    else:
        preamble, articles = parts
        pieces = [(p.heading, p.text) for p in articles]
        head = metadata.head_lines(preamble, cfg.ingest.head_lines) or head
    marked = {normalize(str(t)): int(level) for t, level in meta.get("headings") or []}
    stated_date = metadata.date_line(head)
    source = meta.get("source") or metadata.source_line(head)
    author = metadata.author_line(head) or meta.get("author")
    out = []
    for title, body in pieces:
        title = normalize(str(title)).split("\n")[0] if title else None
        title = metadata.clean_title(title, cfg.ingest.title_noise, cfg.ingest.title_placeholders) if title else None
        body_head = metadata.head_lines(body, cfg.ingest.head_lines)
        cleaned = clean.clean(body, chrome, title)
        if join != "never":
            cleaned = join_broken_lines(cleaned, cfg.structure, wrapped_only=join == "wrapped")
        if not title:
            found = metadata.title_line(cleaned, cfg.ingest.title_skip, cfg.ingest.not_title)
            if found:
                title, cleaned = found
            else:
                title = str(meta["id"]) if meta.get("id") is not None else names[-1]
        date = (stated_date or metadata.date_line(body_head) or metadata.normalise_date(meta.get("date"))
                or metadata.parse_date(names[-1]) or metadata.first_date(body_head if parts else head)
                or metadata.signed_date(cleaned) or metadata.normalise_date(meta.get("created")))
        year = (metadata.year_of(date) or metadata.to_year(meta.get("year")) or metadata.title_year(title)
                or metadata.meeting_year(title, cfg.ingest.meetings) or metadata.year_in_names(reversed(names)))
        region = [*names, str(meta["region"])] if meta.get("region") else names
        out.append({"title": title, "date": date, "year": year,
                    "source": str(source) if source else top,
                    "author": author or metadata.author_line(body_head),
                    "text": cleaned, "region_hint": "/".join(region), "headings": marked})
    return out
