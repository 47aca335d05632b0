"""The registry of embedding spaces: which model made which vectors, and which space is active."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memory.embedding.base import Embedder
from memory.errors import EmbeddingSpaceError, NotFoundError, ValidationError
from memory.models import EmbeddingSpace
from memory.vectors import VectorRepository, store_for


@dataclass(frozen=True, slots=True)
class SpaceInfo:
    """One embedding space as `MemoryManager.spaces()` reports it."""

    id: int
    model: str
    dimensions: int
    metric: str
    fingerprint: str | None
    vectors: int
    active: bool


class SpaceRepository:
    """Embedding spaces and their vector tables, inside `session`'s transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def active(self) -> EmbeddingSpace:
        space = self.session.scalars(sa.select(EmbeddingSpace).where(EmbeddingSpace.is_active)).one_or_none()
        if space is None:
            raise EmbeddingSpaceError("the database has no active embedding space; run `memory db upgrade`")
        return space

    def get(self, space_id: int) -> EmbeddingSpace:
        space = self.session.get(EmbeddingSpace, space_id)
        if space is None:
            raise NotFoundError(f"no embedding space with id {space_id}")
        return space

    def all(self) -> list[EmbeddingSpace]:
        return list(self.session.scalars(sa.select(EmbeddingSpace).order_by(EmbeddingSpace.id)))

    def find(self, embedder: Embedder) -> EmbeddingSpace | None:
        """The space whose vectors `embedder` made (same name, dimensions and fingerprint)."""
        for space in self.all():
            if matches(space, embedder):
                return space
        return None

    def create(self, embedder: Embedder) -> EmbeddingSpace:
        """Register a new, inactive space for `embedder` and create its vector table."""
        space = EmbeddingSpace(
            model=embedder.name,
            dimensions=_checked_dimensions(embedder),
            metric="cosine",
            fingerprint=embedder.fingerprint,
            is_active=False,
        )
        self.session.add(space)
        self.session.flush()
        store_for(self.session, space).create()
        return space

    def count_vectors(self, space: EmbeddingSpace) -> int:
        return VectorRepository(self.session, space).count()

    def adopt(self, space: EmbeddingSpace, embedder: Embedder) -> None:
        """Give an empty space to `embedder`, rebuilding its vector table if the dimensions change."""
        dimensions = _checked_dimensions(embedder)
        if dimensions != space.dimensions:
            store_for(self.session, space).drop()
            space.dimensions = dimensions
            store_for(self.session, space).create()
        space.model, space.fingerprint = embedder.name, embedder.fingerprint
        self.session.flush()

    def activate(self, space: EmbeddingSpace) -> None:
        # Two statements: the partial unique index allows one active space at any moment.
        self.session.execute(
            sa.update(EmbeddingSpace).where(EmbeddingSpace.id != space.id).values(is_active=False)
        )
        self.session.execute(
            sa.update(EmbeddingSpace).where(EmbeddingSpace.id == space.id).values(is_active=True)
        )
        self.session.refresh(space)

    def drop(self, space_id: int) -> None:
        space = self.get(space_id)
        if space.is_active:
            raise ValidationError(
                f"embedding space {space_id} is the active space; reindex into another space "
                "before dropping it"
            )
        store_for(self.session, space).drop()
        self.session.delete(space)
        self.session.flush()

    def info(self, space: EmbeddingSpace) -> SpaceInfo:
        return SpaceInfo(
            id=space.id,
            model=space.model,
            dimensions=space.dimensions,
            metric=space.metric,
            fingerprint=space.fingerprint,
            vectors=self.count_vectors(space),
            active=space.is_active,
        )


def matches(space: EmbeddingSpace, embedder: Embedder) -> bool:
    return (space.model, space.dimensions, space.fingerprint) == (
        embedder.name,
        embedder.dimensions,
        embedder.fingerprint,
    )


def describe(space: EmbeddingSpace) -> str:
    fingerprint = (space.fingerprint or "none")[:19]
    return f"{space.model!r} ({space.dimensions} dimensions, fingerprint {fingerprint})"


def _checked_dimensions(embedder: Embedder) -> int:
    dimensions = embedder.dimensions
    if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
        raise ValidationError(f"embedder {embedder.name!r} reports invalid dimensions {dimensions!r}")
    return dimensions
