"""The PostgreSQL server goes away while an application runs: calls fail with a typed error that says
so, and the same manager carries on by itself once the server is back.

These tests stop their server, so they run one of their own (the other tests share one per worker).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

import memory
from memory import DatabaseBusyError, DatabaseUnavailableError, FakeEmbedder, MemoryManager, ValidationError
from memory.testing import fresh_postgres_database
from tests.postgres_server import PostgresServer, running_postgres_server

THREADS = 4


@pytest.fixture(scope="module")
def own_server() -> Iterator[PostgresServer]:
    with running_postgres_server() as server:
        yield server


@pytest.fixture
def own_url(own_server: PostgresServer) -> Iterator[str]:
    with fresh_postgres_database(own_server.url) as url:
        yield url


@contextmanager
def outage(server: PostgresServer) -> Iterator[None]:
    """The server is down inside the block, and back up after it, whatever the block raised."""
    server.stop()
    try:
        yield
    finally:
        server.resume()


def _fill_pool(manager: MemoryManager) -> None:
    """Leave THREADS idle connections in the manager's pool, each of which the outage will kill."""
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda n: manager.search(f"note {n}", k=3), range(4 * THREADS)))
    assert manager.engine.pool.checkedin() >= 2  # type: ignore[attr-defined]


def _busy(manager: MemoryManager, conversation_id: int, label: str) -> list[str]:
    """Writes and searches from THREADS threads at once; what each found of its own write."""

    def one(n: int) -> str:
        text = f"{label} note {n}"
        manager.add_message(conversation_id, "user", text)
        hits = manager.search(text, k=5)
        return next(h.message.content for h in hits if h.message.content == text)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(2 * THREADS)))


def test_calls_during_an_outage_fail_typed_and_the_manager_recovers(
    own_server: PostgresServer, own_url: str
) -> None:
    with MemoryManager(own_url, embedder=FakeEmbedder(384)) as manager:
        chat = manager.create_conversation("before", messages=[{"role": "user", "content": "note 0"}])
        _fill_pool(manager)
        with outage(own_server):
            calls = [
                lambda: manager.search("note 0"),
                lambda: manager.add_message(chat.id, "user", "lost in the outage"),
                lambda: manager.create_conversation("during"),
                lambda: manager.get_messages(chat.id),
                lambda: manager.stats(),
            ]
            for call in calls:
                with pytest.raises(DatabaseUnavailableError, match="server is unreachable") as caught:
                    call()
                assert isinstance(caught.value.__cause__, sa.exc.OperationalError)
                assert isinstance(caught.value, memory.DatabaseError)
        # The same manager, no restart: every call works again, from several threads at once.
        found = _busy(manager, chat.id, "after")
        assert sorted(found) == sorted(f"after note {n}" for n in range(2 * THREADS))
        contents = [m.content for m in manager.get_messages(chat.id)]
        assert "lost in the outage" not in contents
        assert len(contents) == 1 + 2 * THREADS
        assert [c.title for c in manager.list_conversations()] == ["before"]


def test_a_restart_between_calls_goes_unnoticed(own_server: PostgresServer, own_url: str) -> None:
    # Every pooled connection died with the old server; none of them reaches a caller.
    with MemoryManager(own_url, embedder=FakeEmbedder(384)) as manager:
        chat = manager.create_conversation("before", messages=[{"role": "user", "content": "note 0"}])
        _fill_pool(manager)
        with outage(own_server):
            pass
        assert len(_busy(manager, chat.id, "after")) == 2 * THREADS
        assert [h.message.content for h in manager.search("note 0", k=1)] == ["note 0"]


def test_a_server_that_is_not_there_is_unreachable(own_server: PostgresServer, own_url: str) -> None:
    with outage(own_server), pytest.raises(DatabaseUnavailableError, match="server is unreachable"):
        MemoryManager(own_url, embedder=FakeEmbedder(384))


@pytest.mark.postgres_only
def test_a_pool_that_stays_busy_raises_busy_and_names_the_options(memory_url: str) -> None:
    with MemoryManager(
        memory_url, embedder=FakeEmbedder(8), pool_size=1, max_overflow=0, pool_timeout=0.2
    ) as manager:
        with manager.engine.connect(), pytest.raises(DatabaseBusyError, match="pool_size"):
            manager.search("anything")
        assert manager.search("anything") == []  # the connection is back: calls go on


@pytest.mark.postgres_only
def test_pool_options_are_checked(memory_url: str) -> None:
    for options in ({"pool_size": 0}, {"max_overflow": -1}, {"pool_timeout": 0}, {"connect_timeout": True}):
        with pytest.raises(ValidationError):
            memory.create_engine(memory_url, **options)
    engine = memory.create_engine(memory_url, pool_size=2, max_overflow=1, pool_timeout=3)
    try:
        assert (engine.pool.size(), engine.pool._max_overflow, engine.pool._timeout) == (2, 1, 3)  # type: ignore[attr-defined]
        with pytest.raises(ValidationError, match="create_engine"):
            MemoryManager(engine, embedder=FakeEmbedder(8), pool_size=3)
    finally:
        engine.dispose()
    with pytest.raises(ValidationError, match="connect_timeout"):
        memory.create_engine("sqlite:///:memory:", connect_timeout=5)
