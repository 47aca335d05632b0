"""Per-turn overhead: memory against the Agents SDK's SQLiteSession and a bare sqlite3 table, side by side.

    .venv/bin/python bench/turn.py                             # 2000 timed turns x 3 repeats
    .venv/bin/python bench/turn.py --turns 300 --repeats 1     # a quick check
    .venv/bin/python bench/turn.py --show-sql --profile 500    # full SQL of one turn, and a cProfile

A turn is what a chat app does per message: store it, then read the recent context back.

- memory: MemoryManager.add_message(conversation_id, role, text), then get_messages(conversation_id,
  limit=20). The embedder returns vectors from a pool made before timing (no model, no hashing;
  bench/workload.py); the time spent inside its embed() is measured on every call and subtracted
  from the turn (column embed_us), so the figures are memory's own cost: validation, hashing, the
  content-reuse look-up, SQLAlchemy, the message row, its full-text terms and its vec0 vector.
- session: agents.SQLiteSession(session_id, db_path=file) (openai-agents), `await add_items([{"role": ...,
  "content": ...}])` then `await get_items(limit=20)`, all inside one running event loop. Per call it
  hands a closure to asyncio.to_thread (the loop's default ThreadPoolExecutor); add_items also wraps
  that in _await_mutation (ensure_future + asyncio.wait, so a cancelled caller cannot abandon a
  write). In the worker thread it takes a process-wide threading.RLock per database file, then the
  thread's own sqlite3 connection (threading.local: one connection per executor thread that ever
  ran a call, each set to WAL on first use). add_items runs INSERT OR IGNORE INTO agent_sessions,
  an executemany INSERT of the items as JSON, UPDATE agent_sessions SET updated_at, and commit()
  (the sqlite3 module's implicit BEGIN before the first INSERT); get_items runs one SELECT
  message_data ... ORDER BY id DESC LIMIT 20 and json.loads each row. It never sets `synchronous`,
  so it runs at the driver's default (FULL: an fsync of the WAL at every commit), where memory uses
  NORMAL (no fsync at commit, durable at checkpoints).
- session-normal: the same class with `PRAGMA synchronous=NORMAL` added to its connection set-up
  (an override of its _configure_connection), so the durability matches memory's and the
  comparison is of the code, not of an fsync.
- bare: the floor. One stdlib sqlite3 connection in autocommit mode, WAL and synchronous=NORMAL,
  a messages table (id, conversation_id, role, content, created_at) indexed on (conversation_id, id):
  one INSERT, then SELECT of the latest 20, reversed. No vectors, no full-text index.

The session and bare run on the stdlib sqlite3's SQLite, memory on its engine's driver (pysqlite3
where the stdlib module cannot load extensions): the table's sqlite column gives each one's version.

Each contender has its own fresh SQLite file in a temporary directory, one conversation with
--history messages already in it (so LIMIT 20 has something to skip), and is warmed up with --warmup
turns. The timed turns are run in blocks of --block turns, the contenders' order rotating every
block, so none gets a warmer machine. All texts are distinct (a sentence from a word list plus a
counter: memory reuses the vector of content it has seen, which would flatter it). Every repeat
starts from fresh files. After the timing, memory's SQL is counted per call over --count-turns turns
(SQLite's own trace callback on that manager's connections, which sees the statements memory runs on
the driver's cursor too, and the pool's checkout events) and, with --profile N, N more turns of memory
run under cProfile.
Prints tables and writes bench/results/turn.json.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import io
import json
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from agents import SQLiteSession

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import memory  # noqa: E402
from bench.workload import PoolEmbedder, texts_for, unit_pool  # noqa: E402
from memory import MemoryManager  # noqa: E402

RESULTS = ROOT / "bench" / "results"
LIMIT = 20
ROLES = ("user", "assistant")


# -- the contenders ---------------------------------------------------------------------------------------


class MemoryTurns:
    label = "memory"

    def __init__(
        self,
        path: Path,
        embedder: PoolEmbedder,
        history: list[str],
        tracer: Callable[[str], None] | None = None,
    ) -> None:
        self.embedder = embedder
        engine = memory.create_engine(f"sqlite:///{path}")
        if tracer is not None:  # every statement SQLite runs, those memory sends to the driver directly too
            sa.event.listen(engine, "connect", lambda dbapi, _record: dbapi.set_trace_callback(tracer))
        self.manager = MemoryManager(engine, embedder=embedder)
        self.conversation_id = self.manager.create_conversation("bench").id
        self.manager.add_messages(
            self.conversation_id, [{"role": ROLES[i % 2], "content": t} for i, t in enumerate(history)]
        )

    def add(self, role: str, text: str) -> None:
        self.manager.add_message(self.conversation_id, role, text)

    def get(self) -> list[str]:
        return [m.content for m in self.manager.get_messages(self.conversation_id, limit=LIMIT)]

    def synchronous(self) -> int:
        with self.manager.engine.connect() as connection:
            return int(connection.exec_driver_sql("PRAGMA synchronous").scalar_one())

    def sqlite_version(self) -> str:
        with self.manager.engine.connect() as connection:
            return str(connection.exec_driver_sql("SELECT sqlite_version()").scalar_one())

    def close(self) -> None:
        self.manager.close()
        self.manager.engine.dispose()


class _NormalSyncSession(SQLiteSession):
    """SQLiteSession with memory's durability: synchronous=NORMAL on each of its connections."""

    @staticmethod
    def _configure_connection(conn: sqlite3.Connection) -> None:
        SQLiteSession._configure_connection(conn)
        conn.execute("PRAGMA synchronous=NORMAL")


