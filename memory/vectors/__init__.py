"""Vector storage per embedding space, behind one repository interface."""

from memory.validation import MAX_K
from memory.vectors.index import INDEX_MODES, IndexMode, VectorIndex
from memory.vectors.repository import VectorRepository, VectorRow, store_for

__all__ = ["INDEX_MODES", "MAX_K", "IndexMode", "VectorIndex", "VectorRepository", "VectorRow", "store_for"]
