"""Small import files built for the importer and CLI tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

T = 1_760_000_000.0  # 2025-10-09, Unix seconds


def _node(
    node_id: str, parent: str | None, children: list[str], message: dict[str, Any] | None
) -> dict[str, Any]:
    return {"id": node_id, "message": message, "parent": parent, "children": children}


def _message(node_id: str, role: str, text: str | None, offset: float, **extra: Any) -> dict[str, Any]:
    content: dict[str, Any] = {"content_type": "text"}
    if text is not None:
        content["parts"] = [text]
    return {
        "id": node_id,
        "author": {"role": role, "name": extra.pop("name", None), "metadata": {}},
        "create_time": None if offset < 0 else T + offset,
        "content": content,
        "metadata": extra.pop("metadata", {}),
        **extra,
    }


def branching_conversation(conversation_id: str = "conv-branch", title: str = "Branches") -> dict[str, Any]:
    """A root, a hidden system node, a custom-instructions node without parts, a user turn, an
    abandoned assistant reply and the regenerated one on the current branch, an empty assistant
    node, a tool result, a final reply, and an abandoned edited user turn elsewhere."""
    hidden = {"is_visually_hidden_from_conversation": True}
    mapping = {
        "root": _node("root", None, ["sys"], None),
        "sys": _node("sys", "root", ["ctx"], _message("sys", "system", "", 0, metadata=hidden)),
        "ctx": _node(
            "ctx", "sys", ["u1", "u1-edited-away"], _message("ctx", "user", None, 1, metadata=hidden)
        ),
        "u1": _node(
            "u1", "ctx", ["a1-old", "a1"], _message("u1", "user", "How do I descale an espresso machine?", 10)
        ),
        "a1-old": _node("a1-old", "u1", [], _message("a1-old", "assistant", "ABANDONED first answer", 20)),
        "a1": _node(
            "a1", "u1", ["empty"], _message("a1", "assistant", "Use a citric acid solution monthly.", 30)
        ),
        "empty": _node("empty", "a1", ["tool"], _message("empty", "assistant", "", 31)),
        "tool": _node(
            "tool",
            "empty",
            ["a2"],
            _message("tool", "tool", "Manual: descale every 200 shots.", -1, name="browser"),
        ),
        "a2": _node("a2", "tool", [], _message("a2", "assistant", "The manual says every 200 shots.", 40)),
        "u1-edited-away": _node(
            "u1-edited-away", "ctx", [], _message("u1-edited-away", "user", "ABANDONED edited question", 5)
        ),
    }
    return {
        "id": conversation_id,
        "conversation_id": conversation_id,
        "title": title,
        "create_time": T,
        "update_time": T + 40,
        "current_node": "a2",
        "mapping": mapping,
    }


def simple_conversation(conversation_id: str, title: str, texts: list[str]) -> dict[str, Any]:
    mapping: dict[str, Any] = {"root": _node("root", None, [], None)}
    parent = "root"
    for index, text in enumerate(texts):
        node_id = f"{conversation_id}-{index}"
        mapping[parent]["children"].append(node_id)
        role = "user" if index % 2 == 0 else "assistant"
        mapping[node_id] = _node(node_id, parent, [], _message(node_id, role, text, index * 60))
        parent = node_id
    return {
        "id": conversation_id,
        "title": title,
        "create_time": T,
        "update_time": T,
        "current_node": parent,
        "mapping": mapping,
    }


BRANCH_TEXTS = [
    "How do I descale an espresso machine?",
    "Use a citric acid solution monthly.",
    "Manual: descale every 200 shots.",
    "The manual says every 200 shots.",
]


def write_chatgpt_export(path: Path, conversations: list[Any]) -> Path:
    path.write_text(json.dumps(conversations, indent=1))
    return path


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


GOOD_JSONL = [
    {
        "id": "j1",
        "title": "Garden",
        "metadata": {"tag": "home"},
        "messages": [
            {
                "role": "user",
                "content": "When should I prune roses?",
                "created_at": "2025-02-01T09:00:00+00:00",
            },
            {
                "role": "assistant",
                "content": "Late winter, before new growth.",
                "created_at": "2025-02-01T09:00:05Z",
            },
        ],
    },
    {"title": "No id here", "messages": [{"role": "user", "content": "A line without an id."}]},
    {"id": 7, "title": "Numeric id", "messages": []},
]
BAD_JSONL = [
    "{not json",
    {"id": "b1", "title": "bad role", "messages": [{"role": "wizard", "content": "x"}]},
    {"id": "b2", "title": "no messages"},
    {
        "id": "b3",
        "title": "bad time",
        "messages": [{"role": "user", "content": "x", "created_at": "someday"}],
    },
    ["not", "an", "object"],
]
