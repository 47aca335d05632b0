"""PostgreSQL: memory in a schema of its own (`schema=` or `?schema=` in the URL), beside a host
application whose tables have the same names. Every table, index and the version table follow the
schema; migrations, search (vector, words, hybrid), recall, scopes, forgetting, the health check and
embedding spaces work there; the host's rows are never read or touched."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import memory
from memory import MemoryManager, SchemaError, ValidationError
from memory.migration import current_revision, head_revision
from memory.testing import fresh_postgres_database

pytestmark = pytest.mark.postgres_only

REPO = Path(__file__).resolve().parent.parent


def _with_schema(url: str, schema: str) -> str:
    return sa.make_url(url).update_query_dict({"schema": schema}).render_as_string(hide_password=False)


@pytest.fixture
def host(memory_url: str) -> Iterator[sa.Engine]:
    """The host application's own tables, named like memory's, with one row each, in `public`."""
    engine = sa.create_engine(memory_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE conversations (id int PRIMARY KEY, note text NOT NULL)")
        connection.exec_driver_sql("CREATE TABLE messages (id int PRIMARY KEY, body text NOT NULL)")
        connection.exec_driver_sql("INSERT INTO conversations VALUES (1, 'the host''s conversation')")
        connection.exec_driver_sql("INSERT INTO messages VALUES (1, 'the host''s brakes message')")
    yield engine
    engine.dispose()


def _host_rows(engine: sa.Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [
            *connection.exec_driver_sql("SELECT * FROM public.conversations").all(),
            *connection.exec_driver_sql("SELECT * FROM public.messages").all(),
        ]


def _layout(engine: sa.Engine, schema: str) -> dict[str, set[str]]:
    """Tables and their indexes in `schema`, each table with the names of its indexes."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT c.relname, i.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "LEFT JOIN pg_index x ON x.indrelid = c.oid LEFT JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p')"
            ),
            {"schema": schema},
        ).all()
    layout: dict[str, set[str]] = {}
    for table, index in rows:
        layout.setdefault(table, set()).update({index} if index else set())
    return layout


def test_every_table_and_index_of_memory_follows_its_schema(host: sa.Engine, memory_url: str) -> None:
    with MemoryManager(memory_url, embedder=memory.FakeEmbedder(16), schema="memory") as manager:
        manager.reindex(memory.FakeEmbedder(16, name="second"))  # a second space: a new vector table
        in_schema = _layout(host, "memory")

    # The same store made without a schema, in a database of its own, is the reference.
    reference_url = sa.make_url(memory_url).set(database="postgres").render_as_string(hide_password=False)
    with (
        fresh_postgres_database(reference_url) as plain_url,
        MemoryManager(plain_url, embedder=memory.FakeEmbedder(16)) as plain,
    ):
        plain.reindex(memory.FakeEmbedder(16, name="second"))
        reference = _layout(plain.engine, "public")

    assert in_schema == reference
    assert {"conversations", "messages", "embedding_spaces", "memory_alembic_version"} <= set(in_schema)
    assert set(_layout(host, "public")) == {"conversations", "messages"}
    assert _host_rows(host) == [(1, "the host's conversation"), (1, "the host's brakes message")]


def test_a_store_in_a_schema_works_whole_and_never_sees_the_host(host: sa.Engine, memory_url: str) -> None:
    embedder = memory.FakeEmbedder(16)
    with MemoryManager(_with_schema(memory_url, "memory"), embedder=embedder) as manager:
        bike = manager.create_conversation(
            "bike", messages=[{"role": "user", "content": "my brakes squeal when it rains"}]
        )
        alice = manager.scoped("alice")
        mine = alice.create_conversation(
            "alice", messages=[{"role": "user", "content": "alice's brakes were replaced in May"}]
        )
        for mode in ("vector", "text", "hybrid"):
            found = {hit.message.conversation_id for hit in manager.search("brakes", k=5, mode=mode)}
            assert found == {bike.id, mine.id}, mode
            theirs = {hit.message.conversation_id for hit in alice.search("brakes", k=5, mode=mode)}
            assert theirs == {mine.id}, mode
        recalled = manager.recall(bike.id, "brakes", scope="all")
        assert {message.conversation_id for message in recalled} == {bike.id, mine.id}
        assert manager.stats()["messages"] == 2
        assert manager.check().problems == []

        report = manager.forget(user_id="alice")
        assert report.conversations == 1
        left = manager.search("brakes", k=5, mode="text")
        assert [hit.message.conversation_id for hit in left] == [bike.id]
        assert manager.check().problems == []

    with host.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM memory.messages").scalar_one() == 1
    assert _host_rows(host) == [(1, "the host's conversation"), (1, "the host's brakes message")]


