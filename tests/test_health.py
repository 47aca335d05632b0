"""`MemoryManager.check()` and `memory db check`: what a store's health check finds, and what a repair
rebuilds from the messages."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import memory
from memory import FakeEmbedder, MemoryManager

pytestmark = pytest.mark.both_backends


def _store(url: str) -> tuple[MemoryManager, list[int]]:
    manager = MemoryManager(url, embedder=FakeEmbedder(16))
    conversation = manager.create_conversation(
        "c", messages=[{"role": "user", "content": f"note number {i} about tea"} for i in range(20)]
    )
    return manager, [m.id for m in manager.get_messages(conversation.id)]


def test_a_healthy_store_passes(memory_url: str) -> None:
    manager, _ = _store(memory_url)
    with manager:
        report = manager.check()
        assert report.ok and report.problems == [] and report.remaining == []


def test_a_missing_vector_is_found_and_embedded_again(memory_url: str) -> None:
    manager, ids = _store(memory_url)
    with manager:
        expected = manager.embedder.embed(["note number 3 about tea"])[0]
        with manager.engine.begin() as connection:  # behind memory's back: no change-log entry either
            mark = "?" if connection.dialect.name == "sqlite" else "%s"
            connection.exec_driver_sql(f"DELETE FROM message_vectors_1 WHERE message_id = {mark}", (ids[3],))
        report = manager.check()
        assert not report.ok
        assert any("1 messages have no vector" in problem for problem in report.problems)
        repaired = manager.check(repair=True)
        assert repaired.ok, repaired.remaining
        assert any("embedded 1 messages" in fix for fix in repaired.repaired)
        assert manager.check().ok
        (hit,) = manager.search(expected, k=1, mode="vector")
        assert hit.message.id == ids[3] and hit.distance == pytest.approx(0.0, abs=1e-6)


@pytest.mark.sqlite_only
def test_a_full_text_index_out_of_step_and_a_stray_vector_are_repaired(memory_url: str) -> None:
    manager, ids = _store(memory_url)
    with manager:
        with manager.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', ?, ?)",
                (ids[5], "note number 5 about tea"),
            )
        manager.engine.dispose()  # the pool's connections hold the index's old structure
        assert [h.message.id for h in manager.search("number 5", k=20, mode="text")].count(ids[5]) == 0
        memory.VectorRepository
        with memory.session_factory(manager.engine)() as session:
            space = session.get(memory.EmbeddingSpace, 1)
            assert space is not None
            memory.VectorRepository(session, space).add(
                9999,
                np.ones(16, dtype=np.float32),
                conversation_id=1,
                role="user",
                created_at=manager.get_messages(1)[0].created_at,
            )
            session.commit()
        report = manager.check()
        assert any("full-text index does not match" in p for p in report.problems)
        assert any("1 vectors belong to no message" in p for p in report.problems)
        assert manager.check(repair=True).ok
        assert ids[5] in [h.message.id for h in manager.search("number 5", k=20, mode="text")]


def test_memory_db_check_exits_1_until_repaired(memory_url: str) -> None:
    manager, ids = _store(memory_url)
    with manager.engine.begin() as connection:
        mark = "?" if connection.dialect.name == "sqlite" else "%s"
        connection.exec_driver_sql(f"DELETE FROM message_vectors_1 WHERE message_id = {mark}", (ids[0],))
    manager.close()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            "-m",
            "memory",
            "--db",
            memory_url,
            "--model",
            "fake:16",
            "db",
            "check",
            *args,
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=300)

    checked = run()
    assert checked.returncode == 1 and "no vector" in checked.stdout and "try --repair" in checked.stdout
    repaired = run("--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "repaired: embedded 1 messages" in repaired.stdout
    assert run().stdout.strip() == "ok"
