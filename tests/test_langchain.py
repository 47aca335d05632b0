"""`memory.integrations.langchain`: the chat message history (every message kind round-trips exactly,
sync and async, under `RunnableWithMessageHistory` with a fake chat model, per user, `clear` leaves
other histories working, the event loop never waits) and the retriever (documents, metadata,
filters, scopes, sync and async, inside an LCEL chain)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pydantic
import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompt_values import PromptValue
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import ConfigurableFieldSpec, RunnableLambda, RunnablePassthrough
from langchain_core.runnables.history import RunnableWithMessageHistory

import memory
from memory import MemoryManager, MemoryScope, ValidationError
from memory.aio import AsyncMemoryManager
from memory.integrations.langchain import (
    METADATA_KEY,
    SOURCE_PREFIX,
    MemoryChatMessageHistory,
    MemoryRetriever,
)

pytestmark = [
    pytest.mark.both_backends,
    pytest.mark.filterwarnings("ignore:RunnableWithMessageHistory is deprecated"),
]

EVERY_KIND: list[BaseMessage] = [
    SystemMessage("You are a heating engineer.", id="sys-1"),
    HumanMessage(
        [{"type": "text", "text": "What does this gauge say? "}, {"type": "image", "url": "https://x/g.png"}],
        name="alice",
    ),
    AIMessage(
        "",
        id="run-1",
        tool_calls=[{"name": "read_gauge", "args": {"unit": "bar", "digits": [1, 2]}, "id": "call-1"}],
        additional_kwargs={"refusal": None},
        response_metadata={"model_name": "fake-1", "finish_reason": "tool_calls"},
        usage_metadata={"input_tokens": 12, "output_tokens": 7, "total_tokens": 19},
    ),
    ToolMessage("0.8", tool_call_id="call-1", name="read_gauge", artifact={"raw": [0.8]}, status="success"),
    AIMessage("The boiler pressure is low: 0.8 bar.", response_metadata={"finish_reason": "stop"}),
    FunctionMessage("42", name="legacy_function"),
    ChatMessage(content="Mind the units.", role="developer"),
    ChatMessage(content="Noted.", role="assistant"),
    AIMessageChunk("streamed part"),
    HumanMessage("Thanks! ünïcödé ✓"),
]
#: What memory stores of each: its role, and its text (what search reads).
STORED = [
    ("system", "You are a heating engineer."),
    ("user", "What does this gauge say? "),
    ("assistant", ""),
    ("tool", "0.8"),
    ("assistant", "The boiler pressure is low: 0.8 bar."),
    ("tool", "42"),
    ("developer", "Mind the units."),
    ("assistant", "Noted."),
    ("assistant", "streamed part"),
    ("user", "Thanks! ünïcödé ✓"),
]


def _same(read: Sequence[BaseMessage], written: Sequence[BaseMessage]) -> None:
    assert [type(message) for message in read] == [type(message) for message in written]
    assert [message.model_dump() for message in read] == [message.model_dump() for message in written]


def _stored(manager: MemoryManager | MemoryScope, session_id: str) -> list[tuple[str, str]]:
    conversation = manager.find_conversation(SOURCE_PREFIX + session_id)
    assert conversation is not None
    return [(message.role, message.content) for message in manager.get_messages(conversation.id)]


# -- the history ---------------------------------------------------------------------------------------


def test_every_message_kind_round_trips_exactly(memory_manager: MemoryManager) -> None:
    scope = memory_manager.scoped("alice")
    history = MemoryChatMessageHistory(scope, "s1", title="Boiler")
    history.add_messages(EVERY_KIND[:4])
    history.add_message(EVERY_KIND[4])
    history.add_messages(EVERY_KIND[5:])
    _same(history.messages, EVERY_KIND)
    _same(MemoryChatMessageHistory(scope, "s1").messages, EVERY_KIND)  # a new instance reads the store
    assert _stored(scope, "s1") == STORED
    conversation = scope.find_conversation(SOURCE_PREFIX + "s1")
    assert conversation is not None and conversation.title == "Boiler"
    # The content is stored once: in the content column when it is text, in the metadata when not.
    multi_part, tool_call = scope.get_messages(conversation.id)[1:3]
    assert "content" not in tool_call.meta[METADATA_KEY]["data"]
    assert multi_part.meta[METADATA_KEY]["data"]["content"] == EVERY_KIND[1].content


@pytest.mark.asyncio
async def test_every_message_kind_round_trips_exactly_async(async_memory_manager: AsyncMemoryManager) -> None:
    history = MemoryChatMessageHistory(async_memory_manager.scoped("alice"), "s1")
    assert await history.aget_messages() == []
    await history.aadd_messages(EVERY_KIND[:3])
    await history.aadd_messages(EVERY_KIND[3:])
    _same(await history.aget_messages(), EVERY_KIND)
    _same(history.messages, EVERY_KIND)  # the sync methods work on an async scope too
    assert _stored(async_memory_manager.sync.scoped("alice"), "s1") == STORED
    await history.aclear()
    assert await history.aget_messages() == []


def test_messages_stored_otherwise_read_as_their_role(memory_manager: MemoryManager) -> None:
    chat = memory_manager.get_or_create_conversation(SOURCE_PREFIX + "imported")
    memory_manager.add_messages(
        chat.id,
        [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "tool", "content": "42", "metadata": {"tool_call_id": "c9"}},
            {"role": "tool", "content": "browsing output"},
        ],
    )
    assert MemoryChatMessageHistory(memory_manager, "imported").messages == [
        SystemMessage("be brief"),
        HumanMessage("hi"),
        AIMessage("hello"),
        ToolMessage("42", tool_call_id="c9"),
        ChatMessage(content="browsing output", role="tool"),
    ]


@pytest.mark.parametrize(
    "message", [RemoveMessage(id="m1"), ChatMessage(content="x", role="narrator")], ids=["remove", "narrator"]
)
def test_a_message_memory_has_no_role_for_is_refused(
    memory_manager: MemoryManager, message: BaseMessage
) -> None:
    history = MemoryChatMessageHistory(memory_manager, "s")
    with pytest.raises(ValidationError, match="cannot store"):
        history.add_messages([HumanMessage("kept?"), message])
    assert history.messages == []
    assert memory_manager.find_conversation(SOURCE_PREFIX + "s") is None  # refused before any write


def test_reads_and_clears_of_an_unwritten_session_create_nothing(memory_manager: MemoryManager) -> None:
    history = MemoryChatMessageHistory(memory_manager, "never")
    assert history.messages == []
    history.clear()
    history.add_messages([])
    assert memory_manager.list_conversations() == []
    with pytest.raises(ValidationError):
        MemoryChatMessageHistory(memory_manager, 7)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        MemoryChatMessageHistory("sqlite:///x.db", "s")  # type: ignore[arg-type]


def test_two_users_with_one_session_id_have_two_histories(memory_manager: MemoryManager) -> None:
    alice = MemoryChatMessageHistory(memory_manager.scoped("alice"), "shared")
    bob = MemoryChatMessageHistory(memory_manager.scoped("bob"), "shared")
    alice.add_messages([HumanMessage("alice's boiler")])
    bob.add_messages([HumanMessage("bob's garden")])
    assert alice.messages == [HumanMessage("alice's boiler")]
    assert bob.messages == [HumanMessage("bob's garden")]
    assert MemoryChatMessageHistory(memory_manager.scoped("carol"), "shared").messages == []
    # Neither is the manager's own (unowned) session of that id.
    assert MemoryChatMessageHistory(memory_manager, "shared").messages == []
    alice.clear()
    assert bob.messages == [HumanMessage("bob's garden")]


def test_clear_leaves_other_histories_of_the_session_working(memory_manager: MemoryManager) -> None:
    scope = memory_manager.scoped("alice")
    first, second = MemoryChatMessageHistory(scope, "s"), MemoryChatMessageHistory(scope, "s")
    first.add_messages([HumanMessage("one"), AIMessage("two")])
    assert second.messages == [HumanMessage("one"), AIMessage("two")]
    first.clear()
    assert second.messages == []
    second.add_messages([HumanMessage("three")])
    assert first.messages == [HumanMessage("three")]
    # The conversation deleted under them: the next write makes a new one, the next read finds none.
    conversation = scope.find_conversation(SOURCE_PREFIX + "s")
    assert conversation is not None
    scope.delete_conversation(conversation.id)
    assert second.messages == []
    first.add_messages([HumanMessage("four")])
    assert second.messages == [HumanMessage("four")]


@pytest.mark.asyncio
async def test_aclear_leaves_other_histories_of_the_session_working(
    async_memory_manager: AsyncMemoryManager,
) -> None:
    scope = async_memory_manager.scoped("alice")
    first, second = MemoryChatMessageHistory(scope, "s"), MemoryChatMessageHistory(scope, "s")
    await first.aadd_messages([HumanMessage("one")])
    assert await second.aget_messages() == [HumanMessage("one")]
    await first.aclear()
    assert await second.aget_messages() == []
    await second.aadd_messages([HumanMessage("two")])
    assert await first.aget_messages() == [HumanMessage("two")]
    conversation = await scope.find_conversation(SOURCE_PREFIX + "s")
    assert conversation is not None
    await scope.delete_conversation(conversation.id)
    await first.aadd_messages([HumanMessage("three")])
    assert await second.aget_messages() == [HumanMessage("three")]


# -- under RunnableWithMessageHistory ---------------------------------------------------------------


def _chat(memory: Any, replies: list[str], seen: list[list[BaseMessage]]) -> RunnableWithMessageHistory:
    """A prompt with the history, a step that records what the model is given, a fake model; the
    history of each user's session from `memory` (a scope per user when `memory` is a manager)."""
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are terse."), MessagesPlaceholder("history"), ("human", "{question}")]
    )

    def record(value: PromptValue) -> PromptValue:
        seen.append(value.to_messages())
        return value

    model = GenericFakeChatModel(messages=iter([AIMessage(reply) for reply in replies]))

    def history(user_id: str, session_id: str) -> MemoryChatMessageHistory:
        return MemoryChatMessageHistory(memory.scoped(user_id), session_id)

    return RunnableWithMessageHistory(
        prompt | RunnableLambda(record) | model,  # type: ignore[arg-type]
        history,
        input_messages_key="question",
        history_messages_key="history",
        history_factory_config=[
            ConfigurableFieldSpec(id="user_id", annotation=str),
            ConfigurableFieldSpec(id="session_id", annotation=str),
        ],
    )


