"""Importers (JSONL and ChatGPT export), streaming, idempotence, bad records, and export round trips."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import sqlalchemy as sa

import memory
from memory import FakeEmbedder, MemoryManager
from memory.export import export_jsonl
from memory.importers import import_file, read_chatgpt
from memory.vectors.pgvector import PgVectorStore
from memory.vectors.sqlite import SqliteVecStore
from tests.data.exports import (
    BAD_JSONL,
    BRANCH_TEXTS,
    EVERY_KIND_MESSAGES,
    GOOD_JSONL,
    MODEL_MEMORY,
    USER_CONTEXT,
    USER_INSTRUCTIONS,
    USER_PROFILE,
    branching_conversation,
    do_not_remember_conversation,
    every_kind_conversation,
    simple_conversation,
    write_chatgpt_export,
    write_jsonl,
)

pytestmark = pytest.mark.both_backends

DEMO = Path(__file__).resolve().parents[1] / "demo" / "conversations.json"


def _export(manager: MemoryManager) -> list[dict[str, object]]:
    out = io.StringIO()
    with memory.session_factory(manager.engine)() as session:
        export_jsonl(session, out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_chatgpt_import_follows_the_current_branch(memory_manager: MemoryManager, tmp_path: Path) -> None:
    path = write_chatgpt_export(tmp_path / "conversations.json", [branching_conversation()])
    summary = import_file(memory_manager, path)
    assert (summary.imported, summary.messages, summary.failed) == (1, 4, 0)
    conversation = memory_manager.find_conversation("conv-branch")
    assert conversation is not None and conversation.title == "Branches"
    messages = memory_manager.get_messages(conversation.id)
    assert [m.content for m in messages] == BRANCH_TEXTS
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[2].meta == {"source_message_id": "tool", "author_name": "browser"}
    # A message without a time takes the previous one's, so the order stays chronological.
    assert messages[2].created_at == messages[1].created_at
    assert conversation.created_at.timestamp() == pytest.approx(1_760_000_000.0)


def test_chatgpt_import_keeps_every_kind_of_node(memory_manager: MemoryManager, tmp_path: Path) -> None:
    path = write_chatgpt_export(tmp_path / "conversations.json", [every_kind_conversation()])
    summary = import_file(memory_manager, path)
    assert (summary.imported, summary.messages, summary.failed) == (1, len(EVERY_KIND_MESSAGES), 0)
    conversation = memory_manager.find_conversation("conv-kinds")
    assert conversation is not None
    assert conversation.meta == {
        "source": "chatgpt",
        "is_archived": True,
        "is_starred": True,
        "is_do_not_remember": False,
        "default_model_slug": "gpt-4o",
        "user_context": {
            "system_message": USER_CONTEXT,
            "user_profile": USER_PROFILE,
            "user_instructions": USER_INSTRUCTIONS,
            "model_set_context": MODEL_MEMORY,
        },
    }
    messages = memory_manager.get_messages(conversation.id)
    stored = [
        (m.role, m.content, {k: v for k, v in m.meta.items() if k != "source_message_id"}) for m in messages
    ]
    assert stored == EVERY_KIND_MESSAGES
    # The empty system prompt and the reasoning (thoughts, recap) are the nodes left out.
    assert {"prompt", "thoughts", "recap"}.isdisjoint(m.meta["source_message_id"] for m in messages)
    assert not any("PRIVATE" in m.content or "Thought for" in m.content for m in messages)


def test_the_users_context_is_found_by_search(memory_manager: MemoryManager, tmp_path: Path) -> None:
    import_file(memory_manager, write_chatgpt_export(tmp_path / "c.json", [every_kind_conversation()]))
    hits = memory_manager.search("metric units and 24-hour times", k=3)
    assert hits[0].message.content == USER_CONTEXT
    assert hits[0].message.role == "system" and hits[0].message.meta["user_context"] is True
    custom = memory_manager.search("keep bees near Lyon", k=1, roles="system")
    assert custom[0].message.meta["content_type"] == "user_editable_context"


@pytest.mark.parametrize("strict", [False, True])
def test_do_not_remember_conversations_are_left_out_and_counted(
    memory_manager: MemoryManager, tmp_path: Path, strict: bool
) -> None:
    conversations = [simple_conversation("ok", "fine", ["hello", "hi"]), do_not_remember_conversation()]
    path = write_chatgpt_export(tmp_path / "conversations.json", conversations)
    summary = import_file(memory_manager, path, strict=strict)
    # Left out before validation: its NUL character is neither a failure nor a reason to abort.
    assert (summary.imported, summary.not_remembered, summary.failed, summary.skipped) == (1, 1, 0, 0)
    assert memory_manager.find_conversation("conv-forget") is None
    assert not memory_manager.search("bank PIN", k=5, mode="text")


def test_include_do_not_remember_imports_them_with_the_flag(
    memory_manager: MemoryManager, tmp_path: Path
) -> None:
    forget = do_not_remember_conversation()
    forget["mapping"]["conv-forget-1"]["message"]["content"]["parts"] = ["Noted."]
    conversations = [simple_conversation("ok", "fine", ["hello", "hi"]), forget]
    path = write_chatgpt_export(tmp_path / "conversations.json", conversations)
    assert import_file(memory_manager, path).not_remembered == 1
    summary = import_file(memory_manager, path, include_do_not_remember=True)
    assert (summary.imported, summary.skipped, summary.not_remembered, summary.messages) == (1, 1, 0, 2)
    conversation = memory_manager.find_conversation("conv-forget")
    assert conversation is not None and conversation.meta["is_do_not_remember"] is True
    assert [m.content for m in memory_manager.get_messages(conversation.id)] == [
        "My bank PIN is 4921",
        "Noted.",
    ]


def test_the_demo_corpus_imports_completely(memory_url: str) -> None:
    with MemoryManager(memory_url, embedder=FakeEmbedder(32)) as manager:
        summary = import_file(manager, DEMO)
        assert (summary.imported, summary.failed, summary.skipped) == (229, 0, 0)
        assert summary.messages == 2444 == manager.stats()["messages"]
        again = import_file(manager, DEMO)
        assert (again.imported, again.skipped, again.messages) == (0, 229, 0)
        assert manager.stats()["messages"] == 2444
        assert manager.stats()["vectors"] == {1: 2444}


def test_jsonl_import_reports_and_skips_bad_records(memory_manager: MemoryManager, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mixed.jsonl", [GOOD_JSONL[0], *BAD_JSONL, GOOD_JSONL[1], GOOD_JSONL[2]])
    summary = import_file(memory_manager, path)
    assert (summary.imported, summary.failed, summary.messages) == (3, 5, 3)
    assert [p.split(":")[0] for p in summary.problems] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
    assert "wizard" in summary.problems[1] and "messages" in summary.problems[2]
    garden = memory_manager.find_conversation("j1")
    assert garden is not None and garden.meta == {"tag": "home"}
    assert memory_manager.find_conversation("7") is not None


def test_strict_import_aborts_on_the_first_bad_record_and_writes_nothing(
    memory_manager: MemoryManager, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "mixed.jsonl", [GOOD_JSONL[0], BAD_JSONL[1], GOOD_JSONL[1]])
    with pytest.raises(memory.ValidationError, match=r"line 2.*wizard"):
        import_file(memory_manager, path, strict=True)
    assert memory_manager.stats()["conversations"] == 0
    clean = write_jsonl(tmp_path / "clean.jsonl", GOOD_JSONL)
    assert import_file(memory_manager, clean, strict=True).imported == 3


def test_jsonl_developer_messages_are_imported_and_exported_as_developer(
    memory_manager: MemoryManager, tmp_path: Path
) -> None:
    record = {
        "id": "dev",
        "title": "Instructions",
        "messages": [
            {"role": "developer", "content": "Answer in Portuguese."},
            {"role": "user", "content": "Hello"},
        ],
    }
    summary = import_file(memory_manager, write_jsonl(tmp_path / "dev.jsonl", [record]))
    assert (summary.imported, summary.failed, summary.messages) == (1, 0, 2)
    conversation = memory_manager.find_conversation("dev")
    assert conversation is not None
    assert [m.role for m in memory_manager.get_messages(conversation.id)] == ["developer", "user"]
    (exported,) = _export(memory_manager)
    assert [m["role"] for m in exported["messages"]] == ["developer", "user"]  # type: ignore[index]


def test_reimporting_adds_nothing(memory_manager: MemoryManager, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "good.jsonl", GOOD_JSONL)
    assert import_file(memory_manager, path).imported == 3
    before = memory_manager.stats()
    summary = import_file(memory_manager, path)
    assert (summary.imported, summary.skipped) == (0, 3)
    assert memory_manager.stats() == before


def test_a_conversation_is_imported_atomically(
    memory_manager: MemoryManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_jsonl(tmp_path / "good.jsonl", GOOD_JSONL[:1])

    def broken(self: SqliteVecStore, *args: object) -> None:
        raise memory.DatabaseError("disk full")

    monkeypatch.setattr(SqliteVecStore, "insert", broken)
    monkeypatch.setattr(PgVectorStore, "insert", broken)
    with pytest.raises(memory.DatabaseError):
        import_file(memory_manager, path)
    monkeypatch.undo()
    assert memory_manager.stats()["conversations"] == 0
    assert import_file(memory_manager, path).imported == 1


def test_chatgpt_reader_streams_one_conversation_at_a_time() -> None:
    conversations = [simple_conversation(f"c{i}", f"title {i}", ["x" * 5000] * 20) for i in range(100)]
    data = json.dumps(conversations).encode()

    class CountingStream(io.BytesIO):
        consumed = 0

        def read(self, size: int | None = -1) -> bytes:
            chunk = super().read(size)
            self.consumed += len(chunk)
            return chunk

    stream = CountingStream(data)
    records = read_chatgpt(stream)
    first = next(records)
    assert not isinstance(first, Exception) and first.source_id == "c0"
    assert stream.consumed < len(data) / 5
    assert sum(1 for _ in records) == 99


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{}",
        b'{"not": "an array"}',
        b"[" + json.dumps(branching_conversation()).encode(),
        b'[{"id": "x",',
        b"\xff\xfe[",
    ],
)
def test_malformed_chatgpt_files_raise_validation_error(
    memory_manager: MemoryManager, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "conversations.json"
    path.write_bytes(content)
    with pytest.raises(memory.ValidationError):
        import_file(memory_manager, path, format="chatgpt")


def test_bad_chatgpt_conversations_are_reported_by_index(
    memory_manager: MemoryManager, tmp_path: Path
) -> None:
    broken_branch = branching_conversation("broken", "Broken")
    broken_branch["current_node"] = "missing"
    cyclic = branching_conversation("cyclic", "Cyclic")
    cyclic["mapping"]["root"]["parent"] = "a2"
    path = write_chatgpt_export(
        tmp_path / "conversations.json",
        [
            simple_conversation("ok", "fine", ["hello", "hi"]),
            broken_branch,
            "junk",
            cyclic,
            {"title": "no id"},
        ],
    )
    summary = import_file(memory_manager, path)
    assert summary.imported == 1
    assert [p.split(":")[0] for p in summary.problems] == [
        "conversation 1",
        "conversation 2",
        "conversation 3",
        "conversation 4",
    ]


def test_export_then_import_gives_the_same_conversations(tmp_path: Path) -> None:
    first_url, second_url = (f"sqlite:///{tmp_path / name}" for name in ("first.db", "second.db"))
    with MemoryManager(first_url, embedder=FakeEmbedder(16)) as first:
        import_file(first, write_chatgpt_export(tmp_path / "c.json", [branching_conversation()]))
        import_file(first, write_jsonl(tmp_path / "g.jsonl", GOOD_JSONL))
        made_here = first.create_conversation("made here", metadata={"x": [1, 2]})
        first.add_message(made_here.id, "user", "typed in directly")
        exported = _export(first)
    path = write_jsonl(tmp_path / "export.jsonl", exported)
    with MemoryManager(second_url, embedder=FakeEmbedder(16)) as second:
        assert import_file(second, path, strict=True).imported == 5
        assert _export(second) == exported
        assert import_file(second, path).skipped == 5
    assert [c["title"] for c in exported] == ["Branches", "Garden", "No id here", "Numeric id", "made here"]
    engine = memory.create_engine(second_url)
    with engine.connect() as connection:
        vectors = connection.execute(sa.text("SELECT count(*) FROM message_vectors_1")).scalar_one()
        messages = connection.execute(sa.text("SELECT count(*) FROM messages")).scalar_one()
    engine.dispose()
    assert vectors == messages == 8


_IMPORTER = """
import sys
import memory
from memory.importers import import_file

