"""Declarative models: conversations, their messages, and the registry of embedding spaces."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    false,
    text,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from memory.digests import content_hash, content_key
from memory.identifiers import in_list, vector_table_name

#: Message roles. "developer" is OpenAI's current name for the system role, stored as given; it comes
#: last so the in-memory index's role codes (their positions here) stay as they were.
ROLES: Final = ("system", "user", "assistant", "tool", "developer")
METRICS: Final = ("cosine",)

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    Naive datetimes are taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        # SQLite has no time zones: store naive UTC so string comparison orders correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        # SQLite hands back the text this type stored ("2026-01-02 03:04:05.000006", naive UTC);
        # one parse makes it aware (SQLAlchemy's own path, a regular expression and then
        # process_result_value, took 4 us a row: a chat turn's context reads twenty).
        return _aware_utc_from_text


def _aware_utc_from_text(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index(None, "user_id", "updated_at"),
        Index(None, "agent_id"),
        # A source id is unique among the conversations of one user and agent (none counts as one).
        Index(
            "uq_conversations_owner_source",
            text("coalesce(user_id, '')"),
            text("coalesce(agent_id, '')"),
            "source_id",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None] = mapped_column(Text)
    #: The conversation's id in the file it was imported from; re-imports skip it.
    source_id: Mapped[str | None] = mapped_column(String(255))
    #: Whose memory it is: a user, and an agent of theirs (both optional; see `memory.owners`).
    user_id: Mapped[str | None] = mapped_column(String(255))
    agent_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    #: How much of it the database holds (`memory.lifecycle.retention.TIERS`): "full" (every
    #: message), "key_points", "summary" or "metadata"; below full, its messages are in its archive.
    tier: Mapped[str] = mapped_column(String(16), server_default="full")
    #: A pinned conversation stays in full, whatever its age.
    pinned: Mapped[bool] = mapped_column(server_default=false())
    #: Set when it left full: a brief summary, and its topics (its title and its most used words).
    summary: Mapped[str | None] = mapped_column(Text)
    topics: Mapped[str | None] = mapped_column(Text)
    #: Its importance score (`RetentionPolicy.importance`) when its messages were archived.
    importance: Mapped[float | None] = mapped_column(Float)
    #: The checksum of the archive file holding its messages, and when it was written (None in full).
    archive_checksum: Mapped[str | None] = mapped_column(String(80))
    archived_at: Mapped[datetime | None] = mapped_column()

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by=lambda: (Message.created_at, Message.id),
    )

    def __repr__(self) -> str:
        return f"Conversation(id={self.id!r}, title={self.title!r})"


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(in_list("role", ROLES), name="role"),
        Index(None, "conversation_id", "created_at"),
        Index(None, "content_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    #: sha256 of the content (hex); filled in from `content` when not given.
    content_hash: Mapped[str] = mapped_column(String(64), default=lambda c: _digest_of(c))
    #: The indexed 32-bit prefix of the content's sha256, for finding identical content.
    content_key: Mapped[int] = mapped_column(Integer, default=lambda c: content_key(_digest_of(c)))

    conversation: Mapped[Conversation] = relationship(back_populates="messages")

    def __repr__(self) -> str:
        return f"Message(id={self.id!r}, conversation_id={self.conversation_id!r}, role={self.role!r})"


def _digest_of(context: DefaultExecutionContext) -> str:
    parameters: dict[str, Any] = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return content_hash(parameters["content"])


class EmbeddingSpace(Base):
    """One embedding model version; its vectors live in the table named by `vector_table`."""

    __tablename__ = "embedding_spaces"
    __table_args__ = (
        CheckConstraint("dimensions > 0", name="dimensions_positive"),
        CheckConstraint(in_list("metric", METRICS), name="metric"),
        # At most one active space.
        Index(
            "uq_embedding_spaces_active",
            "is_active",
            unique=True,
            sqlite_where=text("is_active"),
            postgresql_where=text("is_active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(512))
    dimensions: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(16), default="cosine")
    fingerprint: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_active: Mapped[bool] = mapped_column(default=False, server_default=false())

    @property
    def vector_table(self) -> str:
        return vector_table_name(self.id)

    def __repr__(self) -> str:
        return (
            f"EmbeddingSpace(id={self.id!r}, model={self.model!r}, dimensions={self.dimensions!r}, "
            f"active={self.is_active!r})"
        )


class VectorChange(Base):
    """Append-only log of vector writes per space: in-memory indexes replay it to stay in step with
    every connection and process. `op` is "a" (added) or "d" (deleted); an entry covers the
    `run_length` consecutive message ids from `message_id` (bulk loads log one entry per run)."""

    __tablename__ = "vector_changes"
    __table_args__ = (Index(None, "space_id", "seq"), {"sqlite_autoincrement": True})

    seq: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(1))
    run_length: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
