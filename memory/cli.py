"""The `memory` command line (also `python -m memory`).

Exit status: 0 on success, 2 on usage errors (argument ranges included), 1 on any other error,
reported as one line on stderr; 141 (as a tool killed by SIGPIPE) when the reader of the output
went away (`memory ... | head`), quietly.

The database comes from --db, else MEMORY_DATABASE_URL, else memory.db: a URL or a plain file
path. Only `import`, `db upgrade` and `mcp` create a store; every other command refuses one that
does not exist. An existing store is opened with the model of its active embedding space; --model (or, for a
new store, MEMORY_MODEL) chooses the model, and commands that need no vectors never load it. The
global options (--db, --model, --user, --agent) go before or after the command; --user (and
--agent) make every command act as that user (and agent of theirs): it sees and makes only their
memory.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import os
import shutil
import sqlite3
import sys
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import IO, Any, NoReturn

from sqlalchemy.engine import Engine

from memory import validation
from memory.conversations import ConversationInfo
from memory.copy import DEFAULT_BATCH_SIZE, copy_store
from memory.embedding.resolve import embedder_for
from memory.embedding.sentence_transformer import DEFAULT_MODEL
from memory.engine import DEFAULT_URL, create_engine, database_url, session_factory, sqlite_file
from memory.errors import MemoryStoreError
from memory.export import export_jsonl
from memory.facade import MemoryFacade
from memory.importers import BATCH_MESSAGES, FORMATS, import_file
from memory.manager import MemoryManager
from memory.migration import current_revision, downgrade, ensure_schema, head_revision, upgrade
from memory.models import ROLES, Conversation
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
    except _UsageError as exc:
        parser.print_usage(sys.stderr)
        return _fail(str(exc), status=2)
    except BrokenPipeError:
        return _reader_gone()
    except MemoryStoreError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted", status=130)
    except Exception as exc:  # the contract: one line, no traceback
        return _fail(f"unexpected {type(exc).__name__}: {exc}")


class _UsageError(Exception):
    """A combination of arguments that cannot work (exit status 2, like argparse's own errors)."""


def _fail(message: str, *, status: int = 1) -> int:
    print(f"memory: error: {' '.join(message.split())}", file=sys.stderr)
    return status


def _reader_gone() -> int:
    """The end of a pipe closed early: stop quietly, and keep the interpreter's final flush quiet."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


# -- argument types: the library's own checks, their errors made usage errors (exit status 2) ---------


def _checked(check: Callable[[Any], Any], parse: Callable[[str], Any] = str) -> Callable[[str], Any]:
    def argument(text: str) -> Any:
        try:
            return check(parse(text))
        except ValueError as exc:  # ValidationError is one; so is int("x")
            raise argparse.ArgumentTypeError(str(exc)) from None

    return argument


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an integer") from None


_K = _checked(validation.check_k, _int)
_POSITIVE = _checked(lambda value: validation.check_count(value, "the value", minimum=1), _int)
_NON_NEGATIVE = _checked(lambda value: validation.check_count(value, "the value"), _int)
_QUERY = _checked(lambda text: validation.check_content(text, validation.DEFAULT_MAX_CONTENT_BYTES, "query"))
_USER = _checked(lambda text: validation.check_owner_id(text, "--user"))
_AGENT = _checked(lambda text: validation.check_owner_id(text, "--agent"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memory", description="A searchable memory of conversations.")
    _store_options(parser, default=None)
    _model_option(parser, default=None)
    _scope_options(parser, default=None)
    commands = _Commands(parser.add_subparsers(title="commands", metavar="COMMAND"))

    db = commands.group("db", help="schema migrations and integrity")
    up = db.add("upgrade", help="create or upgrade the store (default: to the newest revision)", scoped=False)
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(handler=_db_upgrade)
    down = db.add("downgrade", help="downgrade the schema to REV ('base' removes everything)", scoped=False)
    down.add_argument("revision")
    down.set_defaults(handler=_db_downgrade)
    db.add("current", help="show the schema revision", scoped=False).set_defaults(handler=_db_current)
    check = db.add("check", help="check the store's integrity (exit 1 when something is wrong)", scoped=False)
    check.add_argument(
        "--repair", action="store_true", help="rebuild what the messages allow, then check again"
    )
    check.set_defaults(handler=_db_check)

    importer = commands.add("import", help="import conversations from a file (creates the store)")
    importer.add_argument("file", type=Path)
    importer.add_argument("--format", choices=FORMATS, help="default: jsonl for .jsonl files, else chatgpt")
    importer.add_argument(
        "--strict", action="store_true", help="abort on the first bad record, importing nothing"
    )
    importer.add_argument(
        "--include-do-not-remember",
        action="store_true",
        help="also import the conversations marked 'do not remember' in a ChatGPT export",
    )
    importer.add_argument(
        "--batch-messages",
        type=_POSITIVE,
        default=BATCH_MESSAGES,
        help=f"messages embedded together and committed together (default {BATCH_MESSAGES})",
    )
    importer.set_defaults(handler=_import)

    search = commands.add("search", help="find messages by words and meaning")
    search.add_argument("query", type=_QUERY)
    search.add_argument(
        "--mode",
        choices=SEARCH_MODES,
        default="hybrid",
        help="rank by meaning (vector), by words (text: runs no model) or both fused (hybrid, the default)",
    )
    search.add_argument(
        "-k", type=_K, default=10, help=f"how many hits, 1 to {validation.MAX_K} (default 10)"
    )
    search.add_argument("--conversation", type=_POSITIVE, help="only this conversation")
    search.add_argument("--role", choices=ROLES, action="append", help="only these roles (repeatable)")
    search.add_argument(
        "--lines", type=_NON_NEGATIVE, default=3, help="lines of each message to show (0: all; default 3)"
    )
    search.add_argument("--json", action="store_true", help="JSON lines instead of text")
    search.set_defaults(handler=_search)

    conversations = commands.group("conversations", help="list or show conversations")
    listing = conversations.add("list", help="most recently updated first")
    listing.add_argument("--limit", type=_POSITIVE, default=50)
    listing.add_argument("--offset", type=_NON_NEGATIVE, default=0)
    listing.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    listing.set_defaults(handler=_conversations_list)
    show = conversations.add("show", help="one conversation with its messages")
    show.add_argument("id", type=_POSITIVE)
    show.add_argument("--json", action="store_true", help="one JSON object instead of text")
    show.set_defaults(handler=_conversations_show)

    export = commands.add("export", help="write every conversation (of the scope) as JSON lines")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    export.set_defaults(handler=_export)

    stats = commands.add("stats", help="counts of conversations, messages and vectors")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(handler=_stats)

    forget = commands.add(
        "forget", help="delete a user's, agent's or conversation's memory for good (asks first)"
    )
    forget.add_argument("--conversation", type=_POSITIVE, help="only this conversation")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    forget.set_defaults(handler=_forget)

    mcp = commands.add("mcp", help="serve the memory to an assistant over MCP on stdio (creates the store)")
    mcp.add_argument(
        "--allow-forget", action="store_true", help="also offer the forget tool (deletes a conversation)"
    )
    mcp.set_defaults(handler=_mcp)

    # Its --model is the model to move to, so it takes --db only after its name.
    reindex = commands.add(
        "reindex", help="embed every message with another model and switch to it", scoped=False, model=False
    )
    reindex.add_argument(
        "--model", dest="target_model", required=True, help="model name or path (or fake:<dims>)"
    )
    reindex.add_argument("--batch-size", type=_POSITIVE, default=256)
    reindex.set_defaults(handler=_reindex)

    compact = commands.add("compact", help="move aging conversations into their tiers and archives")
    compact.add_argument("--dry-run", action="store_true", help="report what would move; change nothing")
    compact.add_argument("--json", action="store_true", help="the report as one JSON object")
    _archive_option(compact)
    compact.set_defaults(handler=_compact)
    pin = commands.add("pin", help="keep a conversation in full (--unpin: let it age again)")
    pin.add_argument("id", type=_POSITIVE)
    pin.add_argument("--unpin", action="store_true")
    pin.set_defaults(handler=_pin)
    restore = commands.add("restore", help="bring archived conversations back in full")
    restore.add_argument("ids", type=_POSITIVE, nargs="+", metavar="ID")
    _archive_option(restore)
    restore.set_defaults(handler=_restore)
    backup = commands.add(
        "backup", help="copy the store and its archives to a new file (SQLite)", scoped=False, model=False
    )
    backup.add_argument("path", type=Path)
    _archive_option(backup)
    backup.set_defaults(handler=_backup)

    # Two stores named by URL: none of the global options applies.
    copy = commands.add(
        "copy",
        help="copy a whole store into another database (SQLite <-> PostgreSQL), resumable and verified",
        scoped=False,
        model=False,
        store=False,
    )
    copy.add_argument("source", help="URL or SQLite file path of the store to copy")
    copy.add_argument("dest", help="URL or SQLite file path to copy it into (created or upgraded)")
    copy.add_argument("--merge", action="store_true", help="add to a destination that holds data of its own")
    copy.add_argument(
        "--batch-size", type=_POSITIVE, default=DEFAULT_BATCH_SIZE, help="messages per transaction"
    )
    copy.add_argument(
        "--progress", action="store_true", help="show a progress bar on stderr (default: on a terminal)"
    )
    copy.add_argument("--json", action="store_true", help="the report as one JSON object")
    copy.add_argument(
        "--source-archive-dir", help="the source's archive directory (default: beside a SQLite file)"
    )
    copy.add_argument(
        "--dest-archive-dir", help="where the archive files go (default: beside a SQLite destination)"
    )
    copy.set_defaults(handler=_copy)
    return parser


def _archive_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--archive-dir",
        type=Path,
        help="where archive files live (default: $MEMORY_ARCHIVE_DIR, else beside the SQLite file; "
        "required on PostgreSQL)",
    )


def _store_options(parser: argparse.ArgumentParser, *, default: Any) -> None:
    parser.add_argument(
        "--db",
        default=default,
        help=f"database URL or SQLite file path (default: $MEMORY_DATABASE_URL or {DEFAULT_URL}); on "
        "PostgreSQL, ?schema=NAME keeps memory in a schema of its own",
    )


def _model_option(parser: argparse.ArgumentParser, *, default: Any) -> None:
    parser.add_argument(
        "--model", default=default, help=f"embedding model of a new store (default: {DEFAULT_MODEL})"
    )


def _scope_options(parser: argparse.ArgumentParser, *, default: Any) -> None:
    parser.add_argument(
        "--user", type=_USER, default=default, help="act as this user: see and make only their memory"
    )
    parser.add_argument(
        "--agent", type=_AGENT, default=default, help="with --user: only this agent of theirs"
    )


def _after(*options: Callable[..., None]) -> argparse.ArgumentParser:
    """A parent parser with global options for after a command's name; their default leaves a value
    given before the name in place."""
    parent = argparse.ArgumentParser(add_help=False)
    for add in options:
        add(parent, default=argparse.SUPPRESS)
    return parent


class _Commands:
    """Subcommands that take the global options after their name too."""

    def __init__(self, commands: Any) -> None:
        self._commands = commands

    def add(
        self, name: str, *, scoped: bool = True, model: bool = True, store: bool = True, **options: Any
    ) -> argparse.ArgumentParser:
        chosen = [
            *([_store_options] if store else []),
            *([_model_option] if model else []),
            *([_scope_options] if scoped else []),
        ]
        parser: argparse.ArgumentParser = self._commands.add_parser(
            name, parents=[_after(*chosen)], **options
        )
        return parser

    def group(self, name: str, **options: Any) -> _Commands:
        actions = self._commands.add_parser(name, **options).add_subparsers(
            title=f"{name} commands", metavar="ACTION"
        )
        return _Commands(actions)


# -- opening the store -------------------------------------------------------------------------------


def _url(args: argparse.Namespace) -> str:
    return str(args.db or os.environ.get("MEMORY_DATABASE_URL") or DEFAULT_URL)


class _Store:
    """A manager on one engine, opened with the model that fits the store. A store that does not
    exist is an error that says what to run, unless the command `creates` one (import). Commands
    that only read (`writes=False`) never change a schema: a store not at the newest revision is
    an error that says to run `memory db upgrade`. Commands that write migrate one memory made, but
    not a database of another application (see `MemoryManager`'s `migrate`)."""

    def __init__(self, args: argparse.Namespace, *, writes: bool = False, creates: bool = False) -> None:
        if args.agent is not None and args.user is None:
            raise _UsageError("--agent needs --user")
        self._args = args
        self.engine = create_engine(_url(args), create=creates)
        try:
            ensure_schema(self.engine, migrate=None if writes else False)
            # An explicit --model wins (and fails clearly if the store holds another model's vectors).
            model = args.model or self._stored_model() or os.environ.get("MEMORY_MODEL") or DEFAULT_MODEL
            archives = getattr(args, "archive_dir", None) or os.environ.get("MEMORY_ARCHIVE_DIR") or None
            self.manager = MemoryManager(
                self.engine, embedder=embedder_for(model), migrate=False, archive_dir=archives
            )
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

    @property
    def memory(self) -> MemoryFacade:
        """The manager, or with --user (and --agent) that user's scope."""
        if self._args.user is None:
            return self.manager
        return self.manager.scoped(self._args.user, self._args.agent)

    def __exit__(self, *exc_info: object) -> None:
        self.manager.close()
        self.engine.dispose()


def _with_engine(args: argparse.Namespace, action: Callable[[Engine], int], *, create: bool = False) -> int:
    engine = create_engine(_url(args), create=create)
    try:
        return action(engine)
    finally:
        engine.dispose()


def _new_file(args: argparse.Namespace) -> Path | None:
    """The SQLite file of the store when it does not exist yet (a command that fails leaves none)."""
    path = sqlite_file(database_url(_url(args)))
    return None if path is None or os.path.exists(path) else Path(path)


def _discard_if_empty(path: Path) -> None:
    """Remove a store file made by this run that holds no conversation (with its WAL and journal)."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            held = connection.execute("SELECT count(*) FROM conversations").fetchone()[0]
    except sqlite3.Error:  # not even migrated
        held = 0
    if held == 0:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


# -- commands ------------------------------------------------------------------------------------------


def _db_upgrade(args: argparse.Namespace) -> int:
    def run(engine: Engine) -> int:
        upgrade(engine, args.revision)
        return _db_current(args)

    return _with_engine(args, run, create=True)


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
    new_file = _new_file(args)
    try:
        with _Store(args, writes=True, creates=True) as store:
            bar = _ProgressBar(sys.stderr, label=f"importing {args.file.name}")
            summary = import_file(
                store.memory,
                args.file,
                format=args.format,
                strict=args.strict,
                include_do_not_remember=args.include_do_not_remember,
                progress=bar.update,
                batch_messages=args.batch_messages,
            )
            bar.close()
    except BaseException:
        if new_file is not None:
            _discard_if_empty(new_file)
        raise
    for problem in summary.problems:
        print(f"memory: skipped {problem}", file=sys.stderr)
    not_remembered = (
        f"; {summary.not_remembered} marked 'do not remember' left out (--include-do-not-remember)"
        if summary.not_remembered
        else ""
    )
    print(
        f"imported {summary.imported} conversations ({summary.messages} messages); "
        f"{summary.skipped} already present; {summary.failed} bad records skipped{not_remembered}"
    )
    return 0


_ORDER: dict[str, str] = {
    "hybrid": "ranked by meaning and words together (reciprocal rank fusion of the two rankings); "
    "cosine: closeness in meaning (1 = the same); words: full-text relevance",
    "vector": "ranked by cosine: closeness in meaning (1 = the same)",
    "text": "ranked by words: full-text relevance, higher is better (no model was run, so no cosine)",
}


def _search(args: argparse.Namespace) -> int:
    with _Store(args) as store:
        memory = store.memory
        hits = memory.search(
            args.query, args.k, mode=args.mode, conversation_id=args.conversation, roles=args.role
        )
    if args.json:
        for rank, hit in enumerate(hits, start=1):
            print(json.dumps(_hit_json(rank, hit), ensure_ascii=False))
        return 0
    if not hits:
        print("no matches")
        return 0
    width = shutil.get_terminal_size((100, 24)).columns
    for line in textwrap.wrap(f"{len(hits)} hits, {_ORDER[args.mode]}.", width):
        print(line)
    for rank, hit in enumerate(hits, start=1):
        print()
        print(_cut(_hit_heading(rank, hit), width))
        for line in _wrapped(_hit_text(hit), width - 5, args.lines):
            print(f"     {line}")
    return 0


def _conversations_list(args: argparse.Namespace) -> int:
    with _Store(args) as store:
        memory = store.memory
        conversations = memory.list_conversations(limit=args.limit, offset=args.offset)
        info = memory.conversation_info(c.id for c in conversations)
    listed = [info[c.id] for c in conversations if c.id in info]
    if args.json:
        for item in listed:
            print(json.dumps(_info_json(item), ensure_ascii=False))
        return 0
    _print_table(
        ["id", "updated", "messages", "title"],
        [[str(c.id), _when(c.updated_at), str(c.message_count), c.title or "(untitled)"] for c in listed],
    )
    return 0


def _conversations_show(args: argparse.Namespace) -> int:
    with _Store(args) as store:
        conversation = store.memory.get_conversation(args.id)
    if args.json:
        print(json.dumps(_conversation_json(conversation), ensure_ascii=False))
        return 0
    title = conversation.title or "(untitled)"
    print(f"# {title}  (id {conversation.id}, {len(conversation.messages)} messages)")
    for message in conversation.messages:
        print(f"\n[{_when(message.created_at)}] {message.role}:")
        print(message.content)
    return 0


def _export(args: argparse.Namespace) -> int:
    with _Store(args) as store:
        memory = store.memory
        if args.output is None:
            count = export_jsonl(memory, sys.stdout)
        else:
            count = _write_atomically(args.output, lambda out: export_jsonl(memory, out))
    print(f"exported {count} conversations", file=sys.stderr)
    return 0


def _stats(args: argparse.Namespace) -> int:
    with _Store(args) as store:
        stats = store.memory.stats()
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
        raise _UsageError("forget needs --user (and optionally --agent) or --conversation")
    with _Store(args, writes=True) as store:
        memory = store.memory
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


def _mcp(args: argparse.Namespace) -> int:
    try:
        from memory.integrations import mcp
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] not in ("mcp", "anyio", "pydantic"):
            raise
        return _fail(f"the MCP server needs the mcp extra: pip install 'memory[mcp]' ({exc})")
    import anyio

    new_file = _new_file(args)
    try:
        store = _Store(args, writes=True, creates=True)
    except BaseException:
        if new_file is not None:
            _discard_if_empty(new_file)
        raise
    with store:
        if new_file is not None:
            print(f"memory: created a new store at {new_file.resolve()}", file=sys.stderr)
        anyio.run(
            functools.partial(
                mcp.serve_stdio, store.memory, allow_forget=args.allow_forget, warm_up=store.manager.warm_up
            )
        )
    return 0


def _reindex(args: argparse.Namespace) -> int:
    if args.user is not None or args.agent is not None:
        raise _UsageError("reindex works on the whole store: leave out --user and --agent")
    target = embedder_for(args.target_model)
    with _Store(args, writes=True) as store:
        info = store.manager.reindex(target, batch_size=args.batch_size)
    print(f"space #{info.id} ({info.model}, {info.dimensions} dims) is active with {info.vectors} vectors")
    return 0


def _compact(args: argparse.Namespace) -> int:
    with _Store(args, writes=not args.dry_run) as store:
        bar = _ProgressBar(sys.stderr, label="compacting")
        report = store.memory.compact(dry_run=args.dry_run, progress=bar.update)
        bar.close()
    if args.json:
        print(json.dumps(dataclasses.asdict(report)))
        return 0
    verb = "would move" if report.dry_run else "moved"
    moved = ", ".join(f"{count} to {tier}" for tier, count in report.moved.items())
    print(f"{verb} {moved}")
    archived = "would be archived" if report.dry_run else f"archived in {report.archive_bytes} bytes"
    print(
        f"{report.conversations_archived} conversations ({report.messages_archived} messages) {archived}; "
        f"{report.skipped} skipped (changed meanwhile)"
    )
    print("now: " + ", ".join(f"{count} {tier}" for tier, count in report.tiers.items()))
    return 0


def _pin(args: argparse.Namespace) -> int:
    with _Store(args, writes=True) as store:
        conversation = store.memory.pin(args.id, pinned=not args.unpin)
    state = "pinned" if conversation.pinned else "unpinned"
    print(f"conversation {conversation.id} {state} (tier {conversation.tier})")
    return 0


def _restore(args: argparse.Namespace) -> int:
    ids = list(dict.fromkeys(args.ids))
    counts: list[int] = []
    with _Store(args, writes=True) as store:
        bar = _ProgressBar(sys.stderr, label="restoring")
        try:
            for conversation_id in ids:  # each one all or nothing; those before a failure stay back
                counts.append(store.memory.restore(conversation_id))
                if len(ids) > 1:
                    bar.update(len(counts), len(ids))
        finally:
            bar.close()
            if len(ids) > 1 and len(counts) < len(ids):
                print(f"restored {sum(1 for n in counts if n)} conversations before {ids[len(counts)]}")
    if len(ids) == 1:
        if counts[0]:
            print(f"conversation {ids[0]} is back in full with its {counts[0]} messages")
        else:
            print(f"conversation {ids[0]} was in full already: nothing to restore")
        return 0
    back = [n for n in counts if n]
    print(
        f"{len(back)} conversations back in full with {sum(back)} messages; "
        f"{len(counts) - len(back)} were in full already"
    )
    return 0


def _backup(args: argparse.Namespace) -> int:
    with _Store(args) as store:
        report = store.manager.backup(args.path)
    print(
        f"backed up to {report.path} ({report.database_bytes} bytes) with {report.archives} archive files "
        f"in {report.archive_dir}"
    )
    return 0


def _copy(args: argparse.Namespace) -> int:
    if args.user is not None or args.agent is not None:
        raise _UsageError("copy copies the whole store: leave out --user and --agent")
    show = args.progress or sys.stderr.isatty()
    bar = _ProgressBar(sys.stderr, label="copying") if show else None
    try:
        report = copy_store(
            args.source,
            args.dest,
            merge=args.merge,
            batch_size=args.batch_size,
            progress=None if bar is None else bar.update,
            source_archive_dir=args.source_archive_dir,
            dest_archive_dir=args.dest_archive_dir,
        )
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps({**dataclasses.asdict(report), "verified": report.verified}))
        return 0
    print(
        f"copied {report.conversations} conversations ({report.messages} messages, {report.vectors} "
        f"vectors) from {report.source} to {report.dest}; {report.skipped} were there already"
    )
    _print_table(
        ["table", "source rows", "dest rows", "checksum"],
        [
            [
                t.table,
                str(t.source_rows),
                str(t.dest_rows),
                t.source_checksum[:16] + ("" if t.ok else " DIFFERS"),
            ]
            for t in report.tables
        ],
    )
    print("verified: every table's count and checksum match")
    if report.archive_dir is not None:
        print(f"{report.archives_copied} archive files copied into {report.archive_dir}")
    elif report.archived:
        print(
            f"{report.archived} conversations are archived and their archive files were not copied "
            "(a merge, or no archive directory: give --source-archive-dir and --dest-archive-dir)"
        )
    return 0


# -- output --------------------------------------------------------------------------------------------


def _hit_json(rank: int, hit: SearchHit) -> dict[str, Any]:
    message = hit.message
    return {
        "rank": rank,
        "message_id": message.id,
        "conversation_id": message.conversation_id,
        "conversation_title": hit.conversation_title,
        "role": message.role,
        "created_at": message.created_at.isoformat(),
        "distance": None if math.isnan(hit.distance) else hit.distance,
        "score": None if math.isnan(hit.distance) else hit.score,
        "sources": sorted(hit.sources),
        "text_score": hit.text_score,
        "fusion_score": hit.fusion_score,
        "content": message.content,
    }


def _hit_heading(rank: int, hit: SearchHit) -> str:
    """`  3. vector+text  cosine 0.612  words  4.10  #57 Title of the conversation`"""
    cosine = "-" if math.isnan(hit.distance) else f"{hit.score:.3f}"
    words = "-" if hit.text_score is None else f"{hit.text_score:.2f}"
    found_by = "+".join(sorted(hit.sources))
    title = " ".join((hit.conversation_title or "(untitled)").split())
    scores = f"cosine {cosine:>5}  words {words:>5}"
    return f"{rank:3d}. {found_by:<11}  {scores}  #{hit.message.conversation_id} {title}"


def _hit_text(hit: SearchHit) -> str:
    """`[2026-01-13 05:05] user: the message`, as `conversations show` writes a message's heading."""
    return f"[{_when(hit.message.created_at)}] {hit.message.role}: {hit.message.content}"


def _wrapped(text: str, width: int, lines: int) -> list[str]:
    """`text` wrapped to `width` columns, cut to `lines` lines (0: all) with an ellipsis."""
    wrapped = textwrap.wrap(" ".join(text.split()), max(20, width)) or [""]
    if 0 < lines < len(wrapped):
        wrapped = wrapped[:lines]
        wrapped[-1] = _cut(wrapped[-1] + " …", max(20, width))
    return wrapped


def _cut(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def _info_json(info: ConversationInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "title": info.title,
        "message_count": info.message_count,
        "created_at": info.created_at.isoformat(),
        "updated_at": info.updated_at.isoformat(),
        "user_id": info.user_id,
        "agent_id": info.agent_id,
    }


def _conversation_json(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "source_id": conversation.source_id,
        "title": conversation.title,
        "metadata": conversation.meta,
        "created_at": conversation.created_at.isoformat(),
        "updated_at": conversation.updated_at.isoformat(),
        "user_id": conversation.user_id,
        "agent_id": conversation.agent_id,
        "messages": [
            {
                "id": message.id,
                "role": message.role,
                "content": message.content,
                "created_at": message.created_at.isoformat(),
                "metadata": message.meta,
            }
            for message in conversation.messages
        ],
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
    status = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        status = _reader_gone()
    sys.exit(status)
