"""Conversations keep the id they had in the file they were imported from.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN: a batch "move and copy" would drop the conversations table, and with foreign
    # keys on that cascades into every message.
    op.add_column("conversations", sa.Column("source_id", sa.String(length=255), nullable=True))
    op.create_index(op.f("ix_conversations_source_id"), "conversations", ["source_id"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_conversations_source_id"), table_name="conversations")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE conversations DROP COLUMN source_id")  # native since SQLite 3.35
    else:
        op.drop_column("conversations", "source_id")
