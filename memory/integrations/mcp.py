"""The store as an MCP server: tools that let a model search, recall, read and add to its memory.

    server = memory_server(mm.scoped("alice"))       # a manager or a scope, sync or async
    await server.run_stdio_async()

`memory mcp` runs it on stdio. Every tool is a few lines over the facade's awaitable twins (see
`memory.aio`), so the event loop never waits for the model or the database; results are compact
JSON. A `MemoryStoreError` (a bad argument, an unknown id) becomes a tool error carrying its
message, so the model can read it and try again; anything else is the SDK's: a tool error that says
only that the tool failed, with the traceback logged on stderr. The server keeps serving either way.

Needs the MCP SDK (`pip install 'memory[mcp]'`); `import memory` does not import this module.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Final

import anyio
import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from memory import validation
from memory.aio import AsyncMemoryScope, as_async
from memory.errors import MemoryStoreError
from memory.facade import MemoryFacade
from memory.models import ROLES, Message
from memory.recall import SCOPES
from memory.search import SEARCH_MODES, SearchHit

__all__ = ["TOOLS", "memory_server", "serve_stdio"]

#: The tools every server has; `forget` is added only with `allow_forget=True`.
TOOLS: Final = ("search_memory", "recall_context", "remember", "list_conversations", "get_conversation")

_INSTRUCTIONS: Final = (
    "Long-term memory of past conversations. Before answering, search_memory (or recall_context "
    "for a conversation you are continuing) when earlier conversations may hold facts, preferences "
    "or decisions that matter; remember what is worth keeping. Conversation ids come from "
    "list_conversations, search hits and remember."
)

_log = logging.getLogger(__name__)

# -- argument types: the schema tells the model the limits; the core checks them, with its messages ----


def _limits(**schema: Any) -> dict[str, Any]:
    """Extra JSON schema keys: shown to the model, not enforced by pydantic, so a value out of
    range reaches the core and comes back with the core's own message."""
    return schema


_ConversationId = Annotated[
    int, Field(description="A conversation's id (from list_conversations, a search hit or remember).")
]
_Role = Annotated[str, Field(json_schema_extra=_limits(enum=list(ROLES)))]
_When = Annotated[
    str | None,
    Field(
        description="ISO 8601 date or date-time, e.g. 2026-01-31 or 2026-01-31T14:00:00+01:00 (no zone: UTC)."
    ),
]
_MESSAGE_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "role": {"type": "string", "enum": list(ROLES), "description": "Who said it."},
        "content": {"type": "string", "description": "The message's text."},
        "metadata": {"type": "object", "description": "Optional JSON object kept with the message."},
    },
    "required": ["role", "content"],
    "additionalProperties": False,
}


