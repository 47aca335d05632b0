"""Ingest benchmark: MemoryManager.add_messages with the real model against model.encode alone.

    .venv/bin/python bench/ingest.py [--messages 2000] [--repeats 2]

Both sides embed the same distinct texts (from the demo corpus), in the same batches, in the same run,
alternating so that neither gets a warmer machine. Two batchings: one call for all messages, and one
call per conversation (~10 messages, how an assistant adds a turn or an import adds a conversation).
The storage overhead is add_messages / encode - 1. Prints a table and writes bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from memory import MemoryManager, SentenceTransformerEmbedder

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "demo" / "conversations.json"
RESULTS = Path(__file__).resolve().parent / "results"


def corpus_batches(limit: int) -> list[list[dict[str, str]]]:
    """Distinct non-empty messages of the demo corpus, grouped by conversation, `limit` in all.
    Distinct, because add_messages would skip embedding repeated text and flatter itself."""
    seen: set[str] = set()
    batches: list[list[dict[str, str]]] = []
    total = 0
    for conversation in json.loads(CORPUS.read_text()):
        batch = []
        for node in conversation["mapping"].values():
            message = node.get("message") or {}
            role = (message.get("author") or {}).get("role")
            parts = (message.get("content") or {}).get("parts") or []
            text = "\n".join(p for p in parts if isinstance(p, str)).strip()
            if role in ("user", "assistant") and text and text not in seen and total < limit:
                seen.add(text)
                batch.append({"role": role, "content": text})
                total += 1
        if batch:
            batches.append(batch)
    # Top up with the hand-written test sentences when the corpus alone is short of `limit`.
    from tests.data.paraphrases import DISTRACTORS, PARAPHRASE_PAIRS

    extra = [t for pair in PARAPHRASE_PAIRS for t in pair] + DISTRACTORS
    extra = [t for t in extra if t not in seen][: limit - total]
    batches += [[{"role": "user", "content": t} for t in extra[i : i + 10]] for i in range(0, len(extra), 10)]
    if total + len(extra) < limit:
        raise SystemExit(f"only {total + len(extra)} distinct messages are available")
    return batches


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    batches = corpus_batches(args.messages)
    everything = [m for batch in batches for m in batch]
    embedder = SentenceTransformerEmbedder()
    model = embedder._loaded()
    model.encode(["warm up"] * 64, batch_size=64)

    def encode(groups: list[list[dict[str, str]]]) -> None:
        for group in groups:
            model.encode([m["content"] for m in group], batch_size=64, normalize_embeddings=True)

    def add(groups: list[list[dict[str, str]]]) -> float:
        with (
            tempfile.TemporaryDirectory() as tmp,
            MemoryManager(f"sqlite:///{tmp}/ingest.db", embedder=embedder) as mm,
        ):
            conversation_ids = [mm.create_conversation(f"c{i}").id for i in range(len(groups))]
            return timed(
                lambda: [mm.add_messages(c, g) for c, g in zip(conversation_ids, groups, strict=True)]
            )

    rows = []
    for label, groups in (("one batch", [everything]), ("per conversation", batches)):
        encode_times, add_times = [], []
        for _ in range(args.repeats):
            encode_times.append(timed(lambda groups=groups: encode(groups)))
            add_times.append(add(groups))
        encode_s, add_s = statistics.median(encode_times), statistics.median(add_times)
        rows.append(
            {
                "batching": label,
                "messages": len(everything),
                "calls": len(groups),
                "encode_s": round(encode_s, 2),
                "add_messages_s": round(add_s, 2),
                "overhead": round(add_s / encode_s - 1, 3),
                "messages_per_s": round(len(everything) / add_s, 1),
            }
        )
    peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    columns = list(rows[0])
    print("".join(f"{c:>18}" for c in columns))
    for row in rows:
        print("".join(f"{row[c]!s:>18}" for c in columns))
    print(f"peak RSS: {peak_rss_mb} MB; overhead = add_messages / encode - 1 (median of {args.repeats})")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "ingest.json"
    out.write_text(
        json.dumps(
            {"when": datetime.now(UTC).isoformat(), "peak_rss_mb": peak_rss_mb, "rows": rows}, indent=2
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
