"""pytest plugin (entry point `pytest11`): fixtures for code that uses `memory`.

Installing the package is enough; override any fixture in your own conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from memory.embedding.fake import FakeEmbedder
from memory.engine import create_engine
from memory.manager import MemoryManager
from memory.migration import upgrade


@pytest.fixture
def memory_url(tmp_path: Path) -> str:
    """A fresh SQLite file URL under the test's `tmp_path`."""
    return f"sqlite:///{tmp_path / 'memory.db'}"


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
