"""A full-text index over message content, for keyword and hybrid search.

SQLite: an FTS5 table over `messages.content` (external content: the text is stored once), with the
Porter stemmer, kept in step by triggers, so every insert, update and delete, through the API, the ORM
or plain SQL, changes it in the same transaction. (Bulk loads fire the insert trigger from one
INSERT ... SELECT: fired once per statement of an executemany, FTS5 flushes its pending terms after
every row.) PostgreSQL: a GIN index on the English `tsvector` of the content's first 100,000
characters, maintained by the server. Both are built here for the messages that already exist.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of this revision's DDL (migrations must not follow later code changes).
_SQLITE_UP = (
    "CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN "
    "INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content); "
    "INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content); END",
    "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
)
_SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS messages_fts_update",
    "DROP TRIGGER IF EXISTS messages_fts_delete",
    "DROP TRIGGER IF EXISTS messages_fts_insert",
    "DROP TABLE IF EXISTS messages_fts",
)
_POSTGRES_UP = (
    # Only the first 100,000 characters: a tsvector cannot exceed 1 MB, which a message of 1 MiB of
    # distinct words would (the insert would then fail).
    "CREATE INDEX ix_messages_content_fts ON messages "
    "USING gin (to_tsvector('english'::regconfig, left(content, 100000)))",
)
_POSTGRES_DOWN = ("DROP INDEX IF EXISTS ix_messages_content_fts",)


def upgrade() -> None:
    for statement in _SQLITE_UP if op.get_bind().dialect.name == "sqlite" else _POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in _SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else _POSTGRES_DOWN:
        op.execute(statement)
