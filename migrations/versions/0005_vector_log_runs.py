"""A change-log entry covers a run of consecutive message ids.

Bulk loads wrote one `vector_changes` row per message; now one per run of consecutive ids (a batch of
10,000 new messages is one row). Existing rows are runs of length 1.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN: nothing else changes, and a batch copy would renumber nothing but cost a rewrite.
    op.add_column("vector_changes", sa.Column("run_length", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    connection = op.get_bind()
    # Expand every run into one row per message id. The whole log is rewritten in its own order (new,
    # higher seq numbers), so a reader replaying it from any old position still sees adds and deletes
    # in the order they happened.
    entries = connection.execute(
        sa.text("SELECT space_id, message_id, op, run_length FROM vector_changes ORDER BY seq")
    ).all()
    if any(length > 1 for *_, length in entries):
        connection.execute(sa.text("DELETE FROM vector_changes"))
        connection.execute(
            sa.text(
                "INSERT INTO vector_changes (space_id, message_id, op, run_length) "
                "VALUES (:space_id, :message_id, :op, 1)"
            ),
            [
                {"space_id": space_id, "message_id": first + offset, "op": kind}
                for space_id, first, kind, length in entries
                for offset in range(length)
            ],
        )
    if connection.dialect.name == "sqlite":
        op.execute("ALTER TABLE vector_changes DROP COLUMN run_length")  # native since SQLite 3.35
    else:
        op.drop_column("vector_changes", "run_length")
