"""Search by words and by meaning: the full-text index, its sync with every write, and fusion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import memory
from memory import FakeEmbedder, MemoryManager
from tests.helpers import integrity_ok
from tests.test_hostile_input import snapshot

pytestmark = pytest.mark.both_backends

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
QUERY = "zebra quartz"


@pytest.fixture
def sides(memory_manager: MemoryManager) -> dict[str, int]:
    """One message only the vector side can find, one only the words side can, one both, and 60
    fillers between them; the stored vectors are chosen, not embedded, so each side's ranking is known."""
    embedder = memory_manager.embedder
    q = embedder.embed([QUERY])[0]
    rng = np.random.default_rng(7)
    fillers = rng.standard_normal((60, len(q))).astype(np.float32)
    fillers -= np.outer(fillers @ q, q)  # orthogonal to the query: distance 1
    texts = ["a striped horse on a pink rock", f"{QUERY} field notes", f"{QUERY} again, and more"]
    vectors = np.vstack([q, -q, q + 0.3 * fillers[0] / np.linalg.norm(fillers[0]), fillers])
    conversation = memory_manager.add_conversations(
        [
            {
                "title": "sides",
                "messages": [
                    {"role": "user", "content": t} for t in [*texts, *(f"filler {i}" for i in range(60))]
                ],
                "vectors": vectors,
            }
        ]
    )[0]
    ids = [m.id for m in memory_manager.get_messages(conversation.id)]
    return {"vector": ids[0], "text": ids[1], "both": ids[2]}


def test_hybrid_is_the_default_and_tells_which_side_found_each_hit(
    memory_manager: MemoryManager, sides: dict[str, int]
) -> None:
    hits = memory_manager.search(QUERY, k=3)
    assert {hit.message.id: hit.sources for hit in hits} == {
        sides["both"]: {"vector", "text"},
        sides["vector"]: {"vector"},
        sides["text"]: {"text"},
    }
    assert hits[0].message.id == sides["both"]  # found by both sides, so first after fusion
    assert all(hit.fusion_score is not None and hit.fusion_score > 0 for hit in hits)
    by_id = {hit.message.id: hit for hit in hits}
    # Distances are real for every hit, also for the one only the words found (its vector is -query).
    assert by_id[sides["vector"]].distance == pytest.approx(0.0, abs=1e-5)
    assert by_id[sides["text"]].distance == pytest.approx(2.0, abs=1e-5)
    assert by_id[sides["text"]].text_score is not None and by_id[sides["vector"]].text_score is None


def test_each_single_mode_reports_its_own_side(memory_manager: MemoryManager, sides: dict[str, int]) -> None:
    vector_hits = memory_manager.search(QUERY, k=63, mode="vector")
    assert all(hit.sources == {"vector"} and hit.text_score is None for hit in vector_hits)
    assert vector_hits[0].message.id == sides["vector"] and vector_hits[-1].message.id == sides["text"]
    text_hits = memory_manager.search(QUERY, k=10, mode="text")
    assert {hit.message.id for hit in text_hits} == {sides["text"], sides["both"]}
    assert all(hit.sources == {"text"} and hit.text_score and hit.text_score > 0 for hit in text_hits)
    assert all(hit.fusion_score is None for hit in [*vector_hits, *text_hits])


def test_a_vector_query_is_searched_by_meaning_and_text_mode_needs_words(
    memory_manager: MemoryManager, sides: dict[str, int]
) -> None:
    q = memory_manager.embedder.embed([QUERY])[0]
    hits = memory_manager.search(q, k=2)
    assert hits[0].message.id == sides["vector"]
    assert all(hit.sources == {"vector"} for hit in hits)
    with pytest.raises(memory.ValidationError, match="text search"):
        memory_manager.search(q, mode="text")
    with pytest.raises(memory.ValidationError, match="mode"):
        memory_manager.search(QUERY, mode="keyword")  # type: ignore[arg-type]


