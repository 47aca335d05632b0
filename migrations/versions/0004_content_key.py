"""Find identical content through a 32-bit key instead of the 64-character hex digest.

The index on `messages.content_hash` was the largest cost of bulk loads at a million messages: every
insert lands on a random page of a ~75 MB index. `content_key` (the first 4 bytes of the content's
sha256) gives an index a fifth of that size; matches are still confirmed on the full digest.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 10_000


def upgrade() -> None:
    # Plain ADD COLUMN: a batch "move and copy" of messages would drop its vector delete triggers.
    op.add_column("messages", sa.Column("content_key", sa.Integer(), nullable=False, server_default="0"))
    _backfill()
    op.drop_index(op.f("ix_messages_content_hash"), table_name="messages")
    op.create_index(op.f("ix_messages_content_key"), "messages", ["content_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_messages_content_key"), table_name="messages")
    op.create_index(op.f("ix_messages_content_hash"), "messages", ["content_hash"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE messages DROP COLUMN content_key")  # native since SQLite 3.35
    else:
        op.drop_column("messages", "content_key")


def _key(content: str) -> int:
    # A frozen copy of memory.digests (migrations must not follow later code changes).
    return int(hashlib.sha256(content.encode("utf-8")).hexdigest()[:8], 16) - (1 << 31)


def _backfill() -> None:
    connection = op.get_bind()
    select = sa.text("SELECT id, content FROM messages WHERE id > :after ORDER BY id LIMIT :batch")
    update = sa.text("UPDATE messages SET content_key = :key WHERE id = :id")
    after = 0
    while rows := connection.execute(select, {"after": after, "batch": _BATCH}).all():
        connection.execute(update, [{"key": _key(content), "id": message_id} for message_id, content in rows])
        after = rows[-1][0]
