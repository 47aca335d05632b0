"""`Owner`: whose memory a call sees. A conversation belongs to a user and optionally an agent; a
scope (`MemoryManager.scoped`) sees one user's conversations (of one agent, when given), the
manager itself sees every conversation.

Isolation lives below the facade: a `ConversationRepository` made for an owner resolves no id
outside it, and a `SearchFilter` made for it carries the owner to both sides of a search. The
vector side filters on integer keys (`owner_key`: a 64-bit hash of the id, 0 for none), stored
beside each vector; rows are confirmed on the real ids when they are loaded, so a hash collision
could only cost a result, never show one of another owner.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa


def owner_key(value: str | None) -> int:
    """The signed 64-bit key of a user or agent id stored beside vectors: 0 for none, never 0 else."""
    if value is None:
        return 0
    key = int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "little", signed=True)
    return key or 1


@dataclass(frozen=True, slots=True)
class Owner:
    """A user (and agent) whose conversations a call may see and makes; `None` restricts nothing
    (and is what a conversation made with it stores). Made by `memory.validation.check_owner`."""

    user_id: str | None = None
    agent_id: str | None = None

    @property
    def restricts(self) -> bool:
        return self.user_id is not None or self.agent_id is not None

    @property
    def user_key(self) -> int:
        return owner_key(self.user_id)

    @property
    def agent_key(self) -> int:
        return owner_key(self.agent_id)

    def owns(self, user_id: str | None, agent_id: str | None) -> bool:
        """Whether a conversation stored with these ids is visible to this owner."""
        return (self.user_id is None or self.user_id == user_id) and (
            self.agent_id is None or self.agent_id == agent_id
        )

    def conversation_clauses(self, conversations: Any) -> list[Any]:
        """SQLAlchemy conditions on the columns of a conversations table (`table.c`) or on the
        `Conversation` model: the rows this owner sees."""
        clauses: list[Any] = []
        if self.user_id is not None:
            clauses.append(conversations.user_id == self.user_id)
        if self.agent_id is not None:
            clauses.append(conversations.agent_id == self.agent_id)
        return clauses

    def bound(self) -> dict[str, str | None]:
        """The values for `OWNED` in a prepared statement."""
        return {"owner_user": self.user_id, "owner_agent": self.agent_id}


def key_columns(owners: list[Owner]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The user keys and agent keys of rows owned by `owners` (one per row), for the vector side."""
    memo: dict[Owner, tuple[int, int]] = {}
    pairs = [memo.get(o) or memo.setdefault(o, (o.user_key, o.agent_key)) for o in owners]
    users = np.fromiter((user for user, _ in pairs), dtype=np.int64, count=len(pairs))
    agents = np.fromiter((agent for _, agent in pairs), dtype=np.int64, count=len(pairs))
    return users, agents


#: Everyone: the manager's own view, and the owner of conversations made without a scope.
EVERYONE: Final = Owner()


def owned(conversations: sa.Table) -> sa.ColumnElement[bool]:
    """A condition for a statement prepared once: the row of `conversations` is visible to the owner
    bound as `owner_user` and `owner_agent` (`Owner.bound`), where NULL restricts nothing. Meant
    for rows found by primary key, where the index the condition cannot use does not matter."""
    user = sa.cast(sa.bindparam("owner_user"), sa.String)
    agent = sa.cast(sa.bindparam("owner_agent"), sa.String)
    return sa.and_(
        sa.or_(user.is_(None), conversations.c.user_id == user),
        sa.or_(agent.is_(None), conversations.c.agent_id == agent),
    )
