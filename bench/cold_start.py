"""First search in a fresh process, and what several searching processes hold in memory.

    .venv/bin/python bench/cold_start.py                       # 100k and 1M vectors
    .venv/bin/python bench/cold_start.py --sizes 100000 --runs 3

Stores are built as in bench/search.py (real all-MiniLM-L6-v2 vectors, noisy copies past 39,800;
MemoryManager.add_conversations with precomputed vectors). Each measurement is a fresh Python
process that opens a MemoryManager and runs one vector search (the query a vector: no model); the
time of that first `search` call is reported (the manager's open, the same for all, on its own
line), median of --runs processes:

- vec0 MATCH: `vector_index=None` (sqlite-vec's own brute-force KNN)
- index, built: the exact in-memory index built from vec0's chunks (`index_snapshots=False`)
- index, snapshot: the same index mapped from its snapshot (written by a first process beforehand;
  the file is in the page cache, as it is on a machine that ran the app before)
- plain tables (peer): vectors as BLOBs in an ordinary SQLite table, all read and scanned with numpy
  (a faithful few lines of what a store on plain SQLite tables does on its first search)

Memory: four processes each open the 1M store (largest size) and run 20 searches, then report their
resident memory (RSS) and proportional share (PSS: a page shared by n processes counts 1/n in each,
so the sum is what the machine holds); against one copy of the vectors (N x 384 x 4 bytes) plus
four times the baseline of a process that searched with vec0 only. Disk: the snapshot beside the
database file. Writes bench/results/cold_start.json.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.real_vectors import real_embeddings, scaled_embeddings  # noqa: E402
from bench.search import BASE, CACHE, HELD_OUT, REAL, build_store  # noqa: E402

RESULTS = ROOT / "bench" / "results"
METHODS = ("vec0", "built", "snapshot", "plain")
LABELS = {
    "vec0": "vec0 MATCH",
    "built": "index, built",
    "snapshot": "index, snapshot",
    "plain": "plain tables (peer)",
}


def _memory_kb() -> dict[str, int]:
    fields = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            fields[name.lower()] = int(rest.split()[0])
    return fields


def worker(method: str, url: str, queries_path: str, searches: int, hold: bool) -> None:
    """One fresh process: open, first search, then `searches` more; prints JSON (and with `hold`
    waits for a line on stdin before it exits, so its memory can be read beside the others')."""
    queries = np.load(queries_path)
    started = time.perf_counter()
    if method == "plain":
        connection = sqlite3.connect(url)
        opened = time.perf_counter()

        def search(query: np.ndarray) -> list[int]:
            rows = connection.execute("SELECT id, v FROM vectors").fetchall()
            ids = np.array([r[0] for r in rows])
            matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
            scores = matrix @ query
            top = np.argpartition(-scores, 10)[:10]
            return ids[top[np.argsort(-scores[top])]].tolist()
    else:
        from bench.search import _Named
        from memory import MemoryManager

        options: dict[str, Any] = {
            "vec0": {"vector_index": None},
            "built": {"index_snapshots": False},
            "snapshot": {},
        }[method]
        manager = MemoryManager(url, embedder=_Named(), **options)
        opened = time.perf_counter()

        def search(query: np.ndarray) -> list[int]:
            return [hit.message.id for hit in manager.search(query, 10, mode="vector")]

    first_started = time.perf_counter()
    search(queries[0])
    first = time.perf_counter() - first_started
    samples = []
    for query in queries[1 : searches + 1]:
        t = time.perf_counter()
        search(query)
        samples.append(time.perf_counter() - t)
    result = {
        "open_s": opened - started,
        "first_s": first,
        "then_ms": statistics.median(samples) * 1000 if samples else None,
        **_memory_kb(),
    }
    print(json.dumps(result), flush=True)
    if hold:
        sys.stdin.readline()


def _run(method: str, url: str, queries: Path, searches: int = 5) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "worker", method, url, str(queries), str(searches)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _plain_copy(path: Path, vectors: np.ndarray) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE vectors (id INTEGER PRIMARY KEY, v BLOB)")
    connection.executemany(
        "INSERT INTO vectors VALUES (?, ?)", ((i + 1, v.tobytes()) for i, v in enumerate(vectors))
    )
    connection.commit()
    connection.close()


def measure(size: int, runs: int, memory_processes: int, tmp: Path) -> dict[str, Any]:
    base = real_embeddings(REAL, CACHE)
    queries = base[BASE : BASE + HELD_OUT][:40]
    queries_path = tmp / "queries.npy"
    np.save(queries_path, queries)
    vectors = base[:BASE][:size].copy() if size <= BASE else scaled_embeddings(base[:BASE], size, seed=size)
    path = tmp / f"store-{size}.db"
    url = f"sqlite:///{path}"
    built = build_store(path, vectors)
    plain = tmp / f"plain-{size}.db"
    _plain_copy(plain, vectors)
    del vectors
    print(f"{size:,} vectors: store built in {built['ingest_s']} s", flush=True)
    _run("snapshot", url, queries_path)  # writes the snapshot
    rows: dict[str, list[dict[str, Any]]] = {method: [] for method in METHODS}
    for _ in range(runs):  # interleaved, so a drift in the machine hits every method alike
        for method in METHODS:
            rows[method].append(_run(method, str(plain) if method == "plain" else url, queries_path))
    result: dict[str, Any] = {"vectors": size, "methods": {}}
    for method, samples in rows.items():
        result["methods"][method] = {
            "first_search_s": round(statistics.median(s["first_s"] for s in samples), 3),
            "open_s": round(statistics.median(s["open_s"] for s in samples), 3),
            "then_ms": round(statistics.median(s["then_ms"] for s in samples), 2),
            "rss_mb": round(statistics.median(s["rss"] for s in samples) / 1024),
            "pss_mb": round(statistics.median(s["pss"] for s in samples) / 1024),
        }
    snapshot = next(Path(f"{path}.index").glob("*.snapshot"))
    raw = size * 384 * 4
    result["disk"] = {
        "database_mb": round(path.stat().st_size / 2**20),
        "snapshot_mb": round(snapshot.stat().st_size / 2**20),
        "raw_vectors_mb": round(raw / 2**20),
        "database_over_raw": round(path.stat().st_size / raw, 2),
        "with_snapshot_over_raw": round((path.stat().st_size + snapshot.stat().st_size) / raw, 2),
    }
    if memory_processes:
        result["memory"] = _memory(url, queries_path, memory_processes, raw)
    return result


def _memory(url: str, queries: Path, processes: int, raw: int) -> dict[str, Any]:
    def together(method: str, count: int) -> list[dict[str, Any]]:
        children = [
            subprocess.Popen(
                [sys.executable, __file__, "worker", method, url, str(queries), "20", "--hold"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        readings = []
        for child in children:
            assert child.stdout is not None
            readings.append(json.loads(child.stdout.readline()))
        for child in children:
            child.communicate("\n", timeout=60)
        return readings

    baseline = together("vec0", 1)[0]
    four = together("snapshot", processes)
    total_pss = sum(r["pss"] for r in four) * 1024
    allowed = 1.5 * raw + processes * baseline["pss"] * 1024
    return {
        "processes": processes,
        "baseline_pss_mb": round(baseline["pss"] / 1024),
        "rss_mb_each": [round(r["rss"] / 1024) for r in four],
        "pss_mb_each": [round(r["pss"] / 1024) for r in four],
        "total_pss_mb": round(total_pss / 2**20),
        "one_copy_mb": round(raw / 2**20),
        "target_mb": round(allowed / 2**20),
        "total_over_target": round(total_pss / allowed, 2),
        "vectors_held_copies": round((total_pss - processes * baseline["pss"] * 1024) / raw, 2),
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), "--hold" in sys.argv)
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--processes", type=int, default=4)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as directory:
        for size in args.sizes:
            last = size == max(args.sizes)
            results.append(measure(size, args.runs, args.processes if last else 0, Path(directory)))
            _print(results[-1])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cold_start.json").write_text(
        json.dumps(
            {"when": datetime.now(UTC).isoformat(), "command": " ".join(sys.argv), "results": results},
            indent=1,
        )
    )


def _print(result: dict[str, Any]) -> None:
    print(f"\n{result['vectors']:,} vectors: first search in a fresh process (median)")
    print(f"{'method':<22}{'first search':>14}{'then':>10}{'open':>9}{'RSS':>9}{'PSS':>9}")
    for method, row in result["methods"].items():
        print(
            f"{LABELS[method]:<22}{row['first_search_s']:>12.3f} s{row['then_ms']:>7.1f} ms"
            f"{row['open_s']:>7.2f} s{row['rss_mb']:>6} MB{row['pss_mb']:>6} MB"
        )
    print("disk:", result["disk"])
    if "memory" in result:
        print("memory:", result["memory"])


if __name__ == "__main__":
    main()
