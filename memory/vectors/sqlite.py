"""sqlite-vec storage: one vec0 virtual table per embedding space, plus a trigger that deletes a
message's vector with the message (ON DELETE CASCADE does not reach virtual tables)."""

from __future__ import annotations

import functools
from typing import Final

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Connection

from memory.deferred_indexes import DeferredIndex
from memory.filters import SearchFilter
from memory.identifiers import Fragment, Identifier, conjunction, placeholders, sql, vector_table_name
from memory.statements import driver_execute, driver_executemany
from memory.vectors import vec0_chunks
from memory.vectors.base import VectorColumns, cosine_distances

# SQLite's default limit on bound parameters is 32766; stay far below it.
_CHUNK: Final = 500


_CREATE_TABLE: Final = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING vec0(message_id integer primary key, "
    "conversation_id integer, role text, created_at integer, user_key integer, agent_key integer, "
    "embedding float[{dimensions}] distance_metric=cosine{bits_column})"
)
_BITS_COLUMN: Final = ", embedding_bits bit[{dimensions}]"
# ON DELETE CASCADE does not reach virtual tables: the trigger deletes the vector with its message,
# and logs the deletion for the in-memory indexes.
_CREATE_TRIGGER: Final = (
    "CREATE TRIGGER IF NOT EXISTS {table}_delete AFTER DELETE ON messages "
    "BEGIN DELETE FROM {table} WHERE message_id = OLD.id; "
    "INSERT INTO vector_changes(space_id, message_id, op) VALUES ({space_id}, OLD.id, 'd'); END"
)
_LOG: Final = "INSERT INTO vector_changes(space_id, message_id, op, run_length) VALUES (?, ?, ?, ?)"
_FORGET: Final = "DELETE FROM vector_changes WHERE space_id = ?"
_DROP_TRIGGER: Final = "DROP TRIGGER IF EXISTS {table}_delete"
_DROP_TABLE: Final = "DROP TABLE IF EXISTS {table}"
_INSERT: Final = (
    "INSERT INTO {table}(message_id, conversation_id, role, created_at, user_key, agent_key, embedding) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_WITH_BITS: Final = (
    "INSERT INTO {table}(message_id, conversation_id, role, created_at, user_key, agent_key, embedding, "
    "embedding_bits) VALUES (?, ?, ?, ?, ?, ?, ?, vec_bit(?))"
)
# Below this many rows vec0's own INSERT is cheap enough; above, whole chunks are written at once.
BULK_ROWS: Final = 256
_KNN: Final = "SELECT message_id, distance FROM {table} WHERE {conditions} ORDER BY distance"
_DELETE_ONE: Final = "DELETE FROM {table} WHERE message_id = ?"
_COUNT: Final = "SELECT count(*) FROM {table}"
_ZERO: Final = "UPDATE {table} SET embedding = ? WHERE message_id = ?"
_GET: Final = "SELECT message_id, embedding FROM {table} WHERE message_id IN ({marks})"
_GET_ONE: Final = "SELECT embedding FROM {table} WHERE message_id = ?"
#: Up to this many vectors are read by primary key, one statement each (8 us at 20k vectors): vec0
#: answers an IN list by scanning every vector (5.7 ms for two ids there), and setting up the chunk
#: reader costs 0.45 ms (a chat turn reusing one stored vector paid it).
_POINT_READS: Final = 32
_PRESENT: Final = "SELECT message_id FROM {table} WHERE message_id IN ({marks})"
_PRESENT_ROWIDS: Final = "SELECT rowid FROM {table}_rowids WHERE rowid IN ({marks})"
_IDS: Final = "SELECT message_id FROM {table}"

# The KNN part of the WHERE clause; the filters come from SearchFilter.clauses.
_MATCH: Final = Fragment("embedding MATCH ? AND k = ?")


