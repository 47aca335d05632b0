"""Compaction: conversations move down the tiers as they age, their messages kept in archive files.

A conversation leaving `full` is read (its messages, their vectors of the active space, every field
of its row), digested once (`Summarizer`), written to its archive file and verified
(`memory.lifecycle.archive`); the messages that stand for its tier are embedded outside any
transaction; then one write transaction checks that it did not change since it was read (else it is
skipped, and counted), deletes its messages (their vectors and full-text entries go with them, by the
store's own triggers and cascades), inserts the stand-ins and records the tier, summary, topics,
importance and the archive's checksum. `updated_at` never changes: ages are measured from it.

The stand-ins are ordinary messages of role "system" whose metadata holds `memory_tier` (a key
refused in messages from outside): "summary" (the digest's summary, then the conversation's title and
most used words), "key_point" (one per key point the summary does not already hold) and "topics"
(the title and most used words alone). Search and recall find them through the usual paths, and each
hit says its conversation's tier. A tier keeps:

    key_points   summary (with title and topics) + key points
    summary      summary (with title and topics)
    metadata     title and topics (and the row: title, times, summary, topics)

A conversation without a summary gets the title-and-topics row instead. Moving further down deletes
stand-ins (the archive already holds the original); one that loses its summary row gets a
title-and-topics row in the same transaction.

Crash safety: an archive file is whole before the transaction that refers to it commits, so a
process killed at any moment leaves every conversation either whole in the database (its tier still
`full`) or whole in a verified archive (its row's checksum that of the file). Files written for a
conversation that was then skipped are removed; those of a batch cut short by a crash stay until the
next run writes them again (they are never referred to).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, NamedTuple, cast

import numpy as np
import sqlalchemy as sa

from memory import fulltext
from memory.bulk import detached_rows
from memory.conversations import MessageBatch
from memory.digests import content_hash
from memory.errors import ValidationError
from memory.ingest import Embed, write_messages
from memory.lifecycle.archive import (
    archive_files,
    archive_path,
    encode_vector,
    remove_archive,
    write_archives,
)
from memory.lifecycle.retention import TIERS, RetentionPolicy, Tier, is_marked
from memory.lifecycle.summarize import Digest, Summarizer
from memory.models import Conversation, EmbeddingSpace, Message, utcnow
from memory.owners import Owner
from memory.sessions import Transactions
from memory.spaces import SpaceRepository
from memory.transactions import Work
from memory.validation import RESERVED_METADATA_KEY, Matrix, MessageDraft
from memory.vectors import VectorRepository

_CONVERSATIONS: Final = cast(sa.Table, Conversation.__table__)
_MESSAGES: Final = cast(sa.Table, Message.__table__)
_MESSAGE_ATTRIBUTES: Final = tuple(Message.__mapper__.get_property_by_column(c).key for c in _MESSAGES.c)

#: The role and metadata key of the messages that stand for an archived conversation.
STAND_IN_ROLE: Final = "system"
TIER_KEY: Final = RESERVED_METADATA_KEY
#: Called with (conversations done, conversations to do) as a compaction goes.
Progress = Callable[[int, int], None]
#: The kinds of stand-in each tier keeps.
KINDS: Final[dict[str, frozenset[str]]] = {
    "full": frozenset(),
    "key_points": frozenset({"summary", "key_point", "topics"}),
    "summary": frozenset({"summary", "topics"}),
    "metadata": frozenset({"topics"}),
}
#: Conversations are archived in batches of about this many messages: one read, one model call
#: for the stand-ins and one write transaction per batch (each conversation in it all or nothing).
_BATCH_MESSAGES: Final = 2000
#: The full-text index is merged after a compaction that archived at least 1/_MERGE_SHARE of
#: the messages left.
_MERGE_SHARE: Final = 10
#: An archive file no row refers to is deleted once it is this many seconds old (younger ones may
#: belong to a compaction still running in another process).
STALE_AFTER: Final = 3600.0
_BATCH_CONVERSATIONS: Final = 200
_CHUNK: Final = 5000
_TOPICS: Final = 8
_WORD: Final = re.compile(r"[^\W\d_][\w'-]{3,}")
_STOPWORDS: Final = frozenset(
    " ".join(
        (
            "about above after again against also although always among another anything around because",
            "been before being below between both cannot could does doing done down during each either else",
            "enough even ever every from further getting give given going gonna good great have having hello",
            "here hers herself himself into itself just know like made make many maybe might mine more most",
            "much must myself need never next none nothing okay only other ought ours ourselves over please",
            "quite rather really same shall should since some something still such sure take than thank",
            "thanks that thats their theirs them themselves then there therefore these they thing things",
            "this those though through thus together under until upon very want wants well were what",
            "whatever when where whether which while whom whose will with within without would yeah your",
            "yours yourself yourselves",
        )
    ).split(" ")
)


@dataclass(frozen=True, slots=True)
class CompactionReport:
    """What `compact` did (or, with `dry_run`, would do).

    `tiers`: how many conversations (of those the facade sees) are in each tier afterwards; `moved`:
    how many this run moved into each tier; `conversations_archived` and `messages_archived`: the
    conversations that left `full` and their messages, now in archive files; `skipped`:
    conversations that changed while being compacted (left as they were: the next run takes them);
    `archive_bytes`: the size of the archive files written; `stale_files_removed`: archive files
    that referred to nothing (left by a crash, see `STALE_AFTER`) and were deleted."""

    tiers: dict[str, int] = field(default_factory=lambda: _zeros(TIERS))
    moved: dict[str, int] = field(default_factory=lambda: _zeros(TIERS[1:]))
    conversations_archived: int = 0
    messages_archived: int = 0
    skipped: int = 0
    archive_bytes: int = 0
    dry_run: bool = False
    stale_files_removed: int = 0


@dataclass(frozen=True, slots=True)
class Tiering:
    """What compaction and restore work with: the store's transactions, the active space (checked
    against the embedder), the model (run outside any transaction) and the archive directory."""

    transactions: Transactions
    active: Callable[[Work], EmbeddingSpace]
    embed: Embed
    archive_dir: Path | None

    @property
    def directory(self) -> Path:
        if self.archive_dir is None:
            raise ValidationError("this store has no archive directory: pass archive_dir= to MemoryManager")
        return self.archive_dir


class _Move(NamedTuple):
    conversation_id: int
    source: str
    target: Tier
    updated_at: datetime
    messages: int
    importance: float | None


class _Version(NamedTuple):
    """What must not have changed between reading a conversation and replacing its messages."""

    tier: str
    pinned: bool
    updated_at: datetime
    message_ids: tuple[int, ...]


@dataclass(slots=True)
class _Archived:
    """A conversation read, digested and written to its archive, ready for the write transaction."""

    conversation_id: int
    version: _Version
    target: Tier
    summary: str
    topics: str
    importance: float | None
    checksum: str
    path: Path
    stand_ins: list[MessageDraft]
    owner: Owner


def compact(
    tiering: Tiering,
    summarizer: Summarizer,
    owner: Owner,
    policy: RetentionPolicy,
    now: datetime,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> CompactionReport:
    """Move the conversations `owner` sees to the tier `policy` gives them at `now` (see the module's
    docstring); with `dry_run`, only report what would move, writing nothing (no files either).
    `progress(done, total)` is called after each batch, counting conversations to move."""
    with tiering.transactions.reading() as work:
        tiers, moves = _plan(work.connection(), owner, policy, now)
    moved = _zeros(TIERS[1:])
    for move in moves:
        moved[move.target] += 1
    leaving_full = [move for move in moves if move.source == "full"]
    if dry_run:
        for move in moves:
            tiers[move.source] -= 1
            tiers[move.target] += 1
        return CompactionReport(
            tiers=tiers,
            moved=moved,
            conversations_archived=len(leaving_full),
            messages_archived=sum(move.messages for move in leaving_full),
            dry_run=True,
        )
    totals = Counter[str]()
    done = 0
    for batch in _batches(leaving_full):
        _archive_batch(tiering, summarizer, owner, batch, totals)
        done += len(batch)
        if progress is not None:
            progress(done, len(moves))
    colder = [move for move in moves if move.source != "full"]
    for start in range(0, len(colder), _CHUNK):
        _move_down(tiering, owner, colder[start : start + _CHUNK], totals)
        done += len(colder[start : start + _CHUNK])
        if progress is not None:
            progress(done, len(moves))
    if totals["conversations"] or any(totals[f"moved:{tier}"] for tier in TIERS):
        _tidy(tiering, archived=totals["messages"])
    if tiering.archive_dir is not None:
        totals["stale"] = _sweep(tiering, owner)
    with tiering.transactions.reading() as work:
        tiers = _tier_counts(work.connection(), owner)
    for tier in moved:
        moved[tier] = totals[f"moved:{tier}"]
    return CompactionReport(
        tiers=tiers,
        moved=moved,
        conversations_archived=totals["conversations"],
        messages_archived=totals["messages"],
        skipped=totals["skipped"],
        archive_bytes=totals["bytes"],
        stale_files_removed=totals["stale"],
    )


def _tidy(tiering: Tiering, *, archived: int) -> None:
    """Give back the room the archived messages left: vec0 chunks they left mostly empty are
    repacked and, once `archived` messages are a tenth of those left or more, the full-text index
    is merged (it rewrites the whole index: a small compaction leaves FTS5's own merging to it).
    One transaction; a VACUUM afterwards returns the freed pages to the file system."""
    with tiering.transactions.writing() as work:
        for space in SpaceRepository(work).all():
            VectorRepository(work, space).repack()
        connection = work.connection()
        left = connection.execute(sa.select(sa.func.count()).select_from(_MESSAGES)).scalar_one()
        if archived * _MERGE_SHARE >= left:
            fulltext.optimize(connection)


def _sweep(tiering: Tiering, owner: Owner) -> int:
    """Delete the archive files older than `STALE_AFTER` that no row refers to: those of a
    conversation in full (written by a compaction a crash cut short, or left by a restore) and, for
    an unrestricted caller, of a conversation that no longer exists. Files of archived conversations
    are never touched, whatever they hold."""
    files = archive_files(tiering.directory)
    cutoff = time.time() - STALE_AFTER
    old = {
        conversation_id: stale
        for conversation_id, paths in files.items()
        if (stale := [path for path in paths if _modified(path) < cutoff])
    }
    if not old:
        return 0
    c = _CONVERSATIONS.c
    ids = list(old)
    with tiering.transactions.reading() as work:
        connection = work.connection()
        tiers: dict[int, str] = {}
        visible: set[int] = set()
        for start in range(0, len(ids), _CHUNK):
            part = ids[start : start + _CHUNK]
            for conversation_id, tier in connection.execute(sa.select(c.id, c.tier).where(c.id.in_(part))):
                tiers[conversation_id] = tier
            visible.update(
                connection.execute(
                    sa.select(c.id).where(c.id.in_(part), *owner.conversation_clauses(c))
                ).scalars()
            )
    removed = 0
    for conversation_id, paths in old.items():
        tier = tiers.get(conversation_id)
        if (tier is None and not owner.restricts) or (tier == "full" and conversation_id in visible):
            for path in paths:
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")


def _zeros(tiers: Sequence[str]) -> dict[str, int]:
    return dict.fromkeys(tiers, 0)


def is_stand_in(role: str, metadata: Any) -> bool:
    """Whether a message stands for an archived conversation (made by compaction)."""
    return role == STAND_IN_ROLE and isinstance(metadata, dict) and TIER_KEY in metadata


def stand_in_ids(
    connection: sa.Connection, conversation_ids: Sequence[int]
) -> dict[int, list[tuple[int, str]]]:
    """The stand-ins of these conversations: (message id, kind) by conversation id."""
    found: dict[int, list[tuple[int, str]]] = {}
    for start in range(0, len(conversation_ids), _CHUNK):
        rows = connection.execute(
            sa.select(_MESSAGES.c.conversation_id, _MESSAGES.c.id, _MESSAGES.c.metadata).where(
                _MESSAGES.c.conversation_id.in_(conversation_ids[start : start + _CHUNK]),
                _MESSAGES.c.role == STAND_IN_ROLE,
            )
        )
        for conversation_id, message_id, metadata in rows:
            if is_stand_in(STAND_IN_ROLE, metadata):
                found.setdefault(conversation_id, []).append((message_id, str(metadata[TIER_KEY])))
    return found


def topics_of(messages: Sequence[Message], count: int = _TOPICS) -> str:
    """The conversation's most used words (four letters or more, common words left out), most used
    first, comma-separated."""
    spoken = [m for m in messages if m.role in ("user", "assistant")] or list(messages)
    words = Counter(
        word.lower()
        for message in spoken
        for word in _WORD.findall(message.content)
        if word.lower() not in _STOPWORDS
    )
    return ", ".join(word for word, _ in words.most_common(count))


# -- planning ----------------------------------------------------------------------------------------------


def _plan(
    connection: sa.Connection, owner: Owner, policy: RetentionPolicy, now: datetime
) -> tuple[dict[str, int], list[_Move]]:
    """How many conversations are in each tier, and which move down, with the messages of those in
    full (their roles decide their importance)."""
    c = _CONVERSATIONS.c
    rows = connection.execute(
        sa.select(c.id, c.tier, c.pinned, c.updated_at, c.metadata, c.importance)
        .where(*owner.conversation_clauses(c))
        .order_by(c.id)
    ).all()
    tiers = _zeros(TIERS)
    ages = {row.id: (now - row.updated_at).total_seconds() / 86_400 for row in rows}
    for row in rows:
        tiers[row.tier] = tiers.get(row.tier, 0) + 1
    candidates = [row for row in rows if not row.pinned and ages[row.id] > policy.full_days]
    roles = _roles(connection, [row.id for row in candidates if row.tier == "full"])
    moves: list[_Move] = []
    for row in candidates:
        metadata = row.metadata if isinstance(row.metadata, dict) else {}
        if row.tier == "full":
            spoken = roles.get(row.id, [])
            importance: float | None = policy.importance(spoken, metadata)
        else:
            importance = row.importance
        target = policy.tier(ages[row.id], importance or 0.0, marked=is_marked(metadata))
        if row.tier in TIERS and TIERS.index(target) > TIERS.index(row.tier):
            count = len(roles.get(row.id, ()))
            moves.append(_Move(row.id, row.tier, target, row.updated_at, count, importance))
    return tiers, moves


def _roles(connection: sa.Connection, conversation_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for start in range(0, len(conversation_ids), _CHUNK):
        rows = connection.execute(
            sa.select(_MESSAGES.c.conversation_id, _MESSAGES.c.role)
            .where(_MESSAGES.c.conversation_id.in_(conversation_ids[start : start + _CHUNK]))
            .order_by(_MESSAGES.c.conversation_id, _MESSAGES.c.created_at, _MESSAGES.c.id)
        )
        for conversation_id, role in rows:
            found.setdefault(conversation_id, []).append(role)
    return found


def _tier_counts(connection: sa.Connection, owner: Owner) -> dict[str, int]:
    c = _CONVERSATIONS.c
    counts = _zeros(TIERS)
    rows = connection.execute(
        sa.select(c.tier, sa.func.count()).where(*owner.conversation_clauses(c)).group_by(c.tier)
    )
    counts.update({str(tier): int(n) for tier, n in rows})
    return counts


def _batches(moves: list[_Move]) -> list[list[_Move]]:
    batches: list[list[_Move]] = [[]]
    size = 0
    for move in moves:
        if batches[-1] and (
            size + move.messages > _BATCH_MESSAGES or len(batches[-1]) >= _BATCH_CONVERSATIONS
        ):
            batches.append([])
            size = 0
        batches[-1].append(move)
        size += move.messages
    return [batch for batch in batches if batch]


# -- leaving full ------------------------------------------------------------------------------------------


def _archive_batch(
    tiering: Tiering, summarizer: Summarizer, owner: Owner, batch: list[_Move], totals: Counter[str]
) -> None:
    ids = [move.conversation_id for move in batch]
    with tiering.transactions.reading() as work:
        space = tiering.active(work)
        connection = work.connection()
        rows = {row.id: row for row in _conversation_rows(connection, owner, ids)}
        messages = _messages(connection, list(rows))
        vectors = VectorRepository(work, space).fetch([m.id for ms in messages.values() for m in ms])
    archived: list[_Archived] = []
    records: list[tuple[Path, dict[str, Any]]] = []
    for move in batch:
        row = rows.get(move.conversation_id)
        if row is None or row.tier != "full" or row.pinned or row.updated_at != move.updated_at:
            totals["skipped"] += 1
            continue
        own = messages.get(move.conversation_id, [])
        version = _Version(row.tier, row.pinned, row.updated_at, tuple(m.id for m in own))
        digest = summarizer.summarize(own)
        path = archive_path(tiering.directory, row.id, row.created_at.year, row.created_at.month)
        records.append((path, _record(row, own, vectors, space)))
        topics = topics_of(own)
        when = own[-1].created_at if own else row.created_at
        stand_ins = _stand_ins(move.target, row.title, digest, topics, when)
        conversation_owner = Owner(row.user_id, row.agent_id)
        archived.append(
            _Archived(
                row.id,
                version,
                move.target,
                digest.summary,
                topics,
                move.importance,
                "",  # once written
                path,
                stand_ins,
                conversation_owner,
            )
        )
    for item, checksum in zip(archived, write_archives(records), strict=True):
        item.checksum = checksum
        totals["bytes"] += item.path.stat().st_size
    texts = [draft.content for item in archived for draft in item.stand_ins]
    matrix = tiering.embed(texts) if texts else None
    kept: list[_Archived] = []
    try:
        with tiering.transactions.writing() as work:
            if tiering.active(work).id != space.id:  # reindexed meanwhile: the next run redoes them
                totals["skipped"] += len(archived)
                return
            connection = work.connection()
            current = _versions(connection, owner, [item.conversation_id for item in archived])
            kept = [item for item in archived if current.get(item.conversation_id) == item.version]
            totals["skipped"] += len(archived) - len(kept)
            _replace_messages(work, space, kept, archived, matrix)
            for item in kept:
                connection.execute(
                    _update(item.conversation_id).values(
                        tier=item.target,
                        summary=item.summary or None,
                        topics=item.topics or None,
                        importance=item.importance,
                        archive_checksum=item.checksum,
                        archived_at=utcnow(),
                    )
                )
                totals["conversations"] += 1
                totals["messages"] += len(item.version.message_ids)
                totals[f"moved:{item.target}"] += 1
    finally:
        referred = {id(item) for item in kept}
        for item in archived:  # skipped, or the transaction failed: the file is referred to by nothing
            if id(item) not in referred:
                remove_archive(item.path, item.checksum)


def _replace_messages(
    work: Work, space: EmbeddingSpace, kept: list[_Archived], archived: list[_Archived], matrix: Matrix | None
) -> None:
    """Insert the kept conversations' stand-ins with their vectors (the rows of `matrix` are the
    stand-ins of every item of `archived`, in order), then delete their messages. In that order the
    stand-ins get ids above the archived messages', which stay free for a restore."""
    keep = {id(item) for item in kept}
    if matrix is not None:
        rows: list[int] = []
        position = 0
        for item in archived:
            if id(item) in keep:
                rows += range(position, position + len(item.stand_ins))
            position += len(item.stand_ins)
        batches = [
            MessageBatch(item.conversation_id, item.stand_ins, utcnow(), item.owner)
            for item in kept
            if item.stand_ins
        ]
        if batches:
            write_messages(work, space, batches, Matrix(matrix[np.array(rows, dtype=np.int64)]))
    doomed = [message_id for item in kept for message_id in item.version.message_ids]
    connection = work.connection()
    for start in range(0, len(doomed), _CHUNK):
        connection.execute(sa.delete(_MESSAGES).where(_MESSAGES.c.id.in_(doomed[start : start + _CHUNK])))