class SessionTurns:
    label = "session"
    session_class: type[SQLiteSession] = SQLiteSession

    def __init__(self, path: Path) -> None:
        self.session = self.session_class("bench", db_path=path)

    async def fill(self, history: list[str]) -> None:
        items: Any = [{"role": ROLES[i % 2], "content": t} for i, t in enumerate(history)]
        await self.session.add_items(items)

    async def add(self, role: str, text: str) -> None:
        items: Any = [{"role": role, "content": text}]
        await self.session.add_items(items)

    async def get(self) -> list[str]:
        items: list[Any] = await self.session.get_items(limit=LIMIT)
        return [item["content"] for item in items]

    def synchronous(self) -> int:
        connection = next(iter(self.session._connections))
        return int(connection.execute("PRAGMA synchronous").fetchone()[0])

    def sqlite_version(self) -> str:
        return sqlite3.sqlite_version

    def connections(self) -> int:
        return len(self.session._connections)

    def close(self) -> None:
        self.session.close()


class NormalSessionTurns(SessionTurns):
    label = "session-normal"
    session_class = _NormalSyncSession


class BareTurns:
    label = "bare"

    def __init__(self, path: Path, history: list[str]) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.execute(
            "CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id INTEGER NOT NULL, "
            "role TEXT NOT NULL, content TEXT NOT NULL, created_at TEXT NOT NULL)"
        )
        self.connection.execute("CREATE INDEX messages_conversation ON messages (conversation_id, id)")
        now = datetime.now(UTC).isoformat()
        self.connection.execute("BEGIN")
        self.connection.executemany(
            "INSERT INTO messages (conversation_id, role, content, created_at) VALUES (1, ?, ?, ?)",
            [(ROLES[i % 2], t, now) for i, t in enumerate(history)],
        )
        self.connection.execute("COMMIT")

    def add(self, role: str, text: str) -> None:
        self.connection.execute(
            "INSERT INTO messages (conversation_id, role, content, created_at) VALUES (?, ?, ?, ?)",
            (1, role, text, datetime.now(UTC).isoformat()),
        )

    def get(self) -> list[str]:
        rows = self.connection.execute(
            "SELECT id, role, content, created_at FROM messages WHERE conversation_id = ? "
            "ORDER BY id DESC LIMIT ?",
            (1, LIMIT),
        ).fetchall()
        rows.reverse()
        return [row[2] for row in rows]

    def synchronous(self) -> int:
        return int(self.connection.execute("PRAGMA synchronous").fetchone()[0])

    def sqlite_version(self) -> str:
        return sqlite3.sqlite_version

    def close(self) -> None:
        self.connection.close()


