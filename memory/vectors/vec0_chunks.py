"""Direct, block-wise access to vec0's shadow tables, for the one sqlite-vec version whose layout we know.

vec0 keeps vectors in chunks of `size` slots: `<t>_chunks(chunk_id, size, validity, rowids)` (a
little-endian validity bitmap and int64 rowids), `<t>_rowids(rowid, id, chunk_id, chunk_offset)`, one
`<t>_vector_chunksNN(rowid=chunk_id, vectors)` blob per vector column, and one
`<t>_metadatachunksNN(rowid=chunk_id, data)` blob per metadata column (int64 per slot for integers;
for text a 4-byte length and a 12-byte prefix per slot, longer texts in `<t>_metadatatextNN`). The
metadata columns, in order: conversation_id, role, created_at, user_key, agent_key.

Inserting row by row through vec0 costs ~20 us a row; writing whole chunks here costs a fraction of
that, and reading chunk blobs fills numpy arrays at memory speed. Everything is checked against the
pinned version first; any other version uses plain vec0 SQL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Connection

from memory.identifiers import Fragment, Identifier, placeholders, sql, vec0_blob_column, vec0_shadow
from memory.models import ROLES

SUPPORTED_VERSION: Final = "v0.1.9"
DEFAULT_CHUNK_SIZE: Final = 1024
_TEXT_SLOT: Final = 16
_TEXT_PREFIX: Final = 12
ROLE_CODES: Final = {role: code for code, role in enumerate(ROLES)}
_ROLE_SLOTS: Final = {
    role: len(role).to_bytes(4, "little") + role.encode().ljust(_TEXT_PREFIX, b"\0") for role in ROLES
}
# The metadata columns' shadow tables, in the order the vector tables declare the columns.
_CONVERSATIONS, _ROLES, _CREATED, _USERS, _AGENTS = (f"metadatachunks{n:02d}" for n in range(5))
_METADATA: Final = (_CONVERSATIONS, _ROLES, _CREATED, _USERS, _AGENTS)


# Statement templates: {info}, {chunks}, {rowids} and {shadow_table} are shadow tables of a vector
# table and {column} one of their blob columns, all made by memory.identifiers; every value is bound.
_CREATED_BY: Final = "SELECT value FROM {info} WHERE key = 'CREATE_VERSION'"
_CHUNK_HEADERS: Final = "SELECT chunk_id, size, validity, rowids FROM {chunks} ORDER BY chunk_id"
_LATEST_CHUNK: Final = "SELECT chunk_id, size, validity FROM {chunks} ORDER BY chunk_id DESC LIMIT 1"
_LOCATE: Final = "SELECT rowid, chunk_id, chunk_offset FROM {rowids} WHERE rowid IN ({marks})"
_CHUNK_SIZE: Final = "SELECT size FROM {chunks} WHERE chunk_id = ?"
_CHUNK_HEADER: Final = "SELECT validity, rowids FROM {chunks} WHERE chunk_id = ?"
_INSERT_ROWIDS: Final = "INSERT INTO {rowids}(rowid, id, chunk_id, chunk_offset) VALUES (?, NULL, ?, ?)"
_INSERT_CHUNK: Final = "INSERT INTO {chunks}(chunk_id, size, validity, rowids) VALUES (?, ?, ?, ?)"
_UPDATE_CHUNK: Final = "UPDATE {chunks} SET validity = ?, rowids = ? WHERE chunk_id = ?"
_READ_BLOB: Final = "SELECT {column} FROM {shadow_table} WHERE rowid = ?"
_INSERT_BLOB: Final = "INSERT INTO {shadow_table}(rowid, {column}) VALUES (?, ?)"
_UPDATE_BLOB: Final = "UPDATE {shadow_table} SET {column} = ? WHERE rowid = ?"
_CHUNK_FILL: Final = "SELECT chunk_id, size, validity FROM {chunks} ORDER BY chunk_id"
_CHUNK_HEADERS_OF: Final = (
    "SELECT chunk_id, size, validity, rowids FROM {chunks} WHERE chunk_id IN ({marks}) ORDER BY chunk_id"
)
_CHUNK_COUNT: Final = "SELECT count(*) FROM {chunks}"
_DROP_CHUNK: Final = "DELETE FROM {chunks} WHERE chunk_id = ?"
_DROP_BLOB: Final = "DELETE FROM {shadow_table} WHERE rowid = ?"
_DROP_ROWIDS: Final = "DELETE FROM {rowids} WHERE chunk_id = ?"
#: `repack` moves the rows of chunks less than this full, this many chunks at a time.
REPACK_BELOW: Final = 0.5
_REPACK_GROUP: Final = 32


def _sql(
    template: str, table: str, *, shadow: str | None = None, column: str | None = None, marks: int = 0
) -> str:
    """A template of this module for the vector table `table`: its shadow tables, one blob column,
    or `marks` placeholders, all built through `memory.identifiers`."""
    parts: dict[str, Identifier | Fragment] = {
        name: vec0_shadow(table, name) for name in ("info", "chunks", "rowids")
    }
    if shadow is not None:
        parts["shadow_table"] = vec0_shadow(table, shadow)
    if column is not None:
        parts["column"] = vec0_blob_column(column)
    if marks:
        parts["marks"] = placeholders(marks)
    return sql(template, **parts)


def layout_is_supported(connection: Connection, table: str) -> bool:
    """True when both the loaded sqlite-vec and the one that created `table` are the pinned version.

    Both versions are read once per pooled connection and table (this runs on every search and write).
    """
    key = ("memory.vec0_versions", table)
    versions = connection.info.get(key)
    if versions is None:
        loaded = connection.exec_driver_sql("SELECT vec_version()").scalar_one()
        created = connection.exec_driver_sql(_sql(_CREATED_BY, table)).scalar_one_or_none()
        if created is None:
            return False  # not created yet: ask again next time
        versions = connection.info[key] = (loaded, created)
    return bool(versions == (SUPPORTED_VERSION, SUPPORTED_VERSION))


@dataclass(frozen=True, slots=True)
class Chunk:
    """The live slots of one vec0 chunk, as numpy arrays of equal length."""

    ids: npt.NDArray[np.int64]
    conversation_ids: npt.NDArray[np.int64]
    role_codes: npt.NDArray[np.uint8]
    created_us: npt.NDArray[np.int64]
    user_keys: npt.NDArray[np.int64]
    agent_keys: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32] | None
    bits: npt.NDArray[np.uint8] | None


def read_chunks(
    connection: Connection,
    table: str,
    dimensions: int,
    *,
    vectors: bool,
    bits: bool,
    chunk_ids: Collection[int] | None = None,
) -> Iterator[Chunk]:
    """Every live row of `table` (or of the chunks `chunk_ids`), chunk by chunk, in slot order; one
    chunk in memory at a time."""
    # One indexed lookup per shadow table and chunk: the shadow tables' `rowid` is a declared column
    # with its own index, and a JOIN across them makes SQLite's planner scan the blobs repeatedly.
    shadows = list(_METADATA)
    if vectors:
        shadows.append("vector_chunks00")
    if bits:
        shadows.append("vector_chunks01")
    if chunk_ids is None:
        headers = connection.exec_driver_sql(_sql(_CHUNK_HEADERS, table)).all()
    else:
        wanted = sorted(chunk_ids)
        headers = connection.exec_driver_sql(
            _sql(_CHUNK_HEADERS_OF, table, marks=len(wanted)), tuple(wanted)
        ).all()
    for chunk_id, size, validity, rowids in headers:
        blobs = [
            connection.exec_driver_sql(
                _sql(
                    _READ_BLOB, table, shadow=name, column="vectors" if name.startswith("vector") else "data"
                ),
                (chunk_id,),
            ).scalar_one()
            for name in shadows
        ]
        conversation_blob, role_blob, created_blob, user_blob, agent_blob = blobs[: len(_METADATA)]
        live = _live(validity, size)
        if not live.any():
            continue
        rest = blobs[len(_METADATA) :]
        vector_blob = rest.pop(0) if vectors else None
        bits_blob = rest.pop(0) if bits else None
        yield (
            Chunk(
                ids=np.frombuffer(rowids, dtype=np.int64)[live],
                conversation_ids=np.frombuffer(conversation_blob, dtype=np.int64)[live],
                role_codes=_decode_roles(role_blob, size)[live],
                created_us=np.frombuffer(created_blob, dtype=np.int64)[live],
                user_keys=np.frombuffer(user_blob, dtype=np.int64)[live],
                agent_keys=np.frombuffer(agent_blob, dtype=np.int64)[live],
                vectors=None
                if vector_blob is None
                else np.frombuffer(vector_blob, dtype=np.float32).reshape(size, dimensions)[live],
                bits=None
                if bits_blob is None
                else np.frombuffer(bits_blob, dtype=np.uint8).reshape(size, dimensions // 8)[live],
            )
        )


def read_rows(connection: Connection, table: str, dimensions: int, ids: list[int], *, bits: bool) -> Chunk:
    """The rows of these ids (absent ones left out), read straight from the chunks.

    vec0 answers `message_id IN (...)` with a full scan; here the rowids table locates each row and
    incremental blob I/O reads just its slot of the chunk's vector blob.
    """
    located = _locate(connection, table, ids)
    found_ids: list[int] = []
    conversations, roles, created, users, agents, vectors, codes = [], [], [], [], [], [], []
    dbapi = connection.connection.dbapi_connection
    for chunk_id, rows in _by_chunk(located).items():
        size = connection.exec_driver_sql(_sql(_CHUNK_SIZE, table), (chunk_id,)).scalar_one()
        conversation_blob, role_blob, created_blob, user_blob, agent_blob = (
            connection.exec_driver_sql(
                _sql(_READ_BLOB, table, shadow=name, column="data"), (chunk_id,)
            ).scalar_one()
            for name in _METADATA
        )
        offsets = np.array([offset for _, offset in rows])
        found_ids += [message_id for message_id, _ in rows]
        conversations.append(np.frombuffer(conversation_blob, dtype=np.int64)[offsets])
        roles.append(_decode_roles(role_blob, size)[offsets])
        created.append(np.frombuffer(created_blob, dtype=np.int64)[offsets])
        users.append(np.frombuffer(user_blob, dtype=np.int64)[offsets])
        agents.append(np.frombuffer(agent_blob, dtype=np.int64)[offsets])
        vectors.append(
            _slots(connection, dbapi, table, "vector_chunks00", chunk_id, offsets, dimensions * 4, np.float32)
        )
        if bits:
            codes.append(
                _slots(
                    connection, dbapi, table, "vector_chunks01", chunk_id, offsets, dimensions // 8, np.uint8
                )
            )
    if not found_ids:
        empty = np.zeros(0, dtype=np.int64)
        return Chunk(
            empty,
            empty,
            np.zeros(0, dtype=np.uint8),
            empty,
            empty,
            empty,
            np.zeros((0, dimensions), dtype=np.float32),
            np.zeros((0, dimensions // 8), dtype=np.uint8) if bits else None,
        )
    return Chunk(
        ids=np.array(found_ids, dtype=np.int64),
        conversation_ids=np.concatenate(conversations),
        role_codes=np.concatenate(roles),
        created_us=np.concatenate(created),
        user_keys=np.concatenate(users),
        agent_keys=np.concatenate(agents),
        vectors=np.concatenate(vectors).reshape(len(found_ids), dimensions),
        bits=np.concatenate(codes).reshape(len(found_ids), dimensions // 8) if bits else None,
    )


def zero_vectors(connection: Connection, table: str, ids: list[int], dimensions: int, *, bits: bool) -> int:
    """Overwrite the vector (and sign-bit) slots of these rows with zeros, in place, before the rows
    are deleted: vec0's DELETE only clears a slot's validity bit and leaves its bytes in the chunk.
    Returns how many rows were found."""
    located = _locate(connection, table, ids)
    for chunk_id, rows in _by_chunk(located).items():
        slots = np.array(sorted(offset for _, offset in rows), dtype=np.int64)
        _write_slots(
            connection,
            table,
            "vector_chunks00",
            chunk_id,
            slots,
            np.zeros((len(slots), dimensions), np.float32),
        )
        if bits:
            zeros = np.zeros((len(slots), dimensions // 8), np.uint8)
            _write_slots(connection, table, "vector_chunks01", chunk_id, slots, zeros)
    return len(located)


def repack(connection: Connection, table: str, dimensions: int, *, bits: bool) -> int:
    """Move the rows of chunks less than `REPACK_BELOW` full into as few chunks as they need.

    vec0 frees a chunk only once every slot of it is deleted, and fills only the latest chunk's free
    slots, so deleting rows scattered over the table (compaction, forgetting) leaves holes that
    neither VACUUM nor later inserts reclaim. Rows keep their ids, vectors and columns; the moved
    chunks' shadow rows are deleted (their pages go to SQLite's free list, and a VACUUM gives them
    back). Runs in the caller's transaction; the latest chunk is never moved. Returns how many chunks
    were freed."""
    fills = [
        (int(chunk_id), int(size), int(_live(validity, size).sum()))
        for chunk_id, size, validity in connection.exec_driver_sql(_sql(_CHUNK_FILL, table))
    ]
    sparse = [(chunk_id, size, live) for chunk_id, size, live in fills[:-1] if live < size * REPACK_BELOW]
    if not sparse or sum(live for _, _, live in sparse) > (len(sparse) - 1) * fills[-1][1]:
        return 0  # moving them would free no chunk
    shadows = [*_METADATA, "vector_chunks00", *(["vector_chunks01"] if bits else [])]
    for start in range(0, len(sparse), _REPACK_GROUP):
        group = {chunk_id for chunk_id, _, _ in sparse[start : start + _REPACK_GROUP]}
        rows = list(read_chunks(connection, table, dimensions, vectors=True, bits=bits, chunk_ids=group))
        for chunk_id in sorted(group):
            connection.exec_driver_sql(_sql(_DROP_ROWIDS, table), (chunk_id,))
            connection.exec_driver_sql(_sql(_DROP_CHUNK, table), (chunk_id,))
            for name in shadows:
                connection.exec_driver_sql(_sql(_DROP_BLOB, table, shadow=name), (chunk_id,))
        if rows:
            codes = np.concatenate([chunk.role_codes for chunk in rows])
            write_rows(
                connection,
                table,
                ids=np.concatenate([chunk.ids for chunk in rows]),
                conversation_ids=np.concatenate([chunk.conversation_ids for chunk in rows]),
                roles=[ROLES[code] for code in codes.tolist()],
                created_us=np.concatenate([chunk.created_us for chunk in rows]),
                user_keys=np.concatenate([chunk.user_keys for chunk in rows]),
                agent_keys=np.concatenate([chunk.agent_keys for chunk in rows]),
                vectors=np.concatenate([chunk.vectors for chunk in rows if chunk.vectors is not None]),
                bits=np.concatenate([c.bits for c in rows if c.bits is not None]) if bits else None,
            )
    return len(fills) - int(connection.exec_driver_sql(_sql(_CHUNK_COUNT, table)).scalar_one())


def _live(validity: bytes, size: int) -> npt.NDArray[np.bool_]:
    """A chunk's validity bitmap as one bool per slot."""
    return np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")[:size].astype(bool)


