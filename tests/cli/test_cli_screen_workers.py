"""`synthguard screen --workers N` / `--scheduler ADDRESS`, and without them on several cores: the
single-process outputs and signed verdicts, byte for byte, on real local Dask clusters and on
processes forked from the command's; a worker killed mid-screen leaves a
ledger that verifies, with the whole screen recorded or none of it; a `--scheduler` that is not a
Dask scheduler, or one killed mid-screen, is one error line."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from cli_support import Run, invoke, stderr_lines

from synthguard.cli import screen as cli_screen
from synthguard.guards import screen
from synthguard.guards.screen import BATCH
from synthguard.ledger.home import Home
from synthguard.provenance import engine
from synthguard.provenance.engine import ForkedEngine
from synthguard.provenance.record import RECORD_TYPE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "guards"))
from test_distributed_screen import mixed_corpus  # the guards tests' corpus

SYNTHGUARD = Path(sys.executable).with_name("synthguard")
OPTIONS: dict[str, list[str]] = {
    "one process": [],
    "forked (no option, several cores)": [],
    "--workers 1": ["--workers", "1"],
    "--workers 2": ["--workers", "2"],
    "--workers 4": ["--workers", "4"],
}
Screen = tuple[bytes, bytes, list[tuple[str, Any]]]


def screened_records(home: Path) -> list[tuple[str, Any]]:
    """Each `screened` record's sample and detail (the verdicts), in ledger order."""
    found = []
    with Home(home).open() as ledger:
        for entry in ledger.entries():
            if entry.payload_type != RECORD_TYPE:
                continue
            payload = json.loads(base64.b64decode(json.loads(entry.envelope)["payload"]))
            if payload["event"] == "screened":
                found.append((payload["sample_id"], payload["detail"]))
    return found


def lines(data: bytes) -> list[Any]:
    """An output's rows."""
    return [json.loads(line) for line in data.decode().splitlines()]


def without_record_ids(value: Any) -> Any:
    """`value` without the `binding` record ids of held verdicts."""
    if isinstance(value, dict):
        return {k: without_record_ids(v) for k, v in value.items() if k != "binding"}
    if isinstance(value, list | tuple):
        return [without_record_ids(v) for v in value]
    return value


