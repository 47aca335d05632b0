"""ChatGPT's data export (`conversations.json`), read as a stream.

Each conversation's `mapping` is a tree of nodes; the conversation as the user last saw it is the
branch that ends at `current_node`. Abandoned branches (regenerated or edited turns), hidden system
nodes and empty nodes are left out.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any, Final

from memory.errors import ValidationError
from memory.importers.records import ImportRecord, RecordError, parse_timestamp
from memory.models import ROLES

_CHUNK: Final = 256 * 1024


def read_chatgpt(stream: IO[bytes]) -> Iterator[ImportRecord | RecordError]:
    """Records of a ChatGPT export, one conversation at a time (memory bounded by the largest one)."""
    for index, item in enumerate(_json_array_items(stream)):
        try:
            yield chatgpt_record(item, f"conversation {index}")
        except RecordError as exc:
            yield exc


def chatgpt_record(item: Any, location: str) -> ImportRecord:
    if not isinstance(item, dict):
        raise RecordError(location, f"expected a conversation object, got {type(item).__name__}")
    mapping = item.get("mapping")
    if not isinstance(mapping, dict) or not mapping:
        raise RecordError(location, "no 'mapping' of message nodes")
    source_id = item.get("id") or item.get("conversation_id")
    if not isinstance(source_id, str) or not source_id:
        raise RecordError(location, "no conversation 'id'")
    title = item.get("title")
    if title is not None and not isinstance(title, str):
        raise RecordError(location, "'title' must be a string")
    try:
        created_at = parse_timestamp(item.get("create_time"), "create_time")
        branch = _current_branch(mapping, item.get("current_node"))
        messages = _messages(branch, created_at)
    except ValueError as exc:
        raise RecordError(location, str(exc)) from None
    return ImportRecord(location, source_id, title, {"source": "chatgpt"}, created_at, messages)


def _current_branch(mapping: dict[str, Any], current: Any) -> list[dict[str, Any]]:
    if not isinstance(current, str) or current not in mapping:
        raise ValueError("'current_node' does not name a node of the mapping")
    branch: list[dict[str, Any]] = []
    seen: set[str] = set()
    node_id: Any = current
    while node_id is not None:
        if not isinstance(node_id, str) or node_id not in mapping or node_id in seen:
            raise ValueError(f"the branch to 'current_node' is broken at node {node_id!r}")
        seen.add(node_id)
        node = mapping[node_id]
        if not isinstance(node, dict):
            raise ValueError(f"node {node_id!r} is not an object")
        branch.append(node)
        node_id = node.get("parent")
    return branch[::-1]


def _messages(branch: list[dict[str, Any]], fallback_time: datetime | None) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    last_time = fallback_time
    for node in branch:
        message = node.get("message")
        if not isinstance(message, dict):
            continue
        author = message.get("author") or {}
        role = author.get("role") if isinstance(author, dict) else None
        metadata = message.get("metadata") or {}
        if role not in ROLES or (
            isinstance(metadata, dict) and metadata.get("is_visually_hidden_from_conversation")
        ):
            continue
        text = _text(message.get("content"))
        if not text.strip():
            continue
        created_at = parse_timestamp(message.get("create_time"), "create_time") or last_time
        last_time = created_at
        extra = {"source_message_id": message.get("id") or node.get("id")}
        if isinstance(author, dict) and isinstance(author.get("name"), str):
            extra["author_name"] = author["name"]
        messages.append({"role": role, "content": text, "created_at": created_at, "metadata": extra})
    return messages


def _text(content: Any) -> str:
    """The text of a message: its string parts (images and other attachments are left out)."""
    if not isinstance(content, dict):
        return ""
    parts = content.get("parts")
    if isinstance(parts, list):
        return "\n".join(part for part in parts if isinstance(part, str))
    text = content.get("text")
    return text if isinstance(text, str) else ""


def _json_array_items(stream: IO[bytes]) -> Iterator[Any]:
    """The items of a top-level JSON array, decoded one at a time from a byte stream."""
    decoder = json.JSONDecoder()
    text_decoder = codecs.getincrementaldecoder("utf-8")()
    buffer, position, at_end = "", 0, False

    def fill() -> bool:
        nonlocal buffer, position, at_end
        chunk = stream.read(_CHUNK)
        try:
            buffer = buffer[position:] + text_decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            raise ValidationError(f"the export is not UTF-8 text: {exc}") from None
        position, at_end = 0, not chunk
        return bool(chunk)

    def skip(characters: str) -> None:
        nonlocal position
        while True:
            while position < len(buffer) and buffer[position] in characters:
                position += 1
            if position < len(buffer) or not fill():
                return

    skip(" \t\r\n")
    if position >= len(buffer) or buffer[position] != "[":
        raise ValidationError("not a ChatGPT export: the file does not start with a JSON array")
    position += 1
    while True:
        skip(" \t\r\n,")
        if position >= len(buffer):
            raise ValidationError("the export ends before its closing ']'")
        if buffer[position] == "]":
            return
        while True:
            try:
                item, end = decoder.raw_decode(buffer, position)
                break
            except json.JSONDecodeError as exc:
                if at_end or not fill():
                    raise ValidationError(f"the export is not valid JSON: {exc.msg}") from None
        position = end
        yield item
