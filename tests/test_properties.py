"""Property tests (hypothesis): any text and metadata round-trip exactly, bad text changes nothing, and a
stateful test drives add / delete / search / reindex against a plain in-memory model of the store."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

import memory
from memory import FakeEmbedder, MemoryManager
from memory.models import ROLES
from memory.testing import fresh_postgres_database
from memory.vectors import MAX_K
from tests.conftest import BACKENDS

# Any Unicode text both backends hold as UTF-8: every plane and control character, no surrogates, no
# NUL (PostgreSQL text cannot store it; refused on both backends, see test_hostile_input).
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=200)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
METADATA = st.dictionaries(TEXT, JSON, max_size=5)
VOCABULARY = ["cat", "dog", "train", "turin", "rain", "tea", "map", "code"]
WORDS = st.lists(st.sampled_from(VOCABULARY), min_size=1)
SEARCHABLE = WORDS.map(" ".join)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module", params=BACKENDS)
def shared_manager(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MemoryManager]:
    """One store per backend for the whole module (hypothesis runs each test many times)."""
    with ExitStack() as stack:
        if request.param == "postgres":
            url = stack.enter_context(fresh_postgres_database(request.getfixturevalue("postgres_server")))
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp('properties') / 'memory.db'}"
        yield stack.enter_context(MemoryManager(url, embedder=FakeEmbedder(32)))


@SETTINGS
@given(content=TEXT, metadata=METADATA, role=st.sampled_from(ROLES), title=st.none() | TEXT)
def test_any_text_and_metadata_come_back_exactly(
    shared_manager: MemoryManager, content: str, metadata: dict[str, Any], role: str, title: str | None
) -> None:
    conversation = shared_manager.create_conversation(title, metadata=metadata)
    stored = shared_manager.add_message(conversation.id, role, content, metadata=metadata)
    (back,) = shared_manager.get_messages(conversation.id)
    assert (back.id, back.role, back.content, back.meta) == (stored.id, role, content, metadata)
    assert back.content.encode("utf-8") == content.encode("utf-8")
    loaded = shared_manager.get_conversation(conversation.id)
    assert (loaded.title, loaded.meta) == (title, metadata)
    hit = shared_manager.search(content, k=1, conversation_id=conversation.id)
    assert [h.message.id for h in hit] == [stored.id]


@SETTINGS
@given(
    before=TEXT,
    surrogate=st.characters(categories=["Cs"]),
    after=TEXT,
    where=st.sampled_from(["content", "title", "metadata key", "metadata value"]),
)
def test_text_with_a_lone_surrogate_is_refused_and_changes_nothing(
    shared_manager: MemoryManager, before: str, surrogate: str, after: str, where: str
) -> None:
    bad = before + surrogate + after
    counts = shared_manager.stats()
    with pytest.raises(memory.ValidationError):
        if where == "content":
            shared_manager.create_conversation("x", messages=[{"role": "user", "content": bad}])
        elif where == "title":
            shared_manager.create_conversation(bad)
        elif where == "metadata key":
            shared_manager.create_conversation("x", metadata={bad: 1})
        else:
            shared_manager.create_conversation("x", metadata={"k": [bad]})
    assert shared_manager.stats() == counts


class StoreMachine(RuleBasedStateMachine):
    """The store against a dict of messages: after every step the counts agree, and every search (through
    the in-memory index and through plain vec0) returns the model's nearest messages."""

    conversations = Bundle("conversations")
    #: A PostgreSQL server to run on (a fresh database per run) instead of a SQLite file.
    server_url: str | None = None

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="memory-state-"))
        self.databases = ExitStack()
        if self.server_url is not None:
            self.url = self.databases.enter_context(fresh_postgres_database(self.server_url))
        else:
            self.url = f"sqlite:///{self.directory / 'memory.db'}"
        self.embedders = [FakeEmbedder(16), FakeEmbedder(24)]
        self.active = 0
        self.indexed = MemoryManager(self.url, embedder=self.embedders[0])
        self.plain = MemoryManager(self.url, embedder=self.embedders[0], vector_index=None)
        self.messages: dict[int, tuple[int, str, str]] = {}  # id -> (conversation, role, content)
        self.alive: set[int] = set()

    @rule(target=conversations, title=TEXT)
    def create_conversation(self, title: str) -> int:
        conversation_id = self.indexed.create_conversation(title).id
        self.alive.add(conversation_id)
        return conversation_id

    @rule(
        conversation=conversations,
        texts=st.lists(SEARCHABLE, min_size=1, max_size=4),
        role=st.sampled_from(ROLES),
    )
    def add_messages(self, conversation: int, texts: list[str], role: str) -> None:
        batch = [{"role": role, "content": text} for text in texts]
        if conversation not in self.alive:
            with pytest.raises(memory.NotFoundError):
                self.plain.add_messages(conversation, batch)
            return
        for message in self.plain.add_messages(conversation, batch):
            self.messages[message.id] = (conversation, role, message.content)

    @precondition(lambda self: self.messages)
    @rule(data=st.data())
    def delete_message(self, data: st.DataObject) -> None:
        message_id = data.draw(st.sampled_from(sorted(self.messages)))
        self.indexed.delete_message(message_id)
        del self.messages[message_id]
        with pytest.raises(memory.NotFoundError):
            self.plain.delete_message(message_id)

    @rule(conversation=conversations)
    def delete_conversation(self, conversation: int) -> None:
        if conversation not in self.alive:
            with pytest.raises(memory.NotFoundError):
                self.indexed.delete_conversation(conversation)
            return
        self.plain.delete_conversation(conversation)
        self.alive.discard(conversation)
        self.messages = {i: m for i, m in self.messages.items() if m[0] != conversation}

    @rule()
    def reindex(self) -> None:
        self.active = 1 - self.active
        embedder = self.embedders[self.active]
        self.indexed.reindex(embedder, batch_size=3)
        # The other manager notices that the active space changed, and is reopened with the new model.
        with pytest.raises(memory.EmbeddingSpaceError):
            self.plain.search("cat")
        self.plain.close()
        self.plain = MemoryManager(self.url, embedder=embedder, vector_index=None)

    @rule(query=SEARCHABLE, k=st.integers(1, 12), scoped=st.booleans(), data=st.data())
    def search(self, query: str, k: int, scoped: bool, data: st.DataObject) -> None:
        conversation = data.draw(st.sampled_from(sorted(self.alive))) if scoped and self.alive else None
        candidates = [i for i, m in self.messages.items() if conversation is None or m[0] == conversation]
        expected = self._distances(query, candidates)
        for manager in (self.indexed, self.plain):
            hits = manager.search(query, k=k, conversation_id=conversation, mode="vector")
            assert len(hits) == min(k, len(candidates))
            for hit in hits:
                assert hit.message.id in expected
                assert hit.message.content == self.messages[hit.message.id][2]
                assert hit.distance == pytest.approx(expected[hit.message.id], abs=1e-5)
            nearest = sorted(expected.values())[: len(hits)]
            np.testing.assert_allclose([h.distance for h in hits], nearest, atol=1e-5)

    @rule(words=st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=3, unique=True), data=st.data())
    def search_words(self, words: list[str], data: st.DataObject) -> None:
        """Text search finds exactly the messages that hold a query word; hybrid search returns k
        messages, and those the words side found hold at least half the query's words."""
        conversation = data.draw(st.sampled_from(sorted(self.alive))) if self.alive else None
        held = {
            i: len(set(words) & set(m[2].split()))
            for i, m in self.messages.items()
            if conversation is None or m[0] == conversation
        }
        holding = {i for i, count in held.items() if count}
        hits = self.indexed.search(" ".join(words), k=MAX_K, conversation_id=conversation, mode="text")
        assert {hit.message.id for hit in hits} == holding
        assert all(hit.sources == {"text"} for hit in hits)
        hybrid = self.plain.search(" ".join(words), k=12, conversation_id=conversation)
        assert len(hybrid) == min(12, len(held))
        distances = self._distances(" ".join(words), list(held))
        for hit in hybrid:
            # Whichever side found it, a hit's distance is its vector's.
            assert hit.distance == pytest.approx(distances[hit.message.id], abs=1e-5)
            assert hit.sources and hit.sources <= {"vector", "text"}
            if "text" in hit.sources:  # the words side needs at least half the query's words
                assert 2 * held[hit.message.id] >= len(words)

    @invariant()
    def counts_agree(self) -> None:
        stats = self.indexed.stats()
        assert stats["messages"] == len(self.messages)
        assert stats["conversations"] == len(self.alive)
        assert stats["vectors"][stats["active_space"]] == len(self.messages)

    def teardown(self) -> None:
        self.indexed.close()
        self.plain.close()
        self.databases.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _distances(self, query: str, ids: list[int]) -> dict[int, float]:
        if not ids:
            return {}
        embedder = self.embedders[self.active]
        vectors = embedder.embed([self.messages[i][2] for i in ids]).astype(np.float64)
        q = embedder.embed([query])[0].astype(np.float64)
        similarity = vectors @ q / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(q))
        return {i: float(1.0 - s) for i, s in zip(ids, similarity, strict=True)}


TestStoreMachine = StoreMachine.TestCase
TestStoreMachine.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)


class PostgresStoreMachine(StoreMachine):
    """The same machine on PostgreSQL + pgvector."""

    def __init__(self) -> None:
        super().__init__()
        assert self.url.startswith("postgresql"), "the PostgreSQL machine must run on PostgreSQL"


@pytest.fixture(scope="class")
def _postgres_for_the_machine(postgres_server: str) -> Iterator[None]:
    PostgresStoreMachine.server_url = postgres_server
    yield
    PostgresStoreMachine.server_url = None


TestPostgresStoreMachine = pytest.mark.usefixtures("_postgres_for_the_machine")(PostgresStoreMachine.TestCase)
TestPostgresStoreMachine.settings = settings(max_examples=15, stateful_step_count=20, deadline=None)
