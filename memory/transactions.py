"""What a SQLite transaction of this package knows about itself: whether it holds the write lock, and
whether it has written anything yet.

pysqlite's own transaction handling is off (the engine sets `isolation_level = None`), so every
transaction starts here, in the engine's "begin" listener, with an explicit BEGIN. Two facts are
recorded on the connection at that moment, and read by whoever needs them:

- the BEGIN mode: a writer's transaction starts with BEGIN IMMEDIATE (execution option
  `BEGIN_OPTION`), so it holds the database's write lock from its first statement to its end. Code
  that reads and then writes on the strength of what it read (`memory.ids.allocate_ids`) relies on
  it;
- the driver's `total_changes` at BEGIN: a transaction has written when the count moved. The
  in-memory vector index answers only for transactions that have not, since its mirror reflects
  committed rows (`memory.vectors.index`).
"""

from __future__ import annotations

from typing import Final, Literal

from sqlalchemy.engine import Connection

#: Execution option read by `begin`: "immediate" takes the write lock at BEGIN.
BEGIN_OPTION: Final = "memory_begin"

_BEGIN_STATEMENTS: Final = {"deferred": "BEGIN", "immediate": "BEGIN IMMEDIATE"}
_CHANGES_AT_BEGIN: Final = "memory.changes_at_begin"
_MODE: Final = "memory.begin_mode"

BeginMode = Literal["deferred", "immediate"]


def begin(connection: Connection) -> None:
    """Start the connection's transaction in the mode its execution options ask for, and record
    what `has_written` and `holds_write_lock` need (the engine's "begin" listener)."""
    mode = connection.get_execution_options().get(BEGIN_OPTION, "deferred")
    connection.exec_driver_sql(_BEGIN_STATEMENTS[mode])
    connection.info[_MODE] = mode
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None:
        connection.info[_CHANGES_AT_BEGIN] = dbapi_connection.total_changes


def has_written(connection: Connection) -> bool:
    """True when this transaction has changed rows (or when that cannot be told: a connection not
    begun by `begin`), so its snapshot may be ahead of what other connections see."""
    dbapi_connection = connection.connection.dbapi_connection
    begun = connection.info.get(_CHANGES_AT_BEGIN)
    return begun is None or dbapi_connection is None or dbapi_connection.total_changes != begun


def holds_write_lock(connection: Connection) -> bool:
    """True when the transaction began with BEGIN IMMEDIATE (a `session_factory(write=True)` session)."""
    return bool(connection.info.get(_MODE) == "immediate")
