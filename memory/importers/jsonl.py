"""JSON Lines: one conversation per line, the format `memory export` writes.

    {"id"?, "title", "metadata"?, "created_at"?,
     "messages": [{"role", "content", "created_at"?, "metadata"?}]}

A line without "id" gets a source id from a hash of its content, so re-importing it is a no-op too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import IO, Any

from memory.importers.records import ImportRecord, RecordError, parse_timestamp

_CONVERSATION_KEYS = frozenset({"id", "title", "metadata", "created_at", "updated_at", "messages"})


def read_jsonl(stream: IO[bytes]) -> Iterator[ImportRecord | RecordError]:
    """Records of a JSONL file, one line at a time (memory stays bounded by the longest line)."""
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        location = f"line {number}"
        try:
            data = json.loads(raw.decode("utf-8"))
            yield jsonl_record(data, location)
        except RecordError as exc:
            yield exc
        except (UnicodeDecodeError, ValueError) as exc:
            yield RecordError(location, f"not valid JSON: {exc}")


def jsonl_record(data: Any, location: str) -> ImportRecord:
    if not isinstance(data, dict):
        raise RecordError(location, f"expected a JSON object, got {type(data).__name__}")
    unknown = set(data) - _CONVERSATION_KEYS
    if unknown:
        raise RecordError(location, f"unknown keys {sorted(unknown)}")
    messages = data.get("messages")
    if not isinstance(messages, list):
        raise RecordError(location, "'messages' must be a list")
    title = data.get("title")
    if title is not None and not isinstance(title, str):
        raise RecordError(location, "'title' must be a string or null")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise RecordError(location, "'metadata' must be an object")
    source_id = data.get("id")
    if source_id is None:
        source_id = "sha256:" + hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()
    elif isinstance(source_id, int | str) and not isinstance(source_id, bool):
        source_id = str(source_id)
    else:
        raise RecordError(location, "'id' must be a string or an integer")
    try:
        created_at = parse_timestamp(data.get("created_at"), "created_at")
        converted = [_message(m, i) for i, m in enumerate(messages)]
    except ValueError as exc:
        raise RecordError(location, str(exc)) from None
    return ImportRecord(location, source_id, title, metadata, created_at, converted)


def _message(message: Any, index: int) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise ValueError(f"message {index} must be an object")
    converted = dict(message)
    if "created_at" in converted:
        converted["created_at"] = parse_timestamp(converted["created_at"], f"message {index} created_at")
    return converted
