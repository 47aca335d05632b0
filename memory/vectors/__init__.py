"""Vector storage per embedding space, behind one repository interface."""

from memory.vectors.index import INDEX_MODES, IndexMode, VectorIndex
from memory.vectors.repository import VectorRepository, VectorRow, store_for
from memory.vectors.validation import MAX_K

__all__ = ["INDEX_MODES", "MAX_K", "IndexMode", "VectorIndex", "VectorRepository", "VectorRow", "store_for"]