class MemorySqlTurns:
    """memory's own statements of a turn (as bench/turn.py --show-sql prints them), replayed on one
    raw pysqlite3 connection against a store memory made: the floor under memory's Python layers,
    with the same schema, full-text trigger, vec0 table, vector log and pragmas."""

    label = "memory-sql"

    def __init__(self, path: Path, embedder: PoolEmbedder, history: list[str]) -> None:
        made = MemoryTurns(path, embedder, history)
        self.conversation_id, self.embedder = made.conversation_id, embedder
        made.close()
        import pysqlite3.dbapi2 as driver  # the driver memory uses here (it can load vec0)
        import sqlite_vec

        self.connection = driver.connect(path, isolation_level=None)
        self.connection.enable_load_extension(True)
        sqlite_vec.load(self.connection)
        self.connection.enable_load_extension(False)
        for pragma in (
            "foreign_keys=ON",
            "secure_delete=ON",
            "busy_timeout=5000",
            "cache_size=-32768",
            "journal_mode=WAL",
        ):
            self.connection.execute(f"PRAGMA {pragma}")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.execute("PRAGMA wal_autocheckpoint=8192")

    def add(self, role: str, text: str) -> None:
        db, conversation = self.connection, self.conversation_id
        digest = hashlib.sha256(text.encode()).hexdigest()
        key = int(digest[:8], 16) - (1 << 31)
        db.execute(
            "SELECT m.content_hash, m.id FROM conversations AS c LEFT JOIN messages AS m "
            "ON m.content_key IN (?) WHERE c.id = ? ORDER BY m.id",
            (key, conversation),
        ).fetchall()
        vector = self.embedder.embed([text])[0]
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        db.execute("BEGIN IMMEDIATE")
        owner = db.execute(
            "UPDATE conversations SET updated_at = ? WHERE id = ? AND (CAST(? AS VARCHAR) IS NULL OR "
            "user_id = CAST(? AS VARCHAR)) AND (CAST(? AS VARCHAR) IS NULL OR agent_id = CAST(? AS VARCHAR)) "
            "AND EXISTS (SELECT * FROM embedding_spaces WHERE id = 1 AND is_active AND model = ? "
            "AND dimensions = ? AND fingerprint IS ?) RETURNING user_id, agent_id",
            (now, conversation, None, None, None, None, self.embedder.name, 384, self.embedder.fingerprint),
        ).fetchall()
        assert owner, "the replayed UPDATE touched nothing"
        (message_id,) = db.execute(
            "INSERT INTO messages (conversation_id, role, content, created_at, metadata, content_hash, "
            "content_key) VALUES (?, ?, ?, ?, '{}', ?, ?) RETURNING id",
            (conversation, role, text, now, digest, key),
        ).fetchone()
        db.execute(
            "INSERT INTO message_vectors_1(message_id, conversation_id, role, created_at, user_key, "
            "agent_key, embedding, embedding_bits) VALUES (?, ?, ?, ?, ?, ?, ?, vec_bit(?))",
            (
                message_id,
                conversation,
                role,
                0,
                0,
                0,
                vector.tobytes(),
                np.packbits(vector > 0, bitorder="little").tobytes(),
            ),
        )
        db.execute(
            "INSERT INTO vector_changes(space_id, message_id, op, run_length) VALUES (1, ?, 'a', 1)",
            (message_id,),
        )
        db.execute("COMMIT")

    def get(self) -> list[str]:
        rows = self.connection.execute(
            "SELECT id, conversation_id, role, content, created_at, metadata, content_hash, content_key "
            "FROM messages WHERE conversation_id = ? AND EXISTS (SELECT * FROM conversations WHERE "
            "conversations.id = ? AND (CAST(? AS VARCHAR) IS NULL OR conversations.user_id = CAST(? AS "
            "VARCHAR)) AND (CAST(? AS VARCHAR) IS NULL OR conversations.agent_id = CAST(? AS VARCHAR))) "
            "ORDER BY created_at DESC, id DESC LIMIT ?",
            (self.conversation_id, self.conversation_id, None, None, None, None, LIMIT),
        ).fetchall()
        return [row[3] for row in reversed(rows)]

    def synchronous(self) -> int:
        return int(self.connection.execute("PRAGMA synchronous").fetchone()[0])

    def sqlite_version(self) -> str:
        return str(self.connection.execute("SELECT sqlite_version()").fetchone()[0])

    def close(self) -> None:
        self.connection.close()


