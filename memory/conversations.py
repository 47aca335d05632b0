"""Conversations and their messages: validation of new messages and the ORM reads and writes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from memory.digests import content_key
from memory.errors import DuplicateError, NotFoundError, ValidationError
from memory.models import Conversation, Message, UTCDateTime, utcnow
from memory.vectors.validation import check_datetime, check_id, check_role

DEFAULT_MAX_CONTENT_BYTES: Final = 1024 * 1024
_MESSAGE_KEYS: Final = frozenset({"role", "content", "metadata", "created_at"})


class MessageDraft(NamedTuple):
    """A validated message, not yet stored (made by `draft_messages`)."""

    role: str
    content: str
    metadata: dict[str, Any]
    created_at: datetime | None
    #: sha256 of the content (see `memory.digests.content_hash`).
    content_hash: str


def check_content(content: Any, max_bytes: int, what: str = "content") -> str:
    _utf8(content, max_bytes, what)
    return str(content)


def _utf8(content: Any, max_bytes: int, what: str) -> bytes:
    """The text's UTF-8 bytes, once it is known to be a str within the size limit."""
    if not isinstance(content, str):
        raise ValidationError(f"{what} must be a str, not {type(content).__name__}")
    try:
        encoded = content.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"{what} is not valid Unicode text (lone surrogate at {exc.start})") from None
    if len(encoded) > max_bytes:
        raise ValidationError(f"{what} is {len(encoded)} bytes, above the limit of {max_bytes} bytes")
    if b"\x00" in encoded:
        # PostgreSQL text cannot hold NUL; refused on SQLite too, so a store can move between them.
        raise ValidationError(f"{what} contains a NUL character (U+0000), which text columns cannot store")
    return encoded


def check_metadata(metadata: Any, max_bytes: int) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ValidationError(f"metadata must be a dict, not {type(metadata).__name__}")
    if not metadata:
        return {}
    try:
        encoded = json.dumps(dict(metadata), allow_nan=False, ensure_ascii=False)
        encoded.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise ValidationError(f"metadata must be JSON-serialisable with str keys: {exc}") from None
    if len(encoded) > max_bytes:
        raise ValidationError(f"metadata is above the limit of {max_bytes} bytes")
    result: dict[str, Any] = json.loads(encoded)  # a deep copy, exactly what the database will hold
    if result != dict(metadata):
        raise ValidationError(
            "metadata must come back from JSON unchanged: keys must be str and sequences lists "
            "(json would turn an int key 1 into '1' and a tuple into a list)"
        )
    return result


def draft_messages(messages: Iterable[Mapping[str, Any]], max_bytes: int) -> list[MessageDraft]:
    """Validate every message of a batch before anything is embedded or written."""
    if isinstance(messages, str | bytes | Mapping):
        raise ValidationError("messages must be an iterable of dicts with 'role' and 'content'")
    drafts = []
    for index, raw in enumerate(messages):
        try:
            drafts.append(_draft(raw, max_bytes))
        except ValidationError as exc:
            raise type(exc)(f"message {index}: {exc}") from None
    if not drafts:
        raise ValidationError("messages is empty: nothing to add")
    return drafts


def _draft(raw: Any, max_bytes: int) -> MessageDraft:
    # `type(raw) is dict` first: the ABC check of Mapping costs more than the rest of a draft.
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise ValidationError(f"expected a dict with 'role' and 'content', got {type(raw).__name__}")
    if not raw.keys() <= _MESSAGE_KEYS:
        unknown = set(raw) - _MESSAGE_KEYS
        raise ValidationError(f"unknown keys {sorted(map(str, unknown))}; allowed: {sorted(_MESSAGE_KEYS)}")
    if "role" not in raw or "content" not in raw:
        raise ValidationError("'role' and 'content' are required")
    content, metadata, created_at = raw["content"], raw.get("metadata"), raw.get("created_at")
    encoded = _utf8(content, max_bytes, "content")
    return MessageDraft(
        check_role(raw["role"]),
        content,
        {} if metadata is None else check_metadata(metadata, max_bytes),
        None if created_at is None else check_datetime(created_at, "created_at"),
        hashlib.sha256(encoded).hexdigest(),
    )


