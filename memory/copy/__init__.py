"""Copying a whole store into another database: `copy_store` (see `memory.copy.copier`)."""

from memory.copy.checksums import TableCheck
from memory.copy.copier import DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, CopyReport, copy_store

__all__ = ["DEFAULT_BATCH_SIZE", "MAX_BATCH_SIZE", "CopyReport", "TableCheck", "copy_store"]
