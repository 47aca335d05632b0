"""Run the package's Alembic migrations programmatically, from a checkout or an installed wheel."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from memory.engine import create_engine, store_schema
from memory.errors import SchemaError, translate_database_errors
from memory.identifiers import FULL_TEXT_INDEX, is_full_text_table, is_vector_table, schema_name, sql
from memory.models import Base

#: memory's own Alembic version table, so its history lives beside the host application's.
VERSION_TABLE: Final = "memory_alembic_version"
#: Where stores made before 0.2 keep memory's revision (Alembic's default table).
LEGACY_VERSION_TABLE: Final = "alembic_version"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic `Config` pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this version of the package knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    """memory's revision in the database (in its own version table, else in Alembic's default one
    for a store not yet adopted), or None when memory has no schema there."""
    return _version_context(connection).get_current_revision() or _legacy_revision(connection)


def version_table_options(connection: Connection) -> dict[str, str | None]:
    """Where memory's Alembic history is kept: its own table, in memory's schema when it has one
    (PostgreSQL reflection without a schema would look along the whole search path)."""
    return {"version_table": VERSION_TABLE, "version_table_schema": store_schema(connection.engine)}


def _version_context(connection: Connection) -> MigrationContext:
    return MigrationContext.configure(connection, opts=version_table_options(connection))


def adopt_legacy_version(connection: Connection) -> None:
    """Move memory's revision from Alembic's default `alembic_version` (where stores made before
    0.2 keep it) into `memory_alembic_version`, so a host application's own history can use the
    default table. A row of another history is left alone; the table goes when it is left empty."""
    revision = _legacy_revision(connection)
    if revision is None:
        return
    ours = _version_context(connection)
    if ours.get_current_revision() is None:
        ours.stamp(ScriptDirectory.from_config(alembic_config()), revision)
    legacy = sa.Table(
        LEGACY_VERSION_TABLE,
        sa.MetaData(),
        sa.Column("version_num", sa.String(32)),
        schema=store_schema(connection.engine),
    )
    connection.execute(sa.delete(legacy).where(legacy.c.version_num == revision))
    if connection.execute(sa.select(sa.func.count()).select_from(legacy)).scalar_one() == 0:
        legacy.drop(connection)


def _legacy_revision(connection: Connection) -> str | None:
    """A revision of memory's history found in Alembic's default version table, if any."""
    schema = store_schema(connection.engine)
    if not sa.inspect(connection).has_table(LEGACY_VERSION_TABLE, schema=schema):
        return None
    legacy = sa.table(LEGACY_VERSION_TABLE, sa.column("version_num"), schema=schema)
    found = set(connection.execute(sa.select(legacy.c.version_num)).scalars())
    matches = found & _revisions()
    return matches.pop() if len(matches) == 1 else None


def upgrade(url_or_engine: str | os.PathLike[str] | Engine, revision: str = "head") -> None:
    """Upgrade the database to `revision` (default: the newest); on PostgreSQL with a `schema`
    (see `memory.create_engine`), create that schema first if it is not there."""
    with _connection(url_or_engine, f"upgrade {{}} to {revision}") as connection:
        _require_known(connection)
        command.upgrade(alembic_config(connection), revision)


def prepare(connection: Connection) -> None:
    """What memory's Alembic environment does before it migrates: create memory's PostgreSQL schema
    if it has one and it is not there yet, and adopt a revision left in `alembic_version`."""
    schema = store_schema(connection.engine)
    if schema is not None:
        connection.exec_driver_sql(sql("CREATE SCHEMA IF NOT EXISTS {schema}", schema=schema_name(schema)))
    adopt_legacy_version(connection)


def downgrade(url_or_engine: str | os.PathLike[str] | Engine, revision: str) -> None:
    """Downgrade the database to `revision` (`"base"` removes every table)."""
    with _connection(url_or_engine, f"downgrade {{}} to {revision}") as connection:
        _require_known(connection)
        command.downgrade(alembic_config(connection), revision)


def require_head(connection: Connection) -> None:
    """Raise `SchemaError` unless the database is at the package's head revision."""
    _require_known(connection)
    current, head = current_revision(connection), head_revision()
    if current != head:
        state = "not migrated" if current is None else f"at revision {current}"
        raise SchemaError(
            f"{describe(connection.engine)} is {state}, but this version of memory needs revision {head}: "
            "run `memory db upgrade` (or `alembic upgrade head`, or memory.upgrade(url)), "
            "or open it with migrate=True"
        )


