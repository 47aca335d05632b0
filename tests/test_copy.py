"""copy_store and `memory copy`: a whole store from SQLite to PostgreSQL and back, byte for byte;
refusals that change nothing; merges; and copies SIGKILLed at random moments that a second run
finishes."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import memory
from memory import (
    ArchiveError,
    CopyReport,
    CopyVerificationError,
    DestinationNotEmptyError,
    DuplicateError,
    EmbeddingSpaceError,
    FakeEmbedder,
    MemoryManager,
    NotFoundError,
    SchemaError,
    ValidationError,
    copy_store,
)
from memory.cli import main
from memory.export import export_jsonl
from memory.lifecycle.archive import read_archive
from memory.testing import fresh_postgres_database
from tests.helpers import integrity_ok

THEN = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
WORDS = ("sourdough", "levain", "boiler", "radiator", "train", "Turin", "invoice", "tax", "crumb", "oven")


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    with fresh_postgres_database(postgres_server) as url:
        yield url


@pytest.fixture
def pg_url_2(postgres_server: str) -> Iterator[str]:
    with fresh_postgres_database(postgres_server) as url:
        yield url


def _sqlite(tmp_path: Path, name: str) -> str:
    return f"sqlite:///{tmp_path / name}"


def _conversations(count: int, *, start: int = 0, title: str = "chat") -> list[dict[str, Any]]:
    conversations = []
    for n in range(start, start + count):
        created = THEN + timedelta(days=n % 400, seconds=n)
        messages = [
            {
                "role": ("user", "assistant", "tool", "system")[i % 4] if i % 5 else "user",
                "content": f"{title} {n} message {i}: {WORDS[(n + i) % 10]} and {WORDS[(n * i) % 10]} ✓",
                "metadata": {"i": i, "nested": {"n": n, "list": [1, "two", None]}} if i % 3 else {},
                "created_at": created + timedelta(minutes=i),
            }
            for i in range(3 + n % 9)
        ]
        conversations.append(
            {
                "title": None if n % 7 == 0 else f"{title} {n} «quoted»",
                "metadata": {"n": n, "important": n % 11 == 0},
                "source_id": f"{title}-{n}" if n % 2 else None,
                "created_at": created,
                "messages": messages,
            }
        )
    return conversations


def _fill(manager: MemoryManager, count: int, *, start: int = 0, title: str = "chat") -> None:
    """`count` conversations: some the manager's, the others of three users (two agents of one)."""
    items = _conversations(count, start=start, title=title)
    owners: list[tuple[str | None, str | None]] = [
        (None, None),
        ("alice", None),
        ("bob", "helper"),
        ("bob", None),
    ]
    for index, owner in enumerate(owners):
        mine = items[index :: len(owners)]
        if not mine:
            continue
        target = manager if owner[0] is None else manager.scoped(owner[0], owner[1])
        target.add_conversations(mine)


def _source(tmp_path: Path, count: int = 40) -> str:
    """A SQLite store with owners, tiers, summaries, a pin, and two embedding spaces."""
    url = _sqlite(tmp_path, "source.db")
    with MemoryManager(url, embedder=FakeEmbedder(16), archive_dir=tmp_path / "archive") as manager:
        _fill(manager, count)
        manager.reindex(FakeEmbedder(24))
    with MemoryManager(url, embedder=FakeEmbedder(24), archive_dir=tmp_path / "archive") as manager:
        manager.pin(2)
        report = manager.compact(now=THEN + timedelta(days=200))
        assert report.conversations_archived > 0
        manager.add_messages(5, [{"role": "user", "content": "back from the archive? sourdough"}])
    return url


