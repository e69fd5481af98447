"""The toxicity guard: scores each field of a sample in overlapping word windows with one backend
and fails a sample on every judged label whose best window reaches its threshold.

`ToxicityGuard.auto` prefers Detoxify when its weights are on this machine; otherwise
alt-profanity-check, or with `ensemble=True` (`--toxicity-ensemble`) the offline ensemble
(all-MiniLM-L6-v2 and alt-profanity-check under a calibrated head), alt-profanity-check alone
again when the ensemble cannot load. `backend_description` says which and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from synthguard.guards.model_card import ModelCard
from synthguard.guards.toxicity.detoxify_backend import (
    DETOXIFY_CHECKPOINTS,
    DetoxifyBackend,
    find_detoxify_checkpoint,
    torch_hub_dir,
)
from synthguard.guards.toxicity.ensemble import EnsembleBackend
from synthguard.guards.toxicity.extra import EXTRA_HINT, installed
from synthguard.guards.toxicity.profanity import OfflineBackend
from synthguard.guards.verdict import GuardInfo, Verdict
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import Sample, sample_parts

VERSION = "1"

WINDOW_WORDS = 128
"""Words per scoring window: ~170 BERT word pieces, well inside Detoxify's 512 and MiniLM's
256."""
WINDOW_OVERLAP = 16
"""Words shared by consecutive windows, so a short insult is never cut in two."""


class ToxicityBackend(Protocol):
    """A toxicity model: its card, default thresholds, and a batch scorer."""

    card: ModelCard
    default_thresholds: Mapping[str, float]

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Return one {label: probability} per text, in order."""
        ...


