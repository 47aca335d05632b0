"""The command line as a new user meets it, run in subprocesses: a store is created only on purpose,
`--db` takes file paths, global options go anywhere, search by words runs no model, usage errors exit
2, a closed pipe ends quietly, and the output says what it shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import memory
from memory import MemoryManager
from tests.data.exports import (
    BAD_JSONL,
    GOOD_JSONL,
    every_kind_conversation,
    simple_conversation,
    write_chatgpt_export,
    write_jsonl,
)
from tests.test_cli import MEMORY, run

READ_COMMANDS = [
    ["search", "brakes"],
    ["search", "brakes", "--mode", "text"],
    ["conversations", "list"],
    ["conversations", "show", "1"],
    ["export"],
    ["stats"],
    ["db", "current"],
    ["db", "check"],
    ["db", "check", "--repair"],
    ["db", "downgrade", "base"],
    ["forget", "--user", "alice", "--yes"],
    ["reindex", "--model", "fake:8"],
]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_no_command_but_import_and_upgrade_creates_a_store(tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "typo.db"
    result = run(*command, db=f"sqlite:///{typo}")
    assert result.returncode == 1, result.stderr
    assert f"no memory store at {typo}" in result.stderr and "memory import" in result.stderr
    assert "Traceback" not in result.stderr
    # Without --db, the default file in the current folder is not made either.
    default = subprocess.run(
        [*MEMORY, *command], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=_no_url()
    )
    assert default.returncode == 1 and "no memory store at memory.db" in default.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_a_failed_import_leaves_no_new_file_and_a_good_one_makes_the_store(tmp_path: Path) -> None:
    store = tmp_path / "new.db"
    not_json = tmp_path / "notes.json"
    not_json.write_text("this is not an export")
    failed = run("--model", "fake:8", "import", str(not_json), db=str(store))
    assert failed.returncode == 1 and "not a ChatGPT export" in failed.stderr
    strict = write_jsonl(tmp_path / "mixed.jsonl", [GOOD_JSONL[0], BAD_JSONL[1]])
    assert run("--model", "fake:8", "import", str(strict), "--strict", db=str(store)).returncode == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["mixed.jsonl", "notes.json"]

    good = write_jsonl(tmp_path / "good.jsonl", GOOD_JSONL)
    imported = run("--model", "fake:8", "import", str(good), db=str(store))
    assert imported.returncode == 0, imported.stderr
    assert store.exists()
    # A failing import into an existing store leaves it (and what it holds) alone.
    assert run("import", str(not_json), db=str(store)).returncode == 1
    stats = json.loads(run("stats", "--json", db=str(store)).stdout)
    assert stats["conversations"] == len(GOOD_JSONL)


def test_db_takes_a_file_path_and_global_options_go_before_or_after_the_command(tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", GOOD_JSONL)
    relative = subprocess.run(
        [*MEMORY, "import", str(good), "--db", "notes.db", "--model", "fake:8", "--user", "alice"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=_no_url(),
    )
    assert relative.returncode == 0, relative.stderr
    absolute = str(tmp_path / "notes.db")
    after = run("stats", "--json", "--db", absolute, "--user", "alice")
    before = run("--db", absolute, "--user", "alice", "stats", "--json")
    assert after.returncode == before.returncode == 0, after.stderr + before.stderr
    assert json.loads(after.stdout) == json.loads(before.stdout)
    assert json.loads(after.stdout)["conversations"] == len(GOOD_JSONL)
    assert json.loads(run("stats", "--json", "--user", "bob", db=absolute).stdout)["conversations"] == 0
    assert run("db", "current", "--db", absolute).stdout.strip().endswith("(head)")
    assert run("conversations", "list", "--db", absolute).returncode == 0
    home = run("stats", "--db", "~/surely/not/here.db")
    assert home.returncode == 1 and f"{Path.home()}/surely/not/here.db" in home.stderr


def test_a_search_by_words_runs_no_model(tmp_path: Path) -> None:
    """A store of the real default model (vectors given, so nothing runs here): the command line's
    text search answers without importing torch or sentence-transformers; the hybrid search of the
    same process would have to."""
    url = f"sqlite:///{tmp_path / 'real.db'}"
    rows = np.random.default_rng(1).normal(size=(2, 384)).astype(np.float32)
    with MemoryManager(url, embedder=memory.SentenceTransformerEmbedder()) as manager:
        manager.create_conversation(
            "Bike",
            messages=[
                {"role": "user", "content": "my brakes squeal when it rains"},
                {"role": "assistant", "content": "wet pads squeal; clean the rims"},
            ],
            vectors=rows,
        )
    probe = textwrap.dedent(
        f"""
        import sys
        from memory.cli import main
        status = main(["--db", {url!r}, "search", "brakes", "--mode", "text", "--json"])
        print("loaded:", sorted(m for m in ("torch", "sentence_transformers") if m in sys.modules))
        sys.exit(status)
        """
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    *hits, loaded = result.stdout.splitlines()
    assert loaded == "loaded: []"
    assert [json.loads(hit)["content"] for hit in hits] == ["my brakes squeal when it rains"]


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    text = "lorem ipsum dolor sit amet " * 40
    many = [{"role": "user", "content": f"{i} {text}"} for i in range(200)]
    short = [{"id": f"c{i}", "messages": [{"role": "user", "content": f"{i} {text}"}]} for i in range(200)]
    db = str(tmp_path / "long.db")
    export = write_jsonl(tmp_path / "l.jsonl", [{"id": "long", "title": "Long", "messages": many}, *short])
    assert run("--model", "fake:8", "import", str(export), db=db).returncode == 0
    for command in (["conversations", "show", "1"], ["export"]):
        process = subprocess.Popen(
            [*MEMORY, "--db", db, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert process.stdout is not None and process.stderr is not None
        process.stdout.readline()
        process.stdout.close()  # `| head -1`
        status = process.wait(timeout=120)
        assert (status, process.stderr.read()) == (141, "")


def test_search_output_shows_titles_whole_messages_and_why_each_hit_is_where_it_is(tmp_path: Path) -> None:
    long_answer = (
        "Squealing brakes in the rain usually come from a film of road grime on the rims; clean "
        "them with isopropyl alcohol, sand the pads lightly, and check the toe-in of the pads."
    )
    export = write_chatgpt_export(
        tmp_path / "c.json",
        [
            {
                "id": "bike",
                "title": "Bike brakes in the rain",
                "create_time": 1_760_000_000.0,
                "current_node": "b",
                "mapping": {
                    "a": _node("a", None, "user", "why do my brakes squeal in the rain"),
                    "b": _node("b", "a", "assistant", long_answer),
                },
            }
        ],
    )
    db = str(tmp_path / "s.db")
    assert run("--model", "fake:32", "import", str(export), db=db).returncode == 0
    wide = run("search", "brakes squeal rain", db=db, env={"COLUMNS": "80"})
    assert wide.returncode == 0, wide.stderr
    lines = wide.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert sum("#1 Bike brakes in the rain" in line for line in lines) == 2
    body = " ".join(line.strip() for line in lines if line.startswith("     "))
    assert long_answer in body  # far more than the old 64 characters, wrapped to the width
    one_line = run("search", "brakes", "--lines", "1", "--role", "assistant", db=db, env={"COLUMNS": "80"})
    assert one_line.stdout.rstrip().endswith("…")

    hits = [
        json.loads(line) for line in run("search", "brakes squeal rain", "--json", db=db).stdout.splitlines()
    ]
    assert [hit["rank"] for hit in hits] == [1, 2]
    fused = [hit["fusion_score"] for hit in hits]
    assert fused == sorted(fused, reverse=True)  # the order the ranks follow, whatever the cosines


def _node(node_id: str, parent: str | None, role: str, text: str) -> dict[str, object]:
    message = {
        "id": node_id,
        "author": {"role": role},
        "create_time": 1_760_000_000.0,
        "content": {"content_type": "text", "parts": [text]},
        "metadata": {},
    }
    return {"id": node_id, "parent": parent, "children": [], "message": message}


def _no_url() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "MEMORY_DATABASE_URL"}


def test_do_not_remember_conversations_are_left_out_unless_asked(tmp_path: Path) -> None:
    private = simple_conversation("private", "Private", ["my bank PIN is 4921", "Noted."])
    private["is_do_not_remember"] = True
    export = write_chatgpt_export(tmp_path / "c.json", [every_kind_conversation(), private])
    db = str(tmp_path / "d.db")
    first = run("--model", "fake:8", "import", str(export), db=db)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().startswith("imported 1 conversations")
    assert "1 marked 'do not remember' left out (--include-do-not-remember)" in first.stdout
    second = run("--model", "fake:8", "import", str(export), "--include-do-not-remember", db=db)
    assert second.stdout.strip().startswith("imported 1 conversations") and "left out" not in second.stdout
    assert json.loads(run("stats", "--json", db=db).stdout)["conversations"] == 2
