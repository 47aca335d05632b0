"""Engine and session set-up: a SQLite driver that can load sqlite-vec, and sane transactions.

Every pooled SQLite connection gets vec0 loaded (then extension loading switched off again), foreign
keys on, a busy timeout, and, for files, WAL. The driver's legacy transaction handling is replaced by
explicit BEGINs so SAVEPOINTs and DDL stay inside their transaction.

On PostgreSQL, a `schema` puts memory in a schema of its own: every connection's search path starts
with it, so every table, index and statement of memory (the ORM's, the migrations', the pgvector and
full-text SQL) lands there and reads from there, without one qualified name in the code.
"""

from __future__ import annotations

import importlib
import os
import re
import sqlite3
from types import ModuleType
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from memory.errors import ExtensionError, NotFoundError, ValidationError
from memory.identifiers import schema_name
from memory.sqlite_limits import apply_limits
from memory.transactions import BEGIN_OPTION, begin

DEFAULT_URL: Final = "sqlite:///memory.db"
#: The URL query parameter that carries the PostgreSQL schema (`...?schema=memory`).
SCHEMA_PARAMETER: Final = "schema"
#: The engine execution option under which the schema is kept (see `store_schema`).
_SCHEMA_OPTION: Final = "memory_schema"
_URL_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")

#: SQLite's length limits: one string or blob (vec0 chunks of 4096-dim vectors take 16 MiB), and the
#: text of one statement.
DEFAULT_MAX_VALUE_BYTES: Final = 64 * 1024 * 1024
DEFAULT_MAX_SQL_BYTES: Final = 1024 * 1024
_MIN_LIMIT_BYTES: Final = 64 * 1024
_MAX_LIMIT_BYTES: Final = 1_000_000_000  # SQLite's compiled-in ceiling

_PAGE_SIZES: Final = frozenset(2**n for n in range(9, 17))  # 512 .. 65536, SQLite's allowed sizes
_JOURNAL_MODES: Final = frozenset({"WAL", "DELETE", "TRUNCATE", "PERSIST", "MEMORY", "OFF"})
_SYNCHRONOUS: Final = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})

#: A server engine's connection pool, per process (SQLAlchemy's own defaults, made explicit): each
#: process holds up to POOL_SIZE idle connections and opens up to MAX_OVERFLOW more under load; a
#: call waits up to POOL_TIMEOUT seconds for one, and a new connection up to CONNECT_TIMEOUT.
DEFAULT_POOL_SIZE: Final = 5
DEFAULT_MAX_OVERFLOW: Final = 10
DEFAULT_POOL_TIMEOUT: Final = 30.0
DEFAULT_CONNECT_TIMEOUT: Final = 10


def database_url(location: str | os.PathLike[str] | URL) -> URL:
    """A database URL, or a plain file path (`memory.db`, `~/notes/memory.db`) taken as a SQLite
    file."""
    if isinstance(location, URL):
        return location
    text = os.fspath(location)
    if not isinstance(text, str):
        raise ValidationError(f"a database is a URL or a file path, not {location!r}")
    if _URL_SCHEME.match(text):
        return sa.make_url(text)
    if not text.strip():
        raise ValidationError("a database is a URL or a file path, not an empty string")
    return URL.create("sqlite", database=os.path.expanduser(text))


def sqlite_file(url: URL) -> str | None:
    """The file of a SQLite URL (None for an in-memory database, or another backend)."""
    return _database_path(url) if url.get_backend_name() == "sqlite" else None


