"""In-memory search over one embedding space, kept in step with SQLite through the `vector_changes` log.

SQLite stays the one source of truth. An index mirrors a space's vectors in numpy blocks, read
chunk by chunk from vec0's storage, and before every search replays the log entries written since
(by any connection or process) inside the caller's transaction, so it answers for exactly the
snapshot the caller sees. When it cannot (the caller's own transaction has written, or another
thread moved the index past the caller's snapshot) it says so and the caller uses vec0 itself.

A snapshot of the index (`memory.vectors.snapshot`), when the store has a directory for them, saves
the first build for every later process: a new index maps the snapshot, checks it against the
database (its space, the log entry it reflects, a sample of its rows against vec0's), and replays
the log from there. Mapped rows are shared by every process through the page cache. A snapshot
that fails a check is ignored (and replaced once the index is built from the tables).

Two modes:
- "exact": float32 vectors in RAM, scanned with BLAS; the same neighbours as an exact cosine scan.
- "binary": sign-bit codes (dims/8 bytes a vector) scanned by Hamming distance in threads; every
  row within the `rescore` x k-th smallest distance (ties included) is re-ranked exactly with its
  float vector (kept in RAM too: reading candidates back from SQLite costs ~0.15 ms each, more than
  the whole scan). rescore=80 measured recall@10 0.986 at 1M real-text-derived vectors; 20 gave
  0.88 there (bench/search.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Any, Final, Literal, TypeVar

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Connection

from memory.errors import ValidationError
from memory.filters import SearchFilter
from memory.identifiers import sql, vector_table_name
from memory.statements import driver_execute
from memory.transactions import has_written
from memory.vectors import vec0_chunks
from memory.vectors.snapshot import Snapshot, SnapshotKey, read_snapshot, snapshot_path, write_snapshot

_Task = TypeVar("_Task")
_Result = TypeVar("_Result")
IndexMode = Literal["exact", "binary"]
INDEX_MODES: Final = ("exact", "binary")
_BLOCK_ROWS: Final = 65536
# Exact search scores slices of this many rows on the index's threads (and small searches inline).
_SCAN_ROWS: Final = 32768
# Replaying more changes than this (or a gap in the log) rebuilds the index from the tables instead.
_MAX_REPLAY: Final = 200_000
_LATEST_SEQ: Final = "SELECT max(seq) FROM vector_changes WHERE space_id = ?"
_CHANGES: Final = (
    "SELECT seq, message_id, op, run_length FROM vector_changes WHERE space_id = ? AND seq > ? ORDER BY seq"
)
_CHANGED_IDS: Final = "SELECT coalesce(sum(run_length), 0) FROM vector_changes WHERE space_id = ? AND seq > ?"
_OLDEST_SEQ: Final = "SELECT min(seq) FROM vector_changes WHERE space_id = ?"
_CHANGE_AT: Final = (
    "SELECT seq, message_id, op, run_length FROM vector_changes WHERE space_id = ? AND seq = ?"
)
# A row by primary key: vec0 answers it from its rowids table, ~10 us.
_POINT_READ: Final = (
    "SELECT conversation_id, role, created_at, user_key, agent_key, embedding "
    "FROM {table} WHERE message_id = ?"
)
#: Rows of a snapshot compared with vec0's before it is used.
_SAMPLE_ROWS: Final = 16
#: A snapshot is written again once this share of its rows changed since (and at least a block).
_RESNAPSHOT_SHARE: Final = 0.1


@dataclass(slots=True)
class _Block:
    """Up to _BLOCK_ROWS rows; `n` of them filled."""

    ids: npt.NDArray[np.int64]
    conversation_ids: npt.NDArray[np.int64]
    role_codes: npt.NDArray[np.uint8]
    created_us: npt.NDArray[np.int64]
    user_keys: npt.NDArray[np.int64]
    agent_keys: npt.NDArray[np.int64]
    alive: npt.NDArray[np.bool_]
    vectors: npt.NDArray[np.float32]  # rows L2-normalised
    # Binary mode: one row of uint64 per 64 sign bits (a row per word, so one XOR scans them all).
    words: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros((0, 0), dtype=np.uint64))
    n: int = 0
    # The filled rows ordered by a column (conversation, user key, id), made on the first search
    # that looks rows up by it: it then finds them by bisection instead of comparing every row.
    # Column name -> (order, sorted values, how many rows it orders).
    orders: dict[str, tuple[npt.NDArray[np.intp], npt.NDArray[np.int64], int]] = field(default_factory=dict)

    def rows_among(self, column: str, values: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        """The positions of the rows (alive or not) whose `column` holds one of `values` (sorted,
        distinct): by bisection over the rows ordered when the order was made, then a comparison of
        those appended since (the order is made again once they are over an eighth of it, or
        4,096). One value's rows come in row order."""
        by_value, sorted_values, ordered = self._order(column)
        starts = np.searchsorted(sorted_values, values, side="left")
        stops = np.searchsorted(sorted_values, values, side="right")
        parts = [by_value[a:b] for a, b in zip(starts.tolist(), stops.tolist(), strict=True) if b > a]
        if ordered < self.n:
            tail = getattr(self, column)[ordered : self.n]
            parts.append(np.flatnonzero(np.isin(tail, values)) + ordered)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)

    def _order(self, column: str) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64], int]:
        """The rows ordered by `column` (made again once rows appended since are over an eighth of
        it, or 4,096), its values in that order, and how many rows it orders."""
        order = self.orders.get(column)
        if order is None or self.n - order[2] > max(4096, order[2] // 8):
            values = getattr(self, column)[: self.n]
            by_value = np.argsort(values, kind="stable")
            order = self.orders[column] = (by_value, values[by_value], self.n)
        return order

    def rows_with(self, column: str, value: int) -> npt.NDArray[np.intp]:
        """`rows_among` for one value: its rows, in row order."""
        return self.rows_among(column, np.array([value], dtype=np.int64))


class VectorIndex:
    """A process-local mirror of one space's vectors for fast exact or quantized search."""

    def __init__(
        self,
        space_id: int,
        dimensions: int,
        *,
        mode: IndexMode = "exact",
        rescore: int = 80,
        snapshot: tuple[Path, SnapshotKey] | None = None,
    ) -> None:
        if mode not in INDEX_MODES:
            raise ValidationError(f"mode must be one of {INDEX_MODES}, not {mode!r}")
        self.space_id = space_id
        self.dimensions = dimensions
        self.mode = mode
        self.rescore = rescore
        self._table = vector_table_name(space_id)
        self._words = (dimensions + 63) // 64
        # Binary mode keeps the float vectors too (one copy) for exact rescoring: reading candidates
        # back from SQLite costs ~0.15 ms each, far more than the whole scan.
        self._reads_bits = mode == "binary" and dimensions % 8 == 0
        self._lock = threading.Lock()
        self._blocks: list[_Block] = []
        self._seq: int | None = None  # log position the index reflects; None: not built
        self._size = 0
        self._pool: ThreadPoolExecutor | None = None
        # Where this index's snapshot lives and what it must match; the one mapped, and its inode.
        self._snapshot = None if snapshot is None else (snapshot_path(snapshot[0], snapshot[1]), snapshot[1])
        self._mapped: tuple[Snapshot, int] | None = None
        self._churn = 0  # ids replayed since the snapshot was mapped or written

    def __len__(self) -> int:
        return self._size

    def ids(self) -> npt.NDArray[np.int64]:
        """The message ids the index holds."""
        alive = [block.ids[: block.n][block.alive[: block.n]] for block in self._blocks]
        return np.concatenate(alive) if alive else np.zeros(0, dtype=np.int64)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    # -- keeping in step --------------------------------------------------------------------------

    def usable(self, connection: Connection) -> bool:
        """Whether the index can answer for this connection's transaction."""
        if self.mode == "binary" and self.dimensions % 8:
            return False
        if has_written(connection):
            return False
        return vec0_chunks.layout_is_supported(connection, self._table)

    def sync(self, connection: Connection) -> bool:
        """Bring the index to the log position visible in `connection`'s snapshot; False if it is
        already past it (another thread synced with a newer snapshot)."""
        # On the driver's cursor: every search runs this, and SQLAlchemy's bookkeeping costs 4x the query.
        latest = driver_execute(connection, _LATEST_SEQ, (self.space_id,)).fetchone()[0] or 0
        if self._mapped is not None and not self._still_on_disk(self._mapped):
            self._forget_rows()  # the snapshot was replaced or deleted (forget): let go of its file
        if self._seq is not None and latest == self._seq:
            return True
        if self._seq is not None and latest < self._seq:
            return False
        if self._seq is None:
            self._adopt(connection, latest)
        if self._seq is None or self._log_gap(connection) or self._changed_ids(connection) > _MAX_REPLAY:
            self._rebuild(connection, latest)
            self._save(connection)
        else:
            self._replay(connection)
            if self._snapshot is not None and self._churn > max(
                _BLOCK_ROWS // 4, _RESNAPSHOT_SHARE * self._size
            ):
                self._save(connection)
        return True

    def _forget_rows(self) -> None:
        self._blocks, self._size, self._seq, self._mapped = [], 0, None, None

    # -- snapshots --------------------------------------------------------------------------------

    def _adopt(self, connection: Connection, latest: int) -> None:
        """Map this index's snapshot if it checks out against the database as `connection` sees it."""
        if self._snapshot is None:
            return
        path, key = self._snapshot
        snapshot = read_snapshot(path, key)
        if snapshot is None or snapshot.seq > latest or not self._matches(connection, snapshot):
            return
        self._map(snapshot)

    def _matches(self, connection: Connection, snapshot: Snapshot) -> bool:
        """Whether the snapshot is of this store: the log entry it reflects is the one in the log,
        no entry after it is gone, and a sample of its rows is what vec0 holds (rows deleted since
        left out)."""
        if snapshot.last_change is not None:
            row = connection.exec_driver_sql(_CHANGE_AT, (self.space_id, snapshot.seq)).first()
            if row is None or _change(row) != snapshot.last_change:
                return False
        oldest = connection.exec_driver_sql(_OLDEST_SEQ, (self.space_id,)).scalar_one_or_none()
        if oldest is not None and oldest > snapshot.seq + 1:
            return False
        if snapshot.rows == 0:
            return True
        columns = snapshot.columns
        picks = sorted(
            {round(i * (snapshot.rows - 1) / max(1, _SAMPLE_ROWS - 1)) for i in range(_SAMPLE_ROWS)}
        )
        statement = sql(_POINT_READ, table=self._table)
        found = 0
        for pick in picks:
            row = connection.exec_driver_sql(statement, (int(columns["ids"][pick]),)).first()
            if row is None:
                continue  # deleted since: the replay drops it
            found += 1
            vector = np.frombuffer(row[5], dtype=np.float32)
            norm = np.linalg.norm(vector)
            unit = vector / norm if norm > 0 else vector
            same = (
                vector.shape == (self.dimensions,)
                and np.allclose(columns["vectors"][pick], unit, rtol=1e-6, atol=1e-7)
                and (
                    int(row[0]),
                    vec0_chunks.ROLE_CODES.get(row[1], 255),
                    int(row[2]),
                    int(row[3]),
                    int(row[4]),
                )
                == (
                    int(columns["conversation_ids"][pick]),
                    int(columns["role_codes"][pick]),
                    int(columns["created_us"][pick]),
                    int(columns["user_keys"][pick]),
                    int(columns["agent_keys"][pick]),
                )
            )
            if not same:
                return False
        return found > 0

    def _map(self, snapshot: Snapshot) -> None:
        """Serve the snapshot's rows: read-only block views of the mapping, a writable `alive`."""
        columns, blocks = snapshot.columns, []
        for start in range(0, snapshot.rows, _BLOCK_ROWS):
            part = slice(start, min(start + _BLOCK_ROWS, snapshot.rows))
            n = part.stop - part.start
            blocks.append(
                _Block(
                    ids=columns["ids"][part],
                    conversation_ids=columns["conversation_ids"][part],
                    role_codes=columns["role_codes"][part],
                    created_us=columns["created_us"][part],
                    user_keys=columns["user_keys"][part],
                    agent_keys=columns["agent_keys"][part],
                    alive=np.ones(n, dtype=bool),
                    vectors=columns["vectors"][part],
                    words=snapshot.words[:, part],
                    n=n,
                )
            )
        self._blocks, self._size, self._seq = blocks, snapshot.rows, snapshot.seq
        self._mapped = (snapshot, snapshot.path.stat().st_ino)
        self._churn = 0

    def _still_on_disk(self, mapped: tuple[Snapshot, int]) -> bool:
        try:
            return mapped[0].path.stat().st_ino == mapped[1]
        except FileNotFoundError:
            return False

    def _save(self, connection: Connection) -> None:
        """Write the index's live rows as its snapshot, then serve them from the mapping (one copy,
        shared with every other process that maps it). A failure to write only costs the next
        process a build."""
        self._churn = 0  # tried: a failed write is not tried again at every search
        if self._snapshot is None or self._seq is None:
            return
        path, key = self._snapshot
        change = (
            connection.exec_driver_sql(_CHANGE_AT, (self.space_id, self._seq)).first() if self._seq else None
        )
        last_change = None if change is None else _change(change)
        keeps = [block.alive[: block.n] for block in self._blocks]
        whole = [bool(keep.all()) for keep in keeps]

        def pieces(get: Any) -> list[npt.NDArray[Any]]:
            return [
                get(block)[: block.n] if all_alive else get(block)[: block.n][keep]
                for block, keep, all_alive in zip(self._blocks, keeps, whole, strict=True)
            ]

        try:
            write_snapshot(
                path,
                key,
                seq=self._seq,
                last_change=last_change,
                columns={
                    "ids": pieces(lambda b: b.ids),
                    "conversation_ids": pieces(lambda b: b.conversation_ids),
                    "role_codes": pieces(lambda b: b.role_codes),
                    "created_us": pieces(lambda b: b.created_us),
                    "user_keys": pieces(lambda b: b.user_keys),
                    "agent_keys": pieces(lambda b: b.agent_keys),
                    "vectors": pieces(lambda b: b.vectors),
                },
                words=[pieces(lambda b, w=w: b.words[w]) for w in range(len(self._blocks[0].words))]
                if self._blocks
                else [],
            )
        except OSError:
            return
        snapshot = read_snapshot(path, key)
        if snapshot is not None and snapshot.seq == self._seq:
            self._map(snapshot)

    def _changed_ids(self, connection: Connection) -> int:
        return int(connection.exec_driver_sql(_CHANGED_IDS, (self.space_id, self._seq)).scalar_one())

    def _log_gap(self, connection: Connection) -> bool:
        oldest = connection.exec_driver_sql(_OLDEST_SEQ, (self.space_id,)).scalar_one_or_none()
        return oldest is not None and self._seq is not None and oldest > self._seq + 1

    def _rebuild(self, connection: Connection, latest: int) -> None:
        self._forget_rows()
        chunks = vec0_chunks.read_chunks(
            connection,
            self._table,
            self.dimensions,
            vectors=True,
            bits=self._reads_bits,
        )
        for chunk in chunks:
            self._append(chunk)
        self._seq = latest

    def _replay(self, connection: Connection) -> None:
        assert self._seq is not None
        rows = connection.exec_driver_sql(_CHANGES, (self.space_id, self._seq)).all()
        pending_adds: list[int] = []
        for seq, first_id, op, run_length in rows:
            ids = range(int(first_id), int(first_id) + int(run_length))
            if op == "d":
                if pending_adds:
                    self._load(connection, pending_adds)
                    pending_adds = []
                self._kill(list(ids))
            else:
                pending_adds.extend(ids)
            self._seq = int(seq)
            self._churn += len(ids)
        if pending_adds:
            self._load(connection, pending_adds)

    def _load(self, connection: Connection, message_ids: list[int]) -> None:
        """Append rows written since the last sync, read straight from their chunks."""
        self._kill(message_ids)  # a re-added id replaces its old row
        rows = vec0_chunks.read_rows(
            connection, self._table, self.dimensions, message_ids, bits=self._reads_bits
        )
        if len(rows.ids):
            self._append(rows)

    def _kill(self, message_ids: list[int]) -> None:
        doomed = np.asarray(message_ids, dtype=np.int64)
        for block in self._blocks:
            hit = np.isin(block.ids[: block.n], doomed) & block.alive[: block.n]
            if hit.any():
                block.alive[: block.n][hit] = False
                self._size -= int(hit.sum())

    def _append(self, rows: vec0_chunks.Chunk) -> None:
        ids, vectors, bits = rows.ids, rows.vectors, rows.bits
        start = 0
        while start < len(ids):
            if not self._blocks or self._blocks[-1].n == len(self._blocks[-1].ids):  # full, or mapped
                self._blocks.append(self._new_block())
            block = self._blocks[-1]
            take = min(_BLOCK_ROWS - block.n, len(ids) - start)
            slots, part = slice(block.n, block.n + take), slice(start, start + take)
            block.ids[slots] = ids[part]
            block.conversation_ids[slots] = rows.conversation_ids[part]
            block.role_codes[slots] = rows.role_codes[part]
            block.created_us[slots] = rows.created_us[part]
            block.user_keys[slots] = rows.user_keys[part]
            block.agent_keys[slots] = rows.agent_keys[part]
            block.alive[slots] = True
            if vectors is not None:
                chunk = vectors[part]
                norms = np.linalg.norm(chunk, axis=1, keepdims=True)
                np.divide(chunk, norms, out=block.vectors[slots], where=norms > 0)
            if self.mode == "binary":
                codes = (
                    bits[part]
                    if bits is not None
                    else np.packbits(block.vectors[slots] > 0, axis=1, bitorder="little")
                )
                padded = np.zeros((take, self._words * 8), dtype=np.uint8)
                padded[:, : codes.shape[1]] = codes
                words = padded.view(np.uint64)
                block.words[:, slots] = words.T
            block.n += take
            start += take
            self._size += take

    def _new_block(self) -> _Block:
        return _Block(
            ids=np.zeros(_BLOCK_ROWS, dtype=np.int64),
            conversation_ids=np.zeros(_BLOCK_ROWS, dtype=np.int64),
            role_codes=np.zeros(_BLOCK_ROWS, dtype=np.uint8),
            created_us=np.zeros(_BLOCK_ROWS, dtype=np.int64),
            user_keys=np.zeros(_BLOCK_ROWS, dtype=np.int64),
            agent_keys=np.zeros(_BLOCK_ROWS, dtype=np.int64),
            alive=np.zeros(_BLOCK_ROWS, dtype=bool),
            vectors=np.zeros((_BLOCK_ROWS, self.dimensions), dtype=np.float32),
            words=np.zeros((self._words if self.mode == "binary" else 0, _BLOCK_ROWS), dtype=np.uint64),
        )

    # -- searching ------------------------------------------------------------------------------------

    def warm(self, connection: Connection) -> bool:
        """Build (or bring up to date) the index now, from `connection`'s snapshot; False when it
        cannot answer for this store (its searches then go to vec0)."""
        if not self.usable(connection):
            return False
        with self._lock:
            return self.sync(connection)

    def search(
        self,
        connection: Connection,
        query: npt.NDArray[np.float32],
        k: int,
        where: SearchFilter,
        *,
        meanwhile: Callable[[], object] | None = None,
    ) -> list[tuple[int, float]] | None:
        """The k nearest (message id, cosine distance), or None when the caller must ask vec0.

        `meanwhile`, when given, is called once on this thread while the index's threads scan
        (other work for the same request, such as the words side of a hybrid search), and only
        when the index answers."""
        if not self.usable(connection):
            return None
        with self._lock:
            if not self.sync(connection):
                return None
            norm = float(np.linalg.norm(query))
            if norm == 0.0:
                return None  # vec0 defines the (degenerate) answer for a zero query
            unit = (query / norm).astype(np.float32)
            if self.mode == "exact":
                return self._search_exact(unit, k, where, meanwhile)
            return self._search_binary(unit, k, where, meanwhile)

    def vectors(
        self, connection: Connection, message_ids: list[int]
    ) -> dict[int, npt.NDArray[np.float32]] | None:
        """The (unit) vectors of these message ids, from RAM, or None when the caller must read
        them from the store (reading them back costs ~0.15 ms each)."""
        if not self.usable(connection):
            return None
        with self._lock:
            if not self.sync(connection):
                return None
            wanted = np.unique(np.asarray(message_ids, dtype=np.int64))
            found: dict[int, npt.NDArray[np.float32]] = {}
            for block in self._blocks:
                rows = block.rows_among("ids", wanted)
                for row in rows[block.alive[rows]].tolist():
                    found[int(block.ids[row])] = block.vectors[row].copy()
            return found

    def _masks(self, where: SearchFilter) -> list[npt.NDArray[np.bool_]]:
        """Per block: the rows a search may return."""
        return [self._keep(block, slice(0, block.n), where) for block in self._blocks]

    def _search_exact(
        self,
        unit: npt.NDArray[np.float32],
        k: int,
        where: SearchFilter,
        meanwhile: Callable[[], object] | None,
    ) -> list[tuple[int, float]]:
        if where.conversation_id is not None or where.owner.user_id is not None:
            found = self._search_scoped(unit, k, where)
            if found is not None:
                if meanwhile is not None:
                    meanwhile()
                return found
        masks = self._masks(where)

        def scan(task: tuple[int, int, int]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
            index, start, stop = task
            block, mask = self._blocks[index], masks[index][start:stop]
            rows = np.flatnonzero(mask)
            if len(rows) == 0:
                return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
            if len(rows) * 4 < len(mask):  # selective filter (one conversation): gather, then score
                scores = _dot(block.vectors[start:stop][rows], unit)
                ids = block.ids[start:stop][rows]
            else:
                scores = _dot(block.vectors[start:stop], unit)
                scores[~mask] = -np.inf
                ids = block.ids[start:stop]
            top = _top(scores, k)
            keep = scores[top] > -np.inf
            return scores[top][keep], ids[top][keep]

        if sum(int(np.count_nonzero(mask)) for mask in masks) <= _SCAN_ROWS:  # little to score: inline
            results = [scan((index, 0, block.n)) for index, block in enumerate(self._blocks)]
            if meanwhile is not None:
                meanwhile()
        else:  # equal slices, so the threads finish together
            tasks = [
                (index, start, min(start + _SCAN_ROWS, block.n))
                for index, block in enumerate(self._blocks)
                for start in range(0, block.n, _SCAN_ROWS)
            ]
            results = self._scan_while(scan, tasks, meanwhile)
        return _merge([scores for scores, _ in results], [ids for _, ids in results], k)

    def _search_scoped(
        self, unit: npt.NDArray[np.float32], k: int, where: SearchFilter
    ) -> list[tuple[int, float]] | None:
        """`_search_exact` scoped to one conversation or one user: their rows found by bisection, the
        other filters checked on them only; None when the user holds over a quarter of the rows
        (scanning them all is then as cheap)."""
        if where.conversation_id is not None:
            found = [block.rows_with("conversation_ids", where.conversation_id) for block in self._blocks]
        else:
            found = [block.rows_with("user_keys", where.owner.user_key) for block in self._blocks]
            if 4 * sum(len(rows) for rows in found) > self._size:
                return None
        scores: list[npt.NDArray[np.float32]] = []
        ids: list[npt.NDArray[np.int64]] = []
        for block, rows in zip(self._blocks, found, strict=True):
            if len(rows):
                rows = rows[self._keep(block, rows, where)]
            if not len(rows):
                continue
            first, last = int(rows[0]), int(rows[-1])
            if last - first + 1 == len(rows):  # one run of rows (a conversation, usually): a view
                scores.append(_dot(block.vectors[first : last + 1], unit))
                ids.append(block.ids[first : last + 1])
            else:
                scores.append(_dot(block.vectors[rows], unit))
                ids.append(block.ids[rows])
        return _merge(scores, ids, k)

    def _keep(
        self, block: _Block, rows: npt.NDArray[np.intp] | slice, where: SearchFilter
    ) -> npt.NDArray[np.bool_]:
        """Which of a block's `rows` (positions, or a slice: read as views) are alive and pass the
        filter."""
        keep = block.alive[rows].copy()
        if where.conversation_id is not None:
            keep &= block.conversation_ids[rows] == where.conversation_id
        if where.roles is not None:
            codes = np.array([vec0_chunks.ROLE_CODES[r] for r in where.roles], dtype=np.uint8)
            keep &= np.isin(block.role_codes[rows], codes)
        if where.since_us is not None:
            keep &= block.created_us[rows] >= where.since_us
        if where.until_us is not None:
            keep &= block.created_us[rows] < where.until_us
        if where.owner.user_id is not None:
            keep &= block.user_keys[rows] == where.owner.user_key
        if where.owner.agent_id is not None:
            keep &= block.agent_keys[rows] == where.owner.agent_key
        return keep

    def _search_binary(
        self,
        unit: npt.NDArray[np.float32],
        k: int,
        where: SearchFilter,
        meanwhile: Callable[[], object] | None,
    ) -> list[tuple[int, float]]:
        padded = np.zeros(self._words * 8, dtype=np.uint8)
        code = np.packbits(unit > 0, bitorder="little")
        padded[: len(code)] = code
        query_words = padded.view(np.uint64)
        want = max(k * self.rescore, k)
        masks = self._masks(where)
        far = np.iinfo(np.uint16).max
        # The `want`-th smallest distance of any one block scanned so far: no row farther than it
        # can be among the `want` nearest of all blocks, so later blocks keep only the rows within
        # it (a comparison) instead of selecting their own `want` nearest (a partition). Threads
        # share it unlocked: any value one of them wrote is such a bound.
        bound = [far - 1]

        def scan(index: int) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.intp]]:
            block, mask = self._blocks[index], masks[index]
            n = block.n
            # One XOR, one bit count and one sum over all the words, not a pass per word.
            differing = np.bitwise_count(block.words[:, :n] ^ query_words[:, None])
            distance = differing.sum(axis=0, dtype=np.uint16)
            distance[~mask] = far
            rows = np.flatnonzero(distance <= bound[0])
            if len(rows) > want:
                kth = int(np.partition(distance[rows].astype(np.int32), want - 1)[want - 1])
                bound[0] = min(bound[0], kth)
                rows = rows[distance[rows] <= kth]
            return distance[rows], rows

        results = self._scan_while(scan, list(range(len(self._blocks))), meanwhile)
        scores: list[npt.NDArray[np.float32]] = []
        ids: list[npt.NDArray[np.int64]] = []
        # Every row within the `want`-th smallest distance of all (ties included) is rescored.
        found = np.concatenate([distance for distance, _ in results]) if results else None
        cutoff = None if found is None or len(found) <= want else np.partition(found, want - 1)[want - 1]
        for block, (distance, rows) in zip(self._blocks, results, strict=True):
            if cutoff is not None:
                rows = rows[distance <= cutoff]
            if len(rows):
                scores.append(_dot(block.vectors[rows], unit))  # exact float rescoring of the candidates
                ids.append(block.ids[rows])
        return _merge(scores, ids, k)

    def _scan_while(
        self, scan: Callable[[_Task], _Result], tasks: list[_Task], meanwhile: Callable[[], object] | None
    ) -> list[_Result]:
        """`scan` of each task, by the index's threads and this one: this thread first runs
        `meanwhile` (when given) while they work, then takes tasks with them, so no more threads
        are busy than the machine has cores. Every task has finished when this returns or raises."""
        pending: SimpleQueue[int] = SimpleQueue()
        for position in range(len(tasks)):
            pending.put(position)
        results: list[_Result | None] = [None] * len(tasks)

        def work() -> None:
            while True:
                try:
                    position = pending.get_nowait()
                except Empty:
                    return
                results[position] = scan(tasks[position])

        pool = self._executor()
        helpers = [] if pool is None else [pool.submit(work) for _ in range(min(len(tasks), _threads() - 1))]
        try:
            if meanwhile is not None:
                meanwhile()
            work()
        finally:
            wait(helpers)
        for helper in helpers:
            helper.result()  # a scan that raised raises here
        return [result for result in results if result is not None]

    def _executor(self) -> ThreadPoolExecutor | None:
        """The index's own threads (one fewer than it scans with: the searching thread is the
        other), or None on one core."""
        if self._pool is None and _threads() > 1:
            self._pool = ThreadPoolExecutor(max_workers=_threads() - 1)
        return self._pool


