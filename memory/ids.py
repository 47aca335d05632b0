"""How new rows get their ids on SQLite, and the lock that makes it safe.

A bulk insert wants its ids before it runs: SQLite cannot promise the order of the rows RETURNING
gives back for a multi-row insert, and SQLAlchemy then falls back to one statement per row. So the
ids are allocated here as max(id) + 1 ... max(id) + count and the rows go in with one executemany.

That is safe because writers hold the write lock for their whole transaction: the package's write
sessions start with BEGIN IMMEDIATE (`memory.transactions`), so no other connection can insert
between the max(id) read and the insert. Without the lock (a caller's deferred transaction), the
primary key still makes a clash an error rather than an overwrite, and SQLite refuses to let a
transaction write after reading a snapshot another writer has since moved past.

A single row needs none of this: the database assigns its id and the driver reports it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def allocate_ids(connection: Connection, table: sa.Table, count: int) -> range:
    """`count` consecutive ids above every id of `table` (see the module's note on locking)."""
    first = connection.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
    return range(int(first) + 1, int(first) + 1 + count)
