"""The one place SQL identifiers are built: only from validated integers and fixed allow-lists.

Values are always bound as parameters; identifiers cannot be, so every table name that varies is
made here from an embedding space's integer id.
"""

from __future__ import annotations

import re
from typing import Final

from memory.errors import ValidationError

VECTOR_TABLE_PREFIX: Final = "message_vectors_"
# A space's vec0 table and the shadow tables sqlite-vec creates beside it (`<table>_chunks`, ...).
_VECTOR_TABLE_PATTERN: Final = re.compile(r"message_vectors_[0-9]+(_[a-z0-9_]+)?")


#: SQLite's FTS5 table over message content (its shadow tables are `messages_fts_<suffix>`), and
#: PostgreSQL's GIN expression index that plays the same part.
FULL_TEXT_TABLE: Final = "messages_fts"
FULL_TEXT_INDEX: Final = "ix_messages_content_fts"


def is_full_text_table(name: str) -> bool:
    """True for the FTS5 table and its shadow tables."""
    return name == FULL_TEXT_TABLE or name.startswith(FULL_TEXT_TABLE + "_")


def vector_table_name(space_id: int) -> str:
    """The name of the table that holds the vectors of embedding space `space_id`."""
    if type(space_id) is not int or space_id <= 0:
        raise ValidationError(f"an embedding space id must be a positive int, not {space_id!r}")
    return f"{VECTOR_TABLE_PREFIX}{space_id:d}"


def is_vector_table(name: str) -> bool:
    """True for a space's vector table and for sqlite-vec's shadow tables of it."""
    return _VECTOR_TABLE_PATTERN.fullmatch(name) is not None
