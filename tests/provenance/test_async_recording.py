"""Async code never waits on the database: appends (and ledger look-ups) run on the recorder's
own thread while the event loop keeps running; concurrent tasks share transactions."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from ledger_support import new_ledger, payloads, verified_size

from synthguard.ledger.log.store import Ledger
from synthguard.provenance import Generator, Recorder, sample_from_row, track
from synthguard.provenance.record import LineageRecord

GENERATOR = Generator(name="g", model="m")
APPEND_SECONDS = 0.3


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with new_ledger(tmp_path) as handle:
        yield handle


class SlowDisk:
    """The real ledger behind a disk that takes APPEND_SECONDS per commit; notes which thread
    each append and look-up ran on."""

    def __init__(self, ledger: Ledger, seconds: float = APPEND_SECONDS) -> None:
        self.ledger = ledger
        self.seconds = seconds
        self.key_id = ledger.key_id
        self.appends: list[tuple[int, int]] = []  # (thread id, records)
        self.lookups: list[int] = []

    def append(
        self,
        records: Sequence[LineageRecord],
        contents: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> list[int]:
        self.appends.append((threading.get_ident(), len(records)))
        time.sleep(self.seconds)
        return self.ledger.append(records, contents)

    def depth_of(self, sample_id: str) -> int | None:
        self.lookups.append(threading.get_ident())
        time.sleep(self.seconds)
        return self.ledger.depth_of(sample_id)


async def ticking_while(work: Any) -> tuple[Any, int]:
    """Run `work` while a task ticks every 10 ms; return its result and the ticks it saw."""
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # let it start
    start = ticks
    try:
        result = await work
    finally:
        done.set()
        await task
    return result, ticks - start


def test_the_loop_keeps_running_during_a_durable_append(ledger: Ledger) -> None:
    disk = SlowDisk(ledger)
    recorder = Recorder(disk)

    @track(recorder, model="m")
    async def generate(prompt: str) -> str:
        return f"answer to {prompt}"

    async def main() -> tuple[Any, int, bool]:
        out, ticks = await ticking_while(generate("q"))
        committed = ledger.depth_of(sample_from_row({"text": out}).id) is not None
        return out, ticks, committed

    out, ticks, committed = asyncio.run(main())
    assert out == "answer to q"
    assert committed  # durable: in the ledger before the call returned
    # 300 ms of append: a loop blocked by it would have ticked at most once.
    assert ticks >= 5, f"the event loop stalled: {ticks} ticks during a {APPEND_SECONDS} s append"
    ((thread, _),) = disk.appends
    assert thread != threading.get_ident()
    recorder.close()
    assert verified_size(ledger) == 2


def test_a_sync_call_in_durable_mode_commits_inline(ledger: Ledger) -> None:
    disk = SlowDisk(ledger, seconds=0.0)
    Recorder(disk).generated("x", GENERATOR)
    assert disk.appends == [(threading.get_ident(), 1)]


def test_parent_look_ups_run_off_the_loop_too(ledger: Ledger) -> None:
    with Recorder(ledger) as first:
        parent = first.imported("from an earlier run")
    disk = SlowDisk(ledger, seconds=0.1)
    recorder = Recorder(disk)

    @track(recorder, model="m")
    async def derive(text: str, parents: list[str]) -> str:
        return text + " (derived)"

    async def main() -> tuple[Any, int]:
        return await ticking_while(derive("from an earlier run", parents=[parent.sample_id]))

    _, ticks = asyncio.run(main())
    assert ticks >= 5
    assert disk.lookups
    assert threading.get_ident() not in disk.lookups
    recorder.close()
    assert payloads(ledger, "generated")[0]["depth"] == 1


def test_concurrent_tasks_share_transactions_and_each_waits_for_its_own(ledger: Ledger) -> None:
    disk = SlowDisk(ledger, seconds=0.1)
    recorder = Recorder(disk)

    @track(recorder, model="m", params=("i",))
    async def generate(i: int) -> str:
        await asyncio.sleep(0)
        return f"sample {i}"

    async def one(i: int) -> bool:
        out = await generate(i)
        return ledger.depth_of(sample_from_row({"text": out}).id) is not None

    async def main() -> list[bool]:
        return await asyncio.gather(*(one(i) for i in range(40)))

    assert asyncio.run(main()) == [True] * 40
    assert sum(count for _, count in disk.appends) == 40
    assert len(disk.appends) <= 5, disk.appends  # grouped, not one transaction per task
    recorder.close()
    assert verified_size(ledger) == 41


def test_an_async_batch_commits_together_at_its_end(ledger: Ledger) -> None:
    disk = SlowDisk(ledger, seconds=0.0)
    recorder = Recorder(disk, batch_size=4)

    async def main() -> None:
        async with recorder.batch():
            seed = recorder.imported("seed")
            for i in range(9):
                recorder.generated(f"child {i}", GENERATOR, parents=[seed.sample_id])
            assert sum(count for _, count in disk.appends) <= 8
        assert sum(count for _, count in disk.appends) == 10

    asyncio.run(main())
    assert all(thread != threading.get_ident() for thread, _ in disk.appends)
    assert {p["depth"] for p in payloads(ledger, "generated")} == {1}


def test_async_with_recorder_in_buffered_mode(ledger: Ledger) -> None:
    async def main() -> int:
        async with Recorder(ledger, mode="buffered", flush_interval=60) as recorder:

            @track(recorder, model="m")
            async def generate(i: int) -> str:
                return f"sample {i}"

            for i in range(5):
                await generate(i)
            await recorder.aflush()
            return ledger.size()

    assert asyncio.run(main()) == 6
    assert verified_size(ledger) == 6
