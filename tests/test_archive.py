"""Archive files: a verified round trip, every kind of damage refused with `ArchiveError`, and a
writer killed at any moment leaving either no file or a whole one."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memory import ArchiveError
from memory.lifecycle.archive import (
    archive_path,
    checksum,
    decode_vector,
    encode_vector,
    read_archive,
    write_archive,
)


def _record(messages: int = 3, text: str = "message") -> dict[str, Any]:
    vector = np.linspace(-1, 1, 8, dtype=np.float32)
    return {
        "id": 7,
        "title": "Trip to Turin — «naïve» ☃",
        "metadata": {"source": "chatgpt", "nested": {"a": [1, 2.5, None, True]}},
        "created_at": "2025-03-04T05:06:07+00:00",
        "messages": [
            {"id": i, "role": "user", "content": f"{text} {i}", "vector": encode_vector(vector)}
            for i in range(messages)
        ],
    }


def test_a_record_round_trips_exactly_and_the_file_is_readable_json(tmp_path: Path) -> None:
    path = archive_path(tmp_path, 7, 2025, 3)
    assert path == tmp_path / "2025" / "03" / "7.json.gz"
    digest = write_archive(path, _record())
    assert digest == checksum(_record()) and digest.startswith("sha256:")
    assert read_archive(path) == _record() == read_archive(path, expected=digest)
    envelope = json.loads(gzip.decompress(path.read_bytes()))
    assert (envelope["format"], envelope["version"]) == ("memory-archive", 1)
    assert "Trip to Turin — «naïve» ☃" in gzip.decompress(path.read_bytes()).decode("utf-8")
    assert sorted(p.name for p in path.parent.iterdir()) == ["7.json.gz"]  # no temporary left
    first = path.read_bytes()
    write_archive(path, _record())
    assert path.read_bytes() == first  # deterministic: the same record, the same bytes
    vector = decode_vector(_record()["messages"][0]["vector"], 8)
    assert vector.dtype == np.float32 and vector.tolist() == np.linspace(-1, 1, 8, dtype=np.float32).tolist()


def _damaged(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flipped":
        raw = bytearray(gzip.decompress(data))
        raw[raw.index(b"message 1")] ^= 0x01
        path.write_bytes(gzip.compress(bytes(raw)))
    elif how == "not gzip":
        path.write_bytes(b"{}")
    elif how == "other json":
        path.write_bytes(gzip.compress(b'{"format": "something else"}'))
    elif how == "newer version":
        envelope = json.loads(gzip.decompress(data))
        envelope["version"] = 2
        path.write_bytes(gzip.compress(json.dumps(envelope).encode()))
    elif how == "missing":
        path.unlink()


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("truncated", "truncated or corrupted"),
        ("flipped", "checksum does not match"),
        ("not gzip", "truncated or corrupted"),
        ("other json", "not a memory archive"),
        ("newer version", "upgrade the memory package"),
        ("missing", "missing"),
    ],
)
def test_a_damaged_archive_is_refused_with_a_typed_error(tmp_path: Path, how: str, message: str) -> None:
    path = archive_path(tmp_path, 7, 2025, 3)
    write_archive(path, _record())
    _damaged(path, how)
    with pytest.raises(ArchiveError, match=message):
        read_archive(path)


def test_the_checksum_the_database_recorded_must_match(tmp_path: Path) -> None:
    path = archive_path(tmp_path, 7, 2025, 3)
    write_archive(path, _record(text="other"))
    with pytest.raises(ArchiveError, match="not the one the database recorded"):
        read_archive(path, expected=checksum(_record()))
    with pytest.raises(ArchiveError, match="values, not 16"):
        decode_vector(_record()["messages"][0]["vector"], 16)
    with pytest.raises(ArchiveError, match="base64"):
        decode_vector("not base64!", 8)


WRITER = """
import sys
from pathlib import Path
from memory.lifecycle.archive import write_archive
record = {"id": 1, "messages": [{"id": i, "content": "x" * 2000 + str(i)} for i in range(int(sys.argv[2]))]}
target = Path(sys.argv[1])
print("ready", flush=True)
while True:
    record["round"] = record.get("round", 0) + 1
    write_archive(target, record)
"""


def test_a_writer_killed_at_any_moment_leaves_no_file_or_a_whole_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    for attempt in range(12):
        target = tmp_path / f"kill{attempt}" / "1.json.gz"
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target), "3000"], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.0, 0.6)))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        if target.exists():
            assert len(read_archive(target)["messages"]) == 3000  # whole, and verified
        leftovers = [p for p in target.parent.glob(".*")] if target.parent.exists() else []
        # A temporary may be left by the kill; it never has the archive's name, so it is never read.
        assert all(p.name.startswith(".1.json.gz.") for p in leftovers)


def test_writing_an_archive_removes_what_a_killed_writer_of_it_left(tmp_path: Path) -> None:
    """A writer killed between its temporary file and the rename leaves `.<name>.<random>`; the next
    write of that archive removes it (and leaves other archives' files alone)."""
    path = tmp_path / "2025" / "03" / "7.json.gz"
    path.parent.mkdir(parents=True)
    left = path.parent / ".7.json.gz.k1ll3d"
    other = path.parent / ".17.json.gz.alive"
    left.write_bytes(b"partial")
    other.write_bytes(b"another archive's")
    conversation = {"id": 7, "title": "t", "messages": []}
    digest = write_archive(path, conversation)
    assert read_archive(path, expected=digest) == conversation
    assert not left.exists() and other.exists()
