"""The pytest plugin, as a user's project gets it: installed package, no conftest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import memory
from memory.testing import SERVER_URL_VARIABLE as SERVER_URL

USER_TEST = """
import sqlalchemy as sa
import memory


def test_url_is_a_fresh_sqlite_file(memory_url, tmp_path):
    assert memory_url == f"sqlite:///{tmp_path / 'memory.db'}"


def test_engine_is_migrated_with_vec0(memory_engine):
    with memory_engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT vec_version()").scalar_one().startswith("v")
        assert connection.exec_driver_sql("SELECT count(*) FROM embedding_spaces").scalar_one() == 1


def test_fake_embedder_is_deterministic_and_normalised(fake_embedder):
    first, second = fake_embedder.embed(["same text", "same text"])
    assert fake_embedder.dimensions == 384 and (first == second).all()
    assert abs(float((first * first).sum()) - 1.0) < 1e-5


def test_manager_uses_the_fake_embedder(memory_manager, fake_embedder):
    conversation = memory_manager.create_conversation("plugin")
    memory_manager.add_message(conversation.id, "user", "the plugin works")
    assert memory_manager.search("plugin works", k=1)[0].message.content == "the plugin works"
    assert memory_manager.embedder is fake_embedder
"""

OVERRIDE_TEST = """
import pytest


@pytest.fixture
def memory_embedding_dimensions():
    return 24


def test_dimensions_can_be_overridden(fake_embedder, memory_manager):
    assert fake_embedder.dimensions == 24
    assert memory_manager.spaces()[0].dimensions == 24
"""


ISOLATION_TEST = """
import pytest
import memory


@pytest.fixture(scope="session")
def shared_url(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('shared') / 'memory.db'}"


@pytest.fixture
def memory_url(shared_url):
    return shared_url  # both tests below use one database file


def test_commit_inside_the_test(memory_session):
    memory_session.add(memory.Conversation(title="committed by the code under test"))
    memory_session.commit()
    assert memory_session.query(memory.Conversation).count() == 1


def test_the_next_test_sees_nothing_of_it(memory_session):
    assert memory_session.query(memory.Conversation).count() == 0
"""


def test_a_user_project_gets_the_fixtures_from_the_installed_package(tmp_path: Path) -> None:
    project = tmp_path / "user_project"
    project.mkdir()
    (project / "test_with_memory.py").write_text(USER_TEST)
    (project / "test_override.py").write_text(OVERRIDE_TEST)
    (project / "test_isolation.py").write_text(ISOLATION_TEST)
    assert not (project / "conftest.py").exists()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(project),
            str(project / "test_with_memory.py"),
            str(project / "test_override.py"),
            str(project / "test_isolation.py"),
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 passed" in result.stdout, result.stdout


def test_the_outer_transaction_hides_committed_work_from_other_connections(
    memory_session: Session, memory_engine: Engine
) -> None:
    memory_session.add(memory.Conversation(title="invisible"))
    memory_session.commit()
    with memory_engine.connect() as other:
        assert other.exec_driver_sql("SELECT count(*) FROM conversations").scalar_one() == 0


SERVER_TEST = """
import sqlalchemy as sa


def test_each_test_gets_a_fresh_database_on_the_server(memory_url, memory_manager):
    url = sa.make_url(memory_url)
    assert url.get_backend_name() == "postgresql" and url.database.startswith("memory_test_")
    conversation = memory_manager.create_conversation("on the server")
    memory_manager.add_message(conversation.id, "user", "stored in PostgreSQL")
    assert memory_manager.search("stored in PostgreSQL", k=1)[0].message.content == "stored in PostgreSQL"
    assert memory_manager.stats()["conversations"] == 1


def test_and_the_next_one_starts_empty(memory_manager):
    assert memory_manager.stats()["conversations"] == 0
"""


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_user_project_can_point_the_fixtures_at_a_postgres_server(
    tmp_path: Path, postgres_server: str, how: str
) -> None:
    project = tmp_path / "user_project"
    project.mkdir()
    (project / "test_on_server.py").write_text(SERVER_TEST)
    extra, env = (
        ([f"--memory-url={postgres_server}"], {}) if how == "option" else ([], {SERVER_URL: postgres_server})
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(project), *extra],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout, result.stdout
    engine = sa.create_engine(postgres_server)
    with engine.connect() as connection:
        left = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_database WHERE starts_with(datname, 'memory_test_')"
        )
        assert left.scalar_one() == 0, "the fixture's databases were not dropped"
    engine.dispose()
