"""Many writers, one tree: 4 processes append 2,000 records each to one ledger."""

from __future__ import annotations

import base64
import json
from collections import Counter

import pytest

from synthguard.ledger.log.store import Ledger
from synthguard.ledger.log.verify import verify_ledger
from synthguard.provenance.errors import VerificationError
from synthguard.provenance.record import RECORD_TYPE

pytestmark = pytest.mark.slow

WRITERS = 4
PER_WRITER = 2000


def _appended_by(ledger):
    """(run id, record number) of every lineage record, in seq order, and all seqs."""
    records, seqs = [], []
    for entry in ledger.entries():
        seqs.append(entry.seq)
        if entry.payload_type == RECORD_TYPE:
            payload = json.loads(base64.b64decode(json.loads(entry.envelope)["payload"]))
            records.append((payload["run_id"], payload["detail"]["i"]))
    return records, seqs


def _four_writers(url, ledger_writers):
    Ledger.create(url, ledger_writers.key, checkpoint_interval=250).close()
    processes = [
        ledger_writers.spawn(url, f"w{n}", "--count", str(PER_WRITER), "--batch", "100", "--wait")
        for n in range(WRITERS)
    ]
    for process in processes:  # all open: let them go together
        process.stdin.write("go\n")
        process.stdin.flush()
    for process in processes:
        assert process.wait(timeout=600) == 0
        assert process.stdout.read() == "done\n"

    with Ledger.open(url) as ledger:
        report = verify_ledger(ledger, workers=2)
        assert report.size == WRITERS * PER_WRITER + 1
        assert report.latest is not None
        assert report.latest.size == report.size
        records, seqs = _appended_by(ledger)
    assert seqs == list(range(WRITERS * PER_WRITER + 1))
    assert sorted(records) == sorted(
        (f"w{n}", i) for n in range(WRITERS) for i in range(PER_WRITER)
    )
    # Each writer's batches are whole, and a writer's own records keep their order.
    for n in range(WRITERS):
        mine = [i for run, i in records if run == f"w{n}"]
        assert mine == list(range(PER_WRITER))
    runs = [run for run, _ in records]
    batches = Counter(run for k, run in enumerate(runs) if k == 0 or runs[k - 1] != run)
    assert all(count <= PER_WRITER // 100 for count in batches.values())


def test_four_sqlite_writers(ledger_sqlite_url, ledger_writers):
    _four_writers(ledger_sqlite_url, ledger_writers)


@pytest.mark.postgres
def test_four_postgres_writers(postgres_url, ledger_writers):
    _four_writers(postgres_url, ledger_writers)


def _verify_while_appending(url, ledger_writers):
    # Checkpoints fall due often, so verify keeps meeting checkpoints the writers just wrote.
    Ledger.create(url, ledger_writers.key, checkpoint_interval=20).close()
    # The writers pause between batches long enough for several verifies on a slow machine.
    options = ("--count", "2000", "--batch", "40", "--pause", "0.05")
    processes = [ledger_writers.spawn(url, f"busy{n}", *options) for n in range(2)]
    sizes = []
    with Ledger.open(url) as ledger:
        while any(process.poll() is None for process in processes):
            try:
                sizes.append(verify_ledger(ledger, workers=1).size)
            except VerificationError as exc:
                pytest.fail(f"verify during appends at size {ledger.size()}: {exc}")
        assert all(process.wait() == 0 for process in processes)
        assert verify_ledger(ledger).size == 4001
    assert len(sizes) >= 3, "verify did not overlap the appends"
    assert sizes == sorted(sizes)
    assert sizes[-1] > sizes[0], "the writers appended nothing while verify ran"


def test_verify_while_sqlite_writers_append(ledger_sqlite_url, ledger_writers):
    _verify_while_appending(ledger_sqlite_url, ledger_writers)


@pytest.mark.postgres
def test_verify_while_postgres_writers_append(postgres_url, ledger_writers):
    _verify_while_appending(postgres_url, ledger_writers)
