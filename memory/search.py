"""Semantic search over the active space: nearest vectors, returned with their messages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from memory.conversations import ConversationRepository
from memory.models import EmbeddingSpace, Message
from memory.vectors import VectorIndex, VectorRepository


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A message found by a search: `distance` is the cosine distance, `score` is 1 - distance."""

    message: Message
    distance: float

    @property
    def score(self) -> float:
        return 1.0 - self.distance


def search_messages(
    session: Session,
    space: EmbeddingSpace,
    vector: npt.NDArray[np.float32] | Any,
    k: int,
    *,
    conversation_id: int | None = None,
    roles: Iterable[str] | str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    index: VectorIndex | None = None,
    approximate: bool = False,
) -> list[SearchHit]:
    """The `k` messages nearest to `vector` in `space`, nearest first, loaded in the same transaction."""
    hits = VectorRepository(session, space, index=index, approximate=approximate).search(
        vector, k, conversation_id=conversation_id, roles=roles, since=since, until=until
    )
    messages = ConversationRepository(session).messages_by_id([message_id for message_id, _ in hits])
    return [
        SearchHit(messages[message_id], distance) for message_id, distance in hits if message_id in messages
    ]
