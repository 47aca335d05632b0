"""VectorRepository: validation before writing, transactional with the ORM, exact KNN results."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import numpy.typing as npt
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import memory
from memory import Conversation, Message, VectorRepository, VectorRow
from tests.helpers import EPOCH, active_space, add_messages_with_vectors, unit_vectors

pytestmark = pytest.mark.both_backends

DIMS = 384


def _numpy_top_k(
    matrix: npt.NDArray[np.float32], ids: list[int], query: npt.NDArray[np.float32], k: int
) -> tuple[list[int], npt.NDArray[np.float64], dict[int, float]]:
    """Exact cosine top-k in float64: ids, their distances, and every id's distance."""
    normed = matrix.astype(np.float64) / np.linalg.norm(matrix, axis=1, keepdims=True)
    distances = 1.0 - normed @ (query.astype(np.float64) / np.linalg.norm(query))
    order = np.argsort(distances, kind="stable")[:k]
    return [ids[i] for i in order], distances[order], dict(zip(ids, distances.tolist(), strict=True))


def _assert_same_neighbours(
    hits: list[tuple[int, float]],
    expected: tuple[list[int], npt.NDArray[np.float64], dict[int, float]],
) -> None:
    """Same ids in the same order, except where two candidates tie within float32 rounding."""
    expected_ids, expected_distances, distance_of = expected
    assert len(hits) == len(expected_ids)
    np.testing.assert_allclose([d for _, d in hits], expected_distances, atol=1e-5)
    for rank, ((message_id, _), expected_id) in enumerate(zip(hits, expected_ids, strict=True)):
        if message_id != expected_id:
            assert abs(distance_of[message_id] - expected_distances[rank]) < 1e-6, (
                rank,
                message_id,
                expected_id,
            )
    assert len({message_id for message_id, _ in hits}) == len(hits)


def _counts(session: Session, repository: VectorRepository) -> tuple[int, int]:
    return session.execute(sa.text("SELECT count(*) FROM messages")).scalar_one(), repository.count()


def test_orm_insert_and_vector_insert_roll_back_together(
    memory_engine: Engine, rng: np.random.Generator
) -> None:
    factory = memory.session_factory(memory_engine)
    with factory() as session:
        repository = VectorRepository(session, active_space(session))
        conversation = Conversation(title="rolled back")
        session.add(conversation)
        add_messages_with_vectors(session, repository, conversation, unit_vectors(rng, 3, DIMS))
        assert _counts(session, repository) == (3, 3)
        session.rollback()
    with factory() as session:
        repository = VectorRepository(session, active_space(session))
        assert _counts(session, repository) == (0, 0)
        assert session.query(Conversation).count() == 0


def test_savepoint_rollback_undoes_message_and_vector_but_keeps_the_rest(
    memory_engine: Engine, rng: np.random.Generator
) -> None:
    factory = memory.session_factory(memory_engine)
    with factory() as session:
        repository = VectorRepository(session, active_space(session))
        conversation = Conversation(title="outer")
        session.add(conversation)
        add_messages_with_vectors(session, repository, conversation, unit_vectors(rng, 2, DIMS))
        nested = session.begin_nested()
        add_messages_with_vectors(session, repository, conversation, unit_vectors(rng, 4, DIMS))
        assert _counts(session, repository) == (6, 6)
        nested.rollback()
        assert _counts(session, repository) == (2, 2)
        session.commit()
    with factory() as session:
        assert _counts(session, VectorRepository(session, active_space(session))) == (2, 2)


def _one_message(session: Session) -> Message:
    conversation = Conversation(title="bad input")
    message = Message(
        conversation=conversation, role="user", content="hi", created_at=EPOCH, content_hash="h"
    )
    session.add_all([conversation, message])
    session.flush()
    return message


GOOD = [0.1] * DIMS
BAD_VECTORS = {
    "nan": [float("nan")] + [0.1] * (DIMS - 1),
    "inf": [float("inf")] + [0.1] * (DIMS - 1),
    "overflows float32": [1e39] + [0.1] * (DIMS - 1),
    "too short": [0.1] * (DIMS - 1),
    "too long": [0.1] * (DIMS + 1),
    "empty": [],
    "string": "0.1, 0.2",
    "strings": ["0.1"] * DIMS,
    "none values": [None] * DIMS,
    "booleans": [True] * DIMS,
    "matrix for one vector": [GOOD, GOOD],
    "ragged": [[0.1, 0.2], [0.3]],
    "scalar": 0.5,
}


