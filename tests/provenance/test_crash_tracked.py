"""A process running a tracked generator, killed with SIGKILL mid-run, leaves a ledger that
verifies. Durable mode: every sample the process had handed back is in it. Buffered mode: at
most the documented window (2 x batch_size records) is lost, and only from the end."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from tracked_child import BATCH_SIZE, SEED_ENV

from synthguard.ledger.log.store import Ledger
from synthguard.ledger.log.verify import verify_ledger
from synthguard.provenance import Generator, Recorder
from synthguard.provenance.keys import SigningKey

CHILD = Path(__file__).with_name("tracked_child.py")
HANDED_BACK_BEFORE_KILL = 300


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline() if ready else ""


@pytest.mark.parametrize("mode", ["durable", "buffered"])
def test_a_killed_tracked_run_leaves_a_ledger_that_verifies(tmp_path: Path, mode: str) -> None:
    private = Ed25519PrivateKey.generate()
    key = SigningKey(private)
    seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    url = f"sqlite:///{tmp_path / 'l.db'}"
    Ledger.create(url, key, checkpoint_interval=50).close()

    process = subprocess.Popen(
        [sys.executable, str(CHILD), url, mode],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, SEED_ENV: seed.hex()},
    )
    try:
        assert read_line(process, 60) == "started\n"
        printed: list[str] = []
        deadline = time.monotonic() + 60
        while len(printed) < HANDED_BACK_BEFORE_KILL and time.monotonic() < deadline:
            line = read_line(process, 10)
            assert line, "the tracked run stopped printing"
            printed.append(line.strip())
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
        assert process.stdout is not None
        # Lines printed before the kill; a line cut short by it never reached the caller.
        printed += [line for line in process.stdout.read().split("\n")[:-1] if line]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    with Ledger.open(url, key) as ledger:
        report = verify_ledger(ledger, root_key_id=key.key_id)
        recorded = [e.sample_id for e in ledger.entries() if e.event == "generated"]
        assert report.size == len(recorded) + 1
        assert len(printed) >= HANDED_BACK_BEFORE_KILL
        # In order, and the same run: the shorter list is a prefix of the longer one.
        shorter = min(len(recorded), len(printed))
        assert recorded[:shorter] == printed[:shorter]
        # A record is committed (or handed to the writer) before its sample is handed back.
        assert len(recorded) <= len(printed) + 1
        if mode == "durable":
            assert len(recorded) >= len(printed)
        else:
            assert len(printed) - len(recorded) <= 2 * BATCH_SIZE
        # The next writer simply goes on.
        with Recorder(ledger) as recorder:
            recorder.generated("after the crash", Generator(name="g", model="m"))
        assert verify_ledger(ledger, root_key_id=key.key_id).size == report.size + 1
