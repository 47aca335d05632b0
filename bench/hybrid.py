"""Latency of the three search modes on large stores of real text.

    .venv/bin/python bench/hybrid.py [--sizes 100000,1000000] [--queries 50]

Builds a SQLite store per size through `MemoryManager.add_conversations` (10 messages per
conversation, 50,000 per call): the messages are real English sentences (bench/real_vectors.py,
each with a unique suffix), so the full-text index sees a real vocabulary, and their vectors are
random (the vector side's cost does not depend on what they mean). Queries go through the
deterministic `FakeEmbedder`, so the times are the search alone, without a model. Two query sets:
held-out sentences (long, many words) and short keyword queries. Prints a table and writes
bench/results/hybrid.json.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from real_vectors import real_sentences  # noqa: E402

from memory import SEARCH_MODES, FakeEmbedder, MemoryManager  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CORPUS = 39_800  # sentences stored (cycled); the next ones are held out as queries
SHORT_QUERIES = [
    "pydantic validation error",
    "thread pool executor shutdown",
    "unicode decode error in csv",
    "socket timeout",
    "parse command line arguments",
    "timezone aware datetime",
    "deprecated warning",
    "memory leak",
]


def build(path: Path, n: int, sentences: list[str]) -> float:
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    with MemoryManager(f"sqlite:///{path}", embedder=FakeEmbedder(384), vector_index="exact") as manager:
        for start in range(0, n, 50_000):
            batch = []
            for first in range(start, min(n, start + 50_000), 10):
                size = min(10, n - first)
                messages = [
                    {
                        "role": ("user", "assistant")[i % 2],
                        "content": f"{sentences[(first + i) % CORPUS]} #{first + i}",
                    }
                    for i in range(size)
                ]
                vectors = rng.standard_normal((size, 384)).astype(np.float32)
                batch.append({"title": f"at {first}", "messages": messages, "vectors": vectors})
            manager.add_conversations(batch)
    return time.perf_counter() - started


def measure(path: Path, n: int, queries: dict[str, list[str]], ingest_s: float) -> list[dict[str, Any]]:
    rows = []
    with MemoryManager(f"sqlite:///{path}", embedder=FakeEmbedder(384)) as manager:
        for kind, texts in queries.items():
            for mode in SEARCH_MODES:
                for text in texts[:3]:  # warm the index and the page cache
                    manager.search(text, k=10, mode=mode)
                times = []
                for text in texts:
                    started = time.perf_counter()
                    manager.search(text, k=10, mode=mode)
                    times.append((time.perf_counter() - started) * 1000)
                times.sort()
                rows.append(
                    {
                        "messages": n,
                        "queries": kind,
                        "mode": mode,
                        "median_ms": round(statistics.median(times), 2),
                        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 2),
                        "ingest_per_s": round(n / ingest_s),
                    }
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated store sizes")
    parser.add_argument("--queries", type=int, default=50, help="held-out sentences used as queries")
    args = parser.parse_args()
    sentences = real_sentences(CORPUS + args.queries)
    queries = {"sentences": sentences[CORPUS:], "keywords": SHORT_QUERIES}
    rows: list[dict[str, Any]] = []
    columns = ["messages", "queries", "mode", "median_ms", "p95_ms", "ingest_per_s"]
    print("".join(f"{c:>14}" for c in columns))
    for n in (int(size) for size in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "hybrid.db"
            ingest_s = build(path, n, sentences)
            for row in measure(path, n, queries, ingest_s):
                rows.append(row)
                print("".join(f"{row[c]!s:>14}" for c in columns), flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "hybrid.json"
    out.write_text(
        json.dumps(
            {"when": datetime.now(UTC).isoformat(), "command": " ".join(sys.argv), "rows": rows}, indent=2
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
