"""`VectorRepository`: an embedding space's vectors, read and written inside a `Session`'s transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Final, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt

from memory.conversations import ConversationRepository
from memory.deferred_indexes import DeferredIndex
from memory.errors import ValidationError, translates_errors
from memory.filters import SearchFilter, epoch_microseconds
from memory.models import ROLES, EmbeddingSpace
from memory.owners import EVERYONE, Owner, key_columns
from memory.transactions import Work
from memory.validation import (
    Matrix,
    Vector,
    as_matrix,
    as_vector,
    check_datetime,
    check_id,
    check_k,
    check_owner,
    check_roles,
    search_filter,
)
from memory.vectors.base import VectorColumns, VectorStore, cosine_distances
from memory.vectors.index import VectorIndex
from memory.vectors.pgvector import PgVectorStore
from memory.vectors.sqlite import SqliteVecStore

_ROLES: Final = frozenset(ROLES)
_T = TypeVar("_T")


class VectorRow(NamedTuple):
    """One vector to store, with the message columns that searches filter on."""

    message_id: int
    vector: Any
    conversation_id: int
    role: str
    created_at: datetime


@translates_errors("vectors")
class VectorRepository:
    """The vectors of one embedding space, on `session`'s connection and inside its transaction.

    A message and its vector therefore commit or roll back together. The public methods check every
    argument before any SQL runs, and a batch is written all or nothing (in a savepoint). `insert`,
    `nearest` and `fetch` take values `memory.validation` already made, for callers that checked them.
    """

    def __init__(
        self,
        session: Work,
        space: EmbeddingSpace,
        *,
        index: VectorIndex | None = None,
        approximate: bool = False,
    ) -> None:
        self._work = session
        self.space = space
        self.index = index if index is not None and index.space_id == space.id else None
        #: PostgreSQL: search through the HNSW index instead of reading every vector.
        self.approximate = approximate

    @property
    def dimensions(self) -> int:
        return int(self.space.dimensions)

    # -- raw arguments, checked here ------------------------------------------------------------------

    def add(
        self, message_id: int, vector: Any, *, conversation_id: int, role: str, created_at: datetime
    ) -> None:
        """Store the vector of one message."""
        self.add_many([VectorRow(message_id, vector, conversation_id, role, created_at)])

    def add_many(self, rows: Iterable[VectorRow | Sequence[Any]]) -> int:
        """Store many vectors in one statement; returns how many were written."""
        if isinstance(rows, str | bytes):
            raise ValidationError("rows must be an iterable of VectorRow")
        columns: list[list[Any]] = [[], [], [], [], []]
        for index, row in enumerate(rows):
            try:
                message_id, vector, conversation_id, role, created_at = row
            except (TypeError, ValueError) as exc:
                raise ValidationError(
                    f"row {index}: expected (message_id, vector, conversation_id, role, created_at)"
                ) from exc
            try:
                checked = as_vector(vector, self.dimensions)
            except ValidationError as exc:
                raise type(exc)(f"row {index}: {exc}") from None
            for column, value in zip(
                columns, (message_id, checked, conversation_id, role, created_at), strict=True
            ):
                column.append(value)
        ids, vectors, conversation_ids, roles, times = columns
        if not ids:
            raise ValidationError("expected at least one vector, got an empty batch")
        return self.add_matrix(
            ids, np.stack(vectors), conversation_ids=conversation_ids, roles=roles, created_at=times
        )

    def add_matrix(
        self,
        message_ids: Sequence[int],
        vectors: Any,
        *,
        conversation_ids: int | Sequence[int],
        roles: str | Sequence[str],
        created_at: datetime | Sequence[datetime],
    ) -> int:
        """Store many vectors given column-wise (the bulk-load path): row i of `vectors` belongs to
        `message_ids[i]`; a single conversation id, role or time applies to every row."""
        matrix = as_matrix(vectors, self.dimensions, allow_single=False)
        n = len(matrix)
        ids = _id_column(list(message_ids), "message_id")
        if len(ids) != n:
            raise ValidationError(f"got {n} vectors for {len(ids)} message ids")
        if len(np.unique(ids)) != n:
            raise ValidationError("a message id appears twice in the batch")
        conversations = _id_column(_column(conversation_ids, n, "conversation_ids", int), "conversation_id")
        role_column = _column(roles, n, "roles", str)
        if not set(role_column) <= _ROLES:
            check_roles(role_column)  # raises, naming the bad role
        times = [
            check_datetime(value, "created_at") for value in _column(created_at, n, "created_at", datetime)
        ]
        user_keys, agent_keys = self._owner_keys(conversations)
        columns = VectorColumns(
            ids=ids,
            conversation_ids=conversations,
            roles=role_column,
            created_us=epoch_column(times),
            user_keys=user_keys,
            agent_keys=agent_keys,
        )
        # A savepoint makes the batch all or nothing even inside a longer transaction.
        with self._work.connection().begin_nested():
            self.insert(columns, matrix)
        return n

    def search(
        self,
        vector: Any,
        k: int = 10,
        *,
        conversation_id: int | None = None,
        roles: Iterable[str] | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
    ) -> list[tuple[int, float]]:
        """The `k` nearest messages as `(message_id, cosine distance)`, nearest first.

        `since` is inclusive, `until` exclusive; `user_id` and `agent_id` keep the vectors of those
        owners' conversations.
        """
        where = search_filter(
            conversation_id=conversation_id,
            roles=roles,
            since=since,
            until=until,
            owner=check_owner(user_id, agent_id),
        )
        return self.nearest(as_vector(vector, self.dimensions), check_k(k), where)

    def delete(self, message_ids: Iterable[int]) -> int:
        """Delete the vectors of these messages; returns how many existed."""
        ids = [check_id(message_id, "message_id") for message_id in message_ids]
        return self._store().delete(ids) if ids else 0

    def repack(self) -> int:
        """Give back the room deleted vectors left inside the store (SQLite: vec0 chunks left mostly
        empty), in the caller's transaction; how many chunks were freed. A VACUUM afterwards returns
        the freed pages to the file system."""
        return self._store().repack()

    def count(self) -> int:
        """How many vectors this space holds."""
        return self._store().count()

    def get(self, message_ids: Iterable[int]) -> dict[int, npt.NDArray[np.float32]]:
        """The stored vectors of these messages, by message id (absent ids are left out)."""
        return self.fetch([check_id(message_id, "message_id") for message_id in message_ids])

    def present(self, message_ids: Iterable[int]) -> set[int]:
        """Which of these messages have a vector in this space."""
        ids = [check_id(message_id, "message_id") for message_id in message_ids]
        return self._store().present(ids) if ids else set()

    def ids(self) -> list[int]:
        """The ids of every message with a vector in this space."""
        return self._store().ids()

    # -- values made by memory.validation, trusted -----------------------------------------------------

    def insert(self, columns: VectorColumns, matrix: Matrix) -> None:
        """Store checked rows in the caller's transaction (no savepoint: the caller's transaction
        is the unit of all or nothing)."""
        self._store().insert(columns, matrix)

    def insert_one(
        self,
        message_id: int,
        conversation_id: int,
        role: str,
        created_at: datetime,
        owner: Owner,
        vector: Vector,
    ) -> None:
        """`insert` for the one row of a chat turn, from plain values; `owner` is the one the
        conversation was stored with."""
        created_us, keys = epoch_microseconds(created_at), (owner.user_key, owner.agent_key)
        self._store().insert_one(message_id, conversation_id, role, created_us, keys, vector)

    def drop_approximate_index(self) -> None:
        """PostgreSQL: drop the space's HNSW index for a bulk load (rows go in without it; approximate
        searches read every row meanwhile). SQLite keeps no approximate index on disk: nothing."""
        self._store().drop_index()

    def build_approximate_index(self) -> None:
        """PostgreSQL: build the space's HNSW index if it is missing. SQLite: nothing."""
        self._store().build_index()

    def secondary_indexes(self) -> tuple[DeferredIndex, ...]:
        """PostgreSQL: the space's scope and owner indexes, which a bulk load drops and builds
        again after (`memory.deferred_indexes`). SQLite: none."""
        return self._store().secondary_indexes()

    def has_approximate_index(self) -> bool:
        """False only on PostgreSQL, for a space whose HNSW index is missing (a bulk load runs or
        was cut short)."""
        return self._store().has_index()

    def erase(self, message_ids: list[int]) -> int:
        """Delete the vectors of these (int) message ids with their bytes overwritten where the
        store keeps them (see the stores' `erase`); how many existed."""
        erased = 0
        for start in range(0, len(message_ids), 5000):
            erased += self._store().erase(message_ids[start : start + 5000])
        return erased

    def nearest(
        self, query: Vector, k: int, where: SearchFilter, *, precise: int | None = None
    ) -> list[tuple[int, float]]:
        """`search` for a checked query, k and filter: the in-memory index when it can answer for
        this transaction, else the store (`precise`: see `VectorStore.search`)."""
        if self.index is not None:
            hits = self.index.search(self._work.connection(), query, k, where)
            if hits is not None:
                return hits
        return self._store().search(query, k, where, precise=precise)

    def nearest_with(
        self,
        query: Vector,
        k: int,
        where: SearchFilter,
        meanwhile: Callable[[], _T],
        *,
        precise: int | None = None,
    ) -> tuple[list[tuple[int, float]], _T]:
        """`nearest`, and `meanwhile()` (other work on this transaction, such as the words side of a
        hybrid search): run on this thread while the in-memory index scans on its own threads, else
        after (a search through a manager on a server runs its words side on a second connection
        instead: `memory.search.WordsApart`)."""
        done: list[_T] = []
        if self.index is not None:
            hits = self.index.search(
                self._work.connection(), query, k, where, meanwhile=lambda: done.append(meanwhile())
            )
            if hits is not None:
                return hits, done[0]
        return self._store().search(query, k, where, precise=precise), meanwhile()

    def fetch(self, message_ids: list[int]) -> dict[int, npt.NDArray[np.float32]]:
        """The stored vectors of these (int) message ids."""
        return self._store().get(message_ids) if message_ids else {}

    def distances(self, query: Vector, message_ids: list[int]) -> dict[int, float]:
        """The cosine distance from a checked query to the stored vector of each of these (int)
        message ids (none for an id without one): from the in-memory index when it can answer for
        this transaction, else from the store."""
        if not message_ids:
            return {}
        if self.index is not None:
            found = self.index.vectors(self._work.connection(), message_ids)
            if found is not None:
                return cosine_distances(query, found)
        return self._store().distances(query, message_ids)

    def _owner_keys(
        self, conversation_ids: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The owner keys of each row's conversation (none for a conversation that does not exist)."""
        owners = ConversationRepository(self._work).owners_of(np.unique(conversation_ids).tolist())
        return key_columns([owners.get(c, EVERYONE) for c in conversation_ids.tolist()])

    def _store(self) -> VectorStore:
        return store_for(self._work, self.space, approximate=self.approximate)


def epoch_column(values: list[datetime]) -> npt.NDArray[np.int64]:
    """Aware times as epoch microseconds, converted once per distinct time (a batch shares one)."""
    if len(values) > 1 and all(value is values[0] for value in values):
        return np.full(len(values), epoch_microseconds(values[0]), dtype=np.int64)
    memo: dict[datetime, int] = {}
    result = []
    for value in values:
        micros = memo.get(value)
        if micros is None:
            micros = memo[value] = epoch_microseconds(value)
        result.append(micros)
    return np.array(result, dtype=np.int64)


def _column(value: Any, n: int, what: str, scalar: type) -> list[Any]:
    """A per-row column: a scalar repeated n times, or a sequence of exactly n values."""
    if isinstance(value, scalar) or (scalar is int and isinstance(value, np.integer)):
        return [value] * n
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise ValidationError(f"{what} must be one value or a sequence of {n}")
    values = list(value)
    if len(values) != n:
        raise ValidationError(f"{what} has {len(values)} values for {n} vectors")
    return values


def _id_column(values: list[Any], what: str) -> npt.NDArray[np.int64]:
    """Integer ids as an int64 array (bulk loads pass plain ints: checked in one pass)."""
    if not all(type(value) is int for value in values):
        values = [check_id(value, what) for value in values]
    try:
        return np.array(values, dtype=np.int64)
    except OverflowError:
        raise ValidationError(f"a {what} is outside the 64-bit integer range") from None


def store_for(session: Work, space: EmbeddingSpace, *, approximate: bool = False) -> VectorStore:
    """The storage backend for `space` on the session's connection, chosen by dialect."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return PgVectorStore(connection, space.id, space.dimensions, approximate=approximate)
    if connection.dialect.name == "sqlite":
        return SqliteVecStore(connection, space.id, space.dimensions)
    raise ValidationError(f"memory stores vectors in SQLite or PostgreSQL, not {connection.dialect.name}")
