"""Scopes: a user's (and agent's) memory is theirs alone, on both backends; a stateful property test
drives three users and two agents through every call and checks that no call made through one
scope returns, changes or deletes anything of another."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

import memory
from memory import FakeEmbedder, MemoryManager
from memory.export import export_jsonl
from memory.importers import import_file
from memory.owners import owner_key
from memory.testing import fresh_postgres_database

pytestmark = pytest.mark.both_backends

USERS = ("alice", "bob", "carol")
AGENTS = (None, "planner", "writer")
WORDS = ["tea", "rain", "map", "code", "train", "cat"]


def _contents(hits: list[memory.SearchHit]) -> list[str]:
    return sorted(hit.message.content for hit in hits)


def test_a_scope_makes_and_sees_only_its_own(memory_manager: MemoryManager) -> None:
    alice, bob = memory_manager.scoped("alice"), memory_manager.scoped("bob")
    writer = memory_manager.scoped("alice", "writer")
    mine = alice.create_conversation("alice's", messages=[{"role": "user", "content": "alice likes tea"}])
    theirs = bob.create_conversation("bob's", messages=[{"role": "user", "content": "bob likes tea"}])
    drafted = writer.create_conversation("drafts", messages=[{"role": "user", "content": "writer tea notes"}])
    legacy = memory_manager.create_conversation("nobody's", messages=[{"role": "user", "content": "old tea"}])

    assert (mine.user_id, mine.agent_id) == ("alice", None)
    assert (drafted.user_id, drafted.agent_id) == ("alice", "writer")
    assert (legacy.user_id, legacy.agent_id) == (None, None)
    # A user's scope sees all of that user's agents; an agent's scope only its own.
    assert _contents(alice.search("tea")) == ["alice likes tea", "writer tea notes"]
    assert _contents(writer.search("tea")) == ["writer tea notes"]
    assert _contents(bob.search("tea", mode="vector")) == ["bob likes tea"]
    assert _contents(bob.search("tea", mode="text")) == ["bob likes tea"]
    assert {c.id for c in alice.list_conversations()} == {mine.id, drafted.id}
    # The manager sees everyone's, and filters by owner for administrative code.
    assert len(memory_manager.search("tea")) == 4
    assert _contents(memory_manager.search("tea", user_id="bob")) == ["bob likes tea"]
    assert _contents(memory_manager.search("tea", agent_id="writer")) == ["writer tea notes"]
    assert [c.id for c in memory_manager.list_conversations(user_id="alice", agent_id="writer")] == [
        drafted.id
    ]
    # Asking a scope for another user's memory finds nothing (it never widens the scope).
    assert alice.search("tea", user_id="bob") == []
    assert alice.list_conversations(user_id="bob") == []
    assert _contents(alice.search("tea", agent_id="writer")) == ["writer tea notes"]

    stats = alice.stats()
    assert (stats["conversations"], stats["messages"], stats["vectors"]) == (2, 2, {1: 2})
    assert memory_manager.stats()["messages"] == 4
    recalled = alice.recall(mine.id, "tea", scope="all")
    assert {m.content for m in recalled} == {"alice likes tea", "writer tea notes"}
    assert theirs.id not in {m.conversation_id for m in recalled}


def test_an_id_outside_the_scope_is_not_found_exactly_like_a_missing_one(
    memory_manager: MemoryManager,
) -> None:
    alice, bob = memory_manager.scoped("alice"), memory_manager.scoped("bob")
    theirs = bob.create_conversation("bob's", messages=[{"role": "user", "content": "bob's secret"}])
    message_id = bob.get_messages(theirs.id)[0].id
    missing_conversation, missing_message = theirs.id + 1000, message_id + 1000
    before = memory_manager.stats()

    def refusal(call: Any, *args: Any, **kwargs: Any) -> str:
        with pytest.raises(memory.NotFoundError) as caught:
            call(*args, **kwargs)
        return str(caught.value)

    for call, rest in [
        (alice.get_conversation, ()),
        (alice.get_messages, ()),
        (alice.add_message, ("user", "intrusion")),
        (alice.add_messages, ([{"role": "user", "content": "intrusion"}],)),
        (alice.recall, ("secret",)),
        (alice.delete_conversation, ()),
    ]:
        for conversation_id in (theirs.id, missing_conversation):
            assert refusal(call, conversation_id, *rest) == f"no conversation with id {conversation_id}"
    for conversation_id in (theirs.id, missing_conversation):
        assert (
            refusal(alice.forget, conversation_id=conversation_id)
            == f"no conversation with id {conversation_id}"
        )
    for an_id in (message_id, missing_message):
        assert refusal(alice.delete_message, an_id) == f"no message with id {an_id}"
    assert alice.find_conversation("anything") is None
    assert memory_manager.stats() == before
    assert [m.content for m in bob.get_messages(theirs.id)] == ["bob's secret"]


def test_source_ids_are_per_owner_so_two_users_can_import_the_same_file(
    memory_manager: MemoryManager, tmp_path: Path
) -> None:
    export = tmp_path / "export.jsonl"
    record = {"id": "c-1", "title": "shared", "messages": [{"role": "user", "content": "hello there"}]}
    export.write_text(json.dumps(record) + "\n")
    alice, bob = memory_manager.scoped("alice"), memory_manager.scoped("bob")
    assert import_file(alice, export).imported == 1
    assert import_file(bob, export).imported == 1
    assert import_file(alice, export).skipped == 1  # idempotent within the scope
    found_alice, found_bob = alice.find_conversation("c-1"), bob.find_conversation("c-1")
    assert found_alice is not None and found_bob is not None and found_alice.id != found_bob.id
    assert memory_manager.find_conversation("c-1") is None  # the manager's own (ownerless) namespace
    with pytest.raises(memory.DuplicateError):
        alice.create_conversation(source_id="c-1")
    assert alice.get_or_create_conversation("c-1").id == found_alice.id

    out = io.StringIO()
    assert export_jsonl(alice, out) == 1
    assert json.loads(out.getvalue())["messages"][0]["content"] == "hello there"
    assert export_jsonl(memory_manager, io.StringIO()) == 2


@pytest.mark.parametrize(
    ("user_id", "agent_id"),
    [
        ("", None),
        ("x" * 256, None),
        ("a\x00b", None),
        ("a\udc80", None),
        (42, None),
        ("alice", ""),
        ("alice", "\ud800"),
        ("alice", b"bytes"),
    ],
)
def test_bad_scope_values_are_refused_before_anything_is_written(
    memory_manager: MemoryManager, user_id: Any, agent_id: Any
) -> None:
    memory_manager.scoped("alice").create_conversation("kept")
    before = memory_manager.stats()
    with pytest.raises(memory.ValidationError):
        memory_manager.scoped(user_id, agent_id).create_conversation("never")
    with pytest.raises(memory.ValidationError):
        memory_manager.search("anything", user_id=user_id, agent_id=agent_id)
    with pytest.raises(memory.ValidationError):
        memory_manager.forget(user_id=user_id, agent_id=agent_id)
    assert memory_manager.stats() == before
    assert memory_manager.scoped("x" * 255).user_id == "x" * 255  # the longest id is fine


def test_the_manager_refuses_to_forget_everything(memory_manager: MemoryManager) -> None:
    memory_manager.create_conversation("kept", messages=[{"role": "user", "content": "kept"}])
    with pytest.raises(memory.ValidationError, match="user_id, an agent_id or a conversation_id"):
        memory_manager.forget()
    assert memory_manager.stats()["messages"] == 1


def test_forget_removes_an_owner_everywhere_and_reports_it(memory_manager: MemoryManager) -> None:
    alice, bob = memory_manager.scoped("alice"), memory_manager.scoped("bob", "planner")
    for scope in (alice, memory_manager.scoped("alice", "writer"), bob):
        conversation = scope.create_conversation("c")
        scope.add_messages(conversation.id, [{"role": "user", "content": f"tea {i}"} for i in range(3)])
    memory_manager.reindex(FakeEmbedder(16), batch_size=4)  # a second space holds vectors too
    report = memory_manager.forget(user_id="alice")
    assert (report.conversations, report.messages) == (2, 6)
    assert report.vectors == {1: 6, 2: 6}
    assert report.full_text_entries == 6
    assert report.erased == (memory_manager.engine.dialect.name == "sqlite")
    assert memory_manager.stats()["messages"] == 3
    assert _contents(memory_manager.search("tea", k=10, mode="text")) == ["tea 0", "tea 1", "tea 2"]
    assert memory_manager.scoped("alice").list_conversations() == []
    assert memory_manager.forget(user_id="alice").messages == 0  # idempotent
    assert bob.forget().messages == 3
    assert memory_manager.stats()["messages"] == 0


def test_scoped_vector_searches_filter_on_the_vector_side(memory_url: str) -> None:
    """The owner keys stored beside each vector: the in-memory index, vec0 (no index) and pgvector
    all return the scope's nearest, exactly."""
    indexed = MemoryManager(memory_url, embedder=FakeEmbedder(32))
    plain = MemoryManager(memory_url, embedder=FakeEmbedder(32), vector_index=None)
    try:
        rng = np.random.default_rng(7)
        vectors = rng.standard_normal((60, 32)).astype(np.float32)
        owners = [(USERS[i % 3], AGENTS[i % 2]) for i in range(6)]
        for number, (user, agent) in enumerate(owners):
            scope = indexed.scoped(user, agent)
            conversation = scope.create_conversation(f"c{number}")
            rows = slice(number * 10, number * 10 + 10)
            messages = [{"role": "user", "content": f"m{number}-{i}"} for i in range(10)]
            scope.add_messages(conversation.id, messages, vectors=vectors[rows])
        query = rng.standard_normal(32).astype(np.float32)
        for user in USERS:
            mine = [n for n, (owner, _) in enumerate(owners) if owner == user]
            rows = np.concatenate([vectors[n * 10 : n * 10 + 10] for n in mine])
            names = [f"m{n}-{i}" for n in mine for i in range(10)]
            similarity = rows @ query / (np.linalg.norm(rows, axis=1) * np.linalg.norm(query))
            expected = [names[i] for i in np.argsort(-similarity)[:5]]
            for manager in (indexed, plain):
                hits = manager.scoped(user).search(query, k=5, mode="vector")
                assert [hit.message.content for hit in hits] == expected
                assert [
                    h.message.content for h in manager.search(query, k=5, user_id=user, mode="vector")
                ] == expected
        with indexed.engine.connect() as connection:
            keys = connection.exec_driver_sql("SELECT DISTINCT user_key FROM message_vectors_1").scalars()
            assert set(keys) == {owner_key(user) for user in USERS}
    finally:
        indexed.close()
        plain.close()


