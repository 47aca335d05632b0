"""`MemoryManager`: the store's owner (engine, embedder, embedding spaces) and the facade of every
conversation in it; `scoped()` hands out the same facade bound to one user and agent."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy.engine import Engine

from memory import bulkload, validation
from memory.bulkload import BulkLoadReport
from memory.embedding.base import Embedder
from memory.embedding.sentence_transformer import SentenceTransformerEmbedder
from memory.engine import DEFAULT_URL, create_engine, sqlite_file, store_schema
from memory.errors import MemoryStoreError, ValidationError
from memory.facade import Core, MemoryFacade
from memory.ingest import Pipeline
from memory.lifecycle.archive import archive_dir_of
from memory.lifecycle.backup import BackupReport, backup
from memory.lifecycle.health import HealthReport, check_store
from memory.lifecycle.summarize import Summarizer
from memory.migration import ensure_schema
from memory.owners import EVERYONE
from memory.reindex import reindex
from memory.scope import MemoryScope
from memory.sessions import Transactions
from memory.spaces import SpaceInfo, SpaceRepository, open_space
from memory.validation import DEFAULT_MAX_CONTENT_BYTES
from memory.vectors.indexes import IndexCache, IndexChoice, check_index_choice
from memory.vectors.snapshot import snapshot_dir_of


class MemoryManager(MemoryFacade):
    """An assistant's conversations, searchable by meaning.

    Opens the database at `url` and brings memory's schema to the newest revision (`migrate=None`,
    the default: a new or empty database, or one memory made; a database holding only another
    application's tables raises `SchemaError` unless `migrate=True`; `migrate=False` only checks;
    on PostgreSQL, `schema` keeps all of memory in a schema of its own, see `memory.create_engine`),
    matches `embedder` against the store's active embedding space, and then serves every call in its
    own short transaction, so one manager can be shared by several threads. `embedder=None` means
    `SentenceTransformerEmbedder()`. The model runs for at most `model_runs` calls at once; the others
    queue (on the same cores, a second run only slows the first).

    Conversations age (`compact`): their messages move to archive files under `archive_dir`
    (default: beside the SQLite file, `<file>.archive/`; required on PostgreSQL), and what stands
    for them in the database is made by `summarizer` (default: `ExtractiveSummarizer` on the
    embedder). `backup(path)` copies the store with its archives.

    `pool_size`, `max_overflow` and `pool_timeout` size the connection pool of each process
    (PostgreSQL defaults 5, 10 and 30 s; see `memory.create_engine`): a server with more threads
    than pool_size + max_overflow making calls at once makes the rest wait up to pool_timeout.

    The manager sees every conversation; what it creates belongs to no user. `scoped(user_id,
    agent_id)` gives the view of one user (and agent), with the same methods.
    """

    def __init__(
        self,
        url: str | os.PathLike[str] | Engine = DEFAULT_URL,
        *,
        embedder: Embedder | None = None,
        migrate: bool | None = None,
        max_content_bytes: int = DEFAULT_MAX_CONTENT_BYTES,
        vector_index: IndexChoice = "exact",
        schema: str | None = None,
        model_runs: int = 1,
        archive_dir: str | os.PathLike[str] | None = None,
        summarizer: Summarizer | None = None,
        index_snapshots: bool = True,
        pool_size: int | None = None,
        max_overflow: int | None = None,
        pool_timeout: float | None = None,
    ) -> None:
        index_choice = check_index_choice(vector_index)
        index_snapshots = validation.check_flag(index_snapshots, "index_snapshots")
        archives = None if archive_dir is None else _archive_dir(archive_dir)
        if summarizer is not None and not isinstance(summarizer, Summarizer):
            raise ValidationError(f"summarizer must have a summarize(messages) method, not {summarizer!r}")
        model_runs = validation.check_count(model_runs, "model_runs", minimum=1)
        max_content_bytes = validation.check_count(max_content_bytes, "max_content_bytes", minimum=1)
        self._owns_engine = not isinstance(url, Engine)
        if isinstance(url, Engine):
            if schema is not None and schema != store_schema(url):
                raise ValidationError(
                    f"schema={schema!r}, but the engine handed in keeps memory in {store_schema(url)!r}: "
                    "pass the schema to memory.create_engine"
                )
            if (pool_size, max_overflow, pool_timeout) != (None, None, None):
                raise ValidationError(
                    "pool_size, max_overflow and pool_timeout size the pool of the engine the manager "
                    "creates: pass them to memory.create_engine with the engine handed in"
                )
            engine = url
        else:
            engine = create_engine(
                url, schema=schema, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout
            )
        database = sqlite_file(engine.url)
        snapshots = snapshot_dir_of(database) if database is not None and index_snapshots else None
        indexes = IndexCache(index_choice, engine.dialect.name, snapshot_dir=snapshots)
        transactions = Transactions(engine)
        self._owner = EVERYONE
        try:
            ensure_schema(engine, migrate=migrate)
            embedder = embedder or SentenceTransformerEmbedder()
            with transactions.writing() as session:
                space = open_space(session, embedder)
        except BaseException:
            indexes.close()
            transactions.close()
            if self._owns_engine:
                engine.dispose()
            raise
        pipeline = Pipeline(embedder, transactions.peeking, threading.BoundedSemaphore(model_runs))
        if archives is None and database is not None:
            archives = archive_dir_of(database)
        self._core = Core(
            engine,
            transactions,
            pipeline,
            space,
            indexes,
            max_content_bytes,
            threading.Lock(),
            archive_dir=archives,
            summarizer=summarizer,
        )

    def close(self) -> None:
        """Release the in-memory index and the database connections (those of an engine the manager
        created). Its scopes close with it."""
        self._core.indexes.close()
        self._core.transactions.close()
        if self._owns_engine:
            self._core.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def check(self, *, repair: bool = False) -> HealthReport:
        """Check the store: SQLite's and the full-text index's integrity, one vector per message in
        the active space, the vector change log. With `repair`, rebuild what the messages allow (the
        full-text index, missing vectors, vectors without a message, the change log) and check again."""
        core = self._core
        with core.transactions.reading() as session:
            space = core.active(session)
        return check_store(core.engine, core.transactions, space, self.embedder, repair=repair)

    def backup(self, path: str | os.PathLike[str]) -> BackupReport:
        """Copy the store to the new file `path` while others go on reading and writing (SQLite's
        online backup API: one consistent snapshot), and the archive files that copy refers to into
        `<path>.archive/` (verified), where a manager opened on `path` finds them. PostgreSQL:
        `ValidationError`; use pg_dump and copy the archive directory (see the README)."""
        if not isinstance(path, str | os.PathLike) or not str(path):
            raise ValidationError(f"the backup path must be a file path, not {path!r}")
        target = Path(path).expanduser().absolute()
        if target.exists() or archive_dir_of(target).exists():
            raise ValidationError(
                f"{str(target)!r} (or its .archive directory) exists: back up to a new path"
            )
        if not target.parent.is_dir():
            raise ValidationError(f"the directory {str(target.parent)!r} does not exist")
        core = self._core
        return backup(core.engine, core.archive_dir, target)

    def warm_up(self) -> None:
        """Load the embedding model and build the in-memory vector index now, so that the first
        request does not wait for them (seconds for the model, and about 0.5 s per 100,000 vectors
        for the index). A server calls it at start-up; without it, both happen on first use."""
        core = self._core
        core.pipeline.embed(["warm-up"])
        with core.reading() as session:
            index = core.indexes.for_space(core.active(session))
            if index is not None:
                index.warm(session.connection())

    @contextmanager
    def bulk_load(self) -> Iterator[BulkLoadReport]:
        """Load many messages inside this block without maintaining the indexes that cost more row
        by row than built once: on PostgreSQL, the active space's HNSW index, the full-text GIN
        index and the B-trees that only speed reads up (`memory.deferred_indexes`) are dropped on
        entry. On exit the B-trees and the full-text index are built first (1 GB of
        maintenance_work_mem, parallel workers), then HNSW (2 GB); the yielded `BulkLoadReport` says
        what was built and how long each part took. Inside the block every commit is searchable
        exactly and by words, by reading every row (exact answers, slower). The builds block other
        writers, not readers. A load cut short leaves indexes missing: the next `bulk_load` or
        `check(repair=True)` builds them. On SQLite, nothing to defer: a plain block."""
        core = self._core
        bulkload.suspend(core.writing, core.active)
        report = BulkLoadReport()
        try:
            yield report
        except BaseException:
            with suppress(MemoryStoreError):  # the block's own error is the one to see
                bulkload.restore(core.writing, core.active, report)
            raise
        bulkload.restore(core.writing, core.active, report)

    def scoped(self, user_id: str, agent_id: str | None = None) -> MemoryScope:
        """The memory of one user (of one of their agents, with `agent_id`): the same methods, seeing
        and making only that owner's conversations. An id outside it is not found, exactly as one
        that does not exist."""
        return MemoryScope(self._core, validation.check_owner(user_id, agent_id, user_required=True))

    # -- embedding spaces -----------------------------------------------------------------------------

    def spaces(self) -> list[SpaceInfo]:
        """Every embedding space with its model, dimensions, vector count and active flag."""
        with self._core.reading() as session:
            repository = SpaceRepository(session)
            return [repository.info(space) for space in repository.all()]

    def drop_space(self, space_id: int) -> None:
        """Remove an inactive embedding space and its vectors."""
        with self._core.writing() as session:
            SpaceRepository(session).drop(space_id)

    def reindex(self, embedder: Embedder, *, batch_size: int = 256) -> SpaceInfo:
        """Embed every message with `embedder` into its own space, then make that space active.

        Commits every `batch_size` messages and is resumable: a second call after an interruption
        continues where the first stopped. Ends with exactly one vector per message.
        """
        batch_size = validation.check_count(batch_size, "batch_size", minimum=1)
        core = self._core
        with core.reindex_lock:
            space = reindex(core.reading, core.writing, embedder, batch_size)
            core.pipeline, core.space = Pipeline(embedder, core.pipeline.reading, core.pipeline.gate), space
        with self._core.reading() as session:
            return SpaceRepository(session).info(space)


def _archive_dir(value: str | os.PathLike[str]) -> Path:
    """The archive directory given: a path that is a directory or does not exist yet."""
    if not isinstance(value, str | os.PathLike) or not str(value):
        raise ValidationError(f"archive_dir must be a directory path, not {value!r}")
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise ValidationError(f"archive_dir {str(path)!r} exists and is not a directory")
    return path
