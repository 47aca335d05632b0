"""Content checksums of a store's rows, the same on SQLite and PostgreSQL: per table (how many rows,
and a sha256 of what they hold) and per conversation (a digest of its row and its messages).

Rows are hashed as the models read them (aware UTC times, metadata as JSON objects), each encoded
as canonical JSON, so a row copied between backends hashes the same on both sides.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from memory.models import Conversation, EmbeddingSpace, Message

CONVERSATIONS: Final = cast(sa.Table, Conversation.__table__)
MESSAGES: Final = cast(sa.Table, Message.__table__)
SPACES: Final = cast(sa.Table, EmbeddingSpace.__table__)

#: What a row holds besides its ids (a merge may give a copy other ids).
CONVERSATION_CONTENT: Final = tuple(column.key for column in CONVERSATIONS.c if column.key != "id")
MESSAGE_CONTENT: Final = tuple(
    column.key for column in MESSAGES.c if column.key not in ("id", "conversation_id")
)
SPACE_CONTENT: Final = ("model", "dimensions", "metric", "fingerprint")

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class TableCheck:
    """One table as the source and the destination hold it: how many rows, and a sha256 of them."""

    table: str
    source_rows: int
    dest_rows: int
    source_checksum: str
    dest_checksum: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.dest_rows and self.source_checksum == self.dest_checksum


class TableHash:
    """A running count and sha256 of encoded rows, in the order they are added."""

    def __init__(self) -> None:
        self.rows = 0
        self._hash = hashlib.sha256()

    def add(self, encoded: bytes) -> None:
        self.rows += 1
        self._hash.update(len(encoded).to_bytes(8, "little"))
        self._hash.update(encoded)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def encode(row: Row, columns: Iterable[str]) -> bytes:
    """The values of `columns` in `row` as canonical JSON (times in ISO 8601, keys sorted)."""
    values = [row[column] for column in columns]
    text = json.dumps(values, default=_plain, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.encode()


def encode_vector(vector: npt.NDArray[np.float32], message_id: int | None) -> bytes:
    """A vector's float32 bytes (little-endian), after its message id when ids count."""
    head = b"" if message_id is None else message_id.to_bytes(8, "little", signed=True)
    return head + np.asarray(vector, dtype="<f4").tobytes()


def conversation_digest(conversation: Row, messages: Iterable[Row]) -> str:
    """A sha256 of a conversation's content and its messages' (in the order given), ids left out:
    the same conversation under other ids has the same digest."""
    digest = TableHash()
    digest.add(encode(conversation, CONVERSATION_CONTENT))
    for message in messages:
        digest.add(encode(message, MESSAGE_CONTENT))
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} in a checksum")
