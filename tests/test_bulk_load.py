"""Bulk loads: `MemoryManager.bulk_load` defers PostgreSQL's HNSW index and secondary indexes (full
text, B-trees), and batches go in with COPY (exact values, all or nothing); every commit is
searchable exactly and by words along the way, and every index comes back as the migrations made it."""

from __future__ import annotations

import signal
import subprocess
import sys

import numpy as np
import pytest

from memory import DuplicateError, FakeEmbedder, MemoryManager, VectorRepository
from memory.bulk import COPY_MIN_ROWS
from memory.bulkload import secondary_indexes

pytestmark = pytest.mark.both_backends

DIMS = 16
# Content that COPY's text format must escape: tabs, newlines, backslashes, its own markers.
AWKWARD = ["tab\there", "line\nbreak\r\n", "back\\slash \\N \\.", "naïve ☃ 𝄞", "\\", "end of data\n\\.\n"]


def _conversations(count: int, start: int, rng: np.random.Generator) -> list[dict[str, object]]:
    return [
        {
            "title": f"conversation {start + c}",
            "source_id": f"source-{start + c}",
            "metadata": {"n": start + c, "tab": "a\tb"},
            "messages": [
                {
                    "role": ("user", "assistant")[m % 2],
                    "content": f"{AWKWARD[m % len(AWKWARD)]} {start + c}.{m}",
                }
                for m in range(6)
            ],
            "vectors": rng.standard_normal((6, DIMS)).astype(np.float32),
        }
        for c in range(count)
    ]


def _has_index(manager: MemoryManager) -> bool:
    with manager._core.reading() as unit:
        return VectorRepository(unit, manager._core.space).has_approximate_index()


# Every index on memory's tables (the space's vector table included) with its definition.
_INDEXES = (
    "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname IN ('messages', 'conversations', "
    "'message_vectors_1') AND pg_table_is_visible(t.oid)"
)


def _indexes(manager: MemoryManager) -> dict[str, str]:
    with manager.engine.connect() as connection:
        return {str(name): str(definition) for name, definition in connection.exec_driver_sql(_INDEXES)}


