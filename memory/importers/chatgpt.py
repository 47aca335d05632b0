"""ChatGPT's data export (`conversations.json`), read as a stream.

Each conversation's `mapping` is a tree of nodes; the conversation as the user last saw it is the
branch that ends at `current_node`. Abandoned branches (regenerated or edited turns) are left out.

On that branch every node is kept with the role its author has in the export, except:

- the user's context (custom instructions, `user_editable_context`; ChatGPT's memory of the user,
  `model_editable_context`; a (hidden) system message marked `is_user_system_message`) becomes the
  conversation's `user_context` metadata and a `system` message marked `user_context`, so search finds it;
- other nodes hidden from the conversation (system prompts) are left out, unless they are tool traffic;
- the model's reasoning (`thoughts`, `reasoning_recap`) is left out: it is not what the user was told,
  and a recap holds only "Thought for 6s";
- nodes without text are left out (images and other attachments keep only their text parts).
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
_REASONING: Final = frozenset({"thoughts", "reasoning_recap"})
_CONTEXT_TYPES: Final = frozenset({"user_editable_context", "model_editable_context"})
_CONTEXT_FIELDS: Final = ("user_profile", "user_instructions", "model_set_context")
#: Older exports keep the custom instructions only in the message's metadata.
_CONTEXT_DATA: Final = {"about_user_message": "user_profile", "about_model_message": "user_instructions"}
#: Content types whose text is not in `parts` or `text`.
_TEXT_FIELD: Final = {"tether_browsing_display": "result"}
#: Quoted web pages: where the quote comes from is kept in the message's metadata.
_QUOTES: Final = frozenset({"tether_quote", "sonic_webpage"})
_FLAGS: Final = ("is_archived", "is_starred", "is_do_not_remember")


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
        messages, context = _messages(branch, created_at)
    except ValueError as exc:
        raise RecordError(location, str(exc)) from None
    metadata = _conversation_metadata(item, context)
    forget = item.get("is_do_not_remember") is True
    return ImportRecord(location, source_id, title, metadata, created_at, messages, do_not_remember=forget)


def _conversation_metadata(item: dict[str, Any], context: dict[str, str]) -> dict[str, Any]:
    """`source`, the flags and default model the export gives, and the user's context if any."""
    metadata: dict[str, Any] = {"source": "chatgpt"}
    metadata.update((flag, item[flag]) for flag in _FLAGS if isinstance(item.get(flag), bool))
    if isinstance(item.get("default_model_slug"), str):
        metadata["default_model_slug"] = item["default_model_slug"]
    if context:
        metadata["user_context"] = context
    return metadata


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


def _messages(
    branch: list[dict[str, Any]], fallback_time: datetime | None
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The branch's messages, and the user's context gathered from its context nodes."""
    messages: list[dict[str, Any]] = []
    context: dict[str, str] = {}
    last_time = fallback_time
    for node in branch:
        message = node.get("message")
        if not isinstance(message, dict):
            continue
        node_context = _user_context(message)
        context.update(node_context)
        kept = _role_and_text(message, node_context)
        if kept is None:
            continue
        created_at = parse_timestamp(message.get("create_time"), "create_time") or last_time
        last_time = created_at
        role, text = kept
        extra = _message_metadata(message, node, is_context=bool(node_context))
        messages.append({"role": role, "content": text, "created_at": created_at, "metadata": extra})
    return messages, context


def _role_and_text(message: dict[str, Any], context: dict[str, str]) -> tuple[str, str] | None:
    """The role and text a node is stored with, or None for a node that is left out."""
    role = _object(message.get("author")).get("role")
    content = _object(message.get("content"))
    if role not in ROLES or content.get("content_type") in _REASONING:
        return None
    if context:
        return "system", _text(content) or "\n\n".join(context.values())
    if _is_hidden(message) and role != "tool" and _recipient(message) is None:
        return None
    text = _text(content)
    return (role, text) if text.strip() else None


def _user_context(message: dict[str, Any]) -> dict[str, str]:
    """What a context node says about the user ({} for any other node, or an empty context node)."""
    content, metadata = _object(message.get("content")), _object(message.get("metadata"))
    if (
        content.get("content_type") not in _CONTEXT_TYPES
        and metadata.get("is_user_system_message") is not True
    ):
        return {}
    context = {key: content[key] for key in _CONTEXT_FIELDS if _has_text(content.get(key))}
    data = _object(metadata.get("user_context_message_data"))
    for key, field in _CONTEXT_DATA.items():
        if field not in context and _has_text(data.get(key)):
            context[field] = data[key]
    if not context and _has_text(_text(content)):
        context["system_message"] = _text(content)
    return context


def _message_metadata(message: dict[str, Any], node: dict[str, Any], *, is_context: bool) -> dict[str, Any]:
    """Where the message comes from and what kind it is, in a few small keys."""
    extra: dict[str, Any] = {"source_message_id": message.get("id") or node.get("id")}
    author, content = _object(message.get("author")), _object(message.get("content"))
    if isinstance(author.get("name"), str):
        extra["author_name"] = author["name"]
    content_type = content.get("content_type")
    if isinstance(content_type, str) and content_type != "text":
        extra["content_type"] = content_type
    recipient = _recipient(message)
    if recipient is not None:
        extra["recipient"] = recipient
    if content_type in _QUOTES:
        extra.update((key, content[key]) for key in ("url", "title") if isinstance(content.get(key), str))
    if _is_hidden(message):
        extra["hidden"] = True
    if is_context:
        extra["user_context"] = True
    return extra


def _recipient(message: dict[str, Any]) -> str | None:
    """Whom a message is addressed to, when not everyone: the tool a call goes to (`python`,
    `browser`, `bio`, ...), or `assistant` for some tool outputs."""
    recipient = message.get("recipient")
    return recipient if isinstance(recipient, str) and recipient != "all" else None


def _is_hidden(message: dict[str, Any]) -> bool:
    return _object(message.get("metadata")).get("is_visually_hidden_from_conversation") is True


def _text(content: dict[str, Any]) -> str:
    """The text of a message's content: its string parts (images and other attachments are left out),
    else its `text` (code, execution output, quotes, errors) or its content type's own field."""
    parts = content.get("parts")
    if isinstance(parts, list):
        return "\n".join(part for part in parts if isinstance(part, str))
    text = content.get(_TEXT_FIELD.get(str(content.get("content_type")), "text"))
    return text if isinstance(text, str) else ""


def _has_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _object(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (the export leaves many fields null)."""
    return value if isinstance(value, dict) else {}


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