def _threads() -> int:
    """How many threads scan at once: the cores, up to four."""
    return max(1, min(4, os.cpu_count() or 1))


def _change(row: Any) -> tuple[int, int, str, int]:
    """A log entry as (seq, message id, op, run length)."""
    return int(row[0]), int(row[1]), str(row[2]), int(row[3])


def _dot(matrix: npt.NDArray[np.float32], unit: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """`matrix @ unit` without BLAS: after each call OpenBLAS's threads spin for ~0.1 s, and an
    embedding model that runs next (the following search's query) then took 8x longer. Blocks are
    scanned in parallel on the index's own threads instead, which sleep when idle."""
    scores: npt.NDArray[np.float32] = np.einsum("ij,j->i", matrix, unit)
    return scores


def _top(scores: npt.NDArray[Any], k: int) -> npt.NDArray[np.intp]:
    """Indices of the k largest scores (unordered)."""
    if len(scores) <= k:
        return np.arange(len(scores))
    return np.argpartition(scores, len(scores) - k)[len(scores) - k :]


def _merge(
    scores: list[npt.NDArray[np.float32]], ids: list[npt.NDArray[np.int64]], k: int
) -> list[tuple[int, float]]:
    if not scores:
        return []
    all_scores = scores[0] if len(scores) == 1 else np.concatenate(scores)
    all_ids = ids[0] if len(ids) == 1 else np.concatenate(ids)
    if len(all_scores) > 4 * k:  # keep the k best and every row tied with the k-th, then order those
        kth = np.partition(all_scores, len(all_scores) - k)[len(all_scores) - k]
        best = np.flatnonzero(all_scores >= kth)
        all_scores, all_ids = all_scores[best], all_ids[best]
    # Highest score first; ties broken by id so the order is deterministic.
    order = np.lexsort((all_ids, -all_scores.astype(np.float64)))[:k]
    return list(
        zip(all_ids[order].tolist(), (1.0 - all_scores[order].astype(np.float64)).tolist(), strict=True)
    )
