"""Per-connection SQLite length limits, so that no single value or statement can exhaust memory.

SQLite's compiled-in limits let one string or blob reach 1 GB; a hostile `zeroblob()` or `printf()`
smuggled into a query could make the process allocate that much. The stdlib driver (Python 3.11+) has
`Connection.setlimit`; pysqlite3 has no such method, so for the versions whose connection object we
know (its `sqlite3 *` right after the object header) `sqlite3_limit` is called through ctypes on the
copy of SQLite that pysqlite3 bundles. The handle is confirmed first: SQLite must report the same
file name for it as `PRAGMA database_list` does for the connection.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import importlib.metadata
from typing import Any, Final

from memory.errors import ExtensionError

LIMIT_LENGTH: Final = 0  # SQLITE_LIMIT_LENGTH: bytes in one string or blob (and one row)
LIMIT_SQL_LENGTH: Final = 1  # SQLITE_LIMIT_SQL_LENGTH: bytes of one SQL statement's text

#: pysqlite3 releases whose Connection starts `PyObject_HEAD; sqlite3 *db;` (checked in the source).
_KNOWN_PYSQLITE3: Final = ("0.5.", "0.6.")


def apply_limits(dbapi_connection: Any, *, max_value_bytes: int, max_sql_bytes: int) -> None:
    """Lower this connection's limits on value and statement size; raise if that is impossible."""
    for limit, value in ((LIMIT_LENGTH, max_value_bytes), (LIMIT_SQL_LENGTH, max_sql_bytes)):
        _set_limit(dbapi_connection, limit, value)
    if current_limit(dbapi_connection, LIMIT_LENGTH) != max_value_bytes:
        raise ExtensionError("SQLite did not take the length limit")


def current_limit(dbapi_connection: Any, limit: int) -> int:
    """The connection's current value of `limit`."""
    if hasattr(dbapi_connection, "getlimit"):
        return int(dbapi_connection.getlimit(limit))
    return int(_pysqlite3_library().sqlite3_limit(_pysqlite3_handle(dbapi_connection), limit, -1))


def _set_limit(dbapi_connection: Any, limit: int, value: int) -> None:
    if hasattr(dbapi_connection, "setlimit"):
        dbapi_connection.setlimit(limit, value)
        return
    _pysqlite3_library().sqlite3_limit(_pysqlite3_handle(dbapi_connection), limit, value)


@functools.cache
def _pysqlite3_library() -> ctypes.CDLL:
    version = importlib.metadata.version("pysqlite3")
    if not version.startswith(_KNOWN_PYSQLITE3):
        raise ExtensionError(
            f"cannot set SQLite length limits with pysqlite3 {version} (known: {_KNOWN_PYSQLITE3}); "
            "use a Python whose sqlite3 module has setlimit and can load extensions"
        )
    extension = importlib.import_module("pysqlite3._sqlite3")
    library = ctypes.CDLL(str(extension.__file__))  # already loaded: the same copy of SQLite
    library.sqlite3_limit.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    library.sqlite3_limit.restype = ctypes.c_int
    library.sqlite3_db_filename.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    library.sqlite3_db_filename.restype = ctypes.c_char_p
    return library


def _pysqlite3_handle(dbapi_connection: Any) -> int:
    module = type(dbapi_connection).__module__
    if not module.startswith("pysqlite3"):
        raise ExtensionError(f"cannot set SQLite length limits on a {module} connection")
    handle = ctypes.c_void_p.from_address(id(dbapi_connection) + object.__basicsize__).value
    if not handle:
        raise ExtensionError("the pysqlite3 connection is closed")
    cursor = dbapi_connection.execute("PRAGMA database_list")
    try:
        expected = next(row[2] for row in cursor.fetchall() if row[1] == "main") or ""
    finally:
        cursor.close()
    reported = _pysqlite3_library().sqlite3_db_filename(handle, b"main") or b""
    if reported.decode() != expected:
        raise ExtensionError("pysqlite3's connection layout is not the one expected; limits not set")
    return handle
