"""Memory that ages: conversations gain their tier, a pin, a summary and topics, and the record of
their archive.

- `tier` ('full', 'key_points', 'summary', 'metadata'; every existing conversation is 'full');
- `pinned` (false): a pinned conversation stays in full;
- `summary`, `topics` (NULL until compacted): what the colder tiers show of a conversation;
- `importance` (NULL until compacted): its importance score when its messages went to the archive,
  so later moves down need not read the archive to know it;
- `archive_checksum`, `archived_at` (NULL while in full): the sha256 of the archive file that holds
  its messages, and when it was written.

Plain ADD COLUMN on both backends (a batch "move and copy" on SQLite would rebuild `conversations`
and, with foreign keys on, cascade into every message); each is a change of the table's definition
only, whatever the number of rows.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of this revision's columns (migrations must not follow later code changes).
_COLUMNS = (
    ("tier", sa.String(length=16), False, "full"),
    ("pinned", sa.Boolean(), False, sa.false()),
    ("summary", sa.Text(), True, None),
    ("topics", sa.Text(), True, None),
    ("importance", sa.Float(), True, None),
    ("archive_checksum", sa.String(length=80), True, None),
    ("archived_at", sa.DateTime(timezone=True), True, None),
)


def upgrade() -> None:
    for name, type_, nullable, default in _COLUMNS:
        op.add_column("conversations", sa.Column(name, type_, nullable=nullable, server_default=default))


def downgrade() -> None:
    for name, *_ in reversed(_COLUMNS):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE conversations DROP COLUMN {name}")  # native since SQLite 3.35
        else:
            op.drop_column("conversations", name)
