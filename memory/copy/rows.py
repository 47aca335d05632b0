"""A copy's rows: the source's conversations read in id order with their messages, in batches of
about so many messages; and the destination's inserts, with ids given or new, and PostgreSQL's
sequences kept past them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from memory.bulk import insert_columns
from memory.copy.checksums import CONVERSATIONS, MESSAGES, Row, conversation_digest
from memory.ids import allocate_ids

#: Conversations read per query, and ids per IN list.
PAGE: Final = 500
_ADVANCE_SEQUENCE: Final = sa.text(
    "SELECT setval(s::regclass, greatest(:top, coalesce(pg_sequence_last_value(s::regclass), 0))) "
    "FROM (SELECT pg_get_serial_sequence(:table, 'id') AS s) AS q"
)
_NEXT_IDS: Final = sa.text(
    "SELECT nextval(pg_get_serial_sequence(:table, 'id')::regclass) FROM generate_series(1, :n)"
)


class StoredConversation(NamedTuple):
    """A conversation's row and its messages' rows (in id order), as the models read them."""

    row: Row
    messages: list[Row]

    def digest(self) -> str:
        return conversation_digest(self.row, self.messages)


def conversation_batches(
    connection: Connection, after: int, upto: int | None, batch_size: int, *, only_sourced: bool = False
) -> Iterator[list[StoredConversation]]:
    """The conversations after id `after` (up to `upto`; with `only_sourced`, those with a source
    id), in id order, with their messages, in batches of at most `batch_size` messages (a longer
    conversation is a batch of its own)."""
    while True:
        query = sa.select(CONVERSATIONS).where(CONVERSATIONS.c.id > after)
        if upto is not None:
            query = query.where(CONVERSATIONS.c.id <= upto)
        if only_sourced:
            query = query.where(CONVERSATIONS.c.source_id.is_not(None))
        rows = connection.execute(query.order_by(CONVERSATIONS.c.id).limit(PAGE)).mappings().all()
        if not rows:
            return
        counts = _message_counts(connection, [row["id"] for row in rows])
        taken, size = 0, 0
        while taken < len(rows):
            size += counts.get(rows[taken]["id"], 0)
            if taken and size > batch_size:
                break
            taken += 1
        chosen = rows[:taken]
        messages = messages_of(connection, [row["id"] for row in chosen])
        yield [StoredConversation(dict(row), messages.get(row["id"], [])) for row in chosen]
        after = chosen[-1]["id"]


def conversations_by_id(connection: Connection, ids: Sequence[int]) -> dict[int, Row]:
    found: dict[int, Row] = {}
    for start in range(0, len(ids), PAGE):
        query = sa.select(CONVERSATIONS).where(CONVERSATIONS.c.id.in_(list(ids[start : start + PAGE])))
        found.update((row["id"], dict(row)) for row in connection.execute(query).mappings())
    return found


def messages_of(connection: Connection, conversation_ids: Sequence[int]) -> dict[int, list[Row]]:
    """The messages of these conversations, in id order, by conversation."""
    found: dict[int, list[Row]] = {}
    for start in range(0, len(conversation_ids), PAGE):
        chunk = list(conversation_ids[start : start + PAGE])
        query = sa.select(MESSAGES).where(MESSAGES.c.conversation_id.in_(chunk)).order_by(MESSAGES.c.id)
        for row in connection.execute(query).mappings():
            found.setdefault(row["conversation_id"], []).append(dict(row))
    return found


def holds_rows(connection: Connection) -> bool:
    """Whether the store holds a conversation or a message."""
    query = sa.select(sa.exists(sa.select(CONVERSATIONS.c.id)) | sa.exists(sa.select(MESSAGES.c.id)))
    return bool(connection.execute(query).scalar_one())


def count_rows(connection: Connection, table: sa.Table, *, upto: int | None = None) -> int:
    """The rows of `table` (with `upto`: of the conversations up to that id)."""
    query = sa.select(sa.func.count()).select_from(table)
    if upto is not None:
        column = table.c.conversation_id if table is MESSAGES else table.c.id
        query = query.where(column <= upto)
    return int(connection.execute(query).scalar_one())


def taken_ids(connection: Connection, table: sa.Table, ids: list[int]) -> set[int]:
    """Which of these ids `table` holds."""
    taken: set[int] = set()
    for start in range(0, len(ids), PAGE):
        query = sa.select(table.c.id).where(table.c.id.in_(ids[start : start + PAGE]))
        taken.update(int(i) for i in connection.execute(query).scalars())
    return taken


def insert_rows(
    connection: Connection, table: sa.Table, rows: Sequence[Row], *, staged: bool = False
) -> None:
    """Insert whole rows, ids given, through the bulk path (`memory.bulk.insert_columns`)."""
    if rows:
        columns = {column.key: [row[column.key] for row in rows] for column in table.c}
        insert_columns(connection, table, columns, staged=staged)


def new_ids(connection: Connection, table: sa.Table, count: int) -> list[int]:
    """`count` unused ids, ascending: past every id on SQLite (see `memory.ids`), from the table's
    sequence on PostgreSQL."""
    if connection.dialect.name != "postgresql":
        return list(allocate_ids(connection, table, count))
    advance_sequences(connection, [table])
    return sorted(int(i) for i in connection.execute(_NEXT_IDS, {"table": table.name, "n": count}).scalars())


def advance_sequences(connection: Connection, tables: list[sa.Table]) -> None:
    """PostgreSQL: move each table's id sequence past the ids given explicitly (never back)."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        top = connection.execute(sa.select(sa.func.max(table.c.id))).scalar_one()
        if top is not None:
            connection.execute(_ADVANCE_SEQUENCE, {"top": int(top), "table": table.name})


def _message_counts(connection: Connection, conversation_ids: list[int]) -> dict[int, int]:
    query = (
        sa.select(MESSAGES.c.conversation_id, sa.func.count())
        .where(MESSAGES.c.conversation_id.in_(conversation_ids))
        .group_by(MESSAGES.c.conversation_id)
    )
    return {int(c): int(n) for c, n in connection.execute(query)}
