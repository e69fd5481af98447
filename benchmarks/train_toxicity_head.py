"""Train and calibrate the offline toxicity head, and write guards/toxicity/head.json.

    python benchmarks/train_toxicity_head.py [--out guards/toxicity/head.json]

Features: the all-MiniLM-L6-v2 embedding (384) and alt-profanity-check's `offensive`
probability, each computed by the guard's own member loaders from their wheels, on the
calibration rows of benchmarks/toxicity_data.py (HateCheck's even templates, ToxiGen's
demonstrations, calibration_written.jsonl, and the demo generator's and docstrings' clean
instruction fields); the evaluation rows are never read here.

The calibration rows are split once, by pattern group (CRC32 of the HateCheck template, the
written run, the demo template, the documented module), into a fitting part (3/4) and a
threshold slice (1/4) no fitted row shares a pattern with. The fitting part becomes the head:
its embeddings are the neighbours of `threat` and `insult`, and it trains the logistic
`identity_attack` (L2, C=3, balanced class weights, lbfgs). Each label's threshold is the score
that at most FP_BUDGET[label] of the slice's clean rows reach, read from the head exactly as
written (float16 neighbours included), so the thresholds hold for the model that ships; the
slice is not refitted into it afterwards. Deterministic on one machine; the script prints the
new file's digest, which guards/toxicity/head.py pins as HEAD_DIGEST.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import json
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))

from toxicity_data import HATECHECK, LABELS, WRITTEN, calibration_rows, toxigen_files

from synthguard.guards.embedding import SentenceEncoder
from synthguard.guards.model_card import file_digest
from synthguard.guards.toxicity import HEAD_PATH, OfflineBackend, ToxicityHead
from synthguard.guards.toxicity.ensemble import ENCODER, PROFANITY
from synthguard.guards.toxicity.head import FORMAT

C = 3.0
NEIGHBOURS = 3
"""k: the mean similarity of the k nearest examples (k=1 follows single outliers)."""
NEIGHBOUR_LABELS = ("threat", "insult")
FP_BUDGET = {"threat": 0.004, "insult": 0.004, "identity_attack": 0.01}
"""Per label: the share of the threshold slice's clean rows allowed at or above its threshold
(together about 2 % of the slice's clean rows flagged by some label). Identity attacks get the
most, as the first head's 2 % did: on the slice, counter-speech and positive statements about
groups score as high as attacks, and a stricter cut leaves almost none caught."""
SLICE = 4
"""One pattern group in SLICE (by CRC32) calibrates thresholds; the rest is fit."""


def features(texts: list[str], encoder: SentenceEncoder, profanity: OfflineBackend) -> np.ndarray:
    """[embedding, offensive] per text, as the ensemble computes them."""
    offensive = np.array([s["offensive"] for s in profanity.predict(texts)])
    return np.hstack([encoder.encode(texts).astype(np.float64), offensive[:, None]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=HEAD_PATH)
    args = parser.parse_args()
    rows = calibration_rows()
    encoder, profanity = SentenceEncoder.load(), OfflineBackend.load()
    x = features([row.text for row in rows], encoder, profanity)
    dimensions = x.shape[1] - 1
    held = np.array([zlib.crc32(row.group.encode()) % SLICE == 0 for row in rows])
    fit = ~held
    y = {label: np.array([label in row.labels for row in rows]) for label in LABELS}
    fitted = np.flatnonzero(fit)
    heads: dict[str, dict[str, Any]] = {}
    for label in LABELS:
        if label in NEIGHBOUR_LABELS:
            examples = np.flatnonzero(y[label][fit]).tolist()
            heads[label] = {"kind": "neighbours", "threshold": 0.0, "examples": examples}
        else:
            model = _model().fit(x[fit], y[label][fit])
            heads[label] = {
                "kind": "logistic",
                "threshold": 0.0,
                "bias": float(model.intercept_[0]),
                "weights": [float(f"{w:.7g}") for w in model.coef_[0]],
            }
    memory = x[fitted, :dimensions].astype("<f2")
    head = {
        "format": FORMAT,
        "features": [f"{ENCODER} embedding[{i}]" for i in range(dimensions)]
        + [f"{PROFANITY} offensive"],
        "members": {
            ENCODER: encoder.card.checkpoint_digest,
            PROFANITY: profanity.card.checkpoint_digest,
        },
        "labels": heads,
        "neighbours": {
            "k": NEIGHBOURS,
            "shape": list(memory.shape),
            "dtype": "float16, little-endian, row-major",
            "embeddings": base64.b64encode(memory.tobytes()).decode("ascii"),
        },
        "training": _training(rows, held),
    }
    # Thresholds from the head as it will load (float16 neighbours), on the held-out slice.
    scores = ToxicityHead.parse(head, "unwritten").scores(x[held])
    clean = np.array([not row.labels for row in rows])[held]
    flagged = np.zeros(int(held.sum()), dtype=bool)
    for column, label in enumerate(LABELS):
        threshold = float(np.quantile(scores[clean, column], 1.0 - FP_BUDGET[label]))
        heads[label]["threshold"] = round(threshold, 6)
        hits = scores[:, column] >= heads[label]["threshold"]
        flagged |= hits
        positive = y[label][held]
        print(
            f"{label} ({heads[label]['kind']}): {y[label][fit].sum()} fitted positives, "
            f"threshold {threshold:.4f}, slice recall {hits[positive].mean():.3f} "
            f"({positive.sum()} rows) at {hits[clean].mean():.3%} clean flagged"
        )
    print(f"any label: {flagged[clean].mean():.3%} of {clean.sum()} slice clean rows flagged")
    args.out.write_text(json.dumps(head, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: HEAD_DIGEST = {file_digest(args.out)!r}")


def _training(rows: list[Any], held: np.ndarray) -> dict[str, Any]:
    clean = np.array([not row.labels for row in rows])
    sources = [HATECHECK, *toxigen_files(), *sorted(WRITTEN.glob("calibration*"))]
    return {
        "script": "benchmarks/train_toxicity_head.py",
        "rows": len(rows),
        "fitted_rows": int((~held).sum()),
        "threshold_rows": int(held.sum()),
        "threshold_clean_rows": int(clean[held].sum()),
        "logistic": f"LogisticRegression(C={C}, class_weight='balanced', lbfgs)",
        "fp_budget": FP_BUDGET,
        "scikit-learn": importlib.metadata.version("scikit-learn"),
        "sources": {str(path.relative_to(HATECHECK.parents[2])): _sha256(path) for path in sources},
        "instruction_rows": "synthguard.cli.demo.tasks and tests/guards/poisoning.py docstrings",
    }


def _model() -> LogisticRegression:
    return LogisticRegression(C=C, class_weight="balanced", max_iter=5000)


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


if __name__ == "__main__":
    main()
