"""memory: a durable, searchable memory of an AI assistant's conversations."""

from memory.bulkload import BulkLoadReport
from memory.conversations import ConversationInfo
from memory.copy import CopyReport, TableCheck, copy_store
from memory.embedding import Embedder, FakeEmbedder, SentenceTransformerEmbedder
from memory.engine import create_engine, session_factory
from memory.errors import (
    ArchiveError,
    CopyVerificationError,
    DatabaseBusyError,
    DatabaseError,
    DatabaseUnavailableError,
    DestinationNotEmptyError,
    DimensionMismatchError,
    DuplicateError,
    EmbedderError,
    EmbeddingSpaceError,
    ExtensionError,
    IntegrityViolationError,
    MemoryStoreError,
    NotFoundError,
    SchemaError,
    ValidationError,
)
from memory.lifecycle.backup import BackupReport
from memory.lifecycle.compact import CompactionReport
from memory.lifecycle.forget import ForgetReport
from memory.lifecycle.retention import RetentionPolicy
from memory.lifecycle.summarize import Digest, ExtractiveSummarizer, Summarizer
from memory.manager import MemoryManager
from memory.migration import downgrade, upgrade
from memory.models import Base, Conversation, EmbeddingSpace, Message
from memory.owners import Owner
from memory.scope import MemoryScope
from memory.search import SEARCH_MODES, SearchHit, SearchMode
from memory.spaces import SpaceInfo
from memory.vectors import VectorRepository, VectorRow

__all__ = [
    "SEARCH_MODES",
    "ArchiveError",
    "BackupReport",
    "Base",
    "BulkLoadReport",
    "CompactionReport",
    "Conversation",
    "ConversationInfo",
    "CopyReport",
    "CopyVerificationError",
    "DatabaseBusyError",
    "DatabaseError",
    "DatabaseUnavailableError",
    "DestinationNotEmptyError",
    "Digest",
    "DimensionMismatchError",
    "DuplicateError",
    "Embedder",
    "EmbedderError",
    "EmbeddingSpace",
    "EmbeddingSpaceError",
    "ExtensionError",
    "ExtractiveSummarizer",
    "FakeEmbedder",
    "ForgetReport",
    "IntegrityViolationError",
    "MemoryManager",
    "MemoryScope",
    "MemoryStoreError",
    "Message",
    "NotFoundError",
    "Owner",
    "RetentionPolicy",
    "SchemaError",
    "SearchHit",
    "SearchMode",
    "SentenceTransformerEmbedder",
    "SpaceInfo",
    "Summarizer",
    "TableCheck",
    "ValidationError",
    "VectorRepository",
    "VectorRow",
    "copy_store",
    "create_engine",
    "downgrade",
    "session_factory",
    "upgrade",
]