def _sign_bits(vector: Any) -> bytes:
    return bytes(np.packbits(vector > 0, bitorder="little").tobytes())


Contender = MemoryTurns | SessionTurns | BareTurns | MemorySqlTurns
SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


# -- timing -----------------------------------------------------------------------------------------------


class Samples:
    """Per-turn times of one contender, in seconds: the add part (less the embedder), the get part."""

    def __init__(self) -> None:
        self.add: list[float] = []
        self.get: list[float] = []
        self.embed: list[float] = []

    @property
    def turn(self) -> list[float]:
        return [a + g for a, g in zip(self.add, self.get, strict=True)]


def run_sync(
    contender: MemoryTurns | BareTurns, texts: list[str], start: int, samples: Samples | None
) -> None:
    embedder = contender.embedder if isinstance(contender, MemoryTurns) else None
    clock = time.perf_counter
    for i, text in enumerate(texts):
        spent = embedder.seconds if embedder is not None else 0.0
        t0 = clock()
        contender.add(ROLES[(start + i) % 2], text)
        t1 = clock()
        contender.get()
        t2 = clock()
        if samples is not None:
            embed = embedder.seconds - spent if embedder is not None else 0.0
            samples.add.append(t1 - t0 - embed)
            samples.get.append(t2 - t1)
            samples.embed.append(embed)


async def run_async(contender: SessionTurns, texts: list[str], start: int, samples: Samples | None) -> None:
    clock = time.perf_counter
    for i, text in enumerate(texts):
        t0 = clock()
        await contender.add(ROLES[(start + i) % 2], text)
        t1 = clock()
        await contender.get()
        t2 = clock()
        if samples is not None:
            samples.add.append(t1 - t0)
            samples.get.append(t2 - t1)
            samples.embed.append(0.0)


async def run_block(contender: Contender, texts: list[str], start: int, samples: Samples | None) -> None:
    if isinstance(contender, SessionTurns):
        await run_async(contender, texts, start, samples)
    else:
        run_sync(contender, texts, start, samples)


async def open_contenders(
    names: list[str], tmp: Path, embedder: PoolEmbedder, history: list[str]
) -> list[Contender]:
    contenders: list[Contender] = []
    for name in names:
        path = tmp / f"{name}.db"
        if name == "memory":
            contenders.append(MemoryTurns(path, embedder, history))
        elif name == "bare":
            contenders.append(BareTurns(path, history))
        elif name == "memory-sql":
            contenders.append(MemorySqlTurns(path, embedder, history))
        else:
            session = SessionTurns(path) if name == "session" else NormalSessionTurns(path)
            await session.fill(history)
            contenders.append(session)
    return contenders


