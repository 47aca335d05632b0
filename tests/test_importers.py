"""Importers (JSONL and ChatGPT export), streaming, idempotence, bad records, and export round trips."""

from __future__ import annotations

import io
import json
from pathlib import Path

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
