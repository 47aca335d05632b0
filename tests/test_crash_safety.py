"""Crash safety: a writer, an import, a forget or a migration killed with SIGKILL at random moments
never loses a commit or leaves half of one.

`make test` kills 50 times; `make soak` sets MEMORY_SOAK_KILLS=500.
"""

from __future__ import annotations

import json
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
from memory.migration import current_revision, head_revision
from tests.helpers import integrity_ok

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
        assert (logged or 0) == len(messages), "the change log disagrees with the vectors"
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
        "--batch-messages",  # small batches: many commits, so that kills land between and within them
        "64",
    ]
    MemoryManager(memory_url, embedder=FakeEmbedder(32)).close()  # a kill before the child made it
    rng = random.Random(7)
    partial = 0
    for _ in range(5):
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert child.stderr is not None
        # The progress bar prints a line at every tenth of the file stored: kill after a few of them
        # (a fixed sleep measured start-up on a busy machine rather than the import).
        for _ in range(rng.randint(1, 7)):
            if not child.stderr.readline():
                break
        time.sleep(rng.uniform(0.0, 0.05))
        child.kill()
        child.communicate(timeout=60)
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


_MIGRATOR = """
import sys
import sqlalchemy as sa
import memory

engine = memory.create_engine(sys.argv[1])

@sa.event.listens_for(engine, "before_cursor_execute")
def _report(connection, cursor, statement, parameters, context, executemany):
    print(" ".join(statement.split()[:3]), flush=True)

@sa.event.listens_for(engine, "commit")
def _committing(connection):
    print("COMMIT", flush=True)

print("ready", flush=True)
memory.upgrade(engine, "0009")
print("upgraded", flush=True)
"""


def _store_state(url: str) -> tuple[str | None, dict[str, object]]:
    """The revision, and everything 0009 must keep: every message row, the vectors' ids, the
    full-text index's ids for one word, and the SQL of every index and trigger; both integrity
    checks must pass."""
    engine = memory.create_engine(url)
    assert integrity_ok(engine)
    with engine.connect() as connection:
        state: dict[str, object] = {
            "messages": connection.exec_driver_sql("SELECT * FROM messages ORDER BY id").all(),
            "vectors": connection.exec_driver_sql(
                "SELECT message_id FROM message_vectors_1 ORDER BY message_id"
            ).all(),
            "words": connection.exec_driver_sql(
                "SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'kettle' ORDER BY rowid"
            ).all(),
            "schema": connection.exec_driver_sql(
                "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY name"
            ).all(),
        }
        revision = current_revision(connection)
        # The CHECK agrees with the revision: developer is refused at 0008 and taken at 0009.
        developer = (
            "INSERT INTO messages (conversation_id, role, content, created_at, metadata, content_hash) "
        )
        developer += "VALUES (1, 'developer', 'x', '2026-01-01 00:00:00.000000', '{}', 'h')"
        try:
            connection.exec_driver_sql(developer)
            accepted = True
        except sa.exc.IntegrityError:
            accepted = False
        connection.rollback()
        assert accepted == (revision != "0008"), (
            f"at {revision} developer {'taken' if accepted else 'refused'}"
        )
    engine.dispose()
    return revision, state


