"""A batch of pgvector rows as PostgreSQL's binary COPY stream, built with numpy in a few array
operations instead of one Python call per row and value.

Binary COPY (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"): a header, then
each tuple as a 16-bit field count and, per field, a 32-bit length and the value in the type's
binary send format, all big-endian; a 16-bit -1 ends the stream. A `vector` is sent as pgvector's
`vector_send` writes it (and pgvector-python's `Vector.to_binary`): 16-bit dimensions, 16 unused
bits, then the float32 components. Every field but the role has a fixed width, so the rows of one
role share one layout: each role's rows are one numpy structured array (COPY takes rows in any order).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import numpy as np
import numpy.typing as npt

from memory.vectors.base import VectorColumns

#: The columns, in the order the stream carries them (the COPY statement names them in this order).
COLUMNS: Final = ("message_id", "conversation_id", "created_at", "user_key", "agent_key", "embedding", "role")
HEADER: Final = b"PGCOPY\n\xff\r\n\x00" + np.array([0, 0], dtype=">i4").tobytes()
TRAILER: Final = np.array([-1], dtype=">i2").tobytes()
#: Rows per chunk handed to the driver: about 16 MB at 384 dimensions.
_CHUNK_ROWS: Final = 10_000


def _layout(dimensions: int, role_bytes: int) -> np.dtype[np.void]:
    return np.dtype(
        [
            ("fields", ">i2"),
            ("id_len", ">i4"),
            ("id", ">i4"),
            ("conversation_len", ">i4"),
            ("conversation", ">i4"),
            ("created_len", ">i4"),
            ("created", ">i8"),
            ("user_len", ">i4"),
            ("user", ">i8"),
            ("agent_len", ">i4"),
            ("agent", ">i8"),
            ("vector_len", ">i4"),
            ("dimensions", ">u2"),
            ("unused", ">u2"),
            ("vector", ">f4", (dimensions,)),
            ("role_len", ">i4"),
            ("role", f"S{role_bytes}"),
        ]
    )


def binary_rows(columns: VectorColumns, matrix: npt.NDArray[np.float32]) -> Iterator[bytes]:
    """The tuples of the rows (no header or trailer), in chunks of bytes."""
    roles = np.asarray(columns.roles, dtype=object)
    dimensions = matrix.shape[1]
    for role in dict.fromkeys(columns.roles):
        encoded = role.encode()
        chosen = np.flatnonzero(roles == role)
        for start in range(0, len(chosen), _CHUNK_ROWS):
            rows = chosen[start : start + _CHUNK_ROWS]
            block = np.empty(len(rows), dtype=_layout(dimensions, len(encoded)))
            block["fields"] = len(COLUMNS)
            block["id_len"] = block["conversation_len"] = 4
            block["created_len"] = block["user_len"] = block["agent_len"] = 8
            block["vector_len"] = 4 + 4 * dimensions
            block["dimensions"], block["unused"] = dimensions, 0
            block["role_len"], block["role"] = len(encoded), encoded
            block["id"] = columns.ids[rows]
            block["conversation"] = columns.conversation_ids[rows]
            block["created"] = columns.created_us[rows]
            block["user"] = columns.user_keys[rows]
            block["agent"] = columns.agent_keys[rows]
            block["vector"] = matrix[rows]
            yield block.tobytes()