@dataclass(frozen=True, slots=True)
class NewConversation:
    """A validated conversation, not yet stored."""

    title: str | None
    metadata: dict[str, Any]
    source_id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredMessages:
    """Messages just inserted, column by column: `ids[i]` is the new id of `drafts[i]`."""

    ids: list[int]
    conversation_ids: list[int]
    created_at: list[datetime]
    drafts: list[MessageDraft]

    @property
    def roles(self) -> list[str]:
        return [draft.role for draft in self.drafts]

    def to_messages(self) -> list[Message]:
        """Detached `Message` objects with every column loaded."""
        return [
            _detached(
                Message,
                id=message_id,
                conversation_id=conversation_id,
                role=draft.role,
                content=draft.content,
                meta=draft.metadata,
                created_at=created_at,
                content_hash=draft.content_hash,
                content_key=content_key(draft.content_hash),
            )
            for message_id, conversation_id, created_at, draft in zip(
                self.ids, self.conversation_ids, self.created_at, self.drafts, strict=True
            )
        ]


_NOT_MEMOISED: Final = object()


def _bind_processor(column_type: Any, dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    """The bind processor SQLAlchemy's own statements use for `column_type` on `dialect`: that of its
    dialect-specific implementation (on SQLite, times become text with microseconds, the form the ORM
    stores and compares against)."""
    processor: Callable[[Any], Any] | None = column_type.dialect_impl(dialect).bind_processor(dialect)
    return processor


def _bound(process: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """A column's values through its bind processor, run once per distinct time and for empty
    metadata (a batch shares one time; most metadata is empty)."""
    if len(values) > 1 and all(value is values[0] for value in values):  # one object for the batch
        return _bound(process, values[:1]) * len(values)
    memo: dict[Any, Any] = {}
    result = []
    for value in values:
        key = value if isinstance(value, datetime) else ("{}" if value == {} else _NOT_MEMOISED)
        if key is _NOT_MEMOISED:
            result.append(process(value))
            continue
        if key not in memo:
            memo[key] = process(value)
        result.append(memo[key])
    return result


_TOUCH: Final = "UPDATE conversations SET updated_at = ? WHERE id = ?"
# A connection's own scratch copy of a table, for bulk inserts that must fire its insert triggers
# from one statement (no types: values keep what they were bound as).
_STAGE_CREATE: Final = "CREATE TEMP TABLE IF NOT EXISTS staged_{table} ({columns})"
_STAGE_INSERT: Final = "INSERT INTO temp.staged_{table} ({columns}) VALUES ({marks})"
_STAGED_TO_TABLE: Final = "INSERT INTO main.{table} ({columns}) SELECT {columns} FROM temp.staged_{table}"
_STAGE_CLEAR: Final = "DELETE FROM temp.staged_{table}"
_CONVERSATIONS: Final = sa.table("conversations", sa.column("id"), sa.column("updated_at", UTCDateTime()))
_Row = TypeVar("_Row", Conversation, Message)


def _detached(model: type[_Row], **columns: Any) -> _Row:
    """A detached instance holding exactly these column values, as if loaded from the database
    (written to its __dict__ as SQLAlchemy's own loading does: no change events, 3x faster than the
    constructor for bulk results)."""
    row: _Row = model.__mapper__.class_manager.new_instance()
    row.__dict__.update(columns)
    make_transient_to_detached(row)
    return row


def _insert_staged(
    connection: sa.Connection, table: sa.Table, names: list[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert many rows into `table` with one INSERT ... SELECT from a temporary table, so its
    AFTER INSERT triggers fire inside one statement."""
    columns = ", ".join(table.c[name].name for name in names)  # identifiers of the model
    connection.exec_driver_sql(_STAGE_CREATE.format(table=table.name, columns=columns))
    try:
        marks = ", ".join("?" * len(names))
        connection.exec_driver_sql(_STAGE_INSERT.format(table=table.name, columns=columns, marks=marks), rows)
        connection.exec_driver_sql(_STAGED_TO_TABLE.format(table=table.name, columns=columns))
    finally:
        connection.exec_driver_sql(_STAGE_CLEAR.format(table=table.name))


class ConversationRepository:
    """Conversations and messages inside `session`'s transaction; unknown ids raise `NotFoundError`."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        source_id: str | None = None,
        created_at: datetime | None = None,
    ) -> Conversation:
        (conversation,) = self.create_many([NewConversation(title, metadata or {}, source_id, created_at)])
        return conversation

    def create_many(self, specs: list[NewConversation]) -> list[Conversation]:
        """Insert conversations with one multi-row INSERT ... RETURNING; they come back detached."""
        source_ids = [spec.source_id for spec in specs if spec.source_id is not None]
        if len(set(source_ids)) != len(source_ids):
            raise DuplicateError("two conversations of the batch have the same source id")
        for start in range(0, len(source_ids), 500):
            chunk = source_ids[start : start + 500]
            taken = self.session.scalars(
                sa.select(Conversation.source_id).where(Conversation.source_id.in_(chunk)).limit(1)
            ).first()
            if taken is not None:
                raise DuplicateError(f"a conversation with source id {taken!r} already exists")
        now = utcnow()
        times = [spec.created_at or now for spec in specs]
        columns: dict[str, list[Any]] = {
            "title": [spec.title for spec in specs],
            "metadata": [spec.metadata for spec in specs],
            "source_id": [spec.source_id for spec in specs],
            "created_at": times,
            "updated_at": times,
        }
        ids = self._insert(Conversation.__table__, columns)
        return [
            _detached(
                Conversation,
                id=conversation_id,
                title=spec.title,
                meta=spec.metadata,
                source_id=spec.source_id,
                created_at=created_at,
                updated_at=created_at,
            )
            for conversation_id, spec, created_at in zip(ids, specs, times, strict=True)
        ]

    def find_by_source(self, source_id: str) -> Conversation | None:
        return self.session.scalars(
            sa.select(Conversation).where(Conversation.source_id == source_id)
        ).one_or_none()

    def get(self, conversation_id: int, *, with_messages: bool = False) -> Conversation:
        conversation_id = check_id(conversation_id, "conversation_id")
        options = [selectinload(Conversation.messages)] if with_messages else []
        conversation = self.session.get(Conversation, conversation_id, options=options)
        if conversation is None:
            raise NotFoundError(f"no conversation with id {conversation_id}")
        return conversation

    def list_recent(self, *, limit: int = 50, offset: int = 0) -> list[Conversation]:
        """Conversations, most recently updated first."""
        limit, offset = check_id(limit, "limit"), check_id(offset, "offset")
        if limit < 0 or offset < 0:
            raise ValidationError("limit and offset must not be negative")
        query = (
            sa.select(Conversation)
            .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(self.session.scalars(query))

    def messages(self, conversation_id: int, *, limit: int | None = None) -> list[Message]:
        """The conversation's messages in chronological order; with `limit`, the most recent ones."""
        self.get(conversation_id)
        query = sa.select(Message).where(Message.conversation_id == conversation_id)
        if limit is None:
            return list(self.session.scalars(query.order_by(Message.created_at, Message.id)))
        limit = check_id(limit, "limit")
        if limit < 0:
            raise ValidationError("limit must not be negative")
        latest = list(
            self.session.scalars(query.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit))
        )
        return latest[::-1]

    def insert_messages(
        self, batches: list[tuple[Conversation, list[MessageDraft], datetime | None]]
    ) -> StoredMessages:
        """Store the messages of several conversations with one executemany (bulk loads add thousands
        per call, so no ORM objects are made here). A message without a time gets its batch's `now`
        (default: the current time), which also becomes the conversation's `updated_at`."""
        current = utcnow()
        drafts: list[MessageDraft] = []
        conversation_ids: list[int] = []
        times: list[datetime] = []
        touched: list[tuple[int, datetime]] = []
        for conversation, conversation_drafts, now in batches:
            now = now or current
            touched.append((conversation.id, now))
            drafts += conversation_drafts
            conversation_ids += [conversation.id] * len(conversation_drafts)
            times += [draft.created_at or now for draft in conversation_drafts]
        if not drafts:
            return StoredMessages([], [], [], [])
        hashes = [draft.content_hash for draft in drafts]
        # Staged: the full-text index's insert trigger then fires inside one statement and FTS5
        # writes the batch's terms once; fired by each statement of an executemany, FTS5 flushes
        # them after every row (a 1M bulk load ran at half the speed).
        ids = self._insert(
            Message.__table__,
            {
                "conversation_id": conversation_ids,
                "role": [draft.role for draft in drafts],
                "content": [draft.content for draft in drafts],
                "metadata": [draft.metadata for draft in drafts],
                "created_at": times,
                "content_hash": hashes,
                "content_key": [content_key(digest) for digest in hashes],
            },
            staged=True,
        )
        self._touch(touched)
        for conversation, _, now in batches:
            # Mirror the new time on the caller's object without making the session flush it again.
            set_committed_value(conversation, "updated_at", now or current)
        return StoredMessages(ids, conversation_ids, times, drafts)

    def _touch(self, touched: list[tuple[int, datetime]]) -> None:
        """Set each conversation's `updated_at`."""
        connection = self.session.connection()
        if connection.dialect.name == "sqlite":  # one executemany, times bound as in _insert
            process = _bind_processor(_CONVERSATIONS.c.updated_at.type, connection.dialect)
            times = [when for _, when in touched]
            bound = times if process is None else _bound(process, times)
            ids = [conversation_id for conversation_id, _ in touched]
            connection.exec_driver_sql(_TOUCH, list(zip(bound, ids, strict=True)))
            return
        self.session.execute(
            sa.update(_CONVERSATIONS)
            .where(_CONVERSATIONS.c.id == sa.bindparam("touched_id"))
            .values(updated_at=sa.bindparam("touched_at")),
            [{"touched_id": conversation_id, "touched_at": when} for conversation_id, when in touched],
        )

    def _insert(self, table: Any, columns: dict[str, list[Any]], *, staged: bool = False) -> list[int]:
        """Insert rows given column by column, returning their new ids in order.

        On SQLite the ids are allocated here (max(id) + 1 ...), so the rows go in with one
        executemany: SQLite cannot promise the order of RETURNING rows, and SQLAlchemy then falls back
        to one statement per row. Writers hold the write lock (BEGIN IMMEDIATE) for the whole
        transaction, so no other connection can take those ids in between. `staged` batches go
        through a temporary table and one INSERT ... SELECT (see `_insert_staged`).
        """
        connection = self.session.connection()
        count = len(next(iter(columns.values())))
        if connection.dialect.name == "sqlite":
            first = connection.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
            ids = list(range(int(first) + 1, int(first) + 1 + count))
            # The statement is compiled by SQLAlchemy and the values go through each column type's own
            # bind processor; only the per-row bookkeeping of Connection.execute is skipped (bulk loads
            # spend most of their time there otherwise).
            statement = sa.insert(table).compile(dialect=connection.dialect, column_keys=["id", *columns])
            names = list(statement.positiontup or [])  # the order of the statement's "?" marks
            if not names or names[0] != "id":
                raise AssertionError(f"{table.name}: expected the id column first, got {names}")
            values = []
            for name in names[1:]:
                process = _bind_processor(table.c[name].type, connection.dialect)
                values.append(columns[name] if process is None else _bound(process, columns[name]))
            bound_rows = list(zip(ids, *values, strict=True))
            if staged and count > 1:
                _insert_staged(connection, table, names, bound_rows)
            else:
                connection.exec_driver_sql(str(statement), bound_rows)
            return ids
        rows = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
        result = connection.execute(
            sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        return [int(new_id) for new_id in result.scalars()]

    def get_message(self, message_id: int) -> Message:
        message_id = check_id(message_id, "message_id")
        message = self.session.get(Message, message_id)
        if message is None:
            raise NotFoundError(f"no message with id {message_id}")
        return message

    def latest_content(self, conversation_id: int, *, role: str) -> str | None:
        """The content of the conversation's most recent message with `role`, if any."""
        query = (
            sa.select(Message.content)
            .where(Message.conversation_id == conversation_id, Message.role == check_role(role))
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(1)
        )
        content: str | None = self.session.scalars(query).first()
        return content

    def messages_by_id(self, message_ids: list[int]) -> dict[int, Message]:
        found: dict[int, Message] = {}
        for start in range(0, len(message_ids), 500):
            chunk = message_ids[start : start + 500]
            found.update(
                (m.id, m) for m in self.session.scalars(sa.select(Message).where(Message.id.in_(chunk)))
            )
        return found

    def ids_with_hashes(self, hashes: list[str]) -> dict[str, list[int]]:
        """Ids of stored messages by content hash, for reusing their vectors."""
        wanted = set(hashes)
        found: dict[str, list[int]] = {}
        keys = sorted({content_key(digest) for digest in wanted})
        for start in range(0, len(keys), 500):
            rows = self.session.execute(
                sa.select(Message.content_hash, Message.id)
                .where(Message.content_key.in_(keys[start : start + 500]))
                .order_by(Message.id)
            )
            for digest, message_id in rows:
                if digest in wanted:  # the key is a prefix: confirm on the whole digest
                    found.setdefault(digest, []).append(message_id)
        return found

    def delete(self, conversation_id: int) -> None:
        self.session.delete(self.get(conversation_id))
        self.session.flush()

    def delete_message(self, message_id: int) -> None:
        self.session.delete(self.get_message(message_id))
        self.session.flush()

    def count(self) -> int:
        return int(self.session.scalar(sa.select(sa.func.count()).select_from(Conversation)) or 0)

    def count_messages(self) -> int:
        return int(self.session.scalar(sa.select(sa.func.count()).select_from(Message)) or 0)
