"""What every importer produces: one `ImportRecord` per conversation, or a `RecordError` for a bad one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from memory.errors import ValidationError


class RecordError(ValidationError):
    """One record of an import file is malformed; `location` says where (line or index)."""

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f"{location}: {reason}")
        self.location = location
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """One conversation read from a file, with its messages as `MemoryManager` takes them;
    `do_not_remember` when its owner asked that it not be remembered (imported only on request)."""

    location: str
    source_id: str
    title: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    do_not_remember: bool = False


def parse_timestamp(value: Any, what: str) -> datetime | None:
    """ISO 8601 text (naive means UTC) or Unix seconds, as an aware datetime."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a timestamp, not {value!r}")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValueError(f"{what} {value!r} is not a valid Unix time") from exc
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{what} {value!r} is not an ISO 8601 timestamp") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError(f"{what} must be a timestamp, not {type(value).__name__}")
