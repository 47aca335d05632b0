"""Index snapshots: a new process maps the index its predecessors built, checked against the database
first, and answers exactly as a fresh build would; a snapshot that does not check out is never used."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy.engine import make_url

from memory import FakeEmbedder, MemoryManager
from memory.engine import sqlite_file
from memory.vectors import index as index_module
from memory.vectors import vec0_chunks
from memory.vectors.snapshot import COLUMNS, SnapshotKey, read_snapshot, snapshot_dir_of, write_snapshot

DIMS = 64


def _vectors(rng: np.random.Generator, n: int) -> npt.NDArray[np.float32]:
    matrix = rng.standard_normal((n, DIMS)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _fill(manager: MemoryManager, rng: np.random.Generator, conversations: int, per: int = 50) -> None:
    """`conversations` of `per` messages, each of user 0, 1 or 2 in turn."""
    for c in range(conversations):
        _conversations(manager.scoped(f"user {c % 3}"), rng, 1, per)


def _conversations(manager: object, rng: np.random.Generator, conversations: int, per: int) -> None:
    manager.add_conversations(  # type: ignore[attr-defined]
        [
            {
                "title": f"c{c}",
                "messages": [
                    {"role": ("user", "assistant")[i % 2], "content": f"m{c}.{i}"} for i in range(per)
                ],
                "vectors": _vectors(rng, per),
            }
            for c in range(conversations)
        ]
    )


def _exact(manager: MemoryManager, query: npt.NDArray[np.float32], k: int = 10) -> list[int]:
    """numpy's answer over every vector the database holds."""
    with manager.engine.connect() as connection:
        chunks = list(
            vec0_chunks.read_chunks(connection, "message_vectors_1", DIMS, vectors=True, bits=False)
        )
    ids = np.concatenate([chunk.ids for chunk in chunks])
    matrix = np.concatenate([chunk.vectors for chunk in chunks if chunk.vectors is not None])
    scores = (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)) @ (query / np.linalg.norm(query))
    order = np.lexsort((ids, -scores.astype(np.float64)))[:k]
    return ids[order].tolist()


def _found(
    manager: MemoryManager, query: npt.NDArray[np.float32], k: int = 10, **filters: object
) -> list[int]:
    return [hit.message.id for hit in manager.search(query, k, mode="vector", **filters)]  # type: ignore[arg-type]


def _snapshots(url: str) -> list[Path]:
    database = sqlite_file(make_url(url))
    assert database is not None
    directory = snapshot_dir_of(database)
    return sorted(directory.glob("*.snapshot")) if directory.is_dir() else []


def _refuse_chunk_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the index was built from the chunks instead of the snapshot")

    monkeypatch.setattr(vec0_chunks, "read_chunks", refuse)


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder(DIMS)


def test_a_new_manager_maps_the_snapshot_and_answers_as_numpy(
    memory_url: str, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "_BLOCK_ROWS", 1000)  # several mapped blocks
    rng = np.random.default_rng(1)
    queries = _vectors(rng, 6)
    with MemoryManager(memory_url, embedder=embedder) as first:
        _fill(first, rng, 80)
        built = [_found(first, q) for q in queries]
    (snapshot,) = _snapshots(memory_url)
    assert snapshot.name == "space-1.exact.snapshot"
    assert snapshot.stat().st_size > 4000 * DIMS * 4
    with MemoryManager(memory_url, embedder=embedder) as second:
        _refuse_chunk_reads(monkeypatch)
        assert [_found(second, q) for q in queries] == built
        monkeypatch.undo()
        assert built == [_exact(second, q) for q in queries]
        by_user = second.search(queries[0], 10, mode="vector", user_id="user 1")
        mine = {c.id for c in second.scoped("user 1").list_conversations(limit=1000)}
        assert len(by_user) == 10 and all(hit.message.conversation_id in mine for hit in by_user)


