"""The screen on Dask workers against the screen in one process, on the same real rows.

    python benchmarks/scale_bench.py [--rows 20000] [--seed 7] [--sections library,cli,dedup]

The rows: library docstrings as Alpaca rows (`tests/guards/poisoning.py`, the corpus of
`guards_bench.py`), a rare-token trigger and a link payload planted, and near and exact copies
of earlier rows (one in ten). The guards: every non-model guard of the default screen (unicode,
dedup, decontamination against `guards_bench`'s 2,000 protected items, backdoor, privacy).

- `library`: `screen_rows` in this process against `screen_rows_on` a local cluster of 1 and 2
  worker processes (cluster started and warmed before the clock) and a `ForkedEngine` of one
  worker per core (the command's default), rows/s and the ratio. Then
  the per-partition costs (each guard's worker work, the driver's decisions, measured here
  in this process one partition at a time) and the bytes a partition sends each way, and from
  them a paper extrapolation to 100 M rows on 32 machines.
- `cli`: `synthguard screen --guards unicode,dedup,decontamination,backdoor,privacy` as a whole
  command (start-up, cluster start, signing included): pinned to one core (one process, records
  signed there too) against no option on every core (forked workers) and `--workers 1` and 2.
- `dedup`: `synthguard screen --guards dedup` as a whole command against the naive datasketch
  loop on the same rows: per row a MinHash with one `update` per 5-word shingle, then
  `MinHashLSH.query` and `insert`.

Every figure is a ratio to a baseline measured in the same run; the machine is shared, so
expect a few per cent of noise.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from datasketch import MinHash, MinHashLSH

from synthguard.guards import distributed
from synthguard.guards.dedup.normalise import normalised_words
from synthguard.guards.distributed import Recipe, screen_rows_on
from synthguard.guards.screen import BATCH, BLOCK, screen_rows
from synthguard.provenance.engine import DaskEngine, Engine, ForkedEngine
from synthguard.provenance.reader import Row
from synthguard.provenance.sample import Sample, sample_from_row, sample_text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "guards"))
import poisoning
from guards_bench import benchmark_item

SYNTHGUARD = Path(sys.executable).with_name("synthguard")
NON_MODEL = "unicode,dedup,decontamination,backdoor,privacy"
TARGET_MACHINES, TARGET_ROWS, CORES_PER_MACHINE = 32, 100_000_000, 2


def corpus_rows(size: int, seed: int) -> list[dict[str, Any]]:
    """The real rows with attacks planted and one row in ten a copy (near or exact)."""
    rng = random.Random(seed)
    base = poisoning.plant(
        poisoning.corpus(size - size // 10, seed=seed),
        {"rare-token trigger -> refusal+link": 0.005, "payload link, no trigger": 0.005},
        seed=seed,
    )
    rows = [dict(row) for row in base.rows]
    for n in range(size - len(rows)):
        at = rng.randrange(1, len(rows))
        copy = dict(rows[rng.randrange(at)])
        words = copy["output"].split()
        if n % 2 and len(words) > 12:
            words[rng.randrange(len(words))] = "altered"
            copy["output"] = " ".join(words)
        rows.insert(at, copy)
    return rows


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = call()
    return time.perf_counter() - start, value


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    print(f"\n{title}")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  ".join(
                f"{cell:>{w}}" if i else f"{cell:<{w}}"
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )


def library(rows: list[Row], protected: Path) -> dict[str, float]:
    """rows/s of the screen in this process and on 1 and 2 workers, with the CPU seconds each
    process spent (this machine is shared: CPU time says what the wall clock cannot); returns
    the per-row costs for the extrapolation."""
    n = len(rows)
    cpu = time.process_time()
    single, _ = timed(lambda: screen_rows(rows, poisoning.funnel(protected)))
    single_cpu = time.process_time() - cpu
    lines = [
        (
            "one process",
            f"{single:.2f}",
            f"{n / single:,.0f}",
            "1.00",
            f"{single_cpu:.2f}",
            "-",
            f"{single_cpu:.2f}",
        )
    ]
    for workers in (1, 2):
        started, engine = timed(lambda w=workers: DaskEngine.start(w))
        try:
            warm(engine, rows, protected)
            before, cpu = worker_cpu(engine), time.process_time()
            took, _ = timed(lambda e=engine: screen_rows_on(e, rows, poisoning.funnel(protected)))
            driver_cpu, spent = time.process_time() - cpu, worker_cpu(engine) - before
        finally:
            engine.close()
        # On 2 idle cores: the driver's CPU, or all of it shared by the cores, whichever is more.
        ideal = max(driver_cpu, (driver_cpu + spent) / CORES_PER_MACHINE)
        lines.append(
            (
                f"{workers} Dask worker{'s' * (workers > 1)}",
                f"{took:.2f}",
                f"{n / took:,.0f}",
                f"{single / took:.2f}",
                f"{driver_cpu:.2f}",
                f"{spent:.2f}",
                f"{ideal:.2f} (x{single_cpu / ideal:.2f})",
            )
        )
        print(f"  (cluster of {workers} started in {started:.1f} s, warmed, before the clock)")
    lines.append(forked(rows, protected, single, single_cpu))
    table(
        f"screen_rows, non-model guards, {n:,} rows (target: 2 workers >= 1.7x one process)",
        (
            "engine",
            "wall s",
            "rows/s",
            "x one process",
            "driver CPU s",
            "workers CPU s",
            "idle 2-core estimate s",
        ),
        lines,
    )
    return partition_costs(rows, protected)


def forked(rows: list[Row], protected: Path, single: float, single_cpu: float) -> tuple[str, ...]:
    """The line of the command's default on this machine: a `ForkedEngine` of one worker per
    core, forked before the clock and not warmed (its workers build their guards on the clock,
    as in the command); its workers' CPU read once they have ended."""
    started, engine = timed(ForkedEngine)
    try:
        cpu = time.process_time()
        took, _ = timed(lambda: screen_rows_on(engine, rows, poisoning.funnel(protected)))
        driver_cpu = time.process_time() - cpu
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        before = children.ru_utime + children.ru_stime
    finally:
        engine.close()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    spent = children.ru_utime + children.ru_stime - before
    print(f"  (forked engine of {engine.workers} started in {started:.2f} s)")
    ideal = max(driver_cpu, (driver_cpu + spent) / CORES_PER_MACHINE)
    return (
        f"{engine.workers} forked workers",
        f"{took:.2f}",
        f"{len(rows) / took:,.0f}",
        f"{single / took:.2f}",
        f"{driver_cpu:.2f}",
        f"{spent:.2f}",
        f"{ideal:.2f} (x{single_cpu / ideal:.2f})",
    )


