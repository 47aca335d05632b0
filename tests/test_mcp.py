"""`memory mcp` end to end: the server runs as a subprocess (`python -m memory ... mcp`, the fake
model) and the MCP SDK's own stdio client drives it, as an assistant's client would."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import anyio
import pytest
from mcp import Client, ClientSession, StdioServerParameters, stdio_client

from memory import MemoryManager
from memory.aio import as_async
from memory.integrations.mcp import TOOLS, memory_server
from memory.models import ROLES

pytestmark = pytest.mark.anyio

BOILER = [
    {"role": "user", "content": "Our boiler is a Vaillant ecoTEC; the pressure keeps dropping."},
    {"role": "assistant", "content": "Top it up to 1.5 bar at the filling loop, then watch for leaks."},
]
TRAIN = [{"role": "user", "content": "Which train goes from Lyon to Turin?"}]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the SDK's stdio client spawns the server with asyncio's subprocesses


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "memory.db"


@asynccontextmanager
async def serving(db: Path, *options: str, errlog: IO[str] = sys.stderr) -> AsyncIterator[ClientSession]:
    """A client session with `memory mcp` on `db`; the server stops when the session ends."""
    command = ["-m", "memory", "--db", str(db), "--model", "fake:64", "mcp", *options]
    server = StdioServerParameters(command=sys.executable, args=command, cwd=db.parent)
    with anyio.fail_after(60):
        async with (
            stdio_client(server, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> Any:
    """The tool's result, parsed: one text block of JSON."""
    result = await session.call_tool(tool, arguments)
    (block,) = result.content
    assert not result.is_error, block.text
    return json.loads(block.text)


async def refused(session: ClientSession, tool: str, **arguments: Any) -> str:
    """The message of the tool error the call gets."""
    result = await session.call_tool(tool, arguments)
    (block,) = result.content
    assert result.is_error, block.text
    return str(block.text)


async def test_the_tools_and_their_schemas_speak_to_a_model(db: Path) -> None:
    async with serving(db) as session:
        listed = await session.list_tools()
    tools = {tool.name: tool for tool in listed.tools}
    assert sorted(tools) == sorted(TOOLS)  # no forget without --allow-forget
    for tool in tools.values():
        assert len(tool.description or "") > 80, tool.name
        schema = tool.input_schema
        assert schema["type"] == "object"
        for name, field in schema["properties"].items():
            assert field.get("description"), f"{tool.name}.{name}"
    search = tools["search_memory"].input_schema["properties"]
    assert search["k"]["minimum"] == 1 and search["k"]["maximum"] == 4096
    assert search["mode"]["enum"] == ["vector", "text", "hybrid"]
    assert search["roles"]["anyOf"][0]["items"]["enum"] == list(ROLES)
    assert tools["search_memory"].input_schema["required"] == ["query"]
    item = tools["remember"].input_schema["properties"]["messages"]["items"]
    assert item["required"] == ["role", "content"] and not item["additionalProperties"]
    assert (
        tools["search_memory"].annotations is not None and tools["search_memory"].annotations.read_only_hint
    )
    assert tools["remember"].annotations is not None and not tools["remember"].annotations.read_only_hint


