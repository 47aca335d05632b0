"""A copy's embedding spaces: an empty destination gets the source's (ids, models, active flag); a
merge pairs each source space with the destination's space of the same model."""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from memory.copy.checksums import SPACE_CONTENT, SPACES
from memory.copy.rows import advance_sequences
from memory.errors import EmbeddingSpaceError
from memory.models import EmbeddingSpace
from memory.vectors import store_for

#: Every column of a space's row.
SPACE_COLUMNS: Final = ("id", *SPACE_CONTENT, "created_at", "is_active")
_COPIED: Final = (*SPACE_CONTENT, "created_at")

SpacePairs = list[tuple[EmbeddingSpace, EmbeddingSpace]]


def read_spaces(session: Session) -> list[EmbeddingSpace]:
    """The store's spaces in id order, as plain objects outside any session."""
    rows = session.execute(sa.select(SPACES).order_by(SPACES.c.id)).mappings().all()
    return [EmbeddingSpace(**dict(row)) for row in rows]


def space_row(space: EmbeddingSpace) -> dict[str, Any]:
    return {column: getattr(space, column) for column in SPACE_COLUMNS}


def mirror_spaces(session: Session, source_spaces: list[EmbeddingSpace]) -> SpacePairs:
    """Make the destination's spaces (it holds no vectors) the source's, ids and all, in the
    session's transaction: its own spaces are taken over (their vector table made again when the
    dimensions differ) or dropped."""
    connection = session.connection()
    present = {space.id: space for space in read_spaces(session)}
    connection.execute(sa.update(SPACES).values(is_active=False))
    pairs: SpacePairs = []
    for space in source_spaces:
        held = present.pop(space.id, None)
        values = {column: getattr(space, column) for column in _COPIED}
        if held is None:
            connection.execute(sa.insert(SPACES).values(id=space.id, is_active=False, **values))
        elif held.dimensions != space.dimensions:
            store_for(session, held).drop()
        if held is None or held.dimensions != space.dimensions:
            store_for(session, _copy_of(space)).create()
        connection.execute(sa.update(SPACES).where(SPACES.c.id == space.id).values(**values))
        pairs.append((space, _copy_of(space)))
    for leftover in present.values():
        store_for(session, leftover).drop()
        connection.execute(sa.delete(SPACES).where(SPACES.c.id == leftover.id))
    active = [space.id for space in source_spaces if space.is_active]
    connection.execute(sa.update(SPACES).where(SPACES.c.id.in_(active)).values(is_active=True))
    advance_sequences(connection, [SPACES])
    return pairs


def check_mergeable(source_spaces: list[EmbeddingSpace], dest_spaces: list[EmbeddingSpace]) -> None:
    """`EmbeddingSpaceError` unless the source's active space has the destination's active model."""
    source_active = next(space for space in source_spaces if space.is_active)
    dest_active = next((space for space in dest_spaces if space.is_active), None)
    if dest_active is None or _model_of(dest_active) != _model_of(source_active):
        theirs = (
            "no model" if dest_active is None else f"{dest_active.model!r} ({dest_active.dimensions} dims)"
        )
        raise EmbeddingSpaceError(
            f"the source's vectors were made by {source_active.model!r} ({source_active.dimensions} dims) "
            f"and the destination's by {theirs}; nothing was written: reindex one of them to the other's "
            "model first (`memory reindex --model NAME`)"
        )


def merge_spaces(
    session: Session, source_spaces: list[EmbeddingSpace], dest_spaces: list[EmbeddingSpace]
) -> SpacePairs:
    """Pair each source space with the destination's space of the same model (name, dimensions,
    fingerprint), created (inactive) where there is none, in the session's transaction."""
    by_model = {_model_of(space): space for space in dest_spaces}
    pairs: SpacePairs = []
    for space in source_spaces:
        found = by_model.get(_model_of(space))
        if found is None:
            values = {column: getattr(space, column) for column in _COPIED}
            insert = sa.insert(SPACES).values(is_active=False, **values).returning(SPACES.c.id)
            found = _copy_of(space, space_id=int(session.execute(insert).scalar_one()), active=False)
            store_for(session, found).create()
            by_model[_model_of(space)] = found
        pairs.append((space, found))
    return pairs


def _copy_of(
    space: EmbeddingSpace, *, space_id: int | None = None, active: bool | None = None
) -> EmbeddingSpace:
    values = {column: getattr(space, column) for column in _COPIED}
    return EmbeddingSpace(
        id=space.id if space_id is None else space_id,
        is_active=space.is_active if active is None else active,
        **values,
    )


def _model_of(space: EmbeddingSpace) -> tuple[str, int, str | None]:
    return space.model, space.dimensions, space.fingerprint
