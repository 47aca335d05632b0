"""The collector pause around bulk writes: counted across nesting and threads, always restored."""

from __future__ import annotations

import gc
import threading

import pytest

import memory.ingest
from memory import MemoryManager
from memory.gcpause import collector_paused


def test_nested_and_concurrent_pauses_restore_the_collector_once_the_last_ends() -> None:
    assert gc.isenabled()
    inside = threading.Event()
    release = threading.Event()

    def other_writer() -> None:
        with collector_paused():
            inside.set()
            release.wait(10)

    with collector_paused():
        assert not gc.isenabled()
        thread = threading.Thread(target=other_writer)
        thread.start()
        assert inside.wait(10)
        with collector_paused():
            assert not gc.isenabled()
    assert not gc.isenabled(), "the other thread's write is still running"
    release.set()
    thread.join()
    assert gc.isenabled()


def test_a_failing_write_restores_the_collector_and_a_disabled_one_stays_off() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled(), "the caller had switched it off: leave it off"
    finally:
        gc.enable()


def test_bulk_writes_run_with_the_collector_paused_and_single_turns_do_not(
    memory_manager: MemoryManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []

    def spying(original):  # type: ignore[no-untyped-def]
        def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
            seen.append(gc.isenabled())
            return original(*args, **kwargs)

        return spy

    for name in ("write_messages", "write_message"):  # the batch path and a chat turn's
        monkeypatch.setattr(memory.ingest, name, spying(getattr(memory.ingest, name)))
    conversation = memory_manager.create_conversation("bulk")
    memory_manager.add_messages(conversation.id, [{"role": "user", "content": f"m{i}"} for i in range(50)])
    memory_manager.add_message(conversation.id, "user", "one turn")
    assert seen == [True, False, True] and gc.isenabled()
    assert len(memory_manager.get_messages(conversation.id)) == 51
