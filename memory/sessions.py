"""The facade's transactions: one short transaction per call, read or write, driver errors translated.

A write transaction starts with BEGIN IMMEDIATE on SQLite (see `memory.transactions`): writers queue
for the lock (up to the busy timeout) instead of failing midway.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from memory.engine import session_factory
from memory.errors import translate_database_errors


class Transactions:
    """Opens read and write transactions on `engine`; objects stay usable after commit."""

    def __init__(self, engine: Engine) -> None:
        self._read = session_factory(engine)
        self._write = session_factory(engine, write=True)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with translate_database_errors("read the memory store"), self._read() as session, session.begin():
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        with (
            translate_database_errors("write to the memory store"),
            self._write() as session,
            session.begin(),
        ):
            yield session