async def one_repeat(
    names: list[str], texts: list[str], embedder: PoolEmbedder, args: argparse.Namespace, tmp: Path
) -> tuple[dict[str, Samples], dict[str, dict[str, Any]]]:
    history = texts[: args.history]
    warm = texts[args.history : args.history + args.warmup]
    timed = texts[args.history + args.warmup : args.history + args.warmup + args.turns]
    contenders = await open_contenders(names, tmp, embedder, history)
    samples = {c.label: Samples() for c in contenders}
    info: dict[str, dict[str, Any]] = {}
    try:
        for phase, phase_texts, record in (("warm-up", warm, False), ("timed", timed, True)):
            for block, at in enumerate(range(0, len(phase_texts), args.block)):
                chunk = phase_texts[at : at + args.block]
                shift = block % len(contenders)
                for contender in contenders[shift:] + contenders[:shift]:
                    await run_block(
                        contender, chunk, args.history + at, samples[contender.label] if record else None
                    )
            for contender in contenders:  # every contender read back what it wrote
                got = await contender.get() if isinstance(contender, SessionTurns) else contender.get()
                if got != phase_texts[-LIMIT:] and len(phase_texts) >= LIMIT:
                    raise AssertionError(f"{contender.label}: the last {LIMIT} messages differ after {phase}")
        for contender in contenders:
            info[contender.label] = {
                "sqlite": contender.sqlite_version(),
                "synchronous": SYNC_NAMES.get(contender.synchronous(), "?"),
            }
            if isinstance(contender, SessionTurns):
                info[contender.label]["connections"] = contender.connections()
    finally:
        for contender in contenders:
            contender.close()
    return samples, info


# -- memory's SQL, counted ---------------------------------------------------------------------------------


class SqlCounter:
    """Statements per add_message and per get_messages, as SQLite's trace callback sees them (it
    reports what memory runs on the driver's cursor as well as through SQLAlchemy, and the statements
    statements that triggers and virtual tables run, reported as comments), plus pool checkouts from
    the engine's events."""

    def __init__(self) -> None:
        self.phase = "idle"
        self.log: dict[str, list[list[dict[str, Any]]]] = {"add_message": [], "get_messages": []}
        self.last = ""

    def trace(self, statement: str) -> None:
        # SQLite reports a statement again each time it resumes it after a trigger's sub-statements:
        # one INSERT with the full-text trigger shows up three times.
        if statement.startswith("--") or statement != self.last:
            self.record("execute", statement)
        if not statement.startswith("--"):
            self.last = statement

    def record(self, kind: str, text: str) -> None:
        if self.phase != "idle":
            self.log[self.phase][-1].append({"kind": kind, "sql": text, "rows": 1})

    def count(self, manager: MemoryManager, conversation_id: int, texts: list[str]) -> dict[str, Any]:
        checkout = lambda *_: self.record("checkout", "(pool checkout)")  # noqa: E731
        sa.event.listen(manager.engine, "checkout", checkout)
        try:
            for i, text in enumerate(texts):
                self.phase = "add_message"
                self.log["add_message"].append([])
                manager.add_message(conversation_id, ROLES[i % 2], text)
                self.phase = "get_messages"
                self.log["get_messages"].append([])
                manager.get_messages(conversation_id, limit=LIMIT)
                self.phase = "idle"
        finally:
            sa.event.remove(manager.engine, "checkout", checkout)
        summary: dict[str, Any] = {}
        for call, turns in self.log.items():
            counts = [_classify(events) for events in turns]
            if any(c != counts[0] for c in counts):
                print(f"note: {call} did not issue the same statements on every turn", file=sys.stderr)
            summary[call] = {**counts[-1], "events": turns[-1]}
        return summary


