"""`record`, `verify` and `release verify` through the engine seam (`--workers`, `--scheduler`):
the same ledger, the same verdicts and the same signed bytes as one machine, on a real local
Dask cluster; a Dask worker killed mid-run never turns into a wrong "ok"."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import Run, alpaca, stderr_lines, write_jsonl

from synthguard.ledger.home import Home
from synthguard.ledger.log.store import entry_leaf_hash
from synthguard.ledger.recording import BATCH_SIZE
from synthguard.provenance.record import Generator, LineageRecord, Origin
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import sample_from_row

distributed = pytest.importorskip("distributed")

SCRIPT = Path(sys.executable).with_name("synthguard")
# Three batches and a bit: the default path forks its signing workers, the engine gets parts.
ROWS = 3 * BATCH_SIZE + 200
RUN_ID = "same-run"


class _Appender:
    """Takes the Recorder's records as they would go to the ledger."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        self.records: list[LineageRecord] = []

    def append(self, records: Any, contents: Any = None) -> None:
        self.records.extend(records)


def _rows_file(path: Path) -> Path:
    """ROWS distinct rows, a bad line, then a copy of an early row (skipped: it is recorded)."""
    rows: list[Any] = [alpaca(i) for i in range(ROWS)]
    rows.insert(7, b"{not json\n")
    rows.append(alpaca(3))
    return write_jsonl(path, rows)


def _said(result: Any) -> list[str]:
    """The command's own stderr lines: in-process, a Dask cluster's logging may add others
    (a handler an earlier test left on the root logger, say)."""
    return [line for line in stderr_lines(result) if line.startswith("synthguard:")]


def _record(run: Run, home: Path, path: Path, *options: str) -> Any:
    return run(
        "record", path, "--generator", "g", "--model", "m", "--run-id", RUN_ID, *options, home=home
    )


def _table(home: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{home / 'ledger.db'}?mode=ro", uri=True) as conn:
        return [tuple(row) for row in conn.execute(sql)]


def _payloads(home: Path) -> list[dict[str, Any]]:
    envelopes = _table(home, "SELECT envelope FROM entries WHERE seq > 0 ORDER BY seq")
    return [json.loads(base64.b64decode(json.loads(e)["payload"])) for (e,) in envelopes]


def _without_stamps(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in ("record_id", "time")}


@pytest.fixture
def second_home(home_template: Path, tmp_path: Path) -> Path:
    """Another copy of the initialised home: the same origin and key as `home`."""
    copy = tmp_path / "home2"
    shutil.copytree(home_template, copy)
    return copy


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A local Dask cluster of two worker processes, shared by the tests that connect to it."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_record_on_a_dask_cluster_gives_the_ledger_of_one_machine(
    run: Run, home: Path, second_home: Path, tmp_path: Path
) -> None:
    path = _rows_file(tmp_path / "rows.jsonl")

    alone = _record(run, home, path)
    dask = _record(run, second_home, path, "--workers", "2")

    assert alone.exit_code == dask.exit_code == 2, (alone.output, dask.output)
    assert _said(alone) == _said(dask)
    assert len(_said(dask)) == 2  # the bad line, and the summary of bad rows
    assert alone.stdout == dask.stdout
    assert "skipped 1 row already recorded" in dask.stdout
    assert f"recorded {ROWS} of {ROWS + 2} samples" in dask.stdout
    ours, theirs = _payloads(home), _payloads(second_home)
    assert len(ours) == len(theirs) == ROWS
    assert [_without_stamps(p) for p in ours] == [_without_stamps(p) for p in theirs]
    assert [p["sample_id"] for p in theirs] == [sample_from_row(alpaca(i)).id for i in range(ROWS)]
    contents = "SELECT sample_id, digest, content FROM samples ORDER BY sample_id"
    assert _table(home, contents) == _table(second_home, contents)
    for folder in (home, second_home):
        verified = run("verify", home=folder)
        assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize("options", [(), ("--workers", "1")], ids=["forked", "dask"])
def test_the_signed_bytes_are_the_recorders(
    run: Run, home: Path, tmp_path: Path, options: tuple[str, ...]
) -> None:
    """Each payload is byte for byte the one the Recorder's `generated` makes for its row, at
    the same time and with the same record id, whether processes forked from the command
    built it from a payload template or a Dask worker did."""
    path = write_jsonl(tmp_path / "rows.jsonl", [alpaca(i) for i in range(BATCH_SIZE + 5)])
    assert _record(run, home, path, *options).exit_code == 0
    envelopes = _table(home, "SELECT envelope FROM entries WHERE seq > 0 ORDER BY seq")
    with Home(home).open() as ledger:
        origin = ledger.origin
    appender = _Appender(Home(home).config()["active_key"])
    generator = Generator(name="g", model="m")
    with Recorder(appender, run_id=RUN_ID, track_depths=False) as recorder:
        for i in range(BATCH_SIZE + 5):
            recorder.generated(alpaca(i), generator, origin=Origin.SYNTHETIC)

    for (envelope,), made in zip(envelopes, appender.records, strict=True):
        payload = base64.b64decode(json.loads(envelope)["payload"])
        stamps = json.loads(payload)
        same = made.model_copy(update={"time": stamps["time"]})
        assert same.payload(origin, stamps["record_id"]) == payload


