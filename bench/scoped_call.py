"""The cost of one search scoped to a conversation of 100 messages in a large store: per-call overhead.

    .venv/bin/python bench/scoped_call.py [--messages 100000] [--calls 2000] [--store-dir DIR]

Builds a SQLite store of --messages messages in conversations of 100 (random vectors, distinct
sentences), then times `manager.search(..., conversation_id=c)` on random conversations through the
in-memory index (the "exact" default): a vector query in vector mode, a text query in vector mode
(the `FakeEmbedder` embeds it: about 0.05 ms) and in hybrid mode. The scan of 100 vectors is a
small part (timed alone as `scan only`); the rest is the call's path: the transaction, the index's
freshness check (it replays the `vector_changes` log before every search), the filter masks, the
hits' messages. Prints a table and writes bench/results/scoped_call.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memory import FakeEmbedder, MemoryManager  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PER_CONVERSATION = 100


def build(path: Path, n: int) -> list[int]:
    rng = np.random.default_rng(0)
    ids: list[int] = []
    with MemoryManager(f"sqlite:///{path}", embedder=FakeEmbedder(384)) as manager:
        for start in range(0, n, 50_000):
            batch = []
            for first in range(start, min(n, start + 50_000), PER_CONVERSATION):
                size = min(PER_CONVERSATION, n - first)
                messages = [
                    {
                        "role": ("user", "assistant")[i % 2],
                        "content": f"message {first + i} about topic {i % 37}",
                    }
                    for i in range(size)
                ]
                vectors = rng.standard_normal((size, 384)).astype(np.float32)
                batch.append({"title": f"at {first}", "messages": messages, "vectors": vectors})
            ids += [conversation.id for conversation in manager.add_conversations(batch)]
    return ids


def timed(call: Callable[[], object], calls: int) -> dict[str, float]:
    for _ in range(min(50, calls)):
        call()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 3),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--store-dir", type=Path, help="keep the store here and reuse it")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.store_dir or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"scoped-{args.messages}.db"
        if not path.exists():
            build(path.with_suffix(".part"), args.messages)
            path.with_suffix(".part").rename(path)
        with MemoryManager(f"sqlite:///{path}", embedder=FakeEmbedder(384)) as manager:
            manager.warm_up()
            conversations = [c for (c,) in _conversation_ids(manager)]
            query = rng.standard_normal(384).astype(np.float32)
            picks = iter(rng.choice(conversations, size=10 * args.calls + 1000).tolist())
            cases: dict[str, Callable[[], object]] = {
                "vector query, vector mode": lambda: manager.search(
                    query, k=10, mode="vector", conversation_id=next(picks)
                ),
                "text query, vector mode": lambda: manager.search(
                    "topic 7 message", k=10, mode="vector", conversation_id=next(picks)
                ),
                "text query, hybrid mode": lambda: manager.search(
                    "topic 7 message", k=10, mode="hybrid", conversation_id=next(picks)
                ),
            }
            block = np.asarray(rng.standard_normal((PER_CONVERSATION, 384)), dtype=np.float32)
            cases["scan only (100 vectors)"] = lambda: np.argpartition(block @ query, -10)[-10:]
            print(f"{'case':>28}{'median_ms':>12}{'p95_ms':>12}")
            for name, call in cases.items():
                row = {"messages": args.messages, "case": name, **timed(call, args.calls)}
                rows.append(row)
                print(f"{name:>28}{row['median_ms']:>12}{row['p95_ms']:>12}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "scoped_call.json"
    out.write_text(
        json.dumps(
            {"when": datetime.now(UTC).isoformat(), "command": " ".join(sys.argv), "rows": rows}, indent=2
        )
    )
    print(f"wrote {out}")


def _conversation_ids(manager: MemoryManager) -> list[tuple[int]]:
    with manager.engine.connect() as connection:
        return [tuple(row) for row in connection.exec_driver_sql("SELECT id FROM conversations")]  # type: ignore[misc]


if __name__ == "__main__":
    main()