def _migrate(url: str, *, kill_after: int | None, rng: random.Random) -> list[str]:
    """Run the 0009 upgrade in a child, SIGKILLed `kill_after` reported statements in (plus a random
    moment), or to its end; returns the statements it reported."""
    child = subprocess.Popen(
        [sys.executable, "-c", _MIGRATOR, url], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    seen: list[str] = []
    if kill_after is None:
        seen = child.communicate(timeout=300)[0].splitlines()
        assert child.returncode == 0 and seen[-1] == "upgraded"
        return seen
    while len(seen) < kill_after and (line := child.stdout.readline()):
        seen.append(line.strip())
    time.sleep(rng.uniform(0.0, 0.03))
    os.kill(child.pid, signal.SIGKILL)
    child.communicate(timeout=60)
    return seen


def test_the_0009_rebuild_killed_at_random_moments_leaves_0008_or_0009_whole(memory_url: str) -> None:
    """40,000 messages at 0008; each child is killed at a statement of the rebuild picked at random
    (from the copy's CREATE TABLE to the end), a moment into it."""
    with MemoryManager(memory_url, embedder=FakeEmbedder(32)) as manager:
        roles = ("user", "assistant", "system", "tool")
        for c in range(40):
            manager.add_conversations(
                [
                    {
                        "title": f"c{c}.{k}",
                        "messages": [
                            {
                                "role": roles[i % 4],
                                "content": f"boil the kettle {c} {k} {i}"
                                if i % 7 == 0
                                else f"note {c} {k} {i}",
                                "metadata": {"i": i} if i % 3 == 0 else {},
                            }
                            for i in range(100)
                        ],
                    }
                    for k in range(10)
                ]
            )
    memory.downgrade(memory_url, "0008")
    revision, kept = _store_state(memory_url)
    assert revision == "0008" and len(kept["messages"]) == 40_000  # type: ignore[arg-type]
    rng = random.Random(16)
    statements = _migrate(memory_url, kill_after=None, rng=rng)  # once to its end: the steps to aim at
    rebuild = statements.index("CREATE TABLE messages_rebuilt")
    memory.downgrade(memory_url, "0008")
    outcomes = {"0008 mid-rebuild": 0, "0008": 0, "0009": 0}
    for kill in range(max(10, KILLS // 5)):
        seen = _migrate(memory_url, kill_after=rng.randint(rebuild, len(statements)), rng=rng)
        revision, state = _store_state(memory_url)
        assert revision in ("0008", "0009"), f"kill {kill}: at {revision}"
        assert state == kept, f"kill {kill} after {seen[-1:]}: the store at {revision} lost or changed data"
        if revision == "0009":
            outcomes["0009"] += 1
            memory.downgrade(memory_url, "0008")  # for the next kill
        else:
            outcomes["0008 mid-rebuild" if "CREATE TABLE messages_rebuilt" in seen else "0008"] += 1
    assert outcomes["0008 mid-rebuild"] >= 3, f"too few kills landed inside the rebuild: {outcomes}"
    print(f"0009 killed {sum(outcomes.values())} times: {outcomes}; every store whole")
    memory.upgrade(memory_url)
    assert _store_state(memory_url)[0] == head_revision()


_TIERER = """
import sys
from datetime import UTC, datetime, timedelta
import memory
import memory.lifecycle.compact

memory.lifecycle.compact._BATCH_MESSAGES = 150  # many commits, for the kills to land between
manager = memory.MemoryManager(
    sys.argv[1], embedder=memory.FakeEmbedder(32), migrate=False, archive_dir=sys.argv[2]
)
print("ready", flush=True)
if sys.argv[3] == "compact":
    report = manager.compact(now=datetime(2025, 3, 4, tzinfo=UTC) + timedelta(days=40))
    print("compacted", report.conversations_archived, flush=True)
else:
    for conversation in manager.list_conversations(limit=10_000):
        if conversation.tier != "full":
            print("restoring", conversation.id, flush=True)
        manager.restore(conversation.id)
    print("restored", flush=True)
"""


def _tiers_whole(
    url: str, archive_dir: Path, originals: dict[int, list[tuple[object, ...]]]
) -> dict[str, int]:
    """Every conversation whole in the database (full) or whole in a verified archive (its row's
    checksum that of the file, and only stand-ins left in the database); the store's checks pass.
    Returns how many conversations are in each tier."""
    from datetime import datetime

    from memory.lifecycle.archive import archive_path, read_archive

    engine = memory.create_engine(url)
    assert integrity_ok(engine)
    with engine.connect() as connection:
        conversations = connection.execute(
            sa.text("SELECT id, tier, archive_checksum, created_at FROM conversations")
        ).all()
        rows = connection.execute(
            sa.text(
                "SELECT conversation_id, id, role, content, metadata, created_at, content_hash "
                "FROM messages ORDER BY conversation_id, created_at, id"
            )
        ).all()
    engine.dispose()
    stored: dict[int, list[tuple[object, ...]]] = {}
    for conversation_id, *message in rows:
        stored.setdefault(conversation_id, []).append(tuple(message))
    tiers = {"full": 0, "key_points": 0}
    for conversation_id, tier, checksum, created_at in conversations:
        tiers[tier] += 1
        if tier == "full":
            assert stored.get(conversation_id, []) == originals[conversation_id], f"{conversation_id} cut"
            continue
        when = datetime.fromisoformat(str(created_at))
        record = read_archive(
            archive_path(archive_dir, conversation_id, when.year, when.month), expected=checksum
        )
        archived = [
            (m["id"], m["role"], m["content"], json.dumps(m["metadata"]), m["content_hash"])
            for m in record["messages"]
        ]
        assert archived == [(m[0], m[1], m[2], m[3], m[5]) for m in originals[conversation_id]]
        assert all(
            role == "system" and "memory_tier" in meta for _, role, _, meta, *_ in stored[conversation_id]
        )
    with MemoryManager(url, embedder=FakeEmbedder(32), migrate=False) as manager:
        assert manager.check().ok, manager.check().problems
    return tiers


def test_compaction_and_restore_killed_at_random_moments_leave_every_conversation_whole(
    memory_url: str, tmp_path: Path
) -> None:
    """3,000 messages in 300 conversations; children compacting them all, or restoring them all, are
    SIGKILLed at random moments; a last run of each finishes the work."""
    from datetime import UTC, datetime, timedelta

    archive_dir = tmp_path / "archive"
    then = datetime(2025, 3, 4, tzinfo=UTC)
    with MemoryManager(memory_url, embedder=FakeEmbedder(32), archive_dir=archive_dir) as manager:
        for batch in range(10):
            manager.add_conversations(
                [
                    {
                        "title": f"c{batch}.{k}",
                        "created_at": then,
                        "messages": [
                            {
                                "role": ("user", "assistant")[i % 2],
                                "content": f"Sentence {i} of conversation {batch}.{k} about the kettle.",
                                "metadata": {"i": i} if i % 3 == 0 else {},
                                "created_at": then + timedelta(minutes=i),
                            }
                            for i in range(10)
                        ],
                    }
                    for k in range(30)
                ]
            )
    engine = memory.create_engine(memory_url)
    with engine.connect() as connection:
        originals: dict[int, list[tuple[object, ...]]] = {}
        for conversation_id, *message in connection.execute(
            sa.text(
                "SELECT conversation_id, id, role, content, metadata, created_at, content_hash "
                "FROM messages ORDER BY conversation_id, created_at, id"
            )
        ):
            originals.setdefault(conversation_id, []).append(tuple(message))
    engine.dispose()
    assert sum(map(len, originals.values())) == 3000
    rng = random.Random(18)
    mixed = {"compact": 0, "restore": 0}
    durations = {"compact": 0, "restore": 0}  # children that finished before the kill
    for kill in range(max(16, KILLS // 3)):
        tiers = _tiers_whole(memory_url, archive_dir, originals)
        # Turn about (a restore needs archived conversations, a compaction full ones), so both are
        # cut short mid-way however fast this machine runs them.
        action = "compact" if tiers["full"] and (kill % 2 == 0 or not tiers["key_points"]) else "restore"
        child = subprocess.Popen(
            [sys.executable, "-c", _TIERER, memory_url, str(archive_dir), action],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        if action == "restore":  # restores are quick: cut in after a random number of them began
            for _ in range(rng.randint(1, max(1, tiers["key_points"] // 2))):
                if not child.stdout.readline().startswith("restoring"):
                    break
            time.sleep(rng.uniform(0.0, 0.02))
        else:
            time.sleep(rng.uniform(0.0, 0.6))
        os.kill(child.pid, signal.SIGKILL)
        output, _ = child.communicate(timeout=60)
        durations[action] += "compacted" in output or "restored" in output
        tiers = _tiers_whole(memory_url, archive_dir, originals)
        mixed[action] += bool(tiers["full"] and tiers["key_points"])
    assert mixed["compact"] >= 2 and mixed["restore"] >= 2, f"too few kills landed mid-way: {mixed}"
    for action in ("compact", "restore"):
        finished = subprocess.run(
            [sys.executable, "-c", _TIERER, memory_url, str(archive_dir), action],
            capture_output=True,
            text=True,
        )
        assert finished.returncode == 0, finished.stderr
        tiers = _tiers_whole(memory_url, archive_dir, originals)
        assert tiers == (
            {"full": 0, "key_points": 300} if action == "compact" else {"full": 300, "key_points": 0}
        )
    # Left behind by kills: archives written for a batch that never committed, or whose restore had
    # committed, and temporaries of cut writes; none is referred to (every conversation is in full).
    leftovers = [p for p in archive_dir.rglob("*") if p.is_file()]
    print(
        f"tiers killed mid-way: {mixed}, finished before the kill: {durations}; every conversation "
        f"whole; {len(leftovers)} unreferenced archive files left"
    )