def _turns(user_id: str, session_id: str) -> dict[str, Any]:
    return {"configurable": {"user_id": user_id, "session_id": session_id}}


SYSTEM = SystemMessage("You are terse.")


def test_runnable_with_message_history_over_several_turns(memory_manager: MemoryManager) -> None:
    seen: list[list[BaseMessage]] = []
    chat = _chat(
        memory_manager, ["Check the gauge.", "Top it up to 1.5 bar.", "You're welcome.", "Hi Bob."], seen
    )
    questions = ["My boiler stopped.", "It says 0.8 bar.", "Thanks!"]
    answers = [chat.invoke({"question": q}, config=_turns("alice", "boiler")) for q in questions]
    history: list[BaseMessage] = []
    for question, answer, given in zip(questions, answers, seen, strict=True):
        assert given == [SYSTEM, *history, HumanMessage(question)]
        history += [HumanMessage(question), answer]
    assert [answer.content for answer in answers] == [
        "Check the gauge.",
        "Top it up to 1.5 bar.",
        "You're welcome.",
    ]
    _same(MemoryChatMessageHistory(memory_manager.scoped("alice"), "boiler").messages, history)
    # Another user, the same session id: a history of their own.
    chat.invoke({"question": "Hello?"}, config=_turns("bob", "boiler"))
    assert seen[-1] == [SYSTEM, HumanMessage("Hello?")]
    assert len(_stored(memory_manager.scoped("alice"), "boiler")) == 6


