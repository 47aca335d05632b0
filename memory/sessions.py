"""The facade's transactions: one short transaction per call, read or write, driver errors translated.

A write transaction starts with BEGIN IMMEDIATE on SQLite (see `memory.transactions`): writers queue
for the lock (up to the busy timeout) instead of failing midway. Each yields a `Unit`: the
connection, with an ORM session joined to it only if a repository needs one.

Which connection: on SQLite each of the first few threads keeps one pooled connection for as long
as the manager is open (checking one out and back in cost more than a chat turn's statements); the
other threads, and every thread on PostgreSQL, check one out per call (`call()` lets the transactions
of one facade call share it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

from memory.errors import translate_database_errors
from memory.transactions import BeginMode, Unit, next_begin

_T = TypeVar("_T")


class Transactions:
    """Opens read and write transactions on `engine`; objects loaded in one stay usable after it."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._calls = threading.local()
        self._held: dict[threading.Thread, Connection] = {}
        self._lock = threading.Lock()
        # A forked child must not use its parent's connections: it sets them aside (referenced, so
        # nothing finalizes them) and starts a pool of its own (SQLAlchemy's advice for os.fork()).
        self._pid = os.getpid()
        self._inherited: list[Connection] = []
        # Threads that keep a connection: fewer than the pool holds, so the rest never starve (none
        # with a pool of one).
        size = getattr(engine.pool, "size", None)
        self._holders = max(0, size() - 1) if engine.dialect.name == "sqlite" and callable(size) else 0
        self._workers: ThreadPoolExecutor | None = None

    @contextmanager
    def call(self) -> Iterator[None]:
        """Let the transactions opened in this block, on this thread, share one connection."""
        if getattr(self._calls, "connection", None) is not None:
            yield
            return
        with translate_database_errors("connect to the memory store"), self._connection() as connection:
            self._calls.connection = connection
            try:
                yield
            finally:
                self._calls.connection = None

    @contextmanager
    def peeking(self) -> Iterator[Unit]:
        """Reads that need no snapshot, each statement on its own with no transaction held around
        them (on SQLite, no BEGIN and COMMIT to pay for): advisory look-ups that the write which
        follows checks again, and answers that one statement gives. Whatever SQLAlchemy begins on
        its own is rolled back at the end."""
        with translate_database_errors("read the memory store"), self._connection() as connection:
            unit = Unit(connection)
            try:
                yield unit
            finally:
                unit.close()
                if connection.in_transaction():
                    connection.rollback()

    @contextmanager
    def reading(self) -> Iterator[Unit]:
        with translate_database_errors("read the memory store"):
            yield from self._unit("deferred")

    @contextmanager
    def writing(self) -> Iterator[Unit]:
        with translate_database_errors("write to the memory store"):
            yield from self._unit("immediate")

    def alongside(self, work: Callable[[Unit], _T]) -> Future[_T] | None:
        """Run `work` in a read transaction of its own on a worker thread, on a connection the
        server engine's pool holds idle right now (or opens, below its size); None (nothing
        started) when it has none to spare, and on SQLite. (`memory.transactions.Alongside`.)

        Call it while holding a connection of the pool (in a transaction of `reading`): then no wait
        can close a cycle. A caller takes another connection only while one is idle, so whoever
        took the last idle one goes on and gives it back; if another thread took it in the
        meantime, the worker waits for the next one given back."""
        pool = self._engine.pool
        if self._engine.dialect.name == "sqlite" or not isinstance(pool, QueuePool):
            return None
        if not pool.checkedin() and pool.overflow() >= 0:
            return None
        with self._lock:
            self._forget_if_forked()
            if self._workers is None:
                self._workers = ThreadPoolExecutor(pool.size(), thread_name_prefix="memory-alongside")
            workers = self._workers
        handed: Future[_T] = Future()
        workers.submit(self._read_apart, work, handed)
        return handed

    def close(self) -> None:
        """Return the connections threads kept, and stop the workers of `alongside`."""
        with self._lock:
            self._forget_if_forked()
            held, self._held = list(self._held.values()), {}
            workers, self._workers = self._workers, None
        if workers is not None:
            workers.shutdown()
        for connection in held:
            connection.close()

    def _read_apart(self, work: Callable[[Unit], _T], handed: Future[_T]) -> None:
        """`work`'s result handed over as soon as it is known: the transaction only read, so its
        end (and giving the connection back) need not be waited for."""
        handed.set_running_or_notify_cancel()
        try:
            with (
                translate_database_errors("read the memory store"),
                self._engine.connect() as connection,
                connection.begin(),
            ):
                unit = Unit(connection)
                try:
                    handed.set_result(work(unit))
                finally:
                    unit.close()
        except BaseException as exc:
            if not handed.done():
                handed.set_exception(exc)
            # Else the read was handed over, and only ending its transaction failed: the pool
            # throws a broken connection away.

    def _unit(self, mode: BeginMode) -> Iterator[Unit]:
        with self._connection() as connection:
            next_begin(connection, mode)
            with connection.begin():
                unit = Unit(connection)
                try:
                    yield unit
                finally:
                    unit.close()

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        self._check_fork()
        current: Connection | None = getattr(self._calls, "connection", None) or self._held_connection()
        if current is not None:
            yield current
            return
        with self._engine.connect() as connection:
            yield connection

    def _held_connection(self) -> Connection | None:
        """This thread's kept connection, made on first use while there is room for one."""
        if not self._holders:
            return None
        thread = threading.current_thread()
        connection = self._held.get(thread)
        if (
            connection is not None
            and not connection.closed
            and not connection.invalidated
            and self._pid == os.getpid()
        ):
            return connection
        with self._lock:
            if self._forget_if_forked():
                connection = None
            for gone in [t for t in self._held if not t.is_alive()]:
                self._held.pop(gone).close()
            if connection is not None:
                self._held.pop(thread, None)
            if len(self._held) >= self._holders:
                return None
            connection = self._held[thread] = self._engine.connect()
            return connection

    def _check_fork(self) -> None:
        if self._pid != os.getpid():
            with self._lock:
                self._forget_if_forked()

    def _forget_if_forked(self) -> bool:
        """In a forked child, set the parent's connections aside (never used, never closed)."""
        if self._pid == os.getpid():
            return False
        self._inherited.extend(self._held.values())
        self._held, self._pid = {}, os.getpid()
        self._workers = None  # its threads stayed in the parent
        self._engine.dispose(close=False)
        return True
