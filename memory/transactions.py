"""What a SQLite transaction of this package knows about itself: whether it holds the write lock, and
whether it has written anything yet.

pysqlite's own transaction handling is off (the engine sets `isolation_level = None`), so every
transaction starts here, in the engine's "begin" listener, with an explicit BEGIN. Two facts are
recorded on the connection at that moment, and read by whoever needs them:

- the BEGIN mode: a writer's transaction starts with BEGIN IMMEDIATE (execution option
  `BEGIN_OPTION`, or `next_begin` for one transaction of a kept connection), so it holds the
  database's write lock from its first statement to its end. Code
  that reads and then writes on the strength of what it read (`memory.ids.allocate_ids`) relies on
  it;
- the driver's `total_changes` at BEGIN: a transaction has written when the count moved. The
  in-memory vector index answers only for transactions that have not, since its mirror reflects
  committed rows (`memory.vectors.index`).

`Unit` is one facade transaction: the connection, with an ORM session joined to it on demand.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Final, Literal, Protocol, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from memory.statements import driver_execute

#: Execution option read by `begin`: "immediate" takes the write lock at BEGIN.
BEGIN_OPTION: Final = "memory_begin"

_BEGIN_STATEMENTS: Final = {"deferred": "BEGIN", "immediate": "BEGIN IMMEDIATE"}
_CHANGES_AT_BEGIN: Final = "memory.changes_at_begin"
_NEXT: Final = "memory.next_begin"

BeginMode = Literal["deferred", "immediate"]


def begin(connection: Connection) -> None:
    """Start the connection's transaction in the mode asked for (`next_begin`, else its execution
    options), and record what `has_written` needs (the engine's "begin" listener)."""
    mode = connection.info.pop(_NEXT, None) or connection.get_execution_options().get(
        BEGIN_OPTION, "deferred"
    )
    driver_execute(connection, _BEGIN_STATEMENTS[mode])
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None:
        connection.info[_CHANGES_AT_BEGIN] = dbapi_connection.total_changes


def next_begin(connection: Connection, mode: BeginMode) -> None:
    """Make the connection's next transaction start in `mode` (whatever its execution options say);
    only SQLite has modes."""
    if connection.dialect.name == "sqlite":
        connection.info[_NEXT] = mode


def has_written(connection: Connection) -> bool:
    """True when this transaction has changed rows (or when that cannot be told: a connection not
    begun by `begin`), so its snapshot may be ahead of what other connections see."""
    dbapi_connection = connection.connection.dbapi_connection
    begun = connection.info.get(_CHANGES_AT_BEGIN)
    return begun is None or dbapi_connection is None or dbapi_connection.total_changes != begun


class Unit:
    """One transaction of the facade: a `Connection` already begun, and an ORM `Session` joined to it
    only when a repository asks for one (`session`). The per-call paths need no Session, and
    starting one cost more than their statements; `close()` detaches whatever the Session loaded."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._session: Session | None = None

    def connection(self) -> Connection:
        return self._connection

    @property
    def session(self) -> Session:
        if self._session is None:
            # Joins the connection's transaction: committing or rolling back stays the caller's.
            self._session = Session(bind=self._connection, expire_on_commit=False)
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


#: What repositories work in: a caller's `Session`, or a facade `Unit`.
Work = Session | Unit

_T = TypeVar("_T")


class Alongside(Protocol):
    """Starts `work` in a read transaction of its own, on another connection and thread, and gives
    its future; or None (nothing started) when no connection is to spare right now. The other
    transaction sees what is committed, not the caller's own changes."""

    def __call__(self, work: Callable[[Unit], _T], /) -> Future[_T] | None: ...


def orm_session(work: Work) -> Session:
    """The ORM session of `work` (a Unit makes one on first use)."""
    return work if isinstance(work, Session) else work.session
