"""Async memory: every method of `MemoryManager` and `MemoryScope`, with the same names and arguments,
awaitable, for async servers (FastAPI, Starlette) and agent frameworks.

    async with AsyncMemoryManager.open("sqlite:///memory.db") as memory:
        await memory.add_message(conversation_id, "user", text)
        hits = await memory.scoped("alice").search("the boiler")

Each call runs the synchronous one in a worker thread (anyio's, so asyncio and trio alike), so the
event loop never waits for the model, SQLite or PostgreSQL; at most `threads` calls run at once and
the model for at most `model_runs` of them (see `MemoryManager`), the rest queue. A cancelled call
is not abandoned: the cancellation takes effect once the call in its thread has finished, so when
it reaches the caller the call has either completed (it committed) or failed (it left nothing, as
every call is one transaction). `close()` waits for the calls in flight.

Needs anyio (`pip install 'memory[async]'`); `import memory` does not import this module.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Generator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Concatenate, Final, ParamSpec, Self, TypeVar, cast

import anyio
import anyio.to_thread
from sqlalchemy.engine import Engine

from memory import validation
from memory.bulkload import BulkLoadReport
from memory.embedding.base import Embedder
from memory.engine import DEFAULT_URL
from memory.errors import MemoryStoreError
from memory.facade import MemoryFacade
from memory.manager import MemoryManager
from memory.owners import Owner

__all__ = ["DEFAULT_THREADS", "AsyncMemoryManager", "AsyncMemoryScope", "as_async"]

#: Worker threads of one async manager (and its scopes) by default: two more than the cores, at
#: most 8. Enough for reads and writes to overlap the model's runs (SQLite takes one writer at a
#: time anyway); more threads only queue for the GIL, and the event loop waits in that queue too:
#: 20 turns and 20 searches at once gave the loop a worst lag of 12 ms with 4 threads, 41 ms with
#: 16, on 2 cores (bench/async_lag.py).
DEFAULT_THREADS: Final = min(8, (os.cpu_count() or 2) + 2)

_P = ParamSpec("_P")
_R = TypeVar("_R")
_S = TypeVar("_S", bound=MemoryFacade)


class _Runner:
    """The worker threads of one manager and its scopes, and the calls in flight on them."""

    def __init__(self, threads: int) -> None:
        self.threads = validation.check_count(threads, "threads", minimum=1)
        # Made on first use, inside the event loop: the calls' turns (waiting for one may be
        # cancelled), and the threads they then run in (never waited for: a turn comes first).
        self._turns: anyio.CapacityLimiter | None = None
        self._threads: anyio.CapacityLimiter | None = None
        self._in_flight = 0
        self._idle: anyio.Event | None = None
        self.closed = False

    async def run(self, call: Callable[[], _R]) -> _R:
        if self.closed:
            raise MemoryStoreError("the async memory manager is closed")
        if self._turns is None or self._threads is None:
            self._turns, self._threads = (
                anyio.CapacityLimiter(self.threads),
                anyio.CapacityLimiter(self.threads),
            )
        self._in_flight += 1
        try:
            async with self._turns:  # a call cancelled while it queues never starts
                return await _run_to_the_end(call, self._threads)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0 and self._idle is not None:
                self._idle.set()

    async def drain(self) -> None:
        """Refuse new calls and wait for those in flight."""
        self.closed = True
        while self._in_flight:
            self._idle = anyio.Event()
            await self._idle.wait()


class _Abandoned(Exception):
    """A call cancelled before its thread started it."""


async def _run_to_the_end(call: Callable[[], _R], threads: anyio.CapacityLimiter) -> _R:
    """`call` in a worker thread. Cancelled before the thread starts it, it never runs; cancelled
    after, the cancellation waits for the thread to finish, so the call is never left running
    unseen (and `close()` never pulls the engine from under it). anyio's own shielding does not
    hold off asyncio's `Task.cancel()`, so the wait is made here, for either kind of cancellation."""
    state = threading.Lock()
    started, abandoned = False, False
    finished = threading.Event()

    def run() -> _R:
        nonlocal started
        with state:
            if abandoned:  # its caller has gone with the cancellation: nobody sees this
                raise _Abandoned
            started = True
        try:
            return call()
        finally:
            finished.set()

    try:
        return await anyio.to_thread.run_sync(run, limiter=threads)
    except anyio.get_cancelled_exc_class():
        with state:
            abandoned = not started
        if started:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(finished.wait)
        raise


