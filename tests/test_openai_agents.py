"""`memory.integrations.openai_agents.MemorySession`: the Agents SDK's `Session` protocol. Every item
kind round-trips exactly while search and recall find the text; pops are atomic; a clear leaves other
instances working; users are kept apart; and `Runner.run` with a scripted model over several turns
gives the model the session's history, which a new manager on the same store continues."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agents import Agent, Model, ModelResponse, ModelSettings, RunConfig, Runner, Usage, function_tool
from agents.agent_output import AgentOutputSchemaBase
from agents.handoffs import Handoff
from agents.items import TResponseInputItem, TResponseOutputItem, TResponseStreamEvent
from agents.memory import Session, SessionSettings
from agents.models.interface import ModelTracing
from agents.tool import Tool
from openai.types.responses import (
    EasyInputMessageParam,
    ResponseComputerToolCallParam,
    ResponseCustomToolCallOutputParam,
    ResponseCustomToolCallParam,
    ResponseFunctionToolCall,
    ResponseFunctionToolCallParam,
    ResponseFunctionWebSearchParam,
    ResponseOutputMessage,
    ResponseOutputMessageParam,
    ResponseOutputText,
    ResponseReasoningItemParam,
)
from openai.types.responses.response_input_item_param import (
    ComputerCallOutput,
    FunctionCallOutput,
    ItemReference,
    McpCall,
    Message,
)
from openai.types.responses.response_prompt_param import ResponsePromptParam

from memory import FakeEmbedder, MemoryManager, ValidationError
from memory.aio import AsyncMemoryManager
from memory.facade import MemoryFacade
from memory.integrations.openai_agents import ITEM_KEY, SOURCE_PREFIX, MemorySession

pytestmark = pytest.mark.both_backends

_PIXEL = (
    "data:image/png;base64,"
    + "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
)


def _every_kind() -> list[tuple[TResponseInputItem, str, str]]:
    """One item of each kind, typed as the SDK types them, with the role and content it is stored as."""
    return [
        (
            EasyInputMessageParam(role="user", content="Book the TGV from Lyon to Turin"),
            "user",
            "Book the TGV from Lyon to Turin",
        ),
        (
            EasyInputMessageParam(role="developer", content="Answer briefly.", type="message"),
            "developer",
            "Answer briefly.",
        ),
        (EasyInputMessageParam(role="system", content="You plan trips."), "system", "You plan trips."),
        (
            Message(
                type="message",
                role="user",
                content=[
                    {"type": "input_text", "text": "Which station is this?"},
                    {"type": "input_image", "image_url": _PIXEL, "detail": "auto"},
                    {"type": "input_text", "text": "Über-quick please ✓"},
                ],
            ),
            "user",
            "Which station is this?\nÜber-quick please ✓",
        ),
        (
            ResponseOutputMessageParam(
                id="msg_1",
                type="message",
                role="assistant",
                status="completed",
                content=[
                    {"type": "output_text", "text": "That is Porta Susa.", "annotations": []},
                    {
                        "type": "output_text",
                        "text": "Trains leave at 7:04.",
                        "annotations": [
                            {
                                "type": "url_citation",
                                "url": "https://example.org",
                                "title": "SNCF",
                                "start_index": 0,
                                "end_index": 5,
                            }
                        ],
                        "logprobs": [
                            {"token": "Tr", "logprob": -0.25, "bytes": [84, 114], "top_logprobs": []}
                        ],
                    },
                    {"type": "refusal", "refusal": "I cannot buy the ticket."},
                ],
            ),
            "assistant",
            "That is Porta Susa.\nTrains leave at 7:04.\nI cannot buy the ticket.",
        ),
        (
            ResponseFunctionToolCallParam(
                type="function_call",
                id="fc_1",
                call_id="call_1",
                name="timetable",
                arguments='{"from": "Lyon", "to": "Turin"}',
                status="completed",
            ),
            "tool",
            'timetable({"from": "Lyon", "to": "Turin"})',
        ),
        (
            FunctionCallOutput(
                type="function_call_output", call_id="call_1", output="TGV 9241 departs 07:04, arrives 10:58"
            ),
            "tool",
            "TGV 9241 departs 07:04, arrives 10:58",
        ),
        (
            FunctionCallOutput(
                type="function_call_output",
                call_id="call_2",
                output=[
                    {"type": "input_text", "text": "Seat map:"},
                    {"type": "input_image", "image_url": _PIXEL},
                ],
            ),
            "tool",
            "Seat map:",
        ),
        (
            ResponseReasoningItemParam(
                type="reasoning",
                id="rs_1",
                summary=[{"type": "summary_text", "text": "The morning train fits the plan."}],
                encrypted_content="gAAAAB-opaque==",
            ),
            "tool",
            "The morning train fits the plan.",
        ),
        (ResponseReasoningItemParam(type="reasoning", id="rs_2", summary=[]), "tool", "reasoning"),
        (
            ResponseComputerToolCallParam(
                type="computer_call",
                id="cu_1",
                call_id="call_3",
                status="completed",
                pending_safety_checks=[],
                action={"type": "click", "button": "left", "x": 10, "y": 20},
            ),
            "tool",
            "computer_call",
        ),
        (
            ComputerCallOutput(
                type="computer_call_output",
                call_id="call_3",
                output={"type": "computer_screenshot", "image_url": _PIXEL},
            ),
            "tool",
            "computer_call_output",
        ),
        (
            ResponseFunctionWebSearchParam(
                type="web_search_call",
                id="ws_1",
                status="completed",
                action={"type": "search", "query": "Frecciarossa Turin Milan"},
            ),
            "tool",
            "Frecciarossa Turin Milan",
        ),
        (
            ResponseCustomToolCallParam(
                type="custom_tool_call", call_id="call_4", name="shell", input="grep -c Turin log.txt"
            ),
            "tool",
            "shell(grep -c Turin log.txt)",
        ),
        (
            ResponseCustomToolCallOutputParam(type="custom_tool_call_output", call_id="call_4", output="3"),
            "tool",
            "3",
        ),
        (
            McpCall(
                type="mcp_call",
                id="mcp_1",
                server_label="rail",
                name="fares",
                arguments='{"class": 2}',
                output="39 EUR",
                error=None,
            ),
            "tool",
            'rail.fares({"class": 2})\n39 EUR',
        ),
        (ItemReference(type="item_reference", id="msg_0"), "tool", "item_reference"),
    ]


def _stored(manager: MemoryFacade, session: MemorySession) -> list[tuple[str, str]]:
    conversation = manager.find_conversation(session.source_id)
    assert conversation is not None
    return [(message.role, message.content) for message in manager.get_messages(conversation.id)]


def test_import_memory_leaves_the_sdk_alone() -> None:
    code = "import sys, memory; print(sorted(m for m in sys.modules if m == 'agents' or 'integrations' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.asyncio
async def test_it_is_an_sdk_session(memory_manager: MemoryManager) -> None:
    session = MemorySession(memory_manager, "chat-1", session_settings={"limit": 2})
    assert isinstance(session, Session)
    assert session.session_id == "chat-1" and session.source_id == SOURCE_PREFIX + "chat-1"
    assert session.session_settings == SessionSettings(limit=2)
    assert MemorySession(memory_manager, "chat-1").session_settings == SessionSettings()
    assert await session.get_items() == [] and await session.pop_item() is None
    await session.clear_session()
    await session.add_items([])
    assert memory_manager.find_conversation(session.source_id) is None  # nothing written, nothing made

    items: list[TResponseInputItem] = [{"role": "user", "content": f"turn {n}"} for n in range(3)]
    await session.add_items(items)
    assert await session.get_items() == items[-2:]  # the settings' limit
    assert await session.get_items(limit=1) == items[-1:]
    assert await session.get_items(limit=0) == []
    with pytest.raises(ValidationError):
        MemorySession(memory_manager, 42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        await session.add_items(["not an item"])  # type: ignore[list-item]


@pytest.mark.asyncio
async def test_every_item_kind_round_trips_exactly(
    memory_manager: MemoryManager, memory_url: str, fake_embedder: FakeEmbedder
) -> None:
    kinds = _every_kind()
    items = [item for item, _, _ in kinds]
    session = MemorySession(memory_manager, "trip")
    await session.add_items(items[:5])
    await session.add_items(items[5:])

    assert await session.get_items() == items
    assert await session.get_items(limit=4) == items[-4:]
    assert _stored(memory_manager, session) == [(role, content) for _, role, content in kinds]
    conversation = memory_manager.find_conversation(session.source_id)
    assert conversation is not None
    assert [m.meta for m in memory_manager.get_messages(conversation.id)] == [
        {ITEM_KEY: item} for item in items
    ]
    # a new instance (and a new manager) reads the same items
    with MemoryManager(memory_url, embedder=fake_embedder) as again:
        assert await MemorySession(again, "trip").get_items() == items
    assert await session.pop_item() == items[-1]
    assert await session.get_items() == items[:-1]


@pytest.mark.asyncio
async def test_messages_memory_added_itself_come_back_as_role_and_text(memory_manager: MemoryManager) -> None:
    session = MemorySession(memory_manager, "mixed")
    await session.add_items([{"role": "user", "content": "hello"}])
    conversation = memory_manager.find_conversation(session.source_id)
    assert conversation is not None
    memory_manager.add_messages(
        conversation.id, [{"role": "assistant", "content": "hi"}, {"role": "tool", "content": "42 degrees"}]
    )
    assert await session.get_items() == [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi"},
        {"role": "assistant", "content": "42 degrees"},
    ]


@pytest.mark.asyncio
async def test_search_and_recall_find_the_text(memory_manager: MemoryManager) -> None:
    session = MemorySession(memory_manager, "trip", user_id="alice")
    await session.add_items([item for item, _, _ in _every_kind()])
    alice = memory_manager.scoped("alice")

    hits = alice.search("TGV Lyon Turin", k=3, mode="text", roles=["user"])
    assert hits[0].message.content == "Book the TGV from Lyon to Turin"
    hits = alice.search("Porta Susa", k=3, mode="text")
    assert hits[0].message.role == "assistant" and hits[0].message.content.startswith("That is Porta Susa.")
    hits = alice.search("departs arrives", k=3, mode="text")  # what a tool returned
    assert hits[0].message.meta[ITEM_KEY]["type"] == "function_call_output"
    assert len(alice.search("Porta Susa", k=3)) == 3  # hybrid, through the async view too
    assert (await session.memory.search("Porta Susa", k=1, mode="text"))[0].message.role == "assistant"
    assert memory_manager.scoped("bob").search("Porta Susa", mode="text") == []

    conversation = alice.find_conversation(session.source_id)
    assert conversation is not None
    context = alice.recall(conversation.id, "Book the TGV", recent=2, k=3)
    assert "Book the TGV from Lyon to Turin" in [m.content for m in context]


@pytest.mark.asyncio
async def test_concurrent_pops_never_return_the_same_item(
    memory_manager: MemoryManager, memory_url: str, fake_embedder: FakeEmbedder
) -> None:
    items: list[TResponseInputItem] = [{"role": "user", "content": f"item {n}"} for n in range(10)]
    first = MemorySession(memory_manager, "race")
    await first.add_items(items)
    with MemoryManager(memory_url, embedder=fake_embedder) as other:
        sessions = [first, MemorySession(memory_manager, "race"), MemorySession(other, "race")]
        popped = await asyncio.gather(*(sessions[n % 3].pop_item() for n in range(20)))
    got = [item for item in popped if item is not None]
    assert len(got) == 10 and popped.count(None) == 10
    assert sorted(json.dumps(item) for item in got) == sorted(json.dumps(item) for item in items)
    assert await first.get_items() == []


@pytest.mark.asyncio
async def test_clear_session_leaves_other_instances_working(memory_manager: MemoryManager) -> None:
    one, two = MemorySession(memory_manager, "shared"), MemorySession(memory_manager, "shared")
    await one.add_items([{"role": "user", "content": "first"}])
    assert await two.get_items() == [{"role": "user", "content": "first"}]  # two knows the conversation
    conversation = memory_manager.find_conversation(one.source_id)
    assert conversation is not None

    await one.clear_session()
    assert await two.get_items() == [] and await two.pop_item() is None
    await two.add_items([{"role": "user", "content": "second"}])
    assert await one.get_items() == [{"role": "user", "content": "second"}]
    assert memory_manager.get_conversation(conversation.id).source_id == one.source_id  # the same one

    # even a conversation deleted under it (forget, delete_conversation) is found or made again
    memory_manager.delete_conversation(conversation.id)
    assert await two.get_items() == []
    await two.add_items([{"role": "user", "content": "third"}])
    assert await one.get_items() == [{"role": "user", "content": "third"}]


@pytest.mark.asyncio
async def test_each_user_has_their_own_sessions(
    memory_manager: MemoryManager, async_memory_manager: AsyncMemoryManager
) -> None:
    alice = MemorySession(memory_manager, "chat", user_id="alice")
    bob = MemorySession(memory_manager, "chat", user_id="bob")
    shared = MemorySession(memory_manager, "chat")
    await alice.add_items([{"role": "user", "content": "alice's"}])
    await bob.add_items([{"role": "user", "content": "bob's"}])
    assert await shared.get_items() == []
    assert await bob.get_items() == [{"role": "user", "content": "bob's"}]
    await bob.clear_session()
    assert await alice.get_items() == [{"role": "user", "content": "alice's"}]

    # the user's scope, sync or async, is the same session as the manager with user_id
    same = [
        MemorySession(memory_manager.scoped("alice"), "chat"),
        MemorySession(memory_manager.scoped("alice"), "chat", user_id="alice"),
        MemorySession(async_memory_manager.scoped("alice"), "chat"),
        MemorySession(async_memory_manager, "chat", user_id="alice"),
    ]
    for session in same:
        assert await session.get_items() == [{"role": "user", "content": "alice's"}]
    with pytest.raises(ValidationError, match="scope of user 'alice'"):
        MemorySession(memory_manager.scoped("alice"), "chat", user_id="bob")
    with pytest.raises(TypeError):
        MemorySession(object(), "chat")  # type: ignore[arg-type]
    bobs = memory_manager.scoped("bob").list_conversations()
    assert [c.source_id for c in bobs] == ["openai-agents:chat"] and memory_manager.scoped("bob").stats()[
        "messages"
    ] == 0


# -- Runner.run with a scripted model -----------------------------------------------------------------


class _ScriptedModel(Model):
    """The SDK's `Model`, answering from a script and keeping (a copy of) the input of every call."""

    def __init__(self, script: list[list[TResponseOutputItem]]) -> None:
        self.script = iter(script)
        self.inputs: list[list[dict[str, Any]]] = []

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> ModelResponse:
        assert system_instructions == "You plan rail trips." and [tool.name for tool in tools] == ["weather"]
        items = [{"role": "user", "content": input}] if isinstance(input, str) else input
        self.inputs.append(json.loads(json.dumps(items)))
        return ModelResponse(output=next(self.script), usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[TResponseStreamEvent]:
        raise NotImplementedError("the test runs Runner.run only")


def _says(n: int, text: str) -> list[TResponseOutputItem]:
    part = ResponseOutputText(type="output_text", text=text, annotations=[])
    return [
        ResponseOutputMessage(
            id=f"msg_{n}", type="message", role="assistant", status="completed", content=[part]
        )
    ]


def _calls(n: int, city: str) -> list[TResponseOutputItem]:
    arguments = json.dumps({"city": city})
    return [
        ResponseFunctionToolCall(
            id=f"fc_{n}", type="function_call", call_id=f"call_{n}", name="weather", arguments=arguments
        )
    ]


def _user(text: str) -> dict[str, Any]:
    return {"content": text, "role": "user"}


def _said(n: int, text: str) -> dict[str, Any]:
    part = {"annotations": [], "text": text, "type": "output_text"}
    return {
        "id": f"msg_{n}",
        "content": [part],
        "role": "assistant",
        "status": "completed",
        "type": "message",
    }


def _called(n: int, city: str) -> list[dict[str, Any]]:
    call = {
        "arguments": json.dumps({"city": city}),
        "call_id": f"call_{n}",
        "name": "weather",
        "type": "function_call",
        "id": f"fc_{n}",
    }
    return [call, {"call_id": f"call_{n}", "output": f"Sunny in {city}", "type": "function_call_output"}]


@function_tool
def weather(city: str) -> str:
    """Today's weather in a city."""
    return f"Sunny in {city}"


def _agent(model: Model) -> Agent[None]:
    return Agent(name="planner", instructions="You plan rail trips.", model=model, tools=[weather])


_NO_TRACING = RunConfig(tracing_disabled=True)


@pytest.mark.asyncio
async def test_runner_turns_give_the_model_the_session_history(
    memory_url: str, fake_embedder: FakeEmbedder
) -> None:
    model = _ScriptedModel(
        [
            _calls(1, "Lyon"),
            _says(2, "Sunny in Lyon."),
            _calls(3, "Turin"),
            _says(4, "Sunny in Turin too."),
            _says(5, "Take the 7:04."),
        ]
    )
    with MemoryManager(memory_url, embedder=fake_embedder) as manager:
        session = MemorySession(manager, "chat-42", user_id="alice")
        turns = ["Weather in Lyon?", "And in Turin?", "Which train then?"]
        answers = [
            (await Runner.run(_agent(model), text, session=session, run_config=_NO_TRACING)).final_output
            for text in turns
        ]
        assert answers == ["Sunny in Lyon.", "Sunny in Turin too.", "Take the 7:04."]

    turn_1 = [_user("Weather in Lyon?")]
    turn_2 = [*turn_1, *_called(1, "Lyon"), _said(2, "Sunny in Lyon."), _user("And in Turin?")]
    turn_3 = [*turn_2, *_called(3, "Turin"), _said(4, "Sunny in Turin too."), _user("Which train then?")]
    assert model.inputs == [
        turn_1,
        [*turn_1, *_called(1, "Lyon")],
        turn_2,
        [*turn_2, *_called(3, "Turin")],
        turn_3,
    ]
    history = [*turn_3, _said(5, "Take the 7:04.")]

    # a new process: a new manager on the same store continues the conversation
    model = _ScriptedModel([_says(6, "You're welcome.")])
    with MemoryManager(memory_url, embedder=fake_embedder) as manager:
        session = MemorySession(manager, "chat-42", user_id="alice")
        assert await session.get_items() == history
        result = await Runner.run(_agent(model), "Thanks!", session=session, run_config=_NO_TRACING)
        assert result.final_output == "You're welcome."
        assert model.inputs == [[*history, _user("Thanks!")]]
        assert await session.get_items() == [*history, _user("Thanks!"), _said(6, "You're welcome.")]
        assert await MemorySession(manager, "chat-42", user_id="bob").get_items() == []
        alice = manager.scoped("alice")
        assert [hit.message.content for hit in alice.search("Which train", k=1, mode="text")] == [
            "Which train then?"
        ]
        assert _stored(alice, session)[:4] == [
            ("user", "Weather in Lyon?"),
            ("tool", 'weather({"city": "Lyon"})'),
            ("tool", "Sunny in Lyon"),
            ("assistant", "Sunny in Lyon."),
        ]
