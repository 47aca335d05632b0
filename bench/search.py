"""Search benchmark: vec0 MATCH (through VectorRepository) against numpy exact and the bandwidth bound.

    .venv/bin/python bench/search.py --sizes 10000,100000 [--queries 30]

Prints a table and writes bench/results/search.json. The bound is the time to read the vectors once
(N x dims x 4 bytes) at the memory read bandwidth measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sqlalchemy as sa

import memory
from memory import EmbeddingSpace, VectorRepository

DIMS = 384
RESULTS = Path(__file__).resolve().parent / "results"


def read_bandwidth(rng: np.random.Generator) -> float:
    """Bytes per second for one sequential read of a 1 GiB float32 array (best of 5)."""
    block = rng.standard_normal(256 * 1024 * 1024, dtype=np.float32)
    best = min(_timed(block.sum) for _ in range(5))
    return block.nbytes / best


def _timed(function: object) -> float:
    start = time.perf_counter()
    function()  # type: ignore[operator]
    return time.perf_counter() - start


def build_store(path: Path, vectors: np.ndarray) -> sa.Engine:
    url = f"sqlite:///{path}"
    memory.upgrade(url)
    engine = memory.create_engine(url)
    n = len(vectors)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO conversations (id, created_at, updated_at, metadata) "
            "VALUES (1, '2026-01-01', '2026-01-01', '{}')"
        )
        connection.exec_driver_sql(
            "INSERT INTO messages (id, conversation_id, role, content, created_at, metadata, content_hash) "
            "VALUES (?, 1, 'user', '', '2026-01-01', '{}', '')",
            [(i + 1,) for i in range(n)],
        )
        connection.exec_driver_sql(
            "INSERT INTO message_vectors_1 (message_id, conversation_id, role, created_at, embedding) "
            "VALUES (?, 1, 'user', 0, ?)",
            [(i + 1, vectors[i].tobytes()) for i in range(n)],
        )
    return engine


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def run(size: int, queries: int, bandwidth: float, rng: np.random.Generator) -> list[dict[str, object]]:
    vectors = rng.standard_normal((size, DIMS), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    bound_ms = size * DIMS * 4 / bandwidth * 1000
    probes = rng.standard_normal((queries, DIMS), dtype=np.float32)
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        engine = build_store(path, vectors)
        with memory.session_factory(engine)() as session:
            repository = VectorRepository(session, session.query(EmbeddingSpace).filter_by(id=1).one())
            repository.search(probes[0], k=10)  # warm the page cache
            samples = [_timed(lambda q=q: repository.search(q, k=10)) * 1000 for q in probes]
            rows.append(_row("vec0 MATCH", size, samples, bound_ms, path.stat().st_size))
        engine.dispose()
    samples = [_timed(lambda q=q: np.argpartition(-(vectors @ q), 10)[:10]) * 1000 for q in probes]
    rows.append(_row("numpy exact", size, samples, bound_ms, None))
    return rows


def _row(
    method: str, size: int, samples: list[float], bound_ms: float, file_bytes: int | None
) -> dict[str, object]:
    median, p95 = percentiles(samples)
    return {
        "method": method,
        "vectors": size,
        "median_ms": round(median, 3),
        "p95_ms": round(p95, 3),
        "bound_ms": round(bound_ms, 3),
        "ratio_to_bound": round(median / bound_ms, 2),
        "file_mb": None if file_bytes is None else round(file_bytes / 1e6, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated vector counts")
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    bandwidth = read_bandwidth(rng)
    rows: list[dict[str, object]] = []
    for size in (int(s) for s in args.sizes.split(",")):
        rows += run(size, args.queries, bandwidth, rng)
    columns = [
        "method",
        "vectors",
        "median_ms",
        "p95_ms",
        "bound_ms",
        "ratio_to_bound",
        "file_mb",
        "peak_rss_mb",
    ]
    print(f"read bandwidth: {bandwidth / 1e9:.1f} GB/s")
    print("".join(f"{c:>15}" for c in columns))
    for r in rows:
        print("".join(f"{'-' if r[c] is None else r[c]!s:>15}" for c in columns))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "search.json"
    out.write_text(
        json.dumps(
            {"when": datetime.now(UTC).isoformat(), "bandwidth_gbps": bandwidth / 1e9, "rows": rows}, indent=2
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
