"""Conversations, messages, the embedding-space registry and the default space's vec0 table.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_DIMENSIONS = 384


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        # pgvector belongs to the whole database: in `public` when there is one, even when memory's
        # tables go to a schema of their own (see memory.create_engine).
        public = op.get_bind().execute(sa.text("SELECT to_regnamespace('public') IS NOT NULL")).scalar_one()
        op.execute("CREATE EXTENSION IF NOT EXISTS vector" + (" SCHEMA public" if public else ""))
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("role IN ('system', 'user', 'assistant', 'tool')", name=op.f("ck_messages_role")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    op.create_index(
        op.f("ix_messages_conversation_id_created_at"), "messages", ["conversation_id", "created_at"]
    )
    op.create_index(op.f("ix_messages_content_hash"), "messages", ["content_hash"])
    spaces = op.create_table(
        "embedding_spaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=512), nullable=False),
        sa.Column("dimensions", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.CheckConstraint("dimensions > 0", name=op.f("ck_embedding_spaces_dimensions_positive")),
        sa.CheckConstraint("metric IN ('cosine')", name=op.f("ck_embedding_spaces_metric")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_embedding_spaces")),
    )
    op.create_index(
        "uq_embedding_spaces_active",
        "embedding_spaces",
        ["is_active"],
        unique=True,
        sqlite_where=sa.text("is_active"),
        postgresql_where=sa.text("is_active"),
    )
    # The fingerprint stays empty until the first embedder opens the store and adopts the space.
    op.execute(
        spaces.insert().values(
            id=1,
            model=DEFAULT_MODEL,
            dimensions=DEFAULT_DIMENSIONS,
            metric="cosine",
            fingerprint=None,
            created_at=sa.func.current_timestamp(),
            is_active=True,
        )
    )
    if postgres:
        # The explicit id 1 above does not advance the sequence; the next space must get 2.
        op.execute("SELECT setval(pg_get_serial_sequence('embedding_spaces', 'id'), 1)")
        # Frozen copy of this revision's pgvector DDL (migrations must not follow later code changes).
        op.execute(
            "CREATE TABLE message_vectors_1 ("
            "message_id integer PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE, "
            "conversation_id integer NOT NULL, role varchar(16) NOT NULL, created_at bigint NOT NULL, "
            f"embedding vector({DEFAULT_DIMENSIONS}) NOT NULL)"
        )
        op.execute(
            "CREATE INDEX message_vectors_1_hnsw ON message_vectors_1 "
            "USING hnsw (embedding vector_cosine_ops)"
        )
        op.execute("CREATE INDEX message_vectors_1_scope ON message_vectors_1 (conversation_id, created_at)")
        return
    # Frozen copy of the space DDL of this revision (migrations must not follow later code changes).
    op.execute(
        "CREATE VIRTUAL TABLE message_vectors_1 USING vec0(message_id integer primary key, "
        "conversation_id integer, role text, created_at integer, "
        f"embedding float[{DEFAULT_DIMENSIONS}] distance_metric=cosine)"
    )
    op.execute(
        "CREATE TRIGGER message_vectors_1_delete AFTER DELETE ON messages "
        "BEGIN DELETE FROM message_vectors_1 WHERE message_id = OLD.id; END"
    )


def downgrade() -> None:
    space_ids = op.get_bind().execute(sa.text("SELECT id FROM embedding_spaces")).scalars().all()
    sqlite = op.get_bind().dialect.name == "sqlite"
    for space_id in space_ids:
        table = f"message_vectors_{int(space_id):d}"
        if sqlite:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_delete")
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.drop_index("uq_embedding_spaces_active", table_name="embedding_spaces")
    op.drop_table("embedding_spaces")
    op.drop_index(op.f("ix_messages_content_hash"), table_name="messages")
    op.drop_index(op.f("ix_messages_conversation_id_created_at"), table_name="messages")
    op.drop_table("messages")
    op.drop_table("conversations")
