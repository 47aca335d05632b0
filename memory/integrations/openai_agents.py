"""The OpenAI Agents SDK's `Session` protocol on memory: an agent's history is a conversation that
search and recall find.

    session = MemorySession(manager, "chat-42", user_id="alice")
    result = await Runner.run(agent, "Which train goes to Turin?", session=session)

A session is the conversation with source id `"openai-agents:" + session_id` of its owner (the
manager's, or the user's scope): one message per item, in order. Each item is kept in the message's
metadata (`ITEM_KEY`) and comes back exactly as added. Role and content are for search and recall:

- user and assistant messages: their role, and their text (text parts joined by newlines);
- system and developer messages: their role ("system", "developer") and their text;
- every other item (tool calls and outputs, reasoning, ...): "tool", with a short rendering: the
  call's `name(arguments)`, the output's text, the reasoning's summary, else the item's type.

Messages added to the conversation through memory itself come back as `{"role", "content"}` items
(a "tool" one as an assistant message: the Responses API has no tool message without a call).

Needs the Agents SDK (`pip install 'memory[agents]'`); `import memory` does not import this module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeVar, cast

from agents.items import TResponseInputItem
from agents.memory.session_settings import SessionSettings, coerce_session_settings, resolve_session_limit

from memory.aio import AsyncMemoryManager, AsyncMemoryScope, as_async
from memory.errors import NotFoundError, ValidationError
from memory.facade import MemoryFacade
from memory.manager import MemoryManager
from memory.models import Message
from memory.validation import check_source_id

__all__ = ["ITEM_KEY", "SOURCE_PREFIX", "MemorySession"]

#: The metadata key holding each message's item, exactly as the SDK gave it.
ITEM_KEY: Final = "openai_agents_item"
#: The source id of a session's conversation is this prefix and the session id.
SOURCE_PREFIX: Final = "openai-agents:"

#: The message roles an item keeps as its own (memory has them all).
_MESSAGE_ROLES: Final = frozenset({"user", "assistant", "system", "developer"})
#: Keys of an item part that hold text (images, files and encrypted content hold none to search).
_PART_TEXT: Final = ("text", "refusal", "stdout", "stderr", "logs", "query")
#: Fields of a non-message item whose text its rendering shows, in this order.
_ITEM_TEXT: Final = ("code", "queries", "action", "output", "summary", "content", "error")

_R = TypeVar("_R")


class MemorySession:
    """An Agents SDK session (the `Session` protocol) kept in memory as one conversation.

    `memory` is a `MemoryManager`, a `MemoryScope`, or their async twins; with `user_id`, a manager's
    session lives in that user's scope (another user's session of the same id is another one).
    `session_settings` (its `limit`) as `SQLiteSession`'s. Calls run in worker threads (`memory.aio`).
    """

    session_settings: SessionSettings | None = None

    def __init__(
        self,
        memory: MemoryFacade | AsyncMemoryScope,
        session_id: str,
        *,
        user_id: str | None = None,
        session_settings: SessionSettings | dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(session_id, str):
            raise ValidationError(f"session_id must be a str, not {type(session_id).__name__}")
        self.session_id = session_id
        #: The source id of the session's conversation: `await session.memory.find_conversation(...)`.
        self.source_id = check_source_id(SOURCE_PREFIX + session_id, "session_id")
        self.session_settings = coerce_session_settings(session_settings or SessionSettings())
        #: The (async) manager or scope the session lives in, for its search and recall.
        self.memory = _scope_of(memory, user_id)
        self._conversation_id: int | None = None

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The session's items in chronological order; with `limit` (else `session_settings.limit`),
        the latest ones."""
        limit = resolve_session_limit(limit, self.session_settings)
        messages = await self._on_conversation(
            lambda conversation_id: self.memory.get_messages(conversation_id, limit=limit), create=False
        )
        return [_item(message) for message in messages or ()]

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append items, one message each, in one transaction."""
        if not items:
            return
        messages = [_message(item) for item in items]
        await self._on_conversation(
            lambda conversation_id: self.memory.add_messages(conversation_id, messages), create=True
        )

    async def pop_item(self) -> TResponseInputItem | None:
        """Remove and return the latest item (None if there is none); concurrent pops, in any process,
        never return the same item."""
        message = await self._on_conversation(self.memory.pop_message, create=False)
        return None if message is None else _item(message)

    async def clear_session(self) -> None:
        """Remove every item. The conversation stays, so other instances of the session keep working."""
        await self._on_conversation(self.memory.clear_conversation, create=False)

    async def _on_conversation(self, call: Callable[[int], Awaitable[_R]], *, create: bool) -> _R | None:
        """`call` on the session's conversation, made first if `create` (else None if there is none).
        A cached id whose conversation was deleted since (`delete_conversation`, `forget`) is looked
        up again, once."""
        for attempt in range(2):
            if self._conversation_id is None:
                found = await (
                    self.memory.get_or_create_conversation(self.source_id, title=self.session_id)
                    if create
                    else self.memory.find_conversation(self.source_id)
                )
                if found is None:
                    return None
                self._conversation_id = found.id
            try:
                return await call(self._conversation_id)
            except NotFoundError:
                self._conversation_id = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def __repr__(self) -> str:
        return f"MemorySession({self.session_id!r}, {self.memory!r})"


def _scope_of(memory: MemoryFacade | AsyncMemoryScope, user_id: str | None) -> AsyncMemoryScope:
    """The awaitable scope a session lives in: `memory`'s own, or the manager's scope of `user_id`."""
    scope = as_async(memory)
    if user_id is None or user_id == scope.user_id:
        return scope
    if not isinstance(memory, MemoryManager | AsyncMemoryManager):
        raise ValidationError(
            f"user_id={user_id!r} given with a scope of user {scope.user_id!r}: pass the manager with "
            "user_id, or the user's scope alone"
        )
    return as_async(memory.scoped(user_id))


def _message(item: TResponseInputItem) -> dict[str, Any]:
    """The message that stores an item (see the module's docstring)."""
    if not isinstance(item, Mapping):
        raise ValidationError(f"a session item must be a dict, not {type(item).__name__}")
    fields = cast(Mapping[str, Any], item)
    role = fields.get("role")
    if fields.get("type", "message") == "message" and isinstance(role, str) and role in _MESSAGE_ROLES:
        content = "\n".join(_texts(fields.get("content")))
        return {"role": role, "content": content, "metadata": {ITEM_KEY: item}}
    return {"role": "tool", "content": _rendering(fields), "metadata": {ITEM_KEY: item}}


def _rendering(item: Mapping[str, Any]) -> str:
    """A non-message item as short text: `name(arguments)` of a call, then the text of its fields."""
    name = ".".join(
        item[key] for key in ("server_label", "namespace", "name") if isinstance(item.get(key), str)
    )
    arguments = next((item[key] for key in ("arguments", "input") if isinstance(item.get(key), str)), None)
    head = f"{name}({arguments})" if name and arguments is not None else name
    texts = [text for key in _ITEM_TEXT for text in _texts(item.get(key))]
    return "\n".join(filter(None, [head, *texts])) or str(item.get("type") or "item")


def _texts(value: Any) -> list[str]:
    """The text of an item's field: a str, or the text of its parts."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [value[key] for key in _PART_TEXT if isinstance(value.get(key), str)]
    if isinstance(value, list):
        return [text for part in value for text in _texts(part)]
    return []


def _item(message: Message) -> TResponseInputItem:
    """The item a message stores; a message memory itself added, as a role and its text."""
    item = message.meta.get(ITEM_KEY)
    if item is None:
        item = {"role": "assistant" if message.role == "tool" else message.role, "content": message.content}
    return cast(TResponseInputItem, item)
