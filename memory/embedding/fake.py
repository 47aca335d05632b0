"""A deterministic embedder for tests: no model, same text -> same vector, similar words -> close vectors."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from memory.embedding.base import normalise_rows
from memory.errors import ValidationError

_WORD: Final = re.compile(r"\w+", re.UNICODE)


class FakeEmbedder:
    """Feature hashing of lower-cased words into `dimensions` signed buckets, L2-normalised.

    Texts that share words get close vectors, so search behaves plausibly in storage tests; a text
    with no words still gets a vector of its own (from a hash of the whole text).
    """

    def __init__(self, dimensions: int = 384, *, name: str | None = None) -> None:
        if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
            raise ValidationError(f"dimensions must be a positive int, not {dimensions!r}")
        self._dimensions = dimensions
        self._name = name or f"fake:{dimensions}"
        self.calls = 0
        self.texts_embedded = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def fingerprint(self) -> str:
        return f"feature-hashing-v1:{self._dimensions}"

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls += 1
        self.texts_embedded += len(texts)
        matrix = np.zeros((len(texts), self._dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            tokens = _WORD.findall(text.lower()) or [f"\x00{text}"]
            for token in tokens:
                bucket, sign = self._bucket(token)
                matrix[row, bucket] += sign
            if not matrix[row].any():  # opposite signs cancelled out: fall back to the whole text
                bucket, sign = self._bucket(f"\x00{text}")
                matrix[row, bucket] = sign
        return normalise_rows(matrix)

    def _bucket(self, token: str) -> tuple[int, float]:
        digest = hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        return int.from_bytes(digest[:4], "little") % self._dimensions, 1.0 if digest[4] & 1 else -1.0
