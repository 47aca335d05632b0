"""From validated drafts to stored messages with one vector each.

Two halves, because the model must never run while the write lock is held:
- before writing (`reusable_vectors` in a read transaction, then `vectors_for` outside any
  transaction): content already embedded in the space is reused by its hash, the rest is embedded
  once per distinct text, and what the embedder returned is checked (`embed_checked`);
- writing (`write_messages`, inside the caller's write transaction): the messages, then their
  vectors in one bulk write, so both commit or roll back together.

Bulk loads overlap the two (`computed_ahead`): the model embeds one batch on a worker thread while
the caller's thread writes the batch before it.

Usable on its own with an embedder and plain sessions; `MemoryManager` composes it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Final, TypeVar, cast

import numpy as np
import numpy.typing as npt

from memory.conversations import ConversationRepository, MessageBatch, StoredMessages
from memory.embedding.base import Embedder
from memory.errors import DuplicateError, EmbedderError, MemoryStoreError, ValidationError
from memory.gcpause import paused_for
from memory.models import Conversation, EmbeddingSpace, Message, utcnow
from memory.owners import Owner, key_columns
from memory.transactions import Work
from memory.validation import ConversationDraft, Matrix, MessageDraft, Vector, as_matrix, matrix_for
from memory.vectors import VectorRepository
from memory.vectors.base import VectorColumns
from memory.vectors.repository import epoch_column

#: A function that embeds texts and returns checked vectors (see `embed_checked`).
Embed = Callable[[list[str]], Matrix]
#: Opens a transaction and yields its session.
Transaction = Callable[[], AbstractContextManager[Work]]
#: Stored vectors by content hash, for drafts whose content is already embedded.
Reused = dict[str, npt.NDArray[np.float32]]

_Item = TypeVar("_Item")
_Prepared = TypeVar("_Prepared")
_END: Final = object()  # what `next` gives at the end of the items
_Result = TypeVar("_Result")


class Pipeline:
    """The embedding half of ingestion for one embedder: drafts in, one checked vector per draft out.
    Stored vectors are looked up through `reading` (advisory reads: the write re-checks); the model
    runs outside any transaction, and only as many runs at once as `gate` lets through (one by
    default: a second run on the same cores only slows the first); the others queue."""

    def __init__(
        self, embedder: Embedder, reading: Transaction, gate: threading.Semaphore | None = None
    ) -> None:
        self.embedder = embedder
        self.reading = reading
        self.gate = gate if gate is not None else threading.BoundedSemaphore(1)

    def embed(self, texts: list[str]) -> Matrix:
        with self.gate:
            return embed_checked(self.embedder, texts)

    def vectors(
        self,
        drafts: Sequence[MessageDraft],
        space: EmbeddingSpace,
        owner: Owner,
        *,
        conversation_id: int | None = None,
    ) -> Matrix:
        """One vector per draft (of the embedder's `space`), reusing only `owner`'s; with
        `conversation_id`, the owner must have that conversation, checked before the model runs."""
        return self.compute(drafts, self.reusable(drafts, space, owner, conversation_id=conversation_id))

    def reusable(
        self,
        drafts: Sequence[MessageDraft],
        space: EmbeddingSpace,
        owner: Owner,
        *,
        conversation_id: int | None = None,
    ) -> Reused:
        """The first half of `vectors`, the database's: the stored vectors the drafts can reuse."""
        if not drafts and conversation_id is None:
            return {}
        with self.reading() as session:
            conversations = ConversationRepository(session, owner=owner)
            if not drafts:
                conversations.require(cast(int, conversation_id))
                return {}
            return reusable_vectors(conversations, space, drafts, require_conversation=conversation_id)

    def compute(self, drafts: Sequence[MessageDraft], reused: Reused) -> Matrix:
        """The second half of `vectors`, the model's; it reads no database, so any thread may run it."""
        return vectors_for(drafts, reused, self.embed, self.embedder.dimensions)


def embed_checked(embedder: Embedder, texts: list[str]) -> Matrix:
    """Run the model on `texts`; its failures and unusable output become `EmbedderError`."""
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


def reusable_vectors(
    conversations: ConversationRepository,
    space: EmbeddingSpace,
    drafts: Sequence[MessageDraft],
    *,
    require_conversation: int | None = None,
) -> dict[str, npt.NDArray[np.float32]]:
    """Stored vectors of `space` for the drafts' contents, by content hash, from the messages the
    repository's owner sees; with `require_conversation`, `NotFoundError` unless the owner has that
    conversation (the same query)."""
    hashes = list({d.content_hash for d in drafts})
    by_hash = conversations.ids_with_hashes(hashes, require_conversation=require_conversation)
    if not by_hash:
        return {}
    stored = VectorRepository(conversations.work, space).fetch([ids[0] for ids in by_hash.values()])
    return {digest: stored[ids[0]] for digest, ids in by_hash.items() if ids[0] in stored}


def vectors_for(
    drafts: Sequence[MessageDraft], reused: dict[str, npt.NDArray[np.float32]], embed: Embed, dimensions: int
) -> Matrix:
    """One vector per draft, in order: reused by content hash, else embedded (each distinct text once)."""
    if not drafts:
        return Matrix(np.zeros((0, dimensions), dtype=np.float32))
    todo = {d.content_hash: d.content for d in drafts if d.content_hash not in reused}
    embedded = embed(list(todo.values())) if todo else None
    if embedded is not None and len(todo) == len(drafts):  # every text new and distinct: in order
        return embedded
    by_hash = dict(reused)
    if embedded is not None:
        by_hash.update(zip(todo, embedded, strict=True))
    return Matrix(np.stack([by_hash[d.content_hash] for d in drafts]))


def conversation_matrix(drafts: Sequence[ConversationDraft], embedded: Matrix, dimensions: int) -> Matrix:
    """One vector per message of `drafts`, in order: each conversation's own `vectors`, else the
    next rows of `embedded` (the vectors of the messages of conversations that gave none, in order).
    Given vectors are checked here, once over the whole batch; a bad one is traced to its conversation."""
    given = _given_vectors(drafts, dimensions)
    if len(embedded) == 0 and len(given) == sum(len(draft.messages) for draft in drafts):
        return given  # every conversation gave its vectors (a bulk load): already in order
    parts: list[npt.NDArray[np.float32]] = []
    taken = {"embedded": 0, "given": 0}
    for draft in drafts:
        rows = len(draft.messages)
        if not rows:
            continue
        source, matrix = ("embedded", embedded) if draft.vectors is None else ("given", given)
        parts.append(matrix[taken[source] : taken[source] + rows])
        taken[source] += rows
    if not parts:
        return Matrix(np.zeros((0, dimensions), dtype=np.float32))
    return Matrix(parts[0] if len(parts) == 1 else np.concatenate(parts))


def _given_vectors(drafts: Sequence[ConversationDraft], dimensions: int) -> Matrix:
    """The vectors the conversations gave, checked and concatenated."""
    givers = [d for d in drafts if _gives_vectors(d)]
    if not givers:
        return Matrix(np.zeros((0, dimensions), dtype=np.float32))
    total = sum(len(draft.messages) for draft in givers)
    try:
        if all(np.shape(d.vectors) == (len(d.messages), dimensions) for d in givers):
            return matrix_for(np.concatenate([d.vectors for d in givers]), dimensions, total)
    except (ValidationError, ValueError, TypeError):
        pass
    for index, draft in enumerate(drafts):  # find the culprit, for a precise error
        if not _gives_vectors(draft):
            continue
        try:
            matrix_for(draft.vectors, dimensions, len(draft.messages))
        except ValidationError as exc:
            raise type(exc)(f"conversation {index}: {exc}") from None
    raise ValidationError("vectors do not match the messages")  # unreachable in practice


def _gives_vectors(draft: ConversationDraft) -> bool:
    return draft.vectors is not None and bool(draft.messages or np.size(draft.vectors))


def write_conversations(
    session: Work,
    space: EmbeddingSpace,
    owner: Owner,
    drafts: Sequence[ConversationDraft],
    matrix: Matrix,
    *,
    inserted: Callable[[], None] | None = None,
) -> list[Conversation]:
    """Insert conversations of `owner`, then their messages and vectors (`write_messages`), in the
    session's transaction; a message without a time gets its conversation's latest time, else now.
    `inserted()` is called once the conversations are in."""
    now = utcnow()
    created = ConversationRepository(session, owner=owner).insert_conversations(drafts, now=now)
    if inserted is not None:
        inserted()
    batches = [
        MessageBatch(conversation.id, draft.messages, draft.updated_at or now, owner)
        for conversation, draft in zip(created, drafts, strict=True)
        if draft.messages
    ]
    write_messages(session, space, batches, matrix)
    return created


def write_batch(
    writing: Transaction,
    active: Callable[[Work], EmbeddingSpace],
    owner: Owner,
    drafts: Sequence[ConversationDraft],
    matrix: Matrix,
    *,
    skip_duplicates: bool,
    turn: _Turn | None = None,
) -> list[Conversation | None]:
    """`write_conversations` in one write transaction (`active` gives the space to write to),
    waiting for its `turn` (`written_side_by_side`) to insert and to commit. With
    `skip_duplicates`, a batch refused for a source id already stored is written again one
    conversation at a time, each in its own transaction, and those refused are None."""
    try:
        with paused_for(len(matrix)), writing() as session:
            if turn is None:
                return list(write_conversations(session, active(session), owner, drafts, matrix))
            turn.may_insert()
            space = active(session)
            created = write_conversations(session, space, owner, drafts, matrix, inserted=turn.inserted.set)
            turn.may_commit()
            return list(created)
    except DuplicateError:
        if not skip_duplicates:
            raise
    written: list[Conversation | None] = []
    start = 0
    for draft in drafts:
        rows = Matrix(matrix[start : start + len(draft.messages)])
        start += len(draft.messages)
        try:
            with writing() as session:
                written += write_conversations(session, active(session), owner, [draft], rows)
        except DuplicateError:
            written.append(None)
    return written


class _EarlierBatchFailed(MemoryStoreError):
    """A batch written beside the one before it rolls back because that one failed."""


class _Turn:
    """One batch's place among batches written at once, each in its own transaction: it inserts
    its conversations after the batch before it did (a source id both hold then makes the later
    wait for the earlier, never the reverse), and commits after that batch committed."""

    def __init__(self, before: _Turn | None, stopped: threading.Event) -> None:
        self._before = before
        self._stopped = stopped
        self.inserted = threading.Event()
        self.done = threading.Event()
        self.failed = False

    def may_insert(self) -> None:
        if self._before is not None:
            self._before.inserted.wait()

    def may_commit(self) -> None:
        """Wait for the batch before to commit; raise if it failed or the caller stopped."""
        before, self._before = self._before, None  # the chain of turns is not kept
        if before is not None:
            before.done.wait()
            if before.failed:
                raise _EarlierBatchFailed("the batch before this one was not stored")
        if self._stopped.is_set():
            raise _EarlierBatchFailed("the caller stopped before this batch was stored")


def _write_in_turn(
    writing: Transaction,
    active: Callable[[Work], EmbeddingSpace],
    owner: Owner,
    drafts: Sequence[ConversationDraft],
    matrix: Matrix,
    turn: _Turn,
) -> list[Conversation | None]:
    """`write_batch` in its `turn`, telling the batch after it how it ended."""
    try:
        return write_batch(writing, active, owner, drafts, matrix, skip_duplicates=False, turn=turn)
    except BaseException:
        turn.failed = True
        raise
    finally:
        turn.inserted.set()
        turn.done.set()


def written_side_by_side(
    batches: Iterable[tuple[Sequence[ConversationDraft], Matrix]],
    writing: Transaction,
    active: Callable[[Work], EmbeddingSpace],
    owner: Owner,
) -> Iterator[list[Conversation | None]]:
    """Each batch written in one transaction of its own (as `write_batch`, without skipping
    duplicates), two at once on worker threads: on PostgreSQL each has its own server process,
    and one batch's rows are sent while the other's are stored. Batches commit in order, and are
    handed out in order once committed; when one fails, the one beside it rolls back, and the
    error is raised once the batches before it are handed out (so are those before a batch that
    could not be drawn). When the caller stops early, a batch still waiting to commit rolls back
    (one that committed already stays, unreported, as after a kill)."""
    writers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="memory-writer")
    in_flight: list[Future[list[Conversation | None]]] = []
    stopped = threading.Event()
    last: _Turn | None = None
    drawn = iter(batches)
    try:
        while True:
            try:
                batch = next(drawn, _END)
            except BaseException:
                while in_flight:  # a batch's own failure raises its error here
                    yield in_flight.pop(0).result()
                raise
            if batch is _END:
                break
            drafts, matrix = cast(tuple[Sequence[ConversationDraft], Matrix], batch)
            last = _Turn(last, stopped)
            in_flight.append(writers.submit(_write_in_turn, writing, active, owner, drafts, matrix, last))
            if len(in_flight) == 2:
                yield in_flight.pop(0).result()
        while in_flight:
            yield in_flight.pop(0).result()
    finally:
        if in_flight:
            stopped.set()
        writers.shutdown(wait=True, cancel_futures=True)


