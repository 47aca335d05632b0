"""`MemoryManager`: the high-level API, a thin facade over the repositories, an embedder and sessions."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Literal, Self

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from memory.conversations import (
    DEFAULT_MAX_CONTENT_BYTES,
    ConversationRepository,
    MessageDraft,
    NewConversation,
    StoredMessages,
    check_content,
    check_metadata,
    draft_messages,
)
from memory.embedding.base import Embedder
from memory.engine import DEFAULT_URL, create_engine, session_factory
from memory.errors import (
    DuplicateError,
    EmbedderError,
    EmbeddingSpaceError,
    IntegrityViolationError,
    MemoryStoreError,
    ValidationError,
    translate_database_errors,
)
from memory.gcpause import collector_paused
from memory.migration import require_head, upgrade
from memory.models import Conversation, EmbeddingSpace, Message
from memory.recall import SCOPES, RecallScope, TokenCounter, approximate_tokens, within_budget
from memory.search import SEARCH_MODES, SearchHit, SearchMode, search_messages
from memory.spaces import SpaceInfo, SpaceRepository, describe, matches
from memory.vectors import INDEX_MODES, MAX_K, IndexMode, VectorIndex, VectorRepository, VectorRow
from memory.vectors.validation import as_matrix, check_datetime, check_id, check_k, check_roles

# Which backend each vector_index mode needs (None: either).
_INDEX_BACKENDS: Final[dict[str, str | None]] = {"exact": None, "binary": "sqlite", "hnsw": "postgresql"}
_BACKEND_NAMES: Final = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
_CONVERSATION_KEYS: Final = frozenset({"title", "metadata", "messages", "source_id", "created_at", "vectors"})


@dataclass(frozen=True, slots=True)
class _ConversationDraft:
    title: str | None
    metadata: dict[str, Any]
    source_id: str | None
    created_at: datetime | None
    drafts: list[MessageDraft]
    vectors: Any


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
        vector_index: IndexMode | Literal["hnsw"] | None = "exact",
    ) -> None:
        if vector_index is not None and vector_index not in _INDEX_BACKENDS:
            raise ValidationError(
                f"vector_index must be one of {tuple(_INDEX_BACKENDS)} or None, not {vector_index!r}"
            )
        self._index_mode = vector_index
        self._indexes: dict[int, VectorIndex] = {}
        self._owns_engine = not isinstance(url, Engine)
        self.engine = create_engine(url) if isinstance(url, str) else url
        self._postgres = self.engine.dialect.name == "postgresql"
        backend = _INDEX_BACKENDS.get(vector_index) if vector_index is not None else None
        if backend is not None and backend != self.engine.dialect.name:
            if self._owns_engine:
                self.engine.dispose()
            raise ValidationError(
                f"vector_index={vector_index!r} is for {_BACKEND_NAMES[backend]}; "
                f"this store is {self.engine.dialect.name}"
            )
        try:
            if migrate:
                upgrade(self.engine)
            else:
                with self.engine.connect() as connection:
                    require_head(connection)
            if embedder is None:
                from memory.embedding.sentence_transformer import SentenceTransformerEmbedder

                embedder = SentenceTransformerEmbedder()
            self._embedder = embedder
            self._max_content_bytes = max_content_bytes
            self._read = session_factory(self.engine)
            self._write = session_factory(self.engine, write=True)
            self._reindex_lock = threading.Lock()
            self._space_id = self._open_space()
        except BaseException:
            self.close()
            raise

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The embedder of the active space."""
        return self._embedder

    @property
    def max_content_bytes(self) -> int:
        """The largest message content, title or metadata accepted, in UTF-8 bytes."""
        return self._max_content_bytes

    def close(self) -> None:
        """Release the in-memory index and the database connections (those of an engine the manager
        created)."""
        for index in self._indexes.values():
            index.close()
        self._indexes.clear()
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
        item = {
            "title": title,
            "metadata": metadata,
            "messages": messages,
            "source_id": source_id,
            "created_at": created_at,
            "vectors": vectors,
        }
        (conversation,) = self.add_conversations([item])
        return conversation

    def add_conversations(self, conversations: Iterable[Mapping[str, Any]]) -> list[Conversation]:
        """Create many conversations with their messages in one transaction: all or nothing.

        Each item is a dict with the keyword arguments of `create_conversation` (`title`, `metadata`,
        `messages`, `source_id`, `created_at`, `vectors`), all optional. Texts are embedded together.
        """
        if isinstance(conversations, Mapping | str | bytes):
            raise ValidationError("conversations must be an iterable of dicts")
        with collector_paused():
            items = [self._conversation_draft(index, item) for index, item in enumerate(conversations)]
        if not items:
            raise ValidationError("conversations is empty: nothing to add")
        matrix = self._matrix_of(items)
        with collector_paused(), self._writing() as session:
            created = ConversationRepository(session).create_many(
                [
                    NewConversation(item.title, item.metadata, item.source_id, item.created_at)
                    for item in items
                ]
            )
            batches = [
                (
                    conversation,
                    item.drafts,
                    max((d.created_at for d in item.drafts if d.created_at), default=None) or item.created_at,
                )
                for conversation, item in zip(created, items, strict=True)
                if item.drafts
            ]
            self._store_many(session, batches, matrix)
            return created

    def get_or_create_conversation(
        self, source_id: str, *, title: str | None = None, metadata: dict[str, Any] | None = None
    ) -> Conversation:
        """The conversation with this source id, created (with `title` and `metadata`) if there is
        none yet. Atomic: processes racing for the same source id all get the one conversation."""
        check_content(source_id, 255, "source_id")
        if title is not None:
            check_content(title, self._max_content_bytes, "title")
        checked = check_metadata(metadata, self._max_content_bytes)
        # On SQLite one write transaction (BEGIN IMMEDIATE) holds the look-up and the insert, so no
        # other writer can come in between. PostgreSQL lets two transactions both find nothing; the
        # unique index then refuses the second insert, and the loser takes the winner's row.
        try:
            with self._writing() as session:
                conversations = ConversationRepository(session)
                found = conversations.find_by_source(source_id)
                if found is not None:
                    return found
                return conversations.create(title, checked, source_id=source_id)
        except (DuplicateError, IntegrityViolationError):
            winner = self.find_conversation(source_id)
            if winner is None:
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
        conversation_id = check_id(conversation_id, "conversation_id")
        with collector_paused():
            drafts = draft_messages(messages, self._max_content_bytes)
        with self._reading() as session:
            ConversationRepository(session).get(conversation_id)  # fail before paying for embeddings
        matrix = self._vectors_before_writing(drafts, vectors)
        with collector_paused(), self._writing() as session:
            conversation = ConversationRepository(session).get(conversation_id)
            return self._store(session, conversation, drafts, matrix)

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
        with self._reading() as session:
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
        k = check_k(k)
        if mode not in SEARCH_MODES:
            raise ValidationError(f"mode must be one of {SEARCH_MODES}, not {mode!r}")
        roles = check_roles(roles)
        for value, what in ((since, "since"), (until, "until")):
            if value is not None:
                check_datetime(value, what)
        if conversation_id is not None:
            conversation_id = check_id(conversation_id, "conversation_id")
        text: str | None = None
        if isinstance(query, str):
            text = check_content(query, self._max_content_bytes, "query")
            vector: Any = self._embed([text])[0]
        elif mode == "text":
            raise ValidationError("a text search needs a str query, not a vector")
        else:
            vector = query
        with self._reading() as session:
            space = self._checked_space(session)
            return search_messages(
                session,
                space,
                vector,
                k,
                text=text,
                mode=mode,
                index=self._index(space),
                approximate=self._index_mode == "hnsw",
                conversation_id=conversation_id,
                roles=roles,
                since=since,
                until=until,
            )

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
        conversation_id = check_id(conversation_id, "conversation_id")
        for name, value in (("max_tokens", max_tokens), ("recent", recent), ("k", k)):
            if check_id(value, name) < 0:
                raise ValidationError(f"{name} must not be negative, not {value!r}")
        if scope not in SCOPES:
            raise ValidationError(f"scope must be one of {SCOPES}, not {scope!r}")
        if query is not None:
            check_content(query, self._max_content_bytes, "query")
        counter = count_tokens or getattr(self._embedder, "count_tokens", None) or approximate_tokens
        with self._reading() as session:
            conversations = ConversationRepository(session)
            window = conversations.messages(conversation_id, limit=recent)
            if query is None:
                query = conversations.latest_content(conversation_id, role="user")
        relevant: list[Message] = []
        if query and k:
            seen = {message.id for message in window}
            hits = self.search(
                query,
                k=min(MAX_K, k + len(seen)),
                conversation_id=conversation_id if scope == "conversation" else None,
            )
            relevant = [hit.message for hit in hits if hit.message.id not in seen][:k]
        return within_budget(window, relevant, max_tokens, counter)

    # -- embedding spaces -----------------------------------------------------------------------------

    def spaces(self) -> list[SpaceInfo]:
        """Every embedding space with its model, dimensions, vector count and active flag."""
        with self._reading() as session:
            repository = SpaceRepository(session)
            return [repository.info(space) for space in repository.all()]

    def drop_space(self, space_id: int) -> None:
        """Remove an inactive embedding space and its vectors."""
        space_id = check_id(space_id, "space_id")
        with self._writing() as session:
            SpaceRepository(session).drop(space_id)

    def reindex(self, embedder: Embedder, *, batch_size: int = 256) -> SpaceInfo:
        """Embed every message with `embedder` into its own space, then make that space active.

        Commits every `batch_size` messages and is resumable: a second call after an interruption
        continues where the first stopped. Ends with exactly one vector per message.
        """
        batch_size = check_id(batch_size, "batch_size")
        if batch_size < 1:
            raise ValidationError("batch_size must be at least 1")
        with self._reindex_lock:
            with self._writing() as session:
                spaces = SpaceRepository(session)
                space = spaces.find(embedder) or spaces.create(embedder)
                space_id = space.id
            last_id = 0
            while True:
                with self._reading() as session:
                    batch = _messages_after(session, last_id, batch_size)
                    if not batch:
                        break
                    space = SpaceRepository(session).get(space_id)
                    present = VectorRepository(session, space).present(m.id for m in batch)
                missing = [m for m in batch if m.id not in present]
                if missing:
                    vectors = self._embed_unique(embedder, missing)
                    with self._writing() as session:
                        _store_missing(session, space_id, missing, vectors)
                last_id = batch[-1].id
            with self._writing() as session:
                # Catch up with messages added meanwhile, holding the write lock, then switch.
                spaces = SpaceRepository(session)
                space = spaces.get(space_id)
                missing_ids = _ids_without_vector(session, space)
                if missing_ids:
                    missing = list(ConversationRepository(session).messages_by_id(missing_ids).values())
                    _store_missing(session, space_id, missing, self._embed_unique(embedder, missing))
                spaces.activate(space)
                info = spaces.info(space)
            self._embedder, self._space_id = embedder, space_id
            return info

    def stats(self) -> dict[str, Any]:
        """Counts of conversations, messages, and vectors per embedding space."""
        with self._reading() as session:
            conversations = ConversationRepository(session)
            spaces = [SpaceRepository(session).info(space) for space in SpaceRepository(session).all()]
            return {
                "conversations": conversations.count(),
                "messages": conversations.count_messages(),
                "vectors": {space.id: space.vectors for space in spaces},
                "active_space": next((space.id for space in spaces if space.active), None),
                "spaces": [
                    {
                        "id": s.id,
                        "model": s.model,
                        "dimensions": s.dimensions,
                        "vectors": s.vectors,
                        "active": s.active,
                    }
                    for s in spaces
                ],
            }

    # -- internals ---------------------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        with translate_database_errors("read the memory store"), self._read() as session, session.begin():
            yield session

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        # BEGIN IMMEDIATE: writers queue for the lock (up to busy_timeout) instead of failing midway.
        with (
            translate_database_errors("write to the memory store"),
            self._write() as session,
            session.begin(),
        ):
            yield session

    def _open_space(self) -> int:
        with self._writing() as session:
            spaces = SpaceRepository(session)
            active = spaces.active()
            if matches(active, self._embedder):
                return active.id
            if active.fingerprint is None and (active.model, active.dimensions) == (
                self._embedder.name,
                self._embedder.dimensions,
            ):
                # Vectors written with no fingerprint recorded (by the low-level API, or before
                # fingerprints existed): the model's name and dimensions agree, so it is taken at its
                # word and the fingerprint recorded from now on.
                spaces.adopt(active, self._embedder)
                return active.id
            if spaces.count_vectors(active) == 0:
                # Nothing to mix up yet: the empty store takes the model it is opened with.
                spaces.adopt(active, self._embedder)
                return active.id
            raise EmbeddingSpaceError(
                f"this database's vectors were made by {describe(active)}, but it was opened with "
                f"{self._embedder.name!r} ({self._embedder.dimensions} dimensions, fingerprint "
                f"{self._embedder.fingerprint[:19]}); open it with that model, or move it to the new one "
                "with MemoryManager(url, embedder=<old>).reindex(<new>) or `memory reindex --model NAME`"
            )

    def _index(self, space: EmbeddingSpace) -> VectorIndex | None:
        """The in-memory index of the active space (built on first use), unless disabled."""
        if self._postgres or self._index_mode not in INDEX_MODES:  # PostgreSQL searches in the server
            return None
        index = self._indexes.get(space.id)
        if index is None:
            for stale in self._indexes.values():
                stale.close()
            mode: IndexMode = "binary" if self._index_mode == "binary" else "exact"
            self._indexes = {space.id: VectorIndex(space.id, space.dimensions, mode=mode)}
            index = self._indexes[space.id]
        return index

    def _checked_space(self, session: Session) -> EmbeddingSpace:
        """The active space, which must still be the one this manager's embedder fills."""
        active = SpaceRepository(session).active()
        if active.id != self._space_id and not matches(active, self._embedder):
            raise EmbeddingSpaceError(
                f"the active embedding space changed to {describe(active)} (reindexed by another process); "
                "reopen the store with that model"
            )
        self._space_id = active.id
        return active

    def _vectors_before_writing(
        self, drafts: list[MessageDraft], given: Any = None
    ) -> npt.NDArray[np.float32]:
        """One vector per draft: the given ones (checked), else embedded outside the write
        transaction, so the write lock is never held while a model runs."""
        if given is not None:
            matrix = as_matrix(given, self._embedder.dimensions, allow_single=False)
            if len(matrix) != len(drafts):
                raise ValidationError(f"got {len(matrix)} vectors for {len(drafts)} messages")
            return matrix
        if not drafts:
            return np.zeros((0, self._embedder.dimensions), dtype=np.float32)
        with self._reading() as session:
            by_hash = self._vectors_for(session, self._checked_space(session), drafts)
        return np.stack([by_hash[draft.content_hash] for draft in drafts])

    def _store(
        self,
        session: Session,
        conversation: Conversation,
        drafts: list[MessageDraft],
        matrix: npt.NDArray[np.float32],
    ) -> list[Message]:
        return self._store_many(session, [(conversation, drafts, None)], matrix).to_messages()

    def _store_many(
        self,
        session: Session,
        batches: list[tuple[Conversation, list[MessageDraft], datetime | None]],
        matrix: npt.NDArray[np.float32],
    ) -> StoredMessages:
        """Insert the messages of each conversation, then all their vectors (row i of `matrix` for
        the i-th message) in one bulk write."""
        space = self._checked_space(session)
        stored = ConversationRepository(session).insert_messages(batches)
        if stored.ids:
            VectorRepository(session, space).add_matrix(
                stored.ids,
                matrix,
                conversation_ids=stored.conversation_ids,
                roles=stored.roles,
                created_at=stored.created_at,
            )
        return stored

    def _matrix_of(self, items: list[_ConversationDraft]) -> npt.NDArray[np.float32]:
        """One vector per message of `items`, in order: given vectors checked once over the whole
        batch (a bad one is then traced to its conversation), the rest embedded together."""
        to_embed = [draft for item in items if item.vectors is None for draft in item.drafts]
        embedded = self._vectors_before_writing(to_embed)
        parts: list[Any] = []
        position = 0
        for item in items:
            if item.vectors is None:
                if item.drafts:
                    parts.append(embedded[position : position + len(item.drafts)])
                    position += len(item.drafts)
            elif item.drafts or np.size(item.vectors):
                parts.append(item.vectors)
        dimensions = self._embedder.dimensions
        if not parts:
            return np.zeros((0, dimensions), dtype=np.float32)
        try:
            shapes_fit = all(np.shape(part) == (len(part), dimensions) for part in parts)
            matrix = as_matrix(np.concatenate(parts), dimensions, allow_single=False) if shapes_fit else None
        except (ValidationError, ValueError, TypeError):
            matrix = None
        if matrix is None or len(matrix) != sum(len(item.drafts) for item in items):
            for index, item in enumerate(items):  # find the culprit, for a precise error
                if item.vectors is None or not (item.drafts or np.size(item.vectors)):
                    continue
                try:
                    self._vectors_before_writing(item.drafts, item.vectors)
                except ValidationError as exc:
                    raise type(exc)(f"conversation {index}: {exc}") from None
            raise ValidationError("vectors do not match the messages")  # unreachable in practice
        return matrix

    def _conversation_draft(self, index: int, item: Any) -> _ConversationDraft:
        if not isinstance(item, Mapping):
            raise ValidationError(f"conversation {index}: expected a dict, got {type(item).__name__}")
        unknown = set(item) - _CONVERSATION_KEYS
        if unknown:
            raise ValidationError(f"conversation {index}: unknown keys {sorted(map(str, unknown))}")
        try:
            title, source_id, created_at = item.get("title"), item.get("source_id"), item.get("created_at")
            if title is not None:
                check_content(title, self._max_content_bytes, "title")
            if source_id is not None:
                check_content(source_id, 255, "source_id")
            messages = item.get("messages")
            return _ConversationDraft(
                title=title,
                metadata=check_metadata(item.get("metadata"), self._max_content_bytes),
                source_id=source_id,
                created_at=None if created_at is None else check_datetime(created_at, "created_at"),
                drafts=draft_messages(messages, self._max_content_bytes) if messages is not None else [],
                vectors=item.get("vectors"),
            )
        except ValidationError as exc:
            raise type(exc)(f"conversation {index}: {exc}") from None

    def _vectors_for(
        self, session: Session, space: EmbeddingSpace, drafts: list[MessageDraft]
    ) -> dict[str, npt.NDArray[np.float32]]:
        """A vector per distinct content hash: reused from the space where possible, else embedded."""
        wanted = {draft.content_hash: draft.content for draft in drafts}
        vectors: dict[str, npt.NDArray[np.float32]] = {}
        by_hash = ConversationRepository(session).ids_with_hashes(list(wanted))
        if by_hash:
            stored = VectorRepository(session, space).get(ids[0] for ids in by_hash.values())
            for digest, ids in by_hash.items():
                if ids[0] in stored:
                    vectors[digest] = stored[ids[0]]
        todo = [digest for digest in wanted if digest not in vectors]
        if todo:
            vectors.update(zip(todo, self._embed([wanted[d] for d in todo]), strict=True))
        return vectors

    def _embed(self, texts: list[str], embedder: Embedder | None = None) -> npt.NDArray[np.float32]:
        embedder = embedder or self._embedder
        try:
            vectors = embedder.embed(texts)
        except MemoryStoreError:
            raise
        except Exception as exc:
            raise EmbedderError(f"embedder {embedder.name!r} failed: {exc}") from exc
        try:
            matrix = as_matrix(vectors, embedder.dimensions, allow_single=False)
        except ValidationError as exc:
            raise EmbedderError(f"embedder {embedder.name!r} returned unusable vectors: {exc}") from exc
        if len(matrix) != len(texts):
            raise EmbedderError(
                f"embedder {embedder.name!r} returned {len(matrix)} vectors for {len(texts)} texts"
            )
        return matrix

    def _embed_unique(
        self, embedder: Embedder, messages: list[Message]
    ) -> dict[str, npt.NDArray[np.float32]]:
        texts = {m.content_hash: m.content for m in messages}
        return dict(zip(texts, self._embed(list(texts.values()), embedder), strict=True))


def _messages_after(session: Session, last_id: int, limit: int) -> list[Message]:
    query = sa.select(Message).where(Message.id > last_id).order_by(Message.id).limit(limit)
    return list(session.scalars(query))


def _ids_without_vector(session: Session, space: EmbeddingSpace) -> list[int]:
    with_vector = set(VectorRepository(session, space).ids())
    return [i for i in session.scalars(sa.select(Message.id)) if i not in with_vector]


def _store_missing(
    session: Session, space_id: int, messages: list[Message], vectors: dict[str, npt.NDArray[np.float32]]
) -> None:
    """Store vectors for those of `messages` that still exist and still lack one (a concurrent
    delete or a second reindex may have come first)."""
    space = SpaceRepository(session).get(space_id)
    repository = VectorRepository(session, space)
    ids = [m.id for m in messages]
    alive = set(ConversationRepository(session).messages_by_id(ids)) - repository.present(ids)
    rows = [
        VectorRow(m.id, vectors[m.content_hash], m.conversation_id, m.role, m.created_at)
        for m in messages
        if m.id in alive
    ]
    if rows:
        repository.add_many(rows)