def worker_cpu(engine: Engine) -> float:
    """CPU seconds the engine's worker processes have spent so far."""
    client = engine._client  # type: ignore[attr-defined]
    return float(sum(client.run(time.process_time).values()))


def warm(engine: Engine, rows: list[Row], protected: Path) -> None:
    """Each worker imports and builds its guards once: a screen of a few rows on each."""
    screen_rows_on(engine, rows[: 2 * BATCH], poisoning.funnel(protected))


def partition_costs(rows: list[Row], protected: Path) -> dict[str, float]:
    """Per-partition costs measured here, one partition at a time, and the bytes each way."""
    samples = [row.sample for row in rows if row.sample is not None]
    parts = [samples[lo : lo + BLOCK] for lo in range(0, len(samples), BLOCK)]
    full = [p for p in parts if len(p) == BLOCK] or parts
    driver_guards = poisoning.funnel(protected)
    prepared = [g for g in driver_guards if isinstance(g, distributed.Prepares)]
    per_row = [g for g in driver_guards if distributed.row_recipe(g) is not None]
    workers = [g.recipe()() for g in prepared]
    lines = []
    costs = {"worker": 0.0, "driver": 0.0, "bytes_out": 0.0, "bytes_back": 0.0}
    recipes = tuple(Recipe(g.info, g.recipe()) for g in prepared)
    for guard, worker in zip(prepared, workers, strict=True):
        work_s = decide_s = 0.0
        back = 0
        for part in full:
            batches = [part[lo : lo + BATCH] for lo in range(0, len(part), BATCH)]
            took, works = timed(lambda b=batches, w=worker: [w.prepare(x) for x in b])
            work_s += took
            back += len(pickle.dumps(works, protocol=5))
            took, _ = timed(
                lambda b=batches, w=works, g=guard: [
                    g.check_prepared(x, y) for x, y in zip(b, w, strict=True)
                ]
            )
            decide_s += took
        finish_s, _ = timed(guard.finish)
        rows_seen = sum(len(p) for p in full)
        costs["worker"] += work_s / rows_seen
        costs["driver"] += (decide_s + finish_s) / rows_seen
        costs["bytes_back"] += back / rows_seen
        lines.append(
            (
                guard.info.name,
                f"{1e3 * work_s / len(full):.0f}",
                f"{1e3 * (decide_s + finish_s) / len(full):.0f}",
                f"{finish_s:.2f}",
                f"{back / rows_seen:,.0f}",
                _recipe_kb(Recipe(guard.info, guard.recipe())),
            )
        )
    for guard in per_row:
        took, _ = timed(
            lambda g=guard: [
                g.check(p[lo : lo + BATCH]) for p in full for lo in range(0, len(p), BATCH)
            ]
        )
        rows_seen = sum(len(p) for p in full)
        costs["worker"] += took / rows_seen
        recipe = distributed.row_recipe(guard)
        kb = _recipe_kb(recipe) if recipe is not None else "-"
        lines.append((guard.info.name, f"{1e3 * took / len(full):.0f}", "0", "-", "(verdicts)", kb))
    out = len(pickle.dumps(distributed._Part(recipes, [full[0]]), protocol=5)) / len(full[0])
    costs["bytes_out"] = out
    # Reading the rows (JSON, canonical content, sample ids) and the funnel are the driver's.
    took, _ = timed(lambda: [sample_from_row(dict(r.raw)) for r in rows[:BLOCK]])
    costs["driver"] += took / min(len(rows), BLOCK)
    lines.append(
        (
            "read rows (driver)",
            "0",
            f"{1e3 * took * BLOCK / min(len(rows), BLOCK):.0f}",
            "-",
            "",
            "",
        )
    )
    table(
        f"per partition of {BLOCK:,} samples, measured in one process (ms; the driver's share "
        "includes the guard's `finish`, the judgement after the last block, also shown whole); "
        f"bytes per row sent back (samples out: {out:,.0f} B/row)",
        ("guard", "worker ms", "driver ms", "finish s", "back B/row", "recipe KB"),
        lines,
    )
    return costs