def computed_ahead(
    items: Iterable[_Item], prepare: Callable[[_Item], _Prepared], compute: Callable[[_Prepared], _Result]
) -> Iterator[tuple[_Prepared, _Result]]:
    """`(prepare(item), compute(prepared))` for each item, in order, with `compute` (the model) run on
    a worker thread one item ahead: item i+1 is computed while the caller works with item i
    (writes it) and then draws and prepares item i+2. Everything else stays on the caller's thread, as
    what touches a connection must (an in-memory SQLite database is one per thread). When drawing
    an item or `prepare` fails, the item before it is still handed out first; when the caller stops
    early, a computation in flight is waited for."""
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memory-model")
    pending: tuple[_Prepared, Future[_Result]] | None = None
    drawn = iter(items)
    try:
        while True:
            try:
                item = next(drawn, _END)
                if item is _END:
                    break
                prepared = prepare(cast(_Item, item))
            except BaseException:
                if pending is not None:
                    yield pending[0], pending[1].result()
                raise
            following = (prepared, worker.submit(compute, prepared))
            if pending is not None:
                yield pending[0], pending[1].result()
            pending = following
        if pending is not None:
            yield pending[0], pending[1].result()
    finally:
        worker.shutdown(wait=True, cancel_futures=True)


def write_conversation_messages(
    session: Work,
    space: EmbeddingSpace,
    conversation_id: int,
    owner: Owner,
    drafts: Sequence[MessageDraft],
    matrix: Matrix,
    when: datetime,
) -> list[Message]:
    """The messages of one conversation (stored with `owner`) with their vectors (row i for draft
    i); those without a time take `when`. One message, a chat turn's, goes the short way
    (`write_message`)."""
    if len(drafts) == 1:
        return [write_message(session, space, conversation_id, owner, drafts[0], Vector(matrix[0]), when)]
    batch = MessageBatch(conversation_id, drafts, when, owner)
    return write_messages(session, space, [batch], matrix).to_messages()