def _locate(connection: Connection, table: str, ids: list[int]) -> list[tuple[int, int, int]]:
    """(rowid, chunk id, slot) of each of these rows that exists, in chunk and slot order."""
    located: list[tuple[int, int, int]] = []
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        located += [
            (int(a), int(b), int(c))
            for a, b, c in connection.exec_driver_sql(_sql(_LOCATE, table, marks=len(part)), tuple(part))
        ]
    located.sort(key=lambda row: (row[1], row[2]))
    return located


def _by_chunk(located: list[tuple[int, int, int]]) -> dict[int, list[tuple[int, int]]]:
    by_chunk: dict[int, list[tuple[int, int]]] = {}
    for message_id, chunk_id, offset in located:
        by_chunk.setdefault(chunk_id, []).append((message_id, offset))
    return by_chunk


def _slots(
    connection: Connection,
    dbapi: Any,
    table: str,
    shadow: str,
    chunk_id: int,
    offsets: npt.NDArray[Any],
    width: int,
    dtype: type[np.generic],
) -> npt.NDArray[Any]:
    """Slots `offsets` of one chunk's vector blob: a few through blob I/O, many by reading it whole."""
    if not _can_open_blobs(dbapi) or len(offsets) > 16:
        blob = connection.exec_driver_sql(
            _sql(_READ_BLOB, table, shadow=shadow, column="vectors"), (chunk_id,)
        ).scalar_one()
        whole: npt.NDArray[Any] = np.frombuffer(blob, dtype=dtype).reshape(
            -1, width // np.dtype(dtype).itemsize
        )
        picked: npt.NDArray[Any] = whole[offsets].ravel()
        return picked
    handle = _open_blob(dbapi, vec0_shadow(table, shadow), "vectors", chunk_id, readonly=True)
    try:
        parts = []
        for offset in offsets.tolist():
            handle.seek(offset * width)
            parts.append(handle.read(width))
    finally:
        handle.close()
    return np.frombuffer(b"".join(parts), dtype=dtype)


