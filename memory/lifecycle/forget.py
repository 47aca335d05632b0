"""Forgetting for good: everything of an owner (or one conversation) deleted in one transaction, and
on SQLite no byte of it left in the database file or its WAL.

What each part of SQLite would otherwise keep, and what removes it:
- deleted rows, index entries, overflow pages and the stale copies a page keeps of cells moved out
  of it: `PRAGMA secure_delete=ON` on every connection (`memory.engine`) zeroes them as they are
  freed, from a store's first write on;
- full-text terms: an ordinary delete only masks a message's terms until segments merge; here they
  are deleted with FTS5's `secure-delete` option on (`fulltext.erasing`), which removes them from
  the segments that hold them (before SQLite 3.42, the index is rewritten as one segment);
- vectors: vec0's DELETE only clears a slot's validity bit, so each slot is overwritten with zeros
  first (`VectorRepository.erase`);
- the WAL, which holds earlier images of every page written since the last checkpoint: a
  TRUNCATE checkpoint once the transaction has committed;
- archive files (`memory.lifecycle.compact`): deleted once the transaction has committed.
PostgreSQL keeps dead row versions until VACUUM; the README says what an operator runs.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

import sqlalchemy as sa

from memory import fulltext
from memory.errors import DatabaseBusyError, NotFoundError, ValidationError
from memory.lifecycle.archive import archive_path, remove_archives
from memory.models import Conversation, Message, VectorChange
from memory.owners import Owner
from memory.sessions import Transactions
from memory.spaces import SpaceRepository
from memory.statements import driver_execute
from memory.transactions import Work
from memory.vectors import VectorRepository

_CONVERSATIONS: Final = cast(sa.Table, Conversation.__table__)
_MESSAGES: Final = cast(sa.Table, Message.__table__)
_CHANGES: Final = cast(sa.Table, VectorChange.__table__)
_CHUNK: Final = 5000
_CHECKPOINT: Final = "PRAGMA wal_checkpoint(TRUNCATE)"


@dataclass(frozen=True, slots=True)
class ForgetReport:
    """What `forget` removed. `vectors` counts per embedding space; `full_text_entries` the
    messages whose terms left the full-text index; `change_log_entries` the vector change-log
    entries that only named forgotten messages (the deletions are logged anew, by id only, so other
    processes' in-memory indexes drop the vectors too). `erased`: the bytes are gone from the files
    too (SQLite); False on PostgreSQL, where VACUUM finishes the job."""

    conversations: int = 0
    messages: int = 0
    vectors: dict[int, int] = field(default_factory=dict)
    full_text_entries: int = 0
    change_log_entries: int = 0
    erased: bool = False
    #: Archive files deleted (`memory.lifecycle.compact`), temporaries of interrupted writes included.
    archive_files: int = 0
    #: Index snapshot files deleted (`memory.vectors.snapshot`).
    index_snapshots: int = 0


def forget(
    transactions: Transactions,
    owner: Owner | None,
    conversation_id: int | None,
    archive_dir: Path | None = None,
) -> ForgetReport:
    """Delete the conversations `owner` sees (only `conversation_id`, when given) with everything of
    theirs, in one write transaction, then make the deletion final on disk (SQLite) and delete
    their archive files under `archive_dir` (with any temporary a crashed writer left). `owner` None
    sees nothing. A `conversation_id` the owner does not have raises `NotFoundError`; an archived
    conversation without `archive_dir` raises `ValidationError` (its archive could not be deleted),
    and nothing is forgotten."""
    with transactions.writing() as work:
        connection = work.connection()
        found = _conversations(connection, owner, conversation_id)
        conversation_ids = [row.id for row in found]
        if conversation_id is not None and not conversation_ids:
            raise NotFoundError(f"no conversation with id {conversation_id}")
        if archive_dir is None and any(row.tier != "full" for row in found):
            raise ValidationError(
                "some of these conversations are archived, and this store has no archive directory to "
                "delete their archives from: pass archive_dir= to MemoryManager"
            )
        message_ids = _messages(connection, conversation_ids)
        vectors = erase_messages(work, message_ids)
        for start in range(0, len(conversation_ids), _CHUNK):
            part = conversation_ids[start : start + _CHUNK]
            connection.execute(sa.delete(_CONVERSATIONS).where(_CONVERSATIONS.c.id.in_(part)))
        log_entries = _drop_additions(connection, message_ids)
        sqlite = connection.dialect.name == "sqlite"
    archives = 0
    if archive_dir is not None:
        paths = [
            archive_path(archive_dir, row.id, row.created_at.year, row.created_at.month) for row in found
        ]
        archives = remove_archives(paths)
    if sqlite:
        _checkpoint(transactions)
    return ForgetReport(
        archive_files=archives,
        conversations=len(conversation_ids),
        messages=len(message_ids),
        vectors=vectors,
        full_text_entries=len(message_ids),
        change_log_entries=log_entries,
        erased=sqlite,
    )


def erase_messages(work: Work, message_ids: list[int]) -> dict[int, int]:
    """Delete these messages, their vectors in every space and their full-text entries, in the
    caller's transaction, overwriting what SQLite would keep of them (vector slots, full-text
    segments; freed pages are zeroed by `secure_delete`). Until the WAL is next checkpointed it
    still holds earlier images of the pages. Returns the vectors deleted, per space."""
    connection = work.connection()
    spaces = SpaceRepository(work).all()
    sqlite = connection.dialect.name == "sqlite"
    with fulltext.erasing(connection) if sqlite and message_ids else contextlib.nullcontext():
        vectors = {space.id: VectorRepository(work, space).erase(message_ids) for space in spaces}
        for start in range(0, len(message_ids), _CHUNK):
            part = message_ids[start : start + _CHUNK]
            connection.execute(sa.delete(_MESSAGES).where(_MESSAGES.c.id.in_(part)))
    return vectors


def _conversations(
    connection: sa.Connection, owner: Owner | None, conversation_id: int | None
) -> list[sa.Row[Any]]:
    """(id, created_at, tier) of the conversations to forget, by id."""
    if owner is None:
        return []
    c = _CONVERSATIONS.c
    query = sa.select(c.id, c.created_at, c.tier).where(*owner.conversation_clauses(c))
    if conversation_id is not None:
        query = query.where(c.id == conversation_id)
    return list(connection.execute(query.order_by(c.id)))


def _messages(connection: sa.Connection, conversation_ids: list[int]) -> list[int]:
    found: list[int] = []
    for start in range(0, len(conversation_ids), _CHUNK):
        part = conversation_ids[start : start + _CHUNK]
        query = sa.select(_MESSAGES.c.id).where(_MESSAGES.c.conversation_id.in_(part))
        found += [int(i) for i in connection.execute(query).scalars()]
    return sorted(found)


def _drop_additions(connection: sa.Connection, message_ids: list[int]) -> int:
    """Delete the log's "added" entries whose run names forgotten messages only (a run that also
    names a message kept stays: other processes' indexes need it). Such a run starts at a
    forgotten id, so only the entries starting at one are read."""
    forgotten = set(message_ids)
    doomed: list[int] = []
    for start in range(0, len(message_ids), _CHUNK):
        entries = connection.execute(
            sa.select(_CHANGES.c.seq, _CHANGES.c.message_id, _CHANGES.c.run_length).where(
                _CHANGES.c.op == "a", _CHANGES.c.message_id.in_(message_ids[start : start + _CHUNK])
            )
        )
        doomed += [
            seq
            for seq, first, length in entries
            if all(message_id in forgotten for message_id in range(first, first + length))
        ]
    for start in range(0, len(doomed), _CHUNK):
        connection.execute(sa.delete(_CHANGES).where(_CHANGES.c.seq.in_(doomed[start : start + _CHUNK])))
    return len(doomed)


def _checkpoint(transactions: Transactions) -> None:
    """Copy the WAL into the database and truncate it (waiting for readers, up to the busy timeout),
    so no earlier image of a page remains in it."""
    with transactions.peeking() as work:  # no transaction open: a checkpoint cannot run inside one
        busy: Any = driver_execute(work.connection(), _CHECKPOINT, ()).fetchone()
    if busy is None or busy[0]:
        raise DatabaseBusyError(
            "the data is deleted, but another connection kept the WAL from being checkpointed, so "
            "earlier copies of its pages are still in the WAL file; call forget again to finish"
        )
