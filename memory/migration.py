"""Run the package's Alembic migrations programmatically, from a checkout or an installed wheel."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from memory.engine import create_engine
from memory.errors import SchemaError, translate_database_errors


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
    """The revision the database is at, or None for an unmigrated database."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(url_or_engine: str | Engine, revision: str = "head") -> None:
    """Upgrade the database to `revision` (default: the newest)."""
    with _connection(url_or_engine) as connection, translate_database_errors(f"upgrade to {revision}"):
        command.upgrade(alembic_config(connection), revision)


def downgrade(url_or_engine: str | Engine, revision: str) -> None:
    """Downgrade the database to `revision` (`"base"` removes every table)."""
    with _connection(url_or_engine) as connection, translate_database_errors(f"downgrade to {revision}"):
        command.downgrade(alembic_config(connection), revision)


def require_head(connection: Connection) -> None:
    """Raise `SchemaError` unless the database is at the package's head revision."""
    current, head = current_revision(connection), head_revision()
    if current != head:
        state = "not migrated" if current is None else f"at revision {current}"
        raise SchemaError(
            f"the database is {state}, but this version of memory needs revision {head}: run "
            "`memory db upgrade` (or `alembic upgrade head`, or memory.upgrade(url)), "
            "or open it with migrate=True"
        )


def ensure_schema(engine: Engine, *, migrate: bool) -> None:
    """Upgrade the database to the head revision (`migrate=True`), or require that it is there."""
    if migrate:
        upgrade(engine)
        return
    with engine.connect() as connection:
        require_head(connection)


@contextmanager
def _connection(url_or_engine: str | Engine) -> Iterator[Connection]:
    engine = create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        if engine is not url_or_engine:
            engine.dispose()


def _migrations_dir() -> Path:
    return Path(str(resources.files("memory.migrations")))