def memory_server(
    memory: MemoryFacade | AsyncMemoryScope, *, allow_forget: bool = False, name: str = "memory"
) -> MCPServer:
    """An MCP server over `memory` (a manager or a scope: it sees what that one sees). With
    `allow_forget`, it also has the `forget` tool. Closing `memory` stays with its owner."""
    store = as_async(memory)
    server: MCPServer = MCPServer(name, instructions=_INSTRUCTIONS)
    reads = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    async def search_memory(
        query: Annotated[
            str, Field(description="What to look for: a question, a topic or key words, in plain language.")
        ],
        k: Annotated[
            int,
            Field(
                description=f"How many messages to return, 1 to {validation.MAX_K}.",
                json_schema_extra=_limits(minimum=1, maximum=validation.MAX_K),
            ),
        ] = 10,
        mode: Annotated[
            str,
            Field(
                description="hybrid: by meaning and words together (best in general); vector: by "
                "meaning only; text: by the words themselves (names, numbers, rare terms; fastest).",
                json_schema_extra=_limits(enum=list(SEARCH_MODES)),
            ),
        ] = "hybrid",
        conversation_id: Annotated[int | None, Field(description="Only search this conversation.")] = None,
        roles: Annotated[
            list[_Role] | None,
            Field(description='Only messages with these roles, e.g. ["user"] for what the user said.'),
        ] = None,
        since: Annotated[_When, Field(description="Only messages from this time on (inclusive).")] = None,
        until: Annotated[_When, Field(description="Only messages before this time (exclusive).")] = None,
    ) -> str:
        """Search the stored conversations for the messages that best match a query, best first.
        Returns {"hits": [{message_id, conversation_id, conversation_title, role, created_at,
        found_by, cosine, words, content}]}: found_by says what matched ("vector": the meaning,
        "text": the words), cosine is closeness in meaning (1 = the same; null when not computed),
        words the full-text relevance (higher is better). Read more around a hit with
        get_conversation or recall_context."""
        with _tool_errors():
            hits = await store.search(
                query,
                k,
                mode=mode,  # type: ignore[arg-type]  # the core checks it
                conversation_id=conversation_id,
                roles=roles,
                since=_time(since, "since"),
                until=_time(until, "until"),
            )
        return _json({"hits": [_hit(hit) for hit in hits]})

    async def recall_context(
        conversation_id: _ConversationId,
        query: Annotated[
            str | None,
            Field(
                description="What the next turn is about (default: the conversation's latest user message)."
            ),
        ] = None,
        max_tokens: Annotated[
            int,
            Field(
                description="Token budget for all the messages returned; the newest are kept first.",
                json_schema_extra=_limits(minimum=0),
            ),
        ] = 2000,
        scope: Annotated[
            str,
            Field(
                description="Where the relevant messages come from: conversation (this one only) or all "
                "(every stored conversation).",
                json_schema_extra=_limits(enum=list(SCOPES)),
            ),
        ] = "conversation",
    ) -> str:
        """The context to continue a stored conversation: its latest messages plus the earlier
        messages most relevant to the query, without duplicates, in chronological order, within a
        token budget. Returns {"conversation_id", "messages": [{id, conversation_id, role,
        created_at, content}]}."""
        with _tool_errors():
            messages = await store.recall(
                conversation_id,
                query,
                max_tokens=max_tokens,
                scope=scope,  # type: ignore[arg-type]  # the core checks it
            )
        return _json({"conversation_id": conversation_id, "messages": [_message(m) for m in messages]})

    async def remember(
        messages: Annotated[
            list[dict[str, Any]],
            Field(
                description="The messages to store, in order.",
                json_schema_extra=_limits(items=_MESSAGE_SCHEMA, minItems=1),
            ),
        ],
        conversation_id: Annotated[
            int | None, Field(description="Add to this existing conversation.")
        ] = None,
        source_id: Annotated[
            str | None,
            Field(
                description="Or add to the conversation with this key of your choosing (such as the "
                "current chat's id), created the first time the key is used."
            ),
        ] = None,
        title: Annotated[
            str | None, Field(description="The title of a conversation created by this call.")
        ] = None,
    ) -> str:
        """Store messages in long-term memory, where later searches find them. With
        conversation_id they are added to that conversation; with source_id, to the conversation
        with that key (created the first time); with neither, a new conversation starts. Returns
        {"conversation_id", "added"}: give the same conversation_id (or source_id) to add to it
        later."""
        with _tool_errors():
            if conversation_id is not None and (source_id is not None or title is not None):
                raise ToolError("give conversation_id alone, or source_id (and title), not both")
            if conversation_id is None and source_id is None:
                conversation_id = (await store.create_conversation(title, messages=messages)).id
                return _json({"conversation_id": conversation_id, "added": len(messages)})
            if source_id is not None:
                # Checked first, so that bad messages do not leave a new, empty conversation behind.
                validation.draft_messages(messages, store.max_content_bytes)
                conversation_id = (await store.get_or_create_conversation(source_id, title=title)).id
            assert conversation_id is not None
            added = await store.add_messages(conversation_id, messages)
        return _json({"conversation_id": conversation_id, "added": len(added)})

    async def list_conversations(
        limit: Annotated[
            int,
            Field(description="How many to return.", json_schema_extra=_limits(minimum=1)),
        ] = 20,
        offset: Annotated[
            int,
            Field(description="How many to skip (for the next page).", json_schema_extra=_limits(minimum=0)),
        ] = 0,
    ) -> str:
        """The stored conversations, most recently updated first, with their titles and message
        counts. Returns {"conversations": [{id, title, message_count, created_at, updated_at}],
        "next_offset"}: next_offset is the offset of the next page, null after the last one."""
        with _tool_errors():
            validation.check_count(limit, "limit", minimum=1)
            conversations = await store.list_conversations(limit=limit, offset=offset)
            info = await store.conversation_info(c.id for c in conversations)
        listed = [
            {
                "id": i.id,
                "title": i.title,
                "message_count": i.message_count,
                "created_at": _when(i.created_at),
                "updated_at": _when(i.updated_at),
            }
            for i in (info[c.id] for c in conversations if c.id in info)
        ]
        more = len(conversations) == limit
        return _json({"conversations": listed, "next_offset": offset + limit if more else None})

    async def get_conversation(
        conversation_id: _ConversationId,
        last: Annotated[
            int | None,
            Field(
                description="How many of its latest messages to return; null for all of them.",
                json_schema_extra=_limits(minimum=0),
            ),
        ] = 50,
    ) -> str:
        """One stored conversation: its title, message count and latest messages, in chronological
        order. Returns {id, title, message_count, created_at, updated_at, messages: [{id, role,
        created_at, content}]}; when message_count is larger than the messages returned, ask
        with a larger `last`."""
        with _tool_errors():
            messages = await store.get_messages(conversation_id, limit=last)
            info = (await store.conversation_info([conversation_id])).get(conversation_id)
            if info is None:  # deleted between the two calls
                raise ToolError(f"no conversation with id {conversation_id}")
        return _json(
            {
                "id": info.id,
                "title": info.title,
                "message_count": info.message_count,
                "created_at": _when(info.created_at),
                "updated_at": _when(info.updated_at),
                "messages": [_message(m, conversation=False) for m in messages],
            }
        )

    async def forget(conversation_id: _ConversationId) -> str:
        """Delete a stored conversation and all its messages for good: it cannot be undone. Only
        when the user asks for that conversation to be forgotten. Returns {"conversations",
        "messages"}: how many were deleted."""
        with _tool_errors():
            report = await store.forget(conversation_id=conversation_id)
        return _json({"conversations": report.conversations, "messages": report.messages})

    for tool in (search_memory, recall_context, list_conversations, get_conversation):
        server.add_tool(tool, annotations=reads, structured_output=False)
    server.add_tool(
        remember,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False),
        structured_output=False,
    )
    if allow_forget:
        server.add_tool(
            forget,
            annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False),
            structured_output=False,
        )
    return server


