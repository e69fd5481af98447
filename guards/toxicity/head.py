"""The offline toxicity head: one logistic regression per label (threat, insult,
identity_attack) over 385 features, the all-MiniLM-L6-v2 sentence embedding and
alt-profanity-check's `offensive` probability, each with the threshold calibrated for it.

    p(label | text) = sigmoid(w_label . [embedding(text), offensive(text)] + b_label)

The weights live in head.json beside this module (written by benchmarks/train_toxicity_head.py,
which says which data they come from) and are pinned by HEAD_DIGEST: a changed file does not
load. The file also records the digests of the two models whose outputs it was trained on; the
ensemble refuses to run it over different ones, whose features would not mean the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from synthguard.guards.model_card import file_digest
from synthguard.provenance.errors import InputError

HEAD_PATH = Path(__file__).resolve().with_name("head.json")
HEAD_DIGEST = "sha256:e70e95bc1a987cde14d93004f223131417897767e50be551f6fe85225c07162d"
"""The digest of head.json's bytes; benchmarks/train_toxicity_head.py prints the new one."""
FORMAT = "synthguard-toxicity-head/1"

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ToxicityHead:
    """Per-label logistic weights, biases and calibrated thresholds, and what they were fit on."""

    labels: tuple[str, ...]
    weights: Matrix
    """(labels, features)"""
    bias: Matrix
    """(labels,)"""
    thresholds: dict[str, float]
    members: dict[str, str]
    """Member model name -> the checkpoint digest its features were computed with."""
    digest: str

    @classmethod
    def load(cls, path: Path = HEAD_PATH, digest: str = HEAD_DIGEST) -> ToxicityHead:
        """Read a head file, refusing one whose bytes do not have `digest`."""
        if not path.is_file():
            raise InputError(f"toxicity head {path} does not exist")
        found = file_digest(path)
        if found != digest:
            raise InputError(f"toxicity head {path} has digest {found}, expected {digest}")
        return cls.parse(json.loads(path.read_text(encoding="utf-8")), found)

    @classmethod
    def parse(cls, data: dict[str, Any], digest: str) -> ToxicityHead:
        """Build a head from head.json's content."""
        if data.get("format") != FORMAT:
            raise InputError(f"not a toxicity head of format {FORMAT}: {data.get('format')!r}")
        heads: dict[str, Any] = data["labels"]
        labels = tuple(heads)
        weights = np.array([heads[label]["weights"] for label in labels], dtype=np.float64)
        bias = np.array([heads[label]["bias"] for label in labels], dtype=np.float64)
        if weights.ndim != 2 or weights.shape[1] != len(data["features"]):
            raise InputError(f"toxicity head weights of shape {weights.shape} do not fit")
        thresholds = {label: float(heads[label]["threshold"]) for label in labels}
        return cls(labels, weights, bias, thresholds, dict(data["members"]), digest)

    def scores(self, features: Matrix) -> Matrix:
        """(texts, features) in, (texts, labels) probabilities out."""
        logits = features @ self.weights.T + self.bias
        result: Matrix = 1.0 / (1.0 + np.exp(-logits))
        return result