def write_message(
    session: Work,
    space: EmbeddingSpace,
    conversation_id: int,
    owner: Owner,
    draft: MessageDraft,
    vector: Vector,
    when: datetime,
) -> Message:
    """`write_messages` for the one message of a chat turn (without its time, it takes `when`),
    from plain values: the same rows, without the batch's columns and arrays."""
    created_at = draft.created_at or when
    message = ConversationRepository(session).insert_message(conversation_id, draft, created_at)
    vectors = VectorRepository(session, space)
    vectors.insert_one(message.id, conversation_id, draft.role, created_at, owner, vector)
    return message


def write_messages(
    session: Work,
    space: EmbeddingSpace,
    batches: Sequence[MessageBatch],
    matrix: Matrix,
    *,
    ids: Sequence[int] | None = None,
) -> StoredMessages:
    """Insert the messages of each batch, then all their vectors (row i of `matrix` for the i-th
    message) in one bulk write, inside the session's transaction; `ids`, as in
    `ConversationRepository.insert_messages`."""
    stored = ConversationRepository(session).insert_messages(batches, ids=ids)
    if stored.ids:
        user_keys, agent_keys = key_columns([batch.owner for batch in batches for _ in batch.drafts])
        columns = VectorColumns(
            ids=np.array(stored.ids, dtype=np.int64),
            conversation_ids=np.array(stored.conversation_ids, dtype=np.int64),
            roles=stored.roles,
            created_us=epoch_column(stored.created_at),
            user_keys=user_keys,
            agent_keys=agent_keys,
        )
        VectorRepository(session, space).insert(columns, matrix)
    return stored