def _classify(events: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"statements": 0, "BEGIN": 0, "COMMIT": 0, "ROLLBACK": 0, "SELECT": 0, "INSERT": 0, "UPDATE": 0}
    counts |= {"DELETE": 0, "other": 0, "internal statements": 0, "checkouts": 0}
    for event in events:
        if event["kind"] == "checkout":
            counts["checkouts"] += 1
            continue
        text = event["sql"].strip()
        if text.startswith("--"):  # run by a trigger (the full-text index) or a virtual table (vec0)
            counts["internal statements"] += 1
            continue
        counts["statements"] += 1
        verb = text.split(None, 1)[0].upper() if text else "other"
        counts[verb if verb in counts else "other"] += 1
    return counts


def print_sql(summary: dict[str, Any], *, full: bool) -> None:
    for call in ("add_message", "get_messages"):
        print(f"\n{call}: one call, in order")
        for event in summary[call]["events"]:
            text = " ".join(event["sql"].split())
            if not full and len(text) > 150:
                text = text[:147] + "..."
            rows = f"  [executemany x{event['rows']}]" if event["rows"] != 1 else ""
            print(f"  {text}{rows}")


def profile_memory(
    tmp: Path, embedder: PoolEmbedder, history: list[str], warm: list[str], texts: list[str]
) -> str:
    """cProfile over `texts` turns of memory on a fresh warmed-up store: the top 15 functions by
    cumulative time, then by own time."""
    contender = MemoryTurns(tmp / "profiled.db", embedder, history)
    try:
        asyncio.run(run_block(contender, warm, len(history), None))
        profiler = cProfile.Profile()
        profiler.enable()
        run_sync(contender, texts, len(history) + len(warm), None)
        profiler.disable()
    finally:
        contender.close()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(15)
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


# -- the table ---------------------------------------------------------------------------------------------


def _us(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if q == 0.5:
        return round(statistics.median(ordered) * 1e6, 1)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6, 1)


