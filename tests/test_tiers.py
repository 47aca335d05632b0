"""Memory that ages: compact into tiers, restore from archives, pin, and what search, scopes and
forget make of it, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import itertools
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

import memory
from memory import ArchiveError, FakeEmbedder, MemoryManager, NotFoundError, ValidationError
from memory.lifecycle.archive import archive_path, read_archive
from memory.lifecycle.retention import RetentionPolicy
from memory.lifecycle.summarize import Digest, ExtractiveSummarizer
from memory.models import Message
from memory.vectors import VectorRepository
from tests.helpers import active_space, integrity_ok

pytestmark = pytest.mark.both_backends

THEN = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
LINES = (
    "My sourdough starter smells of acetone after two days in the fridge.",
    "Feed the starter twice a day with equal weights of flour and water for a week.",
    "Should the levain rise before I mix the final dough for the bread?",
    "Yes, use the levain at its peak, when it has doubled and is domed.",
    "The crumb of my last loaf was dense and gummy in the middle.",
    "Bake longer at a lower temperature and let the loaf cool fully before slicing.",
)


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    return tmp_path / "archive"


@pytest.fixture
def store(memory_url: str, archive_dir: Path) -> Iterator[MemoryManager]:
    with MemoryManager(memory_url, embedder=FakeEmbedder(32), archive_dir=archive_dir) as manager:
        yield manager


def _fill(memory_: Any, count: int, *, created: datetime = THEN, title: str = "bread") -> list[int]:
    """`count` conversations of six messages each, all from `created`."""
    ids = []
    for n in range(count):
        messages = [
            {
                "role": ("user", "assistant")[i % 2],
                "content": f"{line} ({title} {n})",
                "metadata": {"i": i, "nested": {"n": n}} if i % 2 else {},
                "created_at": created + timedelta(minutes=i),
            }
            for i, line in enumerate(LINES)
        ]
        ids.append(memory_.create_conversation(f"{title} {n}", created_at=created, messages=messages).id)
    return ids


def _snapshot(manager: MemoryManager, conversation_id: int) -> list[tuple[Any, ...]]:
    return [
        (m.id, m.role, m.content, m.meta, m.created_at, m.content_hash)
        for m in manager.get_messages(conversation_id)
    ]


def _vectors(manager: MemoryManager, ids: Sequence[int]) -> dict[int, list[float]]:
    with memory.session_factory(manager.engine)() as session:
        found = VectorRepository(session, active_space(session)).get(ids)
    return {i: v.tolist() for i, v in found.items()}


def _row(manager: MemoryManager, conversation_id: int) -> sa.Row[Any]:
    with manager.engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT * FROM conversations WHERE id = :id"), {"id": conversation_id}
        ).one()


def _files(directory: Path) -> dict[str, bytes]:
    if not directory.exists():
        return {}
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def _kinds(manager: MemoryManager, conversation_id: int) -> list[str]:
    return sorted(m.meta["memory_tier"] for m in manager.get_messages(conversation_id))


def test_conversations_age_through_the_tiers_and_search_still_finds_them(
    store: MemoryManager, archive_dir: Path
) -> None:
    old, recent = _fill(store, 2), _fill(store, 1, created=THEN + timedelta(days=80), title="fresh")
    before = {c: _snapshot(store, c) for c in old}
    before_messages = {c: store.get_messages(c) for c in old}
    updated = {c: _row(store, c).updated_at for c in [*old, *recent]}
    report = store.compact(now=THEN + timedelta(days=40))
    assert report.moved == {"key_points": 2, "summary": 0, "metadata": 0}
    assert report.tiers == {"full": 1, "key_points": 2, "summary": 0, "metadata": 0}
    assert (report.conversations_archived, report.messages_archived, report.skipped) == (2, 12, 0)
    assert report.archive_bytes == sum(len(data) for data in _files(archive_dir).values()) > 0
    for c in old:
        conversation = store.get_conversation(c)
        assert conversation.tier == "key_points" and conversation.summary and not conversation.pinned
        assert "sourdough" in (conversation.topics or "")
        kinds = _kinds(store, c)
        digest = ExtractiveSummarizer(store.embedder).summarize(before_messages[c])
        # The summary's own sentences are not repeated as key points; its row ends with the topics.
        key_points = [point for point in digest.key_points if point not in digest.summary]
        assert kinds == ["key_point"] * len(key_points) + ["summary"] and key_points
        assert sorted(
            m.content for m in store.get_messages(c) if m.meta["memory_tier"] == "key_point"
        ) == sorted(key_points)
        (summary,) = (m.content for m in store.get_messages(c) if m.meta["memory_tier"] == "summary")
        assert summary == f"{digest.summary}\nbread {old.index(c)} — topics: {conversation.topics}"
        assert all(m.role == "system" for m in store.get_messages(c))
        path = archive_path(archive_dir, c, 2025, 3)
        record = read_archive(path, expected=_row(store, c).archive_checksum)
        assert [(m["id"], m["content"]) for m in record["messages"]] == [(m[0], m[2]) for m in before[c]]
        assert _row(store, c).updated_at == updated[c]  # ages are measured from it
    assert store.get_conversation(recent[0]).tier == "full" and len(store.get_messages(recent[0])) == 6
    hits = store.search("sourdough starter acetone", k=20)
    assert {hit.tier for hit in hits} == {"key_points", "full"}
    assert any(hit.message.conversation_id == old[0] and hit.tier == "key_points" for hit in hits)
    assert all(hit.tier == "full" for hit in hits if hit.message.conversation_id == recent[0])
    context = store.recall(recent[0], "levain dough", scope="all", k=20, max_tokens=10_000)
    assert any(m.conversation_id in old for m in context)
    # Further down: only stand-ins go, the archive stays as it was.
    files = _files(archive_dir)
    report = store.compact(now=THEN + timedelta(days=200))
    assert report.moved == {"key_points": 0, "summary": 3, "metadata": 0}
    assert (report.conversations_archived, report.messages_archived) == (1, 6)  # the fresh one left full
    assert {k: v for k, v in _files(archive_dir).items() if k in files} == files
    assert _kinds(store, old[0]) == ["summary"]
    store.compact(now=THEN + timedelta(days=400))
    assert _kinds(store, old[0]) == ["topics"] and store.get_conversation(old[0]).tier == "metadata"
    (line,) = store.get_messages(old[0])
    assert line.content == f"bread 0 — topics: {store.get_conversation(old[0]).topics}"
    assert line.created_at == before[old[0]][-1][4]  # the time of the conversation's last message
    assert _vectors(store, [line.id])  # embedded, so search finds it by meaning too
    assert [hit.tier for hit in store.search("bread 0", k=1, mode="text")] == ["metadata"]
    assert all(_row(store, c).updated_at == updated[c] for c in updated)
    assert store.check().ok and integrity_ok(store.engine)


def test_restore_puts_every_message_back_exactly_with_its_vector(
    store: MemoryManager, archive_dir: Path
) -> None:
    ids = _fill(store, 3)
    before = {c: _snapshot(store, c) for c in ids}
    vectors = _vectors(store, [m[0] for c in ids for m in before[c]])
    updated = _row(store, ids[1]).updated_at
    store.compact(now=THEN + timedelta(days=400))
    assert store.get_conversation(ids[1]).tier == "metadata"
    embedder = store.embedder
    assert isinstance(embedder, FakeEmbedder)
    embedded = embedder.texts_embedded
    assert store.restore(ids[1]) == 6
    assert embedder.texts_embedded == embedded  # the archived vectors, not the model's
    assert _snapshot(store, ids[1]) == before[ids[1]]
    assert _vectors(store, [m[0] for m in before[ids[1]]]) == {m[0]: vectors[m[0]] for m in before[ids[1]]}
    conversation = store.get_conversation(ids[1])
    assert (conversation.tier, conversation.summary, conversation.topics) == ("full", None, None)
    assert _row(store, ids[1]).archive_checksum is None and _row(store, ids[1]).updated_at == updated
    assert not archive_path(archive_dir, ids[1], 2025, 3).exists()
    assert archive_path(archive_dir, ids[0], 2025, 3).exists()
    assert store.restore(ids[1]) == 0  # in full already: nothing to do
    (hit,) = store.search(np.array(vectors[before[ids[1]][2][0]]), k=1)
    assert hit.message.id == before[ids[1]][2][0] and hit.tier == "full"
    assert store.check().ok and integrity_ok(store.engine)


def test_restore_embeds_again_when_the_model_changed(store: MemoryManager) -> None:
    (conversation_id,) = _fill(store, 1)
    before = _snapshot(store, conversation_id)
    store.compact(now=THEN + timedelta(days=40))
    store.reindex(FakeEmbedder(16))
    assert store.restore(conversation_id) == 6
    assert _snapshot(store, conversation_id) == before
    assert store.check().ok
    (hit,) = store.search(LINES[4] + " (bread 0)", k=1, mode="vector")
    assert hit.message.id == before[4][0]


def test_a_restored_message_whose_id_was_taken_gets_a_new_one(store: MemoryManager) -> None:
    (archived,) = _fill(store, 1)
    before = _snapshot(store, archived)
    other = store.create_conversation("other").id
    store.compact(now=THEN + timedelta(days=40))
    taken = before[2][0]
    with store.engine.begin() as connection:  # as a host application's own insert might
        connection.execute(
            sa.text(
                "INSERT INTO messages (id, conversation_id, role, content, created_at, metadata, "
                "content_hash, content_key) VALUES (:id, :c, 'user', 'squatter', :t, '{}', 'h', 0)"
            ),
            {"id": taken, "c": other, "t": THEN.replace(tzinfo=None)},
        )
    store.check(repair=True)  # its vector
    assert store.restore(archived) == 6
    after = _snapshot(store, archived)
    assert [m[1:] for m in after] == [m[1:] for m in before]
    assert [m[0] for m in after][:2] + [m[0] for m in after][3:] == [
        m[0] for i, m in enumerate(before) if i != 2
    ]
    assert after[2][0] not in {m[0] for m in before}  # a new id for the one whose id was taken
    assert [m.content for m in store.get_messages(other)] == ["squatter"]
    assert store.check().ok


def test_compaction_reports_its_progress_batch_by_batch(store: MemoryManager) -> None:
    _fill(store, 3)
    calls: list[tuple[int, int]] = []
    report = store.compact(
        now=THEN + timedelta(days=40), progress=lambda done, total: calls.append((done, total))
    )
    assert report.moved["key_points"] == 3 and calls[-1] == (3, 3)
    assert all(a[0] < b[0] for a, b in itertools.pairwise(calls))
    calls.clear()
    store.compact(now=THEN + timedelta(days=400), progress=lambda done, total: calls.append((done, total)))
    assert calls == [(3, 3)]  # moving down: one transaction for all three


def test_a_dry_run_reports_and_writes_nothing(store: MemoryManager, archive_dir: Path) -> None:
    ids = _fill(store, 2)
    before = {c: _snapshot(store, c) for c in ids}
    report = store.compact(now=THEN + timedelta(days=100), dry_run=True)
    assert report.dry_run and report.moved == {"key_points": 0, "summary": 2, "metadata": 0}
    assert report.tiers["summary"] == 2 and report.messages_archived == 12 and report.archive_bytes == 0
    assert {c: _snapshot(store, c) for c in ids} == before
    assert all(store.get_conversation(c).tier == "full" for c in ids)
    assert not archive_dir.exists()


def test_pinned_and_important_conversations_stay_in_full_longer(store: MemoryManager) -> None:
    pinned, starred, plain = _fill(store, 3)
    with store.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE conversations SET metadata = :m WHERE id = :id"),
            {"m": '{"is_starred": true}', "id": starred},
        )
    updated = _row(store, pinned).updated_at
    assert store.pin(pinned).pinned is True and _row(store, pinned).updated_at == updated
    store.compact(now=THEN + timedelta(days=60))
    tiers = [store.get_conversation(c).tier for c in (pinned, starred, plain)]
    assert tiers == ["full", "full", "key_points"]  # starred: 3 x 30 days in full
    store.pin(plain)  # pinned when archived: kept where it is, no further down
    store.compact(now=THEN + timedelta(days=1200))  # starred: 3 x 365 days before metadata
    tiers = [store.get_conversation(c).tier for c in (pinned, starred, plain)]
    assert tiers == ["full", "metadata", "key_points"]
    assert store.pin(plain, pinned=False).pinned is False
    store.compact(now=THEN + timedelta(days=1200))
    assert store.get_conversation(plain).tier == "metadata"


def test_a_conversation_that_changes_while_it_is_compacted_is_skipped(
    memory_url: str, archive_dir: Path
) -> None:
    class Meddler:
        """Adds a message to the conversation it digests, as another process could meanwhile."""

        def __init__(self) -> None:
            self.manager: MemoryManager | None = None

        def summarize(self, messages: Sequence[Message]) -> Digest:
            assert self.manager is not None
            self.manager.add_message(messages[0].conversation_id, "user", "one more thing", created_at=THEN)
            return Digest("a summary", ("a point",))

    meddler = Meddler()
    with MemoryManager(
        memory_url, embedder=FakeEmbedder(32), archive_dir=archive_dir, summarizer=meddler
    ) as manager:
        meddler.manager = manager
        (conversation_id,) = _fill(manager, 1)
        report = manager.compact(now=THEN + timedelta(days=40))
        assert (report.skipped, report.conversations_archived, report.archive_bytes > 0) == (1, 0, True)
        assert manager.get_conversation(conversation_id).tier == "full"
        assert len(manager.get_messages(conversation_id)) == 7
        assert _files(archive_dir) == {}  # the file written for it is gone
        assert manager.check().ok


def test_scopes_compact_restore_and_pin_only_their_own(store: MemoryManager, archive_dir: Path) -> None:
    alice, bob = store.scoped("alice"), store.scoped("bob")
    (mine,), (theirs,) = _fill(alice, 1), _fill(bob, 1)
    report = alice.compact(now=THEN + timedelta(days=40))
    assert report.tiers == {"full": 0, "key_points": 1, "summary": 0, "metadata": 0}
    assert store.get_conversation(theirs).tier == "full"
    assert [hit.tier for hit in alice.search("sourdough", k=5)] == ["key_points"] * 5
    for call in (lambda: alice.restore(theirs), lambda: alice.pin(theirs), lambda: bob.restore(mine)):
        with pytest.raises(NotFoundError, match="no conversation with id"):
            call()
    assert bob.compact(now=THEN + timedelta(days=40)).moved["key_points"] == 1
    assert alice.restore(mine) == 6 and store.get_conversation(theirs).tier == "key_points"
    assert bob.pin(theirs).pinned is True


def test_forget_deletes_the_archives_of_what_it_forgets(store: MemoryManager, archive_dir: Path) -> None:
    alice, bob = store.scoped("alice"), store.scoped("bob")
    (mine,), (theirs,) = _fill(alice, 1), _fill(bob, 1)
    store.compact(now=THEN + timedelta(days=40))
    leftover = archive_path(archive_dir, mine, 2025, 3).with_name(f".{mine}.json.gz.crashed")
    leftover.write_bytes(b"half an archive")
    report = alice.forget()
    assert report.archive_files == 2 and report.conversations == 1
    assert sorted(_files(archive_dir)) == [f"2025/03/{theirs}.json.gz"]


def test_the_reserved_metadata_key_is_refused(store: MemoryManager) -> None:
    conversation_id = store.create_conversation("x").id
    with pytest.raises(ValidationError, match="memory_tier"):
        store.add_message(conversation_id, "system", "fake", metadata={"memory_tier": "summary"})
    assert store.get_messages(conversation_id) == []


# -- bad input changes nothing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"policy": "30 days"}, "must be a RetentionPolicy"),
        ({"now": "2026-01-01"}, "now must be a datetime"),
        ({"dry_run": "yes"}, "dry_run must be True or False"),
        ({"progress": 5}, "progress must be callable"),
    ],
)
def test_bad_compact_arguments_are_refused(
    store: MemoryManager, archive_dir: Path, arguments: dict[str, Any], message: str
) -> None:
    (conversation_id,) = _fill(store, 1)
    with pytest.raises(ValidationError, match=message):
        store.compact(**arguments)
    assert store.get_conversation(conversation_id).tier == "full" and not archive_dir.exists()


def test_a_policy_out_of_order_is_refused_before_anything_moves() -> None:
    with pytest.raises(ValidationError, match="in order"):
        RetentionPolicy(full_days=100, key_points_days=90)


def test_bad_ids_are_refused(store: MemoryManager) -> None:
    for call in (lambda: store.restore(999), lambda: store.pin(999)):
        with pytest.raises(NotFoundError):
            call()
    for call in (lambda: store.restore("1"), lambda: store.pin(True), lambda: store.pin(1, pinned=1)):  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            call()


def _damage(path: Path, how: str, other: Path) -> None:
    if how == "missing":
        path.unlink()
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:40])
    elif how == "corrupted":
        text = gzip.decompress(path.read_bytes()).replace(b"sourdough", b"sourmilk!")
        path.write_bytes(gzip.compress(text))
    else:  # another conversation's archive in its place
        shutil.copyfile(other, path)


@pytest.mark.parametrize("how", ["missing", "truncated", "corrupted", "foreign"])
def test_a_damaged_archive_is_refused_and_nothing_changes(
    store: MemoryManager, archive_dir: Path, how: str
) -> None:
    first, second = _fill(store, 2)
    store.compact(now=THEN + timedelta(days=40))
    path, other = (archive_path(archive_dir, c, 2025, 3) for c in (first, second))
    _damage(path, how, other)
    files, stand_ins, row = _files(archive_dir), _snapshot(store, first), _row(store, first)
    with pytest.raises(ArchiveError):
        store.restore(first)
    assert (_files(archive_dir), _snapshot(store, first), _row(store, first)) == (files, stand_ins, row)
    assert store.check().ok


@pytest.mark.postgres_only
def test_without_an_archive_directory_postgresql_refuses_what_needs_one(
    memory_url: str, archive_dir: Path
) -> None:
    with MemoryManager(memory_url, embedder=FakeEmbedder(32), archive_dir=archive_dir) as manager:
        first, second = _fill(manager, 2)
        manager.compact(now=THEN + timedelta(days=40), policy=RetentionPolicy())
        manager.restore(second)
    with MemoryManager(memory_url, embedder=FakeEmbedder(32)) as manager:
        before = _snapshot(manager, second)
        for call in (
            lambda: manager.compact(now=THEN + timedelta(days=400)),
            lambda: manager.restore(first),
            lambda: manager.forget(conversation_id=first),
        ):
            with pytest.raises(ValidationError, match="archive"):
                call()
        assert _snapshot(manager, second) == before and manager.get_conversation(first).tier == "key_points"
        report = manager.compact(now=THEN + timedelta(days=400), dry_run=True)  # reads only: allowed
        assert report.moved["metadata"] == 2


@pytest.mark.sqlite_only
def test_the_archive_directory_is_beside_the_sqlite_file_by_default(memory_url: str) -> None:
    with MemoryManager(memory_url, embedder=FakeEmbedder(32)) as manager:
        (conversation_id,) = _fill(manager, 1)
        manager.compact(now=THEN + timedelta(days=40))
    database = Path(sa.make_url(memory_url).database or "")
    assert archive_path(Path(f"{database}.archive"), conversation_id, 2025, 3).exists()


def test_an_archive_dir_that_is_a_file_is_refused(memory_url: str, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValidationError, match="not a directory"):
        MemoryManager(memory_url, embedder=FakeEmbedder(32), archive_dir=tmp_path / "file")


# -- backups -----------------------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_a_backup_taken_while_another_thread_writes_is_whole_with_its_archives(
    store: MemoryManager, tmp_path: Path
) -> None:
    ids = _fill(store, 3)
    before = _snapshot(store, ids[0])
    store.compact(now=THEN + timedelta(days=40))
    busy = store.create_conversation("busy").id
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            store.add_messages(busy, [{"role": "user", "content": f"busy {n}"}] * 20)
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(0.2)
        report = store.backup(tmp_path / "copy.db")
    finally:
        stop.set()
        writer.join()
    assert (report.path, report.archives) == (tmp_path / "copy.db", 3)
    assert sorted(_files(report.archive_dir)) == [f"2025/03/{c}.json.gz" for c in ids]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporaries
    with MemoryManager(tmp_path / "copy.db", embedder=FakeEmbedder(32)) as copy:  # finds copy.db.archive
        assert copy.check().ok and integrity_ok(copy.engine)
        assert 0 < len(copy.get_messages(busy)) <= len(store.get_messages(busy))
        assert copy.restore(ids[0]) == 6 and _snapshot(copy, ids[0]) == before
    assert store.get_conversation(ids[0]).tier == "key_points"  # the original store untouched
    with pytest.raises(ValidationError, match="exists"):
        store.backup(tmp_path / "copy.db")
    with pytest.raises(ValidationError, match="does not exist"):
        store.backup(tmp_path / "nowhere" / "copy.db")


@pytest.mark.sqlite_only
def test_a_backup_refuses_a_store_whose_own_archive_is_damaged(
    store: MemoryManager, archive_dir: Path, tmp_path: Path
) -> None:
    (conversation_id,) = _fill(store, 1)
    store.compact(now=THEN + timedelta(days=40))
    archive_path(archive_dir, conversation_id, 2025, 3).write_bytes(b"garbage")
    with pytest.raises(ArchiveError, match="not a readable archive"):
        store.backup(tmp_path / "copy.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "archive",
        "memory.db",
        "memory.db-shm",
        "memory.db-wal",
    ]


@pytest.mark.postgres_only
def test_backup_on_postgresql_says_to_use_pg_dump(store: MemoryManager, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="pg_dump"):
        store.backup(tmp_path / "copy.db")


@pytest.mark.sqlite_only
def test_compaction_gives_back_the_vector_chunks_it_emptied_and_search_is_unchanged(
    memory_url: str, archive_dir: Path
) -> None:
    # Two of every three conversations age out, so every vec0 chunk is left mostly empty: compaction
    # repacks them, and the index built before it, a fresh one and vec0 itself all agree afterwards.
    embedder = FakeEmbedder(32)
    with MemoryManager(memory_url, embedder=embedder, archive_dir=archive_dir) as manager:
        manager.add_conversations(
            [
                {
                    "title": f"talk {n}",
                    "created_at": THEN + timedelta(days=0 if n % 3 else 80),
                    "messages": [
                        {"role": ("user", "assistant")[i % 2], "content": f"{line} ({n})"}
                        for i, line in enumerate(LINES)
                    ],
                }
                for n in range(900)
            ]
        )
        queries = list(np.random.default_rng(9).standard_normal((8, 32)).astype(np.float32))
        manager.search(queries[0], mode="vector")  # the in-memory index is built now
        assert _vec0_chunks(manager) == 6  # 5,400 vectors
        report = manager.compact(now=THEN + timedelta(days=100))
        assert report.moved["summary"] == 600
        # 1,800 messages and 1,200 stand-ins left: at most one chunk more than they fill.
        assert _vec0_chunks(manager) <= 4
        assert manager.check().ok
        kept = [_ranking(manager.search(q, 10, mode="vector")) for q in queries]
    with MemoryManager(memory_url, embedder=embedder, archive_dir=archive_dir) as fresh:
        assert [_ranking(fresh.search(q, 10, mode="vector")) for q in queries] == kept
    with MemoryManager(memory_url, embedder=embedder, vector_index=None) as plain:
        assert [_ranking(plain.search(q, 10, mode="vector")) for q in queries] == kept


def _ranking(hits: list[memory.SearchHit]) -> list[tuple[float, frozenset[int]]]:
    """The hits' distances, each with the ids found at it, the last distance's ids left out (the
    feature-hashing embedder gives stand-ins exact ties, cut anywhere at k)."""
    by_distance: dict[float, set[int]] = {}
    for hit in hits:
        by_distance.setdefault(round(hit.distance, 5), set()).add(hit.message.id)
    ranked = sorted(by_distance.items())
    return [(d, frozenset(ids) if n < len(ranked) - 1 else frozenset()) for n, (d, ids) in enumerate(ranked)]


def _vec0_chunks(manager: MemoryManager) -> int:
    with manager.engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT count(*) FROM message_vectors_1_chunks").scalar_one())


def test_archive_files_that_refer_to_nothing_are_swept_once_they_are_old(
    store: MemoryManager, archive_dir: Path
) -> None:
    import os

    from memory.lifecycle.compact import STALE_AFTER

    alice = store.scoped("alice")
    archived, (full,), (alices,) = (
        _fill(store, 2),
        _fill(store, 1, created=THEN + timedelta(days=80)),
        _fill(alice, 1, created=THEN + timedelta(days=80)),
    )
    store.compact(now=THEN + timedelta(days=40))
    kept = _files(archive_dir)
    assert len(kept) == 2
    # What crashes leave: a compaction's file whose transaction never committed (conversation still
    # in full), its temporary, the file of a conversation deleted since, and the same, but young.
    some = archive_dir / next(iter(kept))
    left = {
        "full": archive_path(archive_dir, full, 2025, 5),
        "temporary": archive_path(archive_dir, full, 2025, 5).with_name(f".{full}.json.gz.x1y2"),
        "alices": archive_path(archive_dir, alices, 2025, 5),
        "gone": archive_path(archive_dir, 999_999, 2024, 1),
        "young": archive_path(archive_dir, 999_998, 2024, 1),
    }
    for path in left.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(some.read_bytes())
    unrelated = archive_dir / "2024" / "01" / "notes.txt"
    unrelated.write_text("not ours")
    old = time.time() - STALE_AFTER - 60
    for path in [*left.values(), unrelated, *(archive_dir / name for name in kept)]:
        if path != left["young"]:
            os.utime(path, (old, old))

    # A scope sweeps only its own conversations' files, and never those of a deleted conversation.
    assert alice.compact(now=THEN + timedelta(days=41)).stale_files_removed == 1
    assert not left["alices"].exists() and left["gone"].exists()
    report = store.compact(now=THEN + timedelta(days=41))
    assert report.stale_files_removed == 3
    assert {name for name, path in left.items() if path.exists()} == {"young"}
    assert unrelated.exists()
    assert {name: data for name, data in _files(archive_dir).items() if name in kept} == kept
    assert all(store.restore(c) == 6 for c in archived)  # the archives that rows refer to are whole
