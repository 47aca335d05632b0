"""What every vector backend implements; arguments arrive here already validated (`memory.validation`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from memory.deferred_indexes import DeferredIndex
from memory.filters import SearchFilter


@dataclass(frozen=True, slots=True)
class VectorColumns:
    """The columns stored beside each vector (used to filter searches), one entry per row."""

    ids: npt.NDArray[np.int64]
    conversation_ids: npt.NDArray[np.int64]
    roles: list[str]
    created_us: npt.NDArray[np.int64]
    #: `memory.owners.owner_key` of each row's conversation's user and agent.
    user_keys: npt.NDArray[np.int64]
    agent_keys: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.ids)


class VectorStore(Protocol):
    """Storage for one embedding space's vectors, on the caller's connection and transaction."""

    def create(self) -> None: ...

    def drop(self) -> None: ...

    def has_index(self) -> bool:
        """Whether the approximate-search index is there (always, where the store keeps none)."""
        ...

    def drop_index(self) -> None:
        """Drop the approximate-search index ahead of a bulk load (PostgreSQL's HNSW: building it
        afresh costs several times less than inserting row by row into it); `build_index` builds
        it again. Search stays exact and correct meanwhile."""
        ...

    def build_index(self) -> None:
        """Build the index `drop_index` dropped (nothing when it is there)."""
        ...

    def secondary_indexes(self) -> tuple[DeferredIndex, ...]:
        """The indexes beside the approximate one that a bulk load may drop and build again after
        (`memory.deferred_indexes`): PostgreSQL's scope and owner B-trees; none on SQLite."""
        ...

    def insert(self, columns: VectorColumns, matrix: npt.NDArray[np.float32]) -> None:
        """Store the rows; a failure midway may leave some written (callers that go on after an
        error wrap the call in a savepoint)."""
        ...

    def insert_one(
        self,
        message_id: int,
        conversation_id: int,
        role: str,
        created_us: int,
        owner_keys: tuple[int, int],
        vector: npt.NDArray[np.float32],
    ) -> None:
        """Store one row (a chat turn's), from plain values; `owner_keys` are (user key, agent key)."""
        ...

    def search(
        self, query: npt.NDArray[np.float32], k: int, where: SearchFilter, *, precise: int | None = None
    ) -> list[tuple[int, float]]:
        """The `k` nearest rows that pass `where`, as (message id, cosine distance), nearest first.
        An approximate index may take only the first `precise` (default `k`) as carefully as a
        search for that many (the rest feed a fusion, where order matters less); exact ones
        ignore it."""
        ...

    def delete(self, message_ids: list[int]) -> int: ...

    def erase(self, message_ids: list[int]) -> int:
        """`delete`, leaving none of the vectors' bytes where the store can overwrite them."""
        ...

    def repack(self) -> int:
        """Give back the room deleted rows left inside the store's own structures, where it keeps
        any; how many units (vec0 chunks) were freed."""
        ...

    def count(self) -> int: ...

    def get(self, message_ids: list[int]) -> dict[int, npt.NDArray[np.float32]]: ...

    def distances(self, query: npt.NDArray[np.float32], message_ids: list[int]) -> dict[int, float]:
        """The cosine distance from `query` to each stored vector of `message_ids` (none for an id
        without one), as `search` measures it."""
        ...

    def present(self, message_ids: list[int]) -> set[int]: ...

    def ids(self) -> list[int]: ...


def cosine_distances(
    query: npt.NDArray[np.float32], vectors: dict[int, npt.NDArray[np.float32]]
) -> dict[int, float]:
    """The cosine distance from `query` to each of `vectors` (nan for a zero vector)."""
    unit = query / np.linalg.norm(query)
    distances = {}
    for message_id, vector in vectors.items():
        norm = float(np.linalg.norm(vector))
        distances[message_id] = float(1.0 - np.dot(unit, vector) / norm) if norm else float("nan")
    return distances