def create_engine(
    url: str | os.PathLike[str] | URL = DEFAULT_URL,
    *,
    busy_timeout_ms: int = 5000,
    journal_mode: str = "WAL",
    synchronous: str = "NORMAL",
    cache_size_kib: int = 32768,
    wal_autocheckpoint: int = 8192,
    page_size: int = 16384,
    max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
    max_sql_bytes: int = DEFAULT_MAX_SQL_BYTES,
    schema: str | None = None,
    create: bool = True,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    pool_timeout: float | None = None,
    connect_timeout: int | None = None,
    **options: Any,
) -> Engine:
    """Create an engine for `url`; for SQLite, one whose every connection has vec0 loaded.

    `url` may be a plain file path, taken as a SQLite file; `create=False` refuses a SQLite file
    that does not exist (`NotFoundError`) instead of creating it. `schema` (PostgreSQL only; or
    `?schema=NAME` in the URL) keeps every table of memory in that schema, created by the first
    migration; the host application's own tables in the same database are neither seen nor touched.

    `journal_mode`, `synchronous` and `wal_autocheckpoint` (pages) apply to file databases only;
    `page_size` to databases created by this engine (16 KiB: bulk loads of a million messages ran
    16% faster than with SQLite's 4 KiB, bench notes in README);
    `cache_size_kib` is each connection's page cache. Larger than SQLite's defaults (2 MiB, 1000
    pages): a bulk load of 500k messages ran 30% faster (bench notes in README). `max_value_bytes`
    and `max_sql_bytes` are SQLite's length limits for one string or blob and one statement, lowered
    from 1 GB so that no single value can exhaust memory.

    A server (PostgreSQL) engine keeps a pool of `pool_size` connections (default 5) and opens up to
    `max_overflow` more (10) under load; a call that finds all of them busy waits `pool_timeout`
    seconds (30) and then raises `DatabaseBusyError`; connecting gives up after `connect_timeout`
    seconds (10). Keep (pool_size + max_overflow) x processes under the server's max_connections.
    Each checkout pings its connection first (a `;` round trip), so connections that a server
    restart killed are replaced unseen: while the server is down calls raise
    `DatabaseUnavailableError`, and the first call after it is back succeeds. Other keyword options
    go to `sqlalchemy.create_engine`.
    """
    url, schema = _split_schema(database_url(url), schema)
    pool = _pool_options(pool_size, max_overflow, pool_timeout, connect_timeout)
    if url.get_backend_name() != "sqlite":
        return _server_engine(url, schema, _with_pool(url, options, pool, connect_timeout))
    if connect_timeout is not None:
        raise ValidationError("connect_timeout applies to database servers; SQLite has busy_timeout_ms")
    options = {**pool, **options}  # SQLite keeps SQLAlchemy's pool defaults; only what is given
    if schema is not None:
        raise ValidationError(f"schema={schema!r} applies to PostgreSQL only; SQLite has no schemas")
    settings = _SqliteSettings(
        busy_timeout_ms,
        journal_mode,
        synchronous,
        cache_size_kib,
        wal_autocheckpoint,
        max_value_bytes,
        max_sql_bytes,
        page_size,
    )
    options.setdefault("module", _extension_capable_sqlite_module())
    path = _database_path(url)
    if path is not None and not create and not os.path.exists(path):
        raise NotFoundError(
            f"no memory store at {path}: `memory import FILE` or `memory db upgrade` creates one"
        )
    if path is not None:
        _create_private_file(path)
    engine = sa.create_engine(url, **options)
    _install_sqlite_listeners(engine, settings, is_file=path is not None)
    return engine


def session_factory(engine: Engine, *, write: bool = False) -> sessionmaker[Session]:
    """A `sessionmaker` for `engine` whose objects stay usable after commit.

    With `write=True` on SQLite, each transaction starts with BEGIN IMMEDIATE: it waits for the write
    lock up front, so read-then-write transactions from several processes queue instead of failing
    with "database is locked".
    """
    bind = engine.execution_options(**{BEGIN_OPTION: "immediate"}) if write else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


def store_schema(engine: Engine) -> str | None:
    """The PostgreSQL schema memory's tables live in on `engine` (None: the database's default)."""
    schema = engine.get_execution_options().get(_SCHEMA_OPTION)
    return schema if isinstance(schema, str) else None


