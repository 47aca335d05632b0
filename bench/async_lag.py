"""Event-loop lag and turn latency of an async server using memory, with the real model.

    .venv/bin/python bench/async_lag.py                    # 3 rounds, 20 turns + 20 searches each
    .venv/bin/python bench/async_lag.py --rounds 1 --history 2000

A 1 ms ticker runs on the event loop and records how late each tick wakes (the lag every other
request on the loop would see). Meanwhile 20 chat turns (add a user message, embedded with the real
all-MiniLM-L6-v2, then `recall` with that text as the query: the model runs again) and 20 searches
(hybrid: the model embeds the query) start at once, each in its own task, in a store holding
--history messages. Three ways of calling memory from async code, side by side, each on its own
fresh store, rounds interleaved:

- aio: `memory.aio.AsyncMemoryManager` (worker threads, model runs bounded to one at a time).
- to_thread: the sync `MemoryManager` wrapped by hand in `asyncio.to_thread` per call, the loop's
  default executor, with the same bound on model runs (MemoryManager's own gate): what a user writes
  without `memory.aio`.
- blocking: the sync `MemoryManager` called directly in the coroutines, as a first try would:
  every call blocks the loop.

Reported: the ticker's worst and p99 lag, and the turns' and searches' median and worst latency
(from the start of the burst). Writes bench/results/async_lag.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.workload import DIMS, texts_for, unit_pool  # noqa: E402
from memory import MemoryManager, SentenceTransformerEmbedder  # noqa: E402
from memory.aio import AsyncMemoryManager  # noqa: E402

RESULTS = ROOT / "bench" / "results"
WAYS = ("aio", "to_thread", "blocking")


class Calls:
    """The two calls a turn makes and the one a search makes, in one of the three ways."""

    def __init__(self, way: str, manager: MemoryManager, threads: int | None) -> None:
        self.way = way
        self.manager = manager
        options = {} if threads is None else {"threads": threads}
        self.aio = AsyncMemoryManager(manager, **options) if way == "aio" else None

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.aio is not None:
            method: Callable[..., Awaitable[Any]] = getattr(self.aio, name)
            return await method(*args, **kwargs)
        sync = getattr(self.manager, name)
        if self.way == "to_thread":
            return await asyncio.to_thread(sync, *args, **kwargs)
        return sync(*args, **kwargs)


async def burst(
    calls: Calls, conversations: list[int], turns: int, searches: int, seed: int
) -> dict[str, Any]:
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - start - 0.001)

    texts = texts_for(1_000_000 + seed * 1000, 1_000_000 + seed * 1000 + turns + searches)
    t0 = time.perf_counter()

    async def turn(i: int) -> float:
        conversation = conversations[i % len(conversations)]
        await calls.call("add_message", conversation, "user", texts[i])
        await calls.call("recall", conversation, texts[i], scope="all")
        return time.perf_counter() - t0

    async def search(i: int) -> float:
        await calls.call("search", texts[turns + i], 5)
        return time.perf_counter() - t0

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    t0 = time.perf_counter()
    done = await asyncio.gather(*(turn(i) for i in range(turns)), *(search(i) for i in range(searches)))
    stop.set()
    await tick
    lag_ms = sorted(lag * 1000 for lag in lags)
    return {
        "lag_max_ms": lag_ms[-1],
        "lag_p99_ms": lag_ms[int(0.99 * (len(lag_ms) - 1))],
        "ticks": len(lag_ms),
        "turn_s": done[:turns],
        "search_s": done[turns:],
    }


def make_store(path: Path, history: int, pool: np.ndarray) -> tuple[MemoryManager, list[int]]:
    manager = MemoryManager(f"sqlite:///{path}", embedder=SentenceTransformerEmbedder())
    per = 100
    conversations = []
    for start in range(0, history, per):
        rows = pool[start % len(pool) : start % len(pool) + per][: min(per, history - start)]
        texts = texts_for(start, start + len(rows))
        made = manager.create_conversation(
            f"c{start}", messages=[{"role": "user", "content": t} for t in texts], vectors=rows
        )
        conversations.append(made.id)
    manager.warm_up()
    return manager, conversations


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    pool = unit_pool(seed=5)
    assert pool.shape[1] == DIMS
    results: dict[str, list[dict[str, Any]]] = {way: [] for way in WAYS}
    warmup: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        stores = {way: make_store(Path(tmp) / f"{way}.db", args.history, pool) for way in WAYS}
        # The process's first burst also pays one-off costs (the worker threads' first model runs),
        # whichever way runs it: one burst per way, recorded apart.
        for way in args.warmup_order.split(","):
            manager, conversations = stores[way]
            warmup[way] = await burst(
                Calls(way, manager, args.threads), conversations, args.turns, args.searches, 99
            )
        for round_ in range(args.rounds):
            order = WAYS[round_ % 3 :] + WAYS[: round_ % 3]
            for way in order:
                manager, conversations = stores[way]
                result = await burst(
                    Calls(way, manager, args.threads), conversations, args.turns, args.searches, round_
                )
                results[way].append(result)
        for manager, _ in stores.values():
            manager.close()
    return results, warmup


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--searches", type=int, default=20)
    parser.add_argument("--history", type=int, default=5000)
    parser.add_argument("--warmup-order", default=",".join(WAYS), help="which way pays the first burst")
    parser.add_argument("--threads", type=int, default=None, help="aio's worker threads (default: its own)")
    args = parser.parse_args()
    results, warmup = asyncio.run(main_async(args))
    print(f"{args.turns} turns + {args.searches} searches at once, {args.history} messages")
    print(
        "warm-up bursts (the process's first), worst lag ms: "
        + ", ".join(f"{way} {result['lag_max_ms']:.1f}" for way, result in warmup.items())
    )
    print(f"{args.rounds} measured rounds:")
    print(
        f"{'way':<10} {'lag max ms':>10} {'lag p99 ms':>10} {'turn med s':>10} {'turn max s':>10} "
        f"{'search med s':>12} {'search max s':>12}"
    )
    summary: dict[str, Any] = {}
    for way, rounds in results.items():
        turns = [t for r in rounds for t in r["turn_s"]]
        searches = [t for r in rounds for t in r["search_s"]]
        row = {
            "lag_max_ms": max(r["lag_max_ms"] for r in rounds),
            "lag_p99_ms": max(r["lag_p99_ms"] for r in rounds),
            "lag_max_ms_per_round": [r["lag_max_ms"] for r in rounds],
            "turn_median_s": statistics.median(turns),
            "turn_max_s": max(turns),
            "search_median_s": statistics.median(searches),
            "search_max_s": max(searches),
        }
        summary[way] = row
        print(
            f"{way:<10} {row['lag_max_ms']:10.1f} {row['lag_p99_ms']:10.1f} {row['turn_median_s']:10.2f} "
            f"{row['turn_max_s']:10.2f} {row['search_median_s']:12.2f} {row['search_max_s']:12.2f}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "args": vars(args),
        "warmup_lag_max_ms": {way: result["lag_max_ms"] for way, result in warmup.items()},
        "ways": summary,
    }
    (RESULTS / "async_lag.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