manager = memory.MemoryManager(sys.argv[1], embedder=memory.FakeEmbedder(32), migrate=False)
def report(done, total):
    print(done, flush=True)

summary = import_file(manager, sys.argv[2], batch_messages=int(sys.argv[3]), progress=report)
print("done", summary.imported, flush=True)
"""


def _stored_counts(manager: MemoryManager) -> dict[str, int]:
    """Messages (each with its vector) per source id, checking that no conversation is stored twice."""
    with manager.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT c.source_id, count(m.id) FROM conversations c "
                "LEFT JOIN messages m ON m.conversation_id = c.id GROUP BY c.id, c.source_id"
            )
        ).all()
    counts = {str(source): int(count) for source, count in rows}
    assert len(counts) == len(rows), "a conversation was imported twice"
    stats = manager.stats()
    assert stats["messages"] == sum(counts.values()) and stats["vectors"] == {1: stats["messages"]}
    return counts


def test_an_import_killed_midway_leaves_whole_conversations_and_a_rerun_completes(memory_url: str) -> None:
    with DEMO.open("rb") as stream:
        expected = {
            r.source_id: len(r.messages) for r in read_chatgpt(stream) if not isinstance(r, Exception)
        }
    # Small batches, so that most kills land between two commits or in the middle of one.
    command = [sys.executable, "-c", _IMPORTER, memory_url, str(DEMO), "64"]
    rng = random.Random(19)
    partial = 0
    with MemoryManager(memory_url, embedder=FakeEmbedder(32)) as manager:
        for _ in range(4):
            child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            assert child.stdout is not None
            for _ in range(rng.randint(1, 8)):  # a line each time a batch has committed
                if child.stdout.readline().startswith("done"):
                    break
            time.sleep(rng.uniform(0.0, 0.05))
            os.kill(child.pid, signal.SIGKILL)
            child.communicate(timeout=60)
            counts = _stored_counts(manager)
            assert all(count == expected[source] for source, count in counts.items()), "half a conversation"
            partial += 0 < len(counts) < len(expected)
        assert partial, "no kill landed in the middle of an import: the test proved nothing"
        before = len(_stored_counts(manager))
        summary = import_file(manager, DEMO, batch_messages=64)
        assert (summary.imported, summary.skipped, summary.failed) == (len(expected) - before, before, 0)
        assert _stored_counts(manager) == expected
        assert sum(expected.values()) == 2444


def test_conversations_are_embedded_across_conversations_in_batches(memory_url: str, tmp_path: Path) -> None:
    calls: list[int] = []

    class Counting(FakeEmbedder):
        def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
            calls.append(len(texts))
            return super().embed(texts)

    path = write_jsonl(tmp_path / "many.jsonl", [_record(n, messages=3) for n in range(20)])
    progress: list[int] = []
    with MemoryManager(memory_url, embedder=Counting(32)) as manager:
        summary = import_file(
            manager, path, batch_messages=25, progress=lambda done, _: progress.append(done)
        )
        assert (summary.imported, summary.messages) == (20, 60)
        assert calls == [27, 27, 6]  # whole conversations: the first batch to reach 25 messages closes
        assert progress == sorted(progress) and progress[-1] == path.stat().st_size
        assert (
            manager.search("conversation 7 message 2", k=1)[0].message.content == "conversation 7 message 2"
        )
        with pytest.raises(memory.ValidationError, match="batch_messages"):
            import_file(manager, path, batch_messages=0)


def test_a_text_repeated_in_the_next_batch_is_embedded_once(memory_url: str) -> None:
    """The next batch is looked up before the one before it is stored: the text they share comes
    from the batch before, not from the model again (nor from another owner's store)."""
    embedded: list[str] = []

    class Counting(FakeEmbedder):
        def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
            embedded.extend(texts)
            return super().embed(texts)

    def conversation(number: int, texts: list[str]) -> dict[str, object]:
        return {"source_id": f"r{number}", "messages": [{"role": "user", "content": t} for t in texts]}

    batches = [
        [conversation(1, ["shared instructions", "first"])],
        [conversation(2, ["shared instructions", "second"])],
        [conversation(3, ["shared instructions", "third", "first"])],
    ]
    with MemoryManager(memory_url, embedder=Counting(32)) as manager:
        assert manager.add_conversation_batches(batches) == 3
        assert sorted(embedded) == ["first", "second", "shared instructions", "third"]
        hits = manager.search("shared instructions", k=3, mode="vector")
        assert [h.distance for h in hits] == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)


