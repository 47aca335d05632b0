"""Forgetting leaves no trace: after `forget` returns, no byte of the forgotten texts or vectors is
left in the SQLite database file or its WAL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memory import MemoryManager
from memory.embedding.fake import FakeEmbedder

DIMS = 32


def _occurrences(directory: Path, marker: bytes, vectors: np.ndarray) -> tuple[int, int]:
    """How often the marker (which every forgotten text holds) and the first four floats of any of
    `vectors` occur in the database file, its WAL and its shared-memory file, at any byte offset."""
    texts = floats = 0
    heads = vectors[:, :4].view(np.uint32)
    firsts = np.sort(heads[:, 0])
    for path in directory.glob("memory.db*"):
        data = path.read_bytes()
        texts += data.count(marker)
        for offset in range(4 if len(data) >= 16 and len(firsts) else 0):
            words = np.frombuffer(data, dtype=np.uint32, offset=offset, count=(len(data) - offset) // 4)
            starts = words[:-3]
            slots = np.minimum(np.searchsorted(firsts, starts), len(firsts) - 1)
            for start in np.flatnonzero(firsts[slots] == starts):
                floats += bool((heads == words[start : start + 4]).all(axis=1).any())
    return texts, floats


def test_forgotten_texts_and_vectors_are_nowhere_in_the_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    manager = MemoryManager(f"sqlite:///{tmp_path / 'memory.db'}", embedder=FakeEmbedder(DIMS))
    alice, bob = manager.scoped("alice"), manager.scoped("bob", "planner")
    markers = [f"zqx{i:04d}marker" for i in range(400)]
    kept = [f"kept{i:04d}words" for i in range(400)]
    vectors = rng.standard_normal((400, DIMS)).astype(np.float32)
    # A bulk conversation (whole vec0 chunks written at once), then chat turns (vec0 row by row),
    # interleaved with another user's messages so they share pages, chunks and full-text segments.
    bulk = [{"role": "user", "content": f"alice said {markers[i]} today"} for i in range(300)]
    alice.create_conversation(f"title {markers[0]}", messages=bulk, vectors=vectors[:300])
    chat = alice.create_conversation("chat")
    theirs = bob.create_conversation("bob")
    for i in range(300, 400):
        alice.add_messages(
            chat.id, [{"role": "assistant", "content": f"noted {markers[i]}"}], vectors=vectors[i : i + 1]
        )
        bob.add_message(theirs.id, "user", f"bob said {kept[i]}")
    texts, floats = _occurrences(tmp_path, b"zqx", vectors)
    assert texts > 400 and floats >= 400  # the scan sees them while they are stored

    report = alice.forget()

    assert (report.conversations, report.messages, report.vectors) == (2, 400, {1: 400})
    assert _occurrences(tmp_path, b"zqx", vectors) == (0, 0)
    assert (tmp_path / "memory.db-wal").stat().st_size == 0
    # The other user's memory is whole, and still found by words and by meaning.
    assert _occurrences(tmp_path, kept[350].encode(), vectors[:0])[0] > 0
    assert [h.message.content for h in bob.search(kept[350], k=1, mode="text")] == [f"bob said {kept[350]}"]
    assert len(bob.search("bob said", k=500, mode="vector")) == 100
    manager.close()


@pytest.mark.parametrize("vector_index", ["exact", None])
def test_a_forgotten_owner_is_gone_from_every_search_path(tmp_path: Path, vector_index: str | None) -> None:
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    with MemoryManager(url, embedder=FakeEmbedder(DIMS), vector_index=vector_index) as manager:  # type: ignore[arg-type]
        alice = manager.scoped("alice")
        conversation = alice.create_conversation("c", messages=[{"role": "user", "content": "tea at five"}])
        manager.search("tea", k=5)  # the in-memory index has it now
        with MemoryManager(url, embedder=FakeEmbedder(DIMS)) as other:  # another process's index too
            assert len(other.search("tea", k=5, mode="vector")) == 1
            manager.forget(conversation_id=conversation.id)
            assert other.search("tea", k=5, mode="vector") == []
        assert manager.search("tea", k=5) == []
        assert manager.stats()["messages"] == 0
