"""The `memory` command line (also `python -m memory`).

Exit status: 0 on success, 2 on usage errors, 1 on any other error, reported as one line on stderr.
The database URL comes from --db, else MEMORY_DATABASE_URL, else sqlite:///memory.db. An existing
store is opened with the model of its active embedding space; --model (or, for a new store,
MEMORY_MODEL) chooses the model. --user (and --agent), before or after the command, make every
command act as that user (and agent of theirs): it sees and makes only their memory.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, NoReturn

from sqlalchemy.engine import Engine

from memory.embedding.resolve import embedder_for
from memory.embedding.sentence_transformer import DEFAULT_MODEL
from memory.engine import DEFAULT_URL, create_engine, session_factory
from memory.errors import MemoryStoreError, ValidationError
from memory.export import export_jsonl
from memory.facade import MemoryFacade
from memory.importers import FORMATS, import_file
from memory.manager import MemoryManager
from memory.migration import current_revision, downgrade, ensure_schema, head_revision, upgrade
from memory.models import ROLES
from memory.search import SEARCH_MODES, SearchHit
from memory.spaces import SpaceRepository

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_usage(sys.stderr)
        print("memory: error: choose a command", file=sys.stderr)
        return 2
    try:
        return handler(args)
    except MemoryStoreError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted", status=130)
    except Exception as exc:  # the contract: one line, no traceback
        return _fail(f"unexpected {type(exc).__name__}: {exc}")


def _fail(message: str, *, status: int = 1) -> int:
    print(f"memory: error: {' '.join(message.split())}", file=sys.stderr)
    return status


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memory", description="A searchable memory of conversations.")
    parser.add_argument(
        "--db",
        default=None,
        help=f"database URL (default: $MEMORY_DATABASE_URL or {DEFAULT_URL}); on PostgreSQL, "
        "?schema=NAME keeps memory in a schema of its own",
    )
    parser.add_argument(
        "--model", default=None, help=f"embedding model of a new store (default: {DEFAULT_MODEL})"
    )
    _scope_options(parser, default=None)
    # The same options after the command too (`memory search --user alice ...`).
    scoped = argparse.ArgumentParser(add_help=False)
    _scope_options(scoped, default=argparse.SUPPRESS)
    commands = _ScopedCommands(parser.add_subparsers(title="commands", metavar="COMMAND"), scoped)

    db = commands.plain.add_parser("db", help="schema migrations").add_subparsers(
        title="db commands", metavar="ACTION"
    )
    up = db.add_parser("upgrade", help="upgrade the schema (default: to the newest revision)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(handler=_db_upgrade)
    down = db.add_parser("downgrade", help="downgrade the schema to REV ('base' removes everything)")
    down.add_argument("revision")
    down.set_defaults(handler=_db_downgrade)
    db.add_parser("current", help="show the schema revision").set_defaults(handler=_db_current)
    check = db.add_parser("check", help="check the store's integrity (exit 1 when something is wrong)")
    check.add_argument(
        "--repair", action="store_true", help="rebuild what the messages allow, then check again"
    )
    check.set_defaults(handler=_db_check)

    importer = commands.add_parser("import", help="import conversations from a file")
    importer.add_argument("file", type=Path)
    importer.add_argument("--format", choices=FORMATS, help="default: jsonl for .jsonl files, else chatgpt")
    importer.add_argument(
        "--strict", action="store_true", help="abort on the first bad record, importing nothing"
    )
    importer.set_defaults(handler=_import)

    search = commands.add_parser("search", help="find messages by words and meaning")
    search.add_argument("query")
    search.add_argument(
        "--mode",
        choices=SEARCH_MODES,
        default="hybrid",
        help="rank by meaning (vector), by words (text) or both fused (hybrid, the default)",
    )
    search.add_argument("-k", type=_positive_int, default=10, help="how many hits (default 10)")
    search.add_argument("--conversation", type=_positive_int, help="only this conversation")
    search.add_argument("--role", choices=ROLES, action="append", help="only these roles (repeatable)")
    search.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    search.set_defaults(handler=_search)

    conversations = _ScopedCommands(
        commands.plain.add_parser("conversations", help="list or show conversations").add_subparsers(
            title="conversations commands", metavar="ACTION"
        ),
        scoped,
    )
    listing = conversations.add_parser("list", help="most recently updated first")
    listing.add_argument("--limit", type=_positive_int, default=50)
    listing.add_argument("--offset", type=int, default=0)
    listing.set_defaults(handler=_conversations_list)
    show = conversations.add_parser("show", help="one conversation with its messages")
    show.add_argument("id", type=_positive_int)
    show.set_defaults(handler=_conversations_show)

    export = commands.add_parser("export", help="write every conversation (of the scope) as JSON lines")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    export.set_defaults(handler=_export)

    stats = commands.add_parser("stats", help="counts of conversations, messages and vectors")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(handler=_stats)

    forget = commands.add_parser(
        "forget", help="delete a user's, agent's or conversation's memory for good (asks first)"
    )
    forget.add_argument("--conversation", type=_positive_int, help="only this conversation")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    forget.set_defaults(handler=_forget)

    reindex = commands.plain.add_parser(
        "reindex", help="embed every message with another model and switch to it"
    )
    reindex.add_argument(
        "--model", dest="target_model", required=True, help="model name or path (or fake:<dims>)"
    )
    reindex.add_argument("--batch-size", type=_positive_int, default=256)
    reindex.set_defaults(handler=_reindex)
    return parser


def _scope_options(parser: argparse.ArgumentParser, *, default: Any) -> None:
    parser.add_argument("--user", default=default, help="act as this user: see and make only their memory")
    parser.add_argument("--agent", default=default, help="with --user: only this agent of theirs")


class _ScopedCommands:
    """Subcommands that take the scope options after their name too."""

    def __init__(self, commands: Any, scoped: argparse.ArgumentParser) -> None:
        self.plain = commands
        self._scoped = scoped

    def add_parser(self, name: str, **options: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self.plain.add_parser(name, parents=[self._scoped], **options)
        return parser


# -- opening the store -------------------------------------------------------------------------------


def _url(args: argparse.Namespace) -> str:
    return str(args.db or os.environ.get("MEMORY_DATABASE_URL") or DEFAULT_URL)


class _Store:
    """A manager on one engine, opened with the model that fits the store. Commands that only read
    (`writes=False`) never change a schema: a store that is not at the newest revision is an error
    that says to run `memory db upgrade`. Commands that write migrate a store memory made, or a new
    one, but not a database of another application (see `MemoryManager`'s `migrate`)."""

    def __init__(self, args: argparse.Namespace, *, writes: bool = False) -> None:
        self.engine = create_engine(_url(args))
        try:
            ensure_schema(self.engine, migrate=None if writes else False)
            # An explicit --model wins (and fails clearly if the store holds another model's vectors).
            model = args.model or self._stored_model() or os.environ.get("MEMORY_MODEL") or DEFAULT_MODEL
            self.manager = MemoryManager(self.engine, embedder=embedder_for(model), migrate=False)
        except BaseException:
            self.engine.dispose()
            raise

    def _stored_model(self) -> str | None:
        """The model of the active space, once a model has filled or adopted it."""
        with session_factory(self.engine)() as session:
            active = SpaceRepository(session).active()
            return active.model if active.fingerprint is not None else None

    def __enter__(self) -> _Store:
        return self

    def memory(self, args: argparse.Namespace) -> MemoryFacade:
        """The manager, or with --user (and --agent) that user's scope."""
        if args.user is None:
            if args.agent is not None:
                raise ValidationError("--agent needs --user")
            return self.manager
        return self.manager.scoped(args.user, args.agent)

    def __exit__(self, *exc_info: object) -> None:
        self.manager.close()
        self.engine.dispose()


def _with_engine(args: argparse.Namespace, action: Callable[[Engine], int]) -> int:
    engine = create_engine(_url(args))
    try:
        return action(engine)
    finally:
        engine.dispose()


# -- commands ------------------------------------------------------------------------------------------


def _db_upgrade(args: argparse.Namespace) -> int:
    def run(engine: Engine) -> int:
        upgrade(engine, args.revision)
        return _db_current(args)

    return _with_engine(args, run)


def _db_downgrade(args: argparse.Namespace) -> int:
    def run(engine: Engine) -> int:
        downgrade(engine, args.revision)
        return _db_current(args)

    return _with_engine(args, run)


def _db_current(args: argparse.Namespace) -> int:
    def run(engine: Engine) -> int:
        with engine.connect() as connection:
            revision = current_revision(connection)
        head = head_revision()
        print(
            "none (not migrated)"
            if revision is None
            else f"{revision}{' (head)' if revision == head else ''}"
        )
        return 0

    return _with_engine(args, run)


def _db_check(args: argparse.Namespace) -> int:
    with _Store(args, writes=args.repair) as store:
        report = store.manager.check(repair=args.repair)
    for problem in report.problems:
        print(f"problem: {problem}")
    for fix in report.repaired:
        print(f"repaired: {fix}")
    for problem in report.remaining if args.repair else []:
        print(f"still wrong: {problem}")
    print("ok" if report.ok else "the store has problems" + ("" if args.repair else "; try --repair"))
    return 0 if report.ok else 1


def _import(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        return _fail(f"no such file: {args.file}")
    with _Store(args, writes=True) as store:
        memory = store.memory(args)
        bar = _ProgressBar(sys.stderr, label=f"importing {args.file.name}")
        summary = import_file(memory, args.file, format=args.format, strict=args.strict, progress=bar.update)
        bar.close()
    for problem in summary.problems:
        print(f"memory: skipped {problem}", file=sys.stderr)
    print(
        f"imported {summary.imported} conversations ({summary.messages} messages); "
        f"{summary.skipped} already present; {summary.failed} bad records skipped"
    )
    return 0


def _search(args: argparse.Namespace) -> int:
    with _Store(args) as store:
        hits = store.memory(args).search(
            args.query, args.k, mode=args.mode, conversation_id=args.conversation, roles=args.role
        )
    if args.json:
        for hit in hits:
            print(json.dumps(_hit_json(hit), ensure_ascii=False))
    else:
        _print_table(
            ["#", "score", "found by", "conv", "role", "when", "message"],
            [
                [
                    str(rank),
                    f"{hit.score:.3f}",
                    "+".join(sorted(hit.sources)),
                    str(hit.message.conversation_id),
                    hit.message.role,
                    _when(hit.message.created_at),
                    hit.message.content,
                ]
                for rank, hit in enumerate(hits, start=1)
            ],
        )
        if not hits:
            print("no matches")
    return 0


def _conversations_list(args: argparse.Namespace) -> int:
    with _Store(args) as store:
        conversations = store.memory(args).list_conversations(limit=args.limit, offset=args.offset)
    _print_table(
        ["id", "updated", "title"],
        [[str(c.id), _when(c.updated_at), c.title or "(untitled)"] for c in conversations],
    )
    return 0


def _conversations_show(args: argparse.Namespace) -> int:
    with _Store(args) as store:
        conversation = store.memory(args).get_conversation(args.id)
    title = conversation.title or "(untitled)"
    print(f"# {title}  (id {conversation.id}, {len(conversation.messages)} messages)")
    for message in conversation.messages:
        print(f"\n[{_when(message.created_at)}] {message.role}:")
        print(message.content)
    return 0


def _export(args: argparse.Namespace) -> int:
    with _Store(args) as store:
        memory = store.memory(args)
        if args.output is None:
            count = export_jsonl(memory, sys.stdout)
        else:
            count = _write_atomically(args.output, lambda out: export_jsonl(memory, out))
    print(f"exported {count} conversations", file=sys.stderr)
    return 0


def _stats(args: argparse.Namespace) -> int:
    with _Store(args) as store:
        stats = store.memory(args).stats()
    if args.json:
        print(json.dumps(stats))
        return 0
    print(f"conversations: {stats['conversations']}\nmessages: {stats['messages']}\nembedding spaces:")
    for space in stats["spaces"]:
        active = "  (active)" if space["active"] else ""
        dims, vectors = space["dimensions"], space["vectors"]
        print(f"  #{space['id']} {space['model']} [{dims} dims]: {vectors} vectors{active}")
    return 0


def _forget(args: argparse.Namespace) -> int:
    if args.user is None and args.conversation is None:
        return _fail("forget needs --user (and optionally --agent) or --conversation")
    with _Store(args, writes=True) as store:
        memory = store.memory(args)
        if args.conversation is not None:
            conversation = memory.get_conversation(args.conversation)
            what = f"conversation {conversation.id} ({len(conversation.messages)} messages)"
        else:
            counts = memory.stats()
            agent = f", agent {args.agent!r}" if args.agent is not None else ""
            sizes = f"{counts['conversations']} conversations, {counts['messages']} messages"
            what = f"user {args.user!r}{agent} ({sizes})"
        if not args.yes:
            print(
                f"forget {what} for good? This cannot be undone. [y/N] ", end="", file=sys.stderr, flush=True
            )
            if sys.stdin.readline().strip().lower() not in ("y", "yes"):
                return _fail("nothing forgotten (not confirmed)")
        report = memory.forget(conversation_id=args.conversation)
    erased = "; the bytes are overwritten and the WAL checkpointed" if report.erased else ""
    print(f"forgot {report.conversations} conversations and {report.messages} messages{erased}")
    return 0


def _reindex(args: argparse.Namespace) -> int:
    target = embedder_for(args.target_model)
    if args.user is not None or args.agent is not None:
        return _fail("reindex works on the whole store: leave out --user and --agent")
    with _Store(args, writes=True) as store:
        info = store.manager.reindex(target, batch_size=args.batch_size)
    print(f"space #{info.id} ({info.model}, {info.dimensions} dims) is active with {info.vectors} vectors")
    return 0


# -- output --------------------------------------------------------------------------------------------


def _hit_json(hit: SearchHit) -> dict[str, Any]:
    message = hit.message
    return {
        "message_id": message.id,
        "conversation_id": message.conversation_id,
        "role": message.role,
        "created_at": message.created_at.isoformat(),
        "distance": None if math.isnan(hit.distance) else hit.distance,
        "score": None if math.isnan(hit.distance) else hit.score,
        "sources": sorted(hit.sources),
        "text_score": hit.text_score,
        "fusion_score": hit.fusion_score,
        "content": message.content,
    }


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def _print_table(headers: list[str], rows: list[list[str]]) -> None:
    """Columns sized to their content; the last column is cut to the terminal's width."""
    rows = [[" ".join(cell.split()) for cell in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers[:-1])]
    room = max(20, shutil.get_terminal_size((120, 24)).columns - sum(widths) - 2 * len(widths))
    for cells in [headers, ["-" * w for w in widths] + ["-" * min(room, 40)], *rows]:
        last = cells[-1] if len(cells[-1]) <= room else cells[-1][: room - 1] + "…"
        print("  ".join([*(c.ljust(w) for c, w in zip(cells, widths, strict=False)), last]).rstrip())


def _write_atomically(path: Path, write: Callable[[IO[str]], int]) -> int:
    directory = path.resolve().parent
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            count = write(out)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count


class _ProgressBar:
    """A one-line bar on a terminal; on anything else, a line at every tenth of the way."""

    def __init__(self, stream: IO[str], *, label: str) -> None:
        self._stream, self._label = stream, label
        self._tty = stream.isatty()
        self._shown = -1

    def update(self, done: int, total: int) -> None:
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        step = percent if self._tty else percent // 10 * 10
        if step == self._shown:
            return
        self._shown = step
        filled = percent // 4
        line = f"{self._label} [{'#' * filled}{'.' * (25 - filled)}] {percent:3d}%"
        self._stream.write(f"\r{line}" if self._tty else f"{line}\n")
        self._stream.flush()

    def close(self) -> None:
        if self._tty and self._shown >= 0:
            self._stream.write("\n")


def run() -> NoReturn:
    """Console-script entry point."""
    sys.exit(main())
