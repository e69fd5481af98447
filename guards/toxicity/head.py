"""The offline toxicity head: what turns all-MiniLM-L6-v2's sentence embedding and
alt-profanity-check's `offensive` probability into `threat`, `insult` and `identity_attack`
scores, each with the threshold calibrated for it. Two kinds of label head:

- `neighbours` (threat, insult): how much nearer a text lies to the label's labelled examples
  than to everything else the head was trained on, the mean cosine similarity of the k nearest
  of each, mapped to [0, 1]:

      score = (1 + mean_k sim(text, positives) - mean_k sim(text, others)) / 2

  0.5 means as near an example of the label as to a clean row. A threat is recognised by the
  few examples it paraphrases, not by a direction shared with every violent word ("kill the
  process", a war history), which is where a linear head fails.
- `logistic` (identity_attack): sigmoid(w . [embedding, offensive] + b).

The weights and the neighbours' embeddings (float16, base64) live in head.json beside this
module (written by benchmarks/train_toxicity_head.py, which says which data they come from) and
are pinned by HEAD_DIGEST: a changed file does not load. The file also records the digests of
the two models whose outputs it was trained on; the ensemble refuses to run it over different
ones, whose features would not mean the same.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from synthguard.guards.model_card import file_digest
from synthguard.provenance.errors import InputError

HEAD_PATH = Path(__file__).resolve().with_name("head.json")
HEAD_DIGEST = "sha256:06315dc91ad0aecae035427af624fcbe2cb3a0af8a2407940b8df935bb08ad4d"
"""The digest of head.json's bytes; benchmarks/train_toxicity_head.py prints the new one."""
FORMAT = "synthguard-toxicity-head/2"

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Neighbours:
    """Labelled example embeddings (unit rows) and, per label, which rows are its examples."""

    embeddings: Matrix
    positives: dict[str, npt.NDArray[np.bool_]]
    k: int

    def similarity(self, embeddings: Matrix) -> Matrix:
        """(texts, examples) cosine similarities of unit embeddings."""
        result: Matrix = embeddings @ self.embeddings.T
        return result

    def score(self, label: str, similarity: Matrix) -> npt.NDArray[np.float64]:
        """The similarity margin of each text to `label`'s examples, in [0, 1]."""
        mask = self.positives[label]
        near = _mean_top(similarity[:, mask], self.k) - _mean_top(similarity[:, ~mask], self.k)
        result: npt.NDArray[np.float64] = np.clip((1.0 + near) / 2.0, 0.0, 1.0)
        return result


@dataclass(frozen=True)
class ToxicityHead:
    """Per-label scorers and calibrated thresholds, and the member models they were fit on."""

    labels: tuple[str, ...]
    logistic: dict[str, tuple[Matrix, float]]
    """Label -> (weights over all features, bias), for the `logistic` labels."""
    neighbours: Neighbours
    thresholds: dict[str, float]
    members: dict[str, str]
    """Member model name -> the checkpoint digest its features were computed with."""
    dimensions: int
    """Embedding dimensions: the first `dimensions` features are the embedding."""
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
        features = len(data["features"])
        stored = data["neighbours"]
        rows, dimensions = stored["shape"]
        raw = np.frombuffer(base64.b64decode(stored["embeddings"]), dtype="<f2")
        if raw.size != rows * dimensions or dimensions >= features:
            raise InputError(f"toxicity head neighbours of shape {stored['shape']} do not fit")
        embeddings = raw.reshape(rows, dimensions).astype(np.float64)
        heads: dict[str, Any] = data["labels"]
        logistic: dict[str, tuple[Matrix, float]] = {}
        positives: dict[str, npt.NDArray[np.bool_]] = {}
        for label, head in heads.items():
            if head["kind"] == "logistic":
                weights = np.array(head["weights"], dtype=np.float64)
                if weights.shape != (features,):
                    raise InputError(f"{label} weights of shape {weights.shape} do not fit")
                logistic[label] = (weights, float(head["bias"]))
            elif head["kind"] == "neighbours":
                mask = np.zeros(rows, dtype=np.bool_)
                mask[np.array(head["examples"], dtype=np.int64)] = True
                positives[label] = mask
            else:
                raise InputError(f"unknown kind of toxicity head for {label}: {head['kind']!r}")
        thresholds = {label: float(head["threshold"]) for label, head in heads.items()}
        return cls(
            tuple(heads),
            logistic,
            Neighbours(embeddings, positives, int(stored["k"])),
            thresholds,
            dict(data["members"]),
            dimensions,
            digest,
        )

    def scores(self, features: Matrix) -> Matrix:
        """(texts, features) in, (texts, labels) scores in [0, 1] out."""
        columns = []
        similarity = self.neighbours.similarity(features[:, : self.dimensions])
        for label in self.labels:
            if label in self.logistic:
                weights, bias = self.logistic[label]
                columns.append(1.0 / (1.0 + np.exp(-(features @ weights + bias))))
            else:
                columns.append(self.neighbours.score(label, similarity))
        result: Matrix = np.stack(columns, axis=1)
        return result


def _mean_top(similarity: Matrix, k: int) -> npt.NDArray[np.float64]:
    """Per row, the mean of its k largest values."""
    k = min(k, similarity.shape[1])
    top: npt.NDArray[np.float64] = np.partition(similarity, -k, axis=1)[:, -k:].mean(axis=1)
    return top
