"""What every vector backend implements; arguments arrive here already validated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """Restrictions on a search; timestamps are integer microseconds since the epoch."""

    conversation_id: int | None = None
    roles: tuple[str, ...] | None = None
    since_us: int | None = None
    until_us: int | None = None

    def clauses(self, mark: Literal["?", "%s"]) -> tuple[list[str], list[object]]:
        """The restrictions as SQL conditions on the columns `conversation_id`, `role` and
        `created_at`, written with the driver's placeholder `mark`, and the values to bind to them."""
        conditions: list[str] = []
        values: list[object] = []
        if self.conversation_id is not None:
            conditions.append(f"conversation_id = {mark}")
            values.append(self.conversation_id)
        if self.roles is not None:
            conditions.append(f"role IN ({', '.join([mark] * len(self.roles))})")
            values.extend(self.roles)
        if self.since_us is not None:
            conditions.append(f"created_at >= {mark}")
            values.append(self.since_us)
        if self.until_us is not None:
            conditions.append(f"created_at < {mark}")
            values.append(self.until_us)
        return conditions, values


@dataclass(frozen=True, slots=True)
class VectorColumns:
    """The columns stored beside each vector (used to filter searches), one entry per row."""

    ids: npt.NDArray[np.int64]
    conversation_ids: npt.NDArray[np.int64]
    roles: list[str]
    created_us: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.ids)


class VectorStore(Protocol):
    """Storage for one embedding space's vectors, on the caller's connection and transaction."""

    def create(self) -> None: ...

    def drop(self) -> None: ...

    def insert(self, columns: VectorColumns, matrix: npt.NDArray[np.float32]) -> None: ...

    def search(
        self, query: npt.NDArray[np.float32], k: int, where: SearchFilter
    ) -> list[tuple[int, float]]: ...

    def delete(self, message_ids: list[int]) -> int: ...

    def count(self) -> int: ...

    def get(self, message_ids: list[int]) -> dict[int, npt.NDArray[np.float32]]: ...

    def present(self, message_ids: list[int]) -> set[int]: ...

    def ids(self) -> list[int]: ...
