"""Inserting rows given column by column, fast: one executemany with values bound as the ORM binds them,
no ORM objects made, and detached model instances built for the result.

Bulk loads add thousands of messages per call; the per-row bookkeeping of `Connection.execute` and
of the ORM's unit of work cost more than SQLite's own insert there. Statements are still compiled by
SQLAlchemy, and every value goes through its column type's own bind processor (on SQLite, times
become text with microseconds, the form the ORM stores and compares against).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm.attributes import instance_state

from memory.identifiers import name_list, placeholders, sql
from memory.ids import allocate_ids
from memory.statements import bind_processor, driver_copy, driver_execute, driver_executemany

_Model = TypeVar("_Model")
_NOT_MEMOISED: Final = object()

# A connection's own scratch copy of a table, for bulk inserts that must fire its insert triggers
# from one statement (no types: values keep what they were bound as).
_STAGE_CREATE: Final = "CREATE TEMP TABLE IF NOT EXISTS {stage} ({columns})"
_STAGE_INSERT: Final = "INSERT INTO temp.{stage} ({columns}) VALUES ({marks})"
_STAGED_TO_TABLE: Final = "INSERT INTO main.{table} ({columns}) SELECT {columns} FROM temp.{stage}"
_STAGE_CLEAR: Final = "DELETE FROM temp.{stage}"

# PostgreSQL: ids for a COPY, from the id column's own sequence (what a plain INSERT would take),
# as one array value; and each column's type, which binary COPY must send exactly.
# The sequence is looked up once (an InitPlan), not per row: per row, the catalog look-up cost 6 us
# an id, 0.6 s of a 100k bulk load.
_NEXT_IDS: Final = (
    "SELECT array_agg(nextval((SELECT pg_get_serial_sequence(%s, 'id'))::regclass)) "
    "FROM generate_series(1, %s)"
)
_COLUMN_TYPES: Final = (
    "SELECT attname, atttypid::int FROM pg_attribute "
    "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped"
)
_COPY: Final = "COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)"
_JSON_OID: Final = 114
_TEXT_OID: Final = 25
#: From this many rows on, PostgreSQL inserts with COPY: one round trip and no per-row statement
#: (bench/search.py --backend postgres: INSERT ... RETURNING held a 1M load to 5k messages/s).
COPY_MIN_ROWS: Final = 64

_compiled: dict[tuple[str, tuple[str, ...], str, str], tuple[str, list[str]]] = {}


def insert_columns(
    connection: Connection, table: sa.Table, columns: dict[str, list[Any]], *, staged: bool = False
) -> list[int]:
    """Insert rows given column by column (every list of the same length), returning their new ids
    in order. An `id` column gives the rows their ids (free ones: the primary key refuses a taken one).

    On SQLite one row lets the database assign its id; more rows get ids from `allocate_ids` and go
    in with one executemany, or with `staged`, through a temporary table and one INSERT ... SELECT so
    the table's AFTER INSERT triggers fire inside one statement. PostgreSQL takes COPY_MIN_ROWS rows
    or more with one binary COPY, their ids drawn from the table's sequence first, and fewer with
    INSERT ... RETURNING in parameter order.
    """
    count = len(next(iter(columns.values())))
    dialect = connection.dialect
    if dialect.name == "postgresql" and count >= COPY_MIN_ROWS:
        return _copy_columns(connection, table, columns, count)
    if dialect.name != "sqlite":
        rows = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
        result = connection.execute(
            sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        return [int(new_id) for new_id in result.scalars()]
    if count == 1:
        statement, names = _statement(connection, table, list(columns))
        process = _processors(connection, table, names)
        values = [columns[name][0] for name in names]
        row = [value if p is None else p(value) for value, p in zip(values, process, strict=True)]
        new_id = driver_execute(connection, statement, row).lastrowid
        return [int(new_id)]
    columns = dict(columns)
    given = columns.pop("id", None)  # the caller's own ids (a restore puts messages back with theirs)
    ids = allocate_ids(connection, table, count) if given is None else range(0)
    statement, names = _statement(connection, table, ["id", *columns])
    if names[0] != "id":
        raise AssertionError(f"{table.name}: expected the id column first, got {names}")
    processors = _processors(connection, table, names[1:])
    values = [
        columns[name] if p is None else _bound(p, columns[name])
        for name, p in zip(names[1:], processors, strict=True)
    ]
    bound_rows = list(zip(ids if given is None else given, *values, strict=True))
    if staged:
        _insert_staged(connection, table, names, bound_rows)
    else:
        driver_executemany(connection, statement, bound_rows)
    return list(ids) if given is None else [int(i) for i in given]


def _copy_columns(
    connection: Connection, table: sa.Table, columns: dict[str, list[Any]], count: int
) -> list[int]:
    """`insert_columns` on PostgreSQL with one binary COPY (the driver's C dumpers, in the types the
    table's columns have), the ids given or drawn from the sequence."""
    columns = dict(columns)
    given = columns.pop("id", None)
    if given is None:
        drawn = connection.exec_driver_sql(_NEXT_IDS, (table.name, count)).scalar_one()
        ids = sorted(int(new_id) for new_id in drawn)  # rows in id order, as RETURNING gave them
    else:
        ids = [int(i) for i in given]
    names = ["id", *columns]
    types = {str(name): int(oid) for name, oid in connection.exec_driver_sql(_COLUMN_TYPES, (table.name,))}
    oids = [types[table.c[name].name] for name in names]
    processors = _processors(connection, table, names[1:])
    values = []
    for at, (name, process) in enumerate(zip(names[1:], processors, strict=True), start=1):
        if oids[at] == _JSON_OID:
            # json's binary form is its text: sent as text, serialised once per distinct empty
            # object (most metadata), not wrapped and dumped by the driver row by row.
            values.append(_bound(json.dumps, columns[name]))
            oids[at] = _TEXT_OID
        else:
            values.append(columns[name] if process is None else _bound(process, columns[name]))
    statement = sql(
        _COPY, table=name_list([table.name]), columns=name_list(table.c[name].name for name in names)
    )

    def feed(copy: Any) -> None:
        copy.set_types(oids)
        for row in zip(ids, *values, strict=True):
            copy.write_row(row)

    driver_copy(connection, statement, feed)
    return ids


def detached(model: type[_Model], **columns: Any) -> _Model:
    """A detached instance holding exactly these column values, as if loaded from the database and
    its session closed (what `make_transient_to_detached` makes)."""
    (row,) = detached_rows(model, tuple(columns), [tuple(columns.values())])
    return row


def detached_rows(
    model: type[_Model], names: tuple[str, ...], rows: Iterable[tuple[Any, ...]]
) -> list[_Model]:
    """`detached(model, **dict(zip(names, values)))` for each row of values, with the per-model work
    done once (bulk calls return thousands of rows: 1.5 us a row instead of 9)."""
    mapper = model.__mapper__  # type: ignore[attr-defined]
    key_names, unloaded = _identity_layout(mapper, frozenset(names))
    key_positions = [names.index(name) for name in key_names]
    new_instance, identity = mapper.class_manager.new_instance, mapper._identity_class
    made: list[_Model] = []
    for values in rows:
        row = new_instance()
        row.__dict__.update(zip(names, values, strict=True))
        state = instance_state(row)
        state.key = (identity, tuple(values[i] for i in key_positions), None)
        if unloaded:  # columns left out: reading one later says the row is detached
            state._expire_attributes(state.dict, unloaded)
        made.append(row)
    return made


_layouts: dict[tuple[Any, frozenset[str]], tuple[tuple[str, ...], frozenset[str]]] = {}


def _identity_layout(mapper: Any, given: frozenset[str]) -> tuple[tuple[str, ...], frozenset[str]]:
    """The attribute names of the primary key, and the column attributes a row of `given` leaves
    out. Relationships need nothing: unloaded, they refuse to load on a detached row anyway."""
    layout = _layouts.get((mapper, given))
    if layout is None:
        key_names = tuple(mapper.get_property_by_column(column).key for column in mapper.primary_key)
        unloaded = frozenset(mapper.column_attrs.keys()) - given
        layout = _layouts[(mapper, given)] = (key_names, unloaded)
    return layout


_Processor = Callable[[Any], Any] | None
_processor_lists: dict[tuple[str, tuple[str, ...], str], list[_Processor]] = {}


def _processors(
    connection: Connection, table: sa.Table, names: list[str]
) -> list[Callable[[Any], Any] | None]:
    """The bind processors of `names`, in order, looked up once per table, columns and dialect."""
    key = (table.name, tuple(names), connection.dialect.name)
    found = _processor_lists.get(key)
    if found is None:
        found = [bind_processor(table.c[name].type, connection.dialect) for name in names]
        _processor_lists[key] = found
    return found


def _statement(connection: Connection, table: sa.Table, keys: list[str]) -> tuple[str, list[str]]:
    """The INSERT for `keys` compiled once per dialect, and the column order of its `?` marks."""
    cache_key = (table.name, tuple(keys), connection.dialect.name, connection.dialect.paramstyle)
    found = _compiled.get(cache_key)
    if found is None:
        compiled = sa.insert(table).compile(dialect=connection.dialect, column_keys=keys)
        found = _compiled[cache_key] = (str(compiled), list(compiled.positiontup or []))
    return found


def _bound(process: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """A column's values through its bind processor, run once per distinct time and for empty
    metadata (a batch shares one time; most metadata is empty)."""
    if len(values) > 1 and all(value is values[0] for value in values):  # one object for the batch
        return _bound(process, values[:1]) * len(values)
    memo: dict[Any, Any] = {}
    result = []
    for value in values:
        key = value if isinstance(value, datetime) else ("{}" if value == {} else _NOT_MEMOISED)
        if key is _NOT_MEMOISED:
            result.append(process(value))
            continue
        if key not in memo:
            memo[key] = process(value)
        result.append(memo[key])
    return result


def _insert_staged(
    connection: Connection, table: sa.Table, names: list[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert many rows into `table` with one INSERT ... SELECT from a temporary table, so its
    AFTER INSERT triggers fire inside one statement."""
    parts = {
        "table": name_list([table.name]),
        "stage": name_list([f"staged_{table.name}"]),
        "columns": name_list(table.c[name].name for name in names),
    }
    driver_execute(connection, sql(_STAGE_CREATE, **parts))
    try:
        driver_executemany(connection, sql(_STAGE_INSERT, **parts, marks=placeholders(len(names))), rows)
        driver_execute(connection, sql(_STAGED_TO_TABLE, **parts))
    finally:
        driver_execute(connection, sql(_STAGE_CLEAR, **parts))
