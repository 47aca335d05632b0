"""MemoryManager with the deterministic fake embedder: storage, search, errors, threads, persistence."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

import memory
from memory import Conversation, FakeEmbedder, MemoryManager, Message
from memory.vectors.pgvector import PgVectorStore
from memory.vectors.sqlite import SqliteVecStore

pytestmark = pytest.mark.both_backends

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _table_counts(manager: MemoryManager) -> tuple[int, int, int]:
    stats = manager.stats()
    return stats["conversations"], stats["messages"], stats["vectors"][stats["active_space"]]


def test_add_and_read_back_a_conversation(memory_manager: MemoryManager) -> None:
    conversation = memory_manager.create_conversation("Trip to Turin", metadata={"lang": "en"})
    first = memory_manager.add_message(
        conversation.id, "user", "Which train goes from Lyon to Turin?", created_at=T0
    )
    second = memory_manager.add_message(
        conversation.id,
        "assistant",
        "The TGV from Part-Dieu.",
        metadata={"model": "x"},
        created_at=T0 + timedelta(1),
    )
    loaded = memory_manager.get_conversation(conversation.id)
    assert loaded.title == "Trip to Turin" and loaded.meta == {"lang": "en"}
    assert [m.id for m in loaded.messages] == [first.id, second.id]
    assert second.meta == {"model": "x"} and second.created_at == T0 + timedelta(1)
    assert [m.content for m in memory_manager.get_messages(conversation.id)] == [
        first.content,
        second.content,
    ]
    assert [m.id for m in memory_manager.get_messages(conversation.id, limit=1)] == [second.id]
    assert _table_counts(memory_manager) == (1, 2, 2)


def test_adding_a_message_updates_the_conversation(memory_manager: MemoryManager) -> None:
    older = memory_manager.create_conversation("older")
    newer = memory_manager.create_conversation("newer")
    assert [c.id for c in memory_manager.list_conversations()] == [newer.id, older.id]
    before = memory_manager.get_conversation(older.id).updated_at
    memory_manager.add_message(older.id, "user", "bump")
    assert memory_manager.get_conversation(older.id).updated_at > before
    assert [c.id for c in memory_manager.list_conversations()] == [older.id, newer.id]
    assert [c.id for c in memory_manager.list_conversations(limit=1, offset=1)] == [newer.id]


def test_add_messages_is_all_or_nothing(memory_manager: MemoryManager) -> None:
    conversation = memory_manager.create_conversation("batch")
    good = {"role": "user", "content": "fine"}
    for bad in (
        {"role": "wizard", "content": "x"},
        {"role": "user"},
        {"role": "user", "content": 42},
        {"role": "user", "content": "x", "created_at": "yesterday"},
        {"role": "user", "content": "x", "extra": 1},
        {"role": "user", "content": "x", "metadata": {"nan": float("nan")}},
        "not a dict",
    ):
        with pytest.raises(memory.ValidationError, match="message 1"):
            memory_manager.add_messages(conversation.id, [good, bad, good])  # type: ignore[list-item]
    assert _table_counts(memory_manager) == (1, 0, 0)


def test_a_failing_vector_write_rolls_back_the_messages(
    memory_manager: MemoryManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = memory_manager.create_conversation("atomic")

    def broken_add_many(self: SqliteVecStore, *args: object) -> None:
        raise memory.DatabaseError("disk on fire")

    for store in (SqliteVecStore, PgVectorStore):  # the batch path and a chat turn's
        monkeypatch.setattr(store, "insert", broken_add_many)
        monkeypatch.setattr(store, "insert_one", broken_add_many)
    with pytest.raises(memory.DatabaseError):
        memory_manager.add_messages(conversation.id, [{"role": "user", "content": "lost"}])
    with pytest.raises(memory.DatabaseError):
        memory_manager.add_messages(
            conversation.id, [{"role": "user", "content": f"lost {i}"} for i in range(3)]
        )
    monkeypatch.undo()
    assert _table_counts(memory_manager) == (1, 0, 0)


def test_identical_content_is_embedded_once_but_gets_its_own_vector(
    memory_manager: MemoryManager, fake_embedder: FakeEmbedder
) -> None:
    conversation = memory_manager.create_conversation("dedup")
    texts = ["same words", "same words", "different words"]
    memory_manager.add_messages(conversation.id, [{"role": "user", "content": t} for t in texts])
    assert fake_embedder.texts_embedded == 2
    memory_manager.add_message(conversation.id, "assistant", "same words")
    assert fake_embedder.texts_embedded == 2
    assert _table_counts(memory_manager) == (1, 4, 4)
    hits = memory_manager.search("same words", k=4)
    assert len([h for h in hits if h.distance < 1e-6]) == 3


def test_bulk_written_times_compare_equal_to_the_same_time_in_a_query(memory_manager: MemoryManager) -> None:
    """Times go in as SQLAlchemy writes and compares them (on SQLite: text with microseconds), so a
    bound like `until` treats a stored time exactly at it as equal, whichever path wrote it."""
    at = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
    conversation = memory_manager.create_conversation("times", created_at=at)
    bulk = memory_manager.add_messages(
        conversation.id, [{"role": "user", "content": f"m{i}", "created_at": at} for i in range(3)]
    )
    single = memory_manager.add_message(conversation.id, "user", "one", created_at=at)
    with memory.session_factory(memory_manager.engine)() as session:
        stored = session.scalars(sa.select(Message.id).where(Message.created_at == at)).all()
        earlier = session.scalars(sa.select(Message.id).where(Message.created_at < at)).all()
        touched = session.scalars(sa.select(Conversation.id).where(Conversation.created_at == at)).all()
    assert sorted(stored) == sorted([*(m.id for m in bulk), single.id]) and earlier == []
    assert touched == [conversation.id]


def test_search_finds_by_content_with_filters(memory_manager: MemoryManager) -> None:
    pets = memory_manager.create_conversation("pets")
    cars = memory_manager.create_conversation("cars")
    memory_manager.add_messages(
        pets.id,
        [
            {"role": "user", "content": "my cat scratches the sofa", "created_at": T0},
            {
                "role": "assistant",
                "content": "give the cat a scratching post",
                "created_at": T0 + timedelta(hours=1),
            },
        ],
    )
    memory_manager.add_messages(
        cars.id,
        [
            {"role": "user", "content": "the car brakes squeal", "created_at": T0},
            {"role": "assistant", "content": "the cat sat on the car", "created_at": T0 + timedelta(hours=2)},
        ],
    )
    hits = memory_manager.search("cat scratching sofa", k=2)
    assert [h.message.content for h in hits] == [
        "my cat scratches the sofa",
        "give the cat a scratching post",
    ]
    assert all(abs(h.score - (1 - h.distance)) < 1e-12 for h in hits)
    assert hits[0].distance <= hits[1].distance
    scoped = memory_manager.search("cat", k=5, conversation_id=cars.id)
    assert {h.message.conversation_id for h in scoped} == {cars.id}
    assert [h.message.role for h in memory_manager.search("cat", k=5, roles=["assistant"])] == [
        "assistant"
    ] * 2
    late = memory_manager.search("cat", k=5, since=T0 + timedelta(minutes=30), until=T0 + timedelta(hours=2))
    assert [h.message.content for h in late] == ["give the cat a scratching post"]
    by_vector = memory_manager.search(memory_manager.embedder.embed(["the car brakes squeal"])[0], k=1)
    assert by_vector[0].message.content == "the car brakes squeal"


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda m: m.get_conversation(999), memory.NotFoundError),
        (lambda m: m.get_messages(999), memory.NotFoundError),
        (lambda m: m.delete_conversation(999), memory.NotFoundError),
        (lambda m: m.delete_message(999), memory.NotFoundError),
        (lambda m: m.add_message(999, "user", "hi"), memory.NotFoundError),
        (lambda m: m.add_message("1", "user", "hi"), memory.ValidationError),
        (lambda m: m.search("x", k=0), memory.ValidationError),
        (lambda m: m.search("x", k=4097), memory.ValidationError),
        (lambda m: m.search("x", roles=["root"]), memory.ValidationError),
        (lambda m: m.search("x", roles=["Developer"]), memory.ValidationError),
        (lambda m: m.add_message(1, "root", "hi"), memory.ValidationError),
        (
            lambda m: m.add_messages(
                1, [{"role": "developer", "content": "fine"}, {"role": "wizard", "content": "no"}]
            ),
            memory.ValidationError,
        ),
        (lambda m: m.search([0.1] * 3), memory.DimensionMismatchError),
        (lambda m: m.search(b"bytes"), memory.ValidationError),
        (lambda m: m.search("x", since="2026"), memory.ValidationError),
        (lambda m: m.create_conversation(title=5), memory.ValidationError),
        (lambda m: m.create_conversation(metadata={"x": object()}), memory.ValidationError),
        (lambda m: m.drop_space(1), memory.ValidationError),
        (lambda m: m.drop_space(42), memory.NotFoundError),
    ],
)
def test_bad_calls_raise_typed_errors_and_change_nothing(memory_manager: MemoryManager, call, error) -> None:
    conversation = memory_manager.create_conversation("keep")
    memory_manager.add_message(conversation.id, "user", "kept")
    before = memory_manager.stats()
    with pytest.raises(error):
        call(memory_manager)
    assert memory_manager.stats() == before


def test_developer_is_a_role_of_its_own(memory_manager: MemoryManager) -> None:
    """OpenAI's current name for the system role is stored as given, read back and filtered on."""
    conversation = memory_manager.create_conversation("roles")
    developer = memory_manager.add_message(conversation.id, "developer", "answer in Portuguese")
    system, _ = memory_manager.add_messages(
        conversation.id,
        [{"role": "system", "content": "answer in Portuguese please"}, {"role": "user", "content": "ola"}],
    )
    assert [m.role for m in memory_manager.get_messages(conversation.id)] == ["developer", "system", "user"]
    with memory_manager.engine.connect() as connection:
        stored = connection.execute(sa.select(Message.role).where(Message.id == developer.id)).scalar_one()
    assert stored == "developer"
    for mode in ("text", "vector", "hybrid"):
        hits = memory_manager.search("answer in Portuguese", k=5, mode=mode, roles=["developer"])
        assert [h.message.id for h in hits] == [developer.id], mode
        hits = memory_manager.search("answer in Portuguese", k=5, mode=mode, roles=["system", "developer"])
        assert {h.message.id for h in hits} == {developer.id, system.id}, mode


