"""Middleware overhead: `@track` against the bare function it wraps, measured in the same run.

    python benchmarks/middleware_bench.py [--rounds R] [--cores N] [--quick]

Four call styles (sync single, sync batches of 256, async single, async batches of 256), each in
the recorder's two modes (durable: a call returns once its records are committed and flushed;
buffered: records are committed in the background within the flush interval), on two
generators:

(a) a no-op that returns a prebuilt row: the pure cost of recording. Reported as samples
    recorded per second, beside the bare function's rate, the raw Ed25519 signing rate of the
    same process (signing is the floor of recording) and the ledger's own append rate for the
    same records, already prepared, in the transactions the mode makes (one per single durable
    call, 256 per batched durable call, the recorder's batch size when buffered): so the
    ratio recorded/ledger is what the middleware itself costs;
(b) a generator that takes 10 ms per sample (time.sleep / asyncio.sleep): the overhead a
    pipeline feels, (wrapped - bare) / bare.

Every figure is the median of several rounds, and each round measures its baseline right
before the wrapped run, because the speed of this shared machine drifts within a run. Async
calls are awaited one after another, as a pipeline awaiting each model call would. A
recorder's closing flush is part of the wrapped time, so "recorded/s" counts only records
that are in the ledger. The process is pinned to --cores cores (default 1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from synthguard.cli.demo.models import BuiltinGenerator
from synthguard.ledger.log.kept import KeptCheckpoint
from synthguard.ledger.log.store import Ledger
from synthguard.provenance import Recorder, track
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.recorder import DEFAULT_BATCH_SIZE, Mode
from synthguard.provenance.sample import sample_from_row

BATCH = 256
SLOW = 0.010  # seconds per sample of generator (b)
STYLES = ("sync", "sync batch", "async", "async batch")
MODES: tuple[Mode, ...] = ("durable", "buffered")
IDENTITY = BuiltinGenerator(0).identity()
TARGET_RATE = 20_000
TARGET_OVERHEAD = 0.05


class Rows:
    """Distinct prebuilt Alpaca rows, handed out in order (a no-op generator's output)."""

    def __init__(self, count: int) -> None:
        base = list(BuiltinGenerator(1).generate(500))
        self.rows = [
            {**base[i % len(base)], "instruction": f"{base[i % len(base)]['instruction']} #{i}"}
            for i in range(count)
        ]
        self.next = 0

    def take(self, n: int) -> list[int]:
        """Indexes of the next `n` rows (wrapping round: a repeat is recorded again)."""
        start = self.next
        self.next += n
        return [(start + i) % len(self.rows) for i in range(n)]


def make_functions(rows: list[dict[str, str]], slow: bool) -> dict[str, Callable[..., Any]]:
    """The bare generator for each call style: index(es) in, prebuilt row(s) out."""

    def single(i: int) -> dict[str, str]:
        if slow:
            time.sleep(SLOW)
        return rows[i]

    def batch(indexes: list[int]) -> list[dict[str, str]]:
        if slow:
            time.sleep(SLOW * len(indexes))
        return [rows[i] for i in indexes]

    async def async_single(i: int) -> dict[str, str]:
        if slow:
            await asyncio.sleep(SLOW)
        return rows[i]

    async def async_batch(indexes: list[int]) -> list[dict[str, str]]:
        if slow:
            await asyncio.sleep(SLOW * len(indexes))
        return [rows[i] for i in indexes]

    return {"sync": single, "sync batch": batch, "async": async_single, "async batch": async_batch}


def drive(style: str, function: Callable[..., Any], indexes: list[int]) -> None:
    """Call `function` over `indexes` in `style`: one by one, or in batches of BATCH."""
    chunks = [indexes[i : i + BATCH] for i in range(0, len(indexes), BATCH)]
    if style == "sync":
        for i in indexes:
            function(i)
    elif style == "sync batch":
        for chunk in chunks:
            function(chunk)
    else:

        async def run() -> None:
            if style == "async":
                for i in indexes:
                    await function(i)
            else:
                for chunk in chunks:
                    await function(chunk)

        asyncio.run(run())


def bare_seconds(style: str, function: Callable[..., Any], indexes: list[int]) -> float:
    start = time.perf_counter()
    drive(style, function, indexes)
    return time.perf_counter() - start


def wrapped_seconds(
    ledger: Ledger, mode: Mode, style: str, function: Callable[..., Any], indexes: list[int]
) -> float:
    """Time the wrapped calls, the recorder's closing flush included; check the count."""
    before = ledger.size()
    start = time.perf_counter()
    with Recorder(ledger, mode=mode) as recorder:
        wrapped = track(recorder, generator=IDENTITY, batch=style.endswith("batch"))(function)
        drive(style, wrapped, indexes)
    elapsed = time.perf_counter() - start
    recorded = ledger.size() - before
    if recorded != len(indexes):
        raise SystemExit(f"{style}/{mode}: {recorded} records for {len(indexes)} samples")
    return elapsed


def ledger_rate(ledger: Ledger, rows: list[dict[str, str]], per_append: int) -> float:
    """Records per second that `Ledger.append` itself takes: the records of `rows`, prepared
    beforehand (untimed), appended `per_append` at a time with their sample contents."""
    with Recorder(ledger) as scratch:
        items = [scratch.prepare_generated(sample_from_row(row), IDENTITY) for row in rows]
    start = time.perf_counter()
    for i in range(0, len(items), per_append):
        chunk = items[i : i + per_append]
        ledger.append([record for record, _ in chunk], {s.id: s.row for _, s in chunk})
    return len(items) / (time.perf_counter() - start)


def sign_rate(key: SigningKey, seconds: float) -> float:
    """Raw Ed25519 signatures per second of a 600-byte message, on this process's cores."""
    message = os.urandom(600)
    count = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(200):
            key.sign(message)
        count += 200
    return count / elapsed


@dataclass
class Cell:
    """Medians of one style and mode."""

    sign: float
    bare: float
    ledger: float
    recorded: float
    ratio: float
    of_ledger: float
    slow_bare_ms: float
    slow_wrapped_ms: float
    overhead: float


def bench(ledger: Ledger, rows: Rows, mode: Mode, style: str, rounds: int, quick: bool) -> Cell:
    """Measure one style and mode: `rounds` rounds of (a) then (b), each after its baseline."""
    key = ledger.signer
    assert key is not None
    fast = make_functions(rows.rows, slow=False)[style]
    slow = make_functions(rows.rows, slow=True)[style]
    single = not style.endswith("batch")
    # Sized so that each measurement takes about a second or two.
    n_fast = (1_000 if mode == "durable" else 5_000) if single else 20 * BATCH
    n_slow = 100 if single else BATCH
    if quick:
        n_fast, n_slow = max(n_fast // 10, BATCH), max(n_slow // 4, 16)
    per_append = DEFAULT_BATCH_SIZE if mode == "buffered" else (1 if single else BATCH)
    signs, bares, ledgers, recorded, ratios, of_ledger = ([] for _ in range(6))
    slow_bares, slow_wrapped, overheads = [], [], []
    for _ in range(rounds):
        sign = sign_rate(key, 0.3)
        appended = ledger_rate(ledger, [rows.rows[i] for i in rows.take(n_fast)], per_append)
        indexes = rows.take(n_fast)
        bare = len(indexes) / bare_seconds(style, fast, indexes)
        rate = len(indexes) / wrapped_seconds(ledger, mode, style, fast, indexes)
        signs.append(sign)
        bares.append(bare)
        ledgers.append(appended)
        recorded.append(rate)
        ratios.append(rate / sign)
        of_ledger.append(rate / appended)
        indexes = rows.take(n_slow)
        base = bare_seconds(style, slow, indexes)
        wrapped = wrapped_seconds(ledger, mode, style, slow, indexes)
        slow_bares.append(base / len(indexes) * 1000)
        slow_wrapped.append(wrapped / len(indexes) * 1000)
        overheads.append((wrapped - base) / base)
    return Cell(
        sign=median(signs),
        bare=median(bares),
        ledger=median(ledgers),
        recorded=median(recorded),
        ratio=median(ratios),
        of_ledger=median(of_ledger),
        slow_bare_ms=median(slow_bares),
        slow_wrapped_ms=median(slow_wrapped),
        overhead=median(overheads),
    )


def _count(rate: float) -> str:
    return f"{rate / 1e6:.1f}M" if rate >= 1e6 else f"{rate:.0f}"


@contextmanager
def scratch_ledger() -> Iterator[Ledger]:
    """A fresh SQLite ledger that keeps its checkpoint in its folder, as a home's does."""
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger.create(
            f"sqlite:///{Path(tmp) / 'ledger.db'}",
            SigningKey.generate(),
            kept=KeptCheckpoint(Path(tmp)),
        )
        try:
            yield ledger
        finally:
            ledger.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="measurements, each with baseline")
    parser.add_argument("--cores", type=int, default=1, help="pin the process to this many cores")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    args = parser.parse_args()
    available = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, available[: max(1, args.cores)])
    cores = len(os.sched_getaffinity(0))
    rows = Rows(200_000)
    results: list[tuple[str, Mode, Cell]] = []
    with scratch_ledger() as ledger:
        for mode in MODES:
            for style in STYLES:
                results.append(
                    (style, mode, bench(ledger, rows, mode, style, args.rounds, args.quick))
                )
    print(
        f"SQLite ledger, {cores} core(s), batches of {BATCH}; medians of {args.rounds} rounds, "
        "each against the baseline measured just before it\n"
    )
    head = (
        f"{'style':<11} {'mode':<8} | {'sign/s':>6} {'bare/s':>8} {'ledger/s':>8} "
        f"{'recorded/s':>10} {'rec/sign':>8} {'rec/ledger':>10} | {'10ms bare':>9} "
        f"{'wrapped':>8} {'overhead':>8}"
    )
    print(head)
    print("-" * len(head))
    for style, mode, c in results:
        print(
            f"{style:<11} {mode:<8} | {c.sign:>6.0f} {_count(c.bare):>8} {c.ledger:>8.0f} "
            f"{c.recorded:>10.0f} {c.ratio:>8.2f} {c.of_ledger:>10.2f} | "
            f"{c.slow_bare_ms:>7.2f}ms {c.slow_wrapped_ms:>6.2f}ms {c.overhead * 100:>7.1f}%"
        )
    print(
        "\nsign/s: raw Ed25519 on this process's cores; bare/s: the unwrapped no-op (M: "
        "millions);\nledger/s: Ledger.append alone, the same records prepared beforehand, in "
        "the mode's\ntransactions; recorded/s: the wrapped no-op, records committed (closing "
        "flush included);\n10ms: ms per sample of the 10 ms generator, bare and wrapped; "
        "overhead: (wrapped - bare)\n/ bare. Every baseline is measured in each round just "
        "before the wrapped run."
    )
    batched = [(s, m, c) for s, m, c in results if s.endswith("batch")]
    best = max(batched, key=lambda r: r[2].recorded)
    fast_enough = [f"{s} {m}" for s, m, c in batched if c.recorded >= TARGET_RATE]
    light = [f"{s} {m}" for s, m, c in results if c.overhead < TARGET_OVERHEAD]
    heavy = [f"{s} {m} ({c.overhead:.0%})" for s, m, c in results if c.overhead >= TARGET_OVERHEAD]
    print(
        f"\nTarget: >= {TARGET_RATE:,} samples/s recorded on one core in batched mode: "
        + (f"met by {', '.join(fast_enough)}" if fast_enough else "NOT met")
        + f"; best {best[2].recorded:,.0f}/s ({best[0]} {best[1]})"
    )
    print(
        f"Target: < {TARGET_OVERHEAD:.0%} overhead on a 10 ms generator: "
        + (f"met by {', '.join(light)}" if light else "NOT met")
        + (f"; NOT met by {', '.join(heavy)}" if heavy else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
