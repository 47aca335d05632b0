"""One error hierarchy for the whole package.

Every error `memory` raises is a `MemoryStoreError`. Driver errors are translated in one place,
`translate_database_errors`, and keep the original exception as `__cause__`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, TypeVar

from sqlalchemy import exc as sa_exc

_Class = TypeVar("_Class", bound=type)
#: What a unique violation means, by the index it names (the message says it in those words).
_DUPLICATES: Final = {"uq_conversations_owner_source": "a conversation with that source id already exists"}
#: SQLSTATEs of a lost server: connection exceptions (class 08), and the server shutting down or
#: starting up (admin_shutdown, crash_shutdown, cannot_connect_now).
_UNREACHABLE_STATES: Final = ("08", "57P01", "57P02", "57P03")
#: What the pool raises when no connection frees up within pool_timeout (not a driver error).
_PoolTimeout: Final = sa_exc.TimeoutError


class MemoryStoreError(Exception):
    """Base class of every error raised by `memory`."""


class ValidationError(MemoryStoreError, ValueError):
    """An argument was rejected before anything was written."""


class DimensionMismatchError(ValidationError):
    """A vector's length differs from its embedding space's dimensions."""


class NotFoundError(MemoryStoreError, LookupError):
    """A conversation, message or embedding space with that id does not exist."""


class ExtensionError(MemoryStoreError):
    """The sqlite-vec extension cannot be loaded by any available SQLite driver."""


class SchemaError(MemoryStoreError):
    """The database is not migrated, or is behind the package's head revision."""


class EmbeddingSpaceError(MemoryStoreError):
    """The embedder does not match the vectors already stored in the active space."""


class EmbedderError(MemoryStoreError):
    """The embedding model could not be found, loaded or run."""


class ArchiveError(MemoryStoreError):
    """An archive file is missing, truncated, corrupted, or of an unknown format."""


class DestinationNotEmptyError(ValidationError):
    """A copy's destination holds data of its own (not an unfinished copy of the source), and no
    merge was asked for."""


class DatabaseError(MemoryStoreError):
    """The database failed in a way no more specific error describes."""


class DatabaseBusyError(DatabaseError):
    """Another connection held the write lock for longer than the busy timeout."""


class DatabaseUnavailableError(DatabaseError):
    """The database server could not be reached, or dropped the connection (stopped, restarting,
    network down). Nothing to repair: the next call reconnects once the server is back."""


class IntegrityViolationError(DatabaseError):
    """A write broke a constraint (unknown foreign key, duplicate id, invalid role)."""


class CopyVerificationError(DatabaseError):
    """A copy's destination does not hold what its source holds (counts or checksums differ)."""


class DuplicateError(IntegrityViolationError):
    """Something with that identity (e.g. a conversation's source id) is already stored."""


@contextmanager
def translate_database_errors(action: str) -> Iterator[None]:
    """Re-raise SQLAlchemy/driver errors raised inside the block as `MemoryStoreError` subclasses.

    `action` completes the sentence "could not ..." in the message.
    """
    try:
        yield
    except (sa_exc.DBAPIError, _PoolTimeout) as exc:
        raise translated_error(exc, action) from exc


def translated_error(exc: sa_exc.DBAPIError | sa_exc.TimeoutError, action: str) -> MemoryStoreError:
    """The package's error for a driver (or connection pool) error met while trying to `action`."""
    if not isinstance(exc, sa_exc.DBAPIError):
        return DatabaseBusyError(
            f"could not {action}: every connection of the pool stayed in use for longer than its "
            f"pool_timeout ({exc}); retry, or raise pool_size, max_overflow or pool_timeout in "
            "create_engine() or MemoryManager()"
        )
    text = _driver_message(exc)
    if _is_unreachable(exc):
        return DatabaseUnavailableError(
            f"could not {action}: the database server is unreachable ({text}); check that it is "
            "running and that the URL's host and port are right. Nothing needs restarting: the next "
            "call reconnects once the server is back"
        )
    if isinstance(exc, sa_exc.IntegrityError):
        if _is_unique_violation(exc, text):
            return DuplicateError(f"could not {action}: {_duplicate_message(text)}")
        return IntegrityViolationError(f"could not {action}: {text}")
    if isinstance(exc, sa_exc.OperationalError):
        if "UNIQUE constraint failed" in text:  # vec0 reports its primary-key violations this way
            return DuplicateError(f"could not {action}: {text}")
        if "constraint failed" in text:
            return IntegrityViolationError(f"could not {action}: {text}")
        if "locked" in text or "busy" in text:
            return DatabaseBusyError(
                f"could not {action}: the database stayed locked by another writer for longer than the "
                f"busy timeout ({text}); retry, or raise busy_timeout in create_engine()"
            )
        if "no such table" in text or "does not exist" in text:
            return SchemaError(
                f"could not {action}: {text}; the database is not migrated: run `memory db upgrade` "
                "or memory.upgrade(url)"
            )
    if "file is not a database" in text or "malformed" in text:
        return DatabaseError(
            f"could not {action}: {text}; it is not a SQLite database, or it is damaged: restore it "
            "from a backup (or check the path)"
        )
    return DatabaseError(f"could not {action}: {text}")


def translates_errors(noun: str) -> Callable[[_Class], _Class]:
    """Class decorator for repositories: every public method runs inside `translate_database_errors`,
    so a repository used on a plain `Session` raises this package's errors as the facade does."""

    def decorate(cls: _Class) -> _Class:
        for name, attribute in list(vars(cls).items()):
            if not name.startswith("_") and callable(attribute):
                setattr(cls, name, _translating(attribute, f"run {noun}.{name}"))
        return cls

    return decorate


def _translating(method: Callable[..., Any], action: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def translated(*args: Any, **kwargs: Any) -> Any:
        try:  # not the context manager: repositories are on every call's path, and it costs 2 us more
            return method(*args, **kwargs)
        except (sa_exc.DBAPIError, _PoolTimeout) as exc:
            raise translated_error(exc, action) from exc

    return translated


def _is_unreachable(exc: sa_exc.DBAPIError) -> bool:
    """A server driver's error (psycopg's carry a SQLSTATE attribute; SQLite's none) that says the
    server is gone: a connection SQLAlchemy saw die, a connection SQLSTATE, or a failed connect
    (psycopg's OperationalError without a SQLSTATE)."""
    if not hasattr(exc.orig, "sqlstate"):
        return False
    state = getattr(exc.orig, "sqlstate", None)
    if exc.connection_invalidated or (isinstance(state, str) and state.startswith(_UNREACHABLE_STATES)):
        return True
    return state is None and isinstance(exc, sa_exc.OperationalError)


def _is_unique_violation(exc: sa_exc.DBAPIError, text: str) -> bool:
    # SQLite says so in its message; PostgreSQL (psycopg) gives SQLSTATE 23505.
    return "UNIQUE constraint failed" in text or getattr(exc.orig, "sqlstate", None) == "23505"


def _duplicate_message(text: str) -> str:
    for column, meaning in _DUPLICATES.items():
        if column in text:
            return meaning
    return text


def _driver_message(exc: sa_exc.DBAPIError) -> str:
    return str(exc.orig).strip() or type(exc.orig).__name__