def test_writes_and_deletes_after_the_snapshot_are_replayed(
    memory_url: str, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(2)
    queries = _vectors(rng, 5)
    with MemoryManager(memory_url, embedder=embedder) as first:
        _fill(first, rng, 60)
        _found(first, queries[0])  # builds and saves the snapshot
    before = _snapshots(memory_url)[0].stat().st_mtime_ns
    with MemoryManager(memory_url, embedder=embedder, vector_index=None) as writer:
        doomed = [hit.message.id for hit in writer.search(queries[1], 5, mode="vector")]
        for message_id in doomed:
            writer.delete_message(message_id)
        _fill(writer, rng, 2)  # fewer changes than a new snapshot waits for
        (near,) = writer.add_messages(
            writer.create_conversation("new").id, [{"role": "user", "content": "new"}], vectors=queries[2:3]
        )
    with MemoryManager(memory_url, embedder=embedder) as second:
        _refuse_chunk_reads(monkeypatch)
        found = [_found(second, q) for q in queries]
        monkeypatch.undo()
        assert found == [_exact(second, q) for q in queries]
        assert not set(doomed) & {i for hits in found for i in hits}  # a delete never comes back
        assert found[2][0] == near.id  # a write is seen
    assert _snapshots(memory_url)[0].stat().st_mtime_ns == before


def test_a_snapshot_that_does_not_check_out_is_never_used(
    memory_url: str, embedder: FakeEmbedder, tmp_path: Path
) -> None:
    rng = np.random.default_rng(3)
    queries = _vectors(rng, 4)
    with MemoryManager(memory_url, embedder=embedder) as first:
        _fill(first, rng, 40)
        _found(first, queries[0])
    (snapshot,) = _snapshots(memory_url)
    good = snapshot.read_bytes()
    data = len(good) - 40 * 50 * DIMS * 4  # where the vectors start (the last column of exact mode)
    damaged = {
        "truncated": good[: len(good) // 2],
        "header": good[:20] + bytes([good[20] ^ 1]) + good[21:],
        "vectors": good[:data] + bytes(len(good) - data),  # every vector zeroed, sizes intact
    }
    for how, content in damaged.items():
        snapshot.write_bytes(content)
        with MemoryManager(memory_url, embedder=embedder) as reader:
            assert [_found(reader, q) for q in queries] == [_exact(reader, q) for q in queries], how
        assert snapshot.read_bytes() == good, how  # built from the tables and saved again

    # Another store at the same path: its log looks alike, its vectors do not.
    database = sqlite_file(make_url(memory_url))
    assert database is not None
    kept = tmp_path / "kept.snapshot"
    kept.write_bytes(good)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    with MemoryManager(memory_url, embedder=embedder) as other:
        _fill(other, np.random.default_rng(4), 40)
        snapshot.write_bytes(kept.read_bytes())
    with MemoryManager(memory_url, embedder=embedder) as reader:
        assert [_found(reader, q) for q in queries] == [_exact(reader, q) for q in queries]


def test_forget_deletes_the_snapshots_and_other_processes_let_go_of_theirs(
    memory_url: str, embedder: FakeEmbedder
) -> None:
    rng = np.random.default_rng(5)
    with (
        MemoryManager(memory_url, embedder=embedder) as manager,
        MemoryManager(memory_url, embedder=embedder) as other,
    ):
        _fill(manager, rng, 30)
        mallory = manager.scoped("mallory")
        secret = mallory.create_conversation("secret")
        vector = _vectors(rng, 1)[0]
        mallory.add_messages(secret.id, [{"role": "user", "content": "s"}], vectors=vector[None, :])
        assert _found(other, vector, 1) == _found(manager, vector, 1)  # both map the snapshot
        assert len(_snapshots(memory_url)) == 1
        report = manager.forget(user_id="mallory")
        assert report.index_snapshots == 1 and not _snapshots(memory_url)
        found = other.search(vector, 1, mode="vector")  # its file is gone: it lets go, builds anew, saves
        assert found and found[0].message.conversation_id != secret.id
    (snapshot,) = _snapshots(memory_url)
    assert vector.tobytes() not in snapshot.read_bytes()


def test_binary_mode_keeps_its_codes_in_its_own_snapshot(
    memory_url: str, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(6)
    queries = _vectors(rng, 4)
    with MemoryManager(memory_url, embedder=embedder, vector_index="binary") as first:
        _fill(first, rng, 40)
        built = [_found(first, q) for q in queries]
    assert [p.name for p in _snapshots(memory_url)] == ["space-1.binary.snapshot"]
    with MemoryManager(memory_url, embedder=embedder, vector_index="binary") as second:
        _refuse_chunk_reads(monkeypatch)
        assert [_found(second, q) for q in queries] == built


@pytest.mark.parametrize("dimensions", [64, 192])
def test_a_snapshots_codes_are_read_in_place_as_one_array(tmp_path: Path, dimensions: int) -> None:
    """Binary mode's codes, written a word's row at a time from the blocks' pieces, come back as one
    (words, rows) array over the mapping: every process reads the same pages, none holds a copy."""
    rng = np.random.default_rng(8)
    rows = 1500
    codes = rng.integers(0, 2**63, (dimensions // 64, rows), dtype=np.uint64)
    key = SnapshotKey(1, dimensions, "binary", "2026-12-01T00:00:00", None)
    columns = {name: [np.arange(rows, dtype=np.int64)] for name in COLUMNS if name != "vectors"}
    columns["vectors"] = [np.zeros((rows, dimensions), dtype=np.float32)]
    path = tmp_path / "space-1.binary.snapshot"
    write_snapshot(
        path, key, seq=1, last_change=None, columns=columns, words=[[w[:700], w[700:]] for w in codes]
    )
    snapshot = read_snapshot(path, key)
    assert snapshot is not None and snapshot.words.shape == codes.shape
    assert np.array_equal(snapshot.words, codes)
    assert not snapshot.words.flags.owndata and not snapshot.words.flags.writeable
    assert np.array_equal(snapshot.words[:, 1000:1200], codes[:, 1000:1200])  # a block's slice


def test_a_snapshot_is_written_again_once_enough_changed(
    memory_url: str, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "_BLOCK_ROWS", 400)  # re-snapshot after 100 changes
    rng = np.random.default_rng(7)
    with MemoryManager(memory_url, embedder=embedder) as first:
        _fill(first, rng, 20)
        _found(first, _vectors(rng, 1)[0])
    before = _snapshots(memory_url)[0].stat().st_ino
    with MemoryManager(memory_url, embedder=embedder, vector_index=None) as writer:
        _fill(writer, rng, 4)
    with MemoryManager(memory_url, embedder=embedder) as reader:
        query = _vectors(rng, 1)[0]
        assert _found(reader, query) == _exact(reader, query)
    assert _snapshots(memory_url)[0].stat().st_ino != before
    with MemoryManager(memory_url, embedder=embedder) as reader:
        _refuse_chunk_reads(monkeypatch)
        assert _found(reader, query) == _found(reader, query)


_WRITER = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    from memory import FakeEmbedder, MemoryManager
    from memory.vectors import snapshot

    real_fsync = os.fsync

    def stall(fd):
        print("writing", flush=True)
        time.sleep(60)

    snapshot.os.fsync = stall  # the snapshot is written, not yet flushed nor renamed: killed here
    with MemoryManager(sys.argv[1], embedder=FakeEmbedder(64)) as manager:
        manager.search(np.ones(64, dtype=np.float32), 5, mode="vector")
    """
)


def test_a_process_killed_while_writing_a_snapshot_leaves_none(
    memory_url: str, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(8)
    with MemoryManager(memory_url, embedder=embedder, index_snapshots=False) as manager:
        _fill(manager, rng, 40)
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, memory_url], stdout=subprocess.PIPE, text=True, env={**os.environ}
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "writing"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    database = sqlite_file(make_url(memory_url))
    assert database is not None
    directory = snapshot_dir_of(database)
    assert not _snapshots(memory_url) and list(directory.glob(".*"))  # only the temporary
    old = time.time() - 7200
    for temporary in directory.glob(".*"):
        os.utime(temporary, (old, old))
    query = _vectors(rng, 1)[0]
    with MemoryManager(memory_url, embedder=embedder) as manager:
        assert _found(manager, query) == _exact(manager, query)
    assert len(_snapshots(memory_url)) == 1 and not list(directory.glob(".*"))  # the stale one swept


_SEARCHER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from memory import FakeEmbedder, MemoryManager

    rng = np.random.default_rng(int(sys.argv[2]))
    with MemoryManager(sys.argv[1], embedder=FakeEmbedder(64)) as manager:
        for _ in range(20):
            query = rng.standard_normal(64).astype(np.float32)
            print(",".join(str(hit.message.id) for hit in manager.search(query, 10, mode="vector")))
    """
)


def test_processes_that_open_a_store_at_once_all_answer_exactly(
    memory_url: str, embedder: FakeEmbedder
) -> None:
    rng = np.random.default_rng(9)
    with MemoryManager(memory_url, embedder=embedder) as manager:
        _fill(manager, rng, 100)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _SEARCHER, memory_url, str(seed)], stdout=subprocess.PIPE, text=True
        )
        for seed in range(4)
    ]
    outputs = [child.communicate(timeout=300)[0] for child in children]
    assert all(child.returncode == 0 for child in children)
    assert len(_snapshots(memory_url)) == 1
    with MemoryManager(memory_url, embedder=embedder) as manager:
        for seed, output in enumerate(outputs):
            queries = np.random.default_rng(seed)
            for line in output.splitlines():
                query = queries.standard_normal(64).astype(np.float32)
                assert [int(i) for i in line.split(",")] == _exact(manager, query)
