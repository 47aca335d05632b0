"""Small builders shared by the storage tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.orm import Session

from memory import Conversation, EmbeddingSpace, Message, VectorRepository, VectorRow
from memory.lifecycle.health import sqlite_integrity_problems

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def active_space(session: Session) -> EmbeddingSpace:
    return session.query(EmbeddingSpace).filter_by(is_active=True).one()


def unit_vectors(rng: np.random.Generator, n: int, dimensions: int) -> npt.NDArray[np.float32]:
    matrix = rng.standard_normal((n, dimensions)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def add_messages_with_vectors(
    session: Session,
    repository: VectorRepository,
    conversation: Conversation,
    vectors: npt.NDArray[np.float32],
    *,
    roles: tuple[str, ...] = ("user", "assistant"),
    start: datetime = EPOCH,
) -> list[Message]:
    messages = []
    for index in range(len(vectors)):
        content = f"message {index} of {conversation.title}"
        messages.append(
            Message(
                conversation=conversation,
                role=roles[index % len(roles)],
                content=content,
                created_at=start + timedelta(minutes=index),
                content_hash=hashlib.sha256(content.encode()).hexdigest(),
            )
        )
    session.add_all(messages)
    session.flush()
    repository.add_many(
        VectorRow(m.id, vector, m.conversation_id, m.role, m.created_at)
        for m, vector in zip(messages, vectors, strict=True)
    )
    return messages


def schema_objects(engine: sa.Engine) -> list[str]:
    """Every table and index of the schema (and, on SQLite, every trigger), sorted; on SQLite this
    includes vec0's shadow tables."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            names = connection.exec_driver_sql("SELECT name FROM sqlite_master").scalars().all()
    else:
        inspector = sa.inspect(engine)
        names = []
        for table in inspector.get_table_names():
            names += [table, *(str(index["name"]) for index in inspector.get_indexes(table))]
    return sorted(
        n
        for n in names
        if not n.startswith("sqlite_") and n not in ("alembic_version", "memory_alembic_version")
    )


def integrity_ok(engine: sa.Engine) -> bool:
    """SQLite's own integrity check, and FTS5's check of the full-text index against the messages
    (where the schema has one), as `memory db check` runs them; PostgreSQL keeps no such single
    verdict, so it passes there."""
    return engine.dialect.name != "sqlite" or not sqlite_integrity_problems(engine)