COLUMNS = [
    "contender",
    "sqlite",
    "synchronous",
    "median_us",
    "p95_us",
    "add_us",
    "get_us",
    "embed_us",
    "memory_x",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=2000, help="timed turns per contender per repeat")
    parser.add_argument("--repeats", type=int, default=3, help="runs, each on fresh files")
    parser.add_argument("--warmup", type=int, default=200, help="untimed turns before timing")
    parser.add_argument("--history", type=int, default=100, help="messages in the conversation beforehand")
    parser.add_argument("--block", type=int, default=50, help="turns per contender before the next one")
    parser.add_argument(
        "--contenders",
        default="memory,session,session-normal,bare,memory-sql",
        help="comma-separated, from memory, session, session-normal, bare, memory-sql",
    )
    parser.add_argument(
        "--count-turns", type=int, default=20, help="turns over which memory's SQL is counted"
    )
    parser.add_argument("--show-sql", action="store_true", help="print the counted statements in full")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile N turns of memory")
    args = parser.parse_args()
    names = [n.strip() for n in args.contenders.split(",") if n.strip()]
    known = {"memory", "session", "session-normal", "bare", "memory-sql"}
    if not names or not set(names) <= known:
        parser.error(f"--contenders: choose from {sorted(known)}")

    per_repeat = args.history + args.warmup + args.turns
    texts = texts_for(0, per_repeat + args.count_turns + args.profile)
    embedder = PoolEmbedder(unit_pool())
    assert isinstance(embedder, memory.Embedder)
    print(
        f"{args.turns} timed turns x {args.repeats} repeats per contender, "
        f"after {args.warmup} warm-up turns, "
        f"in a conversation of {args.history} messages; blocks of {args.block}; "
        f"texts of {min(map(len, texts))}-{max(map(len, texts))} chars"
    )

    pooled = {name: Samples() for name in names}
    info: dict[str, dict[str, Any]] = {}
    per_repeat_median: dict[str, list[float]] = {name: [] for name in names}
    sql: dict[str, Any] = {}
    profile = ""
    with tempfile.TemporaryDirectory() as tmp_root:
        for repeat in range(args.repeats):
            tmp = Path(tmp_root) / f"repeat-{repeat}"
            tmp.mkdir()
            samples, info = asyncio.run(one_repeat(names, texts[:per_repeat], embedder, args, tmp))
            for name, got in samples.items():
                pooled[name].add += got.add
                pooled[name].get += got.get
                pooled[name].embed += got.embed
                per_repeat_median[name].append(_us(got.turn, 0.5))
            print(f"repeat {repeat + 1}: " + ", ".join(f"{n} {per_repeat_median[n][-1]} us" for n in names))

        tmp = Path(tmp_root)
        extra = texts[per_repeat:]
        counter = SqlCounter()
        counted = MemoryTurns(tmp / "counted.db", embedder, texts[: args.history], tracer=counter.trace)
        try:
            asyncio.run(
                run_block(counted, texts[args.history : args.history + args.warmup], args.history, None)
            )
            sql = counter.count(counted.manager, counted.conversation_id, extra[: args.count_turns])
        finally:
            counted.close()
        if args.profile:
            profile = profile_memory(
                tmp,
                embedder,
                texts[: args.history],
                texts[args.history : args.history + args.warmup],
                extra[args.count_turns :],
            )

    memory_median = _us(pooled["memory"].turn, 0.5) if "memory" in pooled else None
    rows = []
    for name in names:
        got = pooled[name]
        median = _us(got.turn, 0.5)
        rows.append(
            {
                "contender": name,
                **{k: v for k, v in info[name].items() if k in ("sqlite", "synchronous")},
                "median_us": median,
                "p95_us": _us(got.turn, 0.95),
                "add_us": _us(got.add, 0.5),
                "get_us": _us(got.get, 0.5),
                "embed_us": _us(got.embed, 0.5),
                "memory_x": round(memory_median / median, 2) if memory_median else None,
                "mean_us": round(statistics.fmean(got.turn) * 1e6, 1),
                "per_repeat_median_us": per_repeat_median[name],
                **({"connections": info[name]["connections"]} if "connections" in info[name] else {}),
            }
        )
    print()
    print("".join(f"{c:>16}" for c in COLUMNS))
    for row in rows:
        print("".join(f"{row[c]!s:>16}" for c in COLUMNS))
    print(
        "median/p95: per turn (add + get); add_us, get_us: medians of each part; embed_us: median time "
        "inside the embedder, already left out; memory_x: memory's median / this median"
    )
    sessions = [r for r in rows if "connections" in r]
    for row in sessions:
        print(f"{row['contender']}: {row['connections']} sqlite3 connections (one per to_thread worker used)")

    if sql:
        print(f"\nmemory's SQL per call (turn {args.count_turns} of {args.count_turns} counted):")
        keys = ["statements", "BEGIN", "COMMIT", "ROLLBACK", "SELECT", "INSERT", "UPDATE", "DELETE", "other"]
        keys += ["internal statements", "checkouts"]
        print(f"{'call':>14}" + "".join(f"{k:>{max(11, len(k) + 1)}}" for k in keys))
        for call in ("add_message", "get_messages"):
            print(f"{call:>14}" + "".join(f"{sql[call][k]!s:>{max(11, len(k) + 1)}}" for k in keys))
        print(
            "statements: what SQLite ran, as its trace callback reports it (BEGIN and COMMIT "
            "included); internal statements: those SQLite runs for the full-text trigger and vec0"
        )
        print_sql(sql, full=args.show_sql)
    if profile:
        print(
            f"\ncProfile of {args.profile} memory turns (add_message + get_messages), "
            "by cumulative, then by own time:"
        )
        print(profile)

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "turn.json"
    out.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "command": " ".join(sys.argv),
                "turns": args.turns,
                "repeats": args.repeats,
                "warmup": args.warmup,
                "history": args.history,
                "block": args.block,
                "embedder": "precomputed vectors from a pool (time inside embed() left out)",
                "rows": rows,
                "memory_sql": sql,
                "profile": profile,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