def test_a_source_id_twice_in_one_file_is_imported_once(
    memory_manager: MemoryManager, tmp_path: Path
) -> None:
    records = [_record(1, messages=2), _record(2, messages=2), _record(1, messages=5)]
    summary = import_file(memory_manager, write_jsonl(tmp_path / "twice.jsonl", records), batch_messages=100)
    assert (summary.imported, summary.skipped, summary.messages) == (2, 1, 4)
    assert _stored_counts(memory_manager) == {"c1": 2, "c2": 2}


def test_an_in_memory_store_imports_in_batches(tmp_path: Path) -> None:
    """The model runs on a worker thread; the database stays on the caller's (an in-memory SQLite
    database is one per thread)."""
    path = write_jsonl(tmp_path / "many.jsonl", [_record(n, messages=3) for n in range(10)])
    with MemoryManager("sqlite://", embedder=FakeEmbedder(32)) as manager:
        assert import_file(manager, path, batch_messages=4).imported == 10
        assert manager.stats()["messages"] == 30


def test_add_conversation_batches_commits_each_batch_and_skips_duplicates(
    memory_manager: MemoryManager,
) -> None:
    memory_manager.create_conversation("present", source_id="c3")
    batches = [[_conversation(1), _conversation(2)], [_conversation(3), _conversation(4)]]
    seen: list[list[str | None]] = []

    def on_batch(stored: list[memory.Conversation | None]) -> None:
        seen.append([None if c is None else c.source_id for c in stored])
        assert memory_manager.stats()["conversations"] == 1 + sum(c is not None for b in seen for c in b)

    stored = memory_manager.add_conversation_batches(batches, skip_duplicates=True, on_batch=on_batch)
    assert stored == 3 and seen == [["c1", "c2"], [None, "c4"]]
    with pytest.raises(memory.DuplicateError):
        memory_manager.add_conversation_batches([[_conversation(5)], [_conversation(1)]])
    assert memory_manager.find_conversation("c5") is not None  # the batch before the bad one is stored
    bad = [[_conversation(6)], [{"title": "x", "colour": "blue"}], [_conversation(7)]]
    with pytest.raises(memory.ValidationError):
        memory_manager.add_conversation_batches(bad)
    assert memory_manager.find_conversation("c6") is not None
    assert memory_manager.find_conversation("c7") is None
    with pytest.raises(memory.ValidationError):
        memory_manager.add_conversation_batches([], on_batch="print")  # type: ignore[arg-type]