async def serve_stdio(
    memory: MemoryFacade | AsyncMemoryScope,
    *,
    allow_forget: bool = False,
    warm_up: Callable[[], None] | None = None,
) -> None:
    """Serve `memory` on stdin and stdout until the client closes them. `warm_up` (a manager's)
    runs in the background: the server answers at once, and by the first search the model is
    likely loaded; if it fails, the calls that need the model report why."""
    server = memory_server(memory, allow_forget=allow_forget)
    async with anyio.create_task_group() as tasks:
        if warm_up is not None:
            tasks.start_soon(_warm_up, warm_up)
        await server.run_stdio_async()
        tasks.cancel_scope.cancel()


async def _warm_up(warm_up: Callable[[], None]) -> None:
    try:
        await anyio.to_thread.run_sync(warm_up)
    except Exception as exc:  # the calls that need it will say, as tool errors
        _log.warning("warm-up failed: %s", exc)


@contextmanager
def _tool_errors() -> Iterator[None]:
    """The store's errors (and ours) as tool errors with their message, for the model to read."""
    try:
        yield
    except MemoryStoreError as exc:
        raise ToolError(str(exc)) from exc


def _time(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ToolError(f"{what} must be an ISO 8601 date or date-time, not {value!r}") from None


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _when(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _score(value: float | None) -> float | None:
    return None if value is None or value != value else round(value, 3)  # nan: not computed


def _hit(hit: SearchHit) -> dict[str, Any]:
    message = hit.message
    return {
        "message_id": message.id,
        "conversation_id": message.conversation_id,
        "conversation_title": hit.conversation_title,
        "role": message.role,
        "created_at": _when(message.created_at),
        "found_by": sorted(hit.sources),
        "cosine": _score(hit.score),
        "words": _score(hit.text_score),
        "content": message.content,
    }


def _message(message: Message, *, conversation: bool = True) -> dict[str, Any]:
    item: dict[str, Any] = {"id": message.id}
    if conversation:
        item["conversation_id"] = message.conversation_id
    return item | {"role": message.role, "created_at": _when(message.created_at), "content": message.content}
