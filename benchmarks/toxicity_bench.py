"""Offline toxicity: recall on threats, insults, identity attacks and dehumanisation without
profanity, false positives on clean look-alikes, and samples/s on one core, per backend.

    python benchmarks/toxicity_bench.py

Backends, all in this run: alt-profanity-check alone (the default offline backend: the
baseline), the offline ensemble as `ToxicityGuard.auto(ensemble=True)` builds it, the same
ensemble with alt-profanity-check's `offensive` also judged at 0.5, and HateSonar 0.1.0 (a
TF-IDF logistic regression trained on Davidson et al. 2017, whose ONNX model needs its
StringNormalizer's locale set to one this machine has) when it is installed. Detoxify is
measured when its weights are in the torch hub cache.

Rows: the evaluation side of benchmarks/toxicity_data.py (HateCheck's odd templates,
evaluation_written.jsonl, the demo templates and docstring modules of the odd side), disjoint
from every row the head was trained or calibrated on.
HateCheck functions with a swear word or slur in each case are left out. Each verdict is the
guard's own (`ToxicityGuard.check`: per field, windowed, any judged label failing).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from toxicity_data import PROFANITY_FREE_LEFT_OUT, Row, evaluation_rows

from synthguard.guards.model_card import ModelCard, file_digest
from synthguard.guards.toxicity import (
    EnsembleBackend,
    OfflineBackend,
    ToxicityGuard,
    find_detoxify_checkpoint,
)
from synthguard.provenance.sample import sample_from_row

TARGET_RECALL = 0.9
TARGET_FP = 0.01

RECALL = {
    "threat (written, individuals)": lambda r: r.source != "hatecheck" and "threat" in r.labels,
    "threat (HateCheck, groups)": lambda r: r.function.startswith("threat_"),
    "insult (written)": lambda r: r.function == "insult_indiv",
    "insult (HateCheck target_indiv)": lambda r: r.function == "target_indiv_nh",
    "identity attack (written)": lambda r: r.function == "identity_attack",
    "identity attack (HateCheck derog/ref/phrase/negate/spell)": lambda r: (
        r.source == "hatecheck"
        and "identity_attack" in r.labels
        and not r.function.startswith("threat_")
        and r.function != "derog_dehum_h"
    ),
    "dehumanisation (HateCheck derog_dehum)": lambda r: r.function == "derog_dehum_h",
}
CLEAN_WRITTEN = (
    "history",
    "news",
    "medical_legal",
    "criticism",
    "reclaimed",
    "other",
    "instruction",
)
CLEAN_HATECHECK = (
    "counter_quote_nh",
    "counter_ref_nh",
    "negate_neg_nh",
    "ident_neutral_nh",
    "ident_pos_nh",
    "slur_homonym_nh",
    "slur_reclaimed_nh",
    "target_obj_nh",
)


def main() -> None:
    _one_core()
    rows = [r for r in evaluation_rows() if r.function not in PROFANITY_FREE_LEFT_OUT]
    backends = _backends()
    names = list(backends)
    flagged: dict[str, set[str]] = {}
    speed: dict[str, float] = {}
    for name, guard in backends.items():
        flagged[name], speed[name] = _screen(guard, [r.text for r in rows])
    width = max(len(k) for k in RECALL) + 2

    def line(title: str, chosen: list[Row]) -> None:
        cells = [f"{sum(r.text in flagged[n] for r in chosen) / len(chosen):>8.3f}" for n in names]
        print(
            f"{title:<{width}}{len(chosen):>6}"
            + "".join(f"{c:>{len(n) + 3}}" for c, n in zip(cells, names, strict=True))
        )

    header = f"{'':<{width}}{'rows':>6}" + "".join(f"{n:>{len(n) + 3}}" for n in names)
    print(header)
    print(f"recall, no profanity (target >= {TARGET_RECALL})")
    for title, wanted in RECALL.items():
        line(f"  {title}", [r for r in rows if wanted(r)])
    line("  threats + insults, all", [r for r in rows if {"threat", "insult"} & set(r.labels)])
    print(f"false positives, clean look-alikes (target <= {TARGET_FP})")
    for kind in CLEAN_WRITTEN:
        line(f"  written: {kind}", [r for r in rows if r.function == f"clean_{kind}"])
    written = [r for r in rows if r.function.startswith("clean_")]
    line("  written, all", written)
    for function in CLEAN_HATECHECK:
        line(f"  HateCheck {function}", [r for r in rows if r.function == function])
    line("  HateCheck non-hateful, all", [r for r in rows if r.function in CLEAN_HATECHECK])
    for source in ("demo", "docstrings"):
        line(f"  instruction fields: {source}", [r for r in rows if r.source == source])
    line("  every clean row", [r for r in rows if not r.labels])
    print(
        "samples/s, one core"
        + " " * (width + 6 - 19)
        + "".join(f"{speed[n]:>{len(n) + 3}.0f}" for n in names)
    )
    _operating_points(backends["ensemble"], rows)
    print()
    for name, guard in backends.items():
        print(f"{name}: {guard.backend_description}")
        print(f"  judged: {guard.thresholds}")


def _operating_points(guard: ToxicityGuard, rows: list[Row]) -> None:
    """The ensemble's threat/insult trade-off on these rows, both thresholds moved by one shift:
    the best recall at <= TARGET_FP and the false positives at >= TARGET_RECALL. A diagnostic
    read off the evaluation rows themselves, never fed back into the head."""
    labels = ("threat", "insult")
    scores = guard.backend.predict([r.text for r in rows])
    margin = np.array([max(s[k] - guard.thresholds[k] for k in labels) for s in scores])
    positive = np.array([bool(set(labels) & set(r.labels)) for r in rows])
    print(
        f"threat/insult operating points (shift both thresholds; {TARGET_FP:.0%} / {TARGET_RECALL})"
    )
    clean_sets = {
        "every clean row": [not r.labels for r in rows],
        "written look-alikes": [r.function.startswith("clean_") for r in rows],
        "HateCheck non-hateful": [r.function in CLEAN_HATECHECK for r in rows],
    }
    for title, chosen in clean_sets.items():
        clean = margin[np.array(chosen)]
        cut = np.quantile(clean, 1.0 - TARGET_FP, method="higher") + 1e-9
        recall = float(np.mean(margin[positive] >= cut))
        at = np.quantile(margin[positive], 1.0 - TARGET_RECALL, method="lower")
        fp = float(np.mean(clean >= at))
        print(
            f"  {title:<24} recall {recall:.3f} at <= {TARGET_FP:.0%} FP; FP {fp:.3f} at recall 0.9"
        )


def _backends() -> dict[str, ToxicityGuard]:
    backends = {"profanity-check (baseline)": ToxicityGuard(OfflineBackend.load())}
    ensemble = EnsembleBackend.load()
    backends["ensemble"] = ToxicityGuard(ensemble, reason="--toxicity-ensemble")
    backends["ensemble+offensive"] = ToxicityGuard(
        ensemble, {**ensemble.default_thresholds, "offensive": 0.5}, reason="offensive judged"
    )
    if importlib.util.find_spec("hatesonar") is not None:
        backends["hatesonar"] = ToxicityGuard(HateSonar.load())
    found = find_detoxify_checkpoint()
    if found is not None:
        backends["detoxify"] = ToxicityGuard.auto()
    return backends


class HateSonar:
    """HateSonar's ONNX pipeline, its StringNormalizer pointed at the C.UTF-8 locale: the model
    names en_US.UTF-8, which machines without that locale cannot construct."""

    _LABELS = ("hate_speech", "offensive_language", "neither")

    def __init__(self, session: Any, card: ModelCard) -> None:
        self._session = session
        self.card = card
        self.default_thresholds = {"hate_speech": 0.5, "offensive_language": 0.5}

    @classmethod
    def load(cls, locale: str = "C.UTF-8") -> HateSonar:
        import onnx
        import onnxruntime

        path = Path(importlib.util.find_spec("hatesonar").origin or "").parent / "model/model.onnx"
        model = onnx.load_from_string(path.read_bytes())
        for node in model.graph.node:
            if node.op_type == "StringNormalizer":
                kept = [a for a in node.attribute if a.name != "locale"]
                del node.attribute[:]
                node.attribute.extend([*kept, onnx.helper.make_attribute("locale", locale)])
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        card = ModelCard(
            "hatesonar",
            f"TF-IDF + logistic regression (ONNX), locale {locale}",
            importlib.metadata.version("hatesonar"),
            "hatesonar/model/model.onnx",
            file_digest(path),
            cls._LABELS,
        )
        return cls(session, card)

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        _, probabilities = self._session.run(None, {"text": np.array(texts, dtype=object)})
        return [{self._LABELS[k]: float(v) for k, v in p.items()} for p in probabilities]


def _screen(guard: ToxicityGuard, texts: list[str]) -> tuple[set[str], float]:
    samples = [sample_from_row({"text": text}) for text in texts]
    guard.check(samples[:8])  # warm-up: first-call allocations are not throughput
    start = time.perf_counter()
    verdicts = guard.check(samples)
    elapsed = time.perf_counter() - start
    failed = {v.sample_id for v in verdicts if not v.passed}
    return {t for t, s in zip(texts, samples, strict=True) if s.id in failed}, len(texts) / elapsed


def _one_core() -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


if __name__ == "__main__":
    main()