def _killed_after(script: str, url: str, lines: int) -> list[str]:
    """Run `script` on `url` in a child process, SIGKILL it once it printed `lines` lines; every
    line it printed."""
    with subprocess.Popen([sys.executable, "-c", script, url], stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        printed = [child.stdout.readline() for _ in range(lines)]
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        return printed + child.stdout.read().splitlines()


def _deferred(manager: MemoryManager) -> set[str]:
    with manager._core.reading() as unit:
        return {index.name for index in secondary_indexes(unit, manager._core.space)}


def test_a_bulk_load_is_searchable_as_it_goes_and_ends_with_the_index(
    memory_url: str, rng: np.random.Generator
) -> None:
    batch = _conversations(2 * COPY_MIN_ROWS, 0, rng)
    with MemoryManager(memory_url, embedder=FakeEmbedder(DIMS)) as manager:
        postgres = manager.engine.dialect.name == "postgresql"
        before = _indexes(manager) if postgres else {}
        with manager.bulk_load() as report:
            stored = manager.add_conversations(batch)
            if postgres:
                assert not _has_index(manager)
                assert _deferred(manager) == {
                    "ix_messages_content_fts",
                    "ix_messages_conversation_id_created_at",
                    "message_vectors_1_scope",
                    "message_vectors_1_owner",
                }
                assert not _deferred(manager) & set(_indexes(manager))
            # Committed: exact vector search finds each stored vector, full-text finds its words.
            for n in (0, 77, len(batch) - 1):
                query = batch[n]["vectors"][3]  # type: ignore[index]
                hit = manager.search(query, k=1, mode="vector")[0]
                assert hit.message.content == f"{AWKWARD[3]} {n}.3"
                assert hit.distance == pytest.approx(0.0, abs=1e-6)
            assert {h.message.content for h in manager.search("slash", k=500, mode="text")} >= {
                f"{AWKWARD[2]} {n}.2" for n in range(len(batch))
            }
        assert _has_index(manager)
        assert manager.check().ok
        if postgres:  # every index back, exactly as the migrations and the space made it
            assert _indexes(manager) == before
            assert set(report.indexes_built) == _deferred(manager)
            assert report.approximate_index_built
            assert report.indexes_s > 0 and report.approximate_index_s > 0
        else:
            assert not report.indexes_built and not report.approximate_index_built
        messages = [m for c in stored for m in manager.get_messages(c.id)]
    assert [m.content for m in messages] == [m["content"] for c in batch for m in c["messages"]]  # type: ignore[attr-defined]
    assert [c.meta for c in stored] == [c["metadata"] for c in batch]
    assert sorted(m.id for m in messages) == [m.id for m in messages]  # ids in insertion order
    if not memory_url.startswith("postgresql"):
        return
    with MemoryManager(memory_url, embedder=FakeEmbedder(DIMS), vector_index="hnsw") as manager:
        query = batch[5]["vectors"][1]  # type: ignore[index]
        assert manager.search(query, k=1, mode="vector")[0].message.content == f"{AWKWARD[1]} 5.1"


def test_a_failed_batch_writes_nothing_and_the_index_comes_back(
    memory_url: str, rng: np.random.Generator
) -> None:
    with MemoryManager(memory_url, embedder=FakeEmbedder(DIMS)) as manager:
        manager.add_conversations(_conversations(COPY_MIN_ROWS, 0, rng))
        before = manager.stats()
        again = _conversations(COPY_MIN_ROWS, COPY_MIN_ROWS, rng) + _conversations(
            1, 3, rng
        )  # source-3 taken
        with pytest.raises(DuplicateError), manager.bulk_load():
            manager.add_conversations(again)
        assert manager.stats() == before
        assert _has_index(manager)


_LOADER = """
import sys
import numpy as np
import memory

manager = memory.MemoryManager(sys.argv[1], embedder=memory.FakeEmbedder(16), migrate=False)
rng = np.random.default_rng(7)
with manager.bulk_load():
    n = 0
    while True:
        batch = [
            {"title": f"c{n}.{c}", "vectors": rng.standard_normal((5, 16)).astype(np.float32),
             "messages": [{"role": "user", "content": f"load {n}.{c}.{m}"} for m in range(5)]}
            for c in range(100)
        ]
        manager.add_conversations(batch)
        print(n, flush=True)  # reported only after the commit
        n += 1
"""


def test_a_bulk_load_killed_midway_keeps_its_commits_and_check_repairs_the_index(memory_url: str) -> None:
    with MemoryManager(memory_url, embedder=FakeEmbedder(DIMS)) as manager:
        indexes = _indexes(manager) if manager.engine.dialect.name == "postgresql" else {}
    committed = _killed_after(_LOADER, memory_url, 3)
    with MemoryManager(memory_url, embedder=FakeEmbedder(DIMS)) as manager:
        stats = manager.stats()
        # Whole batches only: the ones reported, and perhaps one more that committed unreported.
        assert stats["messages"] == stats["conversations"] * 5
        assert stats["conversations"] in (100 * len(committed), 100 * (len(committed) + 1))
        report = manager.check()
        if manager.engine.dialect.name == "postgresql":
            assert report.problems == [
                "the active space has no HNSW index (a bulk load was cut short)",
                "indexes missing (a bulk load was cut short): ix_messages_content_fts, "
                "ix_messages_conversation_id_created_at, message_vectors_1_scope, message_vectors_1_owner",
            ]
            repaired = manager.check(repair=True)
            assert repaired.ok
            assert repaired.repaired == [
                "built the missing indexes ix_messages_content_fts, ix_messages_conversation_id_created_at, "
                "message_vectors_1_scope, message_vectors_1_owner",
                "built the active space's HNSW index",
            ]
            assert _indexes(manager) == indexes
        assert manager.check().ok
        assert _has_index(manager)


def test_batches_commit_in_order_and_a_failed_one_stores_none_after_it(
    memory_url: str, rng: np.random.Generator
) -> None:
    """On PostgreSQL two batches are written at once, each in its own transaction: they still
    commit in order, a duplicate source id in the batch after is refused without a deadlock, and a
    failed batch leaves the one written beside it rolled back."""
    with MemoryManager(memory_url, embedder=FakeEmbedder(DIMS)) as manager:
        manager.add_conversations(_conversations(1, 2, rng))  # source-2 is taken
        reported: list[list[str | None]] = []

        def on_batch(stored: list[object]) -> None:
            reported.append([getattr(c, "source_id", None) for c in stored])

        batches = [_conversations(COPY_MIN_ROWS, start, rng) for start in (100, 300, 2, 500, 700)]
        with pytest.raises(DuplicateError):
            manager.add_conversation_batches(batches, on_batch=on_batch)
        assert reported == [[f"source-{start + c}" for c in range(COPY_MIN_ROWS)] for start in (100, 300)]
        stored = {c.source_id for c in manager.list_conversations(limit=1000)}
        assert stored == {"source-2", *(f"source-{s + c}" for s in (100, 300) for c in range(COPY_MIN_ROWS))}

        # The same source id in two batches written side by side: the first is stored, the second
        # refused (it waits for the first to commit, never the reverse).
        twice = [_conversations(1, 900, rng), _conversations(1, 900, rng), _conversations(1, 901, rng)]
        with pytest.raises(DuplicateError):
            manager.add_conversation_batches(twice)
        assert manager.find_conversation("source-900") is not None
        assert manager.find_conversation("source-901") is None
        assert manager.stats()["messages"] == 6 * (len(stored) + 1)

        # A caller that stops at the first batch: the one beside it is stored whole or not at
        # all, and none after it.
        def stop(_: list[object]) -> None:
            raise RuntimeError("enough")

        later = [_conversations(COPY_MIN_ROWS, start, rng) for start in (1000, 1200, 1400, 1600)]
        with pytest.raises(RuntimeError, match="enough"):
            manager.add_conversation_batches(later, on_batch=stop)
        kept = {c.source_id for c in manager.list_conversations(limit=1000)} - stored - {"source-900"}
        first, second = ({f"source-{s + c}" for c in range(COPY_MIN_ROWS)} for s in (1000, 1200))
        assert kept in (first, first | second)


_BATCH_LOADER = """
import sys
import numpy as np
import memory

manager = memory.MemoryManager(sys.argv[1], embedder=memory.FakeEmbedder(16), migrate=False)
rng = np.random.default_rng(7)


def batches():
    n = 0
    while True:
        yield [
            {"title": f"b{n}.{c}", "vectors": rng.standard_normal((5, 16)).astype(np.float32),
             "messages": [{"role": "user", "content": f"load {n}.{c}.{m}"} for m in range(5)]}
            for c in range(100)
        ]
        n += 1


with manager.bulk_load():
    manager.add_conversation_batches(batches(), on_batch=lambda stored: print(stored[0].title, flush=True))
"""


def test_batches_killed_midway_leave_whole_batches_in_order(memory_url: str) -> None:
    """SIGKILL during `add_conversation_batches` (two batches in flight on PostgreSQL): what is
    stored is every batch up to some point, each whole, none after a gap."""
    with MemoryManager(memory_url, embedder=FakeEmbedder(DIMS)):
        pass
    reported = _killed_after(_BATCH_LOADER, memory_url, 4)
    with MemoryManager(memory_url, embedder=FakeEmbedder(DIMS)) as manager:
        titles = [c.title or "" for c in manager.list_conversations(limit=10_000)]
        stats = manager.stats()
    batches = sorted({int(title[1:].split(".")[0]) for title in titles})
    assert batches == list(range(len(batches)))  # a prefix, no gap
    assert len(reported) <= len(batches) <= len(reported) + 2
    assert len(titles) == 100 * len(batches) and stats["messages"] == 5 * len(titles)
