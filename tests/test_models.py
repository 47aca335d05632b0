"""Models: typed columns, UTC timestamps, constraints, and cascades that reach the vec0 tables."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from memory import Conversation, EmbeddingSpace, Message, VectorRepository
from memory.vectors import store_for
from tests.helpers import EPOCH, active_space, add_messages_with_vectors, unit_vectors

pytestmark = pytest.mark.both_backends


def _message(conversation: Conversation, role: str, content: str, created_at: datetime) -> Message:
    return Message(
        conversation=conversation,
        role=role,
        content=content,
        created_at=created_at,
        content_hash=hashlib.sha256(content.encode()).hexdigest(),
    )


def test_messages_come_back_in_chronological_order_with_utc_times(memory_session: Session) -> None:
    conversation = Conversation(title="trip", meta={"source": "test"})
    plus_two = timezone(timedelta(hours=2))
    later = _message(conversation, "assistant", "second", datetime(2026, 3, 1, 12, 0, tzinfo=plus_two))
    earlier = _message(conversation, "user", "first", datetime(2026, 3, 1, 9, 30))  # naive means UTC
    memory_session.add_all([conversation, later, earlier])
    memory_session.flush()
    memory_session.expire_all()

    loaded = memory_session.get(Conversation, conversation.id)
    assert loaded is not None
    assert [m.content for m in loaded.messages] == ["first", "second"]
    assert loaded.messages[1].created_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert loaded.messages[0].created_at.tzinfo is UTC
    assert loaded.created_at.tzinfo is UTC and loaded.updated_at.tzinfo is UTC
    assert loaded.meta == {"source": "test"}
    column = memory_session.execute(sa.text("SELECT metadata FROM conversations")).scalar_one()
    assert "source" in column


def test_role_check_constraint_rejects_unknown_roles(memory_session: Session) -> None:
    conversation = Conversation(title="x")
    memory_session.add(conversation)
    memory_session.flush()
    with pytest.raises(sa_exc.IntegrityError, match=r"CHECK|check constraint"), memory_session.begin_nested():
        memory_session.execute(
            sa.text(
                "INSERT INTO messages (conversation_id, role, content, created_at, metadata, content_hash) "
                "VALUES (:c, 'wizard', 'hi', '2026-01-01 00:00:00', '{}', 'h')"
            ),
            {"c": conversation.id},
        )


def test_message_needs_an_existing_conversation(memory_session: Session) -> None:
    with (
        pytest.raises(sa_exc.IntegrityError, match=r"FOREIGN KEY|foreign key"),
        memory_session.begin_nested(),
    ):
        memory_session.add(
            Message(conversation_id=9999, role="user", content="orphan", created_at=EPOCH, content_hash="h")
        )
        memory_session.flush()


def test_default_space_is_registered_and_active(memory_session: Session) -> None:
    space = active_space(memory_session)
    assert (space.model, space.dimensions, space.metric) == ("all-MiniLM-L6-v2", 384, "cosine")
    assert space.vector_table == "message_vectors_1"


def _second_space(session: Session, dimensions: int) -> EmbeddingSpace:
    space = EmbeddingSpace(model="fake", dimensions=dimensions, metric="cosine", fingerprint="f")
    session.add(space)
    session.flush()
    store_for(session, space).create()
    return space


@pytest.mark.parametrize("how", ["orm", "sql"])
def test_deleting_a_conversation_removes_its_messages_and_their_vectors_in_every_space(
    memory_session: Session, rng: np.random.Generator, how: str
) -> None:
    default = VectorRepository(memory_session, active_space(memory_session))
    other = VectorRepository(memory_session, _second_space(memory_session, 8))
    doomed, kept = Conversation(title="doomed"), Conversation(title="kept")
    memory_session.add_all([doomed, kept])
    doomed_messages = add_messages_with_vectors(memory_session, default, doomed, unit_vectors(rng, 5, 384))
    kept_messages = add_messages_with_vectors(memory_session, default, kept, unit_vectors(rng, 3, 384))
    other.add_many(
        (m.id, v, m.conversation_id, m.role, m.created_at)
        for m, v in zip(doomed_messages + kept_messages, unit_vectors(rng, 8, 8), strict=True)
    )
    assert (default.count(), other.count()) == (8, 8)

    if how == "orm":
        memory_session.delete(doomed)
        memory_session.flush()
    else:
        memory_session.execute(sa.text("DELETE FROM conversations WHERE id = :id"), {"id": doomed.id})

    remaining = memory_session.execute(sa.text("SELECT id FROM messages ORDER BY id")).scalars().all()
    assert remaining == [m.id for m in kept_messages]
    for repository in (default, other):
        assert repository.count() == 3
        assert set(repository.get([m.id for m in doomed_messages + kept_messages])) == set(remaining)


def test_deleting_a_message_removes_its_vector_in_every_space(
    memory_session: Session, rng: np.random.Generator
) -> None:
    default = VectorRepository(memory_session, active_space(memory_session))
    other = VectorRepository(memory_session, _second_space(memory_session, 4))
    conversation = Conversation(title="c")
    memory_session.add(conversation)
    first, second = add_messages_with_vectors(
        memory_session, default, conversation, unit_vectors(rng, 2, 384)
    )
    other.add(first.id, [1, 0, 0, 0], conversation_id=conversation.id, role="user", created_at=EPOCH)
    memory_session.delete(first)
    memory_session.flush()
    assert set(default.get([first.id, second.id])) == {second.id}
    assert other.count() == 0


def test_a_message_made_through_the_orm_gets_its_content_digest_and_lookup_key(
    memory_session: Session,
) -> None:
    from memory.conversations import ConversationRepository
    from memory.digests import content_hash, content_key

    conversation = Conversation(title="orm")
    message = Message(conversation=conversation, role="user", content="the same words", created_at=EPOCH)
    memory_session.add_all([conversation, message])
    memory_session.flush()
    digest = hashlib.sha256(b"the same words").hexdigest()
    assert (message.content_hash, message.content_key) == (digest, content_key(digest))
    assert content_hash("the same words") == digest
    # A row with the same 64-bit key but another digest (a key collision) is not taken for a match.
    collision = Message(
        conversation=conversation,
        role="user",
        content="other words",
        created_at=EPOCH,
        content_key=content_key(digest),
    )
    memory_session.add(collision)
    memory_session.flush()
    found = ConversationRepository(memory_session).ids_with_hashes([digest, content_hash("never stored")])
    assert found == {digest: [message.id]}
