"""Crash safety: a writer or an import killed with SIGKILL at random moments never loses a commit or
leaves half of one.

`make test` kills 50 times; `make soak` sets MEMORY_SOAK_KILLS=500.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

import memory
from memory import FakeEmbedder, MemoryManager
from memory.importers import read_chatgpt

KILLS = int(os.environ.get("MEMORY_SOAK_KILLS", "50"))

_WRITER = """
import sys
import memory

manager = memory.MemoryManager(sys.argv[1], embedder=memory.FakeEmbedder(32), migrate=False)
conversation_id = int(sys.argv[2])
print("ready", flush=True)
n = 0
while True:
    stored = manager.add_messages(conversation_id, [
        {"role": "user", "content": f"{sys.argv[3]} question {n}"},
        {"role": "assistant", "content": f"{sys.argv[3]} answer {n}"},
    ])
    print(" ".join(str(m.id) for m in stored), flush=True)  # reported only after the commit
    n += 1
"""


def _check_store(url: str) -> tuple[set[int], int]:
    engine = memory.create_engine(url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
        messages = set(connection.execute(sa.text("SELECT id FROM messages")).scalars())
        vectors = connection.exec_driver_sql("SELECT message_id FROM message_vectors_1").scalars().all()
        assert len(vectors) == len(set(vectors)), "a message with two vectors"
        assert set(vectors) == messages, "a message without its vector, or a vector without its message"
        logged = connection.execute(
            sa.text("SELECT sum(run_length) FROM vector_changes WHERE space_id = 1 AND op = 'a'")
        ).scalar_one()
        assert logged == len(messages), "the change log disagrees with the vectors"
    engine.dispose()
    return messages, len(vectors)


def test_sigkill_at_random_moments_loses_nothing(memory_url: str) -> None:
    with MemoryManager(memory_url, embedder=FakeEmbedder(32)) as manager:
        conversation_id = manager.create_conversation("crash test").id
    rng = random.Random(20261125)
    reported: set[int] = set()
    for kill in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, "-c", _WRITER, memory_url, str(conversation_id), f"run{kill}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(child.pid, signal.SIGKILL)
        output, _ = child.communicate(timeout=60)
        # Only complete lines: a line cut by the kill is a commit the child could not report.
        for line in output.split("\n")[:-1]:
            reported.update(int(i) for i in line.split())
        messages, _ = _check_store(memory_url)
        missing = reported - messages
        assert not missing, f"kill {kill}: reported commits lost: {sorted(missing)[:5]}"
    assert len(reported) > KILLS, "the writers committed too little for the test to mean anything"
    print(f"{KILLS} kills survived; {len(reported)} reported commits all present")
    with MemoryManager(memory_url, embedder=FakeEmbedder(32)) as manager:
        assert manager.search("run3 question 0", k=1)  # the index builds over what survived


def test_an_import_killed_part_way_leaves_whole_conversations_and_resumes(memory_url: str) -> None:
    corpus = Path(__file__).resolve().parents[1] / "demo" / "conversations.json"
    with corpus.open("rb") as stream:
        expected = {
            r.source_id: len(r.messages) for r in read_chatgpt(stream) if not isinstance(r, Exception)
        }
    command = [
        sys.executable,
        "-m",
        "memory",
        "--db",
        memory_url,
        "--model",
        "fake:32",
        "import",
        str(corpus),
    ]
    rng = random.Random(7)
    partial = 0
    for _ in range(5):
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.8, 2.0))
        child.kill()
        child.wait(timeout=60)
        messages, _ = _check_store(memory_url)
        engine = memory.create_engine(memory_url)
        with engine.connect() as connection:
            counts = connection.execute(
                sa.text(
                    "SELECT c.source_id, count(m.id) FROM conversations c "
                    "LEFT JOIN messages m ON m.conversation_id = c.id GROUP BY c.id"
                )
            ).all()
        engine.dispose()
        assert all(count == expected[source] for source, count in counts), "a conversation was cut in half"
        assert len(messages) == sum(count for _, count in counts)
        partial += 0 < len(counts) < len(expected)
    assert partial, "no kill landed in the middle of an import: the test proved nothing"
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    messages, _ = _check_store(memory_url)
    assert len(messages) == sum(expected.values()) == 2444


_FORGETTER = """
import sys
import memory

manager = memory.MemoryManager(sys.argv[1], embedder=memory.FakeEmbedder(32), migrate=False)
print("ready", flush=True)
report = manager.forget(user_id="alice")
print("forgot", report.messages, flush=True)
"""


def _alice_and_bob(url: str) -> tuple[int, int]:
    """How many messages of alice's and of bob's the store holds, checking that each of alice's has
    its vector and its full-text entry, and that the store and its full-text index are whole."""
    engine = memory.create_engine(url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
        connection.exec_driver_sql(
            "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)"
        )
        counts = dict(
            connection.execute(
                sa.text(
                    "SELECT c.user_id, count(m.id) FROM conversations c "
                    "JOIN messages m ON m.conversation_id = c.id GROUP BY c.user_id"
                )
            ).all()
        )
        vectors = connection.exec_driver_sql("SELECT count(*) FROM message_vectors_1").scalar_one()
        words = connection.exec_driver_sql(
            "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'alicesecret'"
        ).scalar_one()
        connection.rollback()
    engine.dispose()
    alice, bob = counts.get("alice", 0), counts.get("bob", 0)
    assert vectors == alice + bob, "a vector without its message, or a message without its vector"
    assert words == alice, "the full-text index disagrees with alice's messages"
    return alice, bob


def test_forget_killed_at_random_moments_forgets_all_or_nothing(memory_url: str) -> None:
    per_user = 900
    rng = random.Random(30)

    def fill_alice(manager: MemoryManager) -> None:
        alice = manager.scoped("alice")
        for c in range(3):
            messages = [{"role": "user", "content": f"alicesecret {c} {i}"} for i in range(per_user // 3)]
            alice.create_conversation(f"alice {c}", messages=messages)

    with MemoryManager(memory_url, embedder=FakeEmbedder(32)) as manager:
        bob = manager.scoped("bob")
        bob.create_conversation("bob", messages=[{"role": "user", "content": f"bob {i}"} for i in range(200)])
        fill_alice(manager)
    outcomes = {"whole": 0, "gone": 0}
    for kill in range(10):
        child = subprocess.Popen(
            [sys.executable, "-c", _FORGETTER, memory_url], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.3))
        os.kill(child.pid, signal.SIGKILL)
        output, _ = child.communicate(timeout=60)
        alice, bob = _alice_and_bob(memory_url)
        assert bob == 200, f"kill {kill}: bob's memory was touched"
        assert alice in (0, per_user), f"kill {kill}: a forget was left half done ({alice} messages)"
        assert "forgot" not in output or alice == 0, "a forget that reported success left data behind"
        outcomes["gone" if alice == 0 else "whole"] += 1
        if alice == 0:
            with MemoryManager(memory_url, embedder=FakeEmbedder(32)) as manager:
                fill_alice(manager)
    assert outcomes["whole"] and outcomes["gone"], f"the kills all landed on one side: {outcomes}"
    finished = subprocess.run([sys.executable, "-c", _FORGETTER, memory_url], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert _alice_and_bob(memory_url) == (0, 200)
