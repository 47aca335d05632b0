"""Several writer processes on one file: zero errors, zero lost writes, searches see every commit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import memory
from memory import FakeEmbedder, MemoryManager

pytestmark = pytest.mark.both_backends

PROCESSES = 4
CALLS = 250

_WORKER = """
import json, sys
import memory

manager = memory.MemoryManager(sys.argv[1], embedder=memory.FakeEmbedder(384), migrate=False)
name, errors, ids = sys.argv[2], [], []
for n in range(int(sys.argv[3])):
    try:
        # Read-then-write: find this worker's conversation or create it, then add to it.
        conversation = manager.find_conversation(name) or manager.create_conversation(name, source_id=name)
        stored = manager.add_messages(conversation.id, [
            {"role": "user", "content": f"{name} note {n}"},
            {"role": "assistant", "content": f"{name} reply {n}"},
        ])
        ids += [m.id for m in stored]
        if n % 10 == 0:
            # The fake model's hashing can give two texts the same vector: look among the exact matches.
            hits = manager.search(f"{name} note {n}", k=10)
            exact = [h.message.content for h in hits if h.distance < 1e-5]
            if f"{name} note {n}" not in exact:
                errors.append(f"search {n} missed its own commit: {exact}")
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
print(json.dumps({"errors": errors, "ids": ids}))
"""


def _run_at_once(script: str, memory_url: str, name: str, rounds: int, *extra: str) -> list[dict[str, Any]]:
    """PROCESSES copies of `script` on one store at the same time (arguments: the store, a name,
    the rounds, then `extra`); each one's JSON report."""
    with MemoryManager(memory_url, embedder=FakeEmbedder(384)):
        pass  # migrate and adopt the model before the processes start
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, memory_url, f"{name}{i}", str(rounds), *extra],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    results = []
    for process in processes:
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0
        results.append(json.loads(output))
    return results


def test_four_writer_processes_lose_nothing(memory_url: str) -> None:
    results = _run_at_once(_WORKER, memory_url, "worker", CALLS)
    errors = [e for r in results for e in r["errors"]]
    assert errors == []
    written = [i for r in results for i in r["ids"]]
    assert len(written) == len(set(written)) == PROCESSES * CALLS * 2
    engine = memory.create_engine(memory_url)
    with engine.connect() as connection:
        stored = set(connection.execute(sa.text("SELECT id FROM messages")).scalars())
        vectors = set(connection.exec_driver_sql("SELECT message_id FROM message_vectors_1").scalars())
        conversations = connection.execute(sa.text("SELECT count(*) FROM conversations")).scalar_one()
    engine.dispose()
    assert stored == vectors == set(written)
    assert conversations == PROCESSES  # the read-then-write pattern never created a duplicate


_RACER = """
import json, sys
import memory

manager = memory.MemoryManager(sys.argv[1], embedder=memory.FakeEmbedder(384), migrate=False)
name, errors, seen = sys.argv[2], [], {}
for n in range(int(sys.argv[3])):
    key = f"shared-{n % 10}"  # every racer wants the same ten conversations, at the same moments
    try:
        conversation = manager.get_or_create_conversation(key, title=f"created by {name}")
        seen[key] = conversation.id
        manager.add_message(conversation.id, "user", f"{name} was here {n}")
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
print(json.dumps({"errors": errors, "seen": seen}))
"""


def test_racing_get_or_create_gives_every_process_the_same_conversation(memory_url: str) -> None:
    rounds = 40
    results = _run_at_once(_RACER, memory_url, "racer", rounds)
    assert [e for r in results for e in r["errors"]] == []  # no "database is locked", no duplicate
    assert all(r["seen"] == results[0]["seen"] for r in results)  # one conversation per key, for all
    with MemoryManager(memory_url, embedder=FakeEmbedder(384)) as manager:
        assert manager.stats()["conversations"] == 10
        assert manager.stats()["messages"] == PROCESSES * rounds
        for key, conversation_id in results[0]["seen"].items():
            found = manager.find_conversation(key)
            assert found is not None and found.id == conversation_id
            assert len(manager.get_messages(conversation_id)) == PROCESSES * rounds // 10


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_leaves_its_parents_connections_alone(memory_url: str) -> None:
    # Servers that fork workers after the application opened its store (gunicorn's preload) must not
    # share SQLite or PostgreSQL connections across processes.
    with MemoryManager(memory_url, embedder=FakeEmbedder(8)) as manager:
        conversation = manager.create_conversation("forked")
        manager.add_message(conversation.id, "user", "parent, before")  # the thread keeps a connection
        kept = dict(manager._core.transactions._held)
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child
            code = 3
            try:
                manager.add_message(conversation.id, "user", "child")
                contents = [m.content for m in manager.get_messages(conversation.id)]
                ours = manager._core.transactions._held
                shared = any(ours.get(thread) is connection for thread, connection in kept.items())
                code = 0 if contents == ["parent, before", "child"] and not shared else 1
            finally:
                os._exit(code)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        manager.add_message(conversation.id, "user", "parent, after")
        contents = [m.content for m in manager.get_messages(conversation.id)]
        assert contents == ["parent, before", "child", "parent, after"]


_SEER = """
import json, pathlib, sys, time
import memory

url, name, signals = sys.argv[1], sys.argv[2], sys.argv[4]
rounds, processes = int(sys.argv[3]), int(sys.argv[5])
manager = memory.MemoryManager(
    url, embedder=memory.FakeEmbedder(384), migrate=False, pool_size=2, max_overflow=2, pool_timeout=60
)
signals, errors, ids = pathlib.Path(signals), [], []
others = [f"seer{i}" for i in range(processes) if f"seer{i}" != name]
try:
    conversation = manager.create_conversation(name, source_id=name)
    for n in range(rounds):
        ids.append(manager.add_message(conversation.id, "user", f"{name} round {n}").id)
        (signals / f"{name}-{n}").touch()  # committed: the others may look for it now
        deadline = time.monotonic() + 120
        while not all((signals / f"{other}-{n}").exists() for other in others):
            if time.monotonic() > deadline:
                raise TimeoutError(f"round {n}: the others never wrote")
            time.sleep(0.005)
        for other in others:  # one search each, no retry: a commit is visible to the next search
            text = f"{other} round {n}"
            exact = [h.message.content for h in manager.search(text, k=10) if h.distance < 1e-5]
            if text not in exact:
                errors.append(f"{name} round {n}: the search missed {text!r}: {exact}")
except Exception as exc:
    errors.append(f"{type(exc).__name__}: {exc}")
print(json.dumps({"errors": errors, "ids": ids}))
"""


def test_four_processes_see_each_others_writes_on_their_next_search(memory_url: str, tmp_path: Path) -> None:
    rounds = 25
    results = _run_at_once(_SEER, memory_url, "seer", rounds, str(tmp_path), str(PROCESSES))
    assert [e for r in results for e in r["errors"]] == []
    written = [i for r in results for i in r["ids"]]
    assert len(set(written)) == PROCESSES * rounds
    with MemoryManager(memory_url, embedder=FakeEmbedder(384)) as manager:
        assert manager.stats()["messages"] == PROCESSES * rounds
        for i in range(PROCESSES):
            found = manager.find_conversation(f"seer{i}")
            assert found is not None
            assert [m.content for m in manager.get_messages(found.id)] == [
                f"seer{i} round {n}" for n in range(rounds)
            ]