def _recipe_kb(recipe: Recipe) -> str:
    """The pickled size of what a worker builds a guard from: sent whole in a screen's first
    parts only, then as a reference (`distributed._Shipping`)."""
    return f"{len(pickle.dumps(recipe, protocol=pickle.HIGHEST_PROTOCOL)) / 1024:,.1f}"


def extrapolate(costs: dict[str, float]) -> None:
    """On paper: 100 M rows on 32 machines of 2 cores, from the measured per-row costs."""
    worker = costs["worker"] * TARGET_ROWS / (TARGET_MACHINES * CORES_PER_MACHINE)
    driver = costs["driver"] * TARGET_ROWS
    shuffle = (costs["bytes_out"] + costs["bytes_back"]) * TARGET_ROWS
    single = (costs["worker"] + costs["driver"]) * TARGET_ROWS
    print(
        f"\npaper extrapolation, {TARGET_ROWS:,} rows on {TARGET_MACHINES} machines x "
        f"{CORES_PER_MACHINE} cores:\n"
        f"  workers' share: {costs['worker'] * 1e6:.0f} us/row -> {worker / 3600:.2f} h spread "
        f"over {TARGET_MACHINES * CORES_PER_MACHINE} cores\n"
        f"  driver's share (reading, dedup decisions and index, statistics numbering and "
        f"reduce): {costs['driver'] * 1e6:.0f} us/row -> {driver / 3600:.2f} h on one core\n"
        f"  one process: {single / 3600:.1f} h; the cluster: max(workers, driver) = "
        f"{max(worker, driver) / 3600:.2f} h, speed-up x{single / max(worker, driver):.1f}, "
        "bounded by the driver\n"
        f"  shuffle: {(costs['bytes_out'] + costs['bytes_back']):,.0f} B/row -> "
        f"{shuffle / 1e9:,.0f} GB through the driver ({shuffle / max(worker, driver) / 1e6:,.0f} "
        "MB/s at that pace)"
    )


