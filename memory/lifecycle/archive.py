"""Archive files: a conversation's full transcript as readable, versioned, checksummed JSON.

    <archive_dir>/<year>/<month>/<conversation id>.json.gz     (year and month it was created)

The file is gzip'd JSON, one object:

    {"format": "memory-archive", "version": 1, "checksum": "sha256:<hex>", "conversation": {...}}

where the checksum covers the canonical JSON of `conversation` (keys sorted, no spaces, UTF-8): the
conversation's own fields, every message (id, role, content, metadata, time, content hash) and, per
message, its vector of the active space (base64 of float32 little-endian) with that space's model,
so a restore re-embeds nothing unless the model changed. `write_archives` writes each file to a
temporary file beside its target and renames it into place, flushes them all to disk (on Linux one
`syncfs` of the archive's file system for the whole batch, else an fsync of every file and
directory: one fsync pair per file cost 11 ms, two thirds of compaction's time), and reads each back
through `read_archive` before it returns: a file at an archive path is whole, or not there, once the
function has returned; the caller commits nothing that refers to a file before that.
"""

from __future__ import annotations

import base64
import ctypes
import functools
import glob
import gzip
import hashlib
import json
import os
import re
import sys
import tempfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt

from memory.errors import ArchiveError

FORMAT: Final = "memory-archive"
VERSION: Final = 1


def archive_dir_of(database: str | Path) -> Path:
    """The default archive directory of the SQLite file `database`: `<file>.archive/` beside it
    (where a backup of that file keeps its archives too)."""
    return Path(f"{database}.archive")


def archive_path(archive_dir: Path, conversation_id: int, year: int, month: int) -> Path:
    """Where the archive of a conversation created in `year` and `month` lives."""
    return archive_dir / f"{year:04d}" / f"{month:02d}" / f"{conversation_id:d}.json.gz"


def checksum(conversation: dict[str, Any]) -> str:
    """`sha256:<hex>` of the record's canonical JSON."""
    return "sha256:" + hashlib.sha256(_canonical(conversation)).hexdigest()


def write_archive(path: Path, conversation: dict[str, Any]) -> str:
    """Write one record durably (see `write_archives`) and return its checksum."""
    return write_archives([(path, conversation)])[0]


def write_archives(records: Sequence[tuple[Path, dict[str, Any]]]) -> list[str]:
    """Write each (path, record) durably (see the module's docstring) and return their checksums, in
    order, once every file on disk has been flushed, read back and verified."""
    digests = [_write_file(path, conversation) for path, conversation in records]
    _flush([path for path, _ in records])
    for (path, conversation), digest in zip(records, digests, strict=True):
        if read_archive(path, expected=digest) != conversation:
            raise ArchiveError(f"{path}: the archive read back differs from what was written")
    return digests


def _write_file(path: Path, conversation: dict[str, Any]) -> str:
    """Write the record to a temporary file beside `path` and rename it into place (not yet flushed).
    Temporary files of `path` that a writer killed before its rename left are removed first (a
    writer of the same archive at this very moment would then fail its rename, and its transaction
    with it: nothing is lost)."""
    digest = checksum(conversation)
    envelope = {"format": FORMAT, "version": VERSION, "checksum": digest, "conversation": conversation}
    payload = gzip.compress(json.dumps(envelope, ensure_ascii=False, indent=1).encode("utf-8"), mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    for left in path.parent.glob(f".{glob.escape(path.name)}.*"):
        left.unlink(missing_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return digest


def _flush(paths: Sequence[Path]) -> None:
    """Make these files' contents and directory entries durable: one `syncfs` per file system where
    the platform has it, else an fsync of every file and of every directory holding them."""
    directories = sorted({path.parent for path in paths})
    syncfs = _syncfs()
    if syncfs is not None:
        devices: dict[int, Path] = {}
        for directory in directories:
            devices.setdefault(directory.stat().st_dev, directory)
        for directory in devices.values():
            fd = os.open(directory, os.O_RDONLY)
            try:
                if syncfs(fd) != 0:
                    error = ctypes.get_errno()
                    raise OSError(error, f"syncfs: {os.strerror(error)}", str(directory))
            finally:
                os.close(fd)
        return
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    for directory in directories:
        sync_directory(directory)


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    """Linux's `syncfs(2)` from the C library, or None (looked up on first use)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return cast(Callable[[int], int], function)


def read_archive(path: Path, *, expected: str | None = None) -> dict[str, Any]:
    """The conversation record of an archive file, verified: whole gzip, JSON, known format and
    version, and its checksum (and, given, the checksum the database recorded). `ArchiveError`
    otherwise, saying what is wrong."""
    try:
        raw = gzip.decompress(path.read_bytes())
        envelope = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ArchiveError(f"{path}: the archive file is missing") from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise ArchiveError(f"{path}: not a readable archive (truncated or corrupted: {exc})") from None
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        raise ArchiveError(f"{path}: not a memory archive")
    if envelope.get("version") != VERSION:
        raise ArchiveError(
            f"{path}: archive format version {envelope.get('version')!r}, but this memory reads version "
            f"{VERSION}: upgrade the memory package"
        )
    conversation = envelope.get("conversation")
    if not isinstance(conversation, dict) or checksum(conversation) != envelope.get("checksum"):
        raise ArchiveError(f"{path}: the archive's checksum does not match its content (corrupted)")
    if expected is not None and envelope["checksum"] != expected:
        raise ArchiveError(f"{path}: the archive is not the one the database recorded (checksum differs)")
    return conversation


def remove_archive(path: Path, expected: str) -> bool:
    """Delete the archive at `path` if it is the one with checksum `expected` (another process may
    have written a newer archive of the conversation there since); whether it did. Not flushed: the
    database refers to it no more, and a file a crash leaves behind is rewritten by the next
    compaction of its conversation, or swept (`stale_archives`)."""
    try:
        read_archive(path, expected=expected)
    except ArchiveError:
        return False
    path.unlink(missing_ok=True)
    return True


_ARCHIVE_NAME: Final = re.compile(r"\.?(\d+)\.json\.gz(\..+)?")


def archive_files(archive_dir: Path) -> dict[int, list[Path]]:
    """Every archive file (and temporary an interrupted writer left) under `archive_dir`, by the
    conversation id in its name."""
    found: dict[int, list[Path]] = {}
    if not archive_dir.is_dir():
        return found
    for path in archive_dir.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/*"):
        match = _ARCHIVE_NAME.fullmatch(path.name)
        if match is not None and (path.name.startswith(".") == (match.group(2) is not None)):
            found.setdefault(int(match.group(1)), []).append(path)
    return found


def remove_archives(paths: list[Path]) -> int:
    """Delete these archive files, and the temporaries an interrupted writer may have left beside
    them, whatever they hold (forgetting); how many files went."""
    removed = 0
    for path in paths:
        if not path.parent.is_dir():
            continue
        for found in [path, *path.parent.glob(f".{path.name}.*")]:
            try:
                found.unlink()
                removed += 1
            except FileNotFoundError:
                pass
        sync_directory(path.parent)
    return removed


def encode_vector(vector: npt.NDArray[np.float32]) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def decode_vector(text: str, dimensions: int) -> npt.NDArray[np.float32]:
    try:
        vector = np.frombuffer(base64.b64decode(text, validate=True), dtype="<f4").astype(np.float32)
    except ValueError as exc:
        raise ArchiveError(f"an archived vector is not base64 of float32 values: {exc}") from None
    if vector.shape != (dimensions,):
        raise ArchiveError(f"an archived vector has {vector.size} values, not {dimensions}")
    return vector


def _canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable (its entry, not only the file's data)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