def _conversation_rows(connection: sa.Connection, owner: Owner, ids: list[int]) -> list[sa.Row[Any]]:
    return list(
        connection.execute(
            sa.select(*_CONVERSATIONS.c).where(
                _CONVERSATIONS.c.id.in_(ids), *owner.conversation_clauses(_CONVERSATIONS.c)
            )
        )
    )


def _messages(connection: sa.Connection, conversation_ids: list[int]) -> dict[int, list[Message]]:
    found: dict[int, list[Message]] = {}
    for start in range(0, len(conversation_ids), _CHUNK):
        rows = connection.execute(
            sa.select(*_MESSAGES.c)
            .where(_MESSAGES.c.conversation_id.in_(conversation_ids[start : start + _CHUNK]))
            .order_by(_MESSAGES.c.conversation_id, _MESSAGES.c.created_at, _MESSAGES.c.id)
        ).all()
        for message in detached_rows(Message, _MESSAGE_ATTRIBUTES, rows):
            found.setdefault(message.conversation_id, []).append(message)
    return found


def _versions(connection: sa.Connection, owner: Owner, ids: list[int]) -> dict[int, _Version]:
    """The current `_Version` of each of these conversations that still exists."""
    c = _CONVERSATIONS.c
    rows = connection.execute(
        sa.select(c.id, c.tier, c.pinned, c.updated_at).where(c.id.in_(ids), *owner.conversation_clauses(c))
    ).all()
    message_ids: dict[int, list[int]] = {}
    for conversation_id, message_id in connection.execute(
        sa.select(_MESSAGES.c.conversation_id, _MESSAGES.c.id)
        .where(_MESSAGES.c.conversation_id.in_(ids))
        .order_by(_MESSAGES.c.conversation_id, _MESSAGES.c.created_at, _MESSAGES.c.id)
    ):
        message_ids.setdefault(conversation_id, []).append(message_id)
    return {
        row.id: _Version(row.tier, row.pinned, row.updated_at, tuple(message_ids.get(row.id, ())))
        for row in rows
    }