@pytest.mark.parametrize("bad", BAD_VECTORS.values(), ids=BAD_VECTORS.keys())
def test_bad_vectors_raise_typed_errors_and_write_nothing(memory_session: Session, bad: object) -> None:
    repository = VectorRepository(memory_session, active_space(memory_session))
    message = _one_message(memory_session)
    with pytest.raises(memory.ValidationError):
        repository.add(
            message.id, bad, conversation_id=message.conversation_id, role="user", created_at=EPOCH
        )
    assert repository.count() == 0


def test_wrong_dimension_is_a_dimension_mismatch(memory_session: Session) -> None:
    repository = VectorRepository(memory_session, active_space(memory_session))
    message = _one_message(memory_session)
    with pytest.raises(memory.DimensionMismatchError, match="384"):
        repository.add(message.id, np.ones(128), conversation_id=1, role="user", created_at=EPOCH)
    with pytest.raises(memory.DimensionMismatchError):
        repository.search(np.ones(128))


@pytest.mark.parametrize(
    "batch",
    [
        [],
        "rows",
        [(1, GOOD, 1, "user")],
        [(1, GOOD, 1, "user", EPOCH), (2, BAD_VECTORS["nan"], 1, "user", EPOCH)],
        [(1, GOOD, 1, "user", EPOCH), (2, GOOD, 1, "wizard", EPOCH)],
        [(1, GOOD, 1, "user", EPOCH), (1, GOOD, 1, "user", EPOCH)],
        [(1, GOOD, 1, "user", "yesterday")],
        [("1", GOOD, 1, "user", EPOCH)],
    ],
    ids=["empty", "string", "short row", "nan row", "bad role", "duplicate id", "bad time", "str id"],
)
def test_a_bad_row_writes_nothing_of_its_batch(memory_session: Session, batch: object) -> None:
    repository = VectorRepository(memory_session, active_space(memory_session))
    _one_message(memory_session)
    with pytest.raises(memory.ValidationError):
        repository.add_many(batch)  # type: ignore[arg-type]
    assert repository.count() == 0


@pytest.mark.parametrize("k", [0, -1, 4097, 2.5, "10", True, None])
def test_k_outside_1_to_4096_is_rejected(memory_session: Session, k: object) -> None:
    repository = VectorRepository(memory_session, active_space(memory_session))
    with pytest.raises(memory.ValidationError, match="k must be"):
        repository.search(GOOD, k=k)  # type: ignore[arg-type]


def test_a_second_vector_for_a_message_is_a_typed_integrity_error(memory_session: Session) -> None:
    repository = VectorRepository(memory_session, active_space(memory_session))
    message = _one_message(memory_session)
    repository.add(message.id, GOOD, conversation_id=message.conversation_id, role="user", created_at=EPOCH)
    with pytest.raises(memory.IntegrityViolationError), memory_session.begin_nested():
        repository.add(
            message.id, GOOD, conversation_id=message.conversation_id, role="user", created_at=EPOCH
        )
    assert repository.count() == 1


@pytest.fixture
def corpus(
    memory_session: Session, rng: np.random.Generator
) -> tuple[VectorRepository, list[Message], npt.NDArray[np.float32]]:
    """5,000 random vectors in 10 conversations of 500 messages, alternating user/assistant."""
    repository = VectorRepository(memory_session, active_space(memory_session))
    conversations = [Conversation(title=f"c{i}") for i in range(10)]
    memory_session.add_all(conversations)
    vectors = unit_vectors(rng, 5000, DIMS)
    messages: list[Message] = []
    for i, conversation in enumerate(conversations):
        messages += add_messages_with_vectors(
            memory_session, repository, conversation, vectors[i * 500 : (i + 1) * 500]
        )
    return repository, messages, vectors


