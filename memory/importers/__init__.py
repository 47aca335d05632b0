"""Importers: JSON Lines and ChatGPT's data export, streamed into a `MemoryManager`."""

from memory.importers.chatgpt import read_chatgpt
from memory.importers.jsonl import read_jsonl
from memory.importers.records import ImportRecord, RecordError
from memory.importers.runner import BATCH_MESSAGES, FORMATS, ImportSummary, detect_format, import_file

__all__ = [
    "BATCH_MESSAGES",
    "FORMATS",
    "ImportRecord",
    "ImportSummary",
    "RecordError",
    "detect_format",
    "import_file",
    "read_chatgpt",
    "read_jsonl",
]
