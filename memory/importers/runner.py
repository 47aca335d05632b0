"""Import a file of conversations into a `MemoryManager`, or a `MemoryScope` (which then owns what it
imports): streaming, one transaction per conversation, idempotent (conversations keep their source
id), bad records reported and skipped, or with `strict` the first bad record aborts before anything
is written. Conversations their owner marked "do not remember" are left out (and counted) unless
`include_do_not_remember`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import IO, Final, Literal

from memory.errors import DuplicateError, ValidationError
from memory.facade import MemoryFacade
from memory.importers.chatgpt import read_chatgpt
from memory.importers.jsonl import read_jsonl
from memory.importers.records import ImportRecord, RecordError
from memory.validation import ConversationDraft, draft_conversation

Format = Literal["jsonl", "chatgpt"]
FORMATS: Final = ("jsonl", "chatgpt")
_READERS: Final = {"jsonl": read_jsonl, "chatgpt": read_chatgpt}


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
) -> ImportSummary:
    """Import every conversation of `path`; `progress(bytes_read, total_bytes)` is called as it goes.

    A conversation marked "do not remember" in a ChatGPT export is counted in `not_remembered` and
    left out, unless `include_do_not_remember` (its metadata then says `is_do_not_remember: true`)."""
    path = Path(path)
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
        for item in _checked_records(manager, path, chosen, strict=strict, include=include, stream=stream):
            if isinstance(item, RecordError):
                summary.failed += 1
                summary.problems.append(str(item))
            elif item is _Withheld.NOT_REMEMBERED:
                summary.not_remembered += 1
            else:
                _import_one(manager, item, summary)
            if progress is not None:
                progress(stream.tell(), total)
    return summary


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


def _import_one(manager: MemoryFacade, draft: ConversationDraft, summary: ImportSummary) -> None:
    assert draft.source_id is not None
    if manager.find_conversation(draft.source_id) is not None:
        summary.skipped += 1
        return
    try:
        manager.add_conversations([draft])
    except DuplicateError:  # imported meanwhile by another process
        summary.skipped += 1
        return
    summary.imported += 1
    summary.messages += len(draft.messages)
