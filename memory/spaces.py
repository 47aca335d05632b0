"""The registry of embedding spaces: which model made which vectors, and which space is active."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memory.embedding.base import Embedder
from memory.errors import EmbeddingSpaceError, NotFoundError, ValidationError, translates_errors
from memory.models import EmbeddingSpace
from memory.statements import Prepared
from memory.transactions import Work, orm_session
from memory.validation import check_id
from memory.vectors import VectorRepository, store_for

_SPACES: Final = cast(sa.Table, EmbeddingSpace.__table__)
_ACTIVE: Final = Prepared(
    sa.select(_SPACES.c.id, _SPACES.c.model, _SPACES.c.dimensions, _SPACES.c.fingerprint).where(
        _SPACES.c.is_active
    )
)


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


@translates_errors("spaces")
class SpaceRepository:
    """Embedding spaces and their vector tables, inside `session`'s transaction."""

    def __init__(self, session: Work) -> None:
        self._work = session

    @property
    def session(self) -> Session:
        """The ORM session the repository works in."""
        return orm_session(self._work)

    def active(self) -> EmbeddingSpace:
        space = self.session.scalars(sa.select(EmbeddingSpace).where(EmbeddingSpace.is_active)).one_or_none()
        if space is None:
            raise EmbeddingSpaceError("the database has no active embedding space; run `memory db upgrade`")
        return space

    def get(self, space_id: int) -> EmbeddingSpace:
        space_id = check_id(space_id, "space_id")
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
        store_for(self._work, space).create()
        return space

    def count_vectors(self, space: EmbeddingSpace) -> int:
        return VectorRepository(self._work, space).count()

    def adopt(self, space: EmbeddingSpace, embedder: Embedder) -> None:
        """Give an empty space to `embedder`, rebuilding its vector table if the dimensions change."""
        dimensions = _checked_dimensions(embedder)
        if dimensions != space.dimensions:
            store_for(self._work, space).drop()
            space.dimensions = dimensions
            store_for(self._work, space).create()
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
        store_for(self._work, space).drop()
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


def open_space(session: Work, embedder: Embedder) -> EmbeddingSpace:
    """The active space, which `embedder` must fill: the policy for opening a store with a model.

    A space made by the same model (name, dimensions, fingerprint) is used as it is. A space whose
    vectors carry no fingerprint (written by the low-level API, or before fingerprints existed) is
    taken at its word when name and dimensions agree, and the fingerprint recorded from then on. An
    empty space takes the model it is opened with. Anything else raises `EmbeddingSpaceError`.
    """
    spaces = SpaceRepository(session)
    active = spaces.active()
    if matches(active, embedder):
        return active
    unfingerprinted = active.fingerprint is None and (active.model, active.dimensions) == (
        embedder.name,
        embedder.dimensions,
    )
    if unfingerprinted or spaces.count_vectors(active) == 0:
        spaces.adopt(active, embedder)
        return active
    raise EmbeddingSpaceError(
        f"this database's vectors were made by {describe(active)}, but it was opened with "
        f"{embedder.name!r} ({embedder.dimensions} dimensions, fingerprint "
        f"{embedder.fingerprint[:19]}); open it with that model, or move it to the new one "
        "with MemoryManager(url, embedder=<old>).reindex(<new>) or `memory reindex --model NAME`"
    )


def checked_active(session: Work, known: EmbeddingSpace, embedder: Embedder) -> EmbeddingSpace:
    """The active space, which must still be `known` (the space `embedder` fills) or another space
    made by `embedder`; one small query when nothing changed (this runs in every write)."""
    row = _ACTIVE.first(session.connection())
    if row is None:
        raise EmbeddingSpaceError("the database has no active embedding space; run `memory db upgrade`")
    if tuple(row) == (known.id, known.model, known.dimensions, known.fingerprint):
        return known
    active = SpaceRepository(session).get(row[0])
    if not matches(active, embedder):
        raise EmbeddingSpaceError(
            f"the active embedding space changed to {describe(active)} (reindexed by another process); "
            "reopen the store with that model"
        )
    return active


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
