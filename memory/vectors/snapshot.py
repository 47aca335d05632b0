"""Index snapshots: an in-memory index's rows saved beside the SQLite file, mapped by the next process.

Building the index reads every vector from vec0's chunks (5.5 s at 1M vectors); mapping a snapshot
costs nothing up front, and every process that maps one file shares its pages through the page
cache instead of holding a copy each. A snapshot is a cache: the database stays the one source of
truth, and a snapshot is used only once `memory.vectors.index` has checked it against the database
(the embedding space it was made for, the change-log entry it reflects, and a sample of its rows
against vec0's own).

    <database>.index/space-<id>.<mode>.snapshot

Layout: 8 magic bytes, a 4-byte little-endian header length, the header (JSON: format version,
space id, dimensions, mode, the space's creation time and fingerprint, the log position, the row
count, each column's offset, dtype and shape, and the header's own sha256), then the columns, each
at a 4096-byte boundary (binary mode's sign bits are one (words, rows) column of uint64). Written
to a temporary file in the same directory, flushed, and renamed into place: a snapshot is whole or
absent, and a process that mapped an older one keeps reading it until it closes its index.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

_MAGIC: Final = b"MEMIDX\x00\x01"
_VERSION: Final = 2  # 2: binary codes as one (words, rows) column
_ALIGN: Final = 4096
#: Temporary files older than this (seconds) were left by a writer that died; they are removed.
_STALE_TEMPORARY: Final = 3600.0
COLUMNS: Final = ("ids", "conversation_ids", "role_codes", "created_us", "user_keys", "agent_keys", "vectors")


@dataclass(frozen=True, slots=True)
class SnapshotKey:
    """What a snapshot must have been made for: one embedding space of one store, one index mode."""

    space_id: int
    dimensions: int
    mode: str
    space_created: str
    fingerprint: str | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A mapped snapshot: `seq` is the change-log position its rows reflect and `last_change` that
    log entry (seq, message id, op, run length), or None for an empty log; `columns` are read-only
    arrays over the mapping (`vectors` L2-normalised; `words` the sign bits, a row of uint64 per 64)."""

    path: Path
    seq: int
    last_change: tuple[int, int, str, int] | None
    rows: int
    columns: dict[str, npt.NDArray[Any]]
    words: npt.NDArray[np.uint64]


def snapshot_dir_of(database: str | Path) -> Path:
    """Where the snapshots of the store in file `database` live."""
    return Path(f"{database}.index")


def snapshot_path(directory: Path, key: SnapshotKey) -> Path:
    return directory / f"space-{key.space_id:d}.{key.mode}.snapshot"


def write_snapshot(
    path: Path,
    key: SnapshotKey,
    *,
    seq: int,
    last_change: tuple[int, int, str, int] | None,
    columns: dict[str, list[npt.NDArray[Any]]],
    words: list[list[npt.NDArray[np.uint64]]],
) -> None:
    """Write a snapshot (columns given as lists of pieces, concatenated in order) atomically."""
    rows = sum(len(piece) for piece in columns["ids"])
    layout: dict[str, tuple[int, str, list[int]]] = {}
    offset = 0
    parts: list[tuple[int, list[npt.NDArray[Any]]]] = []
    named = [(name, columns[name]) for name in COLUMNS]
    if words:  # binary mode: one (words, rows) column, each word's row in turn
        named.append(("words", [piece for pieces in words for piece in pieces]))
    for name, pieces in named:
        dtype = np.dtype(pieces[0].dtype if pieces else (np.float32 if name == "vectors" else np.int64))
        shape = {"vectors": [rows, key.dimensions], "words": [len(words), rows]}.get(name, [rows])
        layout[name] = (offset, dtype.str, shape)
        parts.append((offset, pieces))
        offset = _aligned(offset + int(np.prod(shape)) * dtype.itemsize)
    header = {
        "version": _VERSION,
        "space_id": key.space_id,
        "dimensions": key.dimensions,
        "mode": key.mode,
        "space_created": key.space_created,
        "fingerprint": key.fingerprint,
        "seq": seq,
        "last_change": list(last_change) if last_change is not None else None,
        "rows": rows,
        "columns": layout,
        "size": offset,
    }
    body = _header_bytes(header)
    start = _aligned(len(_MAGIC) + 4 + len(body))
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path.parent)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(_MAGIC + len(body).to_bytes(4, "little") + body)
            for column_offset, pieces in parts:
                out.seek(start + column_offset)
                for piece in pieces:
                    out.write(np.ascontiguousarray(piece).data)
            out.truncate(start + offset)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_snapshot(path: Path, key: SnapshotKey) -> Snapshot | None:
    """The snapshot at `path` mapped read-only, or None when there is none, or it is not whole, or
    it was made for another space, store or mode (the caller then builds the index itself)."""
    try:
        with path.open("rb") as handle:
            mapping = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (FileNotFoundError, ValueError, OSError):
        return None
    try:
        header, start = _parse_header(mapping)
    except ValueError:
        mapping.close()
        return None
    expected = {
        "space_id": key.space_id,
        "dimensions": key.dimensions,
        "mode": key.mode,
        "space_created": key.space_created,
        "fingerprint": key.fingerprint,
    }
    if any(header.get(name) != value for name, value in expected.items()) or len(mapping) != start + int(
        header["size"]
    ):
        mapping.close()
        return None
    arrays: dict[str, npt.NDArray[Any]] = {}
    for name, (offset, dtype, shape) in header["columns"].items():
        count = int(np.prod(shape))
        arrays[name] = np.frombuffer(
            mapping, dtype=np.dtype(dtype), count=count, offset=start + offset
        ).reshape(shape)
    change = header["last_change"]
    rows = int(header["rows"])
    words = arrays.pop("words", None)
    return Snapshot(
        path=path,
        seq=int(header["seq"]),
        last_change=(int(change[0]), int(change[1]), str(change[2]), int(change[3])) if change else None,
        rows=rows,
        columns=arrays,
        words=np.zeros((0, rows), dtype=np.uint64) if words is None else words,
    )


def remove_snapshots(directory: Path) -> int:
    """Delete every snapshot (and temporary) in `directory`; how many files went."""
    removed = 0
    if directory.is_dir():
        for path in directory.iterdir():
            if path.name.endswith(".snapshot") or ".snapshot." in path.name:
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def _header_bytes(header: dict[str, Any]) -> bytes:
    canonical = json.dumps(header, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return json.dumps({"header": header, "sha256": digest}, sort_keys=True, separators=(",", ":")).encode()


def _parse_header(mapping: mmap.mmap) -> tuple[dict[str, Any], int]:
    if len(mapping) < len(_MAGIC) + 4 or mapping[: len(_MAGIC)] != _MAGIC:
        raise ValueError("not a snapshot")
    length = int.from_bytes(mapping[len(_MAGIC) : len(_MAGIC) + 4], "little")
    end = len(_MAGIC) + 4 + length
    if end > len(mapping):
        raise ValueError("truncated")
    try:
        envelope = json.loads(mapping[len(_MAGIC) + 4 : end])
        header = envelope["header"]
        canonical = json.dumps(header, sort_keys=True, separators=(",", ":"))
        if hashlib.sha256(canonical.encode()).hexdigest() != envelope["sha256"]:
            raise ValueError("header checksum")
        if header["version"] != _VERSION:
            raise ValueError("version")
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(str(exc)) from None
    return header, _aligned(end)


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


def _remove_stale_temporaries(directory: Path) -> None:
    cutoff = time.time() - _STALE_TEMPORARY
    for path in directory.glob(".*.snapshot.*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass
