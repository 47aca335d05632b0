"""Embedders by name, for the command line and other configuration-driven callers."""

from __future__ import annotations

import re
from typing import Final

from memory.embedding.base import Embedder
from memory.embedding.fake import FakeEmbedder
from memory.embedding.sentence_transformer import SentenceTransformerEmbedder
from memory.errors import ValidationError

_FAKE: Final = re.compile(r"fake:([0-9]{1,5})")


def embedder_for(model: str) -> Embedder:
    """`fake:<dimensions>` names the deterministic model-free embedder (for tests and dry runs);
    anything else is a sentence-transformers model name or path."""
    if not isinstance(model, str) or not model.strip():
        raise ValidationError(f"a model name must be a non-empty string, not {model!r}")
    fake = _FAKE.fullmatch(model)
    if fake:
        return FakeEmbedder(int(fake.group(1)))
    if model.startswith("fake"):
        raise ValidationError(f"{model!r}: the fake embedder is named fake:<dimensions>, e.g. fake:384")
    return SentenceTransformerEmbedder(model)