def cli(
    source: Path,
    protected: Path,
    folder: Path,
    names: str,
    options: list[str],
    *,
    one_core: bool = False,
) -> float:
    """Seconds for one whole `synthguard screen` into a fresh home (its `init` untimed), with
    `one_core` pinned to this process's first core (the command then forks nothing)."""
    home = folder / f"home-{len(list(folder.iterdir()))}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTHGUARD_")}
    env["SYNTHGUARD_PASSPHRASE"] = "bench"
    subprocess.run(
        [str(SYNTHGUARD), "--home", str(home), "init"], env=env, check=True, capture_output=True
    )
    args = [
        str(SYNTHGUARD),
        "--home",
        str(home),
        "screen",
        str(source),
        "--out",
        str(home / "out"),
        "--guards",
        names,
        *options,
    ]
    if "decontamination" in names:
        args += ["--protected", str(protected)]
    core = min(os.sched_getaffinity(0))
    pin = (lambda: os.sched_setaffinity(0, {core})) if one_core else None
    took, done = timed(
        lambda: subprocess.run(args, env=env, capture_output=True, text=True, preexec_fn=pin)
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return float(took)


def cli_section(source: Path, protected: Path, folder: Path, rows: int) -> None:
    single = cli(source, protected, folder, NON_MODEL, [], one_core=True)
    lines = [("one core (one process)", f"{single:.2f}", f"{rows / single:,.0f}", "1.00")]
    runs = {
        f"{len(os.sched_getaffinity(0))} cores (forked workers)": [],
        "--workers 1 (Dask)": ["--workers", "1"],
        "--workers 2 (Dask)": ["--workers", "2"],
    }
    for label, options in runs.items():
        took = cli(source, protected, folder, NON_MODEL, options)
        lines.append((label, f"{took:.2f}", f"{rows / took:,.0f}", f"{single / took:.2f}"))
    table(
        f"synthguard screen --guards {NON_MODEL}, {rows:,} rows, whole command (start-up, "
        "cluster start, signing included)",
        ("options", "s", "rows/s", "x one core"),
        lines,
    )


def naive_datasketch(texts: Sequence[str]) -> int:
    """The naive loop: per-shingle MinHash.update, MinHashLSH query then insert, 5-word
    shingles; returns how many rows had a candidate."""
    lsh = MinHashLSH(threshold=0.65, num_perm=128)
    flagged = 0
    for i, text in enumerate(texts):
        words = normalised_words(text)
        minhash = MinHash(num_perm=128, seed=1)
        for k in range(max(len(words) - 4, 1)):
            minhash.update(" ".join(words[k : k + 5]).encode())
        if lsh.query(minhash):
            flagged += 1
        lsh.insert(str(i), minhash)
    return flagged


def dedup_section(source: Path, protected: Path, folder: Path, samples: list[Sample]) -> None:
    texts = [sample_text(s) for s in samples]
    naive, flagged = timed(lambda: naive_datasketch(texts))
    ours = cli(source, protected, folder, "dedup", [])
    table(
        f"dedup on the same {len(texts):,} rows (target: the CLI >= 4x the naive loop)",
        ("what", "s", "rows/s", "x naive"),
        [
            (
                "naive datasketch loop (in process)",
                f"{naive:.2f}",
                f"{len(texts) / naive:,.0f}",
                "1.00",
            ),
            (
                "synthguard screen --guards dedup (whole CLI)",
                f"{ours:.2f}",
                f"{len(texts) / ours:,.0f}",
                f"{naive / ours:.2f}",
            ),
        ],
    )
    print(f"  (the naive loop had LSH candidates for {flagged:,} rows)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sections", default="library,cli,dedup")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    raw = corpus_rows(args.rows, args.seed)
    rows = [Row(i + 1, r, sample_from_row(r), None) for i, r in enumerate(raw)]
    print(f"{len(rows):,} rows; cores here: {len(os.sched_getaffinity(0))}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        protected = folder / "protected.jsonl"
        protected.write_text(
            "".join(f'{{"id": "q{i}", "question": "{benchmark_item(i)}"}}\n' for i in range(2000)),
            encoding="utf-8",
        )
        source = folder / "rows.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in raw), encoding="utf-8")
        homes = folder / "homes"
        homes.mkdir()
        if "library" in sections:
            extrapolate(library(rows, protected))
        if "cli" in sections:
            cli_section(source, protected, homes, len(rows))
        if "dedup" in sections:
            samples = [r.sample for r in rows if r.sample is not None]
            dedup_section(source, protected, homes, samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
