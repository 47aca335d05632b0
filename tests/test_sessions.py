"""The facade's transactions (memory.sessions): one connection per call, kept connections that never
starve the pool, and reads outside a transaction that leave none open."""

from __future__ import annotations

import threading

import pytest

from memory import FakeEmbedder, MemoryManager, create_engine
from memory.vectors import VectorRepository

pytestmark = pytest.mark.both_backends


def test_the_transactions_of_one_call_share_one_connection(memory_url: str) -> None:
    with MemoryManager(memory_url, embedder=FakeEmbedder(8)) as manager:
        transactions = manager._core.transactions
        with transactions.call():
            with transactions.peeking() as peek:
                first = peek.connection()
            with transactions.reading() as read:
                second = read.connection()
            with transactions.writing() as write:
                third = write.connection()
        assert first is second is third


def test_reads_outside_a_transaction_leave_none_open(memory_url: str) -> None:
    with MemoryManager(memory_url, embedder=FakeEmbedder(8)) as manager:
        conversation = manager.create_conversation("peek")
        manager.add_message(conversation.id, "user", "hello")
        with manager._core.transactions.call(), manager._core.transactions.peeking() as unit:
            connection = unit.connection()
            # Through SQLAlchemy, this read begins a transaction of its own.
            assert VectorRepository(unit, manager._core.space).count() == 1
        assert not connection.in_transaction()
        manager.add_message(conversation.id, "user", "and a write after it")
        assert len(manager.get_messages(conversation.id)) == 2


def test_many_threads_never_starve_the_pool(memory_url: str) -> None:
    threads, turns = 12, 15  # more threads than the pool holds connections (5 + 10 overflow)
    engine = create_engine(memory_url)  # the test's: closing the manager must give back what it kept
    with MemoryManager(engine, embedder=FakeEmbedder(8)) as manager:
        conversations = [manager.create_conversation(f"t{i}").id for i in range(threads)]
        failures: list[BaseException] = []
        start = threading.Barrier(threads)

        def chat(conversation_id: int) -> None:
            try:
                start.wait()
                for turn in range(turns):
                    manager.add_message(conversation_id, "user", f"turn {turn} of {conversation_id}")
                    manager.get_messages(conversation_id, limit=5)
            except BaseException as exc:  # reported below
                failures.append(exc)

        workers = [threading.Thread(target=chat, args=(c,)) for c in conversations]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert failures == []
        assert manager.stats()["messages"] == threads * turns
        kept = len(manager._core.transactions._held)
        assert kept <= max(0, engine.pool.size() - 1)  # type: ignore[attr-defined]
        assert engine.pool.checkedout() == kept  # type: ignore[attr-defined]
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    engine.dispose()
