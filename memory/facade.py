"""`MemoryFacade`: the conversation, message, search, recall, stats and forget methods, a few lines
each (validate, call the pieces, open the transaction), seen through one `Owner`.

`MemoryManager` is the facade of everyone (and owns the store: engine, embedder, spaces);
`MemoryScope` is the same facade bound to one user (and agent). Both run on one shared `Core`, so a
scope costs nothing to make and sees the manager's reindexing at once. Isolation is not up to these
methods: the repositories they make for the owner resolve no id outside it, and the search filter
they make carries it to both sides of every search.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Engine

from memory import validation
from memory.conversations import ConversationInfo, ConversationRepository
from memory.embedding.base import Embedder
from memory.errors import DuplicateError, ValidationError
from memory.filters import SearchFilter
from memory.gcpause import paused_for
from memory.ingest import (
    Pipeline,
    Reused,
    computed_ahead,
    conversation_matrix,
    write_batch,
    write_conversation_messages,
    write_conversations,
    written_side_by_side,
)
from memory.lifecycle.compact import CompactionReport, Tiering, compact
from memory.lifecycle.forget import ForgetReport, forget
from memory.lifecycle.restore import restore
from memory.lifecycle.retention import RetentionPolicy
from memory.lifecycle.summarize import ExtractiveSummarizer, Summarizer
from memory.models import Conversation, EmbeddingSpace, Message, utcnow
from memory.owners import Owner
from memory.recall import SCOPES, RecallScope, TokenCounter, approximate_tokens, recall_context
from memory.search import SEARCH_MODES, SearchHit, SearchMode, WordsApart, search_messages
from memory.sessions import Transactions
from memory.spaces import checked_active
from memory.stats import store_stats
from memory.transactions import Unit, Work
from memory.validation import ConversationDraft, Matrix, MessageDraft, Query, Vector
from memory.vectors.indexes import IndexCache

#: The messages of a batch to embed, and the stored vectors they can reuse.
PreparedVectors = tuple[list[MessageDraft], Reused]


@dataclass(slots=True)
class Core:
    """What a manager and its scopes share: the engine, the transactions, the embedding pipeline and
    the active space it fills, the in-memory index, the size limit."""

    engine: Engine
    transactions: Transactions
    pipeline: Pipeline
    space: EmbeddingSpace
    indexes: IndexCache
    max_content_bytes: int
    reindex_lock: threading.Lock
    #: Where archive files go (None: no archives, see `MemoryManager`); who digests conversations
    #: (None: `ExtractiveSummarizer` on the embedder of the moment).
    archive_dir: Path | None = None
    summarizer: Summarizer | None = None

    def reading(self) -> AbstractContextManager[Unit]:
        return self.transactions.reading()

    def writing(self) -> AbstractContextManager[Unit]:
        return self.transactions.writing()

    def active(self, session: Work) -> EmbeddingSpace:
        """The active space, which must still be the one the embedder fills."""
        self.space = checked_active(session, self.space, self.pipeline.embedder)
        return self.space

    def tiering(self, *, needs_archive: bool = True) -> Tiering:
        """What compaction and restore work with; `ValidationError` when they need the archive
        directory and there is none."""
        if needs_archive and self.archive_dir is None:
            raise ValidationError(
                "this store has no archive directory: pass archive_dir= to MemoryManager (required on "
                "PostgreSQL and for an in-memory SQLite database)"
            )
        return Tiering(self.transactions, self.active, self.pipeline.embed, self.archive_dir)


class MemoryFacade:
    """The methods a manager and a scope share; see `MemoryManager` and `MemoryScope`."""

    _core: Core
    _owner: Owner

    @property
    def engine(self) -> Engine:
        return self._core.engine

    @property
    def embedder(self) -> Embedder:
        """The embedder of the active space."""
        return self._core.pipeline.embedder

    @property
    def max_content_bytes(self) -> int:
        """The largest message content, title or metadata accepted, in UTF-8 bytes."""
        return self._core.max_content_bytes

    @property
    def owner(self) -> Owner:
        """Whose conversations this facade sees (and makes): `Owner()` for everyone's."""
        return self._owner

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
        conversation with the same source id (of the same user and agent) raises `DuplicateError`.
        `vectors`, as in `add_messages`.
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
        core = self._core
        with paused_for(conversations):
            drafts = validation.draft_conversations(conversations, core.max_content_bytes)
        to_embed = [message for draft in drafts if draft.vectors is None for message in draft.messages]
        with core.transactions.call():
            embedded = core.pipeline.vectors(to_embed, core.space, self._owner)
            matrix = conversation_matrix(drafts, embedded, self.embedder.dimensions)
            with paused_for(len(matrix)), core.writing() as session:
                return write_conversations(session, core.active(session), self._owner, drafts, matrix)

    def add_conversation_batches(
        self,
        batches: Iterable[Iterable[Mapping[str, Any] | ConversationDraft]],
        *,
        skip_duplicates: bool = False,
        on_batch: Callable[[list[Conversation | None]], None] | None = None,
    ) -> int:
        """`add_conversations` for each of `batches`, in order, pipelined for bulk loads: while a
        batch is written, the next one is embedded by the model and the one after it is checked,
        each on a worker thread of its own, outside any transaction (batches are drawn from
        `batches` on the caller's thread). Each batch commits in one transaction; a batch that
        fails raises once the batches before it are stored.

        With `skip_duplicates`, a conversation whose source id is already stored is left out
        instead of failing its batch (the others are stored, each whole). `on_batch(stored)` is
        called after each batch commits, with one item per conversation, None for one left out.
        Returns how many conversations were stored."""
        core = self._core
        skip_duplicates = validation.check_flag(skip_duplicates, "skip_duplicates")
        if on_batch is not None and not callable(on_batch):
            raise ValidationError(f"on_batch must be callable, not {on_batch!r}")
        stored = 0
        max_bytes = core.max_content_bytes

        def checked(batch: Any) -> list[ConversationDraft]:
            with paused_for(batch):
                return validation.draft_conversations(batch, max_bytes)

        # Checking is pure Python and writing mostly waits on the database: with the check of the
        # batch after next on its own thread, both run at once.
        drafted = (drafts for _, drafts in computed_ahead(batches, _drawn, checked))
        ready = (
            (drafts, matrix)
            for (drafts, _, _), matrix in computed_ahead(drafted, self._prepare_batch, _BatchEmbedder())
        )
        if core.engine.dialect.name == "postgresql" and not skip_duplicates:
            # Two batches at once, each on its own connection, committed in order. (Skipping
            # duplicates writes a refused batch again one conversation a transaction: one batch
            # at a time.)
            results: Iterator[list[Conversation | None]] = written_side_by_side(
                ready, core.writing, core.active, self._owner
            )
        else:
            results = (
                write_batch(core.writing, core.active, self._owner, d, m, skip_duplicates=skip_duplicates)
                for d, m in ready
            )
        for written in results:
            stored += sum(conversation is not None for conversation in written)
            if on_batch is not None:
                on_batch(written)
        return stored

    def get_or_create_conversation(
        self, source_id: str, *, title: str | None = None, metadata: dict[str, Any] | None = None
    ) -> Conversation:
        """The conversation with this source id, created (with `title` and `metadata`) if there is
        none yet. Atomic: processes racing for the same source id all get the one conversation."""
        item = {"source_id": source_id, "title": title, "metadata": metadata}
        draft = validation.draft_conversation(item, self._core.max_content_bytes)
        # On SQLite one write transaction (BEGIN IMMEDIATE) holds the look-up and the insert, so no
        # other writer can come in between. PostgreSQL lets two transactions both find nothing; the
        # unique index then refuses the second insert, and the loser takes the winner's row.
        try:
            with self._core.writing() as session:
                conversations = self._conversations(session)
                found = conversations.by_source(source_id)
                return found or conversations.insert_conversations([draft])[0]
        except DuplicateError:
            with self._core.reading() as session:
                if (winner := self._conversations(session).by_source(source_id)) is None:
                    raise
                return winner

    def find_conversation(self, source_id: str) -> Conversation | None:
        """The conversation imported with this source id (by this user and agent), if any."""
        with self._core.reading() as session:
            return self._conversations(session).find_by_source(source_id)

    def imported_source_ids(self, source_ids: Iterable[str]) -> set[str]:
        """Which of these source ids this user and agent have imported (one query per 5,000)."""
        checked = list(dict.fromkeys(validation.check_source_id(source_id) for source_id in source_ids))
        if not checked:
            return set()
        with self._core.reading() as session:
            return self._conversations(session).imported_source_ids(checked)

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
        core = self._core
        conversation_id = validation.check_id(conversation_id, "conversation_id")
        with paused_for(messages):
            drafts = validation.draft_messages(messages, core.max_content_bytes)
        with core.transactions.call():  # the look-up before the model and the write share one connection
            if vectors is not None:
                matrix = validation.matrix_for(vectors, self.embedder.dimensions, len(drafts))
            else:
                matrix = core.pipeline.vectors(
                    drafts, core.space, self._owner, conversation_id=conversation_id
                )
            with paused_for(len(drafts)), core.writing() as session:
                conversations, space, now = self._conversations(session), core.space, utcnow()
                stored_with = conversations.touch_while_active(conversation_id, now, space)
                if stored_with is None:
                    space = core.active(session)
                    stored_with = conversations.touch(conversation_id, now)
                return write_conversation_messages(
                    session, space, conversation_id, stored_with, drafts, matrix, now
                )

    def get_conversation(self, conversation_id: int) -> Conversation:
        """The conversation with its messages loaded."""
        with self._core.reading() as session:
            return self._conversations(session).get(conversation_id, with_messages=True)

    def list_conversations(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        user_id: str | None = None,
        agent_id: str | None = None,
    ) -> list[Conversation]:
        """Conversations, most recently updated first; `user_id` and `agent_id` keep those owners'."""
        owner = validation.narrowed(self._owner, user_id, agent_id)
        if owner is None:  # a scope asked for another owner's: there are none
            validation.check_count(limit, "limit")
            validation.check_count(offset, "offset")
            return []
        with self._core.reading() as session:
            return ConversationRepository(session, owner=owner).list_recent(limit=limit, offset=offset)

    def conversation_info(self, conversation_ids: Iterable[int]) -> dict[int, ConversationInfo]:
        """Title, message count, times and owners of each of these conversations, by id, without
        loading their messages; ids that do not exist (or are not this scope's) are left out."""
        with self._core.reading() as session:
            return self._conversations(session).info(conversation_ids)

    def get_messages(self, conversation_id: int, *, limit: int | None = None) -> list[Message]:
        """A conversation's messages in chronological order; with `limit`, the most recent ones."""
        with self._core.transactions.peeking() as session:  # one SELECT (a second only if it finds none)
            return self._conversations(session).messages(conversation_id, limit=limit)

    def delete_conversation(self, conversation_id: int) -> None:
        """Delete a conversation with its messages and their vectors in every space (gone from every
        search; to overwrite their bytes on disk too, use `forget(conversation_id=...)`)."""
        with self._core.writing() as session:
            self._conversations(session).delete(conversation_id)

    def pop_message(self, conversation_id: int) -> Message | None:
        """Delete the conversation's newest message and return it (None when it has none), in one
        transaction: callers popping at once never get the same message."""
        with self._core.writing() as session:
            return self._conversations(session).pop_latest(conversation_id)

    def clear_conversation(self, conversation_id: int) -> int:
        """Delete every message of the conversation and their vectors; the conversation stays, with
        its id, title, metadata and owners. Returns how many messages were deleted."""
        with self._core.writing() as session:
            return self._conversations(session).clear(conversation_id)

    def delete_message(self, message_id: int) -> None:
        """Delete a message and its vectors in every space (as `delete_conversation`)."""
        with self._core.writing() as session:
            self._conversations(session).delete_message(message_id)

    def forget(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        conversation_id: int | None = None,
    ) -> ForgetReport:
        """Delete everything of a user, an agent or a conversation, for good, in one transaction:
        conversations, messages, their vectors in every space, full-text entries and change-log
        entries. On SQLite the freed bytes are overwritten and the WAL checkpointed before it
        returns, so nothing forgotten can be read back from the files, and the index snapshots
        beside the file are deleted (made anew by the next search). Returns what was removed.

        A scope forgets within itself (with no argument: all of it); the manager needs at least one
        of the three.
        """
        owner = validation.narrowed(self._owner, user_id, agent_id)
        if conversation_id is not None:
            conversation_id = validation.check_id(conversation_id, "conversation_id")
        elif owner is not None and not owner.restricts:
            raise ValidationError("forget needs a user_id, an agent_id or a conversation_id")
        report = forget(self._core.transactions, owner, conversation_id, self._core.archive_dir)
        if report.messages:  # index snapshots hold the vectors too: they go, and are made anew
            report = dataclasses.replace(report, index_snapshots=self._core.indexes.drop_snapshots())
        return report

    # -- memory that ages ----------------------------------------------------------------------------

    def compact(
        self,
        policy: RetentionPolicy | None = None,
        *,
        now: datetime | None = None,
        dry_run: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> CompactionReport:
        """Move conversations down the tiers by `policy` (default `RetentionPolicy()`: full for 30
        days since last updated, key points to 90, summary to 365, then metadata only; important
        ones slower), their messages kept in archive files; ages are measured at `now` (default: the
        current time). A pinned conversation stays as it is. With `dry_run`, report what would move
        and write nothing. A scope compacts only its own conversations. `progress(done, total)`, if
        given, is called after each batch with the conversations moved so far and to move. See
        `memory.lifecycle.compact` for what each tier keeps."""
        if policy is None:
            policy = RetentionPolicy()
        elif not isinstance(policy, RetentionPolicy):
            raise ValidationError(f"policy must be a RetentionPolicy, not {type(policy).__name__}")
        now = utcnow() if now is None else validation.check_datetime(now, "now")
        dry_run = validation.check_flag(dry_run, "dry_run")
        if progress is not None and not callable(progress):
            raise ValidationError(f"progress must be callable, not {type(progress).__name__}")
        core = self._core
        tiering = core.tiering(needs_archive=not dry_run)
        summarizer = core.summarizer or ExtractiveSummarizer(self.embedder)
        return compact(tiering, summarizer, self._owner, policy, now, dry_run=dry_run, progress=progress)

    def restore(self, conversation_id: int) -> int:
        """Bring an archived conversation back in full from its archive file: its messages exactly as
        they were (ids where free, contents, metadata, times, content hashes) with their vectors.
        The archive is verified first (`ArchiveError`, and nothing changes, when it is missing or
        damaged); the file is deleted once the messages are back. Returns how many came back; a
        conversation in full already is left as it is (0). It is not pinned: pin it, or the next
        `compact` archives it again."""
        conversation_id = validation.check_id(conversation_id, "conversation_id")
        return restore(self._core.tiering(), self._owner, conversation_id)

    def pin(self, conversation_id: int, pinned: bool = True) -> Conversation:
        """Pin a conversation (or, with `pinned=False`, unpin it): a pinned conversation is never
        compacted. Pinning an archived one keeps it in its tier (no further down); `restore` brings
        it back in full. Returns the conversation (without its messages)."""
        conversation_id = validation.check_id(conversation_id, "conversation_id")
        pinned = validation.check_flag(pinned, "pinned")
        with self._core.writing() as session:
            conversations = self._conversations(session)
            conversations.set_pinned(conversation_id, pinned)
            return conversations.get(conversation_id)

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
        user_id: str | None = None,
        agent_id: str | None = None,
    ) -> list[SearchHit]:
        """The `k` messages that best match `query` (text, or a vector), best first.

        `mode="vector"` ranks by meaning (nearest vectors), `"text"` by words (full-text, BM25 on
        SQLite), and `"hybrid"` (the default) fuses both rankings by Reciprocal Rank Fusion; a
        vector query can only be searched by meaning. Every filter applies to both sides; `since`
        is inclusive and `until` exclusive; `user_id` and `agent_id` keep those owners' messages.
        Each hit's `sources` says which side(s) found it. A text search runs no model (its hits'
        `distance` is nan), so it never waits for the model to load.
        """
        k = validation.check_k(k)
        mode = validation.check_choice(mode, SEARCH_MODES, "mode")  # type: ignore[assignment]
        owner = validation.narrowed(self._owner, user_id, agent_id)
        where = validation.search_filter(
            conversation_id=conversation_id, roles=roles, since=since, until=until, owner=owner or self._owner
        )
        size_limit, needs_text = self._core.max_content_bytes, mode == "text"
        checked = validation.check_query(query, self._core.space.dimensions, size_limit, needs_text)
        if owner is None:  # a scope asked for another owner's messages: there are none
            return []
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
        this conversation or, with `scope="all"`, from every conversation this facade sees; no
        duplicates, at most `max_tokens` tokens, chronological. When trimming, the newest recent
        messages are kept first, then the relevant ones by relevance. Tokens are counted with
        `count_tokens`, else the embedder's tokenizer (`count_tokens` method) when it has one, else
        `approximate_tokens`.
        """
        conversation_id = validation.check_id(conversation_id, "conversation_id")
        max_tokens = validation.check_count(max_tokens, "max_tokens")
        recent, k = validation.check_count(recent, "recent"), validation.check_count(k, "k")
        scope = validation.check_choice(scope, SCOPES, "scope")  # type: ignore[assignment]
        limit = self._core.max_content_bytes
        text = None if query is None else validation.check_content(query, limit, "query")
        counter = count_tokens or getattr(self.embedder, "count_tokens", None) or approximate_tokens

        def search(text: str, depth: int, where: SearchFilter) -> list[SearchHit]:
            return self._search(Query(text, None), depth, "hybrid", where)

        return recall_context(
            self._core.reading,
            self._owner,
            search,
            conversation_id,
            text,
            max_tokens=max_tokens,
            recent=recent,
            k=k,
            scope=scope,
            count_tokens=counter,
        )

    def stats(self) -> dict[str, Any]:
        """Counts of conversations, messages, and vectors per embedding space (of what this facade
        sees: a scope's counts are its own)."""
        with self._core.reading() as session:
            return store_stats(session, self._owner)

    # -- internals ---------------------------------------------------------------------------------------

    def _prepare_batch(
        self, batch: Iterable[Mapping[str, Any] | ConversationDraft]
    ) -> tuple[list[ConversationDraft], Pipeline, PreparedVectors]:
        """A batch checked, with the stored vectors its messages can reuse (read on this thread)."""
        core = self._core
        with paused_for(batch):
            drafts = validation.draft_conversations(batch, core.max_content_bytes)
        to_embed = [message for draft in drafts if draft.vectors is None for message in draft.messages]
        pipeline = core.pipeline
        return drafts, pipeline, (to_embed, pipeline.reusable(to_embed, core.space, self._owner))

    def _conversations(self, session: Work) -> ConversationRepository:
        """The repository of this facade's owner: ids outside it do not exist."""
        return ConversationRepository(session, owner=self._owner)

    def _search(self, query: Query, k: int, mode: SearchMode, where: SearchFilter) -> list[SearchHit]:
        """`search` with checked arguments; a text query is embedded here (not for a search by words
        only), outside the transaction."""
        core = self._core
        vector = query.vector
        if vector is None and mode != "text":
            vector = Vector(core.pipeline.embed([str(query.text)])[0])
        with core.reading() as session:
            # On a server, a hybrid search's words side starts first, on a connection of its own
            # (taken only while this one is held: see `Transactions.alongside`).
            words = WordsApart.start(core.transactions.alongside, vector, query.text, k, mode, where)
            space = core.active(session)
            return search_messages(
                session,
                space,
                vector,
                k,
                where,
                text=query.text,
                mode=mode,
                indexes=core.indexes,
                words=words,
            )


_Item = TypeVar("_Item")


def _drawn(batch: _Item) -> _Item | list[Any]:
    """A batch given as an iterator (a generator of the caller's) drawn here, on the caller's
    thread; anything else as it is (checked on the worker)."""
    return list(batch) if isinstance(batch, Iterator) else batch


class _BatchEmbedder:
    """The model's part of each batch (`MemoryFacade._prepare_batch`), run one batch after another on
    the worker thread; it reads no database. A text one of the two batches before embedded is taken
    from there: they may not be stored yet when this one looked up the vectors it can reuse (two
    batches are written at once on PostgreSQL; a repeated text across two batches was embedded
    twice: 8.6% more model work on bench/import_wall.py's corpus)."""

    def __init__(self) -> None:
        self._recent: deque[Reused] = deque(maxlen=2)

    def __call__(self, prepared: tuple[list[ConversationDraft], Pipeline, PreparedVectors]) -> Matrix:
        drafts, pipeline, (to_embed, reused) = prepared
        earlier = {hash_: vector for batch in self._recent for hash_, vector in batch.items()}
        embedded = pipeline.compute(to_embed, {**earlier, **reused} if earlier else reused)
        self._recent.append(dict(zip((draft.content_hash for draft in to_embed), embedded, strict=True)))
        return conversation_matrix(drafts, embedded, pipeline.embedder.dimensions)