def test_exact_names_and_numbers_are_found_by_words(memory_manager: MemoryManager) -> None:
    conversation = memory_manager.create_conversation("codes")
    stored = memory_manager.add_messages(
        conversation.id,
        [
            {"role": "user", "content": "my order number is 48213-X, shipped to Kraków"},
            {"role": "assistant", "content": "your order has shipped"},
            {"role": "user", "content": "the weather in Krakow is cold"},
        ],
    )
    (hit,) = memory_manager.search("48213", k=5, mode="text")
    assert hit.message.id == stored[0].id
    codes = memory_manager.add_messages(
        conversation.id,
        [
            {"role": "user", "content": "after upgrading to pydantic 2.7.1 the build broke"},
            {"role": "user", "content": "SearchIndexer.exe uses a whole core"},
            {"role": "user", "content": "claim CLM-8042-41837 was rejected"},
        ],
    )
    # Versions, file names and codes are found as the backend's tokenizer reads them in messages.
    for query, message in (
        ("2.7.1", codes[0]),
        ("searchindexer.exe", codes[1]),
        ("CLM-8042-41837", codes[2]),
    ):
        assert memory_manager.search(query, k=5, mode="text")[0].message.id == message.id
    # Words are stemmed: "orders" finds "order".
    assert {h.message.id for h in memory_manager.search("orders", k=5, mode="text")} == {
        stored[0].id,
        stored[1].id,
    }
    krakow = {h.message.id for h in memory_manager.search("krakow", k=5, mode="text")}
    # SQLite's tokenizer folds diacritics; PostgreSQL's 'english' configuration keeps them.
    assert krakow == (
        {stored[0].id, stored[2].id} if memory_manager.engine.dialect.name == "sqlite" else {stored[2].id}
    )


FILTERS = {
    "conversation_id": lambda ids: {"conversation_id": ids["second"]},
    "roles": lambda ids: {"roles": ["assistant"]},
    "since": lambda ids: {"since": T0 + timedelta(days=1)},
    "until": lambda ids: {"until": T0 + timedelta(days=1)},
}


@pytest.mark.parametrize("mode", memory.SEARCH_MODES)
@pytest.mark.parametrize("name", FILTERS)
def test_every_filter_applies_to_both_sides(memory_manager: MemoryManager, mode: str, name: str) -> None:
    ids: dict[str, int] = {}
    expected: list[int] = []
    for label, day in (("first", 0), ("second", 2)):
        conversation = memory_manager.create_conversation(label)
        ids[label] = conversation.id
        for i, role in enumerate(("user", "assistant")):
            (message,) = memory_manager.add_messages(
                conversation.id,
                [
                    {
                        "role": role,
                        "content": f"lighthouse keeper log {label} {role}",
                        "created_at": T0 + timedelta(days=day, minutes=i),
                    }
                ],
            )
            keep = {
                "conversation_id": label == "second",
                "roles": role == "assistant",
                "since": day >= 1,
                "until": day < 1,
            }[name]
            if keep:
                expected.append(message.id)
    hits = memory_manager.search("lighthouse keeper", k=10, mode=mode, **FILTERS[name](ids))  # type: ignore[arg-type]
    assert sorted(hit.message.id for hit in hits) == sorted(expected)
    if mode == "hybrid":
        assert all(hit.sources == {"vector", "text"} for hit in hits)


HOSTILE_QUERIES = [
    '"foo" OR NEAR(',
    "NEAR(foo bar, 2)",
    "foo AND NOT bar OR",
    "content:foo",
    "{content} : foo*",
    "^foo",
    "foo*",
    "(foo",
    "foo)",
    '"',
    "'",
    "-foo",
    "+foo",
    "a & b | !c <-> d:*",
    "foo\\",
    "'; DROP TABLE messages; --",
    "messages_fts MATCH 'x'",
    "___",
    "!!!",
    "日本語のテキスト",
    "Ünïcödé ß straße",
    "x" * 5000,
]


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_user_text_is_never_parsed_as_query_syntax(memory_manager: MemoryManager, query: str) -> None:
    conversation = memory_manager.create_conversation("syntax")
    (foo,) = memory_manager.add_messages(conversation.id, [{"role": "user", "content": "foo and bar"}])
    before = snapshot(memory_manager)
    for mode in memory.SEARCH_MODES:
        hits = memory_manager.search(query, k=5, mode=mode)
        assert all(hit.message.id == foo.id for hit in hits)
    found = {hit.message.id for hit in memory_manager.search(query, k=5, mode="text")}
    # Found when the query holds the word foo (or bar), read as a word and never as an operator. On
    # PostgreSQL a whitespace-separated piece is one term that a message must hold whole, as its
    # parser reads it: `content:foo` is 'content' & 'foo', which "foo and bar" does not hold.
    whole_piece = memory_manager.engine.dialect.name == "postgresql" and query == "content:foo"
    assert found == ({foo.id} if "foo" in query.lower() and not whole_piece else set())
    assert snapshot(memory_manager) == before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=80))
