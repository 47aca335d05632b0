"""Embedders: the protocol, the sentence-transformers implementation and a deterministic fake."""

from memory.embedding.base import Embedder, normalise_rows
from memory.embedding.fake import FakeEmbedder
from memory.embedding.resolve import embedder_for
from memory.embedding.sentence_transformer import DEFAULT_MODEL, SentenceTransformerEmbedder

__all__ = [
    "DEFAULT_MODEL",
    "Embedder",
    "FakeEmbedder",
    "SentenceTransformerEmbedder",
    "embedder_for",
    "normalise_rows",
]
