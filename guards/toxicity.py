"""Toxicity guard: Detoxify when its weights are on this machine, else an offline model from PyPI.

Two backends, each a model card (which model, which file, its digest) and a batch scorer:

- Detoxify: Jigsaw-trained transformers (labels toxicity, severe_toxicity, obscene, threat,
  insult, identity_attack, and more for some models). Loaded by Detoxify's own code from an
  explicit checkpoint or from the torch hub cache, where `Detoxify(model_type)` keeps its
  download. Its weights cannot always be downloaded, hence:
- alt-profanity-check: a linear SVM over TF-IDF features trained on ~200k human-labelled
  comments; its model ships inside the wheel. One label, `offensive`. Lexical: it misses
  profanity-free threats and identity attacks far more often than Detoxify.

`ToxicityGuard.auto` picks Detoxify when its weights are present and says why in
`backend_description`; every verdict names the backend, model and checkpoint digest. Each field
of a sample (instruction, input, output; each chat message) is scored on its own, in overlapping
word windows, and each label keeps its highest window score: a toxic reply is not diluted by the
clean paragraph it answers, and toxic text past a model's input limit (512 tokens for Detoxify)
is still read.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from synthguard.guards.model_card import ModelCard, file_digest, files_digest
from synthguard.guards.verdict import GuardInfo, Verdict
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import Sample, sample_parts

VERSION = "1"

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
# 0.5 is the calibrated probability the library's own `predict` cuts at.
OFFLINE_THRESHOLDS: dict[str, float] = {"offensive": 0.5}

WINDOW_WORDS = 128
"""Words per scoring window: ~170 BERT word pieces, well inside Detoxify's 512."""
WINDOW_OVERLAP = 16
"""Words shared by consecutive windows, so a short insult is never cut in two."""
BATCH_SIZE = 32

_EXTRA_HINT = "pip install 'synthguard[toxicity]'"


class ToxicityBackend(Protocol):
    """A toxicity model: its card, default thresholds, and a batch scorer."""

    card: ModelCard
    default_thresholds: Mapping[str, float]

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Return one {label: probability} per text, in order."""
        ...


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
        detoxify = _import("detoxify", "the Detoxify backend")
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
        module = _import("profanity_check", "the offline toxicity backend")
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
    ) -> ToxicityGuard:
        """Detoxify if its weights are here (`checkpoint`, or the hub cache), else offline.

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
        if not _installed("detoxify"):
            why = f"detoxify is not installed ({_EXTRA_HINT})"
            return cls(OfflineBackend.load(), thresholds, reason=why)
        found = find_detoxify_checkpoint(model_type)
        if found is None:
            wanted = [model_type] if model_type else list(DETOXIFY_CHECKPOINTS)
            names = ", ".join(DETOXIFY_CHECKPOINTS[kind] for kind in wanted)
            why = f"no Detoxify checkpoint in {torch_hub_dir() / 'checkpoints'} ({names})"
            return cls(OfflineBackend.load(), thresholds, reason=why)
        kind, path = found
        try:
            backend = DetoxifyBackend.load(
                model_type=kind, huggingface_config_path=huggingface_config_path
            )
        except InputError as exc:
            why = f"Detoxify's checkpoint {path} was found but did not load: {exc}"
            return cls(OfflineBackend.load(), thresholds, reason=why)
        return cls(backend, thresholds, reason=f"found {path.name} in the torch hub cache")

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


def _known_model_type(path: Path) -> str | None:
    for kind, name in DETOXIFY_CHECKPOINTS.items():
        if path.name == name:
            return kind
    return None


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _import(module: str, purpose: str) -> Any:
    # By name, so the extra (and its missing type stubs) is needed only when used.
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(f"{purpose} needs the toxicity extra: {_EXTRA_HINT}") from exc
