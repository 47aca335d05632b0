"""PostgreSQL keeps each message's `tsvector`: the words side ranks only the messages its rarest
words find, and reads their words instead of parsing their content again at every search.

`messages.content_words` is a stored generated column (the English `tsvector` of the content's first
100,000 characters, as the index of 0007 took), computed by the server on every insert and update,
through the API, COPY or plain SQL; the GIN index moves from the expression to the column (same
name). Adding the column rewrites the table once. SQLite: nothing (FTS5 already stores its index).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of this revision's DDL (migrations must not follow later code changes).
_UP = (
    "ALTER TABLE messages ADD COLUMN content_words tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, left(content, 100000))) STORED",
    "DROP INDEX IF EXISTS ix_messages_content_fts",
    "CREATE INDEX ix_messages_content_fts ON messages USING gin (content_words)",
)
_DOWN = (
    "DROP INDEX IF EXISTS ix_messages_content_fts",
    "ALTER TABLE messages DROP COLUMN IF EXISTS content_words",
    "CREATE INDEX ix_messages_content_fts ON messages "
    "USING gin (to_tsvector('english'::regconfig, left(content, 100000)))",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for statement in _UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for statement in _DOWN:
            op.execute(statement)
