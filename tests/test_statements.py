"""The per-call statements (memory.statements): the same rows as SQLAlchemy's own execution, driver
errors as the package's errors, and identifiers only from the one helper."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import memory
from memory import FakeEmbedder, MemoryManager
from memory.identifiers import Fragment, Identifier, placeholders, sql, vec0_shadow, vector_table_name
from memory.models import Message
from memory.statements import Prepared

pytestmark = pytest.mark.both_backends

_MESSAGES = Message.__table__
_LATEST = Prepared(
    sa.select(*_MESSAGES.c)
    .where(_MESSAGES.c.conversation_id == sa.bindparam("conversation_id"))
    .order_by(_MESSAGES.c.created_at.desc(), _MESSAGES.c.id.desc())
    .limit(sa.bindparam("limit"))
)


def test_prepared_rows_equal_sqlalchemys_own(memory_url: str) -> None:
    times = [
        datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5),  # naive: UTC
        datetime(2026, 1, 2, 5, 4, 6, tzinfo=timezone(timedelta(hours=2))),
    ]
    metadata = [{}, {"a": [1, "b"], "é": None}, {"n": 1.5}]
    with MemoryManager(memory_url, embedder=FakeEmbedder(8)) as manager:
        conversation = manager.create_conversation("rows")
        manager.add_messages(
            conversation.id,
            [
                {"role": "user", "content": f"m{i}", "created_at": when, "metadata": meta}
                for i, (when, meta) in enumerate(zip(times, metadata, strict=True))
            ],
        )
        with manager.engine.connect() as connection:
            ours = _LATEST.rows(connection, conversation_id=conversation.id, limit=10)
            theirs = [
                tuple(row)
                for row in connection.execute(
                    _LATEST.statement, {"conversation_id": conversation.id, "limit": 10}
                )
            ]
    assert ours == theirs
    assert [row[4] for row in ours] == sorted(
        (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC) for t in times
    )[::-1]
    assert all(row[4].tzinfo is not None for row in ours)
    assert {str(row[5]) for row in ours} == {str(m) for m in metadata}


def test_prepared_rowcount_and_fixed_values(memory_url: str) -> None:
    with MemoryManager(memory_url, embedder=FakeEmbedder(8)) as manager:
        conversation = manager.create_conversation("count")
        manager.add_messages(conversation.id, [{"role": "user", "content": f"m{i}"} for i in range(3)])
        one = Prepared(
            sa.select(_MESSAGES.c.content)
            .where(_MESSAGES.c.conversation_id == sa.bindparam("conversation_id"))
            .order_by(_MESSAGES.c.id)
            .limit(1)  # a value fixed in the statement, bound from the statement itself
        )
        rename = Prepared(
            sa.update(_MESSAGES).where(_MESSAGES.c.id == sa.bindparam("i")).values(role=sa.bindparam("r"))
        )
        with manager.engine.begin() as connection:
            assert one.rows(connection, conversation_id=conversation.id) == [("m0",)]
            assert rename.rowcount(connection, i=10**9, r="tool") == 0
            assert rename.rowcount(connection, i=1, r="tool") == 1


def test_a_driver_error_on_the_per_call_path_is_the_packages_error(memory_engine: Engine) -> None:
    # A role the CHECK constraint refuses reaches the database only through plain SQL; the per-call
    # statement must raise it as IntegrityViolationError, and the transaction must be left usable.
    rename = Prepared(
        sa.update(_MESSAGES).where(_MESSAGES.c.id == sa.bindparam("i")).values(role=sa.bindparam("r"))
    )
    with MemoryManager(memory_engine, embedder=FakeEmbedder(8)) as manager:
        conversation = manager.create_conversation("check")
        (message,) = manager.add_messages(conversation.id, [{"role": "user", "content": "x"}])
        with pytest.raises(memory.IntegrityViolationError), manager._core.writing() as unit:
            repository = memory.conversations.ConversationRepository(unit)
            repository.touch(conversation.id, datetime.now(UTC))
            with memory.errors.translate_database_errors("rename"):
                rename.rowcount(unit.connection(), i=message.id, r="wizard")
        assert [m.role for m in manager.get_messages(conversation.id)] == ["user"]


def test_sql_takes_identifiers_fragments_and_ints_only() -> None:
    table = vector_table_name(3)
    assert sql("SELECT {n} FROM {t} WHERE id IN ({m})", t=table, n=7, m=placeholders(2)) == (
        "SELECT 7 FROM message_vectors_3 WHERE id IN (?, ?)"
    )
    assert vec0_shadow(table, "chunks") == Identifier("message_vectors_3_chunks")
    for bad in ("messages; DROP TABLE messages", True, 1.5, b"x"):
        with pytest.raises(TypeError):
            sql("SELECT * FROM {t}", t=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        vec0_shadow(table, "chunks; --")
    with pytest.raises(ValueError):
        placeholders(2, "'")  # type: ignore[arg-type]
    assert isinstance(placeholders(1), Fragment)
