"""SQLite: every stored time in one text form, with microseconds.

Bulk inserts wrote times through the driver's adapter (`2026-01-01 02:00:00`, without microseconds
when they are zero) while SQLAlchemy writes and compares `2026-01-01 02:00:00.000000`. Text
comparison then put a stored time before the same time given as a filter (`until` let it through).
The code now writes SQLAlchemy's form; this rewrites the short form already stored. Both forms read
back as the same datetime, so the downgrade leaves the rows as they are. PostgreSQL stores
timestamps natively: nothing to do there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# `YYYY-MM-DD HH:MM:SS` is 19 characters; the driver wrote 6 digits of microseconds whenever any was
# non-zero, so appending zeros is exact.
_SQLITE_UP = (
    "UPDATE messages SET created_at = created_at || '.000000' WHERE length(created_at) = 19",
    "UPDATE conversations SET created_at = created_at || '.000000' WHERE length(created_at) = 19",
    "UPDATE conversations SET updated_at = updated_at || '.000000' WHERE length(updated_at) = 19",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    pass
