"""Which vector index a store searches with, and the one in-memory index a manager keeps."""

from __future__ import annotations

from typing import Final, Literal

from memory.errors import ValidationError
from memory.models import EmbeddingSpace
from memory.vectors.index import INDEX_MODES, IndexMode, VectorIndex

#: `MemoryManager(vector_index=...)`: the modes, and the backend each needs (None: either).
IndexChoice = IndexMode | Literal["hnsw"] | None
_BACKENDS: Final[dict[str, str | None]] = {"exact": None, "binary": "sqlite", "hnsw": "postgresql"}
_BACKEND_NAMES: Final = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def check_index_choice(choice: object) -> IndexChoice:
    """A valid `vector_index` option (checked before the store is opened)."""
    if choice is not None and choice not in _BACKENDS:
        raise ValidationError(f"vector_index must be one of {tuple(_BACKENDS)} or None, not {choice!r}")
    return choice  # type: ignore[return-value]


class IndexCache:
    """The in-memory index of the active space, built on first use and replaced when the active
    space changes; none on PostgreSQL (the server searches) or with `vector_index=None`."""

    def __init__(self, choice: IndexChoice, dialect: str) -> None:
        backend = _BACKENDS.get(choice) if choice is not None else None
        if backend is not None and backend != dialect:
            raise ValidationError(
                f"vector_index={choice!r} is for {_BACKEND_NAMES[backend]}; this store is {dialect}"
            )
        self.choice = choice
        self._mode: IndexMode | None = None
        if dialect == "sqlite" and choice in INDEX_MODES:
            self._mode = "binary" if choice == "binary" else "exact"
        self._index: VectorIndex | None = None

    @property
    def approximate(self) -> bool:
        """Whether searches may walk the server's approximate (HNSW) index."""
        return self.choice == "hnsw"

    def for_space(self, space: EmbeddingSpace) -> VectorIndex | None:
        if self._mode is None:
            return None
        if self._index is None or self._index.space_id != space.id:
            self.close()
            self._index = VectorIndex(space.id, space.dimensions, mode=self._mode)
        return self._index

    def get(self, space_id: int) -> VectorIndex | None:
        """The index built for `space_id`, if any."""
        return self._index if self._index is not None and self._index.space_id == space_id else None

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None
