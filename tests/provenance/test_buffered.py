"""Buffered mode: one writer thread appends every batch_size records or flush_interval seconds;
flush and close wait for it; an error in the writer reaches the caller."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ledger_support import new_ledger, payloads, verified_size

from synthguard.ledger.log.store import Ledger
from synthguard.provenance import Generator, Recorder, track
from synthguard.provenance.errors import KeyringError, LedgerError
from synthguard.provenance.keys import SigningKey

GENERATOR = Generator(name="g", model="m")


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with new_ledger(tmp_path) as handle:
        yield handle


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> float:
    """Poll until `condition` holds; return the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not true after {timeout} s")
        time.sleep(0.01)
    return time.monotonic() - start


def test_records_wait_for_the_flush_interval(ledger: Ledger) -> None:
    recorder = Recorder(ledger, mode="buffered", batch_size=1000, flush_interval=0.5)
    start = time.monotonic()
    for i in range(3):
        recorder.generated(f"sample {i}", GENERATOR)
    if time.monotonic() - start < 0.3:  # a stalled test machine could outwait the interval
        assert ledger.size() == 1
        assert recorder.pending == 3
    # The interval bounds how long a record may wait, so it is out within it (and slack).
    wait_for(lambda: ledger.size() == 4)
    assert (recorder.pending, recorder.appended) == (0, 3)
    recorder.close()


def test_a_full_batch_goes_out_without_waiting_for_the_interval(ledger: Ledger) -> None:
    recorder = Recorder(ledger, mode="buffered", batch_size=4, flush_interval=60)
    for i in range(6):
        recorder.generated(f"sample {i}", GENERATOR)
    wait_for(lambda: ledger.size() == 5)
    time.sleep(0.2)
    assert ledger.size() == 5  # the other 2 wait for the interval, a flush or close
    recorder.close()
    assert ledger.size() == 7
    assert verified_size(ledger) == 7


def test_flush_waits_until_everything_handed_over_is_committed(ledger: Ledger) -> None:
    recorder = Recorder(ledger, mode="buffered", batch_size=7, flush_interval=60)
    for i in range(20):
        recorder.generated(f"sample {i}", GENERATOR)
    recorder.flush()
    assert ledger.size() == 21
    assert [p["sample_id"] for p in payloads(ledger)] == [
        recorder.prepare_generated(f"sample {i}", GENERATOR)[0].sample_id for i in range(20)
    ]
    recorder.close()


def test_close_and_the_end_of_a_with_block_flush(ledger: Ledger) -> None:
    with Recorder(ledger, mode="buffered", flush_interval=60) as recorder:
        recorder.generated("one", GENERATOR)
        recorder.generated("two", GENERATOR)
    assert ledger.size() == 3
    with pytest.raises(LedgerError, match="closed"):
        recorder.generated("three", GENERATOR)


def test_a_tracked_function_in_buffered_mode(ledger: Ledger) -> None:
    with Recorder(ledger, mode="buffered", batch_size=16, flush_interval=60) as recorder:

        @track(recorder, model="m", batch=True)
        def many(n: int) -> list[str]:
            return [f"item {i}" for i in range(n)]

        for _ in range(3):
            many(10)
    records = payloads(ledger, "generated")
    assert len(records) == 30  # one record per sample handed back: the same 10, three times
    assert len({record["sample_id"] for record in records}) == 10
    assert ledger.size() == 31
    assert verified_size(ledger) == 31


def test_parents_recorded_but_not_yet_committed_are_known(ledger: Ledger) -> None:
    with Recorder(ledger, mode="buffered", flush_interval=60) as recorder:
        parent = recorder.imported("parent")
        child = recorder.generated("child", GENERATOR, parents=[parent.sample_id])
        assert ledger.size() == 1
    assert child.depth == 1


def test_a_writer_error_reaches_the_caller(ledger: Ledger) -> None:
    # The ledger refuses a key that is not one of its keys: the writer's append fails.
    stranger = Ledger.open(ledger.url, SigningKey.generate())
    try:
        recorder = Recorder(stranger, mode="buffered", flush_interval=0.05)
        recorder.generated("refused", GENERATOR)  # handed over: the error comes later
        with pytest.raises(KeyringError, match="not a key of this ledger") as raised:
            recorder.flush()
        assert any("were not recorded" in note for note in raised.value.__notes__)
        with pytest.raises(KeyringError):
            recorder.generated("after the failure", GENERATOR)
        with pytest.raises(KeyringError):
            recorder.close()
    finally:
        stranger.close()
    assert ledger.size() == 1
    assert verified_size(ledger) == 1


def test_a_writer_error_inside_a_with_block_is_raised_once(ledger: Ledger) -> None:
    stranger = Ledger.open(ledger.url, SigningKey.generate())

    def pipeline() -> None:
        with Recorder(stranger, mode="buffered", flush_interval=0.01) as recorder:
            recorder.generated("first", GENERATOR)
            wait_for(lambda: recorder.error is not None)
            recorder.generated("second", GENERATOR)

    try:
        with pytest.raises(KeyringError) as raised:
            pipeline()
        assert raised.value.__context__ is None  # not re-raised on top of itself by __exit__
    finally:
        stranger.close()


def test_the_writer_never_holds_more_than_two_batches(ledger: Ledger) -> None:
    class Slow:
        key_id = ledger.key_id

        def __init__(self) -> None:
            self.high_water = 0

        def append(self, records: object, contents: object = None) -> object:
            self.high_water = max(self.high_water, recorder.pending)
            time.sleep(0.05)
            return ledger.append(records, contents)  # type: ignore[arg-type]

    slow = Slow()
    recorder = Recorder(slow, mode="buffered", batch_size=5, flush_interval=60)
    for i in range(40):
        recorder.generated(f"sample {i}", GENERATOR)
        assert recorder.pending <= 10
    recorder.close()
    assert slow.high_water <= 10
    assert ledger.size() == 41
