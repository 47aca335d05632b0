"""The one place SQL text is assembled from parts: identifiers only from validated integers and fixed
allow-lists, fragments only from fixed text and placeholders.

Values are always bound as parameters. Names cannot be, so every name that varies (a space's vector
table, a vec0 shadow table, a model's own table or column) is made here as an `Identifier`, and every
piece of SQL that varies (placeholders, the conditions of a filter) as a `Fragment`. `sql()` fills a
statement template with such parts and refuses anything else, so a plain string can never be spliced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final, Literal

from memory.errors import ValidationError


class Identifier(str):
    """A name safe to write into SQL text (made only by this module's functions)."""

    __slots__ = ()


class Fragment(str):
    """A piece of SQL made of fixed text, identifiers and placeholders (never of a value)."""

    __slots__ = ()


VECTOR_TABLE_PREFIX: Final = "message_vectors_"
# A space's vec0 table and the shadow tables sqlite-vec creates beside it (`<table>_chunks`, ...).
_VECTOR_TABLE_PATTERN: Final = re.compile(r"message_vectors_[0-9]+(_[a-z0-9_]+)?")
#: sqlite-vec 0.1.9's shadow tables of a vec0 table with three metadata and two vector columns, and
#: the columns of them that hold blobs.
VEC0_SHADOWS: Final = frozenset(
    {
        "info",
        "chunks",
        "rowids",
        "vector_chunks00",
        "vector_chunks01",
        "metadatachunks00",
        "metadatachunks01",
        "metadatachunks02",
        "metadatachunks03",
        "metadatachunks04",
    }
)
VEC0_BLOB_COLUMNS: Final = frozenset({"vectors", "data"})
_NAME: Final = re.compile(r"[a-z_][a-z0-9_]*")
_MARKS: Final = frozenset({"?", "%s"})
_MAX_SERVER_NAME: Final = 63  # PostgreSQL's NAMEDATALEN - 1

#: SQLite's FTS5 table over message content (its shadow tables are `messages_fts_<suffix>`), and
#: PostgreSQL's GIN index that plays the same part, on the stored `tsvector` column of `messages`
#: (generated from the content by the server; not a column of the model).
FULL_TEXT_TABLE: Final = "messages_fts"
FULL_TEXT_INDEX: Final = "ix_messages_content_fts"
FULL_TEXT_COLUMN: Final = "content_words"
#: The FTS5 table as an identifier for SQL text, and its shadow table of index blocks (row 1 holds
#: the index's averages, message count first).
FULL_TEXT_NAME: Final = Identifier(FULL_TEXT_TABLE)
FULL_TEXT_DATA: Final = Identifier(f"{FULL_TEXT_TABLE}_data")


def vector_table_name(space_id: int) -> Identifier:
    """The name of the table that holds the vectors of embedding space `space_id`."""
    if type(space_id) is not int or space_id <= 0:
        raise ValidationError(f"an embedding space id must be a positive int, not {space_id!r}")
    return Identifier(f"{VECTOR_TABLE_PREFIX}{space_id:d}")


def vec0_shadow(table: str, suffix: str) -> Identifier:
    """The name of one of sqlite-vec's shadow tables of the vector table `table`."""
    if not is_vector_table(table) or suffix not in VEC0_SHADOWS:
        raise ValueError(f"not a vec0 shadow table: {table!r} + {suffix!r}")
    return Identifier(f"{table}_{suffix}")


def vec0_blob_column(name: str) -> Identifier:
    if name not in VEC0_BLOB_COLUMNS:
        raise ValueError(f"not a vec0 blob column: {name!r}")
    return Identifier(name)


def model_name(name: str) -> Identifier:
    """A table or column name of the package's own models (plain lower-case names only)."""
    if _NAME.fullmatch(name) is None:
        raise ValueError(f"not a model identifier: {name!r}")
    return Identifier(name)


def schema_name(name: str) -> Identifier:
    """A PostgreSQL schema for memory's tables: a plain lower-case name of at most 63 characters,
    not one of the server's own (`pg_*`, `information_schema`)."""
    if (
        not isinstance(name, str)
        or _NAME.fullmatch(name) is None
        or len(name) > _MAX_SERVER_NAME
        or name.startswith("pg_")
        or name == "information_schema"
    ):
        raise ValidationError(
            f"a schema must be a lower-case name of letters, digits and underscores, at most "
            f"{_MAX_SERVER_NAME} characters, not starting with a digit or pg_: {name!r}"
        )
    return Identifier(name)


def test_database_name(suffix: str) -> Identifier:
    """The name of a throw-away test database: `memory_test_<32 hex digits>`."""
    if re.fullmatch(r"[0-9a-f]{32}", suffix) is None:
        raise ValueError(f"not a test database suffix: {suffix!r}")
    return Identifier(f"memory_test_{suffix}")


def name_list(names: Iterable[str]) -> Fragment:
    """Model column names, comma-separated."""
    return Fragment(", ".join(model_name(name) for name in names))


def placeholders(count: int, mark: Literal["?", "%s"] = "?") -> Fragment:
    """`count` bind markers, comma-separated."""
    if mark not in _MARKS or type(count) is not int or count < 1:
        raise ValueError(f"cannot make {count!r} placeholders of {mark!r}")
    return Fragment(", ".join([mark] * count))


def condition(column: str, operator: Literal["=", ">=", "<"], mark: Literal["?", "%s"]) -> Fragment:
    """`column <operator> <mark>`."""
    if mark not in _MARKS:
        raise ValueError(f"not a placeholder: {mark!r}")
    return Fragment(f"{model_name(column)} {operator} {mark}")


def in_placeholders(column: str, count: int, mark: Literal["?", "%s"]) -> Fragment:
    """`column IN (<count> marks>)`."""
    return Fragment(f"{model_name(column)} IN ({placeholders(count, mark)})")


def in_list(column: str, allowed: Sequence[str]) -> Fragment:
    """`column IN ('a', 'b')` for a fixed allow-list of plain words (check constraints)."""
    if not all(_NAME.fullmatch(value) for value in allowed):
        raise ValueError(f"not an allow-list of plain words: {allowed!r}")
    return Fragment(f"{model_name(column)} IN ({', '.join(repr(value) for value in allowed)})")


def conjunction(conditions: Iterable[Fragment]) -> Fragment:
    """Conditions joined by AND."""
    parts = list(conditions)
    if not all(isinstance(part, Fragment) for part in parts):
        raise TypeError("conditions must be Fragments")
    return Fragment(" AND ".join(parts))


def sql(template: str, /, **parts: Identifier | Fragment | int) -> str:
    """Fill a statement `template` (a constant of the calling module) with identifiers, fragments and
    ints; anything else is refused, so no value can end up in SQL text."""
    for name, part in parts.items():
        if isinstance(part, bool) or not isinstance(part, Identifier | Fragment | int):
            raise TypeError(f"SQL part {name!r} must be an Identifier, a Fragment or an int, not {part!r}")
    return template.format(**parts)


def is_full_text_table(name: str) -> bool:
    """True for the FTS5 table and its shadow tables."""
    return name == FULL_TEXT_TABLE or name.startswith(FULL_TEXT_TABLE + "_")


def is_vector_table(name: str) -> bool:
    """True for a space's vector table and for sqlite-vec's shadow tables of it."""
    return _VECTOR_TABLE_PATTERN.fullmatch(name) is not None