@pytest.mark.parametrize("k", [1, 10, 100])
def test_search_matches_numpy_exact_top_k(
    corpus: tuple[VectorRepository, list[Message], npt.NDArray[np.float32]],
    rng: np.random.Generator,
    k: int,
) -> None:
    repository, messages, vectors = corpus
    ids = [m.id for m in messages]
    for query in unit_vectors(rng, 5, DIMS):
        _assert_same_neighbours(repository.search(query, k=k), _numpy_top_k(vectors, ids, query, k))


def test_filtered_search_matches_numpy_on_the_same_subset(
    corpus: tuple[VectorRepository, list[Message], npt.NDArray[np.float32]],
    rng: np.random.Generator,
) -> None:
    repository, messages, vectors = corpus
    conversation_id = messages[1234].conversation_id
    since, until = EPOCH + timedelta(minutes=100), EPOCH + timedelta(minutes=300)
    cases = [
        ({"conversation_id": conversation_id}, lambda m: m.conversation_id == conversation_id),
        ({"roles": ["assistant"]}, lambda m: m.role == "assistant"),
        (
            {"roles": "user", "conversation_id": conversation_id},
            lambda m: m.role == "user" and m.conversation_id == conversation_id,
        ),
        ({"since": since}, lambda m: m.created_at >= since),
        (
            {"since": since, "until": until, "conversation_id": conversation_id},
            lambda m: since <= m.created_at < until and m.conversation_id == conversation_id,
        ),
    ]
    query = unit_vectors(rng, 1, DIMS)[0]
    for filters, keep in cases:
        chosen = [i for i, m in enumerate(messages) if keep(m)]
        assert 0 < len(chosen) < len(messages)
        expected = _numpy_top_k(vectors[chosen], [messages[i].id for i in chosen], query, 20)
        _assert_same_neighbours(repository.search(query, k=20, **filters), expected)  # type: ignore[arg-type]


def test_search_accepts_lists_and_other_float_dtypes(
    corpus: tuple[VectorRepository, list[Message], npt.NDArray[np.float32]],
) -> None:
    repository, messages, vectors = corpus
    target = vectors[42]
    for query in (target.tolist(), target.astype(np.float64), target.astype(np.float16)):
        assert repository.search(query, k=1)[0][0] == messages[42].id


def test_delete_and_get(
    corpus: tuple[VectorRepository, list[Message], npt.NDArray[np.float32]],
) -> None:
    repository, messages, vectors = corpus
    doomed = [m.id for m in messages[:700]]
    assert repository.delete(doomed) == 700
    assert repository.delete(doomed) == 0
    assert repository.count() == 4300
    assert repository.get(doomed[:5]) == {}
    stored = repository.get([messages[800].id])
    np.testing.assert_array_equal(stored[messages[800].id], vectors[800])
    hits = repository.search(vectors[3], k=50)
    assert not set(doomed) & {message_id for message_id, _ in hits}
    assert repository.delete([]) == 0
    with pytest.raises(memory.ValidationError):
        repository.delete(["1; DROP TABLE messages"])  # type: ignore[list-item]


@pytest.mark.parametrize("count", [1, 32, 33, 700])
def test_get_returns_exactly_the_stored_vectors_of_existing_ids(
    corpus: tuple[VectorRepository, list[Message], npt.NDArray[np.float32]],
    rng: np.random.Generator,
    count: int,
) -> None:
    # Few ids are read by primary key, many from the chunks: both give the same answer.
    repository, messages, vectors = corpus
    positions = rng.choice(len(messages), size=count, replace=False).tolist()
    missing = max(m.id for m in messages) + 1
    wanted = [messages[i].id for i in positions] + [missing]
    stored = repository.get(wanted)
    assert set(stored) == {messages[i].id for i in positions}
    for i in positions:
        np.testing.assert_array_equal(stored[messages[i].id], vectors[i])


def test_vector_rows_accept_numpy_ids(memory_session: Session) -> None:
    repository = VectorRepository(memory_session, active_space(memory_session))
    message = _one_message(memory_session)
    written = repository.add_many(
        [VectorRow(np.int64(message.id), np.array(GOOD), np.int32(message.conversation_id), "user", EPOCH)]
    )
    assert written == 1
    assert repository.search(GOOD, k=1)[0][0] == message.id
