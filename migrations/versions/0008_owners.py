"""Owners: a conversation belongs to a user and optionally an agent, and its vectors say whose they are.

`conversations` gains `user_id` and `agent_id` (indexed; existing conversations belong to no one), and
a source id becomes unique per user and agent instead of across the store. Every space's vector
table gains `user_key` and `agent_key` (a 64-bit hash of each id, 0 for none: see `memory.owners`) so
a scoped search filters on the vector side: SQLite's vec0 tables are rebuilt with two more metadata
columns (their rows copied out and back: about a minute per million vectors), PostgreSQL's tables
gain two columns and an index. Existing vectors get key 0, as their conversations have no owner.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of this revision's DDL (migrations must not follow later code changes).
_COLUMNS = "message_id, conversation_id, role, created_at, embedding"
_UNIQUE_SOURCE = "uq_conversations_owner_source"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # Plain ADD COLUMN: a batch "move and copy" would drop the conversations table, and with foreign
    # keys on that cascades into every message.
    op.add_column("conversations", sa.Column("user_id", sa.String(length=255), nullable=True))
    op.add_column("conversations", sa.Column("agent_id", sa.String(length=255), nullable=True))
    op.drop_index("ix_conversations_source_id", table_name="conversations")
    op.create_index("ix_conversations_user_id_updated_at", "conversations", ["user_id", "updated_at"])
    op.create_index("ix_conversations_agent_id", "conversations", ["agent_id"])
    op.create_index(
        _UNIQUE_SOURCE,
        "conversations",
        [sa.text("coalesce(user_id, '')"), sa.text("coalesce(agent_id, '')"), "source_id"],
        unique=True,
    )
    for space_id, dimensions in _spaces():
        table = f"message_vectors_{space_id:d}"
        if sqlite:
            _rebuild_vec0(space_id, dimensions, owner_keys=True)
        else:
            op.execute(f"ALTER TABLE {table} ADD COLUMN user_key bigint NOT NULL DEFAULT 0")
            op.execute(f"ALTER TABLE {table} ADD COLUMN agent_key bigint NOT NULL DEFAULT 0")
            op.execute(f"CREATE INDEX IF NOT EXISTS {table}_owner ON {table} (user_key, agent_key)")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for space_id, dimensions in _spaces():
        table = f"message_vectors_{space_id:d}"
        if sqlite:
            _rebuild_vec0(space_id, dimensions, owner_keys=False)
        else:
            op.execute(f"DROP INDEX IF EXISTS {table}_owner")
            op.execute(f"ALTER TABLE {table} DROP COLUMN agent_key")
            op.execute(f"ALTER TABLE {table} DROP COLUMN user_key")
    op.drop_index(_UNIQUE_SOURCE, table_name="conversations")
    op.drop_index("ix_conversations_agent_id", table_name="conversations")
    op.drop_index("ix_conversations_user_id_updated_at", table_name="conversations")
    # Source ids were unique across the store: owned conversations cannot go back with them.
    op.create_index("ix_conversations_source_id", "conversations", ["source_id"], unique=True)
    for column in ("agent_id", "user_id"):
        if sqlite:
            op.execute(f"ALTER TABLE conversations DROP COLUMN {column}")  # native since SQLite 3.35
        else:
            op.drop_column("conversations", column)


def _spaces() -> list[tuple[int, int]]:
    rows = op.get_bind().execute(sa.text("SELECT id, dimensions FROM embedding_spaces ORDER BY id"))
    return [(int(space_id), int(dimensions)) for space_id, dimensions in rows]


def _rebuild_vec0(space_id: int, dimensions: int, *, owner_keys: bool) -> None:
    """Recreate a vec0 table with (or without) the owner keys; vec0 cannot add columns or rename."""
    table = f"message_vectors_{space_id:d}"
    with_bits = dimensions % 8 == 0
    bits_column = f", embedding_bits bit[{dimensions:d}]" if with_bits else ""
    key_columns = ", user_key integer, agent_key integer" if owner_keys else ""
    op.execute(f"CREATE TABLE {table}_copy AS SELECT {_COLUMNS} FROM {table}")
    op.execute(f"DROP TRIGGER IF EXISTS {table}_delete")
    op.execute(f"DROP TABLE {table}")
    op.execute(
        f"CREATE VIRTUAL TABLE {table} USING vec0(message_id integer primary key, conversation_id integer, "
        f"role text, created_at integer{key_columns}, "
        f"embedding float[{dimensions:d}] distance_metric=cosine{bits_column})"
    )
    # Named in the table's order. No ORDER BY: a sorter drops the subtype vec_quantize_binary()
    # gives its result, and vec0 then takes the bit vector for a float one.
    columns = values = "message_id, conversation_id, role, created_at"
    if owner_keys:
        columns, values = f"{columns}, user_key, agent_key", f"{values}, 0, 0"
    columns, values = f"{columns}, embedding", f"{values}, embedding"
    if with_bits:
        columns, values = f"{columns}, embedding_bits", f"{values}, vec_quantize_binary(embedding)"
    op.execute(f"INSERT INTO {table}({columns}) SELECT {values} FROM {table}_copy")
    op.execute(f"DROP TABLE {table}_copy")
    op.execute(
        f"CREATE TRIGGER {table}_delete AFTER DELETE ON messages "
        f"BEGIN DELETE FROM {table} WHERE message_id = OLD.id; "
        f"INSERT INTO vector_changes(space_id, message_id, op) VALUES ({space_id:d}, OLD.id, 'd'); END"
    )