def _off_loop(
    method: Callable[Concatenate[_S, _P], _R],
) -> Callable[Concatenate[AsyncMemoryScope, _P], Coroutine[Any, Any, _R]]:
    """The async twin of a facade method: same name, arguments and docstring, run in a worker thread."""

    async def call(self: AsyncMemoryScope, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return await self._runner.run(functools.partial(method, cast(_S, self._sync), *args, **kwargs))

    functools.update_wrapper(call, method)  # name, docstring, and the signature `inspect` reports
    return call


class AsyncMemoryScope:
    """`MemoryScope`'s methods, awaitable (see the module's docstring); from `AsyncMemoryManager.scoped`."""

    def __init__(self, sync: MemoryFacade, runner: _Runner) -> None:
        self._sync = sync
        self._runner = runner

    @property
    def sync(self) -> MemoryFacade:
        """The synchronous manager or scope this one runs."""
        return self._sync

    @property
    def owner(self) -> Owner:
        return self._sync.owner

    @property
    def user_id(self) -> str | None:
        return self._sync.owner.user_id

    @property
    def agent_id(self) -> str | None:
        return self._sync.owner.agent_id

    @property
    def engine(self) -> Engine:
        return self._sync.engine

    @property
    def embedder(self) -> Embedder:
        return self._sync.embedder

    @property
    def max_content_bytes(self) -> int:
        return self._sync.max_content_bytes

    create_conversation = _off_loop(MemoryFacade.create_conversation)
    add_conversations = _off_loop(MemoryFacade.add_conversations)
    add_conversation_batches = _off_loop(MemoryFacade.add_conversation_batches)
    get_or_create_conversation = _off_loop(MemoryFacade.get_or_create_conversation)
    find_conversation = _off_loop(MemoryFacade.find_conversation)
    imported_source_ids = _off_loop(MemoryFacade.imported_source_ids)
    add_message = _off_loop(MemoryFacade.add_message)
    add_messages = _off_loop(MemoryFacade.add_messages)
    get_conversation = _off_loop(MemoryFacade.get_conversation)
    list_conversations = _off_loop(MemoryFacade.list_conversations)
    conversation_info = _off_loop(MemoryFacade.conversation_info)
    get_messages = _off_loop(MemoryFacade.get_messages)
    pop_message = _off_loop(MemoryFacade.pop_message)
    clear_conversation = _off_loop(MemoryFacade.clear_conversation)
    delete_conversation = _off_loop(MemoryFacade.delete_conversation)
    delete_message = _off_loop(MemoryFacade.delete_message)
    forget = _off_loop(MemoryFacade.forget)
    compact = _off_loop(MemoryFacade.compact)
    restore = _off_loop(MemoryFacade.restore)
    pin = _off_loop(MemoryFacade.pin)
    search = _off_loop(MemoryFacade.search)
    recall = _off_loop(MemoryFacade.recall)
    stats = _off_loop(MemoryFacade.stats)

    def __repr__(self) -> str:
        return f"Async{self._sync!r}"


class AsyncMemoryManager(AsyncMemoryScope):
    """`MemoryManager`'s methods, awaitable (see the module's docstring).

    `await AsyncMemoryManager.open(url, ...)` or `async with AsyncMemoryManager.open(url, ...) as m`
    opens a store with `MemoryManager`'s keyword options (without blocking the loop while it
    migrates); `AsyncMemoryManager(manager)` wraps a manager already open, which it then owns.
    """

    _sync: MemoryManager

    def __init__(self, manager: MemoryManager, *, threads: int = DEFAULT_THREADS) -> None:
        if not isinstance(manager, MemoryManager):
            raise TypeError(f"AsyncMemoryManager wraps a MemoryManager, not {type(manager).__name__}")
        super().__init__(manager, _Runner(threads))

    @classmethod
    def open(
        cls,
        url: str | os.PathLike[str] | Engine = DEFAULT_URL,
        *,
        threads: int = DEFAULT_THREADS,
        **options: Any,
    ) -> _Opening:
        """Open the store at `url` (`options` as `MemoryManager`'s) in a worker thread."""
        validation.check_count(threads, "threads", minimum=1)
        return _Opening(lambda: cls(MemoryManager(url, **options), threads=threads))

    @property
    def sync(self) -> MemoryManager:
        return self._sync

    def scoped(self, user_id: str, agent_id: str | None = None) -> AsyncMemoryScope:
        """One user's (and agent's) memory, as `MemoryManager.scoped`, awaitable."""
        return AsyncMemoryScope(self._sync.scoped(user_id, agent_id), self._runner)

    async def close(self) -> None:
        """Wait for the calls in flight, then close the manager; later calls raise."""
        if self._runner.closed:
            return
        await self._runner.drain()
        await anyio.to_thread.run_sync(self._sync.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def bulk_load(self) -> AsyncIterator[BulkLoadReport]:
        """`MemoryManager.bulk_load` as an async context manager (`async with memory.bulk_load():`):
        the deferred indexes are dropped on entry and built on exit in a worker thread."""
        block = self._sync.bulk_load()
        report = await self._runner.run(block.__enter__)
        try:
            yield report
        except BaseException as exc:
            await self._runner.run(functools.partial(block.__exit__, type(exc), exc, exc.__traceback__))
            raise
        await self._runner.run(functools.partial(block.__exit__, None, None, None))

    check = _off_loop(MemoryManager.check)
    warm_up = _off_loop(MemoryManager.warm_up)
    spaces = _off_loop(MemoryManager.spaces)
    drop_space = _off_loop(MemoryManager.drop_space)
    reindex = _off_loop(MemoryManager.reindex)
    backup = _off_loop(MemoryManager.backup)


class _Opening:
    """What `AsyncMemoryManager.open` returns: awaitable, and an async context manager that closes."""

    def __init__(self, opener: Callable[[], AsyncMemoryManager]) -> None:
        self._opener = opener
        self._manager: AsyncMemoryManager | None = None

    async def _open(self) -> AsyncMemoryManager:
        return await anyio.to_thread.run_sync(self._opener)

    def __await__(self) -> Generator[Any, None, AsyncMemoryManager]:
        return self._open().__await__()

    async def __aenter__(self) -> AsyncMemoryManager:
        self._manager = await self._open()
        return self._manager

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._manager is not None:
            await self._manager.close()


def as_async(memory: MemoryFacade | AsyncMemoryScope, *, threads: int = DEFAULT_THREADS) -> AsyncMemoryScope:
    """The awaitable view of a manager or scope, sync or async (an async one is returned as it is),
    for code that takes either (the framework adapters). Closing stays with the manager's owner."""
    if isinstance(memory, AsyncMemoryScope):
        return memory
    if isinstance(memory, MemoryFacade):
        return AsyncMemoryScope(memory, _Runner(threads))
    raise TypeError(f"expected a memory manager or scope, not {type(memory).__name__}")
