"""Pausing Python's cyclic garbage collector around bulk writes.

A bulk load allocates a few container objects per message (drafts, parameter tuples); every 700
allocations the collector runs, and its full passes walk every live object of the process. In a
process that holds two million objects, a million-message load ran at 48k messages/s with the
collector on and 59k with it paused (bench notes in README). The pause covers one call and is
process-wide, like the collector itself: nested and concurrent calls are counted, and the collector
is switched back on (if it was on) when the last one ends. Reference counting still frees memory
as usual meanwhile; only cycles wait.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Iterator, Sized
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Final

#: Work on at least this many rows pauses the collector; a chat turn's few rows leave it alone (they
#: allocate too little to trigger more than a young-generation pass, and the pause is process-wide).
BULK_ROWS: Final = 32


class _Pauses:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.was_enabled = False


_PAUSES: Final = _Pauses()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector for the duration of the block (never around a model: only around the
    Python work of validating and writing a batch)."""
    with _PAUSES.lock:
        if _PAUSES.depth == 0:
            _PAUSES.was_enabled = gc.isenabled()
            gc.disable()
        _PAUSES.depth += 1
    try:
        yield
    finally:
        with _PAUSES.lock:
            _PAUSES.depth -= 1
            if _PAUSES.depth == 0 and _PAUSES.was_enabled:
                gc.enable()


def paused_for(rows: int | Iterable[Any]) -> AbstractContextManager[None]:
    """The pause policy of the package, in one place: `collector_paused()` around bulk work (`rows`
    rows, or an iterable of them whose length is unknown or at least `BULK_ROWS`), nothing else."""
    count = rows if isinstance(rows, int) else len(rows) if isinstance(rows, Sized) else BULK_ROWS
    return collector_paused() if count >= BULK_ROWS else nullcontext()
