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


def _chain(nodes: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """A mapping of one branch: a root, then each (node id, message) the child of the one before."""
    mapping = {"root": _node("root", None, [], None)}
    parent = "root"
    for node_id, message in nodes:
        mapping[parent]["children"].append(node_id)
        mapping[node_id] = _node(node_id, parent, [], message)
        parent = node_id
    return mapping


USER_CONTEXT = "The user prefers metric units and 24-hour times in every answer."
USER_PROFILE = "The user provided the following information about themselves: I keep bees near Lyon."
USER_INSTRUCTIONS = (
    "The user provided the additional info about how they would like you to respond: Be brief."
)
MODEL_MEMORY = "1. [2025-10-01]. User has three beehives."


def every_kind_conversation(conversation_id: str = "conv-kinds") -> dict[str, Any]:
    """One branch with each kind of node a ChatGPT export holds: an empty hidden system prompt, the
    user's context as a hidden system message, custom instructions, ChatGPT's memory, a question, a
    python call and its output, reasoning, a browser query, its page, quote and error, a memory write
    to `bio` and its reply, an image with a caption, and the answer; archived, starred, a model slug."""
    hidden = {"is_visually_hidden_from_conversation": True}
    custom = {
        "content_type": "user_editable_context",
        "user_profile": USER_PROFILE,
        "user_instructions": USER_INSTRUCTIONS,
    }
    context_data = {"about_user_message": "I keep bees near Lyon.", "about_model_message": "Be brief."}
    nodes = [
        ("prompt", _message("prompt", "system", "", 0, metadata={**hidden, "rebase_system_message": True})),
        (
            "context",
            _message(
                "context", "system", USER_CONTEXT, 0, metadata={**hidden, "is_user_system_message": True}
            ),
        ),
        (
            "custom",
            _message(
                "custom",
                "user",
                None,
                0,
                content=custom,
                metadata={
                    **hidden,
                    "is_user_system_message": True,
                    "user_context_message_data": context_data,
                },
            ),
        ),
        (
            "memory",
            _message(
                "memory",
                "assistant",
                None,
                0,
                content={"content_type": "model_editable_context", "model_set_context": MODEL_MEMORY},
                metadata=hidden,
            ),
        ),
        ("question", _message("question", "user", "How heavy are my hives, and will it rain?", 10)),
        (
            "code",
            _message(
                "code",
                "assistant",
                None,
                11,
                content={"content_type": "code", "language": "python", "text": "print(41.5 + 42.0)"},
                recipient="python",
            ),
        ),
        (
            "output",
            _message(
                "output",
                "tool",
                None,
                12,
                content={"content_type": "execution_output", "text": "83.5"},
                name="python",
            ),
        ),
        (
            "thoughts",
            _message(
                "thoughts",
                "assistant",
                None,
                13,
                content={
                    "content_type": "thoughts",
                    "thoughts": [{"summary": "Weather", "content": "PRIVATE reasoning about rain"}],
                },
            ),
        ),
        (
            "recap",
            _message(
                "recap",
                "assistant",
                None,
                14,
                content={"content_type": "reasoning_recap", "content": "Thought for 6s"},
            ),
        ),
        (
            "query",
            _message(
                "query",
                "assistant",
                None,
                15,
                content={"content_type": "code", "language": "unknown", "text": 'search("Lyon weather")'},
                recipient="browser",
            ),
        ),
        (
            "page",
            _message(
                "page",
                "tool",
                None,
                16,
                content={
                    "content_type": "tether_browsing_display",
                    "result": "Lyon: rain on Saturday.",
                    "summary": "",
                },
                name="browser",
            ),
        ),
        (
            "quote",
            _message(
                "quote",
                "tool",
                None,
                17,
                content={
                    "content_type": "tether_quote",
                    "url": "https://meteo.example/lyon",
                    "domain": "meteo.example",
                    "title": "Lyon forecast",
                    "text": "Saturday: rain, 14 degrees.",
                },
                name="browser",
            ),
        ),
        (
            "error",
            _message(
                "error",
                "tool",
                None,
                18,
                content={
                    "content_type": "system_error",
                    "name": "tool_error",
                    "text": "Could not open page 3.",
                },
                name="browser",
            ),
        ),
        ("bio", _message("bio", "assistant", "User has three beehives near Lyon.", 19, recipient="bio")),
        ("bio-reply", _message("bio-reply", "tool", "Model set context updated.", 20, name="bio")),
        (
            "image",
            _message(
                "image",
                "user",
                None,
                21,
                content={
                    "content_type": "multimodal_text",
                    "parts": [
                        {"content_type": "image_asset_pointer", "asset_pointer": "file-service://f"},
                        "A frame.",
                    ],
                },
            ),
        ),
        ("answer", _message("answer", "assistant", "83.5 kg in all; rain on Saturday.", 22)),
    ]
    return {
        "id": conversation_id,
        "title": "Hives and weather",
        "create_time": T,
        "update_time": T + 22,
        "current_node": "answer",
        "mapping": _chain(nodes),
        "is_archived": True,
        "is_starred": True,
        "is_do_not_remember": False,
        "default_model_slug": "gpt-4o",
    }


EVERY_KIND_MESSAGES = [
    ("system", USER_CONTEXT, {"hidden": True, "user_context": True}),
    (
        "system",
        f"{USER_PROFILE}\n\n{USER_INSTRUCTIONS}",
        {"content_type": "user_editable_context", "hidden": True, "user_context": True},
    ),
    (
        "system",
        MODEL_MEMORY,
        {"content_type": "model_editable_context", "hidden": True, "user_context": True},
    ),
    ("user", "How heavy are my hives, and will it rain?", {}),
    ("assistant", "print(41.5 + 42.0)", {"content_type": "code", "recipient": "python"}),
    ("tool", "83.5", {"author_name": "python", "content_type": "execution_output"}),
    ("assistant", 'search("Lyon weather")', {"content_type": "code", "recipient": "browser"}),
    (
        "tool",
        "Lyon: rain on Saturday.",
        {"author_name": "browser", "content_type": "tether_browsing_display"},
    ),
    (
        "tool",
        "Saturday: rain, 14 degrees.",
        {
            "author_name": "browser",
            "content_type": "tether_quote",
            "url": "https://meteo.example/lyon",
            "title": "Lyon forecast",
        },
    ),
    ("tool", "Could not open page 3.", {"author_name": "browser", "content_type": "system_error"}),
    ("assistant", "User has three beehives near Lyon.", {"recipient": "bio"}),
    ("tool", "Model set context updated.", {"author_name": "bio"}),
    ("user", "A frame.", {"content_type": "multimodal_text"}),
    ("assistant", "83.5 kg in all; rain on Saturday.", {}),
]
"""What `every_kind_conversation` stores: role, content and metadata (beside `source_message_id`)."""


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


def do_not_remember_conversation(conversation_id: str = "conv-forget") -> dict[str, Any]:
    """A conversation its owner marked "do not remember"; its NUL character would fail validation."""
    conversation = simple_conversation(conversation_id, "Private", ["My bank PIN is 4921", "Noted.\x00"])
    conversation["is_do_not_remember"] = True
    return conversation


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