def _can_open_blobs(dbapi: Any) -> bool:
    return hasattr(dbapi, "blobopen") or hasattr(dbapi, "open_blob")


def _open_blob(dbapi: Any, table: str, column: str, rowid: int, *, readonly: bool) -> Any:
    """Incremental blob I/O: `blobopen` in the stdlib sqlite3 (3.11+), `open_blob` in pysqlite3."""
    if hasattr(dbapi, "blobopen"):
        return dbapi.blobopen(table, column, rowid, readonly=readonly)
    return dbapi.open_blob(table, column, rowid, readonly)


def _write_slots(
    connection: Connection,
    table: str,
    shadow: str,
    chunk_id: int,
    slots: npt.NDArray[np.int64],
    rows: npt.NDArray[Any],
) -> None:
    """Write `rows` into slots of one chunk's vector blob, each contiguous run of slots at once."""
    width = rows.shape[1] * rows.itemsize
    dbapi = connection.connection.dbapi_connection
    if not _can_open_blobs(dbapi):
        blob = connection.exec_driver_sql(
            _sql(_READ_BLOB, table, shadow=shadow, column="vectors"), (chunk_id,)
        ).scalar_one()
        whole = np.frombuffer(blob, dtype=rows.dtype).reshape(-1, rows.shape[1]).copy()
        whole[slots] = rows
        connection.exec_driver_sql(
            _sql(_UPDATE_BLOB, table, shadow=shadow, column="vectors"), (whole.tobytes(), chunk_id)
        )
        return
    handle = _open_blob(dbapi, vec0_shadow(table, shadow), "vectors", chunk_id, readonly=False)
    try:
        breaks = np.flatnonzero(np.diff(slots) != 1) + 1
        for run in np.split(np.arange(len(slots)), breaks):
            handle.seek(int(slots[run[0]]) * width)
            handle.write(np.ascontiguousarray(rows[run]).tobytes())
    finally:
        handle.close()