def test_two_schemas_are_two_stores_and_each_downgrades_alone(host: sa.Engine, memory_url: str) -> None:
    embedder = memory.FakeEmbedder(16)
    with (
        MemoryManager(memory_url, embedder=embedder, schema="tenant_a") as a,
        MemoryManager(memory_url, embedder=embedder, schema="tenant_b") as b,
    ):
        a.create_conversation("a", messages=[{"role": "user", "content": "tenant a talks about brakes"}])
        b.create_conversation("b", messages=[{"role": "user", "content": "tenant b talks about tyres"}])
        assert [hit.message.content for hit in a.search("talks", k=5)] == ["tenant a talks about brakes"]
        assert [hit.message.content for hit in b.search("talks", k=5)] == ["tenant b talks about tyres"]

    memory.downgrade(_with_schema(memory_url, "tenant_a"), "base")
    assert set(_layout(host, "tenant_a")) == {"memory_alembic_version"}  # Alembic's, left empty
    with MemoryManager(memory_url, embedder=embedder, schema="tenant_b", migrate=False) as b:
        assert b.stats()["messages"] == 1
    assert _host_rows(host) == [(1, "the host's conversation"), (1, "the host's brakes message")]


def test_reading_a_schema_memory_has_not_made_changes_nothing(host: sa.Engine, memory_url: str) -> None:
    with pytest.raises(SchemaError, match=r"schema nowhere.*not migrated.*memory db upgrade"):
        MemoryManager(memory_url, embedder=memory.FakeEmbedder(16), schema="nowhere", migrate=False)
    with host.connect() as connection:
        schemas = connection.exec_driver_sql("SELECT nspname FROM pg_namespace").scalars().all()
    assert "nowhere" not in schemas


@pytest.mark.parametrize(
    "schema",
    ["Memory", "1memory", "pg_memory", "information_schema", "memory; DROP TABLE messages", "m" * 64, ""],
)
def test_a_bad_schema_name_is_refused_before_anything_is_touched(
    host: sa.Engine, memory_url: str, schema: str
) -> None:
    with pytest.raises(ValidationError, match="schema"):
        MemoryManager(memory_url, embedder=memory.FakeEmbedder(16), schema=schema)
    with pytest.raises(ValidationError, match="schema"):
        memory.create_engine(memory_url, schema=schema)
    if schema:  # SQLAlchemy's URL parser drops an empty query value
        with pytest.raises(ValidationError, match="schema"):
            memory.create_engine(_with_schema(memory_url, schema))
    assert set(_layout(host, "public")) == {"conversations", "messages"}
    assert _host_rows(host) == [(1, "the host's conversation"), (1, "the host's brakes message")]


def test_the_url_and_the_option_must_agree_and_sqlite_has_no_schemas(memory_url: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"'a'.*'b'"):
        memory.create_engine(_with_schema(memory_url, "a"), schema="b")
    engine = memory.create_engine(_with_schema(memory_url, "a"))
    try:
        assert "schema" not in engine.url.query
        with pytest.raises(ValidationError, match="keeps memory in 'a'"):
            MemoryManager(engine, embedder=memory.FakeEmbedder(16), schema="b")
    finally:
        engine.dispose()
    with pytest.raises(ValidationError, match="PostgreSQL only"):
        memory.create_engine(f"sqlite:///{tmp_path / 'x.db'}", schema="memory")
    assert not (tmp_path / "x.db").exists()


def test_the_command_line_and_alembic_take_the_schema_from_the_url(host: sa.Engine, memory_url: str) -> None:
    url = _with_schema(memory_url, "assistant")

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "PYTHONPATH": ""}
        return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO, env=environment)

    refused = run(sys.executable, "-m", "memory", "--db", url, "stats")
    assert refused.returncode == 1
    assert "(schema assistant)" in refused.stderr and "memory db upgrade" in refused.stderr

    upgraded = run(sys.executable, "-m", "alembic", "-x", f"url={url}", "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    engine = memory.create_engine(url)
    try:
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
    finally:
        engine.dispose()
    assert "memory_alembic_version" in _layout(host, "assistant")

    stats = run(sys.executable, "-m", "memory", "--db", url, "--model", "fake:16", "stats")
    assert stats.returncode == 0, stats.stderr
    assert set(_layout(host, "public")) == {"conversations", "messages"}
