"""Bulk loads (`MemoryManager.bulk_load`): on PostgreSQL, the indexes that cost more to maintain row
by row than to build afresh are dropped on entry and built on exit.

Exit builds in two transactions: first the secondary indexes (`memory.deferred_indexes`: full-text,
a conversation's messages, the vector table's scope and owner B-trees), after which every query is
as fast as before the block; then the active space's HNSW index, the long part. A load cut short
leaves some absent: `missing` names them, the next bulk load's exit or `check(repair=True)` builds them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from memory import deferred_indexes
from memory.deferred_indexes import MESSAGE_INDEXES, DeferredIndex
from memory.models import EmbeddingSpace
from memory.transactions import Work
from memory.vectors import VectorRepository

#: Opens a write transaction and yields its session.
Writing = Callable[[], AbstractContextManager[Work]]
#: The embedding space written to, read in the given transaction.
Active = Callable[[Work], EmbeddingSpace]


@dataclass
class BulkLoadReport:
    """What the end of a `bulk_load()` block built and how long it took, filled in as the block
    exits: `indexes_s` until every index but HNSW is back (search by words and scoped reads as
    fast as before), then `approximate_index_s` for the HNSW build. SQLite: nothing to build."""

    indexes_built: list[str] = field(default_factory=list)
    indexes_s: float = 0.0
    approximate_index_built: bool = False
    approximate_index_s: float = 0.0


def secondary_indexes(work: Work, space: EmbeddingSpace) -> tuple[DeferredIndex, ...]:
    """The indexes a bulk load defers besides HNSW: those of the messages table and of `space`'s
    vector table (none on SQLite)."""
    if work.connection().dialect.name != "postgresql":
        return ()
    return MESSAGE_INDEXES + VectorRepository(work, space).secondary_indexes()


def missing(work: Work, space: EmbeddingSpace) -> list[str]:
    """The names of the deferred indexes (HNSW aside) that are absent."""
    return deferred_indexes.missing(work.connection(), secondary_indexes(work, space))


def suspend(writing: Writing, active: Active) -> None:
    """Drop the HNSW index and the secondary indexes of the active space, in one transaction."""
    with writing() as work:
        space = active(work)
        VectorRepository(work, space).drop_approximate_index()
        deferred_indexes.drop(work.connection(), secondary_indexes(work, space))


def restore(writing: Writing, active: Active, report: BulkLoadReport) -> None:
    """Build what `suspend` dropped (whatever is missing): the secondary indexes in one transaction,
    then HNSW in another, timing each into `report`."""
    started = time.perf_counter()
    with writing() as work:
        indexes = secondary_indexes(work, active(work))
        report.indexes_built = deferred_indexes.build(work.connection(), indexes)
    built = time.perf_counter()
    report.indexes_s = built - started
    with writing() as work:
        repository = VectorRepository(work, active(work))
        report.approximate_index_built = not repository.has_approximate_index()
        repository.build_approximate_index()
    report.approximate_index_s = time.perf_counter() - built
