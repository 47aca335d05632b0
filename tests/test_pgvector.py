"""PostgreSQL + pgvector specifics: exact search equals numpy, HNSW search (with its bulk rebuild) has
high recall and keeps its filters, and the index modes belong to their backends."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

import memory
from memory import MemoryManager

pytestmark = pytest.mark.postgres_only

DIMS = 64


class _Fixed(memory.FakeEmbedder):
    def __init__(self) -> None:
        super().__init__(DIMS, name="fixed")


def _store(url: str, matrix: npt.NDArray[np.float32], **options: object) -> MemoryManager:
    manager = MemoryManager(url, embedder=_Fixed(), **options)  # type: ignore[arg-type]
    half = len(matrix) // 2
    for part, rows in enumerate((matrix[:half], matrix[half:])):
        messages = [
            {"role": ("user", "assistant")[i % 2], "content": f"p{part} m{i}"} for i in range(len(rows))
        ]
        manager.create_conversation(f"part {part}", messages=messages, vectors=rows)
    return manager


def _numpy_top(matrix: npt.NDArray[np.float32], query: npt.NDArray[np.float32], k: int) -> list[int]:
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    scores = unit.astype(np.float64) @ (query / np.linalg.norm(query))
    return (np.argsort(-scores, kind="stable")[:k] + 1).tolist()


def test_exact_search_gives_numpys_answer_and_hnsw_a_close_one(memory_url: str) -> None:
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((60, DIMS)).astype(np.float32)
    matrix = centres[rng.integers(0, 60, 12_000)] + 0.4 * rng.standard_normal((12_000, DIMS)).astype(
        np.float32
    )
    # 6,000 rows per call, so the bulk path drops and rebuilds the HNSW index.
    exact = _store(memory_url, matrix)
    approximate = MemoryManager(memory_url, embedder=_Fixed(), vector_index="hnsw")
    with exact.engine.connect() as connection:
        indexes = (
            connection.exec_driver_sql(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'message_vectors_1'"
            )
            .scalars()
            .all()
        )
    assert "message_vectors_1_hnsw" in indexes
    recalls = []
    queries = centres[rng.integers(0, 60, 20)] + 0.4 * rng.standard_normal((20, DIMS)).astype(np.float32)
    for query in queries:
        expected = _numpy_top(matrix, query, 10)
        assert [h.message.id for h in exact.search(query, k=10)] == expected
        got = [h.message.id for h in approximate.search(query, k=10)]
        recalls.append(len(set(got) & set(expected)) / 10)
        scoped = approximate.search(query, k=10, conversation_id=2, roles=["user"])
        assert len(scoped) == 10 and {(h.message.conversation_id, h.message.role) for h in scoped} == {
            (2, "user")
        }
    assert np.mean(recalls) >= 0.9
    exact.close()
    approximate.close()


def test_index_modes_belong_to_their_backends(memory_url: str, tmp_path: object) -> None:
    with pytest.raises(memory.ValidationError, match="SQLite"):
        MemoryManager(memory_url, embedder=_Fixed(), vector_index="binary")
    with pytest.raises(memory.ValidationError, match="PostgreSQL"):
        MemoryManager(f"sqlite:///{tmp_path}/x.db", embedder=_Fixed(), vector_index="hnsw")  # type: ignore[str-bytes-safe]
