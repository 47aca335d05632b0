"""Alembic environment for memory: engines come from `memory.create_engine`, so vec0 is loaded.

A caller may hand in an open connection as `config.attributes["connection"]` (tests, `memory.upgrade`);
otherwise the URL is taken from `-x url=...`, then MEMORY_DATABASE_URL, then alembic.ini.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection, Engine

from memory.engine import create_engine
from memory.identifiers import FULL_TEXT_COLUMN, FULL_TEXT_INDEX, is_full_text_table, is_vector_table
from memory.migration import VERSION_TABLE, prepare, version_table_options
from memory.models import Base

config = context.config
target_metadata = Base.metadata


def include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Hide what autogenerate must not touch: vector tables, vec0's and FTS5's shadow tables, SQLite
    internals, and PostgreSQL's full-text column and index (none of them are declarative models)."""
    if type_ == "table" and name is not None:
        hidden = is_vector_table(name) or is_full_text_table(name) or name.startswith("sqlite_")
        return not (hidden or name == "alembic_version")
    if type_ == "index" and name is not None:
        return name != FULL_TEXT_INDEX
    if type_ == "column" and name is not None:
        return name != FULL_TEXT_COLUMN
    return True


def _database_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("MEMORY_DATABASE_URL")
    return url or config.get_main_option("sqlalchemy.url") or "sqlite:///memory.db"


def _run(connection: Connection) -> None:
    # memory's revision lives in a table of its own, beside any host application's `alembic_version`
    # (a store made before that keeps it in `alembic_version` until here), in memory's schema when
    # it has one (created here).
    prepare(connection)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        **version_table_options(connection),
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
        # Our SQLite engines emit real BEGINs, so DDL is transactional on both backends.
        transactional_ddl=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    paramstyle: Literal["named"] = "named"
    context.configure(
        url=_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        version_table=VERSION_TABLE,
        include_name=include_name,
        dialect_opts={"paramstyle": paramstyle},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    # An Engine may be handed in too (pytest-alembic does); otherwise build one from the URL.
    engine = given if isinstance(given, Engine) else create_engine(_database_url())
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        if engine is not given:
            engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
