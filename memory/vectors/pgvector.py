"""pgvector storage: one table per embedding space, `vector(<dims>)` with an HNSW cosine index.

Each space's table references `messages` with ON DELETE CASCADE, so a message's vectors go with it.
Exact search reads every row of the (filtered) table, as sqlite-vec does; approximate search walks
the HNSW index, with pgvector 0.8's iterative scan so that filters still return k rows.
"""

from __future__ import annotations

import functools
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Connection

from memory.deferred_indexes import DeferredIndex
from memory.filters import SearchFilter
from memory.identifiers import Fragment, conjunction, name_list, sql, vector_table_name
from memory.statements import driver_copy
from memory.vectors import pgcopy
from memory.vectors.base import VectorColumns

_CREATE_TABLE: Final = (
    "CREATE TABLE IF NOT EXISTS {table} ("
    "message_id integer PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE, "
    "conversation_id integer NOT NULL, role varchar(16) NOT NULL, created_at bigint NOT NULL, "
    "embedding vector({dimensions}) NOT NULL, "
    "user_key bigint NOT NULL DEFAULT 0, agent_key bigint NOT NULL DEFAULT 0)"
)
_CREATE_HNSW: Final = (
    "CREATE INDEX IF NOT EXISTS {table}_hnsw ON {table} USING hnsw (embedding vector_cosine_ops)"
)
_CREATE_SCOPE_INDEX: Final = (
    "CREATE INDEX IF NOT EXISTS {table}_scope ON {table} (conversation_id, created_at)"
)
# A scoped search reads one owner's rows through this index, not the whole table.
_CREATE_OWNER_INDEX: Final = "CREATE INDEX IF NOT EXISTS {table}_owner ON {table} (user_key, agent_key)"
_DROP_TABLE: Final = "DROP TABLE IF EXISTS {table}"
_DROP_HNSW: Final = "DROP INDEX IF EXISTS {table}_hnsw"
_INDEX_NAME: Final = "{table}_hnsw"
_SCOPE_INDEX_NAME: Final = "{table}_scope"
_OWNER_INDEX_NAME: Final = "{table}_owner"
# A batch of at least this many rows, into a table of at most RATIO times as many, rebuilds the index.
_REBUILD_MIN_ROWS: Final = 5000
_REBUILD_RATIO: Final = 4
# The build slows down sharply once its graph outgrows maintenance_work_mem (64 MB by default: ~40k
# vectors of 384 dimensions; 1M take ~2 GB); raised for the building transaction only, with as many
# parallel workers as the server grants (pgvector builds HNSW in parallel since 0.6).
_BUILD_SETTINGS: Final = (
    "SELECT set_config('maintenance_work_mem', '2GB', true), "
    "set_config('max_parallel_maintenance_workers', '7', true)"
)
_HAS_INDEX: Final = "SELECT to_regclass(%s) IS NOT NULL"
# Binary COPY, the columns in the order memory.vectors.pgcopy writes them.
_COPY: Final = "COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)"
_INSERT: Final = (
    "INSERT INTO {table} (message_id, conversation_id, role, created_at, user_key, agent_key, embedding) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s::vector)"
)
# Exact: the OFFSET 0 fence keeps the planner from answering the ORDER BY with the HNSW index.
_EXACT: Final = (
    "SELECT message_id, distance FROM (SELECT message_id, embedding <=> %s::vector AS distance "
    "FROM {table} WHERE {conditions} OFFSET 0) AS scanned ORDER BY distance, message_id LIMIT %s"
)
_APPROXIMATE: Final = (
    "SELECT message_id, embedding <=> %s::vector AS distance FROM {table} WHERE {conditions} "
    "ORDER BY embedding <=> %s::vector LIMIT %s"
)
_EF_SEARCH: Final = (
    "SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', %s, true)"
)
# The HNSW candidate list: pgvector's default of 40 gave recall@10 0.72 on clustered test data. At
# 1M (bench/search.py's vectors, 100 held-out queries, one build of the default graph) recall@10
# was 0.906 at 100 (1.8 ms), 0.943 at 200, 0.955 at 300 (3.4 ms) and at 400.
_MIN_EF_SEARCH: Final = 300
_DELETE: Final = "DELETE FROM {table} WHERE message_id = ANY(%s)"
_COUNT: Final = "SELECT count(*) FROM {table}"
_GET: Final = "SELECT message_id, embedding::text FROM {table} WHERE message_id = ANY(%s)"
_PRESENT: Final = "SELECT message_id FROM {table} WHERE message_id = ANY(%s)"
_DISTANCES: Final = "SELECT message_id, embedding <=> %s::vector FROM {table} WHERE message_id = ANY(%s)"
_IDS: Final = "SELECT message_id FROM {table}"

