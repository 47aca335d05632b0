"""LangChain adapters: a chat message history stored in memory, and a retriever over its search.

    history = MemoryChatMessageHistory(mm.scoped(user_id), session_id)
    retriever = MemoryRetriever(memory=mm.scoped(user_id), k=4, roles=["user"])

Both take a manager or a scope, sync or async (`memory.aio`); a multi-user app passes the user's
scope. The async methods run the calls in worker threads, so the event loop never waits on them.
A LangChain message is stored with its role and text (what search reads), and all of it
(`message_to_dict`) in its metadata under `METADATA_KEY`, so it reads back exactly as written.

Needs `pip install 'memory[langchain]'`; `import memory` does not import this module.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Final, TypeAlias, TypeVar

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.documents import Document
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    message_to_dict,
    messages_from_dict,
)
from langchain_core.retrievers import BaseRetriever
from pydantic import PrivateAttr

from memory.aio import AsyncMemoryScope, as_async
from memory.errors import NotFoundError, ValidationError
from memory.facade import MemoryFacade
from memory.models import ROLES, Message
from memory.search import SearchHit, SearchMode

__all__ = [
    "METADATA_KEY",
    "SOURCE_PREFIX",
    "MemoryChatMessageHistory",
    "MemoryRetriever",
    "from_langchain",
    "to_langchain",
]

#: A manager or a scope, sync or async.
Memory: TypeAlias = MemoryFacade | AsyncMemoryScope

#: The message metadata key that holds the whole LangChain message.
METADATA_KEY: Final = "langchain"
#: A history's conversation has the source id `SOURCE_PREFIX + session_id` (unique per owner).
SOURCE_PREFIX: Final = "langchain:"
#: `ChatMessage` roles memory has no role of its own for.
_ROLE_ALIASES: Final = {"human": "user", "ai": "assistant", "function": "tool"}

_T = TypeVar("_T")


def from_langchain(message: BaseMessage) -> dict[str, Any]:
    """The `add_messages` item of a LangChain message: its role, its text (multi-part content: the
    text parts joined), and the whole message in the metadata (its content only when not a str,
    which is the stored content itself)."""
    serialized = message_to_dict(message)
    if isinstance(message.content, str):
        del serialized["data"]["content"]
    return {"role": _role(message), "content": str(message.text), "metadata": {METADATA_KEY: serialized}}


def to_langchain(message: Message) -> BaseMessage:
    """The LangChain message stored by `from_langchain`, exactly; a message stored otherwise (an
    import, `add_message`) as the message class of its role."""
    stored = message.meta.get(METADATA_KEY)
    if isinstance(stored, dict) and isinstance(stored.get("data"), dict) and "type" in stored:
        data = {"content": message.content, **stored["data"]}
        return messages_from_dict([{"type": stored["type"], "data": data}])[0]
    content = message.content
    if message.role == "user":
        return HumanMessage(content)
    if message.role == "assistant":
        return AIMessage(content)
    if message.role == "system":
        return SystemMessage(content)
    if message.role == "tool" and isinstance(call_id := message.meta.get("tool_call_id"), str):
        return ToolMessage(content, tool_call_id=call_id)
    return ChatMessage(content=content, role=message.role)


def _role(message: BaseMessage) -> str:
    if isinstance(message, HumanMessage):
        return "user"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, ToolMessage | FunctionMessage):
        return "tool"
    if isinstance(message, ChatMessage):
        role = message.role if message.role in ROLES else _ROLE_ALIASES.get(message.role)
        if role is not None:
            return role
    raise ValidationError(
        f"cannot store a {type(message).__name__} of type {message.type!r}: memory stores the roles "
        f"{', '.join(ROLES)} (a ChatMessage may also say {', '.join(_ROLE_ALIASES)})"
    )


def _sync(memory: Memory) -> MemoryFacade:
    return memory.sync if isinstance(memory, AsyncMemoryScope) else memory


def _checked(memory: Any) -> Memory:
    if not isinstance(memory, MemoryFacade | AsyncMemoryScope):
        raise TypeError(f"expected a memory manager or scope, not {type(memory).__name__}")
    return memory


class MemoryChatMessageHistory(BaseChatMessageHistory):
    """The messages of one session, kept in the conversation with source id
    `SOURCE_PREFIX + session_id` of the given manager or scope (two users' scopes keep two
    histories under one session id), made with `title` on the first write.

    Making one does no I/O (`RunnableWithMessageHistory` makes one per call, in the event loop):
    reads of a session never written find no messages and create nothing. `clear()` deletes the
    messages and keeps the conversation, so other histories of the session keep working.
    """

    def __init__(self, memory: Memory, session_id: str, *, title: str | None = None) -> None:
        if not isinstance(session_id, str):
            raise ValidationError(f"session_id must be a str, not {type(session_id).__name__}")
        self.memory = _checked(memory)
        self.session_id = session_id
        self.source_id = SOURCE_PREFIX + session_id
        self.title = title
        self._sync = _sync(self.memory)
        self._async = as_async(self.memory)
        self._conversation_id: int | None = None

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The session's messages, oldest first."""
        stored = self._run(self._sync.get_messages, create=False)
        return [to_langchain(message) for message in stored or ()]

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Store the messages in one transaction (all or nothing)."""
        items = [from_langchain(message) for message in messages]
        if items:
            self._run(lambda conversation: self._sync.add_messages(conversation, items), create=True)

    def clear(self) -> None:
        """Delete the session's messages (the conversation stays)."""
        self._run(self._sync.clear_conversation, create=False)

    async def aget_messages(self) -> list[BaseMessage]:
        """`messages`, off the event loop."""
        stored = await self._arun(self._async.get_messages, create=False)
        return [to_langchain(message) for message in stored or ()]

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        """`add_messages`, off the event loop."""
        items = [from_langchain(message) for message in messages]
        if items:
            await self._arun(lambda conversation: self._async.add_messages(conversation, items), create=True)

    async def aclear(self) -> None:
        """`clear`, off the event loop."""
        await self._arun(self._async.clear_conversation, create=False)

    def _run(self, call: Callable[[int], _T], *, create: bool) -> _T | None:
        """`call` on the session's conversation, found (or, with `create`, made) on first use; None
        when there is none."""
        if self._conversation_id is not None:
            try:
                return call(self._conversation_id)
            except NotFoundError:  # deleted since it was found: look it up again
                self._conversation_id = None
        memory = self._sync
        found = (
            memory.get_or_create_conversation(self.source_id, title=self.title)
            if create
            else memory.find_conversation(self.source_id)
        )
        if found is None:
            return None
        self._conversation_id = found.id
        return call(found.id)

    async def _arun(self, call: Callable[[int], Awaitable[_T]], *, create: bool) -> _T | None:
        """`_run`, awaitable."""
        if self._conversation_id is not None:
            try:
                return await call(self._conversation_id)
            except NotFoundError:
                self._conversation_id = None
        memory = self._async
        found = await (
            memory.get_or_create_conversation(self.source_id, title=self.title)
            if create
            else memory.find_conversation(self.source_id)
        )
        if found is None:
            return None
        self._conversation_id = found.id
        return await call(found.id)

    def __repr__(self) -> str:
        return f"MemoryChatMessageHistory({self.memory!r}, session_id={self.session_id!r})"


