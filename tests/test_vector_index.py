"""The in-memory index: exact like numpy, in step with every writer, quantized with high recall."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pytest
import sqlalchemy as sa

import memory
from memory import MemoryManager, VectorRepository
from memory.filters import SearchFilter
from memory.vectors import VectorIndex
from memory.vectors import index as index_module
from memory.vectors.sqlite import SqliteVecStore

DIMS = 64
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def clustered(rng: np.random.Generator, n: int, clusters: int = 40) -> npt.NDArray[np.float32]:
    centres = rng.standard_normal((clusters, DIMS)).astype(np.float32)
    matrix = centres[rng.integers(0, clusters, n)] + 0.35 * rng.standard_normal((n, DIMS)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


class _Fixed(memory.FakeEmbedder):
    """Embeds 'v<i>' as row i of a fixed matrix, so tests control the geometry."""

    def __init__(self, matrix: npt.NDArray[np.float32]) -> None:
        super().__init__(DIMS, name="fixed")
        self.matrix = matrix

    def embed(self, texts):  # type: ignore[no-untyped-def]
        return np.stack([self.matrix[int(t[1:])] for t in texts])


@pytest.fixture(params=["clustered", "random"])
def store(
    memory_url: str, request: pytest.FixtureRequest
) -> tuple[MemoryManager, MemoryManager, npt.NDArray[np.float32], list[int]]:
    """The same 3,000 vectors (clustered or uniformly random), searched through an exact-index manager
    and a vec0-only one."""
    rng = np.random.default_rng(11)
    if request.param == "clustered":
        matrix = clustered(rng, 3000)
    else:
        matrix = rng.standard_normal((3000, DIMS)).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    indexed = MemoryManager(memory_url, embedder=_Fixed(matrix))
    plain = MemoryManager(memory_url, embedder=_Fixed(matrix), vector_index=None)
    ids: list[int] = []
    for c in range(6):
        conversation = indexed.create_conversation(f"c{c}")
        batch = [
            {
                "role": ("user", "assistant", "tool")[i % 3],
                "content": f"v{c * 500 + i}",
                "created_at": T0 + timedelta(minutes=i),
            }
            for i in range(500)
        ]
        ids += [m.id for m in indexed.add_messages(conversation.id, batch)]
    yield indexed, plain, matrix, ids
    indexed.close()
    plain.close()


def _numpy_top(
    matrix: npt.NDArray[np.float32],
    ids: list[int],
    query: npt.NDArray[np.float32],
    k: int,
    keep: npt.NDArray[np.bool_] | None = None,
) -> list[int]:
    scores = matrix.astype(np.float64) @ query.astype(np.float64)
    if keep is not None:
        scores[~keep] = -np.inf
    order = np.argsort(-scores, kind="stable")[:k]
    return [ids[i] for i in order if scores[i] > -np.inf]


FILTERS = [
    {},
    {"conversation_id": 3},
    {"roles": ["tool"]},
    {"roles": ["user", "assistant"], "since": T0 + timedelta(minutes=100)},
    {"conversation_id": 2, "since": T0 + timedelta(minutes=10), "until": T0 + timedelta(minutes=40)},
]


@pytest.mark.parametrize("filters", FILTERS, ids=[str(sorted(f)) for f in FILTERS])
def test_exact_index_gives_numpy_and_vec0_answers(store, filters) -> None:  # type: ignore[no-untyped-def]
    indexed, plain, matrix, ids = store
    rng = np.random.default_rng(12)
    conversation = np.repeat(np.arange(1, 7), 500)
    role = np.array([("user", "assistant", "tool")[i % 3] for i in range(500)] * 6)
    minute = np.tile(np.arange(500), 6)
    keep = np.ones(3000, dtype=bool)
    if "conversation_id" in filters:
        keep &= conversation == filters["conversation_id"]
    if "roles" in filters:
        keep &= np.isin(role, filters["roles"])
    if "since" in filters:
        keep &= minute >= (filters["since"] - T0) / timedelta(minutes=1)
    if "until" in filters:
        keep &= minute < (filters["until"] - T0) / timedelta(minutes=1)
    for query in clustered(rng, 5):
        expected = _numpy_top(matrix, ids, query, 15, keep)
        got = indexed.search(query, k=15, **filters)
        from_vec0 = plain.search(query, k=15, **filters)
        assert [h.message.id for h in got] == expected
        assert [h.message.id for h in from_vec0] == expected
        np.testing.assert_allclose([h.distance for h in got], [h.distance for h in from_vec0], atol=1e-5)
    assert len(indexed._core.indexes.get(1)) == 3000  # the index answered, it did not defer to vec0


@pytest.mark.parametrize("filters", FILTERS, ids=[str(sorted(f)) for f in FILTERS])
def test_exact_index_scanned_in_slices_on_its_threads_gives_the_same_answers(  # type: ignore[no-untyped-def]
    store, filters, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large stores are scored in slices on the index's threads; slices of 256 rows make the 3,000
    here take that path (12 slices), which must agree with the inline scan of small stores."""
    indexed, _, _, _ = store
    queries = clustered(np.random.default_rng(13), 5)
    inline = [[h.message.id for h in indexed.search(q, k=15, **filters)] for q in queries]
    monkeypatch.setattr("memory.vectors.index._SCAN_ROWS", 256)
    sliced = [[h.message.id for h in indexed.search(q, k=15, **filters)] for q in queries]
    assert sliced == inline and all(inline)