def _split_schema(url: URL, schema: str | None) -> tuple[URL, str | None]:
    """The URL without its `schema` parameter (no driver knows it), and the one schema asked for."""
    given = url.query.get(SCHEMA_PARAMETER)
    if given is not None:
        url = url.difference_update_query([SCHEMA_PARAMETER])
        if not isinstance(given, str) or (schema is not None and schema != given):
            raise ValidationError(f"the URL asks for schema {given!r} and the call for {schema!r}")
        schema = given
    return url, None if schema is None else schema_name(schema)


def _pool_options(
    pool_size: int | None, max_overflow: int | None, pool_timeout: float | None, connect_timeout: int | None
) -> dict[str, Any]:
    """The pool options given (not None), each checked, and `connect_timeout` checked."""
    for name, value, low in (
        ("pool_size", pool_size, 1),
        ("max_overflow", max_overflow, 0),
        ("connect_timeout", connect_timeout, 1),
    ):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise ValidationError(f"{name} must be an int of at least {low}, not {value!r}")
    if pool_timeout is not None and (
        isinstance(pool_timeout, bool) or not isinstance(pool_timeout, int | float) or not pool_timeout > 0
    ):
        raise ValidationError(f"pool_timeout must be a positive number of seconds, not {pool_timeout!r}")
    given = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout}
    return {name: value for name, value in given.items() if value is not None}


def _with_pool(
    url: URL, options: dict[str, Any], pool: dict[str, Any], connect_timeout: int | None
) -> dict[str, Any]:
    """`options` with the pool's settings (the defaults where not given) and a ping per checkout;
    a pool class of the caller's own takes only what was given."""
    if "poolclass" in options:
        return {**pool, **options}
    options = {
        "pool_size": DEFAULT_POOL_SIZE,
        "max_overflow": DEFAULT_MAX_OVERFLOW,
        "pool_timeout": DEFAULT_POOL_TIMEOUT,
        # A connection a server restart killed is noticed at checkout and replaced, instead of
        # failing the first call that gets it.
        "pool_pre_ping": True,
        **pool,
        **options,
    }
    if url.get_backend_name() == "postgresql":
        timeout = DEFAULT_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        options["connect_args"] = {"connect_timeout": timeout, **options.get("connect_args", {})}
    return options


