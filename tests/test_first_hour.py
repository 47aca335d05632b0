"""The library as a new user meets it: file paths for a store, opening without creating, a search by
words that runs no model, `warm_up()` for servers, and `conversation_info` for listings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

import memory
from memory import MemoryManager, NotFoundError, ValidationError
from memory.engine import database_url

pytestmark = pytest.mark.both_backends


class _Counting(memory.FakeEmbedder):
    """The fake model, counting its runs; with `broken`, every run fails."""

    def __init__(self, *, broken: bool = False) -> None:
        super().__init__(16)
        self.runs = 0
        self.broken = broken

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.runs += 1
        if self.broken:
            raise RuntimeError("the model must not run")
        return super().embed(texts)


@pytest.mark.sqlite_only
def test_a_store_is_a_url_or_a_file_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert database_url("notes.db").database == "notes.db"
    assert database_url("~/deep/notes.db").database == f"{tmp_path}/deep/notes.db"
    assert database_url(tmp_path / "a.db").database == f"{tmp_path}/a.db"
    assert str(database_url("sqlite:///x.db")) == "sqlite:///x.db"
    with pytest.raises(ValidationError, match="empty"):
        database_url(" ")

    with MemoryManager("notes.db", embedder=memory.FakeEmbedder(8)) as manager:
        manager.create_conversation("by path", messages=[{"role": "user", "content": "stored by path"}])
    with MemoryManager(tmp_path / "notes.db", embedder=memory.FakeEmbedder(8), migrate=False) as manager:
        assert [c.title for c in manager.list_conversations()] == ["by path"]


@pytest.mark.sqlite_only
def test_create_false_opens_only_a_store_that_exists(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(NotFoundError, match=f"no memory store at {missing}"):
        memory.create_engine(missing, create=False)
    assert not missing.exists()
    memory.create_engine(missing).dispose()  # the default creates it
    memory.create_engine(missing, create=False).dispose()
    assert missing.exists()


def test_a_search_by_words_never_runs_the_model(memory_url: str) -> None:
    texts = ["the boiler pressure dropped", "rose pruning in March"]
    vectors = np.eye(2, 16, dtype=np.float32)
    with MemoryManager(memory_url, embedder=_Counting(broken=True)) as manager:
        conversation = manager.create_conversation(
            "home", messages=[{"role": "user", "content": text} for text in texts], vectors=vectors
        )
        hits = manager.search("boiler pressure", mode="text")
        assert [hit.message.content for hit in hits] == ["the boiler pressure dropped"]
        assert np.isnan(hits[0].distance) and hits[0].text_score is not None
        assert manager.search("pruning", mode="text", conversation_id=conversation.id)[0].sources == {"text"}
        assert manager.embedder.runs == 0  # type: ignore[attr-defined]
        with pytest.raises(memory.EmbedderError, match="must not run"):
            manager.search("boiler pressure")  # hybrid and vector searches do need it


def test_warm_up_loads_the_model_and_builds_the_index(memory_url: str) -> None:
    embedder = _Counting()
    with MemoryManager(memory_url, embedder=embedder) as manager:
        manager.create_conversation(
            "c", messages=[{"role": "user", "content": f"message {i}"} for i in range(5)]
        )
    with MemoryManager(memory_url, embedder=embedder) as manager:
        runs = embedder.runs
        manager.warm_up()
        assert embedder.runs == runs + 1
        index = manager._core.indexes.get(manager._core.space.id)
        if memory_url.startswith("sqlite"):
            assert index is not None and len(index) == 5  # built before any search
        else:
            assert index is None  # the server searches; nothing to build in this process
        assert [hit.message.content for hit in manager.search("message 3", k=1)] == ["message 3"]


def test_conversation_info_gives_titles_and_counts_without_messages(memory_url: str) -> None:
    with MemoryManager(memory_url, embedder=memory.FakeEmbedder(8)) as manager:
        mine = manager.scoped("alice").create_conversation(
            "Alice's", messages=[{"role": "user", "content": f"a{i}"} for i in range(3)]
        )
        empty = manager.create_conversation("Nobody's")
        theirs = manager.scoped("bob").create_conversation(
            "Bob's", messages=[{"role": "user", "content": "b"}]
        )

        info = manager.conversation_info([mine.id, empty.id, theirs.id, 999_999, mine.id])
        assert {i: (v.title, v.message_count, v.user_id) for i, v in info.items()} == {
            mine.id: ("Alice's", 3, "alice"),
            empty.id: ("Nobody's", 0, None),
            theirs.id: ("Bob's", 1, "bob"),
        }
        assert info[mine.id].updated_at >= info[mine.id].created_at
        assert set(manager.scoped("alice").conversation_info([mine.id, theirs.id])) == {mine.id}
        assert manager.conversation_info([]) == {}
        with pytest.raises(ValidationError, match="conversation id"):
            manager.conversation_info(["1"])  # type: ignore[list-item]


def test_recall_takes_the_turns_own_text_as_its_query(memory_url: str) -> None:
    with MemoryManager(memory_url, embedder=memory.FakeEmbedder(32)) as manager:
        old = manager.create_conversation(
            "old", messages=[{"role": "user", "content": "the espresso machine needs descaling"}]
        )
        chat = manager.create_conversation("chat", messages=[{"role": "user", "content": "hello there"}])
        # Another request's message arrived after this turn's text.
        manager.add_message(chat.id, "user", "what about the garden hose")
        mine = manager.recall(chat.id, query="espresso machine descaling", scope="all", recent=0, k=1)
        assert [m.conversation_id for m in mine] == [old.id]


def test_search_hits_carry_their_conversations_title(memory_url: str) -> None:
    with MemoryManager(memory_url, embedder=memory.FakeEmbedder(8)) as manager:
        named = manager.create_conversation(
            "Boiler", messages=[{"role": "user", "content": "boiler pressure"}]
        )
        manager.create_conversation(None, messages=[{"role": "user", "content": "boiler noise"}])
        for mode in ("vector", "text", "hybrid"):
            titles = {
                hit.message.conversation_id: hit.conversation_title
                for hit in manager.search("boiler", mode=mode)
            }
            assert len(titles) == 2 and titles[named.id] == "Boiler", mode
            assert None in titles.values()
