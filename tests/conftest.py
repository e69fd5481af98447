"""Fixtures shared by every test folder: real encrypted keys, a passphrase, PostgreSQL databases,
TCP services that are not Dask, and a real Dask scheduler (`dask scheduler`, `dask worker`).

PostgreSQL tests carry `@pytest.mark.postgres` and take the `postgres_url` fixture: a fresh
database on 127.0.0.1:5432 (user postgres, trust auth), dropped afterwards. Without a server they
are skipped, unless SYNTHGUARD_REQUIRE_POSTGRES=1 (CI sets it): then a missing server, or any
skipped postgres test, is a failure, and so is a run in which no postgres test passed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest

from synthguard.provenance.keys import SigningKey

PASSPHRASE = "correct horse battery staple"
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
REQUIRE_POSTGRES_ENV = "SYNTHGUARD_REQUIRE_POSTGRES"

_postgres_passed = 0


def _postgres_required() -> bool:
    return os.environ.get(REQUIRE_POSTGRES_ENV, "") not in ("", "0")


@pytest.fixture(scope="session")
def passphrase() -> str:
    """The passphrase of every key the fixtures make."""
    return PASSPHRASE


@pytest.fixture(scope="session")
def encrypted_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real scrypt-encrypted key file, made once per session (scrypt is slow on purpose)."""
    path = tmp_path_factory.mktemp("keys") / "signing.key"
    SigningKey.generate().save(path, PASSPHRASE)
    return path


@pytest.fixture
def key_file(encrypted_key_file: Path, tmp_path: Path) -> Path:
    """A private copy of the session's encrypted key file (mode 0600), free to damage."""
    path = tmp_path / "keys" / encrypted_key_file.name
    path.parent.mkdir(exist_ok=True)
    shutil.copyfile(encrypted_key_file, path)
    path.chmod(0o600)
    return path


@pytest.fixture(scope="session")
def signing_key(encrypted_key_file: Path) -> SigningKey:
    """The session's key, decrypted once."""
    return SigningKey.load(encrypted_key_file, PASSPHRASE)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Set SYNTHGUARD_PASSPHRASE and clear the other synthguard variables; return the env."""
    monkeypatch.setenv("SYNTHGUARD_PASSPHRASE", PASSPHRASE)
    for name in ("SYNTHGUARD_HOME", "SYNTHGUARD_DB"):
        monkeypatch.delenv(name, raising=False)
    return dict(os.environ)


def _unavailable(reason: str) -> None:
    message = f"PostgreSQL at {PG_HOST}:{PG_PORT} is not available: {reason}"
    if _postgres_required():
        pytest.fail(f"{message} ({REQUIRE_POSTGRES_ENV}=1)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; its URL."""
    try:
        import psycopg
        from psycopg import sql
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'synthguard[postgres]')")
        raise  # unreachable: _unavailable skips or fails
    name = f"synthguard_test_{secrets.token_hex(6)}"
    admin = f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres connect_timeout=5"
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        _unavailable(" ".join(str(exc).split()))
    try:
        yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def tcp_service() -> Iterator[Callable[[bytes | None], str]]:
    """`tcp_service(reply)`: a TCP server on 127.0.0.1 that sends `reply` to each connection
    (None: says nothing) and keeps it open; its tcp:// address. Closed after the test."""
    sockets: list[socket.socket] = []

    def serve(listener: socket.socket, reply: bytes | None) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # closed at teardown
                return
            sockets.append(connection)
            if reply is not None:
                connection.sendall(reply)

    def start(reply: bytes | None) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        sockets.append(listener)
        threading.Thread(target=serve, args=(listener, reply), daemon=True).start()
        host, port = listener.getsockname()
        return f"tcp://{host}:{port}"

    yield start
    for each in sockets:
        each.close()


@pytest.fixture
def dask_scheduler(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real `dask scheduler` process with one `dask worker` process (one thread), the worker
    connected: the scheduler's address, and its process (free to kill). Needs the dask extra."""
    distributed = pytest.importorskip(
        "distributed", reason="the dask extra is not installed (Dask distributed)"
    )
    dask = str(Path(sys.executable).with_name("dask"))
    where = tmp_path / "scheduler.json"
    options = ["--no-dashboard", "--scheduler-file", str(where)]
    # Dask pickles a test's function by reference: both import what this process imports.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, sys.path))}
    quiet = subprocess.DEVNULL
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", *options], stderr=quiet, env=env
    )
    worker = subprocess.Popen(
        [dask, "worker", "--no-nanny", "--nthreads", "1", *options], stderr=quiet, env=env
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                address = json.loads(where.read_text())["address"]
                break
            except (OSError, ValueError):  # not written yet, or not whole
                assert time.monotonic() < deadline, "the Dask scheduler wrote no address in 60 s"
                time.sleep(0.1)
        with distributed.Client(address, timeout="60s") as client:
            client.wait_for_workers(1, timeout=60)
        yield address, scheduler
    finally:
        for process in (worker, scheduler):
            process.kill()
            process.wait()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under SYNTHGUARD_REQUIRE_POSTGRES, a skipped postgres test fails; count the passes."""
    global _postgres_passed
    report = yield
    if item.get_closest_marker("postgres") is None or hasattr(report, "wasxfail"):
        return report
    if report.skipped and _postgres_required():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"a PostgreSQL test was skipped while {REQUIRE_POSTGRES_ENV}=1: {reason}"
    elif report.when == "call" and report.passed:
        _postgres_passed += 1
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under SYNTHGUARD_REQUIRE_POSTGRES, a run in which no postgres test passed fails."""
    if _postgres_required() and exitstatus == 0 and _postgres_passed == 0:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write("\n")
            reporter.write_line(f"{REQUIRE_POSTGRES_ENV}=1 but no PostgreSQL test passed", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
