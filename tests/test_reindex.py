"""Embedding-model tracking: reindex into a new space and back, resumable after an interruption."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

import memory
from memory import FakeEmbedder, MemoryManager
from tests.helpers import integrity_ok, schema_objects

pytestmark = pytest.mark.both_backends


def _fill(manager: MemoryManager, conversations: int = 3, per_conversation: int = 40) -> None:
    for c in range(conversations):
        conversation = manager.create_conversation(f"conversation {c}")
        manager.add_messages(
            conversation.id,
            [
                {"role": "user", "content": f"conversation {c} message {i} about topic {i % 7}"}
                for i in range(per_conversation)
            ],
        )


def _vector_ids(memory_url: str, space_id: int) -> list[int]:
    engine = memory.create_engine(memory_url)
    with engine.connect() as connection:
        ids = (
            connection.exec_driver_sql(f"SELECT message_id FROM message_vectors_{space_id:d}").scalars().all()
        )
        message_ids = connection.exec_driver_sql("SELECT id FROM messages").scalars().all()
    engine.dispose()
    assert set(ids) <= set(message_ids), "a vector without its message"
    return sorted(ids)


def _message_ids(memory_url: str) -> list[int]:
    engine = memory.create_engine(memory_url)
    with engine.connect() as connection:
        ids = connection.exec_driver_sql("SELECT id FROM messages ORDER BY id").scalars().all()
    engine.dispose()
    return list(ids)


def test_reindex_to_64_dimensions_and_back(memory_manager: MemoryManager, memory_url: str) -> None:
    _fill(memory_manager)
    small = FakeEmbedder(64)
    info = memory_manager.reindex(small, batch_size=25)
    assert (info.dimensions, info.vectors, info.active) == (64, 120, True)
    assert memory_manager.embedder is small
    spaces = {s.id: s for s in memory_manager.spaces()}
    assert [s.active for s in spaces.values()] == [False, True]
    assert spaces[1].vectors == 120  # the old space is kept until dropped
    assert memory_manager.search("conversation 1 message 5 about topic 5", k=1)[0].message.content == (
        "conversation 1 message 5 about topic 5"
    )
    memory_manager.add_message(memory_manager.list_conversations()[0].id, "user", "added while on 64 dims")

    back = memory_manager.reindex(FakeEmbedder(384), batch_size=50)
    assert (back.id, back.dimensions, back.vectors, back.active) == (1, 384, 121, True)
    assert _vector_ids(memory_url, 1) == _message_ids(memory_url)
    memory_manager.drop_space(info.id)
    assert [s.id for s in memory_manager.spaces()] == [1]
    engine = memory.create_engine(memory_url)
    leftovers = [name for name in schema_objects(engine) if name.startswith("message_vectors_2")]
    engine.dispose()
    assert leftovers == []

    # A reopened store now expects the 384-dimension model again.
    with pytest.raises(memory.EmbeddingSpaceError):
        MemoryManager(memory_url, embedder=small)


class _FailsAfter(FakeEmbedder):
    """Same model identity as FakeEmbedder(64); raises once it has served `calls` batches."""

    def __init__(self, calls: int) -> None:
        super().__init__(64)
        self.remaining = calls

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if self.remaining == 0:
            raise RuntimeError("simulated crash")
        self.remaining -= 1
        return super().embed(texts)


def test_an_interrupted_reindex_resumes_and_ends_with_one_vector_per_message(
    memory_manager: MemoryManager, memory_url: str
) -> None:
    _fill(memory_manager)
    with pytest.raises(memory.EmbedderError, match="simulated crash"):
        memory_manager.reindex(_FailsAfter(calls=2), batch_size=20)
    partial = {s.id: s for s in memory_manager.spaces()}
    assert partial[2].vectors == 40 and not partial[2].active and partial[1].active
    assert memory_manager.search("topic 3", k=1)  # the old space keeps serving searches

    resumed = FakeEmbedder(64)
    info = memory_manager.reindex(resumed, batch_size=20)
    assert resumed.texts_embedded == 80  # only what the first run had not stored
    assert info.vectors == 120 and info.active
    assert _vector_ids(memory_url, 2) == _message_ids(memory_url)


_REINDEX_CHILD = """
import sys, time
import memory

class Slow(memory.FakeEmbedder):
    def embed(self, texts):
        time.sleep(0.2)  # 20 batches: ~4 s, a wide window for the kill
        return super().embed(texts)

manager = memory.MemoryManager(sys.argv[1], embedder=memory.FakeEmbedder(384))
print("ready", flush=True)
manager.reindex(Slow(64), batch_size=10)
print("done", flush=True)
"""


def test_a_reindex_killed_with_sigkill_resumes(memory_manager: MemoryManager, memory_url: str) -> None:
    _fill(memory_manager, conversations=4, per_conversation=50)
    child = subprocess.Popen(
        [sys.executable, "-c", _REINDEX_CHILD, memory_url], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.05)
        spaces = {s.id: s for s in memory_manager.spaces()}
        if 2 in spaces and spaces[2].vectors >= 50:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    killed_at = {s.id: s for s in memory_manager.spaces()}[2].vectors
    assert 50 <= killed_at < 200, killed_at

    resumed = FakeEmbedder(64)
    info = memory_manager.reindex(resumed, batch_size=10)
    assert info.vectors == 200 and info.active
    assert resumed.texts_embedded == 200 - killed_at
    assert _vector_ids(memory_url, 2) == _message_ids(memory_url)
    engine = memory.create_engine(memory_url)
    assert integrity_ok(engine)
    engine.dispose()


def test_reindex_rejects_a_bad_batch_size(memory_manager: MemoryManager) -> None:
    for bad in (0, -5, "10", 2.5):
        with pytest.raises(memory.ValidationError):
            memory_manager.reindex(FakeEmbedder(64), batch_size=bad)  # type: ignore[arg-type]
    assert [s.id for s in memory_manager.spaces()] == [1]
