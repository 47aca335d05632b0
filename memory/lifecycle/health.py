"""A store's health: SQLite's own integrity check, the full-text index's, one vector per message in
the active space, and the vector change log in step with the vectors; and a repair of what can be
rebuilt from the messages (SQLite's full-text index, missing vectors by embedding again, vectors
without a message, the change log), and PostgreSQL's HNSW index if a bulk load left it missing.
PostgreSQL's full-text index is the server's to keep."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from memory import bulkload, deferred_indexes
from memory.conversations import ConversationRepository
from memory.embedding.base import Embedder
from memory.engine import create_engine
from memory.models import EmbeddingSpace
from memory.reindex import embed_unique, store_missing
from memory.sessions import Transactions
from memory.vectors import VectorRepository
from memory.vectors.sqlite import id_runs

_FTS_CHECK: Final = "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)"
_FTS_REBUILD: Final = "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')"
_LOG: Final = "SELECT message_id, op, run_length FROM vector_changes WHERE space_id = ? ORDER BY seq"
_FORGET_LOG: Final = "DELETE FROM vector_changes WHERE space_id = ?"
_ADD_LOG: Final = "INSERT INTO vector_changes(space_id, message_id, op, run_length) VALUES (?, ?, 'a', ?)"


@dataclass(slots=True)
class HealthReport:
    """What `MemoryManager.check` found (`problems`), fixed (`repaired`) and left (`remaining`)."""

    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    remaining: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.remaining


def check_store(
    engine: Engine, transactions: Transactions, space: EmbeddingSpace, embedder: Embedder, *, repair: bool
) -> HealthReport:
    """Check the store (and with `repair`, fix what can be rebuilt, then check again)."""
    report = HealthReport(problems=_problems(engine, transactions, space))
    if not repair or not report.problems:
        report.remaining = list(report.problems)
        return report
    report.repaired = _repair(engine, transactions, space, embedder)
    report.remaining = _problems(engine, transactions, space)
    return report


def _problems(engine: Engine, transactions: Transactions, space: EmbeddingSpace) -> list[str]:
    problems: list[str] = []
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        problems += sqlite_integrity_problems(engine)
    with transactions.reading() as work:
        messages = set(ConversationRepository(work).message_ids())
        vectors = set(VectorRepository(work, space).ids())
        logged = _logged(work.connection(), space.id) if sqlite else vectors
        indexed = VectorRepository(work, space).has_approximate_index()
        absent = bulkload.missing(work, space)
    if not indexed:
        problems.append("the active space has no HNSW index (a bulk load was cut short)")
    if absent:
        problems.append(f"indexes missing (a bulk load was cut short): {', '.join(absent)}")
    if missing := messages - vectors:
        problems.append(f"{len(missing)} messages have no vector in the active space (e.g. {min(missing)})")
    if orphans := vectors - messages:
        problems.append(f"{len(orphans)} vectors belong to no message (e.g. {min(orphans)})")
    if logged != vectors:
        problems.append(f"the vector change log disagrees with the vectors on {len(logged ^ vectors)} ids")
    return problems


def sqlite_integrity_problems(engine: Engine) -> list[str]:
    """What SQLite's and FTS5's integrity checks report for the database of `engine`, run on a
    connection of their own: on a connection that predates another connection's secure delete,
    SQLite's check reports an FTS5 corruption that is not there."""
    fresh = create_engine(engine.url.render_as_string(hide_password=False))
    problems: list[str] = []
    try:
        with fresh.connect() as connection:
            verdict = connection.exec_driver_sql("PRAGMA integrity_check").scalars().all()
            if verdict != ["ok"]:
                problems.append("SQLite's integrity check: " + "; ".join(map(str, verdict[:5])))
            if sa.inspect(connection).has_table("messages_fts") and not _fulltext_whole(connection):
                problems.append("the full-text index does not match the messages")
            connection.rollback()
    finally:
        fresh.dispose()
    return problems


def _logged(connection: sa.Connection, space_id: int) -> set[int]:
    """The message ids the change log says have a vector, replayed in order."""
    alive: set[int] = set()
    for first, op, length in connection.exec_driver_sql(_LOG, (space_id,)):
        ids = range(int(first), int(first) + int(length))
        if op == "a":
            alive.update(ids)
        else:
            alive.difference_update(ids)
    return alive


def _repair(
    engine: Engine, transactions: Transactions, space: EmbeddingSpace, embedder: Embedder
) -> list[str]:
    repaired: list[str] = []
    with transactions.reading() as work:
        messages = set(ConversationRepository(work).message_ids())
        missing = sorted(messages - set(VectorRepository(work, space).ids()))
        lacking = list(ConversationRepository(work).messages_by_id(missing).values())
    vectors = embed_unique(embedder, lacking) if lacking else {}  # the model runs outside the write lock
    with transactions.writing() as work:
        connection = work.connection()
        repository = VectorRepository(work, space)
        if orphans := sorted(set(repository.ids()) - messages):
            repository.delete(orphans)
            repaired.append(f"deleted {len(orphans)} vectors that belonged to no message")
        if lacking:
            store_missing(work, space.id, lacking, vectors)
            repaired.append(f"embedded {len(lacking)} messages that had no vector")
        if built := deferred_indexes.build(connection, bulkload.secondary_indexes(work, space)):
            repaired.append(f"built the missing indexes {', '.join(built)}")
        if not repository.has_approximate_index():
            repository.build_approximate_index()
            repaired.append("built the active space's HNSW index")
        if engine.dialect.name == "sqlite":
            if not _fulltext_whole(connection):
                connection.exec_driver_sql(_FTS_REBUILD)
                repaired.append("rebuilt the full-text index from the messages")
            ids = np.array(sorted(repository.ids()), dtype=np.int64)
            if _logged(connection, space.id) != set(ids.tolist()):
                connection.exec_driver_sql(_FORGET_LOG, (space.id,))
                rows = [(space.id, first, length) for first, length in id_runs(ids)]
                if rows:
                    connection.exec_driver_sql(_ADD_LOG, rows)
                repaired.append("rewrote the vector change log from the vectors")
    return repaired


def _fulltext_whole(connection: sa.Connection) -> bool:
    """FTS5's own check of the index against the messages, inside the caller's transaction."""
    try:
        with connection.begin_nested():
            connection.exec_driver_sql(_FTS_CHECK)
    except sa.exc.DBAPIError:
        return False
    return True
