"""The secondary indexes a PostgreSQL bulk load drops on entry and builds once on exit.

Maintaining an index row by row costs more than building it afresh from the finished table: at 100k
messages COPY spent 1.65 s in the GIN full-text index against 1.1 s to build it after, and the
B-trees below add their share. What stays: every primary key and unique index (they refuse
duplicates), foreign keys, and the content-key index (embedding inside a bulk load looks identical
content up through it). Without these indexes, every query still answers the same: full-text search
and reads of a conversation's messages scan the table instead.

Each drop and each build is one transaction, so a load cut short (SIGKILL) leaves each index whole
or absent, never half-built; `missing` finds the absent ones, and `build` (the end of the next bulk
load, or `MemoryManager.check(repair=True)`) builds them again.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from sqlalchemy.engine import Connection

from memory.identifiers import FULL_TEXT_COLUMN, FULL_TEXT_INDEX, model_name, sql


class DeferredIndex(NamedTuple):
    """One index a bulk load may drop: its name and the statement that builds it."""

    name: str
    create: str


#: The messages table's: full-text search (the GIN index of migration 0011 on the stored words,
#: same definition) and a conversation's messages in time order.
MESSAGE_INDEXES: Final = (
    DeferredIndex(
        FULL_TEXT_INDEX,
        f"CREATE INDEX IF NOT EXISTS {FULL_TEXT_INDEX} ON messages USING gin ({FULL_TEXT_COLUMN})",
    ),
    DeferredIndex(
        "ix_messages_conversation_id_created_at",
        "CREATE INDEX IF NOT EXISTS ix_messages_conversation_id_created_at "
        "ON messages (conversation_id, created_at)",
    ),
)
# Names come from the constants above and from VectorStore.secondary_indexes (identifiers.py names).
_DROP: Final = "DROP INDEX IF EXISTS {name}"
# Looked up as the statements name them: through the search path (a store may live in a schema).
_ABSENT: Final = "SELECT name FROM unnest(%s::text[]) AS name WHERE to_regclass(name) IS NULL"
# The builds of the whole set run in one transaction; as HNSW's build does, give it memory (a GIN
# build spills to disk in runs of maintenance_work_mem) and the parallel workers the server grants.
_BUILD_SETTINGS: Final = (
    "SELECT set_config('maintenance_work_mem', '1GB', true), "
    "set_config('max_parallel_maintenance_workers', '7', true)"
)


def drop(connection: Connection, indexes: tuple[DeferredIndex, ...]) -> None:
    """Drop these indexes in the caller's transaction (each may already be absent)."""
    for index in indexes:
        connection.exec_driver_sql(sql(_DROP, name=model_name(index.name)))


def missing(connection: Connection, indexes: tuple[DeferredIndex, ...]) -> list[str]:
    """The names of those of `indexes` that do not exist, in order."""
    names = [index.name for index in indexes]
    if not names:
        return []
    absent = {str(name) for (name,) in connection.exec_driver_sql(_ABSENT, (names,))}
    return [name for name in names if name in absent]


def build(connection: Connection, indexes: tuple[DeferredIndex, ...]) -> list[str]:
    """Build those of `indexes` that are missing, in the caller's transaction (it blocks writers of
    their tables, not readers, until it commits); the names of those built."""
    absent = set(missing(connection, indexes))
    if absent:
        connection.exec_driver_sql(_BUILD_SETTINGS)
    for index in indexes:
        if index.name in absent:
            connection.exec_driver_sql(index.create)
    return [index.name for index in indexes if index.name in absent]
