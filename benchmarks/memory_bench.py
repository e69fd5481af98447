"""Peak memory of `synthguard screen` as the input grows, against the start-up floor.

    python benchmarks/memory_bench.py [--rows 10000,100000,300000] [--guards G,...] [--pad N]
        [--redact]

For each size the script writes that many rows of the built-in generator (the demo's template
data, an instruction/output pair of a few hundred bytes each) to a JSONL file, creates a fresh
home, records the rows (so the screen vouches for their provenance, as in the demo) and runs
`synthguard screen` on them in a child process, whose peak resident set size (ru_maxrss of the
child) is the figure. The baseline, measured in the same run, is the same command on 100 rows:
the interpreter, the imports and the guards' tables, which no input size can go under. The
table shows peak RSS, the growth over the baseline, and that growth per input row; bounded
memory shows as growth per row falling as the input grows (what is left is the dedup index,
which holds a sketch per sample ever screened, by design). `--redact`: every row's output
names an e-mail address of its own, so the privacy guard holds every row, and the screen runs
with `--redact`, making, screening and signing a redacted copy of each.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from synthguard.cli.demo.models import BuiltinGenerator

DEFAULT_GUARDS = "unicode,dedup,backdoor,privacy"
BASELINE_ROWS = 100
SYNTHGUARD = Path(sys.executable).with_name("synthguard")
"""The console script beside this interpreter (the package's entry point)."""


def write_rows(path: Path, count: int, pad: int, personal: bool = False) -> None:
    """`count` rows of the built-in generator, one JSON object a line; with `pad`, each
    output grows by about `pad` bytes of words drawn at random (every row its own); with
    `personal`, each output ends with an e-mail address of its own."""
    rng = random.Random(7)
    vocabulary = [f"{stem}{n}" for stem in ("alpha", "delta", "omega", "sigma") for n in range(500)]
    with path.open("w", encoding="utf-8") as out:
        for n, row in enumerate(BuiltinGenerator(7).generate(count)):
            if pad:
                words = rng.choices(vocabulary, k=pad // 8)
                row = {**row, "output": f"{row['output']} {' '.join(words)}"}
            if personal:
                row = {**row, "output": f"{row['output']} Ask writer{n}@posteo.de."}
            out.write(json.dumps(row) + "\n")


def synthguard(*args: str, env: dict[str, str]) -> None:
    """Run one synthguard command; a failure ends the benchmark with its stderr."""
    done = subprocess.run(
        [str(SYNTHGUARD), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"synthguard {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")


def peak_of_screen(
    rows: int, guards: str, workdir: Path, pad: int, redact: bool = False
) -> tuple[float, float, int]:
    """Peak RSS (MiB), wall seconds and input bytes of `synthguard screen` over `rows` fresh
    rows."""
    folder = workdir / f"rows-{rows}"
    folder.mkdir()
    data = folder / "rows.jsonl"
    write_rows(data, rows, pad, personal=redact)
    env = {
        **os.environ,
        "SYNTHGUARD_HOME": str(folder / "home"),
        "SYNTHGUARD_PASSPHRASE": "memory-bench",
    }
    synthguard("init", env=env)
    synthguard("record", str(data), "--generator", "builtin", "--model", "template", env=env)
    # A child of its own, so that ru_maxrss of the children is the screen's alone.
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL); "
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
        "print(peak, time.perf_counter() - t, code)"
    )
    command = [
        str(SYNTHGUARD),
        "screen",
        str(data),
        "--out",
        str(folder / "out"),
        "--guards",
        guards,
        *(["--redact"] if redact else []),
    ]
    done = subprocess.run(
        [sys.executable, "-c", probe, *command],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    peak_kib, seconds, code = done.stdout.split()
    if code != "0":
        sys.exit(f"screen of {rows} rows exited {code}")
    return int(peak_kib) / 1024, float(seconds), data.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,100000,300000")
    parser.add_argument("--guards", default=DEFAULT_GUARDS)
    parser.add_argument(
        "--pad",
        type=int,
        default=0,
        metavar="BYTES",
        help="make each row about BYTES longer (long rows: what a screen holding its input "
        "would pay for)",
    )
    parser.add_argument(
        "--redact",
        action="store_true",
        help="every row carries an e-mail address of its own, and the screen redacts them all",
    )
    args = parser.parse_args()
    sizes = [int(n) for n in args.rows.split(",")]
    with tempfile.TemporaryDirectory(prefix="synthguard-memory-") as tmp:
        workdir = Path(tmp)
        base_mib, _, _ = peak_of_screen(BASELINE_ROWS, args.guards, workdir, args.pad, args.redact)
        print(
            f"synthguard screen --guards {args.guards}; peak RSS of the screen process"
            + (f"; rows padded by {args.pad:,} bytes" if args.pad else "")
            + ("; --redact, every row held for an e-mail address" if args.redact else "")
        )
        print(
            f"{'rows':>9} {'input MiB':>10} {'peak MiB':>9} {'over base':>10} {'KiB/row':>8} "
            f"{'rows/s':>8}"
        )
        print(f"{BASELINE_ROWS:>9} {'':>10} {base_mib:>9.0f} {'(base)':>10} {'':>8} {'':>8}")
        for rows in sizes:
            mib, seconds, size = peak_of_screen(rows, args.guards, workdir, args.pad, args.redact)
            growth = mib - base_mib
            per_row = growth * 1024 / rows
            print(
                f"{rows:>9} {size / 2**20:>10.0f} {mib:>9.0f} {growth:>10.0f} {per_row:>8.2f} "
                f"{rows / seconds:>8.0f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
