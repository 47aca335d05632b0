"""Bulk writes the way an application makes them: many add_messages calls against a few big add_conversations.

    .venv/bin/python bench/bulk_calls.py                          # 1,000,000 messages
    .venv/bin/python bench/bulk_calls.py --messages 100000        # a quicker run
    .venv/bin/python bench/bulk_calls.py --messages 20000 --per-call 500

The same messages go into two fresh SQLite files, through the public API with an embedder (the
path an application takes, not `vectors=`):

- add_messages: --messages / --per-call calls of MemoryManager.add_messages(conversation_id,
  --per-call messages) (1,000 calls of 1,000 for 1M). Messages fill conversations of
  --conversation-size messages in order; a call never spans two conversations. The conversations
  themselves are created beforehand, untimed (one add_conversations call of bare titles per round).
- add_conversations: MemoryManager.add_conversations with --bulk-per-call messages per call
  (50,000: 50 conversations of 1,000), conversations created inside the timed call.

The embedder's vectors are precomputed: a pool of unit vectors made before timing, row `i % pool`
for the text ending in "#i"; the time spent inside its embed() is measured on every call and
subtracted (column embed_s), so the figures are memory's own. Texts are distinct (`--text short`,
the default: "message (#i)", the two-word messages of bench/search.py's 1M ingest; `--text
sentences`: 8 to 40 words from a word list plus the counter), the same texts for both, so memory's
reuse of the vectors of content it has already stored skips nothing. The two run alternately, one
add_conversations call against the same messages in add_messages calls, which goes first swapping
every round, so both grow at the same pace on the same machine. Reported: messages/s over the whole
load and over the calls that write the last 10% of the messages (speed at the end is what matters
for a big store), the ratio, and each file's size. Prints a table and writes
bench/results/bulk_calls.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import memory  # noqa: E402
from bench.workload import PoolEmbedder, texts_for, unit_pool  # noqa: E402
from memory import MemoryManager  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ROLES = ("user", "assistant")


@dataclass
class Contender:
    label: str
    path: Path
    manager: MemoryManager
    embedder: PoolEmbedder
    # One entry per call: (messages, seconds less the embedder's, embedder seconds, first message index).
    calls: list[tuple[int, float, float, int]] = field(default_factory=list)

    def timed(self, messages: int, first: int, call: Any) -> None:
        spent = self.embedder.seconds
        started = time.perf_counter()
        call()
        elapsed = time.perf_counter() - started
        embed = self.embedder.seconds - spent
        self.calls.append((messages, elapsed - embed, embed, first))


def _messages(texts: list[str], first: int) -> list[dict[str, str]]:
    return [{"role": ROLES[(first + i) % 2], "content": text} for i, text in enumerate(texts)]


def round_by_add_messages(
    contender: Contender, texts: list[str], start: int, args: argparse.Namespace
) -> None:
    """This round's messages in calls of --per-call, each within one conversation."""
    size = args.conversation_size
    first_conversation = start // size
    count = -(-len(texts) // size)
    created = contender.manager.add_conversations(
        [{"title": f"conversation {first_conversation + k}"} for k in range(count)]
    )
    for k, conversation in enumerate(created):
        offset = k * size
        in_conversation = texts[offset : offset + size]
        for at in range(0, len(in_conversation), args.per_call):
            first = start + offset + at
            batch = _messages(in_conversation[at : at + args.per_call], first)
            contender.timed(
                len(batch), first, lambda c=conversation.id, b=batch: contender.manager.add_messages(c, b)
            )


def round_by_add_conversations(contender: Contender, texts: list[str], start: int, size: int) -> None:
    """This round's messages in one add_conversations call, as conversations of `size`."""
    items = [
        {
            "title": f"conversation {(start + offset) // size}",
            "messages": _messages(texts[offset : offset + size], start + offset),
        }
        for offset in range(0, len(texts), size)
    ]
    contender.timed(len(texts), start, lambda: contender.manager.add_conversations(items))


def file_mb(path: Path) -> float:
    return (
        sum(
            Path(f"{path}{suffix}").stat().st_size
            for suffix in ("", "-wal", "-shm")
            if Path(f"{path}{suffix}").exists()
        )
        / 1e6
    )


def summary(contender: Contender, total: int) -> dict[str, Any]:
    net = sum(c[1] for c in contender.calls)
    tail_from = int(total * 0.9)
    tail = [c for c in contender.calls if c[3] + c[0] > tail_from]  # calls writing any of the last 10%
    tail_messages = sum(c[0] for c in tail)
    tail_s = sum(c[1] for c in tail)
    return {
        "contender": contender.label,
        "calls": len(contender.calls),
        "per_call": max(c[0] for c in contender.calls),
        "messages": sum(c[0] for c in contender.calls),
        "seconds": round(net, 2),
        "per_s": round(sum(c[0] for c in contender.calls) / net),
        "tail_calls": len(tail),
        "tail_messages": tail_messages,
        "tail_per_s": round(tail_messages / tail_s),
        "embed_s": round(sum(c[2] for c in contender.calls), 2),
        "median_call_s": round(statistics.median(c[1] for c in contender.calls), 3),
        "slowest_call_s": round(max(c[1] for c in contender.calls), 3),
    }


COLUMNS = [
    "contender",
    "calls",
    "per_call",
    "messages",
    "seconds",
    "per_s",
    "tail_calls",
    "tail_per_s",
    "embed_s",
    "median_call_s",
    "slowest_call_s",
    "file_mb",
    "bytes_per_msg",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--per-call", type=int, default=1000, help="messages per add_messages call")
    parser.add_argument(
        "--bulk-per-call", type=int, default=50_000, help="messages per add_conversations call"
    )
    parser.add_argument("--conversation-size", type=int, default=1000, help="messages per conversation")
    parser.add_argument(
        "--text",
        choices=("short", "sentences"),
        default="short",
        help="short: bench/search.py's two-word messages (the workload of the 51k msg/s bulk figure); "
        "sentences: 8 to 40 words",
    )
    args = parser.parse_args()
    if args.bulk_per_call % args.conversation_size:
        parser.error("--bulk-per-call must be a multiple of --conversation-size")
    if min(args.messages, args.per_call, args.bulk_per_call, args.conversation_size) < 1:
        parser.error("sizes must be positive")

    pool = unit_pool()
    total = args.messages
    print(
        f"{total:,} messages: add_messages x {args.per_call:,} against add_conversations x "
        f"{args.bulk_per_call:,}, conversations of {args.conversation_size:,}"
    )
    rows = []
    with tempfile.TemporaryDirectory(dir=RESULTS if RESULTS.exists() else None) as tmp:
        contenders = []
        for label in ("add_messages", "add_conversations"):
            path = Path(tmp) / f"{label}.db"
            embedder = PoolEmbedder(pool)
            assert isinstance(embedder, memory.Embedder)
            manager = MemoryManager(f"sqlite:///{path}", embedder=embedder)
            contenders.append(Contender(label, path, manager, embedder))
        by_calls, bulk = contenders
        started = time.perf_counter()
        step = max(total // 10, 1)
        next_report = step
        try:
            for number, start in enumerate(range(0, total, args.bulk_per_call)):
                texts = texts_for(start, min(start + args.bulk_per_call, total), args.text)
                first, second = (by_calls, bulk) if number % 2 == 0 else (bulk, by_calls)
                for contender in (first, second):
                    if contender is by_calls:
                        round_by_add_messages(contender, texts, start, args)
                    else:
                        round_by_add_conversations(contender, texts, start, args.conversation_size)
                done = start + len(texts)
                if done >= next_report or done == total:
                    rates = ", ".join(
                        f"{c.label} {sum(x[0] for x in c.calls) / sum(x[1] for x in c.calls):,.0f}/s"
                        for c in contenders
                    )
                    elapsed = time.perf_counter() - started
                    print(f"  {done:>10,} messages ({elapsed:.0f} s): {rates}", flush=True)
                    next_report = (done // step + 1) * step
            for contender in contenders:
                stats = contender.manager.stats()
                if stats["messages"] != total or sum(stats["vectors"].values()) != total:
                    raise AssertionError(
                        f"{contender.label}: {stats['messages']} messages, {stats['vectors']}"
                    )
        finally:
            for contender in contenders:
                contender.manager.close()
        for contender in contenders:
            row = summary(contender, total)
            row["call_seconds"] = [round(c[1], 4) for c in contender.calls]
            row["file_mb"] = round(file_mb(contender.path), 1)
            row["bytes_per_msg"] = round(row["file_mb"] * 1e6 / total)
            rows.append(row)

    print()
    print(f"{COLUMNS[0]:>18}" + "".join(f"{c:>15}" for c in COLUMNS[1:]))
    for row in rows:
        print(f"{row[COLUMNS[0]]:>18}" + "".join(f"{row[c]!s:>15}" for c in COLUMNS[1:]))
    ratio = rows[0]["per_s"] / rows[1]["per_s"]
    tail_ratio = rows[0]["tail_per_s"] / rows[1]["tail_per_s"]
    print(
        f"add_messages / add_conversations: {ratio:.2f} overall, {tail_ratio:.2f} over the last 10%. "
        "seconds and per_s leave out the embedder's own time (embed_s); tail: the calls that write the "
        "last 10% of the messages"
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "bulk_calls.json"
    out.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "command": " ".join(sys.argv),
                "messages": total,
                "per_call": args.per_call,
                "bulk_per_call": args.bulk_per_call,
                "conversation_size": args.conversation_size,
                "text": args.text,
                "embedder": "precomputed vectors from a pool (time inside embed() left out)",
                "rows": rows,  # call_seconds: each call's time less the embedder's, in order
                "ratio": round(ratio, 3),
                "tail_ratio": round(tail_ratio, 3),
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