def _server_engine(url: URL, schema: str | None, options: dict[str, Any]) -> Engine:
    if schema is None:
        return sa.create_engine(url, **options)
    if url.get_backend_name() != "postgresql":
        raise ValidationError(f"schema={schema!r} applies to PostgreSQL only, not {url.get_backend_name()}")
    options["execution_options"] = {**options.get("execution_options", {}), _SCHEMA_OPTION: schema}
    engine = sa.create_engine(url, **options)

    # First (insert=True: before the dialect looks at its first connection): the schema heads the
    # search path, ahead of the database's own path, which keeps finding pgvector's type wherever
    # it is installed. A session setting, so it outlives the pool's rollbacks.
    @event.listens_for(engine, "connect", insert=True)
    def _search_schema_first(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(
                "SELECT set_config('search_path', quote_ident(%s) || ', ' || current_setting('search_path'), "
                "false)",
                (schema,),
            )
        finally:
            cursor.close()
        dbapi_connection.commit()

    return engine


class _SqliteSettings:
    def __init__(
        self,
        busy_timeout_ms: int,
        journal_mode: str,
        synchronous: str,
        cache_size_kib: int,
        wal_autocheckpoint: int,
        max_value_bytes: int,
        max_sql_bytes: int,
        page_size: int,
    ) -> None:
        for name, value, low in (
            ("busy_timeout_ms", busy_timeout_ms, 0),
            ("cache_size_kib", cache_size_kib, 0),
            ("wal_autocheckpoint", wal_autocheckpoint, 0),
            ("max_value_bytes", max_value_bytes, _MIN_LIMIT_BYTES),
            ("max_sql_bytes", max_sql_bytes, _MIN_LIMIT_BYTES),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= _MAX_LIMIT_BYTES:
                raise ValidationError(f"{name} must be an int from {low} to {_MAX_LIMIT_BYTES}: {value!r}")
        if not isinstance(page_size, int) or isinstance(page_size, bool) or page_size not in _PAGE_SIZES:
            raise ValidationError(f"page_size must be one of {sorted(_PAGE_SIZES)}, not {page_size!r}")
        if journal_mode.upper() not in _JOURNAL_MODES:
            raise ValidationError(
                f"journal_mode must be one of {sorted(_JOURNAL_MODES)}, not {journal_mode!r}"
            )
        if synchronous.upper() not in _SYNCHRONOUS:
            raise ValidationError(f"synchronous must be one of {sorted(_SYNCHRONOUS)}, not {synchronous!r}")
        self.busy_timeout_ms = busy_timeout_ms
        self.cache_size_kib = cache_size_kib
        self.wal_autocheckpoint = wal_autocheckpoint
        self.journal_mode = journal_mode.upper()
        self.synchronous = synchronous.upper()
        self.max_value_bytes = max_value_bytes
        self.max_sql_bytes = max_sql_bytes
        self.page_size = page_size


def _install_sqlite_listeners(engine: Engine, settings: _SqliteSettings, *, is_file: bool) -> None:
    # Pragma values cannot be bound; every one below comes from an allow-list or a validated int.
    pragmas = [
        # Before anything else, and a no-op once the database has its first table.
        f"PRAGMA page_size={settings.page_size:d}",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={settings.busy_timeout_ms:d}",
        f"PRAGMA cache_size=-{settings.cache_size_kib:d}",
        # Deleted content is overwritten with zeros as it is freed (cells, pages, and what a page
        # keeps of cells moved out of it), so a deleted text leaves no copy behind: `forget`
        # relies on it, and it must hold from the first write, not only from the forgetting one.
        "PRAGMA secure_delete=ON",
    ]
    if is_file:
        pragmas += [
            f"PRAGMA journal_mode={settings.journal_mode}",
            f"PRAGMA synchronous={settings.synchronous}",
            f"PRAGMA wal_autocheckpoint={settings.wal_autocheckpoint:d}",
        ]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Autocommit at the driver level; the "begin" listener below issues BEGIN itself.
        dbapi_connection.isolation_level = None
        _load_vec0(dbapi_connection)
        apply_limits(
            dbapi_connection, max_value_bytes=settings.max_value_bytes, max_sql_bytes=settings.max_sql_bytes
        )
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()

    # Explicit BEGINs, recording what the transaction knows about itself (see memory.transactions).
    event.listen(engine, "begin", begin)


def _load_vec0(dbapi_connection: Any) -> None:
    import sqlite_vec

    dbapi_connection.enable_load_extension(True)
    try:
        sqlite_vec.load(dbapi_connection)
    except Exception as exc:
        raise ExtensionError(f"could not load sqlite-vec into SQLite: {exc}") from exc
    finally:
        # Left on, any SQL injection could call load_extension() and run native code.
        dbapi_connection.enable_load_extension(False)


def _extension_capable_sqlite_module() -> ModuleType:
    if _can_load_extensions(sqlite3):
        return sqlite3
    try:
        pysqlite3 = importlib.import_module("pysqlite3.dbapi2")
    except ImportError:
        pysqlite3 = None
    if pysqlite3 is not None and _can_load_extensions(pysqlite3):
        return pysqlite3
    raise ExtensionError(
        "this Python's sqlite3 module cannot load extensions, and pysqlite3 is not installed: "
        "`pip install pysqlite3` (or use a Python built with loadable SQLite extensions)"
    )


def _can_load_extensions(module: Any) -> bool:
    connection = module.connect(":memory:")
    try:
        return hasattr(connection, "enable_load_extension")
    finally:
        connection.close()


def _database_path(url: URL) -> str | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _create_private_file(path: str) -> None:
    """Create an empty database file readable by its owner only; SQLite gives its WAL and SHM files
    the same mode."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise ValidationError(f"cannot create database file {path!r}: {exc.strerror}") from exc
    os.close(fd)
