"""`synthguard record` and `synthguard verify` as a user runs them, against raw Ed25519.

    python benchmarks/record_bench.py [--rows 20000 100000] [--skip-workers]

Each command runs as a subprocess into a fresh home, so interpreter start-up, imports and the
key's scrypt unlocking are in every figure. Beside each, the raw Ed25519 rates on one core of
this machine, measured in the same run just before: sign for `record` (its floor, one
signature per row), verify x cores for `verify`. Rows are Alpaca-shaped with text of
instruction-tuning length (a 12-word instruction, up to 20 words of input, 20-120 words of
output). `record` runs by default (the lines read here and the records appended; parsed,
built and signed by processes forked from it, one per core), on one core only (taskset: how it
grows with cores), and with `--workers 2` (a local Dask cluster parses and builds, this process
signs). The baseline row "key unlocked after imports" runs the command through
`synthguard.cli.main` rather than the console script (`synthguard.cli.entry`, which starts the
key's unlock before the command's imports): what unlocking beside the imports saves.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ledger_bench import raw_parallel_verify, raw_rates

SCRIPT = Path(sys.executable).with_name("synthguard")
AFTER_IMPORTS = [sys.executable, "-c", "from synthguard.cli.main import main; main()"]
"""The command without the console script's unlock ahead."""
AFTER_NAME = "key unlocked after imports"
PASSPHRASE = "record-bench"
_VOCABULARY = (
    "the of and to in a is that for it as with was on be by this are from or have an they "
    "which one you were all there would their we been has when who will more no if out so "
    "said what up its about into than them can only other new some could time these two may "
    "then do first any now such like our over even most made after also did many before must "
    "through back years where much your way well down should because each just those people"
)
WORDS = _VOCABULARY.split()


def write_rows(path: Path, count: int, seed: int = 0) -> None:
    """`count` distinct Alpaca rows of instruction-tuning length."""
    rng = random.Random(seed)

    def text(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n))

    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            row = {
                "instruction": f"Task {i}: {text(12)}",
                "input": text(rng.randint(0, 20)),
                "output": text(rng.randint(20, 120)),
            }
            out.write(json.dumps(row) + "\n")


def run(home: Path, *args: str, cores: int | None = None, script: list[str] | None = None) -> float:
    """Seconds `synthguard --home HOME ARGS...` takes, start-up included; exit 0 required."""
    command = [*(script or [str(SCRIPT)]), "--home", str(home), *args]
    if cores is not None:
        command = ["taskset", "-c", ",".join(map(str, range(cores))), *command]
    env = {**os.environ, "SYNTHGUARD_PASSPHRASE": PASSPHRASE}
    for name in ("SYNTHGUARD_HOME", "SYNTHGUARD_DB"):
        env.pop(name, None)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")
    return elapsed


def fresh_home(folder: Path) -> Path:
    """A new home with its key and ledger."""
    if folder.exists():
        shutil.rmtree(folder)
    run(folder, "init")
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--skip-workers", action="store_true", help="no Dask runs")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    variants: list[tuple[str, list[str], int | None]] = [
        ("default", [], None),
        (AFTER_NAME, [], None),
        ("default, 1 core", [], 1),
    ]
    if not args.skip_workers:
        variants.append(("--workers 2", ["--workers", "2"], None))

    record_rows, verify_rows = [], []
    with tempfile.TemporaryDirectory(prefix="record_bench.") as scratch:
        folder = Path(scratch)
        for count in args.rows:
            source = folder / f"rows{count}.jsonl"
            write_rows(source, count)
            for name, options, pinned in variants:
                home = fresh_home(folder / "home")
                sign, _ = raw_rates(1.0, verify=False)
                seconds = run(
                    home,
                    "record",
                    str(source),
                    "--generator",
                    "g",
                    "--model",
                    "m",
                    *options,
                    cores=pinned,
                    script=AFTER_IMPORTS if name == AFTER_NAME else None,
                )
                rate = count / seconds
                record_rows.append((count, name, sign, seconds, rate, rate / sign))
            # The ledger of the last variant: `count` records and the genesis entry.
            for name, options, pinned in variants:
                if pinned is not None or name == AFTER_NAME:
                    continue
                _, verify = raw_rates(1.0, sign=False)
                verify_all = raw_parallel_verify(cores, 1.0)
                seconds = run(home, "verify", *options)
                rate = (count + 1) / seconds
                verify_rows.append(
                    (count, name, verify, verify_all, seconds, rate, rate / (verify * cores))
                )

    head = (
        f"{'rows':>7} {'record':<26} {'raw sign/s':>10} {'seconds':>8} {'rows/s':>8} "
        f"{'rows/s / raw sign':>17}"
    )
    # On a shared machine the other cores may be busy: this says how many cores' worth of
    # Ed25519 this run really had (the verify table measures it again before each row).
    _, alone = raw_rates(1.0, sign=False)
    available = raw_parallel_verify(cores, 1.0) / alone
    print(
        f"{cores} cores, {available:.2f} cores' worth of Ed25519 available now; each ratio "
        "against the raw rate measured just before it\n"
    )
    print(head)
    print("-" * len(head))
    for count, name, sign, seconds, rate, ratio in record_rows:
        print(f"{count:>7} {name:<26} {sign:>10.0f} {seconds:>8.2f} {rate:>8.0f} {ratio:>17.2f}")
    head = (
        f"{'entries':>7} {'verify':<16} {'raw verify/s':>12} {'raw, all cores':>14} "
        f"{'seconds':>8} {'entries/s':>9} {'/ (raw x cores)':>15}"
    )
    print()
    print(head)
    print("-" * len(head))
    for count, name, verify, verify_all, seconds, rate, ratio in verify_rows:
        print(
            f"{count + 1:>7} {name:<16} {verify:>12.0f} {verify_all:>14.0f} {seconds:>8.2f} "
            f"{rate:>9.0f} {ratio:>15.2f}"
        )
    print(
        "\nseconds: the whole command (interpreter start-up, imports, scrypt key unlock, the"
        "\nwork, the final checkpoint); raw sign/verify: Ed25519 on one core, 600-byte messages;"
        "\nraw, all cores: one verifying process per core at once. Targets: record >= 0.6 x raw"
        "\nsign; verify >= 0.75 x raw verify x cores."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
