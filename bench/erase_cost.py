"""What erasing costs the writes that do not forget: `PRAGMA secure_delete=ON` (every connection of
memory's engine) against the same store with it switched off, side by side in one run.

    .venv/bin/python bench/erase_cost.py                       # 200k messages, 2,000 chat turns
    .venv/bin/python bench/erase_cost.py --messages 50000 --turns 500

Two SQLite files, written alternately call by call: bulk loads (`add_conversations`, 1,000 messages
a call, precomputed vectors), then chat turns (`add_message`, the embedder's time left out), then
`delete_conversation` of 100-message conversations (which erase: zeroed vector slots and FTS5
secure-delete, in both stores; only the pragma differs). Prints a table and writes
bench/results/erase_cost.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import memory  # noqa: E402
from bench.workload import DIMS, PoolEmbedder, texts_for, unit_pool  # noqa: E402
from memory import MemoryManager  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def open_store(path: Path, pool: np.ndarray, *, secure: bool) -> MemoryManager:
    engine = memory.create_engine(f"sqlite:///{path}")
    if not secure:
        sa.event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA secure_delete=OFF"))
    return MemoryManager(engine, embedder=PoolEmbedder(pool))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--deletes", type=int, default=50)
    args = parser.parse_args()
    pool = unit_pool()
    vectors = np.random.default_rng(2).standard_normal((1000, DIMS)).astype(np.float32)
    times: dict[str, dict[str, list[float]]] = {"on": {}, "off": {}}
    with tempfile.TemporaryDirectory() as tmp:
        stores = {
            "on": open_store(Path(tmp) / "on.db", pool, secure=True),
            "off": open_store(Path(tmp) / "off.db", pool, secure=False),
        }
        for name, store in stores.items():
            with store.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA secure_delete").scalar_one() == (name == "on")
        for call in range(args.messages // 1000):
            texts = texts_for(call * 1000, (call + 1) * 1000)
            batch = [
                {
                    "messages": [{"role": "user", "content": t} for t in texts[c * 100 : (c + 1) * 100]],
                    "vectors": vectors[c * 100 : (c + 1) * 100],
                }
                for c in range(10)
            ]
            for name in ("on", "off") if call % 2 else ("off", "on"):
                started = time.perf_counter()
                stores[name].add_conversations(batch)
                times[name].setdefault("add_conversations, 1,000 messages", []).append(
                    time.perf_counter() - started
                )
        turns = {name: store.create_conversation("turns").id for name, store in stores.items()}
        for turn, text in enumerate(texts_for(10_000_000, 10_000_000 + args.turns)):
            for name in ("on", "off") if turn % 2 else ("off", "on"):
                embedder = stores[name].embedder
                assert isinstance(embedder, PoolEmbedder)
                inside = embedder.seconds
                started = time.perf_counter()
                stores[name].add_message(turns[name], "user", text)
                own = time.perf_counter() - started - (embedder.seconds - inside)
                times[name].setdefault("add_message", []).append(own)
        for n in range(args.deletes):
            for name in ("on", "off") if n % 2 else ("off", "on"):
                conversation = n + 1  # the bulk loads' conversations, 100 messages each
                started = time.perf_counter()
                stores[name].delete_conversation(conversation)
                times[name].setdefault("delete_conversation, 100 messages", []).append(
                    time.perf_counter() - started
                )
        for store in stores.values():
            store.close()
    rows: list[dict[str, Any]] = []
    for call in times["on"]:
        on, off = statistics.median(times["on"][call]) * 1000, statistics.median(times["off"][call]) * 1000
        rows.append(
            {"call": call, "on_ms": round(on, 3), "off_ms": round(off, 3), "ratio": round(on / off, 3)}
        )
    print(f"\n{args.messages:,} messages; medians of {args.turns} turns and {args.deletes} deletes")
    print(f"{'call':>36} {'secure_delete=ON ms':>20} {'OFF ms':>9} {'ON/OFF':>7}")
    for row in rows:
        print(f"{row['call']:>36} {row['on_ms']:>20.3f} {row['off_ms']:>9.3f} {row['ratio']:>7.2f}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "erase_cost.json"
    out.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "command": " ".join(["bench/erase_cost.py", *sys.argv[1:]]),
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