def _record(
    row: sa.Row[Any],
    messages: list[Message],
    vectors: dict[int, Any],
    space: EmbeddingSpace,
) -> dict[str, Any]:
    """The archive record of a conversation: every field of its row, every message with its vector
    of the active space, and that space (see `memory.lifecycle.archive`)."""
    return {
        "id": row.id,
        "title": row.title,
        "metadata": row.metadata,
        "source_id": row.source_id,
        "user_id": row.user_id,
        "agent_id": row.agent_id,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "pinned": bool(row.pinned),
        "archived_at": utcnow().isoformat(),
        "space": {"model": space.model, "dimensions": space.dimensions, "fingerprint": space.fingerprint},
        "messages": [
            {
                "id": m.id,
                "role": m.role,
                "content": m.content,
                "metadata": m.meta,
                "created_at": m.created_at.isoformat(),
                "content_hash": m.content_hash,
                "vector": encode_vector(vectors[m.id]) if m.id in vectors else None,
            }
            for m in messages
        ],
    }


def _stand_ins(
    target: Tier, title: str | None, digest: Digest, topics: str, when: datetime
) -> list[MessageDraft]:
    """One row for the summary with the title and topics (or, without a summary, or in the metadata
    tier, for the title and topics alone), and in the key-points tier one per key point that the
    summary does not already hold."""
    kinds = KINDS[target]
    line = _topics_line(title, topics)
    summary = digest.summary.strip()
    texts: list[tuple[str, str]] = []
    if "summary" in kinds and summary:
        texts.append(("summary", "\n".join(part for part in (summary, line) if part)))
    elif line:
        texts.append(("topics", line))
    if "key_point" in kinds:
        texts += [("key_point", point) for point in digest.key_points if point and point not in summary]
    return [_draft(kind, text, when) for kind, text in texts]


