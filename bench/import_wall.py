"""Wall time of importing a ChatGPT export with the real model, against the model alone.

    .venv/bin/python bench/import_wall.py                      # >= 20,000 messages, every row
    .venv/bin/python bench/import_wall.py --messages 5000 --rows encode,import

The corpus is demo/conversations.json repeated until it holds at least `--messages` messages; each
copy gets fresh conversation ids, and its texts a copy marker (" [copy N]"), so that no copy reuses
another's vectors by content hash and the import really embeds every text. Rows, run side by side in
one process with the same loaded model (its loading is in no row), in the order given:

- encode: `SentenceTransformerEmbedder.embed` (model.encode, the embedder's batch size 64) over the
  distinct texts of the messages the import stores, in one call (the import embeds each distinct
  text once: the demo repeats some, such as the user's custom instructions);
- encode-all: the same over every message's text, repeats included;
- import: `import_file` as it is, into a new SQLite file (batches of `--batch` messages, the model
  on a worker thread while the batch before it is written);
- batched-serial: the same batches through `add_conversations`, one after the other (the model and
  the writes take turns): what the overlap is worth;
- before: the import before batching, one `add_conversations` call (one model call, one
  transaction) per conversation, as `import_file` did at commit 952cecb.

Prints a table and writes bench/results/import_wall.json; `ratio` is a row's wall time over encode's.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from memory import MemoryManager, SentenceTransformerEmbedder
from memory.importers import ImportRecord, import_file, read_chatgpt
from memory.validation import ConversationDraft, draft_conversation

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo" / "conversations.json"
RESULTS = Path(__file__).resolve().parent / "results"
ROWS = ("encode", "encode-all", "import", "batched-serial", "before")


def build_corpus(path: Path, messages: int) -> tuple[list[str], int]:
    """Write the repeated demo export to `path`; the texts of the messages an import stores, and the
    number of conversations."""
    demo = json.loads(DEMO.read_text())
    per_copy = _stored_texts(DEMO)
    copies = -(-messages // len(per_copy))
    items: list[Any] = []
    for number in range(copies):
        for conversation in demo:
            twin = copy.deepcopy(conversation)
            twin["id"] = f"{conversation['id']}-copy{number}"
            twin.pop("conversation_id", None)
            if number:
                _mark_texts(twin, f" [copy {number}]")
            items.append(twin)
    path.write_text(json.dumps(items))
    return _stored_texts(path), len(items)


def _mark_texts(conversation: dict[str, Any], marker: str) -> None:
    for node in conversation["mapping"].values():
        content = (node.get("message") or {}).get("content") or {}
        if isinstance(content.get("parts"), list):
            content["parts"] = [
                p + marker if isinstance(p, str) and p.strip() else p for p in content["parts"]
            ]
        for key in ("text", "result", *_CONTEXT_FIELDS):
            if isinstance(content.get(key), str) and content[key].strip():
                content[key] += marker


_CONTEXT_FIELDS = ("user_profile", "user_instructions", "model_set_context")


def _stored_texts(path: Path) -> list[str]:
    with path.open("rb") as stream:
        records = [r for r in read_chatgpt(stream) if isinstance(r, ImportRecord) and not r.do_not_remember]
    return [str(message["content"]) for record in records for message in record.messages]


def _drafts(manager: MemoryManager, path: Path) -> list[ConversationDraft]:
    with path.open("rb") as stream:
        records = [r for r in read_chatgpt(stream) if isinstance(r, ImportRecord) and not r.do_not_remember]
    return [
        draft_conversation(
            {
                "title": r.title,
                "metadata": r.metadata,
                "source_id": r.source_id,
                "created_at": r.created_at,
                "messages": r.messages or None,
            },
            manager.max_content_bytes,
        )
        for r in records
    ]


def before(manager: MemoryManager, path: Path) -> int:
    """`import_file` at 952cecb: per record, look the source id up, then one `add_conversations`."""
    stored = 0
    for draft in _drafts(manager, path):
        assert draft.source_id is not None
        if manager.find_conversation(draft.source_id) is None:
            manager.add_conversations([draft])
            stored += len(draft.messages)
    return stored


def batched_serial(manager: MemoryManager, path: Path, batch: int) -> int:
    """The import's batches, each embedded and then written by `add_conversations`, no overlap."""
    stored, pending, size = 0, list[ConversationDraft](), 0
    for draft in _drafts(manager, path):
        assert draft.source_id is not None
        if manager.find_conversation(draft.source_id) is not None:
            continue
        pending.append(draft)
        size += len(draft.messages)
        if size >= batch:
            manager.add_conversations(pending)
            stored, pending, size = stored + size, [], 0
    if pending:
        manager.add_conversations(pending)
    return stored + size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=2048, help="import_file's batch_messages")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, from {', '.join(ROWS)}")
    args = parser.parse_args()
    rows = [row.strip() for row in args.rows.split(",") if row.strip()]
    if unknown := set(rows) - set(ROWS):
        sys.exit(f"unknown rows: {', '.join(sorted(unknown))}")
    import torch

    embedder = SentenceTransformerEmbedder()
    embedder.embed(["warm-up"])  # the model loads here, in no row
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "conversations.json"
        texts, conversations = build_corpus(corpus, args.messages)
        print(
            f"corpus: {conversations} conversations, {len(texts)} messages ({len(set(texts))} distinct), "
            f"{corpus.stat().st_size / 1e6:.1f} MB; torch threads {torch.get_num_threads()}, "
            f"{os.cpu_count()} cores",
            flush=True,
        )
        runs: dict[str, Callable[[Path], int]] = {
            "encode": lambda _: len(embedder.embed(list(dict.fromkeys(texts)))),
            "encode-all": lambda _: len(embedder.embed(texts)),
            "import": lambda db: _with_store(db, embedder, lambda m: _import(m, corpus, args.batch)),
            "batched-serial": lambda db: _with_store(
                db, embedder, lambda m: batched_serial(m, corpus, args.batch)
            ),
            "before": lambda db: _with_store(db, embedder, lambda m: before(m, corpus)),
        }
        seconds: dict[str, float] = {}
        cpu: dict[str, float] = {}
        for number, row in enumerate(rows):
            started, cpu_started = time.perf_counter(), time.process_time()
            count = runs[row](Path(scratch) / f"{number}-{row}.db")
            seconds[row] = time.perf_counter() - started
            cpu[row] = time.process_time() - cpu_started
            print(f"{row}: {seconds[row]:.1f} s, cpu {cpu[row]:.1f} s ({count} messages)", flush=True)
    base = seconds.get("encode")
    print(f"\n{'row':<16} {'wall s':>8} {'cpu s':>8} {'msg/s':>8} {'ratio':>6}")
    for row, value in seconds.items():
        ratio = f"{value / base:6.3f}" if base else "     -"
        print(f"{row:<16} {value:8.1f} {cpu[row]:8.1f} {len(texts) / value:8.0f} {ratio}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["bench/import_wall.py", *sys.argv[1:]]),
        "conversations": conversations,
        "messages": len(texts),
        "distinct_texts": len(set(texts)),
        "batch_messages": args.batch,
        "torch_threads": torch.get_num_threads(),
        "cores": os.cpu_count(),
        "load_average_after": os.getloadavg(),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "ratio_to_encode": {row: value / base for row, value in seconds.items()} if base else {},
    }
    (RESULTS / "import_wall.json").write_text(json.dumps(report, indent=2) + "\n")


def _import(manager: MemoryManager, corpus: Path, batch: int) -> int:
    return import_file(manager, corpus, batch_messages=batch).messages


def _with_store(
    path: Path, embedder: SentenceTransformerEmbedder, work: Callable[[MemoryManager], int]
) -> int:
    """Run `work` on a new store (opening it is timed too: a few ms)."""
    with MemoryManager(f"sqlite:///{path}", embedder=embedder) as manager:
        return work(manager)


if __name__ == "__main__":
    main()
