"""What the write benches feed memory: distinct chat-like texts, and an embedder whose vectors were
computed before timing (the time spent inside it is added up, so a figure can leave it out)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

DIMS = 384
POOL = 32_768
_WORD_LIST = (
    "the a an my your our this that some every memory message question answer reply model token "
    "vector search store recall context window budget turn chat user assistant system tool call "
    "result error retry cache index table query latency throughput disk page commit write read "
    "python sqlite database server client request response stream batch file path line word "
    "meaning sentence summary plan step goal task idea note list draft review test bench number "
    "is was will can should might could would does did has had makes takes gives finds keeps "
    "quickly slowly again later today tomorrow yesterday always never often rarely maybe surely "
    "and or but so because while when if then after before with without about into over under"
)
WORDS = _WORD_LIST.split()


def texts_for(start: int, end: int, style: str = "sentences") -> list[str]:
    """Messages start..end-1: distinct (each ends in "(#i)"), the same on every call. "short" is
    bench/search.py's two-word message ("message (#i)"), "sentences" 8 to 40 words."""
    if style == "short":
        return [f"message (#{i})" for i in range(start, end)]
    rng = np.random.default_rng(start)
    lengths = rng.integers(8, 41, size=end - start)
    words = rng.integers(0, len(WORDS), size=(end - start, 40))
    return [
        " ".join([WORDS[w] for w in row[:length]]) + f" (#{i})"
        for i, row, length in zip(range(start, end), words.tolist(), lengths.tolist(), strict=True)
    ]


def unit_pool(size: int = POOL, seed: int = 11) -> npt.NDArray[np.float32]:
    pool = np.random.default_rng(seed).standard_normal((size, DIMS)).astype(np.float32)
    pool /= np.linalg.norm(pool, axis=1, keepdims=True)
    return pool


class PoolEmbedder:
    """A `memory.Embedder` returning precomputed unit vectors: row i % len(pool) for the text that
    ends in "(#i)". Adds up the time spent inside embed() (`seconds`) and the texts it embedded."""

    def __init__(self, pool: npt.NDArray[np.float32]) -> None:
        self._pool = pool
        self.seconds = 0.0
        self.texts = 0

    @property
    def name(self) -> str:
        return "bench-precomputed"

    @property
    def dimensions(self) -> int:
        return DIMS

    @property
    def fingerprint(self) -> str:
        return "bench-precomputed-v1"

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        started = time.perf_counter()
        rows = np.fromiter((int(t[t.rindex("#") + 1 : -1]) for t in texts), dtype=np.int64, count=len(texts))
        matrix = self._pool[rows % len(self._pool)]
        self.seconds += time.perf_counter() - started
        self.texts += len(texts)
        return matrix