def test_deletes_remove_messages_and_vectors(memory_manager: MemoryManager) -> None:
    doomed = memory_manager.create_conversation("doomed")
    kept = memory_manager.create_conversation("kept")
    gone = memory_manager.add_message(doomed.id, "user", "secret plan")
    memory_manager.add_message(doomed.id, "assistant", "secret reply")
    stay = memory_manager.add_message(kept.id, "user", "public plan")
    single = memory_manager.add_message(kept.id, "user", "delete only me")
    memory_manager.delete_message(single.id)
    memory_manager.delete_conversation(doomed.id)
    assert _table_counts(memory_manager) == (1, 1, 1)
    assert [h.message.id for h in memory_manager.search("secret plan", k=10)] == [stay.id]
    with pytest.raises(memory.NotFoundError):
        memory_manager.get_conversation(gone.conversation_id)


def test_search_hits_stay_usable_after_the_call(memory_manager: MemoryManager) -> None:
    conversation = memory_manager.create_conversation("c")
    memory_manager.add_message(conversation.id, "user", "remember the milk", metadata={"k": "v"})
    (hit,) = memory_manager.search("milk", k=1)
    assert (hit.message.content, hit.message.role, hit.message.meta) == (
        "remember the milk",
        "user",
        {"k": "v"},
    )
    assert hit.message.created_at.tzinfo is UTC