class ScopeMachine(RuleBasedStateMachine):
    """Random creates, adds, searches, recalls, deletes and forgets over three users and two agents,
    each call made through one scope, against a plain model of who owns what: a call never returns,
    changes or deletes anything outside its scope, and ids outside it are not found."""

    conversations = Bundle("conversations")
    server_url: str | None = None

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="memory-scopes-"))
        self.databases = ExitStack()
        if self.server_url is not None:
            self.url = self.databases.enter_context(fresh_postgres_database(self.server_url))
        else:
            self.url = f"sqlite:///{self.directory / 'memory.db'}"
        self.manager = MemoryManager(self.url, embedder=FakeEmbedder(16))
        self.owners: dict[int, tuple[str, str | None]] = {}  # conversation -> (user, agent)
        self.messages: dict[int, tuple[int, str]] = {}  # message -> (conversation, content)

    def _scope(self, user: str, agent: str | None) -> memory.MemoryScope:
        return self.manager.scoped(user, agent)

    def _sees(self, user: str, agent: str | None, conversation: int) -> bool:
        owner = self.owners.get(conversation)
        return owner is not None and owner[0] == user and (agent is None or owner[1] == agent)

    def _visible(self, user: str, agent: str | None) -> set[int]:
        return {m for m, (c, _) in self.messages.items() if self._sees(user, agent, c)}

    @rule(
        target=conversations,
        user=st.sampled_from(USERS),
        agent=st.sampled_from(AGENTS),
        title=st.sampled_from(WORDS),
    )
    def create(self, user: str, agent: str | None, title: str) -> int:
        conversation = self._scope(user, agent).create_conversation(title)
        assert (conversation.user_id, conversation.agent_id) == (user, agent)
        self.owners[conversation.id] = (user, agent)
        return conversation.id

    @rule(
        conversation=conversations,
        user=st.sampled_from(USERS),
        agent=st.sampled_from(AGENTS),
        words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
    )
    def add(self, conversation: int, user: str, agent: str | None, words: list[str]) -> None:
        content = " ".join(words) + f" #{len(self.messages)}"
        scope = self._scope(user, agent)
        if not self._sees(user, agent, conversation):
            with pytest.raises(memory.NotFoundError, match=f"no conversation with id {conversation}$"):
                scope.add_message(conversation, "user", content)
            return
        stored = scope.add_message(conversation, "user", content)
        self.messages[stored.id] = (conversation, content)

    @rule(conversation=conversations, user=st.sampled_from(USERS), agent=st.sampled_from(AGENTS))
    def read(self, conversation: int, user: str, agent: str | None) -> None:
        scope = self._scope(user, agent)
        if not self._sees(user, agent, conversation):
            with pytest.raises(memory.NotFoundError, match=f"no conversation with id {conversation}$"):
                scope.get_messages(conversation, limit=5)
            with pytest.raises(memory.NotFoundError, match=f"no conversation with id {conversation}$"):
                scope.recall(conversation, "tea", scope="all")
            return
        expected = sorted(m for m, (c, _) in self.messages.items() if c == conversation)[-5:]
        assert [m.id for m in scope.get_messages(conversation, limit=5)] == expected
        recalled = scope.recall(conversation, "tea rain", scope="all", k=20, max_tokens=10_000)
        assert {m.id for m in recalled} <= self._visible(user, agent)

    @rule(
        user=st.sampled_from(USERS),
        agent=st.sampled_from(AGENTS),
        query=st.sampled_from(WORDS),
        mode=st.sampled_from(["vector", "text", "hybrid"]),
    )
    def search(self, user: str, agent: str | None, query: str, mode: str) -> None:
        scope = self._scope(user, agent)
        visible = self._visible(user, agent)
        hits = scope.search(query, k=50, mode=mode)  # type: ignore[arg-type]
        assert {hit.message.id for hit in hits} <= visible
        if mode == "vector":
            assert len(hits) == min(50, len(visible))
        if mode == "text":
            holding = {m for m in visible if query in self.messages[m][1].split()}
            assert {hit.message.id for hit in hits} == holding
        listed = {c.id for c in scope.list_conversations(limit=1000)}
        assert listed == {c for c in self.owners if self._sees(user, agent, c)}
        stats = scope.stats()
        assert stats["messages"] == len(visible)
        assert stats["vectors"][stats["active_space"]] == len(visible)

    @rule(conversation=conversations, user=st.sampled_from(USERS), agent=st.sampled_from(AGENTS))
    def delete_conversation(self, conversation: int, user: str, agent: str | None) -> None:
        scope = self._scope(user, agent)
        if not self._sees(user, agent, conversation):
            with pytest.raises(memory.NotFoundError, match=f"no conversation with id {conversation}$"):
                scope.delete_conversation(conversation)
            return
        scope.delete_conversation(conversation)
        del self.owners[conversation]
        self.messages = {m: v for m, v in self.messages.items() if v[0] != conversation}

    @rule(data=st.data(), user=st.sampled_from(USERS), agent=st.sampled_from(AGENTS))
    def delete_message(self, data: st.DataObject, user: str, agent: str | None) -> None:
        if not self.messages:
            return
        message = data.draw(st.sampled_from(sorted(self.messages)))
        scope = self._scope(user, agent)
        if not self._sees(user, agent, self.messages[message][0]):
            with pytest.raises(memory.NotFoundError, match=f"no message with id {message}$"):
                scope.delete_message(message)
            return
        scope.delete_message(message)
        del self.messages[message]

    @rule(user=st.sampled_from(USERS), agent=st.sampled_from(AGENTS))
    def forget(self, user: str, agent: str | None) -> None:
        doomed = {c for c in self.owners if self._sees(user, agent, c)}
        report = self._scope(user, agent).forget()
        assert report.conversations == len(doomed)
        assert report.messages == sum(1 for c, _ in self.messages.values() if c in doomed)
        self.owners = {c: o for c, o in self.owners.items() if c not in doomed}
        self.messages = {m: v for m, v in self.messages.items() if v[0] not in doomed}

    @invariant()
    def everything_else_is_untouched(self) -> None:
        stats = self.manager.stats()
        assert (stats["conversations"], stats["messages"]) == (len(self.owners), len(self.messages))
        with self.manager.engine.connect() as connection:
            stored = dict(connection.execute(sa.text("SELECT id, content FROM messages")).all())
        assert stored == {m: content for m, (_, content) in self.messages.items()}

    def teardown(self) -> None:
        self.manager.close()
        self.databases.close()
        shutil.rmtree(self.directory, ignore_errors=True)


