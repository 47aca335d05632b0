"""Statements of the per-call paths, compiled once and, on SQLite, run on the driver's own cursor.

A chat turn runs a handful of tiny statements. On SQLite each costs about 10 us in the driver and
another 40 to 50 us in SQLAlchemy's per-execution bookkeeping (execution context, result set-up,
events), so the paths a turn takes (`ConversationRepository`'s hot methods, the vector store's
single-row writes, the space check, BEGIN) compile their statement once per dialect and run it on the
DB-API connection inside the caller's transaction: values still go through each column type's own
bind processor and rows through its result processor, as SQLAlchemy would do. These statements do not
fire SQLAlchemy's execution events. Driver errors become SQLAlchemy's exception classes here, so
`memory.errors` translates them like any other. Other dialects run the statement through
`Connection.execute`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_Processor = Callable[[Any], Any] | None
_Statement = sa.Select[Any] | sa.Update | sa.Insert | sa.Delete


def driver_execute(connection: Connection, statement: str, parameters: Sequence[Any] = ()) -> Any:
    """Run SQL text on the DB-API connection of `connection` (inside its transaction) and return the
    driver's cursor; a driver error is raised as SQLAlchemy's exception for it. SQLite only (its
    driver's `Connection.execute` shortcut)."""
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    try:
        return dbapi_connection.execute(statement, parameters)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(
            statement, parameters, exc, connection.dialect.loaded_dbapi.Error
        ) from exc


def driver_executemany(connection: Connection, statement: str, rows: Sequence[Sequence[Any]]) -> None:
    """`driver_execute` for many rows (one executemany)."""
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    try:
        dbapi_connection.executemany(statement, rows)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(
            statement, rows[:1], exc, connection.dialect.loaded_dbapi.Error
        ) from exc


def driver_copy(connection: Connection, statement: str, feed: Callable[[Any], None]) -> None:
    """Run `COPY ... FROM STDIN` on the psycopg 3 connection of `connection` (inside its
    transaction), `feed` writing the data into psycopg's `Copy` object; a driver error is raised as
    SQLAlchemy's exception for it, as `driver_execute` does. PostgreSQL only."""
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor: Any = dbapi_connection.cursor()
    try:
        with cursor, cursor.copy(statement) as copy:
            feed(copy)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, (), exc, connection.dialect.loaded_dbapi.Error) from exc


class _Compiled:
    """One statement compiled for one dialect: its SQL, the order and bind processors of its
    parameters, and the result processors of its columns."""

    def __init__(self, statement: _Statement, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.names = list(compiled.positiontup or [])
        # Values fixed in the statement itself (`.limit(1)`); the others come with each call.
        self.fixed = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
        self.binds: list[_Processor] = [
            bind_processor(compiled.binds[name].type, dialect) for name in self.names
        ]
        columns: list[Any] = list(statement.selected_columns) if isinstance(statement, sa.Select) else []
        results = [_result_processor(column.type, dialect) for column in columns]
        self.results = [(i, process) for i, process in enumerate(results) if process is not None]

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        return [
            value if process is None else process(value)
            for value, process in zip(
                (values[name] if name in values else self.fixed[name] for name in self.names),
                self.binds,
                strict=True,
            )
        ]

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        if not self.results:
            return tuple(raw)
        values = list(raw)
        for i, process in self.results:
            if values[i] is not None:
                values[i] = process(values[i])
        return tuple(values)


class Prepared:
    """A fixed Core statement (no expanding parameters), compiled once per dialect."""

    def __init__(self, statement: _Statement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def rows(self, connection: Connection, **values: Any) -> list[tuple[Any, ...]]:
        """Every result row, each value processed by its column's type."""
        if connection.dialect.name != "sqlite":
            return [tuple(row) for row in connection.execute(self.statement, values)]
        compiled = self._for(connection)
        cursor = driver_execute(connection, compiled.sql, compiled.parameters(values))
        return [compiled.row(raw) for raw in cursor.fetchall()]

    def first(self, connection: Connection, **values: Any) -> tuple[Any, ...] | None:
        found = self.rows(connection, **values)
        return found[0] if found else None

    def rowcount(self, connection: Connection, **values: Any) -> int:
        """Run an INSERT, UPDATE or DELETE; how many rows it changed."""
        if connection.dialect.name != "sqlite":
            return int(connection.execute(self.statement, values).rowcount)
        compiled = self._for(connection)
        return int(driver_execute(connection, compiled.sql, compiled.parameters(values)).rowcount)

    def _for(self, connection: Connection) -> _Compiled:
        dialect = connection.dialect
        key = (dialect.name, dialect.paramstyle)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _Compiled(self.statement, dialect)
        return compiled


_bind_processors: dict[tuple[int, str, str], _Processor] = {}


def bind_processor(column_type: Any, dialect: sa.Dialect) -> _Processor:
    """The processor SQLAlchemy's own statements bind `column_type` with on `dialect` (on SQLite,
    times become text with microseconds, the form the ORM stores and compares against), made once
    per column type and dialect."""
    key = (id(column_type), dialect.name, dialect.paramstyle)
    if key not in _bind_processors:
        processor: _Processor = column_type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None and isinstance(column_type, sa.JSON):
            dump = processor  # most metadata is empty
            processor = lambda value: "{}" if value == {} else dump(value)  # noqa: E731
        _bind_processors[key] = processor
    return _bind_processors[key]


def _result_processor(column_type: Any, dialect: sa.Dialect) -> _Processor:
    processor: _Processor = column_type.dialect_impl(dialect).result_processor(dialect, None)
    if processor is not None and isinstance(column_type, sa.JSON):
        parse = processor  # most metadata is empty: a new {} costs a tenth of parsing "{}"
        return lambda value: {} if value == "{}" else parse(value)
    return processor
