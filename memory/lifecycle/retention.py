"""Which tier a conversation belongs in: by its age, and kept in full longer when it matters.

Tiers, from hot to cold: `full` (every message), `key_points` (a few sentences that carry it, plus
its summary), `summary` (a brief summary), `metadata` (title, times and topics only). A conversation
moves down as it ages past the policy's thresholds (defaults: 30, 90 and 365 days since it was last
updated). A pinned conversation stays in full whatever its age.

The importance score, from 0 to 1, decides who ages slower; its inputs are what the store knows of a
conversation without reading it:

- `length`: its message count, saturating at `long_conversation` messages (default 40), weight 0.4;
- `back_and_forth`: how often the speaker changed between user and assistant, saturating at
  `long_exchange` changes (default 20), weight 0.4;
- `marked`: whether its owner marked it (starred in a ChatGPT export, `metadata["is_starred"]`, or
  `metadata["important"]` set by the application), weight 0.2, and a marked conversation always
  counts as important.

A conversation whose score is at least `important_at` (default 0.5) keeps each tier
`important_factor` times longer (default 3: in full for 90 days, not 30).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from memory.errors import ValidationError

Tier = Literal["full", "key_points", "summary", "metadata"]
#: From hot to cold.
TIERS: Final[tuple[Tier, ...]] = ("full", "key_points", "summary", "metadata")
_SPEAKERS: Final = frozenset({"user", "assistant"})
_WEIGHTS: Final = {"length": 0.4, "back_and_forth": 0.4, "marked": 0.2}


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long a conversation stays in each tier (days since it was last updated), and who is kept
    longer (see the module's docstring for the importance score)."""

    full_days: float = 30
    key_points_days: float = 90
    summary_days: float = 365
    important_at: float = 0.5
    important_factor: float = 3.0
    long_conversation: int = 40
    long_exchange: int = 20

    def __post_init__(self) -> None:
        days = (self.full_days, self.key_points_days, self.summary_days)
        if not all(_finite(value) and value >= 0 for value in days):
            raise ValidationError(f"a retention threshold must be a finite number of days >= 0: {days}")
        if not self.full_days <= self.key_points_days <= self.summary_days:
            raise ValidationError(
                "retention thresholds must be in order, full_days <= key_points_days <= summary_days: "
                f"{self.full_days}, {self.key_points_days}, {self.summary_days}"
            )
        if not (_finite(self.important_at) and 0 <= self.important_at <= 1):
            raise ValidationError(f"important_at must be from 0 to 1, not {self.important_at!r}")
        if not (_finite(self.important_factor) and self.important_factor >= 1):
            raise ValidationError(f"important_factor must be at least 1, not {self.important_factor!r}")
        for name in ("long_conversation", "long_exchange"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(f"{name} must be a positive int, not {value!r}")

    def importance(self, roles: Sequence[str], metadata: Mapping[str, Any]) -> float:
        """The conversation's importance, from 0 to 1 (its messages' roles in order, its metadata)."""
        speakers = [role for role in roles if role in _SPEAKERS]
        changes = sum(1 for a, b in itertools.pairwise(speakers) if a != b)
        parts = {
            "length": min(1.0, len(roles) / self.long_conversation),
            "back_and_forth": min(1.0, changes / self.long_exchange),
            "marked": 1.0 if is_marked(metadata) else 0.0,
        }
        return sum(_WEIGHTS[name] * value for name, value in parts.items())

    def tier(self, age_days: float, importance: float, *, pinned: bool = False, marked: bool = False) -> Tier:
        """The tier for a conversation last updated `age_days` ago."""
        if pinned:
            return "full"
        factor = self.important_factor if marked or importance >= self.important_at else 1.0
        for tier, limit in zip(
            TIERS, (self.full_days, self.key_points_days, self.summary_days), strict=False
        ):
            if age_days <= limit * factor:
                return tier
        return "metadata"


def is_marked(metadata: Mapping[str, Any]) -> bool:
    """Whether the owner marked the conversation as one to keep (see the module's docstring)."""
    return metadata.get("is_starred") is True or metadata.get("important") is True


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
