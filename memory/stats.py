"""What a store holds: counts of conversations, messages, and vectors per embedding space."""

from __future__ import annotations

from typing import Any

from memory.conversations import ConversationRepository
from memory.spaces import SpaceRepository
from memory.transactions import Work


def store_stats(session: Work) -> dict[str, Any]:
    """The counts `MemoryManager.stats()` reports, read in the session's transaction."""
    conversations = ConversationRepository(session)
    spaces = SpaceRepository(session)
    infos = [spaces.info(space) for space in spaces.all()]
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
