"""What migration 0009 (the developer role) costs: on SQLite a rebuild of `messages`, on PostgreSQL a
CHECK constraint dropped and added again.

    .venv/bin/python bench/migration_0009.py                          # 100k messages
    .venv/bin/python bench/migration_0009.py --messages 100000 1000000
    .venv/bin/python bench/migration_0009.py --postgres --messages 100000 1000000

SQLite: a store is written through the API at the head revision (bulk loads of 1,000 messages a
call, 100 to a conversation, chat-like texts of 8 to 40 words, precomputed 384-dimension vectors,
alternate user and assistant messages), taken down to 0008 (itself a rebuild: timed as the
downgrade) and checkpointed, then upgraded to 0009. The file's size as built, before and after the
upgrade, and the free pages a rebuild leaves (the old table's, reused by later writes and by the
next rebuild; VACUUM returns them) are reported too.
PostgreSQL (`--postgres`, a throw-away server from tests/postgres_server.py): messages are written
at 0008 by one INSERT ... SELECT from generate_series, without vectors, then upgraded to 0009.
Prints a table and writes bench/results/migration_0009.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import memory  # noqa: E402
from bench.workload import PoolEmbedder, texts_for, unit_pool  # noqa: E402
from memory import MemoryManager  # noqa: E402

RESULTS = ROOT / "bench" / "results"
_PER_CALL = 1000
_PER_CONVERSATION = 100


def _timed(action: Any, *args: Any) -> float:
    started = time.perf_counter()
    action(*args)
    return time.perf_counter() - started


def _pages(url: str) -> tuple[int, int]:
    """The file's size and its free pages' size, in bytes, after a checkpoint."""
    engine = memory.create_engine(url)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        size = connection.exec_driver_sql("PRAGMA page_size").scalar_one()
        total = connection.exec_driver_sql("PRAGMA page_count").scalar_one()
        free = connection.exec_driver_sql("PRAGMA freelist_count").scalar_one()
    engine.dispose()
    return total * size, free * size


def sqlite_row(messages: int, directory: Path) -> dict[str, Any]:
    url = f"sqlite:///{directory / f'store-{messages}.db'}"
    pool = unit_pool()
    started = time.perf_counter()
    with MemoryManager(url, embedder=PoolEmbedder(pool)) as manager:
        for call in range(messages // _PER_CALL):
            texts = texts_for(call * _PER_CALL, (call + 1) * _PER_CALL)
            first = call * _PER_CALL
            manager.add_conversations(
                [
                    {
                        "messages": [
                            {"role": ("user", "assistant")[i % 2], "content": t}
                            for i, t in enumerate(texts[c : c + _PER_CONVERSATION])
                        ],
                        "vectors": pool[(first + c + np.arange(_PER_CONVERSATION)) % len(pool)],
                    }
                    for c in range(0, _PER_CALL, _PER_CONVERSATION)
                ]
            )
    built = time.perf_counter() - started
    size_built, _ = _pages(url)
    downgrade = _timed(memory.downgrade, url, "0008")
    size, _ = _pages(url)
    upgrade = _timed(memory.upgrade, url, "0009")
    size_after, free_after = _pages(url)
    return {
        "backend": "sqlite",
        "messages": messages,
        "upgrade_s": round(upgrade, 2),
        "upgrade_s_per_million": round(upgrade * 1e6 / messages, 1),
        "downgrade_s": round(downgrade, 2),
        "file_mb_built": round(size_built / 2**20, 1),
        "file_mb_before": round(size / 2**20, 1),
        "file_mb_after": round(size_after / 2**20, 1),
        "free_mb_after": round(free_after / 2**20, 1),
        "build_s": round(built, 1),
    }


@contextmanager
def _postgres_database() -> Iterator[str]:
    from memory.testing import fresh_postgres_database
    from tests.postgres_server import running_postgres

    with running_postgres() as server, fresh_postgres_database(server) as url:
        yield url


def postgres_row(messages: int, url: str) -> dict[str, Any]:
    engine = memory.create_engine(url)
    memory.downgrade(engine, "base")
    memory.upgrade(engine, "0008")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO conversations (title, created_at, updated_at, metadata) "
            "SELECT 'c' || n, now(), now(), '{}' FROM generate_series(1, %s) AS n",
            (max(1, messages // _PER_CONVERSATION),),
        )
        connection.exec_driver_sql(
            "INSERT INTO messages (conversation_id, role, content, created_at, metadata, content_hash, "
            "content_key) SELECT 1 + n / %s, (ARRAY['user', 'assistant'])[1 + n %% 2], "
            "repeat('word ', 8 + n %% 33) || n, now(), '{}', md5(n::text), n "
            "FROM generate_series(0, %s) AS n",
            (_PER_CONVERSATION, messages - 1),
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE messages")
    upgrade = _timed(memory.upgrade, engine, "0009")
    downgrade = _timed(memory.downgrade, engine, "0008")
    engine.dispose()
    return {
        "backend": "postgresql",
        "messages": messages,
        "upgrade_s": round(upgrade, 2),
        "upgrade_s_per_million": round(upgrade * 1e6 / messages, 1),
        "downgrade_s": round(downgrade, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, nargs="+", default=[100_000])
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    if args.postgres:
        with _postgres_database() as url:
            for messages in args.messages:
                rows.append(postgres_row(messages, url))
                print(rows[-1], flush=True)
    else:
        with tempfile.TemporaryDirectory(dir=ROOT / "bench") as tmp:
            for messages in args.messages:
                rows.append(sqlite_row(messages, Path(tmp)))
                print(rows[-1], flush=True)
    columns = [key for key in rows[0] if key != "backend"]
    print(f"\nmigration 0009 on {rows[0]['backend']}")
    print("  ".join(f"{c:>22}" for c in columns))
    for row in rows:
        print("  ".join(f"{row[c]:>22,}" for c in columns))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"migration_0009{'_postgres' if args.postgres else ''}.json"
    out.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "command": " ".join(["bench/migration_0009.py", *sys.argv[1:]]),
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