def test_add_conversation_batches_stores_the_batches_drawn_before_a_source_that_breaks(
    memory_manager: MemoryManager,
) -> None:
    def batches() -> Iterator[list[dict[str, object]]]:
        yield [_conversation(1), _conversation(2)]
        yield (c for c in [_conversation(3)])  # a lazy batch: drawn on the caller's thread
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError, match="the source broke"):
        memory_manager.add_conversation_batches(batches())
    assert [memory_manager.find_conversation(f"c{n}") is not None for n in (1, 2, 3)] == [True] * 3


def _conversation(number: int, *, messages: int = 1) -> dict[str, object]:
    """A conversation as `add_conversations` takes it."""
    return {
        "source_id": f"c{number}",
        "title": f"conversation {number}",
        "messages": [
            {"role": "user", "content": f"conversation {number} message {m}"} for m in range(messages)
        ],
    }


def _record(number: int, *, messages: int = 1) -> dict[str, object]:
    """The same as a JSON Lines record."""
    record = _conversation(number, messages=messages)
    record["id"] = record.pop("source_id")
    return record


def test_imported_source_ids_are_looked_up_per_owner_in_one_call(memory_manager: MemoryManager) -> None:
    """The import looks up a window of records' source ids at once: only this owner's count, and a
    bad id is a typed error."""
    alice, bob = memory_manager.scoped("alice"), memory_manager.scoped("bob")
    alice.create_conversation("a", source_id="shared")
    alice.create_conversation("b", source_id="alice-only")
    bob.create_conversation("c", source_id="shared")
    asked = ["shared", "alice-only", "missing", "shared"]
    assert alice.imported_source_ids(asked) == {"shared", "alice-only"}
    assert bob.imported_source_ids(asked) == {"shared"}
    assert memory_manager.imported_source_ids(asked) == set()  # the manager's own: made with no owner
    assert memory_manager.imported_source_ids([]) == set()
    with pytest.raises(memory.ValidationError):
        alice.imported_source_ids(["ok", 7])  # type: ignore[list-item]