TestScopeMachine = ScopeMachine.TestCase
TestScopeMachine.settings = settings(max_examples=20, stateful_step_count=25, deadline=None)


class PostgresScopeMachine(ScopeMachine):
    pass


@pytest.fixture(scope="class")
def _postgres_for_the_scope_machine(postgres_server: str) -> Any:
    PostgresScopeMachine.server_url = postgres_server
    yield
    PostgresScopeMachine.server_url = None


TestPostgresScopeMachine = pytest.mark.usefixtures("_postgres_for_the_scope_machine")(
    PostgresScopeMachine.TestCase
)
TestPostgresScopeMachine.settings = settings(max_examples=10, stateful_step_count=25, deadline=None)


@pytest.mark.postgres_only
def test_a_scoped_search_on_postgresql_reads_one_owner_through_the_index(memory_url: str) -> None:
    from memory.filters import SearchFilter
    from memory.identifiers import conjunction
    from memory.owners import Owner
    from memory.vectors import pgvector

    rng = np.random.default_rng(11)
    with MemoryManager(memory_url, embedder=FakeEmbedder(16)) as manager:
        for user in range(50):
            conversation = {
                "messages": [{"role": "user", "content": f"u{user} m{i}"} for i in range(100)],
                "vectors": rng.standard_normal((100, 16)).astype(np.float32),
            }
            manager.scoped(f"user-{user}").add_conversations([conversation])
        with manager.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
            conditions, values = SearchFilter(owner=Owner("user-7")).vector_clauses("%s")
            store = pgvector.PgVectorStore(connection, 1, 16)
            statement = store._sql(pgvector._EXACT, conditions=conjunction([pgvector._ALL, *conditions]))
            query = "[" + ",".join(["0.1"] * 16) + "]"
            plan = connection.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + statement, (query, *values, 10)
            ).scalar_one()
        assert "message_vectors_1_owner" in json.dumps(plan)
        hits = manager.scoped("user-7").search(np.full(16, 0.1, dtype=np.float32), k=10, mode="vector")
        assert len(hits) == 10 and all(hit.message.content.startswith("u7 ") for hit in hits)