def outputs(out: Path, home: Path) -> Screen:
    return (
        (out / "accepted.jsonl").read_bytes(),
        (out / "quarantined.jsonl").read_bytes(),
        screened_records(home),
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The mixed corpus, its protected set, and a second file: new rows, and rows (and copies
    of rows) of the first, for a second screen against the index and the held samples."""
    folder = tmp_path_factory.mktemp("corpus")
    source, protected = mixed_corpus(folder, size=2000)
    lines = source.read_bytes().splitlines(keepends=True)
    fresh, _ = mixed_corpus(folder / "..", size=600, seed=11)
    second = folder / "second.jsonl"
    second.write_bytes(b"".join(lines[::7] + fresh.read_bytes().splitlines(keepends=True)))
    return source, protected, second


@pytest.fixture(scope="module")
def screens(
    corpus: tuple[Path, Path, Path],
    home_template: Path,
    passphrase: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Screen, Screen]]:
    """Each option's two screens (the corpus, then the second file), each in its own home."""
    done = {}
    for label, options in OPTIONS.items():
        with pytest.MonkeyPatch.context() as patch:
            # Parts of one screen batch (the driver cuts them): copies cross part boundaries.
            patch.setattr(screen, "BLOCK", BATCH)
            forked = Forks()
            patch.setattr(cli_screen, "ForkedEngine", forked)
            # Without an option: this process on one core, forked workers on several once the
            # input holds more than a block (here one batch: the corpus holds two).
            cores = 2 if label.startswith("forked") else 1
            patch.setattr(cli_screen, "cores", lambda n=cores: n)
            patch.setattr(cli_screen, "BLOCK", BATCH)
            done[label] = screen_twice(
                home_template, tmp_path_factory.mktemp("screen"), options, corpus, passphrase
            )
            assert forked.made == (2 if cores > 1 else 0)
    return done


class Forks:
    """`ForkedEngine`, counting the engines made."""

    def __init__(self) -> None:
        self.made = 0

    def __call__(self) -> ForkedEngine:
        self.made += 1
        return ForkedEngine()


def screen_twice(
    template: Path,
    folder: Path,
    options: list[str],
    corpus: tuple[Path, Path, Path],
    passphrase: str,
) -> tuple[Screen, Screen]:
    """Screen the corpus, then the second file, in a copy of the template home."""
    source, protected, second = corpus
    home = folder / "home"
    shutil.copytree(template, home)
    results = []
    for n, path in enumerate((source, second)):
        out = folder / f"out{n}"
        args: list[str | Path] = ["screen", path, "--out", out, "--protected", protected]
        args += options
        result = invoke(*args, home=home, passphrase=passphrase)
        assert result.exit_code == 0, result.output
        if options:
            assert "engine: a local Dask cluster" in result.output
        results.append(outputs(out, home))
    verified = invoke("verify", home=home, passphrase=passphrase)
    assert verified.exit_code == 0, verified.output
    # The second screen's records: those after the first screen's.
    first, (accepted, quarantined, records) = results
    return first, (accepted, quarantined, records[len(first[2]) :])


@pytest.mark.parametrize("label", [label for label in OPTIONS if label != "one process"])
def test_workers_give_the_single_process_outputs_and_verdicts(
    screens: dict[str, tuple[Screen, Screen]], label: str
) -> None:
    (first, second), (first_there, second_there) = screens["one process"], screens[label]
    assert first[0] == first_there[0]  # accepted.jsonl, byte for byte
    assert first[1] == first_there[1]  # quarantined.jsonl
    assert first[2] == first_there[2]  # every screened record's verdicts
    # The second screen's held samples name the records that hold them by their ids, which
    # are random in every run: all else is the same.
    assert second[0] == second_there[0]
    assert without_record_ids(lines(second[1])) == without_record_ids(lines(second_there[1]))
    assert without_record_ids(second[2]) == without_record_ids(second_there[2])


def test_the_screens_found_what_the_corpus_holds(
    screens: dict[str, tuple[Screen, Screen]],
) -> None:
    (_, quarantined, records), (_, again, _) = screens["one process"]
    text = quarantined.decode()
    for rule in ("malformed", "exact", "near", "trigger-cooccurrence", "email", "ngram-overlap"):
        assert f'"rule": "{rule}"' in text, rule
    assert len(records) > 1000
    assert '"rule": "held"' in again.decode()  # the second screen: held samples stay held


def test_workers_must_be_positive_and_not_beside_a_scheduler(run: Run, home: Path) -> None:
    source = home.parent / "one.jsonl"
    source.write_text(json.dumps({"instruction": "Say hi.", "output": "Hi."}) + "\n")
    zero = run("screen", source, "--out", home.parent / "out", "--workers", "0", home=home)
    assert zero.exit_code == 2  # click's usage error, as for every option out of its range
    assert "Invalid value for '--workers': 0 is not in the range 1<=x<=1024" in zero.stderr
    # A typo's worth of workers is refused before Dask builds tables for each (out of memory).
    many = run("screen", source, "--out", home.parent / "out", "--workers", "10" * 10, home=home)
    assert many.exit_code == 2
    assert "is not in the range 1<=x<=1024" in many.stderr
    both = ["--workers", "1", "--scheduler", "tcp://x:1"]
    result = run("screen", source, "--out", home.parent / "out", *both, home=home)
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        "synthguard: error: give --workers (a local cluster) or --scheduler (a running one), "
        "not both"
    ]


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (None, "no Dask handshake within 2 s (is it a Dask scheduler?)"),
        (
            b"HTTP/1.1 400 Bad Request\r\n\r\n",
            "its answer is not a Dask handshake (is it a Dask scheduler?)",
        ),
    ],
    ids=["silent", "http"],
)
def test_a_scheduler_address_of_another_service_is_one_line(
    run: Run,
    home: Path,
    tcp_service: Callable[[bytes | None], str],
    monkeypatch: pytest.MonkeyPatch,
    answer: bytes | None,
    why: str,
) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    monkeypatch.setattr(engine, "CONNECT_SECONDS", 1)
    monkeypatch.setattr(engine, "HANDSHAKE_SECONDS", 1)
    address = tcp_service(answer)
    source = home.parent / "one.jsonl"
    source.write_text(json.dumps({"instruction": "Say hi.", "output": "Hi."}) + "\n")
    result = run("screen", source, "--out", home.parent / "out", "--scheduler", address, home=home)
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        f"synthguard: error: cannot reach the Dask scheduler at {address}: {why}"
    ]
    assert screened_records(home) == []


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A local Dask cluster of two worker processes (nannies restart a killed one)."""
    import distributed

    with (
        distributed.LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        distributed.Client(local) as client,  # type: ignore[no-untyped-call]
    ):
        yield client


def assert_nothing_screened(home: Path, out: Path, env: dict[str, str]) -> None:
    """A screen that failed signed no verdict, wrote no output, and left a ledger that
    verifies."""
    assert screened_records(home) == []
    assert not (out / "accepted.jsonl").exists()
    verify = subprocess.run(
        [str(SYNTHGUARD), "--home", str(home), "verify"], capture_output=True, text=True, env=env
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def screen_in_background(
    home: Path, passphrase: str, *args: str | Path
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """`synthguard screen ARGS` started in a process of its own, and the environment it has."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTHGUARD_")}
    env["SYNTHGUARD_PASSPHRASE"] = passphrase
    process = subprocess.Popen(
        [str(SYNTHGUARD), "--home", str(home), "screen", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    return process, env


def test_a_worker_killed_mid_screen(
    cluster: Any,
    corpus: tuple[Path, Path, Path],
    screens: dict[str, tuple[Screen, Screen]],
    home_template: Path,
    passphrase: str,
    tmp_path: Path,
) -> None:
    """The screen either succeeds through Dask's retry with the same outputs, or fails with
    one line and a non-zero exit; either way the ledger verifies, and holds the whole screen's
    records or none of them."""
    source, protected, _ = corpus
    home, out = tmp_path / "home", tmp_path / "out"
    shutil.copytree(home_template, home)
    address = cluster.scheduler.address
    args = [source, "--out", out, "--protected", protected, "--scheduler", address]
    process, env = screen_in_background(home, passphrase, *args)
    pids = cluster.run(os.getpid)
    killed = False
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        busy = [worker for worker, tasks in cluster.processing().items() if tasks]
        if busy:
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed = True
            break
        time.sleep(0.01)
    _, stderr = process.communicate(timeout=300)
    assert killed, "the screen ended before a part was in flight"
    assert "Traceback" not in stderr, stderr
    single, _ = screens["one process"]
    records = screened_records(home)
    if process.returncode == 0:
        assert outputs(out, home) == single
    else:
        assert len([line for line in stderr.splitlines() if line.strip()]) == 1, stderr
        assert records == []
    verify = subprocess.run(
        [str(SYNTHGUARD), "--home", str(home), "verify"], capture_output=True, text=True, env=env
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_forked_worker_killed_mid_screen(
    corpus: tuple[Path, Path, Path],
    home_template: Path,
    passphrase: str,
    tmp_path: Path,
) -> None:
    """The command's own forked workers (no option, more than a block of rows): one killed
    ends the screen with one line and a non-zero exit, before anything is signed or written
    out; the ledger verifies."""
    source, protected, _ = corpus
    bigger = tmp_path / "bigger.jsonl"
    bigger.write_bytes(source.read_bytes() * 6)  # more than a block: the default forks
    home, out = tmp_path / "home", tmp_path / "out"
    shutil.copytree(home_template, home)
    process, env = screen_in_background(
        home, passphrase, bigger, "--out", out, "--protected", protected
    )
    screening = psutil.Process(process.pid)
    killed = False
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline and not killed:
        # The engine's workers, forked before the screen starts: one killed once it has
        # prepared some of the rows.
        for child in screening.children():
            with contextlib.suppress(psutil.NoSuchProcess):
                if child.cpu_times().user > 0.2:
                    child.kill()
                    killed = True
                    break
        time.sleep(0.005)
    _, stderr = process.communicate(timeout=300)
    assert killed, "the screen ended before its workers had worked"
    assert process.returncode != 0
    assert "Traceback" not in stderr, stderr
    assert [line for line in stderr.splitlines() if line.strip()] == [
        "synthguard: error: a worker process forked from this one died (killed, or out of "
        "memory); the parts it and the others had in hand were not used"
    ]
    assert_nothing_screened(home, out, env)


def test_a_scheduler_killed_mid_screen(
    dask_scheduler: tuple[str, subprocess.Popen[bytes]],
    corpus: tuple[Path, Path, Path],
    home_template: Path,
    passphrase: str,
    tmp_path: Path,
) -> None:
    """A real `dask scheduler` killed while parts are in flight: one line saying so (none of
    Dask's own logging), exit 2, nothing written, and a ledger that verifies."""
    import distributed

    address, scheduler = dask_scheduler
    source, protected, _ = corpus
    home, out = tmp_path / "home", tmp_path / "out"
    shutil.copytree(home_template, home)
    args = [source, "--out", out, "--protected", protected, "--scheduler", address]
    process, env = screen_in_background(home, passphrase, *args)
    killed = False
    with distributed.Client(address) as watcher:  # type: ignore[no-untyped-call]
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline and not killed:
            killed = any(watcher.processing().values())
            time.sleep(0.01)
    scheduler.kill()
    _, stderr = process.communicate(timeout=120)
    assert killed, "the screen ended before a part was in flight"
    assert process.returncode == 2
    assert [line for line in stderr.splitlines() if line.strip()] == [
        "synthguard: error: the connection to the Dask scheduler was lost (it stopped, or stayed "
        "unreachable while Dask tried to reconnect); nothing of this step was written"
    ]
    assert_nothing_screened(home, out, env)
