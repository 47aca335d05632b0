"""What memory that ages buys and costs: file size, compact and restore throughput, and what search
still finds once conversations are compacted.

    .venv/bin/python bench/tiers.py size [--messages 100000]
    .venv/bin/python bench/tiers.py quality [--db PATH]

`size`: --messages messages (conversations as long as the demo corpus's, 6 to 19 messages, median
12; sentences from a word list; 384-dimension unit vectors precomputed: no model; 2% starred) in a
fresh SQLite file, 80% of them in conversations last updated 31 to 400 days before `now` (the rest
within the last 30), old and recent ones interleaved as they arrive in a real store. Reported: the
file size after VACUUM, then `compact(now=...)` (the summarizer embeds with a fake embedder: this is
memory's own cost) and the file size after VACUUM, the compaction's messages/s (archived messages
over wall time), then the restore of every archived conversation in messages/s and the file size
once all are back.

`quality`: the demo corpus with the real model (all-MiniLM-L6-v2), as bench/quality.py; every
conversation compacted to the summary tier, then (on a fresh copy) to the key-points tier; for each
hand-labelled query of bench/data/quality_queries.json, whether a hit among the top 5 (hybrid) is in
a conversation that holds a relevant message. Reported against the same share in full.

Writes bench/results/tiers-size.json or bench/results/tiers-quality.json.
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

from memory import FakeEmbedder, MemoryManager, RetentionPolicy, create_engine  # noqa: E402
from memory.lifecycle.summarize import ExtractiveSummarizer  # noqa: E402

RESULTS = ROOT / "bench" / "results"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
_WORD_LIST = (
    "kettle boiler sourdough starter garden tomato invoice budget python server backup cycling route holiday "
    "train ticket museum recipe oven bread flour water salt pressure radiator valve plumber contract lease "
    "landlord deposit insurance claim doctor appointment vaccine passport visa hotel"
)
WORDS = tuple(_WORD_LIST.split(" "))


def _vacuumed_size(url: str, path: Path) -> int:
    """The file's size after a checkpoint and VACUUM (on memory's own driver, with sqlite-vec)."""
    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        connection: Any = raw.driver_connection
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
        engine.dispose()
    return path.stat().st_size


def _demo_lengths() -> list[int]:
    """How many messages each conversation of the demo corpus has."""
    data = json.loads((ROOT / "demo" / "conversations.json").read_text())
    return [
        sum(1 for node in c["mapping"].values() if (node.get("message") or {}).get("content")) for c in data
    ]


def size(messages: int) -> dict[str, Any]:
    rng = np.random.default_rng(18)
    lengths: list[int] = []
    demo = _demo_lengths()
    while sum(lengths) < messages:
        lengths.append(min(int(rng.choice(demo)), messages - sum(lengths)))
    conversations = len(lengths)
    tmp = Path(tempfile.mkdtemp())
    path = tmp / "tiers.db"
    url = f"sqlite:///{path}"
    dims = 384
    try:
        with MemoryManager(url, embedder=FakeEmbedder(dims)) as manager:
            started = time.perf_counter()
            for start in range(0, conversations, 250):
                batch = []
                for c in range(start, min(conversations, start + 250)):
                    per = lengths[c]
                    old = rng.random() < 0.8
                    age = rng.uniform(31, 400) if old else rng.uniform(0, 29)
                    when = NOW - timedelta(days=float(age))
                    texts = [
                        " ".join(rng.choice(WORDS, size=int(rng.integers(8, 40)))) + f". Note {c}.{i}."
                        for i in range(per)
                    ]
                    vectors = rng.standard_normal((per, dims)).astype(np.float32)
                    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                    batch.append(
                        {
                            "title": f"conversation {c}",
                            "created_at": when,
                            "metadata": {"is_starred": True} if rng.random() < 0.02 else {},
                            "messages": [
                                {"role": ("user", "assistant")[i % 2], "content": t, "created_at": when}
                                for i, t in enumerate(texts)
                            ],
                            "vectors": vectors,
                        }
                    )
                manager.add_conversations(batch)
            print(f"loaded {messages} messages in {time.perf_counter() - started:.0f} s")
        before = _vacuumed_size(url, path)
        summarizer = ExtractiveSummarizer(FakeEmbedder(dims))
        with MemoryManager(url, embedder=FakeEmbedder(dims), summarizer=summarizer) as manager:
            started = time.perf_counter()
            report = manager.compact(now=NOW)
            compact_s = time.perf_counter() - started
            archived = [c.id for c in manager.list_conversations(limit=conversations) if c.tier != "full"]
            with manager.engine.connect() as connection:
                left = connection.exec_driver_sql("SELECT count(*) FROM messages").scalar_one()
        after = _vacuumed_size(url, path)
        archive_bytes = sum(p.stat().st_size for p in Path(f"{path}.archive").rglob("*") if p.is_file())
        with MemoryManager(url, embedder=FakeEmbedder(dims)) as manager:
            started = time.perf_counter()
            restored = sum(manager.restore(c) for c in archived)
            restore_s = time.perf_counter() - started
            assert manager.check().ok
        back = _vacuumed_size(url, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "messages": messages,
        "conversations": conversations,
        "archived_messages": report.messages_archived,
        "messages_left_after_compact": left,
        "moved": report.moved,
        "bytes_before": before,
        "bytes_after_compact_vacuum": after,
        "after_over_before": round(after / before, 3),
        "archive_bytes": archive_bytes,
        "compact_s": round(compact_s, 1),
        "compact_messages_per_s": round(report.messages_archived / compact_s),
        "restore_s": round(restore_s, 1),
        "restore_messages_per_s": round(restored / restore_s),
        "bytes_after_restore_vacuum": back,
    }
    return result


def _found(manager: MemoryManager, queries: list[dict[str, Any]], by_source: dict[str, int]) -> list[bool]:
    found = []
    for query in queries:
        wanted = {by_source[r["conversation"]] for r in query["relevant"]}
        hits = manager.search(query["query"], k=5)
        found.append(any(hit.message.conversation_id in wanted for hit in hits))
    return found


def quality(db: Path | None) -> dict[str, Any]:
    from memory.importers import import_file

    queries = json.loads((ROOT / "bench" / "data" / "quality_queries.json").read_text())["queries"]
    tmp = Path(tempfile.mkdtemp())
    try:
        source = db or tmp / "demo.db"
        if not source.exists():
            with MemoryManager(f"sqlite:///{source}") as manager:
                import_file(manager, ROOT / "demo" / "conversations.json", format="chatgpt")
        shares: dict[str, float] = {}
        policies = {
            "full": None,
            "key_points": RetentionPolicy(
                full_days=0, key_points_days=1e9, summary_days=1e9, important_factor=1
            ),
            "summary": RetentionPolicy(full_days=0, key_points_days=0, summary_days=1e9, important_factor=1),
        }
        for tier, policy in policies.items():
            copy = tmp / f"{tier}.db"
            shutil.copyfile(source, copy)
            with MemoryManager(f"sqlite:///{copy}") as manager:
                if policy is not None:
                    manager.compact(policy, now=NOW + timedelta(days=3650))
                with manager.engine.connect() as connection:
                    by_source = dict(
                        connection.exec_driver_sql("SELECT source_id, id FROM conversations").all()
                    )
                found = _found(manager, queries, by_source)
            shares[tier] = round(sum(found) / len(found), 3)
            print(f"{tier}: relevant conversation in the top 5 for {sum(found)} of {len(found)} queries")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"queries": len(queries), "top5_conversation_share": shares}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=("size", "quality"))
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="quality: a store of the demo corpus to reuse")
    args = parser.parse_args()
    result = size(args.messages) if args.what == "size" else quality(args.db)
    print(json.dumps(result, indent=1))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"tiers-{args.what}.json"
    out.write_text(
        json.dumps({"when": datetime.now(UTC).isoformat(), "command": " ".join(sys.argv), **result}, indent=1)
    )


if __name__ == "__main__":
    main()
