"""memory: a durable, searchable memory of an AI assistant's conversations."""

from memory.conversations import ConversationInfo
from memory.embedding import Embedder, FakeEmbedder, SentenceTransformerEmbedder
from memory.engine import create_engine, session_factory
from memory.errors import (
    ArchiveError,
    DatabaseBusyError,
    DatabaseError,
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
from memory.lifecycle.forget import ForgetReport
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
    "Base",
    "Conversation",
    "ConversationInfo",
    "DatabaseBusyError",
    "DatabaseError",
    "DimensionMismatchError",
    "DuplicateError",
    "Embedder",
    "EmbedderError",
    "EmbeddingSpace",
    "EmbeddingSpaceError",
    "ExtensionError",
    "FakeEmbedder",
    "ForgetReport",
    "IntegrityViolationError",
    "MemoryManager",
    "MemoryScope",
    "MemoryStoreError",
    "Message",
    "NotFoundError",
    "Owner",
    "SchemaError",
    "SearchHit",
    "SearchMode",
    "SentenceTransformerEmbedder",
    "SpaceInfo",
    "ValidationError",
    "VectorRepository",
    "VectorRow",
    "create_engine",
    "downgrade",
    "session_factory",
    "upgrade",
]
