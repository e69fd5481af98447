"""CPU time for the benchmarks: the `--one-core` option, and the best of a few timed calls in
the process's own CPU seconds (other work on a shared machine does not count)."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable


def add_one_core(parser: argparse.ArgumentParser) -> None:
    """Give `parser` the `--one-core` flag that `pin` reads."""
    parser.add_argument("--one-core", action="store_true", help="pin the process to one core")


def pin(args: argparse.Namespace) -> None:
    """Pin the process to its lowest core when `--one-core` was given."""
    if args.one_core:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def best_seconds(call: Callable[[], object], rounds: int = 3) -> float:
    """CPU seconds of the fastest of `rounds` calls."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        call()
        best = min(best, time.process_time() - started)
    return best