def test_one_manager_shared_by_eight_threads(memory_manager: MemoryManager) -> None:
    conversations = [memory_manager.create_conversation(f"thread {i}") for i in range(8)]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for n in range(10):
                memory_manager.add_message(conversations[index].id, "user", f"thread {index} note {n}")
                memory_manager.search(f"note {n}", k=3)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _table_counts(memory_manager) == (8, 80, 80)


def test_a_second_process_sees_everything(memory_manager: MemoryManager, memory_url: str) -> None:
    conversation = memory_manager.create_conversation("shared", metadata={"n": 1})
    memory_manager.add_messages(
        conversation.id, [{"role": "user", "content": f"fact number {i}"} for i in range(25)]
    )
    script = (
        "import sys, json, memory\n"
        "m = memory.MemoryManager(sys.argv[1], embedder=memory.FakeEmbedder(384), migrate=False)\n"
        "hits = m.search('fact number 7', k=1)\n"
        "print(json.dumps({**{k: v for k, v in m.stats().items() if k in ('conversations', 'messages')},\n"
        "  'vectors': list(m.stats()['vectors'].values()), 'hit': hits[0].message.content,\n"
        "  'title': m.get_conversation(int(sys.argv[2])).title}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, memory_url, str(conversation.id)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    import json

    assert json.loads(result.stdout) == {
        "conversations": 1,
        "messages": 25,
        "vectors": [25],
        "hit": "fact number 7",
        "title": "shared",
    }


def test_an_empty_store_adopts_the_embedder_it_is_opened_with(memory_url: str) -> None:
    with MemoryManager(memory_url, embedder=FakeEmbedder(64)) as manager:
        (space,) = manager.spaces()
        assert (space.model, space.dimensions, space.active) == ("fake:64", 64, True)
        manager.add_message(manager.create_conversation().id, "user", "hello")
    with MemoryManager(memory_url, embedder=FakeEmbedder(64)) as manager:
        assert manager.search("hello", k=1)[0].message.content == "hello"


def test_a_store_with_vectors_of_another_model_raises_embedding_space_error(memory_url: str) -> None:
    with MemoryManager(memory_url, embedder=FakeEmbedder(64)) as manager:
        manager.add_message(manager.create_conversation().id, "user", "hello")
    for other in (FakeEmbedder(32), FakeEmbedder(64, name="another-model")):
        with pytest.raises(memory.EmbeddingSpaceError, match="fake:64") as caught:
            MemoryManager(memory_url, embedder=other)
        assert other.name in str(caught.value) and "reindex" in str(caught.value)


def test_migrate_false_on_an_unmigrated_database_raises_schema_error(memory_url: str) -> None:
    with pytest.raises(memory.SchemaError, match="memory db upgrade"):
        MemoryManager(memory_url, embedder=FakeEmbedder(8), migrate=False)
    engine = memory.create_engine(memory_url)
    tables = sa.inspect(engine).get_table_names()
    engine.dispose()
    assert "messages" not in tables


def test_embedder_output_is_validated(memory_url: str) -> None:
    class Broken(FakeEmbedder):
        def embed(self, texts):  # type: ignore[no-untyped-def]
            return np.full((len(texts), self.dimensions), np.nan, dtype=np.float32)

    with MemoryManager(memory_url, embedder=Broken(8)) as manager:
        conversation = manager.create_conversation()
        with pytest.raises(memory.EmbedderError, match="NaN"):
            manager.add_message(conversation.id, "user", "x")
        assert manager.stats()["messages"] == 0


def test_content_above_the_size_limit_is_rejected(memory_url: str) -> None:
    with MemoryManager(memory_url, embedder=FakeEmbedder(8), max_content_bytes=100) as manager:
        conversation = manager.create_conversation()
        manager.add_message(conversation.id, "user", "é" * 50)  # 100 bytes: at the limit
        with pytest.raises(memory.ValidationError, match="limit"):
            manager.add_message(conversation.id, "user", "é" * 51)
        with pytest.raises(memory.ValidationError, match="surrogate"):
            manager.add_message(conversation.id, "user", "bad \udc80 text")
        assert manager.stats()["messages"] == 1


def test_content_is_returned_byte_for_byte(memory_manager: MemoryManager) -> None:
    conversation = memory_manager.create_conversation("'; DROP TABLE messages; --")
    tricky = [
        "",
        " ",
        "\x01\x7f control characters",
        "emoji 🧠 and RTL \u202e text",
        "'; DROP TABLE messages; --",
        "a\r\nb\tc",
    ]
    stored = memory_manager.add_messages(conversation.id, [{"role": "user", "content": t} for t in tricky])
    assert [m.content for m in memory_manager.get_messages(conversation.id)] == tricky
    assert [m.id for m in stored] == [m.id for m in memory_manager.get_messages(conversation.id)]
    assert memory_manager.get_conversation(conversation.id).title == "'; DROP TABLE messages; --"


def test_manager_accepts_an_engine_and_leaves_it_open(memory_engine: sa.Engine) -> None:
    with MemoryManager(memory_engine, embedder=FakeEmbedder(16)) as manager:
        manager.create_conversation("via engine")
    with memory_engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM conversations")).scalar_one() == 1


@pytest.mark.sqlite_only
def test_database_file_is_created_private(memory_manager: MemoryManager, memory_url: str) -> None:
    path = Path(memory_url.removeprefix("sqlite:///"))
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.sqlite_only
def test_a_lock_held_past_the_busy_timeout_is_a_typed_error(
    memory_manager: MemoryManager, memory_url: str
) -> None:
    impatient = memory.create_engine(memory_url, busy_timeout_ms=100)
    holder = memory.create_engine(memory_url)
    conversation = memory_manager.create_conversation("locked")
    manager = MemoryManager(impatient, embedder=FakeEmbedder(384), migrate=False)
    with memory.session_factory(holder, write=True)() as blocking:
        blocking.connection()  # BEGIN IMMEDIATE: holds the write lock
        with pytest.raises(memory.DatabaseBusyError, match="busy timeout"):
            manager.add_message(conversation.id, "user", "waits 100 ms, then gives up")
        assert manager.search("anything", k=1) == []  # readers are not blocked by the writer
    assert memory_manager.stats()["messages"] == 0
    impatient.dispose()
    holder.dispose()


def test_add_conversations_in_one_transaction_with_given_vectors(memory_manager: MemoryManager) -> None:
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((3, 384)).astype(np.float32)
    created = memory_manager.add_conversations(
        [
            {
                "title": "given",
                "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
                "vectors": vectors[:2],
            },
            {"title": "embedded", "messages": [{"role": "user", "content": "embedded by the fake model"}]},
            {"title": "empty", "source_id": "ext-1"},
        ]
    )
    assert [c.title for c in created] == ["given", "embedded", "empty"]
    assert memory_manager.search(vectors[1], k=1)[0].message.content == "b"
    assert (
        memory_manager.search("embedded by the fake model", k=1)[0].message.content
        == "embedded by the fake model"
    )
    before = memory_manager.stats()
    for bad in (
        [{"title": "ok"}, {"title": "dup", "source_id": "ext-1"}],
        [{"title": "ok"}, {"messages": [{"role": "user", "content": "x"}], "vectors": vectors}],
        [
            {"title": "ok"},
            {"messages": [{"role": "user", "content": "x"}], "vectors": [[float("nan")] * 384]},
        ],
        [{"title": "ok"}, {"colour": "blue"}],
        [],
    ):
        with pytest.raises(memory.MemoryStoreError):
            memory_manager.add_conversations(bad)
    # The batch's vectors are checked together; a bad one is still traced to its conversation.
    one = [{"role": "user", "content": "x"}]
    for bad_vectors, message in (
        ([[0.0] * 384], "conversation 2: vector 0 has zero length"),
        ([[1.0] * 383], "conversation 2: expected vectors of 384 dimensions, got 383"),
        ([["a"] * 384], "conversation 2: a vector must hold real numbers"),
        (vectors[:2], "conversation 2: got 2 vectors for 1 messages"),
    ):
        batch = [
            {"messages": one, "vectors": vectors[:1]},
            {"messages": one},
            {"messages": one, "vectors": bad_vectors},
        ]
        with pytest.raises(memory.ValidationError, match=message):
            memory_manager.add_conversations(batch)
    assert memory_manager.stats() == before


def test_add_messages_with_precomputed_vectors(memory_manager: MemoryManager) -> None:
    conversation = memory_manager.create_conversation("bulk")
    vectors = np.random.default_rng(6).standard_normal((600, 384)).astype(np.float32)
    stored = memory_manager.add_messages(
        conversation.id, [{"role": "user", "content": f"row {i}"} for i in range(600)], vectors=vectors
    )
    assert len(stored) == 600 and memory_manager.stats()["vectors"] == {1: 600}
    assert memory_manager.search(vectors[123], k=1)[0].message.id == stored[123].id
    with pytest.raises(memory.DimensionMismatchError):
        memory_manager.add_messages(conversation.id, [{"role": "user", "content": "x"}], vectors=[[0.1] * 3])
    with pytest.raises(memory.ValidationError, match="2 vectors for 1 messages"):
        memory_manager.add_messages(conversation.id, [{"role": "user", "content": "x"}], vectors=vectors[:2])
    assert memory_manager.stats()["messages"] == 600


def test_get_or_create_takes_the_winners_conversation_when_it_loses_a_race(
    memory_manager: MemoryManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memory.conversations import ConversationRepository

    first = memory_manager.get_or_create_conversation("ext-7", title="first")
    assert memory_manager.get_or_create_conversation("ext-7", title="ignored").id == first.id
    # Another writer created it between this writer's look-up and its insert (PostgreSQL allows that).
    real_find = ConversationRepository.find_by_source
    calls: list[str] = []

    def blind_once(self: ConversationRepository, source_id: str) -> memory.Conversation | None:
        calls.append(source_id)
        return None if len(calls) == 1 else real_find(self, source_id)

    monkeypatch.setattr(ConversationRepository, "find_by_source", blind_once)
    again = memory_manager.get_or_create_conversation("ext-7", title="loser")
    assert (again.id, again.title) == (first.id, "first")
    assert memory_manager.stats()["conversations"] == 1


def test_a_write_after_another_manager_reindexed_the_store_follows_or_refuses_the_new_space(
    memory_url: str,
) -> None:
    """A chat turn checks the active space inside its UPDATE of the conversation; when another
    manager changed it, the turn learns that in the same transaction and refuses, writing nothing;
    once the store is back on the writer's model, its turns go through again."""
    writer = MemoryManager(memory_url, embedder=FakeEmbedder(64))
    other = MemoryManager(memory_url, embedder=FakeEmbedder(64))
    try:
        conversation = writer.create_conversation()
        writer.add_message(conversation.id, "user", "before")
        other.reindex(FakeEmbedder(64, name="same-shape"), batch_size=10)
        with pytest.raises(memory.EmbeddingSpaceError, match="reindexed by another process"):
            writer.add_message(conversation.id, "user", "refused")
        assert [m.content for m in writer.get_messages(conversation.id)] == ["before"]

        other.reindex(FakeEmbedder(64), batch_size=10)  # back to the writer's space
        stored = writer.add_message(conversation.id, "user", "after")
        (active,) = [s for s in writer.spaces() if s.active]
        assert (active.id, active.vectors) == (1, 2)
        assert writer.search("after", k=1)[0].message.id == stored.id
    finally:
        writer.close()
        other.close()


def test_a_turn_into_a_missing_conversation_is_not_found_before_the_model_runs(
    memory_manager: MemoryManager,
) -> None:
    embedder = memory_manager.embedder
    assert isinstance(embedder, FakeEmbedder)
    before = embedder.texts_embedded
    with pytest.raises(memory.NotFoundError, match="no conversation with id 999"):
        memory_manager.add_message(999, "user", "nowhere")
    existing = memory_manager.create_conversation().id
    memory_manager.add_message(existing, "user", "somewhere")
    with pytest.raises(memory.NotFoundError, match="no conversation with id 999"):
        memory_manager.add_message(999, "user", "somewhere")  # content already stored: same answer
    assert embedder.texts_embedded == before + 1


@pytest.mark.sqlite_only
def test_a_database_of_another_application_is_migrated_only_when_asked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    engine = memory.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(memory.SchemaError, match=r"app\.db holds tables of another application \(invoices\)"):
        MemoryManager(url, embedder=FakeEmbedder(8))
    assert sa.inspect(engine).get_table_names() == ["invoices"]
    with MemoryManager(url, embedder=FakeEmbedder(8), migrate=True) as manager:  # on purpose
        manager.create_conversation("now a store too")
    with MemoryManager(url, embedder=FakeEmbedder(8)) as manager:  # memory's now: the default opens it
        assert manager.stats()["conversations"] == 1
    engine.dispose()