@pytest.fixture(scope="module")
def recorded(
    home_template: Path, tmp_path_factory: pytest.TempPathFactory, passphrase: str
) -> Path:
    """A home with ROWS recorded rows (about five verify parts), made once; tests copy it."""
    folder = tmp_path_factory.mktemp("recorded")
    home = folder / "home"
    shutil.copytree(home_template, home)
    path = write_jsonl(folder / "rows.jsonl", (alpaca(i) for i in range(ROWS)))
    done = subprocess.run(
        [str(SCRIPT), "--home", str(home), "record", str(path), "--generator", "g", "--model", "m"],
        env=_env(passphrase),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return home


def _env(passphrase: str) -> dict[str, str]:
    env = {**os.environ, "SYNTHGUARD_PASSPHRASE": passphrase}
    env.pop("SYNTHGUARD_DB", None)
    env.pop("SYNTHGUARD_HOME", None)
    return env


@pytest.fixture
def copied(recorded: Path, tmp_path: Path) -> Path:
    """A copy of the recorded home, to tamper with."""
    copy = tmp_path / "home"
    shutil.copytree(recorded, copy)
    return copy


def _flip_a_signed_byte(home: Path, seq: int) -> None:
    """Change one byte of an entry's payload and recompute its leaf hash (no key needed)."""
    with sqlite3.connect(home / "ledger.db") as conn:
        (envelope,) = conn.execute("SELECT envelope FROM entries WHERE seq = ?", (seq,)).fetchone()
        envelope = bytes(envelope)
        at = envelope.index(b'"payload":"') + 30
        changed = b"A" if envelope[at : at + 1] != b"A" else b"B"
        envelope = envelope[:at] + changed + envelope[at + 1 :]
        conn.execute(
            "UPDATE entries SET envelope = ?, leaf_hash = ? WHERE seq = ?",
            (envelope, entry_leaf_hash(seq, envelope), seq),
        )


@pytest.mark.parametrize("where", ["workers", "scheduler"])
def test_verify_through_the_seam_accepts_a_good_ledger_and_names_a_bad_entry(
    run: Run, copied: Path, scheduler: str, where: str
) -> None:
    options = ["--workers", "2"] if where == "workers" else ["--scheduler", scheduler]

    good = run("verify", *options, home=copied)
    assert good.exit_code == 0, good.output
    assert good.stdout == run("verify", home=copied).stdout

    _flip_a_signed_byte(copied, ROWS - 100)
    alone = run("verify", home=copied)
    bad = run("verify", *options, home=copied)

    assert bad.exit_code == alone.exit_code == 1
    assert _said(bad) == _said(alone)
    assert _said(bad) == [
        f"synthguard: verification failed: entry {ROWS - 100}: signature does not verify"
    ]


def _kill_a_busy_worker(address: str, done: threading.Event) -> list[int]:
    """Kill (SIGKILL) the first worker seen running a task; return the pids killed."""
    killed: list[int] = []
    with distributed.Client(address, timeout="10s") as client:
        pids = client.run(os.getpid)
        while not done.is_set() and not killed:
            for worker, tasks in client.processing().items():
                if tasks and worker in pids:
                    os.kill(pids[worker], signal.SIGKILL)
                    killed.append(pids[worker])
                    break
            time.sleep(0.005)
    return killed


@pytest.mark.parametrize("tampered", [False, True], ids=["good", "tampered"])
def test_a_worker_killed_during_verify_never_gives_a_wrong_ok(
    copied: Path, passphrase: str, tampered: bool
) -> None:
    if tampered:
        _flip_a_signed_byte(copied, ROWS - 100)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    )
    try:
        done = threading.Event()
        killed: list[int] = []
        killer = threading.Thread(
            target=lambda: killed.extend(_kill_a_busy_worker(cluster.scheduler_address, done))
        )
        killer.start()
        command = [str(SCRIPT), "--home", str(copied), "verify"]
        command += ["--scheduler", cluster.scheduler_address]
        try:
            verify = subprocess.run(command, env=_env(passphrase), capture_output=True, text=True)
        finally:
            done.set()
            killer.join()
    finally:
        cluster.close()

    assert killed, "no worker was seen busy"
    errors = [line for line in verify.stderr.splitlines() if line.strip()]
    if tampered:
        assert verify.returncode != 0
        assert not verify.stdout.startswith("ok")
    if verify.returncode == 0:  # the killed worker's part ran again elsewhere
        assert verify.stdout.startswith(f"ok: {ROWS + 1} entries verified")
    else:
        assert len(errors) == 1, verify.stderr
        assert errors[0].startswith("synthguard: "), errors