def _export(url: str) -> bytes:
    with MemoryManager(url, embedder=FakeEmbedder(24), migrate=False) as manager:
        out = io.StringIO()
        export_jsonl(manager, out)
    return out.getvalue().encode()


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every column of every conversation and message, and every space, as the models read them."""
    engine = memory.create_engine(url)
    try:
        with engine.connect() as connection:
            tables = [
                memory.Conversation.__table__,
                memory.Message.__table__,
                memory.EmbeddingSpace.__table__,
            ]
            return {
                table.name: [tuple(row) for row in connection.execute(sa.select(table).order_by(table.c.id))]  # type: ignore[attr-defined]
                for table in tables
            }
    finally:
        engine.dispose()


def _searches(url: str, *, text: bool = True) -> list[Any]:
    """Vector searches, each hit with its distance, tier and title, by message id; and with `text`,
    the hits of text searches (ranked by each backend's own full-text engine)."""
    found: list[Any] = []
    with MemoryManager(url, embedder=FakeEmbedder(24), migrate=False) as manager:
        for query in ("sourdough oven", "boiler radiator", "tax invoice", "train to Turin"):
            for target in (manager, manager.scoped("alice"), manager.scoped("bob", "helper")):
                hits = target.search(query, k=1000, mode="vector")  # every vector: ties never cut
                found.append(
                    {h.message.id: (round(h.distance, 4), h.tier, h.conversation_title) for h in hits}
                )
                if text:
                    found.append([h.message.id for h in target.search(query, k=8, mode="text")])
    return found


def _hnsw_indexes(url: str) -> list[str]:
    engine = memory.create_engine(url)
    try:
        with engine.connect() as connection:
            query = "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%hnsw' ORDER BY 1"
            return list(connection.execute(sa.text(query)).scalars())
    finally:
        engine.dispose()


def _without_ids(lines: list[str]) -> set[str]:
    """Exported conversations without their `id` (a merge gives some of them new ones)."""
    return {json.dumps({**json.loads(line), "id": None}, sort_keys=True) for line in lines}


def _checksums(report: CopyReport) -> dict[str, tuple[int, str]]:
    assert report.verified
    for table in report.tables:
        assert (table.source_rows, table.source_checksum) == (table.dest_rows, table.dest_checksum)
    return {t.table: (t.source_rows, t.source_checksum) for t in report.tables}


def test_sqlite_to_postgresql_to_sqlite_gives_byte_identical_exports(tmp_path: Path, pg_url: str) -> None:
    source = _source(tmp_path)
    back = _sqlite(tmp_path, "back.db")
    there = copy_store(source, pg_url, batch_size=37)
    again = copy_store(pg_url, back, batch_size=1000)
    assert (there.conversations, there.skipped, there.archived) == (40, 0, there.archived)
    assert there.archived > 0 and not there.merged
    assert there.messages == again.messages and there.vectors == again.vectors
    # Two spaces: the first model's and the active one's, vectors as stored.
    assert {t.table for t in there.tables} == {
        "embedding_spaces",
        "conversations",
        "messages",
        "message_vectors_1",
        "message_vectors_2",
    }
    assert _checksums(there) == _checksums(again)
    # Suspended while the vectors were loaded, built at the end.
    assert _hnsw_indexes(pg_url) == ["message_vectors_1_hnsw", "message_vectors_2_hnsw"]
    assert _export(source) == _export(pg_url) == _export(back)
    assert _rows(source) == _rows(pg_url) == _rows(back)
    # The same hits (pgvector computes the distances on its own: equal to 4 places); full-text
    # ranking is each backend's own, so text searches are compared between the SQLite stores.
    assert _searches(source, text=False) == _searches(pg_url, text=False)
    assert _searches(source) == _searches(back)
    assert integrity_ok(memory.create_engine(back))


def test_scopes_tiers_summaries_and_pins_survive(tmp_path: Path, pg_url: str) -> None:
    source = _source(tmp_path, count=24)
    copy_store(source, pg_url)
    with (
        MemoryManager(source, embedder=FakeEmbedder(24)) as before,
        MemoryManager(pg_url, embedder=FakeEmbedder(24)) as after,
    ):
        for user, agent in ((None, None), ("alice", None), ("bob", "helper"), ("bob", None)):
            a = before if user is None else before.scoped(user, agent)
            b = after if user is None else after.scoped(user, agent)
            listed = [
                (c.id, c.title, c.tier, c.pinned, c.summary, c.topics)
                for c in a.list_conversations(limit=100)
            ]
            assert listed == [
                (c.id, c.title, c.tier, c.pinned, c.summary, c.topics)
                for c in b.list_conversations(limit=100)
            ]
        tiers = {c.tier for c in after.list_conversations(limit=100)}
        assert "full" in tiers and len(tiers) > 1
        assert after.get_conversation(2).pinned
        assert [(s.id, s.dimensions, s.active) for s in after.spaces()] == [(1, 16, False), (2, 24, True)]
        assert [s.vectors for s in after.spaces()] == [s.vectors for s in before.spaces()]
        # New writes in the copy take ids after the copied ones (PostgreSQL's sequences moved on).
        added = after.create_conversation("after the copy", messages=[{"role": "user", "content": "hi"}])
        assert added.id == 25


def test_postgresql_to_postgresql_and_sqlite_to_sqlite(tmp_path: Path, pg_url: str, pg_url_2: str) -> None:
    source = _source(tmp_path, count=12)
    copy_store(source, pg_url)
    assert copy_store(pg_url, pg_url_2).verified
    assert copy_store(source, _sqlite(tmp_path, "twin.db")).verified
    assert _export(pg_url_2) == _export(source) == _export(_sqlite(tmp_path, "twin.db"))


def test_a_second_run_of_a_finished_copy_changes_nothing(tmp_path: Path) -> None:
    source, dest = _source(tmp_path, count=10), _sqlite(tmp_path, "dest.db")
    first = copy_store(source, dest)
    second = copy_store(source, dest)
    assert (second.conversations, second.messages, second.vectors, second.skipped) == (0, 0, 0, 10)
    assert _checksums(first) == _checksums(second)


def test_a_destination_with_data_of_its_own_is_refused_and_left_unchanged(
    tmp_path: Path, pg_url: str
) -> None:
    source = _source(tmp_path, count=6)
    for dest in (_sqlite(tmp_path, "other.db"), pg_url):
        with MemoryManager(dest, embedder=FakeEmbedder(24)) as manager:
            manager.create_conversation("mine", messages=[{"role": "user", "content": "my own data"}])
        before = (_rows(dest), _export(dest))
        with pytest.raises(DestinationNotEmptyError, match="merge=True"):
            copy_store(source, dest)
        assert (_rows(dest), _export(dest)) == before


def test_an_unfinished_copy_of_another_source_is_refused(tmp_path: Path) -> None:
    source, dest = _source(tmp_path, count=6), _sqlite(tmp_path, "dest.db")
    copy_store(source, dest)
    with MemoryManager(source, embedder=FakeEmbedder(24)) as manager:
        manager.add_messages(1, [{"role": "user", "content": "written after the copy"}])
    before = _rows(dest)
    with pytest.raises(DestinationNotEmptyError, match="rows differ"):
        copy_store(source, dest)
    assert _rows(dest) == before


def test_merge_adds_the_source_to_a_destination_with_data_of_its_own(tmp_path: Path, pg_url: str) -> None:
    source = _sqlite(tmp_path, "source.db")
    with MemoryManager(source, embedder=FakeEmbedder(24)) as manager:
        _fill(manager, 12)
    with MemoryManager(pg_url, embedder=FakeEmbedder(24)) as manager:
        _fill(manager, 5, start=100, title="theirs")
        # One conversation the destination already holds, with the same content (the same import).
        manager.scoped("alice").add_conversations(_conversations(2)[1:])
    report = copy_store(source, pg_url, merge=True, batch_size=10)
    assert report.merged and report.verified
    assert (report.conversations, report.skipped) == (11, 1)
    with MemoryManager(pg_url, embedder=FakeEmbedder(24)) as manager:
        assert manager.stats()["conversations"] == 5 + 1 + 11
        titles = {c.title for c in manager.list_conversations(limit=100)}
        assert {"chat 3 «quoted»", "theirs 101 «quoted»"} <= titles
        scope = manager.scoped("bob", "helper")
        (copied,) = [c for c in scope.list_conversations(limit=100) if c.title == "chat 2 «quoted»"]
        message = scope.get_messages(copied.id)[1]
        # Found by its copied vector (the fake model gives messages of the same words one vector).
        hits = manager.search(message.content, k=20, mode="vector")
        assert message.id in {h.message.id for h in hits if h.distance < 1e-6}
    exported = _export(pg_url).decode().splitlines()
    assert _without_ids(_export(source).decode().splitlines()) <= _without_ids(exported)
    # Merging again finds every conversation there already.
    again = copy_store(source, pg_url, merge=True)
    assert (again.conversations, again.skipped) == (0, 12)
    assert _export(pg_url).decode().splitlines() == exported


def test_merge_refuses_a_source_id_the_destination_holds_with_other_content(tmp_path: Path) -> None:
    source, dest = _sqlite(tmp_path, "source.db"), _sqlite(tmp_path, "dest.db")
    with MemoryManager(source, embedder=FakeEmbedder(24)) as manager:
        _fill(manager, 4)
    with MemoryManager(dest, embedder=FakeEmbedder(24)) as manager:
        manager.scoped("alice").create_conversation("not the same", source_id="chat-1")
    before = _rows(dest)
    with pytest.raises(DuplicateError, match="'chat-1'"):
        copy_store(source, dest, merge=True)
    assert _rows(dest) == before


def test_merge_refuses_another_model(tmp_path: Path) -> None:
    source, dest = _sqlite(tmp_path, "source.db"), _sqlite(tmp_path, "dest.db")
    with MemoryManager(source, embedder=FakeEmbedder(24)) as manager:
        _fill(manager, 2)
    with MemoryManager(dest, embedder=FakeEmbedder(8)) as manager:
        _fill(manager, 2, title="theirs")
    before = _rows(dest)
    with pytest.raises(EmbeddingSpaceError, match="reindex"):
        copy_store(source, dest, merge=True)
    assert _rows(dest) == before


def test_bad_arguments_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    source = _sqlite(tmp_path, "source.db")
    with MemoryManager(source, embedder=FakeEmbedder(24)) as manager:
        _fill(manager, 2)
    dest = tmp_path / "dest.db"
    cases: list[tuple[Any, Any, dict[str, Any], type[Exception]]] = [
        ("nosuch://host/db", dest, {}, ValidationError),
        (source, "postgresql+nodriver://user@host/db", {}, ValidationError),
        (source, "mysql://user@host/db", {}, ValidationError),
        (source, "", {}, ValidationError),
        (tmp_path / "missing.db", dest, {}, NotFoundError),
        (source, source, {}, ValidationError),
        (source, str(tmp_path / "source.db"), {}, ValidationError),
        (source, dest, {"batch_size": 0}, ValidationError),
        (source, dest, {"batch_size": 10**6}, ValidationError),
        (source, dest, {"merge": "yes"}, ValidationError),
    ]
    for source_url, dest_url, options, error in cases:
        with pytest.raises(error):
            copy_store(source_url, dest_url, **options)
    assert not dest.exists()
    empty = _sqlite(tmp_path, "empty.db")
    memory.create_engine(empty).dispose()
    with pytest.raises(SchemaError):
        copy_store(empty, dest)
    assert not dest.exists()


def test_a_destination_written_meanwhile_fails_verification(tmp_path: Path) -> None:
    source, dest = _sqlite(tmp_path, "source.db"), _sqlite(tmp_path, "dest.db")
    with MemoryManager(source, embedder=FakeEmbedder(24)) as manager:
        _fill(manager, 6)
    engine = memory.create_engine(dest)
    calls = 0

    def meddle(done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            with engine.begin() as connection:
                connection.execute(sa.text("UPDATE messages SET content = 'changed' WHERE id = 1"))

    with pytest.raises(CopyVerificationError, match="messages"):
        copy_store(source, dest, batch_size=8, progress=meddle)
    engine.dispose()


# -- crash safety ------------------------------------------------------------------------------------

_COPIER = """
import sys
import memory

def report(done, total):
    print(done, total, flush=True)

archives = {"dest_archive_dir": sys.argv[4]} if len(sys.argv) > 4 else {}
memory.copy_store(sys.argv[1], sys.argv[2], batch_size=int(sys.argv[3]), progress=report, **archives)
print("finished", flush=True)
"""


def _killed_copies(
    source: str, dest: str, rng: random.Random, kills: int, *extra: str, batch_size: int = 40
) -> int:
    """Start copies and SIGKILL each after a random number of batches and a random delay; how many
    were killed before they finished."""
    killed = 0
    for _ in range(kills):
        child = subprocess.Popen(
            [sys.executable, "-c", _COPIER, source, dest, str(batch_size), *extra],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        for _ in range(rng.randint(1, 12)):
            if not child.stdout.readline():
                break
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(child.pid, signal.SIGKILL)
        output, _ = child.communicate(timeout=120)
        killed += "finished" not in output
    return killed


@pytest.mark.parametrize("target", ["sqlite", "postgres"])
def test_a_copy_killed_at_random_moments_finishes_on_the_next_run(
    tmp_path: Path, target: str, request: pytest.FixtureRequest
) -> None:
    source = _sqlite(tmp_path, "source.db")
    with MemoryManager(source, embedder=FakeEmbedder(24)) as manager:
        _fill(manager, 300)
    dest = _sqlite(tmp_path, "dest.db") if target == "sqlite" else str(request.getfixturevalue("pg_url"))
    killed = _killed_copies(source, dest, random.Random(20261130), kills=5)
    assert killed >= 3, "the copies finished before they could be killed"
    engine = memory.create_engine(dest)
    with engine.connect() as connection:
        partial = connection.execute(sa.text("SELECT count(*) FROM conversations")).scalar_one()
    engine.dispose()
    report = copy_store(source, dest, batch_size=40)
    assert report.skipped == partial and report.conversations == 300 - partial
    reference = copy_store(source, _sqlite(tmp_path, "reference.db"))
    assert _checksums(report) == _checksums(reference)
    assert _export(dest) == _export(source)
    assert integrity_ok(memory.create_engine(dest))
    if target == "postgres":
        assert _hnsw_indexes(dest) == ["message_vectors_1_hnsw"]


# -- command line ------------------------------------------------------------------------------------


def test_the_command_copies_prints_the_checks_and_refuses_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _source(tmp_path, count=8)
    dest = str(tmp_path / "dest.db")
    assert main(["copy", source, dest, "--progress", "--batch-size", "10"]) == 0
    out, err = capsys.readouterr()
    assert "copied 8 conversations" in out
    assert "conversations" in out and "message_vectors_2" in out and "verified" in out
    assert "copying" in err
    assert main(["copy", source, dest]) == 0
    assert "0 conversations" in capsys.readouterr().out
    with MemoryManager(dest, embedder=FakeEmbedder(24)) as manager:
        manager.create_conversation("mine")
    assert main(["copy", source, dest]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("memory: error:") and "--merge" in err and err.count("\n") == 1
    assert main(["copy", source, dest, "--merge", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["merged"] and report["verified"] and report["skipped"] == 8


# -- archives ------------------------------------------------------------------------------------------


def _archived_ids(url: str) -> dict[int, str]:
    engine = memory.create_engine(url)
    try:
        with engine.connect() as connection:
            query = "SELECT id, archive_checksum FROM conversations WHERE tier != 'full' ORDER BY id"
            return {int(i): str(c) for i, c in connection.execute(sa.text(query))}
    finally:
        engine.dispose()


@pytest.mark.parametrize("target", ["sqlite", "postgres"])
def test_archives_are_copied_with_their_conversations_even_when_killed(
    tmp_path: Path, target: str, request: pytest.FixtureRequest
) -> None:
    """Archived conversations arrive with their archive files (verified, flushed before their batch
    commits): after copies SIGKILLed at random moments and a last run, every archived conversation
    of the destination has its file, nothing else is there, and restoring them all gives back the
    source's conversations."""
    source = _sqlite(tmp_path, "source.db")
    with MemoryManager(source, embedder=FakeEmbedder(24)) as manager:  # archives beside the file
        _fill(manager, 300)
        assert manager.compact(now=THEN + timedelta(days=200)).conversations_archived > 100
    dest = _sqlite(tmp_path, "dest.db") if target == "sqlite" else str(request.getfixturevalue("pg_url"))
    dest_archive = tmp_path / "dest-archive"
    # Small batches: compaction left few messages, and each run must have more batches to go
    # than the progress lines it is killed after.
    killed = _killed_copies(source, dest, random.Random(20261201), 4, str(dest_archive), batch_size=8)
    assert killed >= 2, "the copies finished before they could be killed"
    report = copy_store(source, dest, batch_size=40, dest_archive_dir=dest_archive)
    archived = _archived_ids(dest)
    assert archived == _archived_ids(source) and report.archived == len(archived)
    assert report.archive_dir == str(dest_archive.resolve())
    files = sorted(dest_archive.glob("*/*/*.json.gz"))
    assert len(files) == len(archived) and not list(dest_archive.glob("*/*/.*"))
    for path in files:
        read_archive(path, expected=archived[int(path.name.split(".")[0])])
    with MemoryManager(dest, embedder=FakeEmbedder(24), archive_dir=dest_archive) as manager:
        for conversation_id in archived:
            manager.restore(conversation_id)
    with MemoryManager(source, embedder=FakeEmbedder(24)) as manager:
        for conversation_id in archived:
            manager.restore(conversation_id)
    assert _export(dest) == _export(source)


def test_a_missing_source_archive_stops_the_copy_with_a_typed_error(tmp_path: Path) -> None:
    source = _source(tmp_path, count=12)
    archived = _archived_ids(source)
    victim = sorted((tmp_path / "archive").glob("*/*/*.json.gz"))[-1]
    victim.unlink()
    dest = _sqlite(tmp_path, "dest.db")
    with pytest.raises(ArchiveError, match="missing"):
        copy_store(source, dest, batch_size=1, source_archive_dir=tmp_path / "archive")
    copied = _archived_ids(dest)
    assert int(victim.name.split(".")[0]) not in copied and set(copied) < set(archived)
    # Without the archive directory the archives are not copied, and the report says so.
    report = copy_store(source, _sqlite(tmp_path, "other.db"))
    assert report.archive_dir is None and report.archives_copied == 0 and report.archived == len(archived)
