"""MemoryManager.recall: the recent thread plus the relevant older messages, within a token budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import memory
from memory import FakeEmbedder, MemoryManager
from memory.recall import approximate_tokens

pytestmark = pytest.mark.both_backends

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _conversation(manager: MemoryManager, title: str, texts: list[str], start: datetime = T0) -> list[int]:
    conversation = manager.create_conversation(title)
    messages = [
        {"role": ("user", "assistant")[i % 2], "content": text, "created_at": start + timedelta(minutes=i)}
        for i, text in enumerate(texts)
    ]
    return [m.id for m in manager.add_messages(conversation.id, messages)]


def _words(text: str) -> int:
    return len(text.split())


@pytest.fixture
def chat(memory_manager: MemoryManager) -> tuple[MemoryManager, list[int]]:
    texts = [
        "my boiler is a Vaillant ecoTEC plus 832",
        "noted: Vaillant ecoTEC plus 832 boiler",
        *[f"small talk number {i} about the weather" for i in range(10)],
        "what was my boiler model again",
    ]
    return memory_manager, _conversation(memory_manager, "home", texts)


def test_recent_messages_plus_the_relevant_old_ones_in_chronological_order(
    chat: tuple[MemoryManager, list[int]],
) -> None:
    manager, ids = chat
    context = manager.recall(1, recent=3, k=2, count_tokens=_words)
    # The default query is the latest user message; its answer lies outside the recent window.
    assert [m.id for m in context] == [ids[0], ids[1], ids[-3], ids[-2], ids[-1]]
    assert [m.created_at for m in context] == sorted(m.created_at for m in context)


def test_the_budget_keeps_the_newest_recent_messages_first_then_the_most_relevant(
    chat: tuple[MemoryManager, list[int]],
) -> None:
    manager, ids = chat

    def recall(budget: int) -> list[int]:
        context = manager.recall(
            1, "Vaillant ecoTEC boiler", recent=3, k=2, count_tokens=_words, max_tokens=budget
        )
        assert sum(_words(m.content) for m in context) <= budget
        return [m.id for m in context]

    # Words: question 6, the two newest small talks 7 each, boiler statement 8, its note 6.
    assert recall(10_000) == [ids[0], ids[1], ids[-3], ids[-2], ids[-1]]
    assert recall(13) == [ids[-2], ids[-1]]  # the newest two fill it
    assert recall(19) == [ids[1], ids[-2], ids[-1]]  # the oldest recent message does not fit; a match does
    assert recall(0) == []


def test_scope_all_reaches_other_conversations(memory_manager: MemoryManager) -> None:
    other = _conversation(memory_manager, "garage", ["the car needs new brake pads", "ok, booked for Monday"])
    current = _conversation(memory_manager, "today", ["hello again", "hi"], start=T0 + timedelta(days=1))
    here = memory_manager.recall(2, "brake pads for the car", recent=2, k=1)
    assert [m.id for m in here] == current
    everywhere = memory_manager.recall(2, "brake pads for the car", recent=2, k=1, scope="all")
    assert [m.id for m in everywhere] == [other[0], *current]


def test_no_query_and_no_user_message_gives_the_recent_thread(memory_manager: MemoryManager) -> None:
    conversation = memory_manager.create_conversation("notes")
    stored = memory_manager.add_messages(
        conversation.id, [{"role": "assistant", "content": f"note {i}"} for i in range(5)]
    )
    assert [m.id for m in memory_manager.recall(conversation.id, recent=2)] == [m.id for m in stored[-2:]]


def test_tokens_are_counted_by_the_embedders_tokenizer_when_it_has_one(memory_url: str) -> None:
    counted: list[str] = []

    class CountingEmbedder(FakeEmbedder):
        def count_tokens(self, text: str) -> int:
            counted.append(text)
            return 1000

    with MemoryManager(memory_url, embedder=CountingEmbedder(16)) as manager:
        _conversation(manager, "t", ["one", "two"])
        assert [m.content for m in manager.recall(1, max_tokens=1500)] == ["two"]  # room for one of 1,000
        assert set(counted) == {"one", "two"}
    assert approximate_tokens("Hello, world!") == 4 + 2


@pytest.mark.parametrize(
    "arguments",
    [
        {"conversation_id": 999},
        {"conversation_id": "1"},
        {"conversation_id": 1, "max_tokens": -1},
        {"conversation_id": 1, "recent": -2},
        {"conversation_id": 1, "k": "8"},
        {"conversation_id": 1, "scope": "everything"},
        {"conversation_id": 1, "query": 42},
        {"conversation_id": 1, "query": "bad \ud800"},
    ],
)
def test_bad_arguments_are_typed_errors(
    chat: tuple[MemoryManager, list[int]], arguments: dict[str, object]
) -> None:
    manager, _ = chat
    with pytest.raises(memory.MemoryStoreError):
        manager.recall(**arguments)  # type: ignore[arg-type]
