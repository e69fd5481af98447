"""Crash safety: a writer killed with SIGKILL at random moments leaves a verifiable ledger.

A writer appends batches of 1..200 records in a loop; it is killed 0.05-0.5 s after it opened
the ledger (mid-signing, mid-transaction or mid-commit, wherever it happens to be), restarted,
and killed again. Afterwards the ledger verifies and the next writer simply continues.
"""

from __future__ import annotations

import random
import signal
import time

import pytest

from synthguard.ledger.log.kept import KeptCheckpoint
from synthguard.ledger.log.store import Ledger
from synthguard.ledger.log.verify import verify_ledger

pytestmark = pytest.mark.slow


def _kill_repeatedly(url, writers, kills, rng, options=()):
    sizes = []
    with Ledger.open(url) as reader:
        for round_ in range(kills):
            process = writers.spawn(url, f"crash{round_}", *options)
            time.sleep(rng.uniform(0.05, 0.5))
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=30) == -signal.SIGKILL
            sizes.append(reader.size())
    return sizes


def _check_recovered(url, key, ledger_records, sizes, seed, kept=None):
    with Ledger.open(url, key, kept) as ledger:
        assert sizes == sorted(sizes), f"seed {seed}"
        assert sizes[-1] > 1, "no writer got to append anything before it was killed"
        report = verify_ledger(ledger)
        assert report.size == ledger.size() == sizes[-1]
        # Each batch's checkpoint rolled back or committed together with its entries.
        assert report.latest is not None
        assert report.latest.size == report.size
        kept = ledger.checkpoint()

        seqs = ledger.append(*ledger_records(key.key_id, 150, tag="after the crashes"))
        assert seqs == list(range(report.size, report.size + 150))
        ledger.checkpoint()
        assert verify_ledger(ledger, kept_checkpoint=kept.note).size == report.size + 150


def _run(url, writers, ledger_records, kills):
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    Ledger.create(url, writers.key, checkpoint_interval=97).close()
    sizes = _kill_repeatedly(url, writers, kills, rng)
    _check_recovered(url, writers.key, ledger_records, sizes, seed)


def test_sqlite_writer_killed_20_times(ledger_sqlite_url, ledger_writers, ledger_records):
    _run(ledger_sqlite_url, ledger_writers, ledger_records, kills=20)


def test_a_home_s_writer_killed_12_times_keeps_a_checkpoint_it_can_go_on_from(
    ledger_sqlite_url, ledger_writers, ledger_records, tmp_path
):
    # Killed between its commit and its kept files, or while writing them: the next writer of
    # the home finds the database ahead of its files (its own entries, its own checkpoint) and
    # goes on; verify checks the ledger against whatever the home kept.
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    home = tmp_path / "home"
    home.mkdir()
    Ledger.create(
        ledger_sqlite_url, ledger_writers.key, checkpoint_interval=97, kept=KeptCheckpoint(home)
    ).close()
    sizes = _kill_repeatedly(
        ledger_sqlite_url, ledger_writers, 12, rng, options=("--kept", str(home))
    )
    _check_recovered(
        ledger_sqlite_url, ledger_writers.key, ledger_records, sizes, seed, KeptCheckpoint(home)
    )


@pytest.mark.postgres
def test_postgres_writer_killed_8_times(postgres_url, ledger_writers, ledger_records):
    _run(postgres_url, ledger_writers, ledger_records, kills=8)