def test_a_write_from_another_process_is_seen_by_the_next_search(store, memory_url: str) -> None:  # type: ignore[no-untyped-def]
    indexed, _, matrix, ids = store
    target = matrix[42] * -1.0  # far from everything stored so far
    assert indexed.search(target, k=1)[0].message.id != ids[42]
    # The other process writes with a vector given directly, through VectorRepository.
    script = (
        "import sys, numpy as np, memory\n"
        "from datetime import datetime, UTC\n"
        "vector = [float(x) for x in sys.argv[2].split(',')]\n"
        "engine = memory.create_engine(sys.argv[1])\n"
        "with memory.session_factory(engine, write=True).begin() as s:\n"
        "    c = memory.Conversation(title='other process'); s.add(c); s.flush()\n"
        "    m = memory.Message(conversation_id=c.id, role='user', content='from afar', content_hash='x')\n"
        "    s.add(m); s.flush()\n"
        "    space = s.get(memory.EmbeddingSpace, 1)\n"
        "    memory.VectorRepository(s, space).add(m.id, vector, conversation_id=c.id, role='user',\n"
        "        created_at=datetime.now(UTC))\n"
        "    doomed = s.get(memory.Message, int(sys.argv[3])); s.delete(doomed)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, memory_url, ",".join(map(str, target.tolist())), str(ids[0])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    top = indexed.search(target, k=3)
    assert top[0].message.content == "from afar" and top[0].distance < 1e-5
    assert ids[0] not in {h.message.id for h in indexed.search(matrix[0], k=20)}  # deletions never come back


def test_own_uncommitted_writes_are_searched_through_vec0(store) -> None:  # type: ignore[no-untyped-def]
    indexed, _, matrix, _ = store
    index = indexed._core.indexes.get(1) or VectorIndex(1, DIMS)
    with memory.session_factory(indexed.engine, write=True)() as session:
        space = session.get(memory.EmbeddingSpace, 1)
        repository = VectorRepository(session, space, index=index)
        conversation = memory.Conversation(title="uncommitted")
        session.add(conversation)
        session.flush()
        message = memory.Message(conversation_id=conversation.id, role="user", content="x", content_hash="x")
        session.add(message)
        session.flush()
        probe = -matrix[7]
        repository.add(message.id, probe, conversation_id=conversation.id, role="user", created_at=T0)
        assert repository.search(probe, k=1)[0][0] == message.id  # sees its own write
        session.rollback()
    assert indexed.search(-matrix[7], k=1)[0].message.content != "x"  # and the rollback left no trace


def test_a_gap_in_the_log_rebuilds_the_index(store) -> None:  # type: ignore[no-untyped-def]
    indexed, _, matrix, _ids = store
    indexed.search(matrix[0], k=1)
    conversation = indexed.create_conversation("late")
    indexed.add_messages(conversation.id, [{"role": "user", "content": f"v{i}"} for i in range(5)])
    with indexed.engine.begin() as connection:
        connection.execute(
            sa.text("DELETE FROM vector_changes WHERE seq < (SELECT max(seq) FROM vector_changes)")
        )
    hits = indexed.search(matrix[3], k=2)
    assert {h.message.content for h in hits} == {"v3"} and len(hits) == 2
    assert len(indexed._core.indexes.get(1)) == 3005


def test_binary_index_rescores_its_candidates_exactly(memory_url: str) -> None:
    rng = np.random.default_rng(21)
    matrix = clustered(rng, 4000, clusters=200)
    with MemoryManager(memory_url, embedder=_Fixed(matrix), vector_index="binary") as manager:
        conversation = manager.create_conversation("many")
        batch = [{"role": "user", "content": f"v{i}"} for i in range(4000)]
        ids = [m.id for m in manager.add_messages(conversation.id, batch)]
        queries = clustered(rng, 20, clusters=200)
        for query in queries:
            exact = {ids[i]: 1 - float(matrix[i] @ query) for i in range(4000)}
            for hit in manager.search(query, k=10):
                assert abs(hit.distance - exact[hit.message.id]) < 1e-5  # distances come from float vectors
        assert manager._core.indexes.get(1).mode == "binary" and len(manager._core.indexes.get(1)) == 4000
        # With every row a candidate, the quantized path must give the exact answer.
        wide = VectorIndex(1, DIMS, mode="binary", rescore=1000)
        with manager.engine.connect() as connection, connection.begin():
            for query in queries:
                got = wide.search(connection, query, 10, SearchFilter(conversation_id=conversation.id))
                assert got is not None
                assert [i for i, _ in got] == _numpy_top(matrix, ids, query, 10)


def _binary_reference(
    matrix: npt.NDArray[np.float32],
    ids: list[int],
    query: npt.NDArray[np.float32],
    k: int,
    want: int,
    keep: npt.NDArray[np.bool_],
) -> list[int]:
    """What binary mode promises, from numpy: every row within the `want`-th smallest Hamming
    distance of the sign bits (ties included) is rescored exactly, and the k best are returned."""
    codes = np.packbits(matrix > 0, axis=1)
    distance = np.unpackbits(codes ^ np.packbits(query > 0), axis=1).sum(axis=1)
    cutoff = np.sort(distance[keep])[want - 1]
    return _numpy_top(matrix, ids, query, k, keep & (distance <= cutoff))


def test_binary_index_over_many_blocks_rescores_every_row_within_the_cutoff(
    memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks after the first keep only rows within a bound another block set: the answer is still
    the one a single pass over every row gives, filtered, with deleted rows left out."""
    monkeypatch.setattr(index_module, "_BLOCK_ROWS", 256)  # 15 blocks
    rng = np.random.default_rng(23)
    # Clusters of about 300 rows stored one after another: a query's nearest rows lie in two
    # neighbouring blocks, so the bound one of them sets decides what the other keeps.
    centres = rng.standard_normal((13, DIMS)).astype(np.float32)
    matrix = centres[np.arange(4000) * 13 // 4000] + 0.35 * rng.standard_normal((4000, DIMS)).astype(
        np.float32
    )
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    with MemoryManager(memory_url, embedder=_Fixed(matrix), vector_index=None) as manager:
        conversations = [manager.create_conversation(f"c{c}") for c in range(2)]
        ids = []
        for start in range(0, 4000, 500):
            conversation = conversations[(start // 500) % 2]
            batch = [{"role": "user", "content": f"v{i}"} for i in range(start, start + 500)]
            ids += [m.id for m in manager.add_messages(conversation.id, batch)]
        in_first = np.array([(i // 500) % 2 == 0 for i in range(4000)])
        gone = rng.choice(4000, 300, replace=False)
        for i in gone:
            manager.delete_message(ids[i])
        alive = np.ones(4000, dtype=bool)
        alive[gone] = False
        index = VectorIndex(1, DIMS, mode="binary", rescore=3)  # 30 candidates for k=10
        queries = centres[rng.integers(0, 13, 12)] + 0.35 * rng.standard_normal((12, DIMS)).astype(np.float32)
        with manager.engine.connect() as connection, connection.begin():
            for query in queries:
                for where, keep in (
                    (SearchFilter(), alive),
                    (SearchFilter(conversation_id=conversations[0].id), alive & in_first),
                ):
                    got = index.search(connection, query, 10, where)
                    assert got is not None and len(index._blocks) == 15  # 3,700 live rows
                    assert [i for i, _ in got] == _binary_reference(matrix, ids, query, 10, 30, keep)


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_the_searching_thread_scans_too_after_its_other_work(
    memory_url: str, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    """However many cores: the other work (a hybrid search's words side) runs once, on the calling
    thread, the pool holds one thread fewer than scan, and every mode answers as numpy does."""
    monkeypatch.setattr(index_module, "_BLOCK_ROWS", 1024)
    monkeypatch.setattr(index_module, "_SCAN_ROWS", 256)  # a dozen tasks per search
    monkeypatch.setattr(index_module, "_threads", lambda: threads)
    rng = np.random.default_rng(31)
    matrix = clustered(rng, 3000)
    with MemoryManager(memory_url, embedder=_Fixed(matrix), vector_index=None) as manager:
        conversation = manager.create_conversation("many")
        ids = [
            m.id
            for m in manager.add_messages(
                conversation.id, [{"role": "user", "content": f"v{i}"} for i in range(3000)]
            )
        ]
        keep = np.ones(3000, dtype=bool)
        with manager.engine.connect() as connection, connection.begin():
            for mode in ("exact", "binary"):
                index = VectorIndex(1, DIMS, mode=mode, rescore=1000)  # binary: every row rescored
                for query in clustered(rng, 3, clusters=40):
                    calls: list[int] = []
                    got = index.search(
                        connection,
                        query,
                        10,
                        SearchFilter(),
                        meanwhile=lambda: calls.append(threading.get_ident()),
                    )
                    assert got is not None and [i for i, _ in got] == _numpy_top(matrix, ids, query, 10, keep)
                    assert calls == [threading.get_ident()]
                assert (index._pool is None) if threads == 1 else index._pool._max_workers == threads - 1  # type: ignore[union-attr]
                index.close()


def test_a_scan_that_fails_raises_after_every_task_has_stopped(
    memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "_BLOCK_ROWS", 1024)
    monkeypatch.setattr(index_module, "_SCAN_ROWS", 256)
    rng = np.random.default_rng(32)
    matrix = clustered(rng, 3000)
    scans: list[int] = []
    dot = index_module._dot

    def failing(block: npt.NDArray[np.float32], unit: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        scans.append(1)
        if len(scans) == 3:
            raise RuntimeError("scan failed")
        return dot(block, unit)

    with MemoryManager(memory_url, embedder=_Fixed(matrix), vector_index=None) as manager:
        conversation = manager.create_conversation("many")
        manager.add_messages(conversation.id, [{"role": "user", "content": f"v{i}"} for i in range(3000)])
        index = VectorIndex(1, DIMS, mode="exact")
        with manager.engine.connect() as connection, connection.begin():
            assert index.search(connection, matrix[0], 10, SearchFilter()) is not None  # built
            monkeypatch.setattr(index_module, "_dot", failing)
            with pytest.raises(RuntimeError, match="scan failed"):
                index.search(connection, matrix[0], 10, SearchFilter())
            finished = len(scans)
            time.sleep(0.05)
            assert len(scans) == finished  # nothing still scanning once it raised
            monkeypatch.setattr(index_module, "_dot", dot)
            got = index.search(connection, matrix[5], 10, SearchFilter())
            assert got is not None and got[0][1] < 1e-5  # the index still answers


def test_index_mode_is_validated(memory_url: str) -> None:
    with pytest.raises(memory.ValidationError, match="vector_index"):
        MemoryManager(memory_url, embedder=memory.FakeEmbedder(8), vector_index="fast")  # type: ignore[arg-type]


def test_index_search_directly(memory_engine: sa.Engine) -> None:
    with memory_engine.connect() as connection, connection.begin():
        store = SqliteVecStore(connection, 1, 384)
        index = VectorIndex(1, 384)
        assert index.search(connection, np.ones(384, dtype=np.float32), 5, SearchFilter()) == []
        assert store.count() == 0


def test_logged_runs_replay_adds_and_deletes_in_order(memory_engine: sa.Engine) -> None:
    """Bulk writes log one entry per run of consecutive ids; a reader replays runs with gaps, then a
    delete inside a run, then the same id written again, and ends with the tables' exact state."""
    rng = np.random.default_rng(5)
    index = VectorIndex(1, DIMS, mode="exact")
    session_factory = memory.session_factory(memory_engine, write=True)
    with session_factory.begin() as session:
        space = session.get(memory.EmbeddingSpace, 1)
        assert space is not None
        space.dimensions = DIMS
        SqliteVecStore(session.connection(), 1, 384).drop()
        SqliteVecStore(session.connection(), 1, DIMS).create()
    with session_factory.begin() as session:  # the index starts from an empty space
        index.sync(session.connection())

    matrix = rng.standard_normal((700, DIMS)).astype(np.float32)
    ids = np.r_[1:301, 501:801, 1001:1101]  # three runs in one batch
    with session_factory.begin() as session:
        space = session.get(memory.EmbeddingSpace, 1)
        repository = VectorRepository(session, space)  # type: ignore[arg-type]
        repository.add_matrix(ids.tolist(), matrix, conversation_ids=1, roles="user", created_at=T0)
        runs = session.execute(sa.text("SELECT message_id, run_length FROM vector_changes")).all()
        assert [tuple(run) for run in runs] == [(1, 300), (501, 300), (1001, 100)]
        repository.delete([550, 2])
        repository.add(550, matrix[0], conversation_id=1, role="user", created_at=T0)
    with session_factory.begin() as session:
        assert index.sync(session.connection())
        expected = {int(i) for i in ids} - {2}
        assert set(index.ids()) == expected
        hits = index.search(session.connection(), matrix[0], 2, SearchFilter())
        assert hits is not None and {hits[0][0], hits[1][0]} == {1, 550}


def test_a_search_scoped_to_a_conversation_sees_its_new_and_deleted_rows(store) -> None:  # type: ignore[no-untyped-def]
    """A scoped search finds its conversation's rows by an order kept per block: rows added to the
    conversation after it was made, and rows deleted since, are seen as vec0 sees them."""
    indexed, plain, _, _ = store
    (query,) = clustered(np.random.default_rng(14), 1)
    first = indexed.search(query, k=15, conversation_id=3)
    assert [h.message.id for h in first] == [
        h.message.id for h in plain.search(query, k=15, conversation_id=3)
    ]
    near = np.vstack([query + 0.01 * i for i in range(1, 4)]).astype(np.float32)
    added = indexed.add_messages(
        3, [{"role": "user", "content": f"near {i}"} for i in range(3)], vectors=near
    )
    indexed.delete_message(first[0].message.id)
    hits = indexed.search(query, k=15, conversation_id=3)
    assert [h.message.id for h in hits] == [
        h.message.id for h in plain.search(query, k=15, conversation_id=3)
    ]
    assert {m.id for m in added} <= {h.message.id for h in hits}
    assert first[0].message.id not in {h.message.id for h in hits}


@pytest.mark.parametrize("scan_rows", [256, 32768], ids=["threads", "inline"])
def test_nearest_with_runs_other_work_once_on_the_calling_thread_during_the_scan(  # type: ignore[no-untyped-def]
    store, scan_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hybrid search's words side runs while the index scans: the answer is `nearest`'s, the other
    work runs once on the caller's thread (it uses the caller's connection), and when it fails the
    scan is still waited for and the index stays usable."""
    indexed, plain, matrix, _ = store
    monkeypatch.setattr("memory.vectors.index._SCAN_ROWS", scan_rows)
    query = memory.validation.as_vector(matrix[42], DIMS)
    calls: list[int] = []
    core = indexed._core
    for manager in (indexed, plain):
        with manager._core.reading() as session:
            space = manager._core.active(session)
            index = manager._core.indexes.for_space(space) if manager._core.indexes else None
            vectors = VectorRepository(session, space, index=index)
            alone = vectors.nearest(query, 10, SearchFilter())
            hits, other = vectors.nearest_with(
                query, 10, SearchFilter(), lambda: calls.append(threading.get_ident()) or "words"
            )
        assert hits == alone and other == "words" and len(alone) == 10
    assert calls == [threading.get_ident()] * 2

    def failing() -> str:
        raise RuntimeError("words side failed")

    with core.reading() as session:
        vectors = VectorRepository(session, core.active(session), index=core.indexes.for_space(core.space))
        with pytest.raises(RuntimeError, match="words side failed"):
            vectors.nearest_with(query, 10, SearchFilter(), failing)
    assert [h.message.id for h in indexed.search(matrix[42], k=10)] == [h for h, _ in alone]


def test_a_search_scoped_to_one_user_finds_the_users_rows_by_bisection(
    memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With many users, a user's rows are found through the block's order of user keys, not by
    comparing every row: the same answers as numpy over that user's vectors, with other filters,
    after a delete and after new rows (the order is remade)."""
    rng = np.random.default_rng(5)
    users = [f"user-{u}" for u in range(10)]
    vectors = clustered(rng, 600)
    indexed = MemoryManager(memory_url, embedder=_Fixed(vectors))
    plain = MemoryManager(memory_url, embedder=_Fixed(vectors), vector_index=None)
    owned: dict[str, list[int]] = {user: [] for user in users}
    conversations: dict[str, list[int]] = {user: [] for user in users}
    rows_of: dict[int, int] = {}
    try:
        for row in range(0, 600, 30):  # 20 conversations of 30 messages, two per user, interleaved
            user = users[(row // 30) % 10]
            scope = indexed.scoped(user)
            conversation = scope.create_conversation(f"c{row}")
            conversations[user].append(conversation.id)
            batch = [
                {
                    "role": ("user", "assistant")[i % 2],
                    "content": f"v{row + i}",
                    "created_at": T0 + timedelta(minutes=i),
                }
                for i in range(30)
            ]
            for message, i in zip(
                scope.add_messages(conversation.id, batch), range(row, row + 30), strict=True
            ):
                owned[user].append(message.id)
                rows_of[message.id] = i

        def masks_forbidden(self, where):  # type: ignore[no-untyped-def]
            raise AssertionError("a user-scoped search compared every row")

        monkeypatch.setattr(VectorIndex, "_masks", masks_forbidden)

        def expected(user: str, query: npt.NDArray[np.float32], k: int, **keep: object) -> list[int]:
            ids = [
                m
                for m in owned[user]
                if keep.get("role") in (None, ("user", "assistant")[rows_of[m] % 30 % 2])
            ]
            return _numpy_top(vectors[[rows_of[m] for m in ids]], ids, query, k)

        queries = clustered(np.random.default_rng(6), 4)
        for user in users[:5]:
            for query in queries:
                hits = [h.message.id for h in indexed.search(query, k=7, user_id=user, mode="vector")]
                assert hits == expected(user, query, 7)
                assert hits == [h.message.id for h in plain.search(query, k=7, user_id=user, mode="vector")]
                tools = indexed.search(query, k=7, user_id=user, roles="assistant", mode="vector")
                assert [h.message.id for h in tools] == expected(user, query, 7, role="assistant")
        # A deleted conversation's rows never come back; new rows are found (the order is remade).
        victim = users[2]
        indexed.delete_conversation(conversations[victim][0])
        owned[victim] = owned[victim][30:]
        scope = indexed.scoped(victim)
        late = scope.create_conversation("late")
        for message, i in zip(
            scope.add_messages(late.id, [{"role": "user", "content": f"v{i}"} for i in range(5)]),
            range(5),
            strict=True,
        ):
            owned[victim].append(message.id)
            rows_of[message.id] = i
        for query in [*queries, vectors[3]]:
            hits = [h.message.id for h in indexed.search(query, k=9, user_id=victim, mode="vector")]
            assert hits == expected(victim, query, 9)
    finally:
        indexed.close()
        plain.close()


def test_vectors_by_id_come_from_the_index_after_appends_and_deletes(store) -> None:  # type: ignore[no-untyped-def]
    """`VectorIndex.vectors` (a hybrid search's words-only hits) finds rows through each block's
    order of ids: rows appended after the order was made are found, deleted ones are not."""
    indexed, _, matrix, ids = store
    core = indexed._core
    index = core.indexes.for_space(core.space)

    def vectors_of(wanted: list[int]) -> dict[int, npt.NDArray[np.float32]]:
        with core.reading() as session:
            found = index.vectors(session.connection(), wanted)
        assert found is not None
        return found

    first = vectors_of([ids[7], ids[2999], ids[7], 10**9])
    assert sorted(first) == [ids[7], ids[2999]]
    np.testing.assert_allclose(first[ids[7]], matrix[7] / np.linalg.norm(matrix[7]), rtol=1e-6)
    conversation = indexed.create_conversation("late")
    late = indexed.add_messages(conversation.id, [{"role": "user", "content": "v11"}])[0]
    indexed.delete_conversation(1)  # the first 500 rows
    found = vectors_of([ids[7], ids[600], late.id])
    assert sorted(found) == sorted([ids[600], late.id])
    np.testing.assert_allclose(found[late.id], matrix[11] / np.linalg.norm(matrix[11]), rtol=1e-6)
