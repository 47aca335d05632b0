"""`developer` is a message role (OpenAI's current name for the system role), stored as such.

The CHECK constraint `ck_messages_role` gains 'developer'.

PostgreSQL: the constraint is dropped and added again, in this migration's one transaction. Adding it
NOT VALID and validating it afterwards would shorten the ACCESS EXCLUSIVE lock only if the validation
ran in a later transaction (in the same one the lock is held to the commit anyway), and a crash
between the two would leave the store between revisions; the validating scan costs little next to
that (see the README's Migrations section).

SQLite cannot alter a CHECK, so `messages` is rebuilt by SQLite's generalized procedure
(https://www.sqlite.org/lang_altertable.html, section 7) inside this migration's transaction: the
table's indexes and triggers (the full-text index's, and one vector delete trigger per embedding
space) are read from sqlite_master, a copy with the new CHECK gets every row with its id, the old
table is dropped and the copy renamed, and the saved indexes and triggers are created again from
their own SQL. Ids stay, so the FTS5 index (content_rowid='id') and the vec0 tables stay valid and
are not touched. Foreign keys stay on (PRAGMA foreign_keys cannot change inside a transaction): no
table references `messages`, so the drop deletes nothing, and the copy's references to
`conversations` are checked row by row and once more at the end.

Downgrade: developer messages become system messages, with "original_role": "developer" added to
their metadata, and the old constraint comes back (the same rebuild on SQLite).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of this revision's DDL (migrations must not follow later code changes).
_OLD_ROLES = "role IN ('system', 'user', 'assistant', 'tool')"
_NEW_ROLES = "role IN ('system', 'user', 'assistant', 'tool', 'developer')"
_CONSTRAINT = "ck_messages_role"
_COLUMNS = "id, conversation_id, role, content, created_at, metadata, content_hash, content_key"
_COPY = "messages_rebuilt"
# `messages` as SQLAlchemy created it (0001), or as a rename left it (SQLite quotes the new name).
_HEADER = re.compile(r'CREATE TABLE (?:messages|"messages") \(')


def upgrade() -> None:
    _replace_check(_OLD_ROLES, _NEW_ROLES)


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        metadata = "json_set(metadata, :path, :developer)"
    else:
        metadata = (
            "(metadata::jsonb || jsonb_build_object(CAST(:key AS text), CAST(:developer AS text)))::json"
        )
    connection.execute(
        sa.text(f"UPDATE messages SET role = :system, metadata = {metadata} WHERE role = :developer"),
        {"system": "system", "developer": "developer", "path": "$.original_role", "key": "original_role"},
    )
    _replace_check(_NEW_ROLES, _OLD_ROLES)


def _replace_check(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_messages(
            f"CONSTRAINT {_CONSTRAINT} CHECK ({old})", f"CONSTRAINT {_CONSTRAINT} CHECK ({new})"
        )
    else:
        op.execute(f"ALTER TABLE messages DROP CONSTRAINT {_CONSTRAINT}")
        op.execute(f"ALTER TABLE messages ADD CONSTRAINT {_CONSTRAINT} CHECK ({new})")


def _rebuild_messages(old_check: str, new_check: str) -> None:
    """SQLite's twelve steps for `messages`, in the migration's transaction (steps 2 and 11 are
    Alembic's BEGIN and COMMIT; 1 and 12 are skipped: foreign keys stay on, see above)."""
    connection = op.get_bind()
    # Step 3: the table's SQL and its indexes' and triggers' (automatic indexes have none), in the
    # order they were made.
    saved = connection.exec_driver_sql(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'messages' ORDER BY rowid"
    ).all()
    (table_sql,) = [sql for kind, _, sql in saved if kind == "table"]
    columns = [row[1] for row in connection.exec_driver_sql("PRAGMA table_info(messages)")]
    header = _HEADER.match(table_sql)
    if header is None or table_sql.count(old_check) != 1 or ", ".join(columns) != _COLUMNS:
        raise RuntimeError(
            f"messages is not as this migration expects ({old_check!r}, columns {_COLUMNS}); "
            f"found {table_sql!r}. Restore the store from a backup or report the schema."
        )
    # Step 4: the new table, identical but for the CHECK.
    body = table_sql[header.end() :].replace(old_check, new_check)
    connection.exec_driver_sql(f"CREATE TABLE {_COPY} ({body}")
    # Step 5: every row, with its id (the rowid that FTS5 and vec0 refer to).
    connection.exec_driver_sql(
        f"INSERT INTO {_COPY} ({_COLUMNS}) SELECT {_COLUMNS} FROM messages ORDER BY id"
    )
    # Steps 6 and 7. Dropping `messages` drops its indexes and triggers and fires none of them.
    connection.exec_driver_sql("DROP TABLE messages")
    # A host application's view of `messages` would make SQLite's checked rename fail (between the
    # drop and the rename the schema names a missing table); the verbatim one leaves the view reading
    # the new table. Nothing refers to the copy, so there is nothing else to rewrite.
    legacy = connection.exec_driver_sql("PRAGMA legacy_alter_table").scalar_one()
    connection.exec_driver_sql("PRAGMA legacy_alter_table = ON")
    try:
        connection.exec_driver_sql(f"ALTER TABLE {_COPY} RENAME TO messages")
    finally:
        connection.exec_driver_sql(f"PRAGMA legacy_alter_table = {int(legacy):d}")
    # Step 8: the saved indexes and triggers, from their own SQL (step 9: no view needs changing).
    for kind, _, sql in saved:
        if kind in ("index", "trigger") and sql is not None:
            connection.exec_driver_sql(sql)
    # Step 10: the copied references to conversations.
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check(messages)").all()
    if broken:
        raise RuntimeError(f"messages refer to missing conversations after the rebuild: {broken[:5]}")
