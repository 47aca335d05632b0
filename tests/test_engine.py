"""Engine set-up: vec0 on every pooled connection, extension loading off, pragmas, transactions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

import memory
from memory import engine as engine_module
from memory.sqlite_limits import LIMIT_LENGTH, LIMIT_SQL_LENGTH, current_limit


def test_every_pooled_connection_has_vec0_and_refuses_load_extension(memory_url: str) -> None:
    engine = memory.create_engine(memory_url, pool_size=3)
    connections = [engine.connect() for _ in range(3)]
    try:
        raw = {id(c.connection.dbapi_connection) for c in connections}
        assert len(raw) == 3, "expected three distinct pooled DB-API connections"
        for connection in connections:
            assert connection.exec_driver_sql("SELECT vec_version()").scalar_one() == "v0.1.9"
            with pytest.raises(sa_exc.OperationalError, match="not authorized"):
                connection.exec_driver_sql("SELECT load_extension('/nonexistent/lib')")
            connection.rollback()
    finally:
        for connection in connections:
            connection.close()
        engine.dispose()


def test_file_database_pragmas(memory_url: str) -> None:
    engine = memory.create_engine(memory_url, busy_timeout_ms=1234)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 1234
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar_one() == 1  # NORMAL
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == -32768
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 8192
    engine.dispose()


def test_new_databases_get_16_kib_pages_and_existing_ones_keep_theirs(tmp_path: Path) -> None:
    for name, options, expected in (("default.db", {}, 16384), ("small.db", {"page_size": 4096}, 4096)):
        engine = memory.create_engine(f"sqlite:///{tmp_path / name}", **options)
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x)")
            assert connection.exec_driver_sql("PRAGMA page_size").scalar_one() == expected
        engine.dispose()
    reopened = memory.create_engine(f"sqlite:///{tmp_path / 'small.db'}", page_size=65536)
    with reopened.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA page_size").scalar_one() == 4096
    reopened.dispose()


def test_pragmas_are_configurable(memory_url: str) -> None:
    engine = memory.create_engine(
        memory_url, journal_mode="delete", synchronous="full", cache_size_kib=4096, wal_autocheckpoint=100
    )
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "delete"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == -4096
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 100
    engine.dispose()


@pytest.mark.parametrize(
    "options",
    [
        {"journal_mode": "wal; DROP TABLE x"},
        {"synchronous": "sometimes"},
        {"busy_timeout_ms": -1},
        {"busy_timeout_ms": "5000"},
        {"cache_size_kib": -1},
        {"wal_autocheckpoint": "1; ATTACH 'x' AS y"},
        {"max_value_bytes": 0},
        {"max_value_bytes": 2_000_000_000},
        {"max_sql_bytes": 1.5},
        {"page_size": 5000},
        {"page_size": 16384.0},
        {"page_size": "16384; DROP TABLE x"},
    ],
)
def test_bad_engine_options_are_rejected(memory_url: str, options: dict[str, object]) -> None:
    with pytest.raises(memory.ValidationError):
        memory.create_engine(memory_url, **options)  # type: ignore[arg-type]


def test_no_single_value_or_statement_can_exceed_the_length_limits(memory_url: str) -> None:
    engine = memory.create_engine(memory_url, max_value_bytes=1_000_000, max_sql_bytes=100_000, pool_size=2)
    connections = [engine.connect() for _ in range(2)]
    try:
        for connection in connections:
            raw = connection.connection.dbapi_connection
            assert current_limit(raw, LIMIT_LENGTH) == 1_000_000
            assert current_limit(raw, LIMIT_SQL_LENGTH) == 100_000
            assert connection.exec_driver_sql("SELECT length(zeroblob(1000000))").scalar_one() == 1_000_000
            # What an injected query would use to make SQLite allocate a gigabyte.
            for hostile in ("SELECT zeroblob(1000001)", "SELECT printf('%.*c', 1000001, 'x')"):
                with pytest.raises(sa_exc.DataError, match="too big"):
                    connection.exec_driver_sql(hostile)
            with pytest.raises(sa_exc.DataError, match="too big"):
                connection.exec_driver_sql("SELECT 1" + " " * 100_000)
            connection.rollback()
    finally:
        for connection in connections:
            connection.close()
        engine.dispose()


def test_the_default_length_limit_is_64_mib(memory_engine: sa.Engine) -> None:
    with memory_engine.connect() as connection:
        assert current_limit(connection.connection.dbapi_connection, LIMIT_LENGTH) == 64 * 1024 * 1024
        with pytest.raises(sa_exc.DataError, match="too big"):
            connection.exec_driver_sql("SELECT zeroblob(64 * 1024 * 1024 + 1)")


def test_in_memory_database_works() -> None:
    engine = memory.create_engine("sqlite://")
    memory.upgrade(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT vec_version()").scalar_one() == "v0.1.9"
        assert connection.exec_driver_sql("SELECT count(*) FROM embedding_spaces").scalar_one() == 1
    engine.dispose()


def test_database_wal_and_shm_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "private.db"
    old_umask = os.umask(0o022)
    try:
        engine = memory.create_engine(f"sqlite:///{path}")
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        with engine.connect() as connection:  # keep the WAL and SHM files open for the check
            connection.exec_driver_sql("SELECT * FROM t").all()
            files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
            for file in files:
                assert file.exists(), file
                assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        engine.dispose()
    finally:
        os.umask(old_umask)


def test_savepoint_rollback_undoes_only_the_nested_work(memory_url: str) -> None:
    engine = memory.create_engine(memory_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with engine.connect() as connection:
        with connection.begin():
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
            nested = connection.begin_nested()
            connection.exec_driver_sql("INSERT INTO t VALUES (2)")
            nested.rollback()
        assert connection.exec_driver_sql("SELECT x FROM t").scalars().all() == [1]
        connection.rollback()
    engine.dispose()


def test_ddl_rolls_back_with_its_transaction(memory_url: str) -> None:
    engine = memory.create_engine(memory_url)
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.exec_driver_sql("CREATE TABLE ephemeral (x INTEGER)")
        transaction.rollback()
        names = connection.exec_driver_sql("SELECT name FROM sqlite_master").scalars().all()
        assert "ephemeral" not in names
        connection.rollback()
    engine.dispose()


def test_write_sessions_take_the_write_lock_at_begin(memory_url: str) -> None:
    holder = memory.create_engine(memory_url)
    waiter = memory.create_engine(memory_url, busy_timeout_ms=50)
    with holder.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    writer = memory.session_factory(holder, write=True)()
    reader = memory.session_factory(waiter)()
    other_writer = memory.session_factory(waiter, write=True)()
    try:
        writer.connection()  # BEGIN IMMEDIATE: holds the write lock without having written yet
        assert reader.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 0  # readers still read
        with pytest.raises(sa_exc.OperationalError, match="locked"):
            other_writer.connection()
    finally:
        for session in (writer, reader, other_writer):
            session.close()
        holder.dispose()
        waiter.dispose()


def test_session_factory_keeps_objects_usable_after_commit(memory_engine: sa.Engine) -> None:
    with memory.session_factory(memory_engine)() as session:
        conversation = memory.Conversation(title="kept")
        session.add(conversation)
        session.commit()
    assert conversation.title == "kept"
    assert conversation.id is not None


def test_missing_extension_support_raises_extension_error(
    memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "_can_load_extensions", lambda module: False)
    with pytest.raises(memory.ExtensionError, match="pip install pysqlite3"):
        memory.create_engine(memory_url)