@pytest.mark.asyncio
async def test_runnable_with_message_history_async(async_memory_manager: AsyncMemoryManager) -> None:
    seen: list[list[BaseMessage]] = []
    chat = _chat(async_memory_manager, ["Check the gauge.", "Top it up.", "Hi Bob."], seen)
    first = await chat.ainvoke({"question": "My boiler stopped."}, config=_turns("alice", "boiler"))
    second = await chat.ainvoke({"question": "It says 0.8 bar."}, config=_turns("alice", "boiler"))
    await chat.ainvoke({"question": "Hello?"}, config=_turns("bob", "boiler"))
    assert seen == [
        [SYSTEM, HumanMessage("My boiler stopped.")],
        [SYSTEM, HumanMessage("My boiler stopped."), first, HumanMessage("It says 0.8 bar.")],
        [SYSTEM, HumanMessage("Hello?")],
    ]
    history = MemoryChatMessageHistory(async_memory_manager.scoped("alice"), "boiler")
    _same(
        await history.aget_messages(),
        [HumanMessage("My boiler stopped."), first, HumanMessage("It says 0.8 bar."), second],
    )


class _Gated(memory.FakeEmbedder):
    """The fake model, but each run waits until the event loop releases it."""

    def __init__(self) -> None:
        super().__init__(16)
        self.release = threading.Event()

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not self.release.wait(30):
            raise TimeoutError("never released: the event loop was blocked")
        return super().embed(texts)


