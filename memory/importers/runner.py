"""Import a file of conversations into a `MemoryManager`, or a `MemoryScope` (which then owns what it
imports): streaming, idempotent (conversations keep their source id), bad records reported and
skipped, or with `strict` the first bad record aborts before anything is written. Conversations
their owner marked "do not remember" are left out (and counted) unless `include_do_not_remember`.

New conversations go in batches of about `batch_messages` messages: each batch is embedded in one
model call (on a worker thread, while the batch before it is written) and stored in one
transaction, so an interrupted import leaves only whole conversations, and running it again
carries on."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import IO, Final, Literal, TypeVar

from memory.errors import ValidationError
from memory.facade import MemoryFacade
from memory.importers.chatgpt import read_chatgpt
from memory.importers.jsonl import read_jsonl
from memory.importers.records import ImportRecord, RecordError
from memory.models import Conversation
from memory.validation import ConversationDraft, check_count, draft_conversation

Format = Literal["jsonl", "chatgpt"]
FORMATS: Final = ("jsonl", "chatgpt")
#: Messages embedded together, across conversations: enough that the model's own sorting by length
#: keeps padding small and the cost of each call vanishes (one call per conversation made the model
#: take 45% longer); few enough that the three batches alive at once stay small.
BATCH_MESSAGES: Final = 2048
_READERS: Final = {"jsonl": read_jsonl, "chatgpt": read_chatgpt}
# Records read ahead to look their source ids up in one query.
_LOOKUP_RECORDS: Final = 256
_Item = TypeVar("_Item")


class _Withheld(Enum):
    """A record the import leaves out by policy, not because it is bad."""

    NOT_REMEMBERED = "not remembered"


@dataclass(slots=True)
class ImportSummary:
    """What an import did: `skipped` counts conversations already present, `not_remembered` those
    marked "do not remember" and left out; `problems` lists each bad record with its location."""

    imported: int = 0
    skipped: int = 0
    failed: int = 0
    not_remembered: int = 0
    messages: int = 0
    problems: list[str] = field(default_factory=list)


def detect_format(path: Path) -> Format:
    """`.jsonl`/`.ndjson` files are JSON Lines; anything else is taken for a ChatGPT export."""
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "chatgpt"


def import_file(
    manager: MemoryFacade,
    path: str | Path,
    *,
    format: Format | None = None,
    strict: bool = False,
    include_do_not_remember: bool = False,
    progress: Callable[[int, int], None] | None = None,
    batch_messages: int = BATCH_MESSAGES,
) -> ImportSummary:
    """Import every conversation of `path`; `progress(bytes_done, total_bytes)` is called as it goes
    (bytes whose conversations are stored, skipped or reported).

    A conversation marked "do not remember" in a ChatGPT export is counted in `not_remembered` and
    left out, unless `include_do_not_remember` (its metadata then says `is_do_not_remember: true`)."""
    path = Path(path)
    batch_messages = check_count(batch_messages, "batch_messages", minimum=1)
    chosen = format or detect_format(path)
    if chosen not in _READERS:
        raise ValidationError(f"unknown import format {chosen!r}; choose one of {', '.join(FORMATS)}")
    try:
        total = path.stat().st_size
    except OSError as exc:
        raise ValidationError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    include = include_do_not_remember
    # With `strict`, a first pass checks every record and writes nothing, so a bad record cannot leave
    # half an import behind; the file is streamed, so the second pass checks each record again.
    if strict:
        for _ in _checked_records(manager, path, chosen, strict=True, include=include):
            pass
    summary = ImportSummary()
    with path.open("rb") as stream:
        records = _checked_records(manager, path, chosen, strict=strict, include=include, stream=stream)
        batches = _Batches(manager, records, summary, batch_messages, stream, progress, total)
        manager.add_conversation_batches(batches, skip_duplicates=True, on_batch=batches.written)
        if progress is not None:
            progress(stream.tell(), total)
    return summary


class _Batches:
    """The new conversations of a file in batches of at least `size` messages (the last may have
    fewer), counting on the way what is not imported; `written` counts a batch once it is stored.
    Progress is reported up to the end of the last stored batch, or of the last record read when
    nothing is waiting to be stored."""

    def __init__(
        self,
        manager: MemoryFacade,
        records: Iterator[ConversationDraft | RecordError | _Withheld],
        summary: ImportSummary,
        size: int,
        stream: IO[bytes],
        progress: Callable[[int, int], None] | None,
        total: int,
    ) -> None:
        self._manager, self._records, self._summary, self._size = manager, records, summary, size
        self._stream, self._progress, self._total = stream, progress, total
        self._pending: deque[tuple[int, list[ConversationDraft]]] = deque()
        self._queued: set[str] = set()  # source ids not yet stored: a second copy is a duplicate

    def __iter__(self) -> Iterator[list[ConversationDraft]]:
        summary, batch, messages = self._summary, list[ConversationDraft](), 0
        for window in _windows(self._read(), _LOOKUP_RECORDS):
            drafts = [item for item, _ in window if isinstance(item, ConversationDraft)]
            stored = self._manager.imported_source_ids(d.source_id for d in drafts if d.source_id is not None)
            for item, position in window:
                if isinstance(item, RecordError):
                    summary.failed += 1
                    summary.problems.append(str(item))
                elif item is _Withheld.NOT_REMEMBERED:
                    summary.not_remembered += 1
                elif item.source_id in stored or item.source_id in self._queued:
                    summary.skipped += 1
                else:
                    batch.append(item)
                    self._queued.add(item.source_id or "")
                    messages += len(item.messages)
                    if messages >= self._size:
                        yield self._cut(batch, position)
                        batch, messages = [], 0
                if not batch and not self._pending:
                    self._report(position)
        if batch:
            yield self._cut(batch, self._stream.tell())

    def _read(self) -> Iterator[tuple[ConversationDraft | RecordError | _Withheld, int]]:
        """Each record, with the position in the file just after it."""
        for item in self._records:
            yield item, self._stream.tell()

    def written(self, stored: list[Conversation | None]) -> None:
        """Count a batch `add_conversation_batches` stored (None: imported meanwhile elsewhere)."""
        position, drafts = self._pending.popleft()
        for draft, conversation in zip(drafts, stored, strict=True):
            self._queued.discard(draft.source_id or "")
            if conversation is None:
                self._summary.skipped += 1
            else:
                self._summary.imported += 1
                self._summary.messages += len(draft.messages)
        self._report(position)

    def _cut(self, batch: list[ConversationDraft], position: int) -> list[ConversationDraft]:
        self._pending.append((position, batch))
        return batch

    def _report(self, position: int) -> None:
        if self._progress is not None:
            self._progress(position, self._total)


def _windows(items: Iterator[_Item], size: int) -> Iterator[list[_Item]]:
    """`items` in lists of `size` (the last may be shorter)."""
    window: list[_Item] = []
    for item in items:
        window.append(item)
        if len(window) == size:
            yield window
            window = []
    if window:
        yield window


def _checked_records(
    manager: MemoryFacade,
    path: Path,
    format: Format,
    *,
    strict: bool,
    include: bool,
    stream: IO[bytes] | None = None,
) -> Iterator[ConversationDraft | RecordError | _Withheld]:
    """Each record of the file checked, a withheld one without checking (it is not stored)."""
    if stream is None:
        with path.open("rb") as own:
            yield from _checked_records(manager, path, format, strict=strict, include=include, stream=own)
        return
    for record in _READERS[format](stream):
        if isinstance(record, ImportRecord) and record.do_not_remember and not include:
            yield _Withheld.NOT_REMEMBERED
            continue
        item = _validated(manager, record) if isinstance(record, ImportRecord) else record
        if isinstance(item, RecordError) and strict:
            raise ValidationError(f"{path.name}: {item} (--strict: nothing was imported)")
        yield item


def _validated(manager: MemoryFacade, record: ImportRecord) -> ConversationDraft | RecordError:
    """The record checked once, by the manager's own rules, into the draft it will store; a bad
    record is reported with its location."""
    item = {
        "title": record.title,
        "metadata": record.metadata,
        "source_id": record.source_id,
        "created_at": record.created_at,
        "messages": record.messages or None,
    }
    try:
        return draft_conversation(item, manager.max_content_bytes)
    except ValidationError as exc:
        return RecordError(record.location, str(exc))
