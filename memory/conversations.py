"""`ConversationRepository`: conversations and their messages, read and written inside a `Session`'s
transaction.

Its public methods take raw arguments and check them at entry through `memory.validation`; the
`insert_*` and `touch` methods take values that validation already made (drafts, checked ids) and
trust them, so the facade checks each argument once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from memory.bulk import detached, detached_rows, insert_columns
from memory.digests import content_key
from memory.errors import NotFoundError, translates_errors
from memory.identifiers import placeholders, sql
from memory.models import Conversation, EmbeddingSpace, Message, utcnow
from memory.owners import EVERYONE, Owner, owned
from memory.statements import Prepared, driver_execute
from memory.transactions import Work, orm_session
from memory.validation import (
    DEFAULT_MAX_CONTENT_BYTES,
    ConversationDraft,
    MessageDraft,
    check_count,
    check_id,
    check_role,
    check_source_id,
    draft_conversation,
)

_CONVERSATIONS: Final = cast(sa.Table, Conversation.__table__)
_MESSAGES: Final = cast(sa.Table, Message.__table__)
_OWNED_BY: Final = (_CONVERSATIONS.c.user_id, _CONVERSATIONS.c.agent_id)
_SPACES: Final = cast(sa.Table, EmbeddingSpace.__table__)


def _touch(*conditions: sa.ColumnElement[bool]) -> Prepared:
    """UPDATE of the owner's conversation bound as `touched_id` to `touched_at`, under `conditions`,
    returning whose it is."""
    return Prepared(
        sa.update(_CONVERSATIONS)
        .where(_CONVERSATIONS.c.id == sa.bindparam("touched_id"), owned(_CONVERSATIONS), *conditions)
        .values(updated_at=sa.bindparam("touched_at"))
        .returning(*_OWNED_BY)
    )


# Statements prepared once carry the repository's owner as `owner_user` and `owner_agent`.
_TOUCH: Final = _touch()
# `_TOUCH` while the space bound as `space_*` is still the active one, exactly as the writer knows it.
_TOUCH_WHILE_ACTIVE: Final = _touch(
    sa.exists().where(
        _SPACES.c.id == sa.bindparam("space_id"),
        _SPACES.c.is_active,
        _SPACES.c.model == sa.bindparam("space_model"),
        _SPACES.c.dimensions == sa.bindparam("space_dimensions"),
        _SPACES.c.fingerprint.is_not_distinct_from(sa.bindparam("space_fingerprint")),
    )
)
_EXISTS: Final = Prepared(
    sa.select(_CONVERSATIONS.c.id).where(
        _CONVERSATIONS.c.id == sa.bindparam("conversation_id"), owned(_CONVERSATIONS)
    )
)
# The conversation bound as `conversation_id` is the owner's (a constant subquery: evaluated once).
_OWNED_CONVERSATION: Final = sa.exists().where(
    _CONVERSATIONS.c.id == sa.bindparam("conversation_id"), owned(_CONVERSATIONS)
)
#: The attributes of `Message` in the order of the columns of `messages`.
_MESSAGE_ATTRIBUTES: Final = tuple(Message.__mapper__.get_property_by_column(c).key for c in _MESSAGES.c)
_OF_CONVERSATION: Final = sa.select(*_MESSAGES.c).where(
    _MESSAGES.c.conversation_id == sa.bindparam("conversation_id"), _OWNED_CONVERSATION
)
_ALL_MESSAGES: Final = Prepared(_OF_CONVERSATION.order_by(_MESSAGES.c.created_at, _MESSAGES.c.id))
_LATEST_MESSAGES: Final = Prepared(
    _OF_CONVERSATION.order_by(_MESSAGES.c.created_at.desc(), _MESSAGES.c.id.desc()).limit(
        sa.bindparam("limit")
    )
)
_LATEST_TEXT: Final = Prepared(
    sa.select(_MESSAGES.c.content)
    .where(
        _MESSAGES.c.conversation_id == sa.bindparam("conversation_id"),
        _MESSAGES.c.role == sa.bindparam("role"),
        _OWNED_CONVERSATION,
    )
    .order_by(_MESSAGES.c.created_at.desc(), _MESSAGES.c.id.desc())
    .limit(1)
)
_MESSAGES_BY_ID: Final = sa.select(*_MESSAGES.c).where(
    _MESSAGES.c.id.in_(sa.bindparam("ids", expanding=True))
)
_HITS_BY_ID: Final = (
    sa.select(*_MESSAGES.c, _CONVERSATIONS.c.tier, _CONVERSATIONS.c.title)
    .join(_CONVERSATIONS, _CONVERSATIONS.c.id == _MESSAGES.c.conversation_id)
    .where(_MESSAGES.c.id.in_(sa.bindparam("ids", expanding=True)))
)
# `_HITS_BY_ID` on SQLite, prepared once: the ids bound as one JSON array instead of a list of
# marks that SQLAlchemy renders again at every call.
_HITS_BY_JSON_IDS: Final = Prepared(
    sa.select(*_MESSAGES.c, _CONVERSATIONS.c.tier, _CONVERSATIONS.c.title)
    .join(_CONVERSATIONS, _CONVERSATIONS.c.id == _MESSAGES.c.conversation_id)
    .where(
        _MESSAGES.c.id.in_(sa.select(sa.column("value")).select_from(sa.func.json_each(sa.bindparam("ids")))),
        owned(_CONVERSATIONS),
    )
)
_IDS_BY_KEY: Final = (
    sa.select(_MESSAGES.c.content_hash, _MESSAGES.c.id)
    .where(_MESSAGES.c.content_key.in_(sa.bindparam("keys", expanding=True)))
    .order_by(_MESSAGES.c.id)
)
_INSERT_ONE: Final = Prepared(
    sa.insert(_MESSAGES)
    .values(
        conversation_id=sa.bindparam("conversation_id"),
        role=sa.bindparam("role"),
        content=sa.bindparam("content"),
        metadata=sa.bindparam("metadata", type_=_MESSAGES.c.metadata.type),
        created_at=sa.bindparam("created_at", type_=_MESSAGES.c.created_at.type),
        content_hash=sa.bindparam("content_hash"),
        content_key=sa.bindparam("content_key"),
    )
    .returning(_MESSAGES.c.id)
)
# The same on SQLite, run on the driver (see memory.statements): {marks} is placeholders().
_IDS_BY_KEY_SQLITE: Final = "SELECT content_hash, id FROM messages WHERE content_key IN ({marks}) ORDER BY id"
# The same, from the row of one conversation: no row at all when that conversation does not exist.
_IDS_BY_KEY_FROM: Final = (
    sa.select(_MESSAGES.c.content_hash, _MESSAGES.c.id)
    .select_from(
        _CONVERSATIONS.outerjoin(_MESSAGES, _MESSAGES.c.content_key.in_(sa.bindparam("keys", expanding=True)))
    )
    .where(_CONVERSATIONS.c.id == sa.bindparam("conversation_id"))
    .order_by(_MESSAGES.c.id)
)
_IDS_BY_KEY_FROM_SQLITE: Final = (
    "SELECT m.content_hash, m.id FROM conversations AS c"
    " LEFT JOIN messages AS m ON m.content_key IN ({marks}) WHERE c.id = ? ORDER BY m.id"
)
#: The tier columns of a conversation just created (their server defaults).
_NEW_CONVERSATION: Final[dict[str, Any]] = {
    "tier": "full",
    "pinned": False,
    "summary": None,
    "topics": None,
    "importance": None,
    "archive_checksum": None,
    "archived_at": None,
}
#: Ids per `IN (...)` list: far below SQLite's limit on bound parameters (32,766).
_CHUNK: Final = 5000


@dataclass(frozen=True, slots=True)
class ConversationInfo:
    """A conversation at a glance, without its messages: for listings and search results."""

    id: int
    title: str | None
    message_count: int
    created_at: datetime
    updated_at: datetime
    user_id: str | None
    agent_id: str | None


class MessageBatch(NamedTuple):
    """Validated messages for one conversation (stored with `owner`); those without a time get
    `default_time`."""

    conversation_id: int
    drafts: Sequence[MessageDraft]
    default_time: datetime
    owner: Owner = EVERYONE


@dataclass(frozen=True, slots=True)
class StoredMessages:
    """Messages just inserted, column by column: `ids[i]` is the new id of `drafts[i]`."""

    ids: list[int]
    conversation_ids: list[int]
    created_at: list[datetime]
    drafts: list[MessageDraft]
    keys: list[int]

    @property
    def roles(self) -> list[str]:
        return [draft.role for draft in self.drafts]

    def to_messages(self) -> list[Message]:
        """Detached `Message` objects with every column loaded."""
        return detached_rows(
            Message,
            ("id", "conversation_id", "role", "content", "meta", "created_at", "content_hash", "content_key"),
            (
                (i, conversation_id, d.role, d.content, d.metadata, created_at, d.content_hash, key)
                for i, conversation_id, created_at, d, key in zip(
                    self.ids, self.conversation_ids, self.created_at, self.drafts, self.keys, strict=True
                )
            ),
        )


@translates_errors("conversations")
class ConversationRepository:
    """Conversations and messages inside `session`'s transaction; unknown ids raise `NotFoundError`.

    With `owner`, the repository sees only that owner's conversations (and their messages): any
    other id is unknown, exactly as one that does not exist, and what it creates belongs to the
    owner (its `user_id` and `agent_id`; `None` stores none).
    """

    def __init__(
        self, session: Work, *, owner: Owner = EVERYONE, max_content_bytes: int = DEFAULT_MAX_CONTENT_BYTES
    ) -> None:
        self._work = session
        self.owner = owner
        self.max_content_bytes = max_content_bytes

    @property
    def session(self) -> Session:
        """The ORM session the repository works in."""
        return orm_session(self._work)

    @property
    def work(self) -> Work:
        """The transaction the repository works in."""
        return self._work

    # -- raw arguments, checked here ------------------------------------------------------------------

    def create(
        self,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        source_id: str | None = None,
        created_at: datetime | None = None,
    ) -> Conversation:
        item = {"title": title, "metadata": metadata, "source_id": source_id, "created_at": created_at}
        (conversation,) = self.insert_conversations([draft_conversation(item, self.max_content_bytes)])
        return conversation

    def find_by_source(self, source_id: str) -> Conversation | None:
        return self.by_source(check_source_id(source_id))

    def get(self, conversation_id: int, *, with_messages: bool = False) -> Conversation:
        conversation_id = check_id(conversation_id, "conversation_id")
        options = [selectinload(Conversation.messages)] if with_messages else []
        conversation = self.session.get(Conversation, conversation_id, options=options)
        if conversation is None or not self.owner.owns(conversation.user_id, conversation.agent_id):
            raise _no_conversation(conversation_id)
        return conversation

    def list_recent(self, *, limit: int = 50, offset: int = 0) -> list[Conversation]:
        """Conversations, most recently updated first."""
        query = (
            sa.select(Conversation)
            .where(*self.owner.conversation_clauses(Conversation))
            .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
            .limit(check_count(limit, "limit"))
            .offset(check_count(offset, "offset"))
        )
        return list(self.session.scalars(query))

    def messages(self, conversation_id: int, *, limit: int | None = None) -> list[Message]:
        """The conversation's messages in chronological order; with `limit`, the most recent ones."""
        conversation_id = check_id(conversation_id, "conversation_id")
        return self.window(conversation_id, None if limit is None else check_count(limit, "limit"))

    def get_message(self, message_id: int) -> Message:
        message_id = check_id(message_id, "message_id")
        message = self.session.get(Message, message_id)
        if message is None or (self.owner.restricts and not self._owns(message.conversation_id)):
            raise NotFoundError(f"no message with id {message_id}")
        return message

    def latest_content(self, conversation_id: int, *, role: str) -> str | None:
        """The content of the conversation's most recent message with `role`, if any."""
        return self.latest_text(check_id(conversation_id, "conversation_id"), check_role(role))

    def delete(self, conversation_id: int) -> None:
        self.session.delete(self.get(conversation_id))
        self.session.flush()

    def delete_message(self, message_id: int) -> None:
        self.session.delete(self.get_message(message_id))
        self.session.flush()

    def pop_latest(self, conversation_id: int) -> Message | None:
        """Delete the conversation's newest message and return it (None when it has none). Two
        transactions popping at once never get the same message: a row another one deleted first
        is passed over for the next newest."""
        conversation_id = check_id(conversation_id, "conversation_id")
        self.require(conversation_id)
        connection = self._work.connection()
        newest = (
            sa.select(_MESSAGES.c.id)
            .where(_MESSAGES.c.conversation_id == conversation_id)
            .order_by(_MESSAGES.c.created_at.desc(), _MESSAGES.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        popping = sa.delete(_MESSAGES).where(_MESSAGES.c.id == newest).returning(*_MESSAGES.c)
        while True:
            rows = connection.execute(popping).all()
            if rows:
                return detached_rows(Message, _MESSAGE_ATTRIBUTES, rows)[0]
            if connection.execute(sa.select(newest)).scalar_one_or_none() is None:
                return None

    def clear(self, conversation_id: int) -> int:
        """Delete every message of the conversation (it stays, empty); returns how many."""
        conversation_id = check_id(conversation_id, "conversation_id")
        self.require(conversation_id)
        deleted = self._work.connection().execute(
            sa.delete(_MESSAGES).where(_MESSAGES.c.conversation_id == conversation_id)
        )
        return int(deleted.rowcount)

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        """Pin or unpin the conversation (its `updated_at`, its age, unchanged)."""
        c = _CONVERSATIONS.c
        pinning = (
            sa.update(_CONVERSATIONS)
            .where(c.id == check_id(conversation_id, "conversation_id"), *self.owner.conversation_clauses(c))
            .values(pinned=bool(pinned), updated_at=c.updated_at)
            .returning(c.id)
        )
        if self._work.connection().execute(pinning).first() is None:
            raise _no_conversation(conversation_id)

    def count(self) -> int:
        query = sa.select(sa.func.count()).select_from(Conversation)
        return int(self.session.scalar(query.where(*self.owner.conversation_clauses(Conversation))) or 0)

    def count_messages(self) -> int:
        query = sa.select(sa.func.count()).select_from(Message)
        if self.owner.restricts:
            query = query.join(Conversation).where(*self.owner.conversation_clauses(Conversation))
        return int(self.session.scalar(query) or 0)

    # -- values made by memory.validation (or read from the database), trusted -----------------------

    def insert_conversations(
        self, drafts: Sequence[ConversationDraft], *, now: datetime | None = None
    ) -> list[Conversation]:
        """Insert conversations (without their messages: see `insert_messages`), returned detached.

        A conversation without a time was created `now` (default: the current time); its
        `updated_at` is the time its messages bring it to (`ConversationDraft.updated_at`), else its
        creation time. A source id already stored raises `DuplicateError`.
        """
        now = now or utcnow()
        created = [draft.created_at or now for draft in drafts]
        updated = [draft.updated_at or now for draft in drafts]
        columns: dict[str, list[Any]] = {
            "title": [draft.title for draft in drafts],
            "metadata": [draft.metadata for draft in drafts],
            "source_id": [draft.source_id for draft in drafts],
            "user_id": [self.owner.user_id] * len(drafts),
            "agent_id": [self.owner.agent_id] * len(drafts),
            "created_at": created,
            "updated_at": updated,
        }
        ids = insert_columns(self._work.connection(), _CONVERSATIONS, columns)
        return [
            detached(
                Conversation,
                id=conversation_id,
                title=draft.title,
                meta=draft.metadata,
                source_id=draft.source_id,
                user_id=self.owner.user_id,
                agent_id=self.owner.agent_id,
                created_at=created_at,
                updated_at=updated_at,
                **_NEW_CONVERSATION,
            )
            for conversation_id, draft, created_at, updated_at in zip(
                ids, drafts, created, updated, strict=True
            )
        ]

    def insert_messages(
        self, batches: Sequence[MessageBatch], *, ids: Sequence[int] | None = None
    ) -> StoredMessages:
        """Store the messages of several conversations with one executemany (no ORM objects are made:
        bulk loads add thousands per call). Conversations are not touched here (see `touch`). `ids`,
        one per message, free ones: the messages get these (a restore puts messages back with theirs)."""
        drafts: list[MessageDraft] = []
        conversation_ids: list[int] = []
        times: list[datetime] = []
        for conversation_id, conversation_drafts, default_time, _ in batches:
            drafts += conversation_drafts
            conversation_ids += [conversation_id] * len(conversation_drafts)
            times += [draft.created_at or default_time for draft in conversation_drafts]
        if not drafts:
            return StoredMessages([], [], [], [], [])
        hashes = [draft.content_hash for draft in drafts]
        keys = [content_key(digest) for digest in hashes]
        # Staged: the full-text index's insert trigger then fires inside one statement and FTS5
        # writes the batch's terms once; fired by each statement of an executemany, FTS5 flushes
        # them after every row (a 1M bulk load ran at half the speed).
        columns: dict[str, list[Any]] = {} if ids is None else {"id": list(ids)}
        stored_ids = insert_columns(
            self._work.connection(),
            _MESSAGES,
            columns
            | {
                "conversation_id": conversation_ids,
                "role": [draft.role for draft in drafts],
                "content": [draft.content for draft in drafts],
                "metadata": [draft.metadata for draft in drafts],
                "created_at": times,
                "content_hash": hashes,
                "content_key": keys,
            },
            staged=True,
        )
        return StoredMessages(stored_ids, conversation_ids, times, drafts, keys)

    def by_source(self, source_id: str) -> Conversation | None:
        """The conversation with this source id among those made with exactly this owner (source
        ids are unique per user and agent, through the index on these very expressions)."""
        return self.session.scalars(
            sa.select(Conversation).where(*self._made_by_owner(), Conversation.source_id == source_id)
        ).one_or_none()

    def imported_source_ids(self, source_ids: list[str]) -> set[str]:
        """The source ids among these of conversations made with exactly this owner (`by_source`)."""
        found: set[str] = set()
        for start in range(0, len(source_ids), _CHUNK):
            found.update(
                self.session.scalars(
                    sa.select(Conversation.source_id).where(
                        *self._made_by_owner(), Conversation.source_id.in_(source_ids[start : start + _CHUNK])
                    )
                )
            )
        return found

    def _made_by_owner(self) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
        """Conversations made with exactly this owner (not merely visible to it), in the expressions
        of the index that keeps source ids unique per user and agent."""
        return (
            sa.func.coalesce(Conversation.user_id, "") == (self.owner.user_id or ""),
            sa.func.coalesce(Conversation.agent_id, "") == (self.owner.agent_id or ""),
        )

    # The methods below run Core statements on the session's connection: a chat turn calls them, and
    # the ORM's execution path cost more than the statements. Messages come back detached, as the
    # facade returns them; the session's identity map is neither consulted nor updated.

    def require(self, conversation_id: int) -> None:
        """`NotFoundError` unless the conversation exists and is the owner's."""
        if not self._owns(conversation_id):
            raise _no_conversation(conversation_id)

    def window(self, conversation_id: int, limit: int | None) -> list[Message]:
        """The conversation's messages in chronological order; with `limit`, the most recent ones."""
        connection, owner = self._work.connection(), self.owner.bound()
        if limit is None:
            rows = _ALL_MESSAGES.rows(connection, conversation_id=conversation_id, **owner)
        else:
            rows = _LATEST_MESSAGES.rows(connection, conversation_id=conversation_id, limit=limit, **owner)
            rows.reverse()
        if not rows:  # no messages, or no conversation
            self.require(conversation_id)
        return detached_rows(Message, _MESSAGE_ATTRIBUTES, rows)

    def latest_text(self, conversation_id: int, role: str) -> str | None:
        """The content of the conversation's most recent message with `role`, if any."""
        connection, owner = self._work.connection(), self.owner.bound()
        found = _LATEST_TEXT.first(connection, conversation_id=conversation_id, role=role, **owner)
        return None if found is None else str(found[0])

    def insert_message(self, conversation_id: int, draft: MessageDraft, created_at: datetime) -> Message:
        """`insert_messages` for the one message of a chat turn, returned detached."""
        columns = {
            "conversation_id": conversation_id,
            "role": draft.role,
            "content": draft.content,
            "metadata": draft.metadata,
            "created_at": created_at,
            "content_hash": draft.content_hash,
            "content_key": content_key(draft.content_hash),
        }
        (new_id,) = _INSERT_ONE.rows(self._work.connection(), **columns)[0]
        columns["meta"] = columns.pop("metadata")
        return detached(Message, id=int(new_id), **columns)

    def touch(self, conversation_id: int, when: datetime) -> Owner:
        """Set the conversation's `updated_at`; `NotFoundError` when it does not exist (so a write
        transaction learns that in the statement it needs anyway). Returns whose it is."""
        connection, owner = self._work.connection(), self.owner.bound()
        touched = _TOUCH.first(connection, touched_id=conversation_id, touched_at=when, **owner)
        if touched is None:
            raise _no_conversation(conversation_id)
        return Owner(*touched)

    def touch_while_active(self, conversation_id: int, when: datetime, space: EmbeddingSpace) -> Owner | None:
        """`touch`, in the same statement as a check that `space` is still the active embedding
        space; None when nothing was touched (the conversation is gone or the active space changed:
        the caller finds out which), so a chat turn's write checks both in one statement."""
        touched = _TOUCH_WHILE_ACTIVE.first(
            self._work.connection(),
            touched_id=conversation_id,
            touched_at=when,
            space_id=space.id,
            space_model=space.model,
            space_dimensions=space.dimensions,
            space_fingerprint=space.fingerprint,
            **self.owner.bound(),
        )
        return None if touched is None else Owner(*touched)

    def messages_by_id(self, message_ids: list[int]) -> dict[int, Message]:
        """The owner's messages among these ids, by id."""
        found: dict[int, Message] = {}
        connection = self._work.connection()
        query = _MESSAGES_BY_ID
        if self.owner.restricts:
            query = query.where(_MESSAGES.c.conversation_id.in_(self._owned_ids()))
        for start in range(0, len(message_ids), _CHUNK):
            chunk = message_ids[start : start + _CHUNK]
            rows = connection.execute(query, {"ids": chunk}).all()
            found.update((m.id, m) for m in detached_rows(Message, _MESSAGE_ATTRIBUTES, rows))
        return found

    def hit_messages(self, message_ids: list[int]) -> dict[int, tuple[Message, str, str | None]]:
        """`messages_by_id` with the tier and title of each message's conversation, read in the
        same query (what a search hit shows)."""
        found: dict[int, tuple[Message, str, str | None]] = {}
        connection = self._work.connection()
        sqlite = connection.dialect.name == "sqlite"
        query = None if sqlite else _HITS_BY_ID.where(*self.owner.conversation_clauses(_CONVERSATIONS.c))
        for start in range(0, len(message_ids), _CHUNK):
            chunk = message_ids[start : start + _CHUNK]
            rows: Sequence[Any] = (
                _HITS_BY_JSON_IDS.rows(connection, ids=json.dumps(chunk), **self.owner.bound())
                if query is None
                else connection.execute(query, {"ids": chunk}).all()
            )
            messages = detached_rows(Message, _MESSAGE_ATTRIBUTES, (row[:-2] for row in rows))
            found.update((m.id, (m, str(row[-2]), row[-1])) for m, row in zip(messages, rows, strict=True))
        return found

    def info(self, conversation_ids: Iterable[int]) -> dict[int, ConversationInfo]:
        """Title, message count, times and owners of each of these conversations that exist and this
        owner sees, by id (two queries per 5,000 ids)."""
        ids = list(dict.fromkeys(check_id(value, "conversation id") for value in conversation_ids))
        found: dict[int, ConversationInfo] = {}
        connection = self._work.connection()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            counts: dict[int, int] = dict(
                connection.execute(
                    sa.select(_MESSAGES.c.conversation_id, sa.func.count())
                    .where(_MESSAGES.c.conversation_id.in_(chunk))
                    .group_by(_MESSAGES.c.conversation_id)
                ).all()
            )
            rows = connection.execute(
                sa.select(
                    _CONVERSATIONS.c.id,
                    _CONVERSATIONS.c.title,
                    _CONVERSATIONS.c.created_at,
                    _CONVERSATIONS.c.updated_at,
                    *_OWNED_BY,
                ).where(_CONVERSATIONS.c.id.in_(chunk), *self.owner.conversation_clauses(_CONVERSATIONS.c))
            )
            for id_, title, created_at, updated_at, user_id, agent_id in rows:
                found[id_] = ConversationInfo(
                    id_, title, counts.get(id_, 0), created_at, updated_at, user_id, agent_id
                )
        return found

    def owners_of(self, conversation_ids: list[int]) -> dict[int, Owner]:
        """Whose each of these conversations is (those that exist and this owner sees)."""
        found: dict[int, Owner] = {}
        for start in range(0, len(conversation_ids), _CHUNK):
            query = sa.select(_CONVERSATIONS.c.id, *_OWNED_BY).where(
                _CONVERSATIONS.c.id.in_(conversation_ids[start : start + _CHUNK]),
                *self.owner.conversation_clauses(_CONVERSATIONS.c),
            )
            found.update((row[0], Owner(row[1], row[2])) for row in self._work.connection().execute(query))
        return found

    def ids_with_hashes(
        self, hashes: list[str], *, require_conversation: int | None = None
    ) -> dict[str, list[int]]:
        """Ids of the owner's stored messages by content hash, for reusing their vectors (never
        another owner's: how fast a write is must not tell whether somebody else stored a text).
        With `require_conversation`, `NotFoundError` unless the owner has that conversation (the
        same statement answers both: a chat turn's look-up before the model is one query)."""
        wanted = set(hashes)
        found: dict[str, list[int]] = {}
        keys = sorted({content_key(digest) for digest in wanted})
        connection = self._work.connection()
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            rows = self._ids_by_key(connection, chunk, require_conversation if start == 0 else None)
            for digest, message_id in rows:
                if digest in wanted and message_id is not None:  # a key is a prefix: confirm the digest
                    found.setdefault(digest, []).append(message_id)
        return found

    def _ids_by_key(
        self, connection: sa.Connection, keys: list[int], conversation_id: int | None
    ) -> list[tuple[str | None, int | None]]:
        """(hash, id) of the messages with these keys; read from `conversation_id`'s row when given
        (`NotFoundError` when there is none; a row of NULLs when it exists but nothing matched)."""
        if self.owner.restricts:
            rows = [(r[0], r[1]) for r in connection.execute(self._owned_ids_by_key(keys, conversation_id))]
        elif connection.dialect.name == "sqlite":
            template = _IDS_BY_KEY_SQLITE if conversation_id is None else _IDS_BY_KEY_FROM_SQLITE
            values: list[int] = keys if conversation_id is None else [*keys, conversation_id]
            statement = sql(template, marks=placeholders(len(keys)))
            rows = [(r[0], r[1]) for r in driver_execute(connection, statement, values).fetchall()]
        elif conversation_id is None:
            rows = [(r[0], r[1]) for r in connection.execute(_IDS_BY_KEY, {"keys": keys})]
        else:
            parameters = {"keys": keys, "conversation_id": conversation_id}
            rows = [(r[0], r[1]) for r in connection.execute(_IDS_BY_KEY_FROM, parameters)]
        if conversation_id is not None and not rows:
            raise _no_conversation(conversation_id)
        return rows

    def _owned_ids_by_key(self, keys: list[int], conversation_id: int | None) -> sa.Select[Any]:
        """`_ids_by_key`'s statement for an owner: only messages of its conversations match."""
        theirs = _CONVERSATIONS.alias("theirs")
        candidates = _MESSAGES.join(theirs, theirs.c.id == _MESSAGES.c.conversation_id)
        match = sa.and_(_MESSAGES.c.content_key.in_(keys), *self.owner.conversation_clauses(theirs.c))
        query = sa.select(_MESSAGES.c.content_hash, _MESSAGES.c.id).order_by(_MESSAGES.c.id)
        if conversation_id is None:
            return query.select_from(candidates).where(match)
        return query.select_from(_CONVERSATIONS.outerjoin(candidates, match)).where(
            _CONVERSATIONS.c.id == conversation_id, *self.owner.conversation_clauses(_CONVERSATIONS.c)
        )

    def _owns(self, conversation_id: int) -> bool:
        """Whether the conversation exists and is this owner's."""
        found = _EXISTS.first(self._work.connection(), conversation_id=conversation_id, **self.owner.bound())
        return found is not None

    def _owned_ids(self) -> sa.Select[Any]:
        return sa.select(_CONVERSATIONS.c.id).where(*self.owner.conversation_clauses(_CONVERSATIONS.c))

    def messages_after(self, last_id: int, limit: int) -> list[Message]:
        """Up to `limit` messages with ids above `last_id`, in id order (for walking every message)."""
        query = sa.select(Message).where(Message.id > last_id).order_by(Message.id).limit(limit)
        return list(self.session.scalars(query))

    def message_ids(self, conversation_id: int | None = None) -> list[int]:
        """The ids of the owner's messages (of one conversation, with `conversation_id`)."""
        query = sa.select(_MESSAGES.c.id)
        if self.owner.restricts:
            query = query.where(_MESSAGES.c.conversation_id.in_(self._owned_ids()))
        if conversation_id is not None:
            query = query.where(_MESSAGES.c.conversation_id == conversation_id)
        return [int(i) for i in self._work.connection().execute(query.order_by(_MESSAGES.c.id)).scalars()]


def _no_conversation(conversation_id: int) -> NotFoundError:
    return NotFoundError(f"no conversation with id {conversation_id}")
