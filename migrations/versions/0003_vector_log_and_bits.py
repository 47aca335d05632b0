"""A change log that in-memory vector indexes follow, and sign-bit codes beside every vector.

Every space's vec0 table is rebuilt with an `embedding_bits bit[dims]` column (when dims is a
multiple of 8) for the quantized search mode, and its delete trigger now also logs the deletion.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of this revision's DDL (migrations must not follow later code changes).
_COLUMNS = "message_id, conversation_id, role, created_at, embedding"


def upgrade() -> None:
    op.create_table(
        "vector_changes",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(length=1), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_vector_changes")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_vector_changes_space_id_seq"), "vector_changes", ["space_id", "seq"])
    if op.get_bind().dialect.name != "sqlite":
        return  # the log and the bit codes serve SQLite's in-memory index only
    for space_id, dimensions in _spaces():
        _rebuild(space_id, dimensions, with_bits=dimensions % 8 == 0, logged=True)


def downgrade() -> None:
    for space_id, dimensions in _spaces() if op.get_bind().dialect.name == "sqlite" else []:
        _rebuild(space_id, dimensions, with_bits=False, logged=False)
    op.drop_index(op.f("ix_vector_changes_space_id_seq"), table_name="vector_changes")
    op.drop_table("vector_changes")


def _spaces() -> list[tuple[int, int]]:
    rows = op.get_bind().execute(sa.text("SELECT id, dimensions FROM embedding_spaces ORDER BY id"))
    return [(int(space_id), int(dimensions)) for space_id, dimensions in rows]


def _rebuild(space_id: int, dimensions: int, *, with_bits: bool, logged: bool) -> None:
    table = f"message_vectors_{space_id:d}"
    bits_column = f", embedding_bits bit[{dimensions:d}]" if with_bits else ""
    op.execute(f"CREATE TABLE {table}_copy AS SELECT {_COLUMNS} FROM {table}")
    op.execute(f"DROP TRIGGER IF EXISTS {table}_delete")
    op.execute(f"DROP TABLE {table}")
    op.execute(
        f"CREATE VIRTUAL TABLE {table} USING vec0(message_id integer primary key, conversation_id integer, "
        f"role text, created_at integer, embedding float[{dimensions:d}] distance_metric=cosine{bits_column})"
    )
    if with_bits:
        op.execute(
            f"INSERT INTO {table}({_COLUMNS}, embedding_bits) "
            f"SELECT {_COLUMNS}, vec_quantize_binary(embedding) FROM {table}_copy"
        )
    else:
        op.execute(f"INSERT INTO {table}({_COLUMNS}) SELECT {_COLUMNS} FROM {table}_copy")
    op.execute(f"DROP TABLE {table}_copy")
    log = (
        f" INSERT INTO vector_changes(space_id, message_id, op) VALUES ({space_id:d}, OLD.id, 'd');"
        if logged
        else ""
    )
    op.execute(
        f"CREATE TRIGGER {table}_delete AFTER DELETE ON messages "
        f"BEGIN DELETE FROM {table} WHERE message_id = OLD.id;{log} END"
    )
