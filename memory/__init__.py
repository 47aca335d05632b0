"""memory: a durable, searchable memory of an AI assistant's conversations."""

from memory.engine import create_engine, session_factory
from memory.errors import (
    DatabaseBusyError,
    DatabaseError,
    DimensionMismatchError,
    EmbeddingSpaceError,
    ExtensionError,
    IntegrityViolationError,
    MemoryStoreError,
    NotFoundError,
    SchemaError,
    ValidationError,
)
from memory.migration import downgrade, upgrade
from memory.models import Base, Conversation, EmbeddingSpace, Message
from memory.vectors import VectorRepository, VectorRow

__all__ = [
    "Base",
    "Conversation",
    "DatabaseBusyError",
    "DatabaseError",
    "DimensionMismatchError",
    "EmbeddingSpace",
    "EmbeddingSpaceError",
    "ExtensionError",
    "IntegrityViolationError",
    "MemoryStoreError",
    "Message",
    "NotFoundError",
    "SchemaError",
    "ValidationError",
    "VectorRepository",
    "VectorRow",
    "create_engine",
    "downgrade",
    "session_factory",
    "upgrade",
]
