"""`SearchFilter`: every restriction a search can carry, one value from the facade down to the SQL.

Made from raw arguments once, by `memory.validation.search_filter`; below that, code takes the value
and trusts it. Each side of a search reads it in its own terms: the vector stores as SQL conditions
on their metadata columns (`vector_clauses`), the full-text side as conditions on `messages`
(`message_clauses`), the in-memory index as masks over its arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

import sqlalchemy as sa

from memory.identifiers import Fragment, condition, in_placeholders
from memory.models import Conversation, Message
from memory.owners import EVERYONE, Owner

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_microseconds(value: datetime) -> int:
    """A timestamp as integer microseconds since the Unix epoch (naive means UTC)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    delta = aware - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """Restrictions on a search: one conversation, some roles, a time window (`since` inclusive,
    `until` exclusive, timezone-aware), the conversations of one owner (user and/or agent). `None`
    means no restriction."""

    conversation_id: int | None = None
    roles: tuple[str, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None
    owner: Owner = EVERYONE

    @property
    def since_us(self) -> int | None:
        return None if self.since is None else epoch_microseconds(self.since)

    @property
    def until_us(self) -> int | None:
        return None if self.until is None else epoch_microseconds(self.until)

    def vector_clauses(self, mark: Literal["?", "%s"]) -> tuple[list[Fragment], list[object]]:
        """The restrictions as SQL conditions on a vector table's columns `conversation_id`, `role`,
        `created_at` (epoch microseconds), `user_key` and `agent_key` (`memory.owners.owner_key`),
        written with the driver's placeholder `mark`, and the values to bind to them."""
        conditions: list[Fragment] = []
        values: list[object] = []
        if self.conversation_id is not None:
            conditions.append(condition("conversation_id", "=", mark))
            values.append(self.conversation_id)
        if self.roles is not None:
            conditions.append(in_placeholders("role", len(self.roles), mark))
            values.extend(self.roles)
        if self.since is not None:
            conditions.append(condition("created_at", ">=", mark))
            values.append(self.since_us)
        if self.until is not None:
            conditions.append(condition("created_at", "<", mark))
            values.append(self.until_us)
        if self.owner.user_id is not None:
            conditions.append(condition("user_key", "=", mark))
            values.append(self.owner.user_key)
        if self.owner.agent_id is not None:
            conditions.append(condition("agent_key", "=", mark))
            values.append(self.owner.agent_key)
        return conditions, values

    def message_clauses(self) -> list[Any]:
        """The restrictions as SQLAlchemy conditions on `Message`."""
        conditions: list[Any] = []
        if self.conversation_id is not None:
            conditions.append(Message.conversation_id == self.conversation_id)
        if self.roles is not None:
            conditions.append(Message.role.in_(self.roles))
        if self.since is not None:
            conditions.append(Message.created_at >= self.since)
        if self.until is not None:
            conditions.append(Message.created_at < self.until)
        if self.owner.restricts:
            owned = sa.select(Conversation.id).where(*self.owner.conversation_clauses(Conversation))
            conditions.append(Message.conversation_id.in_(owned))
        return conditions
