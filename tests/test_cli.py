"""The `memory` command line, run as a user runs it: in a subprocess, checking output and exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memory.migration import head_revision
from tests.data.exports import (
    BAD_JSONL,
    GOOD_JSONL,
    branching_conversation,
    write_chatgpt_export,
    write_jsonl,
)

pytestmark = pytest.mark.both_backends

MEMORY = [sys.executable, "-m", "memory"]
HEAD = head_revision()


def run(
    *args: str, db: str | None = None, env: dict[str, str] | None = None, **kw: object
) -> subprocess.CompletedProcess[str]:
    command = [*MEMORY, *(["--db", db] if db else []), *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        **kw,  # type: ignore[call-overload]
    )


@pytest.fixture
def db(memory_url: str) -> str:
    """A store whose model is the deterministic fake (no model needed in these tests)."""
    assert run("db", "upgrade", db=memory_url).returncode == 0
    result = run("--model", "fake:64", "stats", db=memory_url)  # the empty store adopts fake:64
    assert result.returncode == 0, result.stderr
    return memory_url


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def _imported(db: str, path: Path, *extra: str) -> str:
    return _ok(run("--model", "fake:64", "import", str(path), *extra, db=db))


def test_db_commands(memory_url: str) -> None:
    if memory_url.startswith("sqlite"):  # no file yet: only `db upgrade` (or an import) makes one
        missing = run("db", "current", db=memory_url)
        assert missing.returncode == 1 and "no memory store at" in missing.stderr
        assert _ok(run("db", "upgrade", "0001", db=memory_url)).strip() == "0001"
        _ok(run("db", "downgrade", "base", db=memory_url))
    assert _ok(run("db", "current", db=memory_url)).strip() == "none (not migrated)"
    assert _ok(run("db", "upgrade", db=memory_url)).strip() == f"{HEAD} (head)"
    assert _ok(run("db", "downgrade", "0001", db=memory_url)).strip() == "0001"
    assert _ok(run("db", "current", db=memory_url)).strip() == "0001"
    assert _ok(run("db", "downgrade", "base", db=memory_url)).strip() == "none (not migrated)"
    assert _ok(run("db", "upgrade", db=memory_url)).strip() == f"{HEAD} (head)"


def test_database_url_from_the_environment(memory_url: str) -> None:
    assert _ok(run("db", "upgrade", env={"MEMORY_DATABASE_URL": memory_url})).strip() == f"{HEAD} (head)"
    assert _ok(run("db", "current", db=memory_url)).strip() == f"{HEAD} (head)"


def test_import_search_show_list_stats(db: str, tmp_path: Path) -> None:
    export = write_chatgpt_export(tmp_path / "conversations.json", [branching_conversation()])
    result = run("import", str(export), db=db)
    assert (
        _ok(result).strip()
        == "imported 1 conversations (4 messages); 0 already present; 0 bad records skipped"
    )
    assert "importing conversations.json" in result.stderr and "100%" in result.stderr

    shown_hits = _ok(run("search", "citric acid descale", "-k", "2", db=db, env={"COLUMNS": "200"}))
    assert shown_hits.startswith("2 hits, ranked by meaning and words together")
    headings = [line.split() for line in shown_hits.splitlines() if line[:5].strip().endswith(".")]
    assert [heading[0] for heading in headings] == ["1.", "2."]
    assert headings[0][1] == "text+vector" and headings[0][2] == "cosine" and headings[0][4] == "words"
    assert headings[0][-2:] == ["#1", "Branches"]
    assert any(line.endswith(": Use a citric acid solution monthly.") for line in shown_hits.splitlines())
    words = _ok(run("search", "descale", "--mode", "text", db=db, env={"COLUMNS": "200"})).splitlines()
    assert "no model was run" in words[0]
    text_headings = [line.split() for line in words if line[:5].strip().endswith(".")]
    assert len(text_headings) == 2 and all(h[1:4] == ["text", "cosine", "-"] for h in text_headings)

    hits = [
        json.loads(line)
        for line in _ok(run("search", "manual", "--json", "--role", "tool", db=db)).splitlines()
    ]
    assert [h["content"] for h in hits] == ["Manual: descale every 200 shots."]
    assert set(hits[0]) == {
        "rank",
        "message_id",
        "conversation_id",
        "conversation_title",
        "role",
        "created_at",
        "distance",
        "score",
        "sources",
        "text_score",
        "fusion_score",
        "content",
    }
    assert hits[0]["sources"] == ["text", "vector"] and hits[0]["fusion_score"] > 0
    assert hits[0]["rank"] == 1 and hits[0]["conversation_title"] == "Branches"
    assert _ok(run("search", "manual", "--conversation", "999", db=db)).strip().endswith("no matches")

    listing = _ok(run("conversations", "list", db=db)).splitlines()
    assert listing[0].split() == ["id", "updated", "messages", "title"]
    assert listing[2].split()[3:] == ["4", "Branches"]
    (listed,) = [json.loads(line) for line in _ok(run("conversations", "list", "--json", db=db)).splitlines()]
    assert (listed["id"], listed["title"], listed["message_count"]) == (1, "Branches", 4)
    as_json = json.loads(_ok(run("conversations", "show", "1", "--json", db=db)))
    assert [m["content"] for m in as_json["messages"]][-1] == "The manual says every 200 shots."
    assert as_json["title"] == "Branches" and len(as_json["messages"]) == 4
    shown = _ok(run("conversations", "show", "1", db=db))
    assert shown.startswith("# Branches  (id 1, 4 messages)")
    assert "The manual says every 200 shots." in shown and "ABANDONED" not in shown

    stats = json.loads(_ok(run("stats", "--json", db=db)))
    assert (stats["conversations"], stats["messages"], stats["vectors"]) == (1, 4, {"1": 4})
    assert "#1 fake:64 [64 dims]: 4 vectors  (active)" in _ok(run("stats", db=db))


def test_search_filters_on_the_developer_role(db: str, tmp_path: Path) -> None:
    messages = [
        {"role": "developer", "content": "Answer in Portuguese."},
        {"role": "system", "content": "Answer politely."},
    ]
    _imported(db, write_jsonl(tmp_path / "dev.jsonl", [{"id": "d", "title": "Roles", "messages": messages}]))
    out = _ok(run("search", "answer", "--json", "--role", "developer", db=db))
    hits = [json.loads(line) for line in out.splitlines()]
    assert [(h["role"], h["content"]) for h in hits] == [("developer", "Answer in Portuguese.")]


def test_export_import_round_trip_and_idempotent_reimport(db: str, memory_url: str, tmp_path: Path) -> None:
    _imported(db, write_jsonl(tmp_path / "good.jsonl", GOOD_JSONL))
    _imported(db, write_chatgpt_export(tmp_path / "c.json", [branching_conversation()]))
    exported = tmp_path / "export.jsonl"
    run_result = run("export", "-o", str(exported), db=db)
    _ok(run_result)
    assert run_result.stderr.strip() == "exported 4 conversations"
    to_stdout = _ok(run("export", db=db))
    assert to_stdout == exported.read_text()

    second = f"sqlite:///{tmp_path / 'second.db'}"
    assert "imported 4 conversations (7 messages)" in _imported(second, exported)
    assert _ok(run("export", db=second)) == to_stdout
    assert "imported 0 conversations (0 messages); 4 already present" in _imported(second, exported)
    assert json.loads(_ok(run("stats", "--json", db=second)))["messages"] == 7


def test_bad_records_are_reported_and_skipped(db: str, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mixed.jsonl", [GOOD_JSONL[0], *BAD_JSONL])
    result = run("import", str(path), db=db)
    assert _ok(result).strip().endswith("5 bad records skipped")
    reported = [line for line in result.stderr.splitlines() if line.startswith("memory: skipped")]
    assert [line.split()[2:4] for line in reported] == [
        ["line", "2:"],
        ["line", "3:"],
        ["line", "4:"],
        ["line", "5:"],
        ["line", "6:"],
    ]


def test_strict_import_exits_1_and_writes_nothing(db: str, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mixed.jsonl", [GOOD_JSONL[0], BAD_JSONL[1]])
    result = run("import", str(path), "--strict", db=db)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("memory: error: mixed.jsonl: line 2:")
    assert "Traceback" not in result.stderr
    assert json.loads(_ok(run("stats", "--json", db=db)))["conversations"] == 0


def test_reindex_switches_the_model(db: str, tmp_path: Path) -> None:
    _imported(db, write_jsonl(tmp_path / "good.jsonl", GOOD_JSONL))
    out = _ok(run("reindex", "--model", "fake:32", "--batch-size", "2", db=db))
    assert out.strip() == "space #2 (fake:32, 32 dims) is active with 3 vectors"
    stats = json.loads(_ok(run("stats", "--json", db=db)))
    assert stats["active_space"] == 2 and stats["vectors"] == {"1": 3, "2": 3}
    assert "prune roses" in _ok(run("search", "prune roses", "-k", "1", db=db))


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["search"],
        ["search", "x", "-k", "0"],
        ["search", "x", "-k", "100000"],
        ["search", "x", "-k", "ten"],
        ["search", "x", "--conversation", "0"],
        ["search", "x", "--conversation", "99999999999999999999"],
        ["search", "x", "--lines", "-1"],
        ["conversations", "list", "--limit", "0"],
        ["conversations", "list", "--offset", "-1"],
        ["search", "x", "--user", ""],
        ["search", "x", "--user", "u" * 256],
        ["--agent", "planner", "stats"],
        ["forget", "--yes"],
        ["--user", "alice", "reindex", "--model", "fake:32"],
        ["search", "x", "--role", "root"],
        ["search", "x", "--mode", "keyword"],
        ["import"],
        ["import", "f", "--format", "xml"],
        ["conversations", "show"],
        ["reindex"],
        ["db", "downgrade"],
    ],
)
def test_usage_errors_exit_2(db: str, args: list[str]) -> None:
    result = run(*args, db=db)
    assert result.returncode == 2, (args, result.stderr)
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["conversations", "show", "42"], "no conversation with id 42"),
        (["import", "/nonexistent/file.json"], "no such file"),
        (["db", "downgrade", "nonsense"], "nonsense"),
        (["--model", "fake:16", "search", "x"], ""),
    ],
)
def test_other_errors_exit_1_with_one_line(db: str, tmp_path: Path, args: list[str], message: str) -> None:
    _imported(db, write_jsonl(tmp_path / "good.jsonl", GOOD_JSONL))
    result = run(*args, db=db)
    assert result.returncode == 1, (args, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memory: error: ") and message in lines[0]


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "memory"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "reindex" in result.stdout


def test_user_and_agent_scope_every_command(db: str, tmp_path: Path) -> None:
    export = write_jsonl(tmp_path / "export.jsonl", GOOD_JSONL)
    # The same file, imported by two users: each gets their own copy, under the same source ids.
    n = len(GOOD_JSONL)
    alice = _ok(run("--user", "alice", "import", str(export), db=db))
    assert alice.startswith(f"imported {n} conversations")
    bob = _ok(run("import", str(export), "--user", "bob", "--agent", "planner", db=db))
    assert bob.startswith(f"imported {n} conversations")
    assert f"{n} already present" in _ok(run("--user", "alice", "import", str(export), db=db))
    word = "prune"
    hits = [
        json.loads(line) for line in _ok(run("--user", "alice", "search", word, "--json", db=db)).splitlines()
    ]
    everyone = [
        json.loads(line) for line in _ok(run("search", word, "--json", "-k", "50", db=db)).splitlines()
    ]
    assert hits and len(everyone) == 2 * len(hits)
    alice_stats = json.loads(_ok(run("stats", "--json", "--user", "alice", db=db)))
    all_stats = json.loads(_ok(run("stats", "--json", db=db)))
    assert 2 * alice_stats["messages"] == all_stats["messages"] and alice_stats["conversations"] == n
    listed = _ok(run("--user", "bob", "--agent", "planner", "conversations", "list", db=db))
    bobs = [int(line.split()[0]) for line in listed.splitlines()[2:]]
    shown = run("--user", "alice", "conversations", "show", str(bobs[0]), db=db)
    assert shown.returncode == 1 and f"no conversation with id {bobs[0]}" in shown.stderr
    exported = _ok(run("--user", "alice", "export", db=db))
    assert len(exported.splitlines()) == n

    refused = run("forget", "--user", "alice", db=db, input="n\n")
    assert refused.returncode == 1 and "not confirmed" in refused.stderr
    assert "[y/N]" in refused.stderr and f"{n} conversations" in refused.stderr
    assert json.loads(_ok(run("stats", "--json", db=db)))["messages"] == all_stats["messages"]
    forgotten = _ok(run("forget", "--user", "alice", db=db, input="y\n"))
    assert forgotten.startswith(f"forgot {n} conversations and {alice_stats['messages']} messages")
    assert json.loads(_ok(run("stats", "--json", "--user", "alice", db=db)))["messages"] == 0
    one = _ok(run("forget", "--conversation", str(bobs[0]), "--yes", db=db))
    assert one.startswith("forgot 1 conversations")
    assert run("forget", db=db).returncode == 2
    assert run("--user", "alice", "reindex", "--model", "fake:32", db=db).returncode == 2


@pytest.mark.sqlite_only
def test_no_command_adds_tables_to_another_applications_database(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other_app.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount INTEGER)")
    url = f"sqlite:///{path}"

    def tables() -> list[str]:
        with sqlite3.connect(path) as connection:
            return [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]

    for command in (["stats"], ["search", "anything"], ["conversations", "list"], ["export"]):
        result = run("--model", "fake:8", *command, db=url)
        assert result.returncode == 1 and "memory db upgrade" in result.stderr, result.stderr
    export = write_jsonl(tmp_path / "good.jsonl", GOOD_JSONL)
    result = run("--model", "fake:8", "import", str(export), db=url)
    assert result.returncode == 1 and "another application" in result.stderr and "invoices" in result.stderr
    assert tables() == ["invoices"]
    _ok(run("db", "upgrade", db=url))  # asked for: memory's tables join the application's
    assert "invoices" in tables() and "messages" in tables()
    assert "imported" in _imported(url, export)