class SqliteVecStore:
    """Raw vec0 SQL on `connection`; every statement joins the connection's open transaction."""

    def __init__(self, connection: Connection, space_id: int, dimensions: int) -> None:
        self._connection = connection
        self._space_id = int(space_id)
        self._table = vector_table_name(space_id)
        self._dimensions = int(dimensions)

    @property
    def table(self) -> str:
        return self._table

    @property
    def has_bits(self) -> bool:
        """Whether the table keeps sign-bit codes beside the vectors (dimensions divisible by 8)."""
        return self._dimensions % 8 == 0

    def create(self) -> None:
        bits_column = Fragment(sql(_BITS_COLUMN, dimensions=self._dimensions) if self.has_bits else "")
        self._connection.exec_driver_sql(self._sql(_CREATE_TABLE, bits_column=bits_column))
        self._connection.exec_driver_sql(self._sql(_CREATE_TRIGGER))

    def drop(self) -> None:
        self._connection.exec_driver_sql(self._sql(_DROP_TRIGGER))
        self._connection.exec_driver_sql(self._sql(_DROP_TABLE))
        self._connection.exec_driver_sql(_FORGET, (self._space_id,))

    def has_index(self) -> bool:
        """True: vec0 keeps no approximate index beside its chunks."""
        return True

    def drop_index(self) -> None:
        """Nothing: vec0 keeps no index beside its chunks."""

    def build_index(self) -> None:
        """Nothing: vec0 keeps no index beside its chunks."""

    def secondary_indexes(self) -> tuple[DeferredIndex, ...]:
        """None: a bulk load on SQLite keeps every index."""
        return ()

    def insert(self, columns: VectorColumns, matrix: npt.NDArray[np.float32]) -> None:
        if len(columns) == 1:
            row = (int(columns.ids[0]), int(columns.conversation_ids[0]), columns.roles[0])
            keys = (int(columns.user_keys[0]), int(columns.agent_keys[0]))
            self.insert_one(*row, int(columns.created_us[0]), keys, matrix[0])
            return
        bits = sign_bits(matrix) if self.has_bits else None
        ids = columns.ids.tolist()
        if len(ids) >= BULK_ROWS and vec0_chunks.layout_is_supported(self._connection, self._table):
            vec0_chunks.write_rows(
                self._connection,
                self._table,
                ids=columns.ids,
                conversation_ids=columns.conversation_ids,
                roles=columns.roles,
                created_us=columns.created_us,
                user_keys=columns.user_keys,
                agent_keys=columns.agent_keys,
                vectors=matrix,
                bits=bits,
            )
        else:
            blobs = [vector.tobytes() for vector in matrix]
            rows = zip(
                ids,
                columns.conversation_ids.tolist(),
                columns.roles,
                columns.created_us.tolist(),
                columns.user_keys.tolist(),
                columns.agent_keys.tolist(),
                blobs,
                strict=True,
            )
            if bits is None:
                driver_executemany(self._connection, self._sql(_INSERT), list(rows))
            else:
                with_bits = [(*row, code.tobytes()) for row, code in zip(rows, bits, strict=True)]
                driver_executemany(self._connection, self._sql(_INSERT_WITH_BITS), with_bits)
        driver_executemany(
            self._connection,
            _LOG,
            [(self._space_id, first, "a", length) for first, length in id_runs(columns.ids)],
        )

    def insert_one(
        self,
        message_id: int,
        conversation_id: int,
        role: str,
        created_us: int,
        owner_keys: tuple[int, int],
        vector: npt.NDArray[np.float32],
    ) -> None:
        """A chat turn's row: plain values, no array work."""
        row = (message_id, conversation_id, role, created_us, *owner_keys, vector.tobytes())
        if self.has_bits:
            code = np.packbits(vector > 0, bitorder="little").tobytes()
            driver_execute(self._connection, self._sql(_INSERT_WITH_BITS), (*row, code))
        else:
            driver_execute(self._connection, self._sql(_INSERT), row)
        driver_execute(self._connection, _LOG, (self._space_id, message_id, "a", 1))

    def search(
        self, query: npt.NDArray[np.float32], k: int, where: SearchFilter, *, precise: int | None = None
    ) -> list[tuple[int, float]]:
        conditions, values = where.vector_clauses("?")
        statement = self._sql(_KNN, conditions=conjunction([_MATCH, *conditions]))
        result = self._connection.exec_driver_sql(statement, (query.tobytes(), k, *values))
        return [(int(message_id), float(distance)) for message_id, distance in result]

    def delete(self, message_ids: list[int]) -> int:
        # One DELETE per id, by primary key: vec0 answers `message_id IN (...)` by scanning every
        # chunk (0.4 s for 500 ids among 1M vectors, against 40 ms for 1,000 point deletes).
        present = self.present(message_ids)
        if present:
            driver_executemany(self._connection, self._sql(_DELETE_ONE), [(i,) for i in sorted(present)])
        deleted = len(present)
        deleted_ids = np.unique(np.asarray(message_ids, dtype=np.int64))
        self._connection.exec_driver_sql(
            _LOG, [(self._space_id, first, "d", length) for first, length in id_runs(deleted_ids)]
        )
        return deleted

    def erase(self, message_ids: list[int]) -> int:
        """`delete`, with the rows' vector bytes overwritten first (vec0 would keep them in its
        chunk); with an unknown vec0 layout, the float vector is overwritten through vec0 itself."""
        if vec0_chunks.layout_is_supported(self._connection, self._table):
            vec0_chunks.zero_vectors(
                self._connection, self._table, message_ids, self._dimensions, bits=self.has_bits
            )
        else:
            zeros = np.zeros(self._dimensions, dtype=np.float32).tobytes()
            driver_executemany(self._connection, self._sql(_ZERO), [(zeros, i) for i in message_ids])
        return self.delete(message_ids)

    def repack(self) -> int:
        """Move the rows of mostly empty chunks together (`vec0_chunks.repack`); with an unknown vec0
        layout, nothing. Returns how many chunks were freed."""
        if not vec0_chunks.layout_is_supported(self._connection, self._table):
            return 0
        return vec0_chunks.repack(self._connection, self._table, self._dimensions, bits=self.has_bits)

    def count(self) -> int:
        return int(self._connection.exec_driver_sql(self._sql(_COUNT)).scalar_one())

    def get(self, message_ids: list[int]) -> dict[int, npt.NDArray[np.float32]]:
        if len(message_ids) <= _POINT_READS:
            statement = self._sql(_GET_ONE)
            found: dict[int, npt.NDArray[np.float32]] = {}
            for message_id in message_ids:
                row = driver_execute(self._connection, statement, (message_id,)).fetchone()
                if row is not None:
                    found[message_id] = np.frombuffer(row[0], dtype=np.float32).copy()
            return found
        if vec0_chunks.layout_is_supported(self._connection, self._table):
            # vec0 answers `message_id IN (...)` by scanning every vector; the chunks are read by slot.
            rows = vec0_chunks.read_rows(
                self._connection, self._table, self._dimensions, message_ids, bits=False
            )
            assert rows.vectors is not None
            return {int(i): vector.copy() for i, vector in zip(rows.ids.tolist(), rows.vectors, strict=True)}
        found = {}
        for chunk in _chunks(message_ids):
            statement = self._sql(_GET, marks=placeholders(len(chunk)))
            for message_id, blob in self._connection.exec_driver_sql(statement, tuple(chunk)):
                found[int(message_id)] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def distances(self, query: npt.NDArray[np.float32], message_ids: list[int]) -> dict[int, float]:
        return cosine_distances(query, self.get(message_ids))

    def present(self, message_ids: list[int]) -> set[int]:
        found: set[int] = set()
        template = (
            _PRESENT_ROWIDS if vec0_chunks.layout_is_supported(self._connection, self._table) else _PRESENT
        )
        for chunk in _chunks(message_ids):
            statement = self._sql(template, marks=placeholders(len(chunk)))
            found.update(int(i) for i in self._connection.exec_driver_sql(statement, tuple(chunk)).scalars())
        return found

    def ids(self) -> list[int]:
        return [int(i) for i in self._connection.exec_driver_sql(self._sql(_IDS)).scalars()]

    def _sql(self, template: str, **fragments: Fragment) -> str:
        """A statement template of this module for this space's table."""
        if not fragments:  # the fixed statements, made once per space (a chat turn writes two)
            return _fixed_statement(template, self._table, self._dimensions, self._space_id)
        return sql(
            template, table=self._table, dimensions=self._dimensions, space_id=self._space_id, **fragments
        )


@functools.lru_cache(maxsize=256)
def _fixed_statement(template: str, table: Identifier, dimensions: int, space_id: int) -> str:
    return sql(template, table=table, dimensions=dimensions, space_id=space_id)


def id_runs(ids: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """`(first id, length)` of each run of consecutive ids, in the order given."""
    if len(ids) < 2:  # a chat turn: no array work
        return [(int(ids[0]), 1)] if len(ids) else []
    breaks = np.flatnonzero(np.diff(ids) != 1) + 1
    starts = np.concatenate(([0], breaks))
    lengths = np.diff(np.concatenate((starts, [len(ids)])))
    return list(zip(ids[starts].tolist(), lengths.tolist(), strict=True))


def sign_bits(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """One bit per dimension, set where the value is positive: vec_quantize_binary's encoding."""
    codes: npt.NDArray[np.uint8] = np.packbits(matrix > 0, axis=1, bitorder="little")
    return codes


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + _CHUNK] for start in range(0, len(ids), _CHUNK)]
