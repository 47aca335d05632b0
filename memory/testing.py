"""pytest plugin (entry point `pytest11`): fixtures for code that uses `memory`.

Installing the package is enough; override any fixture in your own conftest.py. By default every
test gets its own SQLite file. Given a PostgreSQL server (`--memory-url URL` or the environment
variable MEMORY_TEST_DATABASE_URL, e.g. `postgresql+psycopg://user:password@host:5432/postgres`),
every test gets a fresh database on that server instead, dropped at the end of the test; the user
needs the CREATEDB privilege, and the pgvector extension must be available on the server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from memory.embedding.fake import FakeEmbedder
from memory.engine import create_engine
from memory.identifiers import sql, test_database_name
from memory.manager import MemoryManager
from memory.migration import upgrade

if TYPE_CHECKING:
    from memory.aio import AsyncMemoryManager

SERVER_URL_VARIABLE = "MEMORY_TEST_DATABASE_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--memory-url",
        default=None,
        help=f"PostgreSQL server URL for the memory fixtures (default: ${SERVER_URL_VARIABLE}, else SQLite)",
    )


@pytest.fixture
def memory_server_url(request: pytest.FixtureRequest) -> str | None:
    """The PostgreSQL server the fixtures use, or None for a SQLite file per test."""
    given: str | None = request.config.getoption("--memory-url") or os.environ.get(SERVER_URL_VARIABLE)
    return given


@pytest.fixture
def memory_url(tmp_path: Path, memory_server_url: str | None) -> Iterator[str]:
    """A fresh, empty database for this test: a SQLite file under `tmp_path`, or a new database on
    the PostgreSQL server of `memory_server_url`."""
    if memory_server_url is None:
        yield f"sqlite:///{tmp_path / 'memory.db'}"
        return
    with fresh_postgres_database(memory_server_url) as url:
        yield url


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """Create an empty database on the server of `server_url`, yield its URL, and drop it after."""
    server = sa.make_url(server_url)
    name = test_database_name(uuid.uuid4().hex)
    # Pinged at checkout: a test may restart the server between creating and dropping.
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(sql('CREATE DATABASE "{name}"', name=name))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(sql('DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', name=name))
    finally:
        admin.dispose()


@pytest.fixture
def memory_engine(memory_url: str) -> Iterator[Engine]:
    """`memory.create_engine(memory_url)`, upgraded to the newest schema."""
    engine = create_engine(memory_url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def memory_session(memory_engine: Engine) -> Iterator[Session]:
    """A `Session` inside an outer transaction that is rolled back after the test.

    Commits made by the code under test release savepoints only, so nothing outlives the test.
    """
    connection = memory_engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        if outer.is_active:
            outer.rollback()
        connection.close()


@pytest.fixture
def memory_embedding_dimensions() -> int:
    """Dimensions of `fake_embedder`; override this fixture to change them."""
    return 384


@pytest.fixture
def fake_embedder(memory_embedding_dimensions: int) -> FakeEmbedder:
    """A deterministic, content-dependent embedder with L2-normalised vectors; no model needed."""
    return FakeEmbedder(memory_embedding_dimensions)


@pytest.fixture
def memory_manager(memory_url: str, fake_embedder: FakeEmbedder) -> Iterator[MemoryManager]:
    """A `MemoryManager` on `memory_url` that embeds with `fake_embedder`."""
    with MemoryManager(memory_url, embedder=fake_embedder) as manager:
        yield manager


@pytest.fixture
def async_memory_manager(memory_url: str, fake_embedder: FakeEmbedder) -> Iterator[AsyncMemoryManager]:
    """`memory.aio.AsyncMemoryManager` on `memory_url`, embedding with `fake_embedder`, for async
    tests under pytest-asyncio or anyio (asyncio or trio): the fixture itself is synchronous (the
    manager needs no event loop to open, and closes after the test's loop is gone), so it works with
    either plugin without their async-fixture markers. Needs `memory[async]`."""
    from memory.aio import AsyncMemoryManager

    manager = AsyncMemoryManager(MemoryManager(memory_url, embedder=fake_embedder))
    try:
        yield manager
    finally:
        manager.sync.close()
