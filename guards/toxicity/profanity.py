"""alt-profanity-check: a linear SVM over TF-IDF features trained on ~200k human-labelled
comments; its model ships inside the wheel. One label, `offensive`. Lexical: on its own it misses
profanity-free threats and identity attacks, and flags quoted slurs and reclaimed words."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from synthguard.guards.model_card import ModelCard, files_digest
from synthguard.guards.toxicity.extra import import_extra

OFFLINE_THRESHOLDS: dict[str, float] = {"offensive": 0.5}
"""0.5 is the calibrated probability the library's own `predict` cuts at."""


class OfflineBackend:
    """alt-profanity-check: a linear SVM whose model ships in the package itself."""

    default_thresholds: Mapping[str, float] = OFFLINE_THRESHOLDS
    _BATCH = 4096

    def __init__(self, module: Any, card: ModelCard) -> None:
        self._module = module
        self.card = card

    @classmethod
    def load(cls) -> OfflineBackend:
        """Load the model shipped in alt-profanity-check's wheel."""
        module = import_extra("profanity_check", "the offline toxicity backend")
        data = Path(module.__file__).parent / "data"
        files = [data / "model.joblib", data / "vectorizer.joblib"]
        card = ModelCard(
            backend="alt-profanity-check",
            model=(
                "linear SVM over TF-IDF "
                f"(scikit-learn {importlib.metadata.version('scikit-learn')})"
            ),
            version=importlib.metadata.version("alt-profanity-check"),
            checkpoint="profanity_check/data/model.joblib+vectorizer.joblib",
            # The digest of the two files' bytes in that order: `cat model.joblib
            # vectorizer.joblib | sha256sum`.
            checkpoint_digest=files_digest(files),
            labels=("offensive",),
        )
        return cls(module, card)

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Score texts; one label, `offensive`."""
        results: list[dict[str, float]] = []
        for start in range(0, len(texts), self._BATCH):
            probabilities = self._module.predict_prob(list(texts[start : start + self._BATCH]))
            results.extend({"offensive": float(p)} for p in probabilities)
        return results
