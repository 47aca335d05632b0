"""`memory.aio`: every method of the manager and its scopes, awaitable; the loop never waits for a
call; model runs are bounded; a cancelled call has completed or left nothing; close waits; and the
`async_memory_manager` fixture under pytest-asyncio and anyio. Plus the core's `pop_message` (atomic)
and `clear_conversation`, which the adapters build on."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Sequence

import anyio
import numpy as np
import numpy.typing as npt
import pytest

import memory
from memory import MemoryManager, MemoryScope, NotFoundError
from memory.aio import AsyncMemoryManager, AsyncMemoryScope
from tests.helpers import integrity_ok

pytestmark = pytest.mark.both_backends


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_every_public_method_has_an_async_twin_with_the_same_arguments() -> None:
    for sync, asynchronous in ((MemoryScope, AsyncMemoryScope), (MemoryManager, AsyncMemoryManager)):
        ours, theirs = _public(sync), _public(asynchronous)
        assert set(ours) <= set(theirs), set(ours) - set(theirs)
        for name, signature in ours.items():
            twin = theirs[name]
            assert list(twin.parameters) == list(signature.parameters), name
            # scoped() makes a scope; bulk_load() is an async context manager.
            assert inspect.iscoroutinefunction(getattr(asynchronous, name)) or name in (
                "scoped",
                "bulk_load",
            ), name
            assert getattr(asynchronous, name).__doc__, name


class _Gated(memory.FakeEmbedder):
    """The fake model, but each run waits for `release` and counts how many runs overlap."""

    def __init__(self) -> None:
        super().__init__(16)
        self.release = threading.Event()
        self.started = threading.Event()
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.started.set()
        try:
            if not self.release.wait(30):
                raise TimeoutError("never released")
            return super().embed(texts)
        finally:
            with self._lock:
                self.running -= 1


@pytest.mark.asyncio
async def test_the_loop_runs_on_while_a_call_waits_for_the_model(memory_url: str) -> None:
    embedder = _Gated()
    async with AsyncMemoryManager.open(memory_url, embedder=embedder) as manager:
        conversation = await manager.create_conversation("c")
        adding = asyncio.create_task(manager.add_message(conversation.id, "user", "the boiler pressure"))
        # The model blocks its thread until the loop itself releases it: a blocked loop would hang.
        await asyncio.to_thread(embedder.started.wait, 30)
        ticks = 0
        for _ in range(10):
            await asyncio.sleep(0)
            ticks += 1
        embedder.release.set()
        message = await adding
        assert ticks == 10 and message.content == "the boiler pressure"


@pytest.mark.asyncio
@pytest.mark.parametrize("model_runs", [1, 2])
async def test_model_runs_are_bounded_and_the_rest_queue(memory_url: str, model_runs: int) -> None:
    embedder = _Gated()
    async with AsyncMemoryManager.open(memory_url, embedder=embedder, model_runs=model_runs) as manager:
        conversation = await manager.create_conversation("c")
        calls = [
            asyncio.create_task(manager.add_message(conversation.id, "user", f"turn {i}")) for i in range(6)
        ]
        await asyncio.to_thread(embedder.started.wait, 30)
        await asyncio.sleep(0.2)  # give queued calls the chance to pile up, were they not bounded
        embedder.release.set()
        await asyncio.gather(*calls)
        assert embedder.most <= model_runs
        assert len(await manager.get_messages(conversation.id)) == 6


@pytest.mark.asyncio
async def test_a_cancelled_call_has_completed_or_left_nothing(memory_url: str) -> None:
    embedder = _Gated()
    async with AsyncMemoryManager.open(memory_url, embedder=embedder, threads=1) as manager:
        conversation = await manager.create_conversation("c")
        running = asyncio.create_task(manager.add_message(conversation.id, "user", "running when cancelled"))
        await asyncio.to_thread(embedder.started.wait, 30)
        queued = asyncio.create_task(manager.add_message(conversation.id, "user", "queued when cancelled"))
        await asyncio.sleep(0.05)
        running.cancel()
        queued.cancel()
        embedder.release.set()
        for task in (running, queued):
            with pytest.raises(asyncio.CancelledError):
                await task
        # The running call finished in its thread before the cancellation reached us: it committed,
        # vector and all. The queued one never started: nothing of it is stored.
        contents = [m.content for m in await manager.get_messages(conversation.id)]
        assert contents == ["running when cancelled"]
        stats = await manager.stats()
        assert stats["vectors"][stats["active_space"]] == 1
        assert (await manager.check()).ok
        assert integrity_ok(manager.engine)


@pytest.mark.asyncio
async def test_close_waits_for_calls_in_flight_and_refuses_new_ones(memory_url: str) -> None:
    embedder = _Gated()
    manager = await AsyncMemoryManager.open(memory_url, embedder=embedder)
    conversation = await manager.create_conversation("c")
    adding = asyncio.create_task(manager.add_message(conversation.id, "user", "in flight"))
    await asyncio.to_thread(embedder.started.wait, 30)
    closing = asyncio.create_task(manager.close())
    await asyncio.sleep(0.05)
    assert not closing.done()
    embedder.release.set()
    await closing
    assert (await adding).content == "in flight"
    with pytest.raises(memory.MemoryStoreError, match="closed"):
        await manager.stats()


@pytest.mark.asyncio
async def test_a_bulk_load_under_async_with(async_memory_manager: AsyncMemoryManager) -> None:
    vectors = np.eye(384, dtype=np.float32)[:3]
    async with async_memory_manager.bulk_load():
        await async_memory_manager.add_conversations(
            [
                {
                    "title": "bulk",
                    "messages": [{"role": "user", "content": f"m{i}"} for i in range(3)],
                    "vectors": vectors,
                }
            ]
        )
        hit = (await async_memory_manager.search(vectors[1], k=1, mode="vector"))[0]
        assert hit.message.content == "m1"
    assert (await async_memory_manager.check()).ok
    with pytest.raises(ValueError, match="boom"):
        async with async_memory_manager.bulk_load():
            raise ValueError("boom")
    assert (await async_memory_manager.check()).ok  # the index came back after the failed block


@pytest.mark.asyncio
async def test_the_fixture_under_pytest_asyncio(async_memory_manager: AsyncMemoryManager) -> None:
    await _round_trip(async_memory_manager)


@pytest.mark.anyio
async def test_the_fixture_under_anyio(async_memory_manager: AsyncMemoryManager) -> None:
    await _round_trip(async_memory_manager)


async def _round_trip(manager: AsyncMemoryManager) -> None:
    alice = manager.scoped("alice")
    mine = await alice.create_conversation("mine", messages=[{"role": "user", "content": "alice's boiler"}])
    await manager.create_conversation("theirs", messages=[{"role": "user", "content": "everyone's boiler"}])
    assert [hit.message.conversation_id for hit in await alice.search("boiler")] == [mine.id]
    assert len(await manager.search("boiler")) == 2
    assert (await alice.recall(mine.id, "boiler"))[0].content == "alice's boiler"
    with pytest.raises(NotFoundError):
        await alice.get_conversation(mine.id + 1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_concurrent_pops_never_return_the_same_message(
    async_memory_manager: AsyncMemoryManager,
) -> None:
    conversation = await async_memory_manager.create_conversation(
        "c", messages=[{"role": "user", "content": f"item {i}"} for i in range(10)]
    )
    popped: list[memory.Message | None] = []

    async def pop() -> None:
        popped.append(await async_memory_manager.pop_message(conversation.id))

    async with anyio.create_task_group() as group:
        for _ in range(16):
            group.start_soon(pop)
    contents = sorted(message.content for message in popped if message is not None)
    assert contents == sorted(f"item {i}" for i in range(10))
    assert popped.count(None) == 6
    assert await async_memory_manager.get_messages(conversation.id) == []
    assert await async_memory_manager.pop_message(conversation.id) is None


def test_pop_takes_the_newest_and_clear_keeps_the_conversation(memory_manager: MemoryManager) -> None:
    conversation = memory_manager.create_conversation(
        "kept", metadata={"k": 1}, messages=[{"role": "user", "content": t} for t in ("one", "two", "three")]
    )
    newest = memory_manager.pop_message(conversation.id)
    assert newest is not None and newest.content == "three"
    assert [m.content for m in memory_manager.get_messages(conversation.id)] == ["one", "two"]
    assert memory_manager.search("three", mode="text") == []
    assert memory_manager.clear_conversation(conversation.id) == 2
    kept = memory_manager.get_conversation(conversation.id)
    assert (kept.title, kept.meta, kept.messages) == ("kept", {"k": 1}, [])
    assert memory_manager.stats()["vectors"] == {memory_manager.stats()["active_space"]: 0}
    memory_manager.add_message(conversation.id, "user", "after the clear")
    assert [m.content for m in memory_manager.get_messages(conversation.id)] == ["after the clear"]
    other = memory_manager.scoped("bob")
    with pytest.raises(NotFoundError):
        other.pop_message(conversation.id)
    with pytest.raises(NotFoundError):
        other.clear_conversation(conversation.id)
    assert len(memory_manager.get_messages(conversation.id)) == 1


@pytest.mark.anyio
async def test_as_async_gives_the_awaitable_view_of_a_manager_or_scope(memory_manager: MemoryManager) -> None:
    from memory.aio import as_async

    scope = memory_manager.scoped("alice")
    view = as_async(scope)
    made = await view.create_conversation("via the view")
    assert memory_manager.get_conversation(made.id).user_id == "alice"
    assert as_async(view) is view
    assert (await as_async(memory_manager).stats())["conversations"] == 1
    with pytest.raises(TypeError):
        as_async("sqlite:///x.db")  # type: ignore[arg-type]