@pytest.fixture
def gated(memory_url: str) -> Iterator[tuple[MemoryManager, _Gated]]:
    embedder = _Gated()
    with MemoryManager(memory_url, embedder=embedder) as manager:
        yield manager, embedder


@pytest.mark.asyncio
async def test_the_async_methods_leave_the_event_loop_free(gated: tuple[MemoryManager, _Gated]) -> None:
    manager, embedder = gated  # a sync manager: the adapters make its async view themselves
    history = MemoryChatMessageHistory(manager.scoped("alice"), "s")
    retriever = MemoryRetriever(memory=manager.scoped("alice"))

    async def released_by_the_loop(call: Callable[[], Any]) -> Any:
        embedder.release.clear()
        task = asyncio.ensure_future(call())
        await asyncio.sleep(0.05)  # only runs if the call left the loop free
        embedder.release.set()
        return await task

    await released_by_the_loop(lambda: history.aadd_messages([HumanMessage("the boiler")]))
    documents = await released_by_the_loop(lambda: retriever.ainvoke("boiler"))
    assert [document.page_content for document in documents] == ["the boiler"]


# -- the retriever -------------------------------------------------------------------------------------


@pytest.fixture
def two_users(memory_manager: MemoryManager) -> tuple[MemoryScope, int, int]:
    """alice's two conversations and bob's one, about boilers and gardens."""
    alice, bob = memory_manager.scoped("alice"), memory_manager.scoped("bob")
    boiler = alice.create_conversation("Boiler")
    alice.add_messages(
        boiler.id,
        [
            {"role": "user", "content": "The boiler pressure dropped to 0.8 bar."},
            {"role": "assistant", "content": "Top up the boiler pressure to 1.5 bar."},
        ],
    )
    garden = alice.create_conversation("Garden")
    alice.add_messages(garden.id, [{"role": "user", "content": "The roses need pruning in March."}])
    chat = bob.create_conversation("Bob's boiler")
    bob.add_messages(chat.id, [{"role": "user", "content": "My boiler pressure is fine."}])
    return alice, boiler.id, garden.id


def test_retriever_documents_and_metadata(two_users: tuple[MemoryScope, int, int]) -> None:
    alice, boiler, _ = two_users
    documents = MemoryRetriever(memory=alice, k=2).invoke("boiler pressure")
    stored = {message.id: message for message in alice.get_messages(boiler)}
    hits = alice.search("boiler pressure", 2)
    assert [document.page_content for document in documents] == [hit.message.content for hit in hits]
    for rank, (document, hit) in enumerate(zip(documents, hits, strict=True), start=1):
        message = stored[hit.message.id]
        assert document.id == str(message.id)
        assert document.metadata == {
            "message_id": message.id,
            "conversation_id": boiler,
            "conversation_title": "Boiler",
            "role": message.role,
            "created_at": message.created_at.isoformat(),
            "score": pytest.approx(hit.score),
            "text_score": pytest.approx(hit.text_score),
            "fusion_score": pytest.approx(hit.fusion_score),
            "sources": ["text", "vector"],
            "rank": rank,
        }
        assert datetime.fromisoformat(document.metadata["created_at"]) == message.created_at


