"""What importing one part of synthguard costs, against importing the whole command line.

    python benchmarks/import_bench.py [--rounds R]

Each entry point is imported in a fresh interpreter (`python -c`), R times (7 by default); the
table shows the median wall time of the interpreter run, the synthguard modules it loaded, and
both as ratios of the baseline measured in the same rounds: every command of the command line
loaded, and with them the whole package (what `synthguard` imported at start-up before each
command was loaded when it runs; `synthguard.cli.main` alone and a few commands' modules are
rows of their own). An empty interpreter's time is shown too,
as the floor nothing can go under. A part that pulls in more than it needs (a guard loading the
report, the log loading the guards) shows up here as a ratio close to 1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from statistics import median

BASELINE = (
    "from synthguard.cli.main import COMMANDS, cli; "
    "[cli.get_command(None, name) for name in COMMANDS]"
)
"""Every command loaded: what the command line imported at start-up before its commands were
loaded on demand (a command now pays for its own module only)."""
ENTRY_POINTS = (
    "pass",
    "import synthguard.provenance",
    "from synthguard.ledger.log import Ledger",
    "import synthguard.ledger.home",
    "import synthguard.guards.dedup",
    # The dedup guard made, as a screen makes it: its permutations are drawn without datasketch,
    # whose import (the next row) brings scipy.
    "from synthguard.guards.dedup.guard import DedupGuard; DedupGuard()",
    "import datasketch",
    "import synthguard.guards.backdoor",
    # The privacy guard (detect-secrets, phonenumbers): a screen loads it only when it runs it.
    "import synthguard.guards.privacy",
    "from synthguard.guards import screen_file",
    "from synthguard.ledger.report import compute_report",
    "from synthguard.ledger.release import verify_release",
    "import synthguard.cli.main",
    "import synthguard.cli.record",
    "import synthguard.cli.verify",
    "import synthguard.cli.screen",
    BASELINE,
)
_COUNT = "import sys; print(sum(1 for m in sys.modules if m.startswith('synthguard')))"


def run(statement: str) -> tuple[float, int]:
    """Wall seconds of a fresh interpreter importing `statement`, and the modules it loaded."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", f"{statement}\n{_COUNT}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - start, int(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    times: dict[str, list[float]] = {statement: [] for statement in ENTRY_POINTS}
    modules: dict[str, int] = {}
    for _ in range(args.rounds):
        # Interleaved, so a burst of load on a shared machine lands on every entry alike.
        for statement in ENTRY_POINTS:
            seconds, count = run(statement)
            times[statement].append(seconds)
            modules[statement] = count
    base_time = median(times[BASELINE])
    base_modules = modules[BASELINE]
    width = max(56, *(len(statement) for statement in ENTRY_POINTS if statement != BASELINE))
    print(f"{'import':{width}} {'modules':>8} {'of all':>7} {'ms':>7} {'x baseline':>11}")
    for statement in ENTRY_POINTS:
        took = median(times[statement])
        share = modules[statement] / base_modules
        name = {"pass": "(empty interpreter)", BASELINE: "(every command loaded)"}.get(
            statement, statement
        )
        print(
            f"{name:{width}} {modules[statement]:8} {share:7.0%} {took * 1000:7.0f} "
            f"{took / base_time:11.2f}"
        )
    print(f"median of {args.rounds} rounds; baseline: every command loaded ({BASELINE})")


if __name__ == "__main__":
    main()
