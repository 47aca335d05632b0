"""memory as a guest in a host application's database: a real host project (its own declarative models
and Alembic environment, run with the `alembic` command in a subprocess as its developers would) and
memory's history upgraded in both orders, the host's `alembic check` clean, and a downgrade of either
history leaving the other's tables alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

import memory
from memory.migration import current_revision, head_revision

pytestmark = pytest.mark.both_backends

HOST_MODELS = """
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "invoices"
    id: Mapped[int] = mapped_column(primary_key=True)
    amount: Mapped[int] = mapped_column(sa.Integer)
"""

# The host's env.py: its own models, plus the one line that hides memory's tables from autogenerate.
HOST_ENV = """
import sqlalchemy as sa
from alembic import context

import memory.migration
from host_models import Base

config = context.config
engine = sa.create_engine(config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_name=memory.migration.include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
"""

HOST_REVISION = '''
"""invoices"""
import sqlalchemy as sa
from alembic import op

revision = "a1b2c3d4e5f6"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("amount", sa.Integer(), nullable=False),
    )


def downgrade():
    op.drop_table("invoices")
'''


def _host_project(root: Path, url: str) -> Path:
    (root / "versions").mkdir(parents=True)
    (root / "host_models.py").write_text(HOST_MODELS)
    (root / "env.py").write_text(HOST_ENV)
    (root / "script.py.mako").write_text("")
    (root / "versions" / "a1b2c3d4e5f6_invoices.py").write_text(HOST_REVISION)
    (root / "alembic.ini").write_text(
        f"[alembic]\nscript_location = {root}\nprepend_sys_path = {root}\nsqlalchemy.url = {url}\n"
    )
    return root


def _alembic(project: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(project / "alembic.ini"), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("first", ["host", "memory"])
def test_both_histories_live_in_one_database_in_either_order(
    memory_url: str, tmp_path: Path, first: str
) -> None:
    host = _host_project(tmp_path / "host", memory_url)
    steps = {"host": lambda: _alembic(host, "upgrade", "head"), "memory": lambda: memory.upgrade(memory_url)}
    steps[first]()
    steps["memory" if first == "host" else "host"]()

    assert "a1b2c3d4e5f6" in _alembic(host, "current")
    engine = memory.create_engine(memory_url)
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
    engine.dispose()
    assert "No new upgrade operations detected" in _alembic(host, "check")
    with memory.MemoryManager(memory_url, embedder=memory.FakeEmbedder(8)) as manager:
        manager.create_conversation(
            "kept", messages=[{"role": "user", "content": "kept across the host's moves"}]
        )

    _alembic(host, "downgrade", "base")  # the host's history only
    assert "invoices" not in _tables(memory_url)
    with memory.MemoryManager(memory_url, embedder=memory.FakeEmbedder(8), migrate=False) as manager:
        assert manager.stats()["messages"] == 1
    _alembic(host, "upgrade", "head")

    memory.downgrade(memory_url, "base")  # memory's history only
    assert _tables(memory_url) >= {"invoices", "alembic_version"}
    assert not {"conversations", "messages", "embedding_spaces"} & _tables(memory_url)
    assert "a1b2c3d4e5f6" in _alembic(host, "current")
    assert "No new upgrade operations detected" in _alembic(host, "check")


@pytest.mark.postgres_only
@pytest.mark.parametrize("first", ["host", "memory"])
def test_memory_in_a_schema_of_its_own_beside_the_host(memory_url: str, tmp_path: Path, first: str) -> None:
    ours = sa.make_url(memory_url).update_query_dict({"schema": "memory"})
    ours = ours.render_as_string(hide_password=False)
    host = _host_project(tmp_path / "host", memory_url)
    steps = {"host": lambda: _alembic(host, "upgrade", "head"), "memory": lambda: memory.upgrade(ours)}
    steps[first]()
    steps["memory" if first == "host" else "host"]()

    assert _tables(memory_url) == {"invoices", "alembic_version"}  # the host's schema holds only its own
    assert "No new upgrade operations detected" in _alembic(host, "check")
    with memory.MemoryManager(ours, embedder=memory.FakeEmbedder(8)) as manager:
        manager.create_conversation("kept", messages=[{"role": "user", "content": "in memory's schema"}])

    _alembic(host, "downgrade", "base")
    with memory.MemoryManager(ours, embedder=memory.FakeEmbedder(8), migrate=False) as manager:
        assert manager.stats()["messages"] == 1
    _alembic(host, "upgrade", "head")

    memory.downgrade(ours, "base")
    assert _tables(memory_url) == {"invoices", "alembic_version"}
    assert "a1b2c3d4e5f6" in _alembic(host, "current")
    assert "No new upgrade operations detected" in _alembic(host, "check")
