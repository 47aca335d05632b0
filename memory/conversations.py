"""Conversations and their messages: validation of new messages and the ORM reads and writes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload

from memory.errors import DuplicateError, NotFoundError, ValidationError
from memory.models import Conversation, Message, utcnow
from memory.vectors.validation import check_datetime, check_id, check_role

DEFAULT_MAX_CONTENT_BYTES: Final = 1024 * 1024
_MESSAGE_KEYS: Final = frozenset({"role", "content", "metadata", "created_at"})


@dataclass(frozen=True, slots=True)
class MessageDraft:
    """A validated message, not yet stored."""

    role: str
    content: str
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    @property
    def content_hash(self) -> str:
        return content_hash(self.content)


def content_hash(content: str) -> str:
    """sha256 of the UTF-8 text: identical content is embedded once per space."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def check_content(content: Any, max_bytes: int, what: str = "content") -> str:
    if not isinstance(content, str):
        raise ValidationError(f"{what} must be a str, not {type(content).__name__}")
    try:
        size = len(content.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ValidationError(f"{what} is not valid Unicode text (lone surrogate at {exc.start})") from None
    if size > max_bytes:
        raise ValidationError(f"{what} is {size} bytes, above the limit of {max_bytes} bytes")
    return content


def check_metadata(metadata: Any, max_bytes: int) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ValidationError(f"metadata must be a dict, not {type(metadata).__name__}")
    try:
        encoded = json.dumps(dict(metadata), allow_nan=False, ensure_ascii=False)
        encoded.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise ValidationError(f"metadata must be JSON-serialisable with str keys: {exc}") from None
    if len(encoded) > max_bytes:
        raise ValidationError(f"metadata is above the limit of {max_bytes} bytes")
    result: dict[str, Any] = json.loads(encoded)  # a deep copy, exactly what the database will hold
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
    if not isinstance(raw, Mapping):
        raise ValidationError(f"expected a dict with 'role' and 'content', got {type(raw).__name__}")
    unknown = set(raw) - _MESSAGE_KEYS
    if unknown:
        raise ValidationError(f"unknown keys {sorted(map(str, unknown))}; allowed: {sorted(_MESSAGE_KEYS)}")
    if "role" not in raw or "content" not in raw:
        raise ValidationError("'role' and 'content' are required")
    created_at = raw.get("created_at")
    return MessageDraft(
        role=check_role(raw["role"]),
        content=check_content(raw["content"], max_bytes),
        metadata=check_metadata(raw.get("metadata"), max_bytes),
        created_at=None if created_at is None else check_datetime(created_at, "created_at"),
    )


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
        if source_id is not None and self.find_by_source(source_id) is not None:
            raise DuplicateError(f"a conversation with source id {source_id!r} already exists")
        created_at = created_at or utcnow()
        conversation = Conversation(
            title=title,
            meta=metadata or {},
            source_id=source_id,
            created_at=created_at,
            updated_at=created_at,
        )
        self.session.add(conversation)
        self.session.flush()
        return conversation

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

    def add(
        self, conversation: Conversation, drafts: list[MessageDraft], *, now: datetime | None = None
    ) -> list[Message]:
        """Store messages; those without a time get `now`, which also becomes the conversation's
        `updated_at` (imports pass the time of their last message).

        One multi-row INSERT ... RETURNING rather than the unit of work: bulk imports add thousands of
        messages per call. The returned messages are detached, with every column loaded.
        """
        now = now or utcnow()
        rows = [
            {
                "conversation_id": conversation.id,
                "role": draft.role,
                "content": draft.content,
                "meta": draft.metadata,
                "created_at": draft.created_at or now,
                "content_hash": draft.content_hash,
            }
            for draft in drafts
        ]
        ids = self.session.scalars(
            sa.insert(Message).returning(Message.id, sort_by_parameter_order=True), rows
        ).all()
        conversation.updated_at = now
        self.session.flush()
        messages = []
        for message_id, row in zip(ids, rows, strict=True):
            message = Message(id=message_id, **row)
            make_transient_to_detached(message)
            messages.append(message)
        return messages

    def get_message(self, message_id: int) -> Message:
        message_id = check_id(message_id, "message_id")
        message = self.session.get(Message, message_id)
        if message is None:
            raise NotFoundError(f"no message with id {message_id}")
        return message

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
        found: dict[str, list[int]] = {}
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            rows = self.session.execute(
                sa.select(Message.content_hash, Message.id)
                .where(Message.content_hash.in_(chunk))
                .order_by(Message.id)
            )
            for digest, message_id in rows:
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
