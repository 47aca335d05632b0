"""Direct chunk writes must leave vec0's shadow tables exactly as vec0's own INSERTs would."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

import memory
from memory.filters import SearchFilter
from memory.owners import owner_key
from memory.vectors import vec0_chunks
from memory.vectors.base import VectorColumns
from memory.vectors.sqlite import SqliteVecStore

DIMS = 16
ROLES = ("user", "assistant", "system", "tool")


def _shadow_state(connection: Connection, table: str) -> dict[str, list[tuple[object, ...]]]:
    names = (
        connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ? ESCAPE '!' ORDER BY name",
            (f"{table}!_%",),
        )
        .scalars()
        .all()
    )
    state = {}
    for name in names:
        if name.endswith("_info"):
            continue
        state[name] = [tuple(row) for row in connection.exec_driver_sql(f"SELECT * FROM {name} ORDER BY 1")]
    return state


def _rows(ids: list[int], rng: np.random.Generator) -> tuple[VectorColumns, np.ndarray]:
    columns = VectorColumns(
        ids=np.array(ids, dtype=np.int64),
        conversation_ids=np.array([i // 7 + 1 for i in ids], dtype=np.int64),
        roles=[ROLES[i % 4] for i in ids],
        created_us=np.array([1_700_000_000_000_000 + i for i in ids], dtype=np.int64),
        user_keys=np.array([owner_key(f"user {i % 3}") for i in ids], dtype=np.int64),
        agent_keys=np.array([owner_key(None if i % 2 else f"agent {i % 5}") for i in ids], dtype=np.int64),
    )
    return columns, rng.standard_normal((len(ids), DIMS)).astype(np.float32)


@pytest.fixture
def connection(memory_engine: sa.Engine) -> Connection:
    connection = memory_engine.connect()
    connection.begin()
    yield connection
    connection.rollback()
    connection.close()


def test_bulk_writes_match_vec0_inserts_byte_for_byte(
    connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk, plain = SqliteVecStore(connection, 101, DIMS), SqliteVecStore(connection, 102, DIMS)
    bulk.create()
    plain.create()
    rng = np.random.default_rng(3)
    next_id = 1
    # Batches that fill a chunk partly, exactly, across several chunks, and after deletions.
    for size, deletes in [
        (300, []),
        (1000, [5, 17, 299]),
        (724, []),
        (2500, [1500, 1501, 4000]),
        (3, []),
        (2048, []),
    ]:
        metas, vectors = _rows(list(range(next_id, next_id + size)), rng)
        next_id += size
        bulk.insert(metas, vectors)  # >= 256 rows: direct chunk writes
        monkeypatch.setattr(vec0_chunks, "layout_is_supported", lambda *a: False)
        plain.insert(metas, vectors)  # vec0's own INSERTs
        monkeypatch.undo()
        if deletes:
            bulk.delete(deletes)
            plain.delete(deletes)
    bulk_state = _shadow_state(connection, bulk.table)
    plain_state = _shadow_state(connection, plain.table)
    assert len(bulk_state) == 10 and len(bulk_state[f"{bulk.table}_rowids"]) == 6575 - 6
    assert [name.replace("_101", "") for name in bulk_state] == [
        name.replace("_102", "") for name in plain_state
    ]
    for (name, rows), plain_rows in zip(bulk_state.items(), plain_state.values(), strict=True):
        assert rows == plain_rows, name
    query = rng.standard_normal(DIMS).astype(np.float32).tobytes()
    knn = "SELECT message_id, distance FROM {} WHERE embedding MATCH ? AND k = 50 AND conversation_id > 10"
    assert (
        connection.exec_driver_sql(knn.format(bulk.table), (query,)).all()
        == connection.exec_driver_sql(knn.format(plain.table), (query,)).all()
    )


def test_chunks_read_back_what_was_written(connection: Connection) -> None:
    store = SqliteVecStore(connection, 103, DIMS)
    store.create()
    rng = np.random.default_rng(4)
    metas, vectors = _rows(list(range(1, 1500)), rng)
    store.insert(metas, vectors)
    store.delete([10, 11, 1400])
    chunks = list(vec0_chunks.read_chunks(connection, store.table, DIMS, vectors=True, bits=True))
    ids = np.concatenate([c.ids for c in chunks])
    live = [i for i in range(1, 1500) if i not in (10, 11, 1400)]
    assert ids.tolist() == live
    read = np.concatenate([c.vectors for c in chunks if c.vectors is not None])
    np.testing.assert_array_equal(read, vectors[np.array(live) - 1])
    codes = np.concatenate([c.bits for c in chunks if c.bits is not None])
    np.testing.assert_array_equal(
        codes, np.packbits(vectors[np.array(live) - 1] > 0, axis=1, bitorder="little")
    )
    roles = np.concatenate([c.role_codes for c in chunks])
    assert [ROLES_BY_CODE[c] for c in roles.tolist()] == [ROLES[i % 4] for i in live]
    assert np.concatenate([c.conversation_ids for c in chunks]).tolist() == [i // 7 + 1 for i in live]
    assert np.concatenate([c.user_keys for c in chunks]).tolist() == [
        owner_key(f"user {i % 3}") for i in live
    ]
    agents = [owner_key(None if i % 2 else f"agent {i % 5}") for i in live]
    assert np.concatenate([c.agent_keys for c in chunks]).tolist() == agents


ROLES_BY_CODE = {code: role for role, code in vec0_chunks.ROLE_CODES.items()}


def test_a_duplicate_id_in_a_bulk_write_is_undone_by_the_callers_savepoint(connection: Connection) -> None:
    # The store writes in the caller's transaction; VectorRepository's public methods wrap each batch
    # in a savepoint, as here, and the chunk blobs written directly must roll back with it.
    store = SqliteVecStore(connection, 104, DIMS)
    store.create()
    rng = np.random.default_rng(5)
    metas, vectors = _rows(list(range(1, 400)), rng)
    store.insert(metas, vectors)
    before = _shadow_state(connection, store.table)
    assert len(before[f"{store.table}_rowids"]) == 399
    clash, clash_vectors = _rows([*range(1000, 1300), 7], rng)
    with pytest.raises(sa.exc.IntegrityError), connection.begin_nested():
        store.insert(clash, clash_vectors)
    assert _shadow_state(connection, store.table) == before


def test_a_table_made_by_another_sqlite_vec_version_is_not_touched_directly(
    connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteVecStore(connection, 105, DIMS)
    store.create()
    assert vec0_chunks.layout_is_supported(connection, store.table)
    monkeypatch.setattr(vec0_chunks, "SUPPORTED_VERSION", "v9.9.9")
    assert not vec0_chunks.layout_is_supported(connection, store.table)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("wrote shadow tables of an unknown layout")

    monkeypatch.setattr(vec0_chunks, "write_rows", refuse)
    metas, vectors = _rows(list(range(1, 600)), np.random.default_rng(6))
    store.insert(metas, vectors)
    assert store.count() == 599


def test_manager_fixture_stores_use_the_pinned_layout(memory_manager: memory.MemoryManager) -> None:
    with memory.session_factory(memory_manager.engine)() as session:
        assert vec0_chunks.layout_is_supported(session.connection(), "message_vectors_1")


def _all_rows(connection: Connection, table: str) -> dict[int, tuple[object, ...]]:
    rows: dict[int, tuple[object, ...]] = {}
    for chunk in vec0_chunks.read_chunks(connection, table, DIMS, vectors=True, bits=True):
        assert chunk.vectors is not None and chunk.bits is not None
        for n, message_id in enumerate(chunk.ids.tolist()):
            rows[message_id] = (
                int(chunk.conversation_ids[n]),
                int(chunk.role_codes[n]),
                int(chunk.created_us[n]),
                int(chunk.user_keys[n]),
                int(chunk.agent_keys[n]),
                chunk.vectors[n].tobytes(),
                chunk.bits[n].tobytes(),
            )
    return rows


def _chunk_count(connection: Connection, table: str) -> int:
    return int(connection.exec_driver_sql(f"SELECT count(*) FROM {table}_chunks").scalar_one())


def test_repack_moves_the_rows_of_sparse_chunks_together_and_keeps_every_row(connection: Connection) -> None:
    store = SqliteVecStore(connection, 106, DIMS)
    store.create()
    rng = np.random.default_rng(7)
    metas, vectors = _rows(list(range(1, 6001)), rng)
    store.insert(metas, vectors)
    doomed = sorted(rng.choice(np.arange(1, 5001), size=3500, replace=False).tolist())
    store.delete(doomed)  # chunks 1-5 left about 30% full; chunk 6 (the latest) untouched
    before_rows = _all_rows(connection, store.table)
    before_chunks = _chunk_count(connection, store.table)
    queries = rng.standard_normal((5, DIMS)).astype(np.float32)
    filters = [SearchFilter(), SearchFilter(roles=("user",)), SearchFilter(conversation_id=600)]
    before_hits = [store.search(q, 10, f) for q in queries for f in filters]

    freed = store.repack()

    assert freed > 0
    assert _chunk_count(connection, store.table) == before_chunks - freed
    assert _chunk_count(connection, store.table) <= -(-len(before_rows) // 1024) + 1
    assert _all_rows(connection, store.table) == before_rows
    assert [store.search(q, 10, f) for q in queries for f in filters] == before_hits
    assert store.count() == len(before_rows)
    # vec0 itself still finds, deletes and adds rows in the repacked chunks.
    moved = next(iter(before_rows))
    assert store.get([moved])[moved].tobytes() == before_rows[moved][5]
    assert store.delete([moved]) == 1
    more, more_vectors = _rows([7001], rng)
    store.insert(more, more_vectors)
    assert set(_all_rows(connection, store.table)) == (set(before_rows) - {moved}) | {7001}
    assert store.repack() == 0  # nothing left to gain


def test_repack_of_a_table_without_holes_changes_nothing(connection: Connection) -> None:
    store = SqliteVecStore(connection, 107, DIMS)
    store.create()
    metas, vectors = _rows(list(range(1, 3000)), np.random.default_rng(8))
    store.insert(metas, vectors)
    store.delete(list(range(100, 400)))  # one chunk 70% full: nothing to free
    before = _shadow_state(connection, store.table)
    assert store.repack() == 0
    assert _shadow_state(connection, store.table) == before
