"""Vector storage per embedding space, behind one repository interface."""

from memory.vectors.repository import VectorRepository, VectorRow, store_for
from memory.vectors.validation import MAX_K

__all__ = ["MAX_K", "VectorRepository", "VectorRow", "store_for"]