def ensure_schema(engine: Engine, *, migrate: bool | None) -> None:
    """Bring the database to the head revision, or require that it is there.

    `migrate=True` upgrades whatever the database holds; `False` only checks. `None` (the default of
    `MemoryManager`) upgrades a database memory made (or an empty one) but refuses one that holds
    another application's tables and no memory schema: adding tables to it takes an explicit
    `migrate=True`, `memory.upgrade(url)` or `memory db upgrade`.
    """
    if migrate is None:
        with translate_database_errors(f"open {describe(engine)}"), engine.connect() as connection:
            foreign = _foreign_tables(connection)
        if foreign:
            raise SchemaError(
                f"{describe(engine)} holds tables of another application ({', '.join(foreign[:5])}) and "
                "no memory schema, and memory does not add tables to a database it did not create "
                "unless asked: run `memory db upgrade` (or memory.upgrade(url), or open it with "
                "MemoryManager(url, migrate=True))"
            )
        migrate = True
    if migrate:
        upgrade(engine)
        return
    with translate_database_errors(f"open {describe(engine)}"), engine.connect() as connection:
        require_head(connection)


def _foreign_tables(connection: Connection) -> list[str]:
    """The tables of a database that has no memory revision: none of them memory's (empty: none)."""
    if current_revision(connection) is not None:
        return []
    names = sa.inspect(connection).get_table_names(schema=store_schema(connection.engine))
    return sorted(name for name in names if not is_memory_table(name) and not name.startswith("sqlite_"))


def include_name(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """For a host application's Alembic `env.py` (`context.configure(include_name=...)`): False for
    everything of memory's in the shared database (its tables, vector tables, full-text tables, the
    shadow tables of both, their indexes, and its version table), so the host's autogenerate neither
    drops nor reports them."""
    if type_ == "table":
        return name is None or not is_memory_table(name)
    if type_ in ("index", "unique_constraint", "column", "foreign_key_constraint"):
        table = parent_names.get("table_name")
        return name != FULL_TEXT_INDEX and (table is None or not is_memory_table(table))
    return True


def is_memory_table(name: str) -> bool:
    """Whether a table of the database is one of memory's."""
    return (
        name in Base.metadata.tables
        or name == VERSION_TABLE
        or is_vector_table(name)
        or is_full_text_table(name)
    )


def _require_known(connection: Connection) -> None:
    """`SchemaError` when the database is at a revision this package does not know (a newer one)."""
    current = _version_context(connection).get_current_revision()
    if current is not None and current not in _revisions():
        raise SchemaError(
            f"{describe(connection.engine)} is at memory schema revision {current!r}, which this version "
            f"of memory (newest revision {head_revision()}) does not know: a newer memory wrote it; "
            "upgrade the memory package"
        )


def _revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def describe(engine: Engine) -> str:
    """The database an engine opens, for messages: a SQLite file's path, else the URL without its
    password."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return str(url.database or ":memory:")
    schema = store_schema(engine)
    where = url.render_as_string(hide_password=True)
    return where if schema is None else f"{where} (schema {schema})"


@contextmanager
def _connection(url_or_engine: str | os.PathLike[str] | Engine, action: str) -> Iterator[Connection]:
    """A transaction on the database, driver errors translated (`action` with `{}` for its name)."""
    engine = url_or_engine if isinstance(url_or_engine, Engine) else create_engine(url_or_engine)
    try:
        with translate_database_errors(action.format(describe(engine))), engine.begin() as connection:
            yield connection
    finally:
        if engine is not url_or_engine:
            engine.dispose()


def _migrations_dir() -> Path:
    return Path(str(resources.files("memory.migrations")))
