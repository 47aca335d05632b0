"""pytest plugin (entry point `pytest11`): fixtures for code that uses `memory`.

Installing the package is enough; override any fixture in your own conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from memory.engine import create_engine
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
