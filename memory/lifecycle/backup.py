"""Backups of a SQLite store with its archives, taken while others read and write.

The database is copied with SQLite's online backup API in one step, so the copy is one consistent
snapshot whatever other connections commit meanwhile. The archive files that snapshot refers to are
then copied beside it (`<path>.archive/`) and each verified against the checksum the copy
recorded; a file gone meanwhile (its conversation restored after the snapshot) makes the backup
start again, a few times at most. Both are written under temporary names and renamed into place
at the end: an interrupted backup leaves no half a copy at `path`.

PostgreSQL: `pg_dump` and a copy of the archive directory (see the README).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy.engine import Engine

from memory.errors import ArchiveError, ValidationError
from memory.lifecycle.archive import archive_dir_of, archive_path, read_archive, sync_directory

_ATTEMPTS: Final = 5
_ARCHIVED: Final = (
    "SELECT id, created_at, archive_checksum FROM conversations WHERE archive_checksum IS NOT NULL"
)


@dataclass(frozen=True, slots=True)
class BackupReport:
    """Where `MemoryManager.backup` wrote the copy of the database and of its archives, how big the
    database copy is, and how many archive files it copied."""

    path: Path
    archive_dir: Path
    database_bytes: int
    archives: int


def backup(engine: Engine, archive_dir: Path | None, path: Path) -> BackupReport:
    """Copy the SQLite store of `engine` to `path` and its archives to `path.archive/` (see the
    module's docstring). `path` must not exist yet."""
    if engine.dialect.name != "sqlite":
        raise ValidationError(
            "backup() copies SQLite stores; back up PostgreSQL with pg_dump and a copy of the archive "
            "directory (see the README)"
        )
    for _ in range(_ATTEMPTS):
        database, archives = _temporary(path, ".partial"), _temporary(archive_dir_of(path), ".partial")
        try:
            _copy_database(engine, database)
            copied = _copy_archives(database, archive_dir, archives)
        except _Moved as moved:
            _discard(database, archives)
            if _still_archived(engine, moved.conversation_id, moved.checksum):
                raise moved.error from None  # the store's own archive is missing or damaged
            continue
        except BaseException:
            _discard(database, archives)
            raise
        os.replace(archives, archive_dir_of(path))
        os.replace(database, path)
        sync_directory(path.parent)
        return BackupReport(path, archive_dir_of(path), path.stat().st_size, copied)
    raise ArchiveError(
        f"archives kept being restored while the backup copied them ({_ATTEMPTS} attempts): try again"
    )


def _discard(database: Path, archives: Path) -> None:
    database.unlink(missing_ok=True)
    shutil.rmtree(archives, ignore_errors=True)


def _still_archived(engine: Engine, conversation_id: int, checksum: str) -> bool:
    """Whether the store still refers to this archive (then it is the store's that is damaged)."""
    with engine.connect() as connection:
        found = connection.exec_driver_sql(
            "SELECT archive_checksum FROM conversations WHERE id = ?", (conversation_id,)
        ).scalar_one_or_none()
        connection.rollback()
    return found == checksum


class _Moved(Exception):
    """An archive the snapshot refers to was gone (or another) when it was copied."""

    def __init__(self, conversation_id: int, checksum: str, error: ArchiveError) -> None:
        super().__init__(str(error))
        self.conversation_id, self.checksum, self.error = conversation_id, checksum, error


def _temporary(path: Path, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    os.unlink(name)
    return Path(name)


def _copy_database(engine: Engine, target: Path) -> None:
    raw = engine.raw_connection()
    try:
        source: Any = raw.driver_connection
        with closing(engine.dialect.dbapi.connect(str(target))) as copy:  # type: ignore[union-attr]
            source.backup(copy)  # in one step: one snapshot of the source
        with open(target, "rb") as stream:
            os.fsync(stream.fileno())
    finally:
        raw.close()


def _copy_archives(database: Path, archive_dir: Path | None, target: Path) -> int:
    """Copy the archives the database copy refers to, verified; how many."""
    with closing(sqlite3.connect(str(database))) as copy:
        rows = copy.execute(_ARCHIVED).fetchall()
    target.mkdir()
    if rows and archive_dir is None:
        raise ValidationError("the store has archived conversations but no archive directory to copy")
    for conversation_id, created_at, checksum in rows:
        when = datetime.fromisoformat(str(created_at))
        source = archive_path(archive_dir or Path(), int(conversation_id), when.year, when.month)
        copied = archive_path(target, int(conversation_id), when.year, when.month)
        copied.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(source, copied)
            read_archive(copied, expected=str(checksum))
        except FileNotFoundError:
            error = ArchiveError(f"{source}: the archive file is missing")
            raise _Moved(int(conversation_id), str(checksum), error) from None
        except ArchiveError as exc:
            raise _Moved(int(conversation_id), str(checksum), exc) from None
        with open(copied, "rb") as stream:
            os.fsync(stream.fileno())
    return len(rows)