class _TopicLine(NamedTuple):
    draft: MessageDraft
    owner: Owner


def _topic_lines(connection: sa.Connection, owner: Owner, moves: list[_Move]) -> dict[int, _TopicLine]:
    """The title-and-topics row of each conversation that moves to a tier without a summary and has
    none yet (its summary row held its title and topics), by conversation id."""
    leaving = [move.conversation_id for move in moves if "summary" not in KINDS[move.target]]
    stand_ins = stand_in_ids(connection, leaving)
    summary_rows = {
        conversation_id: next(message_id for message_id, kind in found if kind == "summary")
        for conversation_id, found in stand_ins.items()
        if any(kind == "summary" for _, kind in found) and all(kind != "topics" for _, kind in found)
    }
    if not summary_rows:
        return {}
    c, m = _CONVERSATIONS.c, _MESSAGES.c
    rows = connection.execute(
        sa.select(c.id, c.title, c.topics, c.user_id, c.agent_id, m.created_at)
        .join_from(_CONVERSATIONS, _MESSAGES, m.conversation_id == c.id)
        .where(m.id.in_(list(summary_rows.values())), *owner.conversation_clauses(c))
        .order_by(c.id)
    )
    return {
        row.id: _TopicLine(
            _draft("topics", _topics_line(row.title, row.topics or ""), row.created_at),
            Owner(row.user_id, row.agent_id),
        )
        for row in rows
        if _topics_line(row.title, row.topics or "")
    }


