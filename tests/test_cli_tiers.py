"""`memory compact`, `pin`, `restore` and `backup` on the command line (in-process: `main`)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from memory import FakeEmbedder, MemoryManager
from memory.cli import main
from tests.test_tiers import THEN, _fill

pytestmark = pytest.mark.both_backends


def test_compact_pin_restore_and_backup_from_the_command_line(
    memory_url: str, memory_server_url: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive_dir = tmp_path / "archive"
    with MemoryManager(memory_url, embedder=FakeEmbedder(32), archive_dir=archive_dir) as manager:
        first, second, third = _fill(manager, 3)
        manager.compact(now=THEN + timedelta(days=40))  # the CLI's own runs use the current time
        manager.restore(second)
    db = ["--db", memory_url, "--model", "fake:32"]
    archive = ["--archive-dir", str(archive_dir)]
    assert main([*db, "pin", str(second)]) == 0
    assert f"conversation {second} pinned (tier full)" in capsys.readouterr().out
    assert main([*db, "compact", "--dry-run", "--json", *archive]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] and report["moved"]["metadata"] == 2 and report["tiers"]["full"] == 1
    assert main([*db, "compact", *archive]) == 0
    out, err = capsys.readouterr()
    assert "moved 0 to key_points, 0 to summary, 2 to metadata" in out
    assert "compacting [#########################] 100%" in err  # not a terminal: a line per tenth
    assert main([*db, "restore", str(first), *archive]) == 0
    assert f"conversation {first} is back in full with its 6 messages" in capsys.readouterr().out
    assert main([*db, "restore", str(third), str(first), str(third), *archive]) == 0
    out, err = capsys.readouterr()
    assert "1 conversations back in full with 6 messages; 1 were in full already" in out
    assert "restoring [#########################] 100%" in err
    assert main([*db, "restore", "999", *archive]) == 1
    assert "no conversation with id 999" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main([*db, "pin", "x"])
    assert usage.value.code == 2
    if memory_server_url is None:
        assert main([*db, "backup", str(tmp_path / "copy.db"), *archive]) == 0
        assert "with 0 archive files" in capsys.readouterr().out
        assert (tmp_path / "copy.db").is_file() and (tmp_path / "copy.db.archive").is_dir()
    else:
        assert main([*db, "restore", str(first)]) == 1  # no archive directory on PostgreSQL
        assert "archive directory" in capsys.readouterr().err
        assert main([*db, "backup", str(tmp_path / "copy.db")]) == 1
        assert "pg_dump" in capsys.readouterr().err
