"""What a later screen pays for the ledger's quarantines: `held_samples` against the whole fold.

    python benchmarks/held_bench.py [--samples 15000] [--quarantined 0.27] [--rounds 3]

A screen against a ledger runs the `held` guard last, which reads every entry's signed payload
(an edited index column must not hide a quarantine). The script signs one `generated` and one
`screened` record per sample into a scratch SQLite ledger, a share `--quarantined` of the
screenings quarantining, then times `held_samples` (which parses only the quarantining
screenings and the reviews) against the baseline, measured in the same run: the whole fold of
every screening and review (`screening_status`) filtered to the held samples, which is what
`held` read before. Both must give the same samples; the script checks they do.
"""

from __future__ import annotations

import argparse
import random
import time

from scratch_db import sqlite_url

from synthguard.ledger.log.store import Ledger
from synthguard.ledger.screening import held_samples, screening_status
from synthguard.provenance import Generator, Recorder
from synthguard.provenance.keys import SigningKey


def fill(ledger: Ledger, samples: int, quarantined: float, seed: int = 7) -> None:
    """One generated and one screened record per sample, a share of the screenings failing."""
    rng = random.Random(seed)
    writer = Generator(name="bench", model="tiny-lm")
    texts = [f"benchmark sample {i}" for i in range(samples)]
    with Recorder(ledger) as recorder, recorder.batch():
        for text in texts:
            recorder.generated(text, writer)
    with Recorder(ledger) as recorder, recorder.batch():
        for text in texts:
            failed = rng.random() < quarantined
            verdict = {"guard": "dedup", "rule": "near", "passed": not failed}
            outcome = "quarantined" if failed else "accepted"
            recorder.screened(text, detail={"outcome": outcome, "verdicts": [verdict]})


def best(call: object, rounds: int) -> tuple[float, object]:
    """The fastest of `rounds` calls, and what the call returned."""
    assert callable(call)
    fastest, value = float("inf"), None
    for _ in range(rounds):
        start = time.perf_counter()
        value = call()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=15_000)
    parser.add_argument("--quarantined", type=float, default=0.27)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with sqlite_url() as url:
        ledger = Ledger.create(url, SigningKey.generate())
        fill(ledger, args.samples, args.quarantined)
        whole, before = best(
            lambda: {k: v for k, v in screening_status(ledger).items() if v.held}, args.rounds
        )
        lean, after = best(lambda: held_samples(ledger), args.rounds)
        if before != after:
            raise SystemExit("held_samples and the whole fold disagree")
        print(
            f"{ledger.size():,} entries, {args.samples:,} screenings, {len(after):,} held "
            f"(best of {args.rounds})\n"
            f"{'what':<44} {'s':>6} {'x whole fold':>13}\n"
            f"{'whole fold, filtered to held (before)':<44} {whole:>6.2f} {1.0:>13.2f}\n"
            f"{'held_samples (quarantines and reviews only)':<44} {lean:>6.2f} "
            f"{lean / whole:>13.2f}"
        )
        ledger.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