# Always true, so the filters of SearchFilter.clauses can follow it with AND (or be absent).
_ALL: Final = Fragment("TRUE")


class PgVectorStore:
    """Raw pgvector SQL on `connection`; every statement joins the connection's open transaction."""

    def __init__(
        self, connection: Connection, space_id: int, dimensions: int, *, approximate: bool = False
    ) -> None:
        self._connection = connection
        self._table = vector_table_name(space_id)
        self._dimensions = int(dimensions)
        self._approximate = approximate

    @property
    def table(self) -> str:
        return self._table

    def create(self) -> None:
        for template in (_CREATE_TABLE, _CREATE_HNSW, _CREATE_SCOPE_INDEX, _CREATE_OWNER_INDEX):
            self._connection.exec_driver_sql(self._sql(template))

    def drop(self) -> None:
        self._connection.exec_driver_sql(self._sql(_DROP_TABLE))

    def insert(self, columns: VectorColumns, matrix: npt.NDArray[np.float32]) -> None:
        """Store the rows with one binary COPY. Into a table without its HNSW index (`drop_index`:
        a bulk load) that is all; a batch that outweighs a table with the index rebuilds it."""
        rebuild = (
            len(columns) >= _REBUILD_MIN_ROWS
            and self.has_index()
            and self.count() <= _REBUILD_RATIO * len(columns)
        )
        if rebuild:
            # Inserting into HNSW costs ~7x more per row than building it afresh (10k rows: 617
            # rows/s against 2.2 s for the whole build), so a batch that outweighs the table
            # drops the index and builds it again, in this transaction. DROP INDEX locks the
            # table until commit: searches of this space wait for that batch to commit.
            self.drop_index()
        statement = self._sql(_COPY, columns=name_list(pgcopy.COLUMNS))

        def feed(copy: Any) -> None:
            copy.write(pgcopy.HEADER)
            for chunk in pgcopy.binary_rows(columns, matrix):
                copy.write(chunk)
            copy.write(pgcopy.TRAILER)

        driver_copy(self._connection, statement, feed)
        if rebuild:
            self.build_index()

    def has_index(self) -> bool:
        """Whether the space's HNSW index exists (a bulk load drops it, see `drop_index`)."""
        name = self._sql(_INDEX_NAME)
        return bool(self._connection.exec_driver_sql(_HAS_INDEX, (name,)).scalar_one())

    def drop_index(self) -> None:
        """Drop the HNSW index: rows then go in without it, and approximate searches read every row
        (exact answers, at exact search's cost) until `build_index`."""
        self._connection.exec_driver_sql(self._sql(_DROP_HNSW))

    def secondary_indexes(self) -> tuple[DeferredIndex, ...]:
        """The scope and owner B-trees (their statements are `create`'s own)."""
        return (
            DeferredIndex(self._sql(_SCOPE_INDEX_NAME), self._sql(_CREATE_SCOPE_INDEX)),
            DeferredIndex(self._sql(_OWNER_INDEX_NAME), self._sql(_CREATE_OWNER_INDEX)),
        )

    def build_index(self) -> None:
        """Build the HNSW index if it is missing (it blocks writes to the table, not reads)."""
        self._connection.exec_driver_sql(_BUILD_SETTINGS)
        self._connection.exec_driver_sql(self._sql(_CREATE_HNSW))

    def insert_one(
        self,
        message_id: int,
        conversation_id: int,
        role: str,
        created_us: int,
        owner_keys: tuple[int, int],
        vector: npt.NDArray[np.float32],
    ) -> None:
        row = (message_id, conversation_id, role, created_us, *owner_keys, _vector_text(vector))
        self._connection.exec_driver_sql(self._sql(_INSERT), row)

    def search(
        self, query: npt.NDArray[np.float32], k: int, where: SearchFilter, *, precise: int | None = None
    ) -> list[tuple[int, float]]:
        filters, params = where.vector_clauses("%s")
        conditions = [_ALL, *filters]
        vector = _vector_text(query)
        if self._approximate:
            # ef_search bounds the candidate list; the iterative scan keeps going until the
            # filters have let k rows through (pgvector 0.8). Both last until the transaction ends.
            # `precise` sizes the list for the first rows only (a hybrid search fuses 50); below
            # 75 rows the floor decides.
            ef_search = min(1000, max(_MIN_EF_SEARCH, 4 * (k if precise is None else precise)))
            self._connection.exec_driver_sql(_EF_SEARCH, (str(ef_search), "relaxed_order"))
            statement = self._sql(_APPROXIMATE, conditions=conjunction(conditions))
            result = self._connection.exec_driver_sql(statement, (vector, *params, vector, k))
            # relaxed_order may hand back neighbours slightly out of order.
            return sorted(((int(i), float(d)) for i, d in result), key=lambda hit: (hit[1], hit[0]))
        statement = self._sql(_EXACT, conditions=conjunction(conditions))
        result = self._connection.exec_driver_sql(statement, (vector, *params, k))
        return [(int(message_id), float(distance)) for message_id, distance in result]

    def delete(self, message_ids: list[int]) -> int:
        return int(self._connection.exec_driver_sql(self._sql(_DELETE), (message_ids,)).rowcount)

    def erase(self, message_ids: list[int]) -> int:
        """`delete`: the server keeps dead rows until VACUUM (see the README)."""
        return self.delete(message_ids)

    def repack(self) -> int:
        """Nothing: the server reuses the room of dead rows after (auto)VACUUM."""
        return 0

    def count(self) -> int:
        return int(self._connection.exec_driver_sql(self._sql(_COUNT)).scalar_one())

    def get(self, message_ids: list[int]) -> dict[int, npt.NDArray[np.float32]]:
        rows = self._connection.exec_driver_sql(self._sql(_GET), (message_ids,))
        return {int(message_id): _parse_vector(text) for message_id, text in rows}

    def distances(self, query: npt.NDArray[np.float32], message_ids: list[int]) -> dict[int, float]:
        """Measured in the server: one number per row crosses the wire, not the vector's text."""
        rows = self._connection.exec_driver_sql(self._sql(_DISTANCES), (_vector_text(query), message_ids))
        return {int(message_id): float(distance) for message_id, distance in rows}

    def present(self, message_ids: list[int]) -> set[int]:
        return {
            int(i) for i in self._connection.exec_driver_sql(self._sql(_PRESENT), (message_ids,)).scalars()
        }

    def ids(self) -> list[int]:
        return [int(i) for i in self._connection.exec_driver_sql(self._sql(_IDS)).scalars()]

    def _sql(self, template: str, **fragments: Fragment) -> str:
        """A statement template of this module for this space's table."""
        return sql(template, table=self._table, dimensions=self._dimensions, **fragments)


def _vector_text(vector: npt.NDArray[np.float32]) -> str:
    """pgvector's text form, exact: nine significant digits give back every float32 (FLT_DECIMAL_DIG),
    and one format per dimension count runs 7x faster than a repr per value (bulk copies spent most
    of their time here)."""
    values = vector.tolist()
    return _vector_format(len(values)) % tuple(values)


@functools.lru_cache(maxsize=16)
def _vector_format(dimensions: int) -> str:
    return "[" + ",".join(["%.9g"] * dimensions) + "]"


def _parse_vector(text: str) -> npt.NDArray[np.float32]:
    return np.array(text[1:-1].split(","), dtype=np.float32)
