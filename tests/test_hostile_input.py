"""Hostile and bad input, case by case: each gets a typed error and leaves every byte of the database
as it was, or is stored and returned byte for byte (SQL-injection strings are just text)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

import memory
from memory import MemoryManager
from memory.importers import import_file
from tests.helpers import integrity_ok, schema_objects

pytestmark = pytest.mark.both_backends

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
DIMS = 384

INJECTIONS = [
    "'; DROP TABLE messages; --",
    '" OR 1=1 --',
    "x') UNION SELECT load_extension('/tmp/evil') --",
    "1; ATTACH DATABASE '/tmp/pwn.db' AS pwn; --",
    "message_vectors_1 MATCH '[1]' AND k = 4096",
    "%s %d {0} {table} ?",
    "Robert'); DELETE FROM conversations WHERE ('1'='1",
]


def snapshot(manager: MemoryManager) -> dict[str, list[Any]]:
    """Every row of every real table (vec0's shadow tables included), and the schema itself.
    PostgreSQL sequences are left out: they advance even when a transaction rolls back, by design."""
    if manager.engine.dialect.name != "sqlite":
        state: dict[str, list[Any]] = {"schema": schema_objects(manager.engine)}
        with manager.engine.connect() as connection:
            for name in sa.inspect(manager.engine).get_table_names():
                rows = connection.execute(sa.select(sa.text("*")).select_from(sa.table(name))).all()
                state[name] = sorted((tuple(row) for row in rows), key=repr)
        return state
    with manager.engine.connect() as connection:
        tables = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).all()
        state = {
            "sqlite_master": [tuple(row) for row in connection.exec_driver_sql("SELECT * FROM sqlite_master")]
        }
        for name, sql in tables:
            if sql and sql.upper().startswith("CREATE VIRTUAL TABLE"):
                continue  # its rows are its shadow tables', compared below
            table = sa.table(name)
            rows = connection.execute(sa.select(sa.text("*")).select_from(table)).all()
            state[name] = sorted((tuple(row) for row in rows), key=repr)
        return state


@pytest.fixture
def populated(memory_manager: MemoryManager) -> MemoryManager:
    conversation = memory_manager.create_conversation(
        "kept", metadata={"k": "v"}, source_id="src-1", created_at=T0
    )
    memory_manager.add_messages(
        conversation.id,
        [
            {"role": "user", "content": "the first message"},
            {"role": "assistant", "content": "a reply", "metadata": {"n": 1}},
        ],
    )
    return memory_manager


def _vectors(value: Any) -> Callable[[MemoryManager], object]:
    return lambda m: m.add_messages(1, [{"role": "user", "content": "v"}], vectors=value)


def _nan() -> np.ndarray:
    matrix = np.ones((1, DIMS), dtype=np.float32)
    matrix[0, 7] = np.nan
    return matrix


def _inf() -> np.ndarray:
    matrix = np.ones((1, DIMS), dtype=np.float32)
    matrix[0, 0] = -np.inf
    return matrix


BAD_CALLS: list[tuple[str, Callable[[MemoryManager], object], type[memory.MemoryStoreError]]] = [
    # vectors given with messages
    ("NaN vector", _vectors(_nan()), memory.ValidationError),
    ("Inf vector", _vectors(_inf()), memory.ValidationError),
    ("wrong dimension", _vectors(np.ones((1, DIMS + 1), dtype=np.float32)), memory.DimensionMismatchError),
    ("too few dimensions", _vectors(np.ones((1, 3), dtype=np.float32)), memory.DimensionMismatchError),
    ("string dtype", _vectors(np.full((1, DIMS), "0.1")), memory.ValidationError),
    ("object dtype", _vectors(np.array([[object()] * DIMS])), memory.ValidationError),
    ("complex dtype", _vectors(np.ones((1, DIMS), dtype=np.complex64)), memory.ValidationError),
    ("zero vector", _vectors(np.zeros((1, DIMS), dtype=np.float32)), memory.ValidationError),
    ("empty vectors", _vectors(np.zeros((0, DIMS), dtype=np.float32)), memory.ValidationError),
    ("huge vector", _vectors(np.ones((1, 10_000_000), dtype=np.float32)), memory.DimensionMismatchError),
    ("more vectors than messages", _vectors(np.ones((2, DIMS), dtype=np.float32)), memory.ValidationError),
    ("3-d array", _vectors(np.ones((1, 1, DIMS), dtype=np.float32)), memory.ValidationError),
    ("float overflow", _vectors(np.full((1, DIMS), 1e300)), memory.ValidationError),
    # search vectors
    ("NaN query", lambda m: m.search(_nan()[0]), memory.ValidationError),
    ("Inf query", lambda m: m.search(_inf()[0]), memory.ValidationError),
    ("wrong-dimension query", lambda m: m.search([0.5] * 5), memory.DimensionMismatchError),
    ("empty query vector", lambda m: m.search([]), memory.ValidationError),
    ("bytes query", lambda m: m.search(b"\x00" * DIMS * 4), memory.ValidationError),
    ("None query", lambda m: m.search(None), memory.ValidationError),  # type: ignore[arg-type]
    # content
    ("non-string content", lambda m: m.add_message(1, "user", 42), memory.ValidationError),  # type: ignore[arg-type]
    ("bytes content", lambda m: m.add_message(1, "user", b"hi"), memory.ValidationError),  # type: ignore[arg-type]
    ("None content", lambda m: m.add_message(1, "user", None), memory.ValidationError),  # type: ignore[arg-type]
    ("lone surrogate", lambda m: m.add_message(1, "user", "ok \ud800 not"), memory.ValidationError),
    ("NUL in content", lambda m: m.add_message(1, "user", "nul\x00inside"), memory.ValidationError),
    (
        "NUL in a batch",
        lambda m: m.add_messages(1, [{"role": "user", "content": "\x00"}]),
        memory.ValidationError,
    ),
    ("NUL in a title", lambda m: m.create_conversation("a\x00b"), memory.ValidationError),
    (
        "content above 1 MiB",
        lambda m: m.add_message(1, "user", "x" * (1024 * 1024 + 1)),
        memory.ValidationError,
    ),
    ("4-byte chars above 1 MiB", lambda m: m.add_message(1, "user", "😀" * 262_145), memory.ValidationError),
    ("surrogate title", lambda m: m.create_conversation("\udfff"), memory.ValidationError),
    (
        "huge metadata",
        lambda m: m.create_conversation(metadata={"x": "y" * 2_000_000}),
        memory.ValidationError,
    ),
    (
        "NaN in metadata",
        lambda m: m.create_conversation(metadata={"x": float("nan")}),
        memory.ValidationError,
    ),
    ("non-str metadata key", lambda m: m.create_conversation(metadata={1: "x"}), memory.ValidationError),
    ("metadata not a dict", lambda m: m.create_conversation(metadata=["x"]), memory.ValidationError),  # type: ignore[arg-type]
    (
        "one bad message in a batch",
        lambda m: m.add_messages(1, [{"role": "user", "content": "fine"}, {"role": "user", "content": 3}]),
        memory.ValidationError,
    ),
    (
        "unknown message key",
        lambda m: m.add_messages(1, [{"role": "user", "content": "x", "id": 5}]),
        memory.ValidationError,
    ),
    ("messages as a string", lambda m: m.add_messages(1, "hello"), memory.ValidationError),  # type: ignore[arg-type]
    ("empty message list", lambda m: m.add_messages(1, []), memory.ValidationError),
    # roles
    ("unknown role", lambda m: m.add_message(1, "root", "x"), memory.ValidationError),
    ("injected role", lambda m: m.add_message(1, "user' OR '1'='1", "x"), memory.ValidationError),
    ("injected role filter", lambda m: m.search("x", roles=["user') OR 1=1 --"]), memory.ValidationError),
    ("empty role filter", lambda m: m.search("x", roles=[]), memory.ValidationError),
    # ids
    ("unknown conversation", lambda m: m.add_message(999, "user", "x"), memory.NotFoundError),
    ("unknown conversation read", lambda m: m.get_conversation(999), memory.NotFoundError),
    ("unknown message delete", lambda m: m.delete_message(999), memory.NotFoundError),
    ("negative id", lambda m: m.get_messages(-1), memory.NotFoundError),
    ("id beyond 64 bits", lambda m: m.get_conversation(2**70), memory.ValidationError),
    ("string id", lambda m: m.delete_conversation("1"), memory.ValidationError),  # type: ignore[arg-type]
    ("injected id", lambda m: m.get_conversation("1 OR 1=1"), memory.ValidationError),  # type: ignore[arg-type]
    ("bool id", lambda m: m.get_conversation(True), memory.ValidationError),
    ("float id", lambda m: m.delete_message(1.0), memory.ValidationError),  # type: ignore[arg-type]
    ("conversation filter as text", lambda m: m.search("x", conversation_id="1"), memory.ValidationError),  # type: ignore[arg-type]
    # k
    ("k = 0", lambda m: m.search("x", k=0), memory.ValidationError),
    ("k = -1", lambda m: m.search("x", k=-1), memory.ValidationError),
    ("k = 4097", lambda m: m.search("x", k=4097), memory.ValidationError),
    ("k as text", lambda m: m.search("x", k="10"), memory.ValidationError),  # type: ignore[arg-type]
    ("k as float", lambda m: m.search("x", k=2.5), memory.ValidationError),  # type: ignore[arg-type]
    # times
    ("since as text", lambda m: m.search("x", since="2026-01-01"), memory.ValidationError),  # type: ignore[arg-type]
    ("created_at as text", lambda m: m.add_message(1, "user", "x", created_at="now"), memory.ValidationError),  # type: ignore[arg-type]
    # duplicates and spaces
    (
        "duplicate source id",
        lambda m: m.create_conversation("again", source_id="src-1"),
        memory.DuplicateError,
    ),
    (
        "duplicate source ids in a batch",
        lambda m: m.add_conversations([{"source_id": "a"}, {"source_id": "a"}]),
        memory.DuplicateError,
    ),
    ("conversations as a dict", lambda m: m.add_conversations({"title": "x"}), memory.ValidationError),  # type: ignore[arg-type]
    ("drop the active space", lambda m: m.drop_space(1), memory.ValidationError),
    ("drop an unknown space", lambda m: m.drop_space(77), memory.NotFoundError),
    (
        "reindex batch size 0",
        lambda m: m.reindex(memory.FakeEmbedder(8), batch_size=0),
        memory.ValidationError,
    ),
]


@pytest.mark.parametrize(("name", "call", "error"), BAD_CALLS, ids=[case[0] for case in BAD_CALLS])
def test_bad_input_is_a_typed_error_and_changes_no_byte(
    populated: MemoryManager, name: str, call: Callable[[MemoryManager], object], error: type[Exception]
) -> None:
    before = snapshot(populated)
    with pytest.raises(error) as raised:
        call(populated)
    assert isinstance(raised.value, memory.MemoryStoreError)
    assert str(raised.value), f"{name}: the error says nothing"
    assert snapshot(populated) == before


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_strings_are_stored_and_returned_byte_for_byte(populated: MemoryManager, text: str) -> None:
    conversation = populated.create_conversation(text, metadata={text: text}, source_id=text)
    populated.add_messages(
        conversation.id,
        [{"role": "user", "content": text, "metadata": {"q": text}}, {"role": "tool", "content": ""}],
    )
    stored = populated.get_conversation(conversation.id)
    assert (stored.title, stored.meta, stored.source_id) == (text, {text: text}, text)
    assert [(m.content, m.meta) for m in stored.messages] == [(text, {"q": text}), ("", {})]
    assert populated.find_conversation(text) is not None
    hits = populated.search(text, k=3, conversation_id=conversation.id, roles=["user"])
    assert [h.message.content for h in hits] == [text]
    assert populated.stats()["messages"] == 4  # the two of the fixture are still there
    assert integrity_ok(populated.engine)


def test_content_with_control_characters_and_every_plane_round_trips(populated: MemoryManager) -> None:
    text = "\u202e bidi \U0001f600 emoji \ufeff bom \x7f del " + "".join(map(chr, range(1, 32)))
    message = populated.add_message(1, "user", text)
    (back,) = [m for m in populated.get_messages(1) if m.id == message.id]
    assert back.content == text and back.content.encode("utf-8") == text.encode("utf-8")


MALFORMED_IMPORTS = [
    ("not json at all", "chatgpt", "{this is not json"),
    ("truncated chatgpt export", "chatgpt", '[{"id": "c1", "title": "x", "mapping": {'),
    ("chatgpt export of the wrong shape", "chatgpt", '{"conversations": 5}'),
    ("jsonl with a broken line", "jsonl", '{"id": "a", "messages": []}\n{"id": "b", "messages": [\n'),
    ("jsonl message without content", "jsonl", '{"id": "a", "messages": [{"role": "user"}]}\n'),
    ("jsonl with an unknown role", "jsonl", '{"id": "a", "messages": [{"role": "root", "content": "x"}]}\n'),
    (
        "jsonl with a surrogate escape",
        "jsonl",
        '{"id": "a", "messages": [{"role": "user", "content": "\\ud800"}]}\n',
    ),
    ("binary garbage", "jsonl", "\x00\x01\x02\xff"),
]


@pytest.mark.parametrize(("name", "format", "text"), MALFORMED_IMPORTS, ids=[c[0] for c in MALFORMED_IMPORTS])
def test_malformed_import_files_change_nothing_in_strict_mode(
    populated: MemoryManager, tmp_path: Path, name: str, format: str, text: str
) -> None:
    path = tmp_path / "import.txt"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    before = snapshot(populated)
    with pytest.raises(memory.MemoryStoreError):
        import_file(populated, path, format=format, strict=True)  # type: ignore[arg-type]
    assert snapshot(populated) == before


def test_injection_in_an_import_file_is_stored_as_text(populated: MemoryManager, tmp_path: Path) -> None:
    path = tmp_path / "hostile.jsonl"
    lines = [
        {"id": text, "title": text, "messages": [{"role": "user", "content": text}]} for text in INJECTIONS
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    summary = import_file(populated, path, format="jsonl", strict=True)
    assert (summary.imported, summary.failed) == (len(INJECTIONS), 0)
    for text in INJECTIONS:
        found = populated.find_conversation(text)
        assert found is not None and found.title == text
        assert [m.content for m in populated.get_messages(found.id)] == [text]