def test_any_text_is_a_valid_query(memory_manager: MemoryManager, query: str) -> None:
    for mode in ("text", "hybrid"):
        for hit in memory_manager.search(query, k=3, mode=mode):  # an empty store: nothing, no error
            assert hit.sources


def test_the_index_follows_every_write_and_delete(memory_manager: MemoryManager) -> None:
    def found(word: str) -> set[int]:
        return {hit.message.id for hit in memory_manager.search(word, k=50, mode="text")}

    conversation = memory_manager.create_conversation("sync")
    single = memory_manager.add_message(conversation.id, "user", "walrus tusks")
    bulk = memory_manager.add_messages(
        conversation.id, [{"role": "user", "content": f"walrus number {i}"} for i in range(20)]
    )
    other = memory_manager.add_conversations(
        [{"title": "other", "messages": [{"role": "user", "content": "walrus colony"}]}]
    )[0]
    (colony,) = memory_manager.get_messages(other.id)
    assert found("walrus") == {single.id, colony.id, *(m.id for m in bulk)}
    assert found("tusks") == {single.id}

    # A batch that fails part-way leaves no trace in the index.
    with pytest.raises(memory.ValidationError):
        memory_manager.add_conversations(
            [
                {"title": "ok", "messages": [{"role": "user", "content": "narwhal one"}]},
                {"title": "bad", "messages": [{"role": "wizard", "content": "narwhal two"}]},
            ]
        )
    assert found("narwhal") == set()

    memory_manager.delete_message(single.id)
    assert found("tusks") == set()
    memory_manager.delete_conversation(other.id)
    assert found("walrus") == {m.id for m in bulk}

    # Writers that bypass the API are indexed too (the ORM, plain SQL), and so are content updates.
    with memory.session_factory(memory_manager.engine).begin() as session:
        session.add(memory.Message(conversation_id=conversation.id, role="user", content="orca pod"))
    (orca,) = found("orca")
    with memory_manager.engine.begin() as connection:
        connection.execute(sa.text("UPDATE messages SET content = 'beluga pod' WHERE id = :id"), {"id": orca})
    assert found("orca") == set() and found("beluga") == {orca}
    assert found("pod") == {orca}
    assert integrity_ok(memory_manager.engine)  # on SQLite: the FTS5 index matches the messages


@pytest.mark.sqlite_only
def test_the_sqlite_index_is_checked_against_the_messages(memory_manager: MemoryManager) -> None:
    """The integrity check the other tests rely on does notice an index that drifted from its messages."""
    conversation = memory_manager.create_conversation("drift")
    memory_manager.add_message(conversation.id, "user", "heron")
    assert integrity_ok(memory_manager.engine)
    with memory_manager.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER messages_fts_insert")
        connection.exec_driver_sql(
            "INSERT INTO messages (conversation_id, role, content, created_at, metadata, content_hash, "
            "content_key) VALUES (1, 'user', 'egret', '2026-01-01 00:00:00', '{}', 'x', 0)"
        )
    assert not integrity_ok(memory_manager.engine)


def test_recall_finds_an_old_message_by_an_exact_code(memory_url: str) -> None:
    with MemoryManager(memory_url, embedder=FakeEmbedder(384)) as manager:
        conversation = manager.create_conversation("recall")
        old = manager.add_messages(
            conversation.id, [{"role": "user", "content": "the door code is 7741", "created_at": T0}]
        )[0]
        manager.add_messages(
            conversation.id,
            [
                {
                    "role": "user",
                    "content": f"chat about topic {i}",
                    "created_at": T0 + timedelta(hours=i + 1),
                }
                for i in range(30)
            ],
        )
        context = manager.recall(conversation.id, "7741", recent=5, k=1)
        assert old.id in {m.id for m in context}
