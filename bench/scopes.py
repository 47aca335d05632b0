"""Scoped search and forgetting in a many-user store, side by side in one run.

    .venv/bin/python bench/scopes.py                          # 1M messages, 1,000 users of 1,000
    .venv/bin/python bench/scopes.py --users 100 --queries 50 # a quick check (100k messages)

The store: --users users, each owning --per-user messages (10 conversations), written through each
user's scope (`add_conversations` with precomputed unit vectors: one call per user). Messages are
distinct sentences (bench/workload.py), so the words side has real text to search.

Timed, for --queries random users, in rotating order:
- scoped vector: `manager.scoped(user).search(vector, k=10, mode="vector")`, through the in-memory
  index (the "exact" default), checked against a numpy brute force over that user's vectors;
- scoped vector, vec0: the same with `vector_index=None`, vec0's KNN with the owner-key filter;
- scoped text: `scoped(user).search(word, k=10, mode="text")` (FTS5 BM25, the owner filter on the
  messages side);
- unscoped vector: the same query over every user's vectors (what a scope saves);
- post-filter stand-in: the unscoped top 1,000 by meaning, then kept if the user's: what a store
  without owner keys beside its vectors would do (it misses hits when the user's are not near the top).
Then forgetting: one user's whole memory (`forget`), against deleting the same amount through
`delete_conversation` (no erasure), on users not yet searched; and per message, one user at a time.
Prints a table and writes bench/results/scopes.json.
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

from bench.workload import DIMS, PoolEmbedder, texts_for, unit_pool  # noqa: E402
from memory import MemoryManager  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CONVERSATIONS_PER_USER = 10


def build(url: str, users: int, per_user: int, pool: np.ndarray) -> tuple[float, np.ndarray]:
    """Write the store; returns the seconds it took and every message's vector, by user."""
    vectors = np.random.default_rng(5).standard_normal((users, per_user, DIMS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=2, keepdims=True)
    started = time.perf_counter()
    with MemoryManager(url, embedder=PoolEmbedder(pool)) as manager:
        per_conversation = per_user // CONVERSATIONS_PER_USER
        for user in range(users):
            texts = texts_for(user * per_user, (user + 1) * per_user)
            batch = [
                {
                    "title": f"conversation {c}",
                    "messages": [
                        {"role": "user", "content": text}
                        for text in texts[c * per_conversation : (c + 1) * per_conversation]
                    ],
                    "vectors": vectors[user, c * per_conversation : (c + 1) * per_conversation],
                }
                for c in range(CONVERSATIONS_PER_USER)
            ]
            manager.scoped(f"user-{user}").add_conversations(batch)
            if user % 100 == 99:
                print(f"  built {user + 1} users", file=sys.stderr)
    return time.perf_counter() - started, vectors


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--per-user", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--forgets", type=int, default=5, help="users forgotten (and as many deleted)")
    args = parser.parse_args()
    pool = unit_pool()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'memory.db'}"
        seconds, vectors = build(url, args.users, args.per_user, pool)
        total = args.users * args.per_user
        print(f"built {total:,} messages of {args.users:,} users in {seconds:.0f} s", file=sys.stderr)
        rng = np.random.default_rng(9)
        queries = rng.standard_normal((args.queries, DIMS)).astype(np.float32)
        users = rng.integers(0, args.users - 2 * args.forgets, size=args.queries)
        words = ["memory", "search", "vector", "question", "answer", "window"]
        times: dict[str, list[float]] = {
            name: []
            for name in (
                "scoped vector",
                "scoped vector, vec0",
                "scoped text",
                "unscoped vector",
                "post-filter",
            )
        }
        exact = misses = 0
        with (
            MemoryManager(url, embedder=PoolEmbedder(pool)) as indexed,
            MemoryManager(url, embedder=PoolEmbedder(pool), vector_index=None) as plain,
        ):
            indexed.search(queries[0], k=10, mode="vector")  # builds the in-memory index
            for q, (query, user) in enumerate(zip(queries, users.tolist(), strict=True)):
                scope, plain_scope = indexed.scoped(f"user-{user}"), plain.scoped(f"user-{user}")
                text = f"{words[q % len(words)]} (#{q})"  # the bench embedder reads the number
                calls: list[tuple[str, Callable[[], Any]]] = [
                    ("scoped vector", lambda s=scope, v=query: s.search(v, k=10, mode="vector")),
                    ("scoped text", lambda s=scope, t=text: s.search(t, k=10, mode="text")),
                    ("unscoped vector", lambda v=query: indexed.search(v, k=10, mode="vector")),
                    ("post-filter", lambda v=query: indexed.search(v, k=1000, mode="vector")),
                ]
                if q < max(3, args.queries // 20):  # vec0 scans every chunk: a few queries suffice
                    vec0 = (
                        "scoped vector, vec0",
                        lambda s=plain_scope, v=query: s.search(v, k=10, mode="vector"),
                    )
                    calls.append(vec0)
                for name, call in calls[q % len(calls) :] + calls[: q % len(calls)]:
                    ms, hits = timed(call)
                    times[name].append(ms)
                    if name == "scoped vector":
                        truth = np.argsort(-(vectors[user] @ query))[:10]
                        first = user * args.per_user + 1
                        exact += [h.message.id - first for h in hits] == truth.tolist()
                    if name == "post-filter":
                        mine = [
                            h
                            for h in hits
                            if h.message.conversation_id
                            in range(
                                user * CONVERSATIONS_PER_USER + 1, (user + 1) * CONVERSATIONS_PER_USER + 1
                            )
                        ]
                        misses += len(mine) < 10
        for name, values in times.items():
            rows.append(
                {
                    "call": name,
                    "median_ms": round(statistics.median(values), 3),
                    "p95_ms": round(float(np.percentile(values, 95)), 3),
                    "calls": len(values),
                }
            )
        forgets = _forgetting(url, pool, args)
    print(
        f"\n{total:,} messages, {args.users:,} users of {args.per_user:,}; {args.queries} queries, "
        f"k=10; in-memory index: exact"
    )
    print(f"{'call':>22} {'median ms':>10} {'p95 ms':>9} {'calls':>6}")
    for row in rows:
        print(f"{row['call']:>22} {row['median_ms']:>10.3f} {row['p95_ms']:>9.3f} {row['calls']:>6}")
    print(f"scoped vector searches equal to numpy's exact top 10: {exact} of {len(times['scoped vector'])}")
    print(
        f"post-filter (top 1,000 of everyone's) found fewer than 10 of the user's: {misses} of {args.queries}"
    )
    print(f"\n{'forgetting':>34} {'median ms':>10} {'per message us':>15}")
    for row in forgets:
        print(f"{row['what']:>34} {row['median_ms']:>10.1f} {row['per_message_us']:>15.1f}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "scopes.json"
    out.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "command": " ".join(["bench/scopes.py", *sys.argv[1:]]),
                "messages": total,
                "users": args.users,
                "per_user": args.per_user,
                "build_seconds": round(seconds, 1),
                "searches": rows,
                "exact": exact,
                "post_filter_misses": misses,
                "forgetting": forgets,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


def _deleter(manager: MemoryManager, user: str) -> Callable[[], None]:
    """Delete a user's conversations one by one, as an application without `forget` would."""
    scope = manager.scoped(user)

    def delete_all() -> None:
        for conversation in scope.list_conversations(limit=1000):
            scope.delete_conversation(conversation.id)

    return delete_all


def _forgetting(url: str, pool: np.ndarray, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Forget --forgets users, and delete as many others conversation by conversation, alternating."""
    forget_ms: list[float] = []
    delete_ms: list[float] = []
    with MemoryManager(url, embedder=PoolEmbedder(pool)) as manager:
        manager.search(np.ones(DIMS, dtype=np.float32), k=1, mode="vector")  # a live index to keep in step
        for n in range(args.forgets):
            forgotten = manager.scoped(f"user-{args.users - 1 - 2 * n}")
            ms, report = timed(forgotten.forget)
            assert report.messages == args.per_user, report
            forget_ms.append(ms)
            ms, _ = timed(_deleter(manager, f"user-{args.users - 2 - 2 * n}"))
            delete_ms.append(ms)
    return [
        {
            "what": f"forget one user ({args.per_user:,} messages)",
            "median_ms": round(statistics.median(forget_ms), 1),
            "per_message_us": round(statistics.median(forget_ms) * 1000 / args.per_user, 1),
        },
        {
            "what": "delete_conversation, same amount",
            "median_ms": round(statistics.median(delete_ms), 1),
            "per_message_us": round(statistics.median(delete_ms) * 1000 / args.per_user, 1),
        },
    ]


if __name__ == "__main__":
    main()