def test_retriever_filters_and_modes(two_users: tuple[MemoryScope, int, int]) -> None:
    alice, _, garden = two_users

    def found(**fields: Any) -> list[str]:
        return [
            d.page_content for d in MemoryRetriever(memory=alice, k=10, **fields).invoke("boiler pressure")
        ]

    assert len(found()) == 3  # alice's only: bob's boiler is not hers
    assert found(roles=["assistant"]) == ["Top up the boiler pressure to 1.5 bar."]
    assert found(conversation_id=garden) == ["The roses need pruning in March."]
    assert found(since=datetime.now().astimezone() + timedelta(hours=1)) == []
    assert len(found(until=datetime.now().astimezone() + timedelta(hours=1))) == 3
    text = MemoryRetriever(memory=alice, mode="text").invoke("boiler")
    assert len(text) == 2
    assert all(d.metadata["score"] is None and d.metadata["sources"] == ["text"] for d in text)
    assert MemoryRetriever(memory=alice, mode="vector", k=1).invoke("boiler")[0].metadata["sources"] == [
        "vector"
    ]
    assert MemoryRetriever(memory=alice, mode="text").invoke("volcano") == []
    with pytest.raises(ValidationError):
        MemoryRetriever(memory=alice, k=0).invoke("boiler")
    with pytest.raises(pydantic.ValidationError):
        MemoryRetriever(memory="alice")  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_retriever_async(async_memory_manager: AsyncMemoryManager) -> None:
    alice = async_memory_manager.scoped("alice")
    chat = await alice.create_conversation("Boiler")
    await alice.add_messages(
        chat.id,
        [
            {"role": "user", "content": "The boiler pressure dropped."},
            {"role": "assistant", "content": "Top it up."},
        ],
    )
    await async_memory_manager.scoped("bob").create_conversation(
        "Bob", messages=[{"role": "user", "content": "boiler"}]
    )
    retriever = MemoryRetriever(memory=alice, k=5, roles=["user"])
    documents = await retriever.ainvoke("boiler pressure")
    assert [(d.page_content, d.metadata["conversation_title"]) for d in documents] == [
        ("The boiler pressure dropped.", "Boiler")
    ]
    assert retriever.invoke("boiler pressure") == documents  # sync, on the async scope's sync side


def test_retriever_in_an_lcel_chain(two_users: tuple[MemoryScope, int, int]) -> None:
    alice, _, _ = two_users
    retriever = MemoryRetriever(memory=alice, k=2, roles=["assistant", "user"])

    def context(documents: list[Document]) -> str:
        return "\n".join(f"[{d.metadata['conversation_title']}] {d.page_content}" for d in documents)

    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from these notes:\n{context}"), ("human", "{question}")]
    )
    seen: list[dict[str, str]] = []
    model = GenericFakeChatModel(messages=iter([AIMessage("Top it up to 1.5 bar.")]))
    chain = (
        {"context": retriever | context, "question": RunnablePassthrough()}
        | RunnableLambda(lambda value: seen.append(value) or value)
        | prompt
        | model
        | StrOutputParser()
    )
    assert chain.invoke("boiler pressure") == "Top it up to 1.5 bar."
    assert seen[0]["question"] == "boiler pressure"
    assert "[Boiler] The boiler pressure dropped to 0.8 bar." in seen[0]["context"]
    assert "Bob" not in seen[0]["context"]


def test_import_memory_imports_neither_the_adapter_nor_langchain() -> None:
    code = (
        "import sys, memory, memory.aio\n"
        "assert 'langchain_core' not in sys.modules and 'memory.integrations.langchain' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
