"""Detoxify: Jigsaw-trained transformers (labels toxicity, severe_toxicity, obscene, threat,
insult, identity_attack, and more for some models), loaded by Detoxify's own code from an
explicit checkpoint or from the torch hub cache, where `Detoxify(model_type)` keeps its download.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from synthguard.guards.model_card import ModelCard, file_digest
from synthguard.guards.toxicity.extra import import_extra
from synthguard.provenance.errors import InputError

# The files `Detoxify(model_type)` downloads into the torch hub cache (detoxify 0.5's
# MODEL_URLS; a test checks this table against the installed package), in the order `auto`
# prefers them.
DETOXIFY_CHECKPOINTS: dict[str, str] = {
    "original": "toxic_original-c1212f89.ckpt",
    "unbiased": "toxic_debiased-c7548aa0.ckpt",
    "multilingual": "multilingual_debiased-0b549669.ckpt",
    "original-small": "original-albert-0e1d6498.ckpt",
    "unbiased-small": "unbiased-albert-c8519128.ckpt",
}

# Harm labels Detoxify models return. The unbiased model also returns identity mentions (male,
# muslim, ...): those say who a text is about, not that it is harmful, so they are never judged.
DETOXIFY_THRESHOLDS: dict[str, float] = {
    "toxicity": 0.5,
    "severe_toxicity": 0.5,
    "obscene": 0.5,
    "threat": 0.5,
    "insult": 0.5,
    "identity_attack": 0.5,
    "sexual_explicit": 0.5,
}

BATCH_SIZE = 32


class DetoxifyBackend:
    """Detoxify, loaded by its own code (`Detoxify(model_type, checkpoint=...)`)."""

    default_thresholds: Mapping[str, float] = DETOXIFY_THRESHOLDS

    def __init__(self, detoxify: Any, card: ModelCard, batch_size: int = BATCH_SIZE) -> None:
        self._detoxify = detoxify
        self.card = card
        self.batch_size = batch_size

    @classmethod
    def load(
        cls,
        checkpoint: Path | None = None,
        *,
        model_type: str = "original",
        huggingface_config_path: Path | None = None,
        device: str = "cpu",
        batch_size: int = BATCH_SIZE,
    ) -> DetoxifyBackend:
        """Load an explicit checkpoint, or `model_type`'s file from the torch hub cache.

        Without a checkpoint Detoxify downloads into the hub cache when the file is missing;
        call this only once `find_detoxify_checkpoint` found it. A checkpoint names the
        transformers model its tokenizer and config come from; on a machine without the
        Hugging Face cache for it, `huggingface_config_path` names a local folder that holds
        them (config.json and tokenizer files).
        """
        detoxify = import_extra("detoxify", "the Detoxify backend")
        if checkpoint is None:
            if model_type not in DETOXIFY_CHECKPOINTS:
                known = ", ".join(DETOXIFY_CHECKPOINTS)
                raise InputError(f"unknown Detoxify model type {model_type!r}; one of: {known}")
            path = torch_hub_dir() / "checkpoints" / DETOXIFY_CHECKPOINTS[model_type]
            if not path.is_file():
                raise InputError(f"Detoxify checkpoint {path} is not in the torch hub cache")
            model = f"detoxify-{model_type}"
        else:
            path = checkpoint
            if not path.is_file():
                raise InputError(f"Detoxify checkpoint {path} does not exist")
            model = f"detoxify-{_known_model_type(path) or path.stem}"
        checkpoint_digest = file_digest(path)
        config_path = None if huggingface_config_path is None else str(huggingface_config_path)
        try:
            loaded = detoxify.Detoxify(
                model_type=model_type,
                checkpoint=None if checkpoint is None else str(checkpoint),
                device=device,
                huggingface_config_path=config_path,
            )
        except Exception as exc:  # torch, transformers and Detoxify raise many types
            raise InputError(f"Detoxify cannot load {path}: {exc}") from exc
        card = ModelCard(
            backend="detoxify",
            model=f"{model} ({type(loaded.model).__name__})",
            version=importlib.metadata.version("detoxify"),
            checkpoint=str(path),
            checkpoint_digest=checkpoint_digest,
            labels=tuple(loaded.class_names),
        )
        return cls(loaded, card, batch_size)

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Score texts in batches of similar length (less padding), in input order."""
        results: list[dict[str, float]] = [{} for _ in texts]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            chosen = order[start : start + self.batch_size]
            scores = self._detoxify.predict([texts[i] for i in chosen])
            for label, values in scores.items():
                # Detoxify squeezes a batch of one to a bare float.
                column = values if isinstance(values, list) else [values]
                for i, value in zip(chosen, column, strict=True):
                    results[i][label] = float(value)
        return results


def find_detoxify_checkpoint(model_type: str | None = None) -> tuple[str, Path] | None:
    """Return (model type, path) of the first Detoxify checkpoint in the torch hub cache."""
    kinds = [model_type] if model_type else list(DETOXIFY_CHECKPOINTS)
    checkpoints = torch_hub_dir() / "checkpoints"
    for kind in kinds:
        if kind not in DETOXIFY_CHECKPOINTS:
            known = ", ".join(DETOXIFY_CHECKPOINTS)
            raise InputError(f"unknown Detoxify model type {kind!r}; one of: {known}")
        path = checkpoints / DETOXIFY_CHECKPOINTS[kind]
        if path.is_file():
            return kind, path
    return None


def torch_hub_dir() -> Path:
    """The torch hub cache folder, as `torch.hub.get_dir()` computes it."""
    torch = sys.modules.get("torch")
    if torch is not None:
        # Only torch itself knows about a `torch.hub.set_dir` call.
        return Path(torch.hub.get_dir())
    # The same rule without importing torch (seconds) just to look for a file.
    cache = os.getenv("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    home = os.getenv("TORCH_HOME", os.path.join(cache, "torch"))
    return Path(os.path.expanduser(home)) / "hub"


def _known_model_type(path: Path) -> str | None:
    for kind, name in DETOXIFY_CHECKPOINTS.items():
        if path.name == name:
            return kind
    return None