def _decode_roles(blob: bytes, size: int) -> npt.NDArray[np.uint8]:
    slots = np.frombuffer(blob, dtype=np.uint8).reshape(size, _TEXT_SLOT)
    codes = np.full(size, 255, dtype=np.uint8)
    for role, code in ROLE_CODES.items():
        expected = np.frombuffer(_ROLE_SLOTS[role], dtype=np.uint8)
        codes[(slots == expected).all(axis=1)] = code
    return codes


def write_rows(
    connection: Connection,
    table: str,
    *,
    ids: npt.NDArray[np.int64],
    conversation_ids: npt.NDArray[np.int64],
    roles: list[str],
    created_us: npt.NDArray[np.int64],
    user_keys: npt.NDArray[np.int64],
    agent_keys: npt.NDArray[np.int64],
    vectors: npt.NDArray[np.float32],
    bits: npt.NDArray[np.uint8] | None,
) -> None:
    """Place rows in slots exactly as vec0 would: the free slots of the latest chunk first (lowest
    first), then new chunks. The caller wraps this in a savepoint; a duplicate id fails at the first
    statement, before any chunk is touched."""
    latest = connection.exec_driver_sql(_sql(_LATEST_CHUNK, table)).first()
    placements: list[tuple[int, int, bool, npt.NDArray[np.int64]]] = []  # chunk, size, existing, slots
    start = 0
    if latest is not None:
        chunk_id, size, validity = int(latest[0]), int(latest[1]), latest[2]
        used = _live(validity, size)
        free = np.flatnonzero(~used)[: len(ids)]
        if len(free):
            placements.append((chunk_id, size, True, free))
            start = len(free)
        next_id, chunk_size = chunk_id + 1, size
    else:
        next_id, chunk_size = _next_chunk_id(connection, table), DEFAULT_CHUNK_SIZE
    while start < len(ids):
        count = min(chunk_size, len(ids) - start)
        placements.append((next_id, chunk_size, False, np.arange(count, dtype=np.int64)))
        next_id += 1
        start += count

    row_chunk = np.concatenate([np.full(len(slots), chunk) for chunk, _, _, slots in placements])
    row_slot = np.concatenate([slots for _, _, _, slots in placements])
    connection.exec_driver_sql(
        _sql(_INSERT_ROWIDS, table),
        list(zip(ids.tolist(), row_chunk.tolist(), row_slot.tolist(), strict=True)),
    )
    role_slots = np.frombuffer(b"".join(_ROLE_SLOTS[role] for role in roles), dtype=np.uint8).reshape(-1, 16)
    position = 0
    for chunk_id, size, existing, slots in placements:
        part = slice(position, position + len(slots))
        position += len(slots)
        columns = _ChunkColumns.load(
            connection, table, chunk_id, size, vectors.shape[1], bits is not None, existing
        )
        columns.validity[slots] = True
        columns.rowids[slots] = ids[part]
        columns.conversation_ids[slots] = conversation_ids[part]
        columns.roles[slots] = role_slots[part]
        columns.created_us[slots] = created_us[part]
        columns.user_keys[slots] = user_keys[part]
        columns.agent_keys[slots] = agent_keys[part]
        if existing:
            # Only the new slots of the (1.5 MB) vector blobs are written, through blob I/O, so the
            # transaction does not rewrite the whole chunk.
            _write_slots(connection, table, "vector_chunks00", chunk_id, slots, vectors[part])
            if bits is not None:
                _write_slots(connection, table, "vector_chunks01", chunk_id, slots, bits[part])
        elif columns.vectors is not None:
            columns.vectors[slots] = vectors[part]
            if bits is not None and columns.bits is not None:
                columns.bits[slots] = bits[part]
        columns.store(connection, table, chunk_id, size, existing)


