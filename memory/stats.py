"""What a store holds: counts of conversations, messages, and vectors per embedding space."""

from __future__ import annotations

import dataclasses
from typing import Any

from memory.conversations import ConversationRepository
from memory.owners import EVERYONE, Owner
from memory.spaces import SpaceRepository
from memory.transactions import Work
from memory.vectors import VectorRepository


def store_stats(session: Work, owner: Owner = EVERYONE) -> dict[str, Any]:
    """The counts `MemoryManager.stats()` reports, read in the session's transaction: of `owner`'s
    conversations, messages and vectors."""
    conversations = ConversationRepository(session, owner=owner)
    spaces = SpaceRepository(session)
    infos = [spaces.info(space) for space in spaces.all()]
    if owner.restricts:  # the owner's vectors: those of its messages
        ids = conversations.message_ids()
        counts = {space.id: len(VectorRepository(session, space).present(ids)) for space in spaces.all()}
        infos = [dataclasses.replace(info, vectors=counts[info.id]) for info in infos]
    return {
        "conversations": conversations.count(),
        "messages": conversations.count_messages(),
        "vectors": {info.id: info.vectors for info in infos},
        "active_space": next((info.id for info in infos if info.active), None),
        "spaces": [
            {
                "id": info.id,
                "model": info.model,
                "dimensions": info.dimensions,
                "vectors": info.vectors,
                "active": info.active,
            }
            for info in infos
        ],
    }