async def test_every_tool_on_a_new_store(db: Path, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with log.open("w") as errlog:
        async with serving(db, "--allow-forget", errlog=errlog) as session:
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            assert tools["forget"].annotations is not None and tools["forget"].annotations.destructive_hint

            home = await call(session, "remember", messages=BOILER, title="Home")
            assert home == {"conversation_id": 1, "added": 2}
            first = await call(session, "remember", messages=TRAIN, source_id="chat-7", title="Trip")
            again = await call(
                session,
                "remember",
                messages=[{"role": "assistant", "content": "The TGV, twice a day."}],
                source_id="chat-7",
            )
            assert first["conversation_id"] == again["conversation_id"] == 2
            more = [{"role": "user", "content": "It is at 0.8 bar again.", "metadata": {"via": "phone"}}]
            assert await call(session, "remember", messages=more, conversation_id=1) == {
                "conversation_id": 1,
                "added": 1,
            }

            found = await call(session, "search_memory", query="boiler pressure", k=3)
            best = found["hits"][0]
            assert best["conversation_id"] == 1 and best["conversation_title"] == "Home"
            assert "boiler" in best["content"] and "text" in best["found_by"]
            assert set(best) == {
                "message_id", "conversation_id", "conversation_title", "role", "created_at",
                "found_by", "cosine", "words", "content",
            }  # fmt: skip
            by_words = await call(session, "search_memory", query="Turin", mode="text", roles=["user"])
            assert [hit["content"] for hit in by_words["hits"]] == [TRAIN[0]["content"]]
            assert by_words["hits"][0]["cosine"] is None  # a search by words runs no model
            only_home = await call(session, "search_memory", query="train", conversation_id=1, mode="vector")
            assert {hit["conversation_id"] for hit in only_home["hits"]} == {1}
            future = await call(session, "search_memory", query="boiler", since="2999-01-01")
            assert future == {"hits": []}
            past = await call(session, "search_memory", query="boiler", until="2000-01-01T00:00:00Z")
            assert past == {"hits": []}

            page = await call(session, "list_conversations", limit=1)
            assert [c["id"] for c in page["conversations"]] == [1]  # most recently updated first
            assert page["conversations"][0]["message_count"] == 3 and page["next_offset"] == 1
            rest = await call(session, "list_conversations", limit=5, offset=1)
            assert [(c["id"], c["title"]) for c in rest["conversations"]] == [(2, "Trip")]
            assert rest["next_offset"] is None

            whole = await call(session, "get_conversation", conversation_id=1)
            assert whole["title"] == "Home" and whole["message_count"] == 3
            assert [m["content"] for m in whole["messages"]] == [
                *(m["content"] for m in BOILER),
                more[0]["content"],
            ]
            latest = await call(session, "get_conversation", conversation_id=1, last=1)
            assert [m["content"] for m in latest["messages"]] == [more[0]["content"]]
            assert latest["message_count"] == 3

            context = await call(session, "recall_context", conversation_id=2, query="trains", max_tokens=500)
            assert context["conversation_id"] == 2
            assert [m["role"] for m in context["messages"]] == ["user", "assistant"]
            everywhere = await call(session, "recall_context", conversation_id=2, query="boiler", scope="all")
            assert {m["conversation_id"] for m in everywhere["messages"]} == {1, 2}
            tight = await call(session, "recall_context", conversation_id=1, max_tokens=0)
            assert tight["messages"] == []

            assert await call(session, "forget", conversation_id=2) == {"conversations": 1, "messages": 2}
            assert "no conversation with id 2" in await refused(
                session, "get_conversation", conversation_id=2
            )
            assert [c["id"] for c in (await call(session, "list_conversations"))["conversations"]] == [1]
    assert f"created a new store at {db}" in log.read_text()  # a client keeps the server's stderr


async def test_bad_calls_are_tool_errors_and_the_server_keeps_serving(db: Path) -> None:
    async with serving(db) as session:
        await call(session, "remember", messages=BOILER, title="Home")
        bad_calls: list[tuple[str, dict[str, Any], str]] = [
            ("get_conversation", {"conversation_id": 99}, "no conversation with id 99"),
            ("recall_context", {"conversation_id": 99}, "no conversation with id 99"),
            ("remember", {"conversation_id": 99, "messages": TRAIN}, "no conversation with id 99"),
            ("search_memory", {"query": "boiler", "k": 0}, "k must be an int from 1 to 4096, not 0"),
            ("search_memory", {"query": "boiler", "mode": "fuzzy"}, "mode must be one of"),
            ("search_memory", {"query": "boiler", "roles": ["robot"]}, "role must be one of"),
            ("search_memory", {"query": "boiler", "since": "last week"}, "since must be an ISO 8601"),
            ("search_memory", {"query": "boiler", "k": "many"}, "k"),
            ("remember", {"messages": [{"role": "robot", "content": "beep"}]}, "message 0: role must be"),
            ("remember", {"messages": [{"role": "user"}]}, "'role' and 'content' are required"),
            ("remember", {"messages": []}, "messages is empty"),
            ("remember", {"messages": TRAIN, "conversation_id": 1, "source_id": "x"}, "not both"),
            ("recall_context", {"conversation_id": 1, "scope": "galaxy"}, "scope must be one of"),
            ("recall_context", {"conversation_id": 1, "max_tokens": -1}, "max_tokens must be at least 0"),
            ("list_conversations", {"limit": 0}, "limit must be at least 1"),
            ("list_conversations", {"offset": -1}, "offset must be at least 0"),
            ("forget", {"conversation_id": 1}, "forget"),  # not offered without --allow-forget
        ]
        for tool, arguments, message in bad_calls:
            assert message in await refused(session, tool, **arguments), (tool, arguments)
            assert (await call(session, "list_conversations"))["conversations"][0]["id"] == 1
        # A rejected message left no conversation behind, even one asked for by source id.
        assert "role must be" in await refused(
            session, "remember", source_id="new", messages=[{"role": "robot", "content": "beep"}]
        )
        listed = await call(session, "list_conversations")
        assert [(c["id"], c["message_count"]) for c in listed["conversations"]] == [(1, 2)]


async def test_a_restarted_server_sees_what_was_remembered(db: Path) -> None:
    async with serving(db) as session:
        stored = await call(session, "remember", messages=BOILER, source_id="home", title="Home")
    async with serving(db) as session:
        hits = (await call(session, "search_memory", query="Vaillant", mode="text"))["hits"]
        assert [hit["conversation_id"] for hit in hits] == [stored["conversation_id"]]
        again = await call(session, "remember", messages=TRAIN, source_id="home")
        assert again["conversation_id"] == stored["conversation_id"]
        assert (await call(session, "get_conversation", conversation_id=again["conversation_id"]))[
            "message_count"
        ] == 3


async def test_a_user_server_sees_and_makes_only_that_users_memory(db: Path) -> None:
    async with serving(db, "--user", "alice") as alice:
        mine = await call(alice, "remember", messages=BOILER, title="Alice's boiler")
        missing = f"no conversation with id {mine['conversation_id']}"
        async with serving(db, "--user", "bob", "--allow-forget") as bob:  # both serve at once
            assert (await call(bob, "list_conversations"))["conversations"] == []
            assert (await call(bob, "search_memory", query="boiler"))["hits"] == []
            assert missing in await refused(bob, "get_conversation", conversation_id=mine["conversation_id"])
            assert missing in await refused(bob, "forget", conversation_id=mine["conversation_id"])
            assert missing in await refused(
                bob, "remember", conversation_id=mine["conversation_id"], messages=TRAIN
            )
            await call(bob, "remember", messages=TRAIN, source_id="trip")
        found = (await call(alice, "search_memory", query="train"))["hits"]
        assert sorted(hit["content"] for hit in found) == sorted(m["content"] for m in BOILER)  # not bob's
    async with serving(db) as everyone:  # without --user: the whole store
        listed = (await call(everyone, "list_conversations"))["conversations"]
        assert sorted(c["message_count"] for c in listed) == [1, 2]


async def test_an_unexpected_failure_is_a_tool_error_too(memory_manager: MemoryManager) -> None:
    memory = as_async(memory_manager)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the disk is on fire")

    memory.search = broken  # type: ignore[method-assign]
    async with Client(memory_server(memory)) as client:  # in process: no subprocess needed here
        result = await client.call_tool("search_memory", {"query": "boiler"})
        assert result.is_error and [block.text for block in result.content] == [  # type: ignore[union-attr]
            "Error executing tool search_memory"  # the SDK keeps a crash's details in the server's log
        ]
        assert not (await client.call_tool("list_conversations", {})).is_error


def test_import_memory_does_not_import_the_sdk() -> None:
    probe = "import sys, memory, memory.cli; print(sorted({m.split('.')[0] for m in sys.modules} & {'mcp'}))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr


def test_without_the_sdk_the_command_names_the_extra(db: Path) -> None:
    probe = (
        "import sys; sys.modules['mcp'] = None; from memory.cli import main; "
        f"sys.exit(main(['--db', {str(db)!r}, '--model', 'fake:64', 'mcp']))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "pip install 'memory[mcp]'" in result.stderr
    assert not db.exists()  # it stopped before making a store