def _draft(kind: str, text: str, when: datetime) -> MessageDraft:
    return MessageDraft(STAND_IN_ROLE, text, {TIER_KEY: kind}, when, content_hash(text))


def _topics_line(title: str | None, topics: str) -> str:
    parts = [part for part in (title, f"topics: {topics}" if topics else None) if part]
    return " — ".join(parts)


def _update(conversation_id: int) -> sa.Update:
    """An UPDATE of one conversation that keeps its `updated_at` (its age)."""
    c = _CONVERSATIONS.c
    return sa.update(_CONVERSATIONS).where(c.id == conversation_id).values(updated_at=c.updated_at)


# -- further down ----------------------------------------------------------------------------------------


def _move_down(tiering: Tiering, owner: Owner, moves: list[_Move], totals: Counter[str]) -> None:
    """Archived conversations to a colder tier: their stand-ins the new tier does not keep are
    deleted, and one that loses its summary row (which holds its title and topics) gets a row of
    its title and topics, embedded before the write transaction; one that changed since it was
    planned is skipped."""
    ids = [move.conversation_id for move in moves]
    with tiering.transactions.reading() as work:
        space = tiering.active(work)
        topic_lines = _topic_lines(work.connection(), owner, moves)
    texts = [line.draft.content for line in topic_lines.values()]
    matrix = tiering.embed(texts) if texts else None
    with tiering.transactions.writing() as work:
        if tiering.active(work).id != space.id:  # reindexed meanwhile: the next run redoes them
            totals["skipped"] += len(moves)
            return
        connection = work.connection()
        c = _CONVERSATIONS.c
        current = {
            row.id: row
            for row in connection.execute(
                sa.select(c.id, c.tier, c.pinned, c.updated_at).where(
                    c.id.in_(ids), *owner.conversation_clauses(c)
                )
            )
        }
        ready = [
            move
            for move in moves
            if (row := current.get(move.conversation_id)) is not None
            and (row.tier, row.pinned, row.updated_at) == (move.source, False, move.updated_at)
        ]
        totals["skipped"] += len(moves) - len(ready)
        stand_ins = stand_in_ids(connection, [move.conversation_id for move in ready])
        doomed = [
            message_id
            for move in ready
            for message_id, kind in stand_ins.get(move.conversation_id, [])
            if kind not in KINDS[move.target]
        ]
        if matrix is not None:
            ready_ids = {move.conversation_id for move in ready}
            rows = [n for n, conversation_id in enumerate(topic_lines) if conversation_id in ready_ids]
            batches = [
                MessageBatch(conversation_id, [line.draft], utcnow(), line.owner)
                for conversation_id, line in topic_lines.items()
                if conversation_id in ready_ids
            ]
            if batches:
                write_messages(work, space, batches, Matrix(matrix[np.array(rows, dtype=np.int64)]))
        for start in range(0, len(doomed), _CHUNK):
            connection.execute(sa.delete(_MESSAGES).where(_MESSAGES.c.id.in_(doomed[start : start + _CHUNK])))
        for move in ready:
            connection.execute(_update(move.conversation_id).values(tier=move.target))
            totals[f"moved:{move.target}"] += 1
