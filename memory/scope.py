"""`MemoryScope`: one user's memory (of one of their agents, when given), from `MemoryManager.scoped`."""

from __future__ import annotations

from memory.facade import Core, MemoryFacade
from memory.owners import Owner


class MemoryScope(MemoryFacade):
    """The manager's conversation, message, search, recall, stats and forget methods, with the same
    names and arguments, bound to one owner:

    - everything it creates belongs to the owner;
    - an id outside the owner's conversations behaves exactly as one that does not exist
      (`NotFoundError`, with the same message), for reads, writes and deletes alike;
    - searches, recall over every conversation, listings, stats and exports see only the owner's;
      `user_id` and `agent_id` filters narrow within it (another user's: nothing);
    - `forget()` forgets all of it.

    It shares the manager's engine and embedder: it needs no closing, and closes with the manager.
    """

    def __init__(self, core: Core, owner: Owner) -> None:
        self._core = core
        self._owner = owner

    @property
    def user_id(self) -> str | None:
        return self._owner.user_id

    @property
    def agent_id(self) -> str | None:
        return self._owner.agent_id

    def __repr__(self) -> str:
        return f"MemoryScope(user_id={self.user_id!r}, agent_id={self.agent_id!r})"
