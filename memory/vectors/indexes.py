"""Which vector index a store searches with, and the one in-memory index a manager keeps."""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from memory.errors import ValidationError
from memory.models import EmbeddingSpace
from memory.vectors.index import INDEX_MODES, IndexMode, VectorIndex
from memory.vectors.snapshot import SnapshotKey, remove_snapshots

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

    def __init__(self, choice: IndexChoice, dialect: str, *, snapshot_dir: Path | None = None) -> None:
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
        self._snapshot_dir = snapshot_dir

    @property
    def approximate(self) -> bool:
        """Whether searches may walk the server's approximate (HNSW) index."""
        return self.choice == "hnsw"

    def for_space(self, space: EmbeddingSpace) -> VectorIndex | None:
        if self._mode is None:
            return None
        if self._index is None or self._index.space_id != space.id:
            self.close()
            key = SnapshotKey(
                space.id, space.dimensions, self._mode, space.created_at.isoformat(), space.fingerprint
            )
            snapshot = None if self._snapshot_dir is None else (self._snapshot_dir, key)
            self._index = VectorIndex(space.id, space.dimensions, mode=self._mode, snapshot=snapshot)
        return self._index

    def get(self, space_id: int) -> VectorIndex | None:
        """The index built for `space_id`, if any."""
        return self._index if self._index is not None and self._index.space_id == space_id else None

    def drop_snapshots(self) -> int:
        """Delete the store's index snapshots and let go of this manager's index (forgetting: the
        snapshots hold vectors); other processes let go of theirs at their next search. How many
        files went."""
        self.close()
        return 0 if self._snapshot_dir is None else remove_snapshots(self._snapshot_dir)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None