class MemoryRetriever(BaseRetriever):
    """`search` as a LangChain retriever: the `k` best messages for the query, as `Document`s.

    Fields: `memory` (a manager or scope, sync or async), `k`, `mode` ("hybrid", "vector" or
    "text") and the filters `conversation_id`, `roles`, `since` (inclusive), `until` (exclusive).
    A document's `page_content` is the message's content, its `id` the message id, and its metadata
    holds `message_id`, `conversation_id`, `conversation_title`, `role`, `created_at` (ISO 8601),
    `score` (cosine similarity; None in a text search, which runs no model), `text_score`,
    `fusion_score`, `sources` (which sides found it) and `rank` (1 for the best).
    """

    memory: MemoryFacade | AsyncMemoryScope
    k: int = 4
    mode: SearchMode = "hybrid"
    conversation_id: int | None = None
    roles: list[str] | None = None
    since: datetime | None = None
    until: datetime | None = None

    _async: AsyncMemoryScope = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        self._async = as_async(self.memory)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        memory = _sync(self.memory)
        return _documents(memory.search(query, self.k, **self._search_options()))

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        return _documents(await self._async.search(query, self.k, **self._search_options()))

    def _search_options(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "conversation_id": self.conversation_id,
            "roles": self.roles,
            "since": self.since,
            "until": self.until,
        }


def _documents(hits: Sequence[SearchHit]) -> list[Document]:
    documents = []
    for rank, hit in enumerate(hits, start=1):
        message = hit.message
        metadata = {
            "message_id": message.id,
            "conversation_id": message.conversation_id,
            "conversation_title": hit.conversation_title,
            "role": message.role,
            "created_at": message.created_at.isoformat(),
            "score": None if math.isnan(hit.distance) else hit.score,
            "text_score": hit.text_score,
            "fusion_score": hit.fusion_score,
            "sources": sorted(hit.sources),
            "rank": rank,
        }
        documents.append(Document(page_content=message.content, id=str(message.id), metadata=metadata))
    return documents