def _next_chunk_id(connection: Connection, table: str) -> int:
    sequence = connection.exec_driver_sql(
        "SELECT seq FROM sqlite_sequence WHERE name = ?", (f"{table}_chunks",)
    ).scalar_one_or_none()
    return int(sequence or 0) + 1


@dataclass(slots=True)
class _ChunkColumns:
    validity: npt.NDArray[np.bool_]
    rowids: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32] | None
    bits: npt.NDArray[np.uint8] | None
    conversation_ids: npt.NDArray[np.int64]
    roles: npt.NDArray[np.uint8]
    created_us: npt.NDArray[np.int64]
    user_keys: npt.NDArray[np.int64]
    agent_keys: npt.NDArray[np.int64]

    @classmethod
    def load(
        cls,
        connection: Connection,
        table: str,
        chunk_id: int,
        size: int,
        dimensions: int,
        with_bits: bool,
        existing: bool,
    ) -> _ChunkColumns:
        if not existing:
            return cls(
                validity=np.zeros(size, dtype=bool),
                rowids=np.zeros(size, dtype=np.int64),
                vectors=np.zeros((size, dimensions), dtype=np.float32),
                bits=np.zeros((size, dimensions // 8), dtype=np.uint8) if with_bits else None,
                conversation_ids=np.zeros(size, dtype=np.int64),
                roles=np.zeros((size, _TEXT_SLOT), dtype=np.uint8),
                created_us=np.zeros(size, dtype=np.int64),
                user_keys=np.zeros(size, dtype=np.int64),
                agent_keys=np.zeros(size, dtype=np.int64),
            )
        chunk = connection.exec_driver_sql(_sql(_CHUNK_HEADER, table), (chunk_id,)).one()

        def blob(name: str) -> bytes:
            column = "vectors" if name.startswith("vector") else "data"
            value: bytes = connection.exec_driver_sql(
                _sql(_READ_BLOB, table, shadow=name, column=column), (chunk_id,)
            ).scalar_one()
            return value

        return cls(
            validity=_live(chunk[0], size),
            rowids=np.frombuffer(chunk[1], dtype=np.int64).copy(),
            vectors=None,  # written slot by slot, see write_rows
            bits=None,
            conversation_ids=np.frombuffer(blob(_CONVERSATIONS), dtype=np.int64).copy(),
            roles=np.frombuffer(blob(_ROLES), dtype=np.uint8).reshape(size, _TEXT_SLOT).copy(),
            created_us=np.frombuffer(blob(_CREATED), dtype=np.int64).copy(),
            user_keys=np.frombuffer(blob(_USERS), dtype=np.int64).copy(),
            agent_keys=np.frombuffer(blob(_AGENTS), dtype=np.int64).copy(),
        )

    def store(self, connection: Connection, table: str, chunk_id: int, size: int, existing: bool) -> None:
        validity = np.packbits(self.validity, bitorder="little").tobytes()
        blobs = [
            (_CONVERSATIONS, "data", self.conversation_ids.tobytes()),
            (_ROLES, "data", self.roles.tobytes()),
            (_CREATED, "data", self.created_us.tobytes()),
            (_USERS, "data", self.user_keys.tobytes()),
            (_AGENTS, "data", self.agent_keys.tobytes()),
        ]
        if self.vectors is not None:
            blobs.append(("vector_chunks00", "vectors", self.vectors.tobytes()))
        if self.bits is not None:
            blobs.append(("vector_chunks01", "vectors", self.bits.tobytes()))
        if existing:
            connection.exec_driver_sql(
                _sql(_UPDATE_CHUNK, table), (validity, self.rowids.tobytes(), chunk_id)
            )
            for name, column, data in blobs:
                connection.exec_driver_sql(
                    _sql(_UPDATE_BLOB, table, shadow=name, column=column), (data, chunk_id)
                )
            return
        connection.exec_driver_sql(
            _sql(_INSERT_CHUNK, table), (chunk_id, size, validity, self.rowids.tobytes())
        )
        for name, column, data in blobs:
            connection.exec_driver_sql(
                _sql(_INSERT_BLOB, table, shadow=name, column=column), (chunk_id, data)
            )
