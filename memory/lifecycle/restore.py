"""Restore: an archived conversation back in full, from its archive file.

The archive is verified against the checksum the database recorded before anything changes (a
missing, truncated, corrupted or foreign file raises `ArchiveError`, and nothing is written). Its
messages come back exactly: the same ids where they are free (a message stored since may have
taken one: that message keeps it, and the archived one gets a new id), contents, metadata, times
and content hashes; with their archived vectors when the archive's space is the active one (same
model, dimensions and fingerprint), else embedded again, outside the transaction. One write
transaction deletes the stand-ins, inserts the messages and vectors and sets the tier back to
`full` (`updated_at` unchanged); the file is deleted once that has committed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, NamedTuple, cast

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from memory.conversations import MessageBatch
from memory.digests import content_hash
from memory.errors import ArchiveError, EmbeddingSpaceError, NotFoundError
from memory.ingest import write_messages
from memory.lifecycle.archive import archive_path, decode_vector, read_archive, remove_archive
from memory.lifecycle.compact import Tiering, stand_in_ids
from memory.models import ROLES, Conversation, EmbeddingSpace, Message, utcnow
from memory.owners import Owner
from memory.transactions import Work
from memory.validation import Matrix, MessageDraft

_CONVERSATIONS: Final = cast(sa.Table, Conversation.__table__)
_MESSAGES: Final = cast(sa.Table, Message.__table__)
_CHUNK: Final = 5000


class _Original(NamedTuple):
    message_id: int
    draft: MessageDraft
    vector: str | None


def restore(tiering: Tiering, owner: Owner, conversation_id: int) -> int:
    """Bring the conversation back in full (see the module's docstring); returns how many messages
    came back, 0 when it was in full already (nothing to do). `NotFoundError` when `owner` has no
    such conversation."""
    c = _CONVERSATIONS.c
    with tiering.transactions.reading() as work:
        row = work.connection().execute(_row(owner, conversation_id)).one_or_none()
        space = tiering.active(work)
    if row is None:
        raise NotFoundError(f"no conversation with id {conversation_id}")
    if row.tier == "full":
        return 0
    path = archive_path(tiering.directory, conversation_id, row.created_at.year, row.created_at.month)
    if row.archive_checksum is None:
        raise ArchiveError(
            f"conversation {conversation_id} is in tier {row.tier!r} but has no archive recorded"
        )
    record = read_archive(path, expected=row.archive_checksum)
    originals = _originals(record, conversation_id)
    matrix = _vectors(tiering, originals, space, _space_of(record))
    with tiering.transactions.writing() as work:
        connection = work.connection()
        current = connection.execute(_row(owner, conversation_id)).one_or_none()
        if current is None:
            raise NotFoundError(f"no conversation with id {conversation_id}")
        if current.tier == "full":
            return 0  # restored meanwhile
        if current.archive_checksum != row.archive_checksum:
            raise ArchiveError(
                f"conversation {conversation_id} was archived again meanwhile: call restore again"
            )
        if tiering.active(work).id != space.id:
            raise EmbeddingSpaceError(
                "the active embedding space changed during the restore: call restore again"
            )
        stand_ins = [
            message_id
            for message_id, _ in stand_in_ids(connection, [conversation_id]).get(conversation_id, [])
        ]
        for start in range(0, len(stand_ins), _CHUNK):
            connection.execute(
                sa.delete(_MESSAGES).where(_MESSAGES.c.id.in_(stand_ins[start : start + _CHUNK]))
            )
        _insert(work, space, conversation_id, Owner(row.user_id, row.agent_id), originals, matrix)
        connection.execute(
            sa.update(_CONVERSATIONS)
            .where(c.id == conversation_id)
            .values(
                tier="full",
                summary=None,
                topics=None,
                importance=None,
                archive_checksum=None,
                archived_at=None,
                updated_at=c.updated_at,
            )
        )
    remove_archive(path, row.archive_checksum)
    return len(originals)


def _row(owner: Owner, conversation_id: int) -> sa.Select[Any]:
    c = _CONVERSATIONS.c
    return sa.select(c.id, c.tier, c.archive_checksum, c.created_at, c.user_id, c.agent_id).where(
        c.id == conversation_id, *owner.conversation_clauses(c)
    )


def _originals(record: dict[str, Any], conversation_id: int) -> list[_Original]:
    """The archived messages, checked: an archive that does not hold what memory writes raises
    `ArchiveError` (its checksum only proves it is the file that was written)."""
    if record.get("id") != conversation_id:
        raise ArchiveError(f"the archive holds conversation {record.get('id')!r}, not {conversation_id}")
    try:
        originals = []
        for raw in record["messages"]:
            content, role = raw["content"], raw["role"]
            if not isinstance(content, str) or role not in ROLES or not isinstance(raw["metadata"], dict):
                raise ValueError(f"message {raw.get('id')!r} is malformed")
            if content_hash(content) != raw["content_hash"]:
                raise ValueError(f"message {raw['id']!r}: its content does not match its content hash")
            created_at = datetime.fromisoformat(raw["created_at"])
            if created_at.tzinfo is None or type(raw["id"]) is not int:
                raise ValueError(f"message {raw['id']!r} has a naive time or a bad id")
            draft = MessageDraft(role, content, raw["metadata"], created_at, raw["content_hash"])
            originals.append(_Original(raw["id"], draft, raw.get("vector")))
    except (KeyError, TypeError, ValueError) as exc:
        raise ArchiveError(
            f"the archive of conversation {conversation_id} is not as memory writes it: {exc}"
        ) from None
    return originals


def _space_of(record: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The (model, dimensions, fingerprint) of the space the archived vectors belong to."""
    space = record.get("space") or {}
    return space.get("model"), space.get("dimensions"), space.get("fingerprint")


def _vectors(
    tiering: Tiering, originals: list[_Original], space: EmbeddingSpace, archived: tuple[Any, Any, Any]
) -> Matrix:
    """One vector per message: the archived ones when their space is the active one, else the
    model's (run here, outside any transaction)."""
    if not originals:
        return Matrix(np.zeros((0, space.dimensions), dtype=np.float32))
    same = archived == (space.model, space.dimensions, space.fingerprint)
    rows: list[npt.NDArray[np.float32] | None] = [
        decode_vector(o.vector, space.dimensions) if same and o.vector is not None else None
        for o in originals
    ]
    missing = [i for i, vector in enumerate(rows) if vector is None]
    if missing:
        embedded = tiering.embed([originals[i].draft.content for i in missing])
        for i, vector in zip(missing, embedded, strict=True):
            rows[i] = vector
    return Matrix(np.stack([vector for vector in rows if vector is not None]))


def _insert(
    work: Work,
    space: EmbeddingSpace,
    conversation_id: int,
    owner: Owner,
    originals: list[_Original],
    matrix: Matrix,
) -> None:
    """The messages with their own ids where free, new ones where another message has taken it."""
    connection = work.connection()
    wanted = [o.message_id for o in originals]
    taken: set[int] = set()
    for start in range(0, len(wanted), _CHUNK):
        query = sa.select(_MESSAGES.c.id).where(_MESSAGES.c.id.in_(wanted[start : start + _CHUNK]))
        taken.update(connection.execute(query).scalars())
    for free in (True, False):
        rows = [i for i, o in enumerate(originals) if (o.message_id not in taken) == free]
        if not rows:
            continue
        drafts = [originals[i].draft for i in rows]
        batch = MessageBatch(conversation_id, drafts, drafts[0].created_at or utcnow(), owner)
        ids = [originals[i].message_id for i in rows] if free else None
        write_messages(work, space, [batch], Matrix(matrix[np.array(rows, dtype=np.int64)]), ids=ids)