class ToxicityGuard:
    """Flags a sample when any judged label's score reaches its threshold (one verdict each)."""

    def __init__(
        self,
        backend: ToxicityBackend,
        thresholds: Mapping[str, float] | None = None,
        *,
        window_words: int = WINDOW_WORDS,
        reason: str = "",
    ) -> None:
        if window_words <= WINDOW_OVERLAP:
            raise InputError(f"window_words must exceed the {WINDOW_OVERLAP}-word overlap")
        self.backend = backend
        self.thresholds = _judged(backend, thresholds)
        self.window_words = window_words
        self.reason = reason
        card = backend.card
        self.info = GuardInfo.of(
            "toxicity",
            f"toxicity-{card.backend}",
            VERSION,
            {
                **card.detail(),
                "thresholds": self.thresholds,
                "window_words": window_words,
                "window_overlap": WINDOW_OVERLAP,
            },
        )

    @classmethod
    def auto(
        cls,
        checkpoint: Path | None = None,
        *,
        model_type: str | None = None,
        huggingface_config_path: Path | None = None,
        thresholds: Mapping[str, float] | None = None,
        ensemble: bool = False,
    ) -> ToxicityGuard:
        """Detoxify if its weights are here (`checkpoint`, or the hub cache), else offline
        (`offline`: alt-profanity-check, or with `ensemble` the offline ensemble).

        An explicit checkpoint that fails to load raises; a hub-cache checkpoint that fails to
        load (its tokenizer not cached on an offline machine, say) falls back to the offline
        backend, and `backend_description` says so.
        """
        if checkpoint is not None:
            backend: ToxicityBackend = DetoxifyBackend.load(
                checkpoint,
                model_type=model_type or "original",
                huggingface_config_path=huggingface_config_path,
            )
            return cls(backend, thresholds, reason="the checkpoint was given explicitly")
        if not installed("detoxify"):
            why = f"detoxify is not installed ({EXTRA_HINT})"
            return cls.offline(thresholds, why, ensemble=ensemble)
        found = find_detoxify_checkpoint(model_type)
        if found is None:
            wanted = [model_type] if model_type else list(DETOXIFY_CHECKPOINTS)
            names = ", ".join(DETOXIFY_CHECKPOINTS[kind] for kind in wanted)
            why = f"no Detoxify checkpoint in {torch_hub_dir() / 'checkpoints'} ({names})"
            return cls.offline(thresholds, why, ensemble=ensemble)
        kind, path = found
        try:
            backend = DetoxifyBackend.load(
                model_type=kind, huggingface_config_path=huggingface_config_path
            )
        except InputError as exc:
            why = f"Detoxify's checkpoint {path} was found but did not load: {exc}"
            return cls.offline(thresholds, why, ensemble=ensemble)
        return cls(backend, thresholds, reason=f"found {path.name} in the torch hub cache")

    @classmethod
    def offline(
        cls, thresholds: Mapping[str, float] | None = None, why: str = "", *, ensemble: bool = False
    ) -> ToxicityGuard:
        """alt-profanity-check; with `ensemble`, the offline ensemble (or alt-profanity-check
        alone if the ensemble cannot load). `why` (why not Detoxify) starts the reason, which
        names the backend chosen.

        The ensemble is opt-in: it catches threats and insults without profanity that the
        lexical model misses, but it also flags a few per hundred hard look-alikes (quoted
        threats, violent history, counter-speech) and about 2 % of the demo generator's fields
        (benchmarks/toxicity_bench.py)."""
        prefix = f"{why}; " if why else ""
        if not ensemble:
            reason = f"{prefix}alt-profanity-check (lexical; --toxicity-ensemble adds threats)"
            return cls(OfflineBackend.load(), thresholds, reason=reason)
        try:
            backend = EnsembleBackend.load()
        except InputError as exc:
            reason = (
                f"{prefix}alt-profanity-check alone (lexical: misses threats and insults "
                f"without profanity), since the offline ensemble did not load: {exc}"
            )
            return cls(OfflineBackend.load(), thresholds, reason=reason)
        reason = f"{prefix}the offline ensemble (all-MiniLM-L6-v2 + alt-profanity-check)"
        return cls(backend, thresholds, reason=reason)

    @property
    def backend_description(self) -> str:
        """One line for the screen: which model, which checkpoint, and why this backend."""
        line = f"toxicity: {self.backend.card.summary()}"
        return f"{line}; {self.reason}" if self.reason else line

    def check(self, samples: Sequence[Sample]) -> list[Verdict]:
        """Score every sample; return one failing verdict per label at or above threshold."""
        # The same content (the same id) is scored once; its verdicts apply to every copy.
        unique = list({sample.id: sample for sample in samples}.values())
        owners: list[int] = []
        windows: list[str] = []
        for index, sample in enumerate(unique):
            # Each field or message on its own: a toxic reply after a long clean paragraph
            # would be diluted below the threshold if they shared a window.
            for part in sample_parts(sample):
                for window in text_windows(part, self.window_words):
                    owners.append(index)
                    windows.append(window)
        best: list[dict[str, float]] = [{} for _ in unique]
        for owner, scores in zip(owners, self.backend.predict(windows), strict=True):
            kept = best[owner]
            for label, score in scores.items():
                if score > kept.get(label, -1.0):
                    kept[label] = score
        card = self.backend.card.detail()
        verdicts: list[Verdict] = []
        for sample, scores in zip(unique, best, strict=True):
            rounded = {label: round(score, 6) for label, score in sorted(scores.items())}
            for label, threshold in self.thresholds.items():
                score = scores.get(label, 0.0)
                if score >= threshold:
                    detail = {**card, "scores": rounded}
                    verdicts.append(
                        Verdict(sample.id, self.info, label, False, score, threshold, detail)
                    )
        return verdicts


def text_windows(text: str, words: int = WINDOW_WORDS) -> list[str]:
    """Split a text into windows of `words` words, consecutive ones sharing WINDOW_OVERLAP."""
    tokens = text.split()
    if len(tokens) <= words:
        return [text]
    step = words - WINDOW_OVERLAP
    last = max(len(tokens) - WINDOW_OVERLAP, 1)
    return [" ".join(tokens[start : start + words]) for start in range(0, last, step)]


def _judged(backend: ToxicityBackend, thresholds: Mapping[str, float] | None) -> dict[str, float]:
    labels = backend.card.labels
    if thresholds is None:
        judged = {k: v for k, v in backend.default_thresholds.items() if k in labels}
    else:
        unknown = sorted(set(thresholds) - set(labels))
        if unknown:
            raise InputError(
                f"no such toxicity label(s) {', '.join(unknown)} for {backend.card.model}; "
                f"it returns: {', '.join(labels)}"
            )
        judged = dict(thresholds)
    if not judged:
        raise InputError(f"no toxicity label of {backend.card.model} is judged")
    for label, value in judged.items():
        if not 0.0 <= value <= 1.0:
            raise InputError(f"threshold for {label!r} must be in [0, 1], not {value}")
    return judged
