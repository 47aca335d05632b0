"""`MemoryManager`: the high-level API, a thin facade that validates, composes the pieces (repositories,
the ingest pipeline, search, reindexing) and opens the transactions."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Engine, make_url

from memory import validation
from memory.conversations import ConversationRepository
from memory.embedding.base import Embedder
from memory.embedding.sentence_transformer import SentenceTransformerEmbedder
from memory.engine import DEFAULT_URL, create_engine
from memory.errors import DuplicateError
from memory.filters import SearchFilter
from memory.gcpause import paused_for
from memory.ingest import Pipeline, conversation_matrix, write_conversation_messages, write_conversations
from memory.migration import ensure_schema
from memory.models import Conversation, EmbeddingSpace, Message, utcnow
from memory.recall import SCOPES, RecallScope, TokenCounter, approximate_tokens, recall_context
from memory.reindex import reindex
from memory.search import SEARCH_MODES, SearchHit, SearchMode, search_messages
from memory.sessions import Transactions
from memory.spaces import SpaceInfo, SpaceRepository, checked_active, open_space
from memory.stats import store_stats
from memory.transactions import Work
from memory.validation import (
    DEFAULT_MAX_CONTENT_BYTES,
    ConversationDraft,
    Query,
    Vector,
)
from memory.vectors.indexes import IndexCache, IndexChoice, check_index_choice


class MemoryManager:
    """An assistant's conversations, searchable by meaning.

    Opens (and by default migrates) the database at `url`, matches `embedder` against the store's
    active embedding space, and then serves every call in its own short transaction, so one manager
    can be shared by several threads. `embedder=None` means `SentenceTransformerEmbedder()`.
    """

    def __init__(
        self,
        url: str | Engine = DEFAULT_URL,
        *,
        embedder: Embedder | None = None,
        migrate: bool = True,
        max_content_bytes: int = DEFAULT_MAX_CONTENT_BYTES,
        vector_index: IndexChoice = "exact",
    ) -> None:
        dialect = url.dialect.name if isinstance(url, Engine) else make_url(url).get_backend_name()
        self._indexes = IndexCache(check_index_choice(vector_index), dialect)
        self._max_content_bytes = validation.check_count(max_content_bytes, "max_content_bytes", minimum=1)
        self._owns_engine = not isinstance(url, Engine)
        self.engine = create_engine(url) if isinstance(url, str) else url
        self._transactions = transactions = Transactions(self.engine)
        self._reading, self._writing = transactions.reading, transactions.writing
        try:
            ensure_schema(self.engine, migrate=migrate)
            embedder = embedder or SentenceTransformerEmbedder()
            self._pipeline = Pipeline(embedder, transactions.peeking)
            self._reindex_lock = threading.Lock()
            with self._writing() as session:
                self._space = open_space(session, embedder)
        except BaseException:
            self.close()
            raise

    @property
    def embedder(self) -> Embedder:
        """The embedder of the active space."""
        return self._pipeline.embedder

    @property
    def max_content_bytes(self) -> int:
        """The largest message content, title or metadata accepted, in UTF-8 bytes."""
        return self._max_content_bytes

    def close(self) -> None:
        """Release the in-memory index and the database connections (those of an engine the manager
        created)."""
        self._indexes.close()
        self._transactions.close()
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- conversations and messages ---------------------------------------------------------------

    def create_conversation(
        self,
        title: str | None = None,
        *,
        metadata: dict[str, Any] | None = None,
        messages: Iterable[Mapping[str, Any]] | None = None,
        source_id: str | None = None,
        created_at: datetime | None = None,
        vectors: Any = None,
    ) -> Conversation:
        """Start a conversation, optionally with its first messages, all in one transaction.

        `source_id` is the conversation's id in an external source (an import file); a second
        conversation with the same source id raises `DuplicateError`. `vectors`, as in `add_messages`.
        """
        item: dict[str, Any] = {"title": title, "metadata": metadata, "messages": messages}
        item |= {"source_id": source_id, "created_at": created_at, "vectors": vectors}
        (conversation,) = self.add_conversations([item])
        return conversation

    def add_conversations(
        self, conversations: Iterable[Mapping[str, Any] | ConversationDraft]
    ) -> list[Conversation]:
        """Create many conversations with their messages in one transaction: all or nothing.

        Each item is a dict with the keyword arguments of `create_conversation` (`title`, `metadata`,
        `messages`, `source_id`, `created_at`, `vectors`), all optional, or a draft already checked
        by `memory.validation.draft_conversation` (importers). Texts are embedded together.
        """
        with paused_for(conversations):
            drafts = validation.draft_conversations(conversations, self._max_content_bytes)
        to_embed = [message for draft in drafts if draft.vectors is None for message in draft.messages]
        with self._transactions.call():
            embedded = self._pipeline.vectors(to_embed, self._space)
            matrix = conversation_matrix(drafts, embedded, self.embedder.dimensions)
            with paused_for(len(matrix)), self._writing() as session:
                return write_conversations(session, self._active(session), drafts, matrix)

    def get_or_create_conversation(
        self, source_id: str, *, title: str | None = None, metadata: dict[str, Any] | None = None
    ) -> Conversation:
        """The conversation with this source id, created (with `title` and `metadata`) if there is
        none yet. Atomic: processes racing for the same source id all get the one conversation."""
        item = {"source_id": source_id, "title": title, "metadata": metadata}
        draft = validation.draft_conversation(item, self._max_content_bytes)
        # On SQLite one write transaction (BEGIN IMMEDIATE) holds the look-up and the insert, so no
        # other writer can come in between. PostgreSQL lets two transactions both find nothing; the
        # unique index then refuses the second insert, and the loser takes the winner's row.
        try:
            with self._writing() as session:
                conversations = ConversationRepository(session)
                found = conversations.by_source(source_id)
                return found or conversations.insert_conversations([draft])[0]
        except DuplicateError:
            with self._reading() as session:
                if (winner := ConversationRepository(session).by_source(source_id)) is None:
                    raise
                return winner

    def find_conversation(self, source_id: str) -> Conversation | None:
        """The conversation imported with this source id, if any."""
        with self._reading() as session:
            return ConversationRepository(session).find_by_source(source_id)

    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        *,
        metadata: dict[str, Any] | None = None,
        created_at: datetime | None = None,
    ) -> Message:
        """Store one message and its vector."""
        message = {"role": role, "content": content, "metadata": metadata, "created_at": created_at}
        (stored,) = self.add_messages(conversation_id, [message])
        return stored

    def add_messages(
        self, conversation_id: int, messages: Iterable[Mapping[str, Any]], *, vectors: Any = None
    ) -> list[Message]:
        """Store messages (dicts with `role`, `content`, optional `metadata`, `created_at`) and their
        vectors in one transaction: all or nothing.

        Content already embedded in the active space is not embedded again. `vectors`, an array of
        shape (len(messages), dimensions), stores precomputed embeddings instead (bulk loads).
        """
        conversation_id = validation.check_id(conversation_id, "conversation_id")
        with paused_for(messages):
            drafts = validation.draft_messages(messages, self._max_content_bytes)
        with self._transactions.call():  # the look-up before the model and the write share one connection
            if vectors is not None:
                matrix = validation.matrix_for(vectors, self.embedder.dimensions, len(drafts))
            else:
                matrix = self._pipeline.vectors(drafts, self._space, conversation_id=conversation_id)
            with paused_for(len(drafts)), self._writing() as session:
                conversations, space, now = ConversationRepository(session), self._space, utcnow()
                if not conversations.touch_while_active(conversation_id, now, space):
                    space = self._active(session)
                    conversations.touch(conversation_id, now)
                return write_conversation_messages(session, space, conversation_id, drafts, matrix, now)

    def get_conversation(self, conversation_id: int) -> Conversation:
        """The conversation with its messages loaded."""
        with self._reading() as session:
            return ConversationRepository(session).get(conversation_id, with_messages=True)

    def list_conversations(self, *, limit: int = 50, offset: int = 0) -> list[Conversation]:
        """Conversations, most recently updated first."""
        with self._reading() as session:
            return ConversationRepository(session).list_recent(limit=limit, offset=offset)

    def get_messages(self, conversation_id: int, *, limit: int | None = None) -> list[Message]:
        """A conversation's messages in chronological order; with `limit`, the most recent ones."""
        with self._transactions.peeking() as session:  # one SELECT (a second only when it finds none)
            return ConversationRepository(session).messages(conversation_id, limit=limit)

    def delete_conversation(self, conversation_id: int) -> None:
        """Delete a conversation with its messages and their vectors in every space."""
        with self._writing() as session:
            ConversationRepository(session).delete(conversation_id)

    def delete_message(self, message_id: int) -> None:
        """Delete a message and its vectors in every space."""
        with self._writing() as session:
            ConversationRepository(session).delete_message(message_id)

    # -- search ----------------------------------------------------------------------------------------

    def search(
        self,
        query: str | Sequence[float] | npt.NDArray[np.floating],
        k: int = 10,
        *,
        mode: SearchMode = "hybrid",
        conversation_id: int | None = None,
        roles: Iterable[str] | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[SearchHit]:
        """The `k` messages that best match `query` (text, or a vector), best first.

        `mode="vector"` ranks by meaning (nearest vectors), `"text"` by words (full-text, BM25 on
        SQLite), and `"hybrid"` (the default) fuses both rankings by Reciprocal Rank Fusion; a
        vector query can only be searched by meaning. Every filter applies to both sides; `since`
        is inclusive and `until` exclusive. Each hit's `sources` says which side(s) found it.
        """
        k = validation.check_k(k)
        mode = validation.check_choice(mode, SEARCH_MODES, "mode")  # type: ignore[assignment]
        where = validation.search_filter(
            conversation_id=conversation_id, roles=roles, since=since, until=until
        )
        size_limit, needs_text = self._max_content_bytes, mode == "text"
        checked = validation.check_query(query, self.embedder.dimensions, size_limit, needs_text)
        return self._search(checked, k, mode, where)

    def recall(
        self,
        conversation_id: int,
        query: str | None = None,
        *,
        max_tokens: int = 2000,
        recent: int = 20,
        k: int = 8,
        scope: RecallScope = "conversation",
        count_tokens: TokenCounter | None = None,
    ) -> list[Message]:
        """The context for a turn of `conversation_id`: its `recent` latest messages plus the `k`
        messages most relevant to `query` (default: the conversation's latest user message), from
        this conversation or, with `scope="all"`, from every conversation; no duplicates, at most
        `max_tokens` tokens, chronological. When trimming, the newest recent messages are kept first,
        then the relevant ones by relevance. Tokens are counted with `count_tokens`, else the
        embedder's tokenizer (`count_tokens` method) when it has one, else `approximate_tokens`.
        """
        conversation_id = validation.check_id(conversation_id, "conversation_id")
        max_tokens = validation.check_count(max_tokens, "max_tokens")
        recent, k = validation.check_count(recent, "recent"), validation.check_count(k, "k")
        scope = validation.check_choice(scope, SCOPES, "scope")  # type: ignore[assignment]
        text = None if query is None else validation.check_content(query, self._max_content_bytes, "query")
        counter = count_tokens or getattr(self.embedder, "count_tokens", None) or approximate_tokens

        def search(text: str, depth: int, where: SearchFilter) -> list[SearchHit]:
            return self._search(Query(text, None), depth, "hybrid", where)

        return recall_context(
            self._reading,
            search,
            conversation_id,
            text,
            max_tokens=max_tokens,
            recent=recent,
            k=k,
            scope=scope,
            count_tokens=counter,
        )

    # -- embedding spaces -----------------------------------------------------------------------------

    def spaces(self) -> list[SpaceInfo]:
        """Every embedding space with its model, dimensions, vector count and active flag."""
        with self._reading() as session:
            repository = SpaceRepository(session)
            return [repository.info(space) for space in repository.all()]

    def drop_space(self, space_id: int) -> None:
        """Remove an inactive embedding space and its vectors."""
        with self._writing() as session:
            SpaceRepository(session).drop(space_id)

    def reindex(self, embedder: Embedder, *, batch_size: int = 256) -> SpaceInfo:
        """Embed every message with `embedder` into its own space, then make that space active.

        Commits every `batch_size` messages and is resumable: a second call after an interruption
        continues where the first stopped. Ends with exactly one vector per message.
        """
        batch_size = validation.check_count(batch_size, "batch_size", minimum=1)
        with self._reindex_lock:
            space = reindex(self._reading, self._writing, embedder, batch_size)
            self._pipeline, self._space = Pipeline(embedder, self._pipeline.reading), space
        with self._reading() as session:
            return SpaceRepository(session).info(space)

    def stats(self) -> dict[str, Any]:
        """Counts of conversations, messages, and vectors per embedding space."""
        with self._reading() as session:
            return store_stats(session)

    # -- internals ---------------------------------------------------------------------------------------

    def _active(self, session: Work) -> EmbeddingSpace:
        """The active space, which must still be the one this manager's embedder fills."""
        self._space = checked_active(session, self._space, self.embedder)
        return self._space

    def _search(self, query: Query, k: int, mode: SearchMode, where: SearchFilter) -> list[SearchHit]:
        """`search` with checked arguments; a text query is embedded here, outside the transaction."""
        vector = query.vector
        if vector is None:
            vector = Vector(self._pipeline.embed([str(query.text)])[0])
        with self._reading() as session:
            space = self._active(session)
            return search_messages(
                session, space, vector, k, where, text=query.text, mode=mode, indexes=self._indexes
            )
