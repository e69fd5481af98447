"""The console script: it starts unlocking the key of a signing command before the command's
imports, and the command takes that key; a wrong passphrase is the same one line as before;
arguments it does not understand start nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cli_support import write_jsonl

from synthguard.cli import entry
from synthguard.cli.interrupts import interrupts_deferred
from synthguard.ledger.home import Home

SYNTHGUARD = Path(sys.executable).with_name("synthguard")


def run(home: Path, passphrase: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTHGUARD_")}
    env["SYNTHGUARD_PASSPHRASE"] = passphrase
    return subprocess.run(
        [str(SYNTHGUARD), "--home", str(home), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_console_script_records_with_the_key_it_unlocked_ahead(
    home: Path, passphrase: str, tmp_path: Path
) -> None:
    rows = write_jsonl(tmp_path / "rows.jsonl", [{"text": f"row {n}"} for n in range(5)])
    done = run(home, passphrase, "record", str(rows), "--generator", "g", "--model", "m")
    assert done.returncode == 0, done.stderr
    verified = run(home, passphrase, "verify")
    assert verified.returncode == 0, verified.stderr


def test_a_wrong_passphrase_is_one_line_as_before(home: Path, tmp_path: Path) -> None:
    rows = write_jsonl(tmp_path / "rows.jsonl", [{"text": "a row"}])
    done = run(home, "not the passphrase", "record", str(rows), "--generator", "g", "--model", "m")
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("synthguard: error: wrong passphrase for ")


@pytest.mark.parametrize(
    ("args", "started"),
    [
        (["record", "rows.jsonl"], True),
        (["--debug", "--db", "sqlite:///x.db", "screen", "rows.jsonl"], True),
        (["verify"], False),  # signs nothing
        (["--help"], False),
        (["--unknown", "record", "rows.jsonl"], False),
        ([], False),
    ],
)
def test_only_a_signing_command_starts_an_unlock(
    home: Path,
    passphrase: str,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    started: bool,
) -> None:
    monkeypatch.setenv("SYNTHGUARD_PASSPHRASE", passphrase)
    assert entry.start_unlocking(["--home", str(home), *args]) is started
    # Whatever was started, the key loads as the home names it.
    assert Home(home).signer(lambda: passphrase).key_id == Home(home).config()["active_key"]


def test_no_passphrase_in_the_environment_starts_nothing(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNTHGUARD_PASSPHRASE", raising=False)
    assert entry.start_unlocking(["--home", str(home), "record", "rows.jsonl"]) is False


def test_ctrl_c_while_the_modules_load_is_one_line_and_status_130(
    home: Path, passphrase: str
) -> None:
    """Ctrl-C in the first half second (the imports) printed a traceback and died by the
    signal; it is the line and status of a command interrupted later."""
    env = {**os.environ, "SYNTHGUARD_PASSPHRASE": passphrase}
    said = []
    for delay in (0.05, 0.1, 0.15, 0.2, 0.3, 0.5):
        process = subprocess.Popen(
            [str(SYNTHGUARD), "--home", str(home), "verify"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # As a shell starts it: Ctrl-C at its default action until Python takes it over.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=60)
        said.append((process.returncode, errors))
    for code, errors in said:
        # Before the interpreter has set its own handler, the signal ends it silently.
        assert (code, errors) in ((130, "synthguard: interrupted\n"), (-signal.SIGINT, "")), errors
    assert any(code == 130 for code, _ in said)


def test_a_ctrl_c_during_the_imports_is_held_until_they_are_done(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Raised mid-import, KeyboardInterrupt could land in the import lock's weakref callback,
    where Python prints "Exception ignored" and drops it: `verify` then ran to status 0 (5 of
    300 Ctrl-Cs at 0.05-0.8 s before this deferral, 0 of 300 after). Inside the block the
    signal is only noted; the block runs to its end, then stops with the one line and 130."""
    ran_on = []

    def import_interrupted() -> None:
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)  # the handler has run: the interpreter checks between bytecodes
            ran_on.append(True)

    with pytest.raises(SystemExit) as stopped:
        import_interrupted()
    assert ran_on == [True]
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "synthguard: interrupted\n"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_block_without_ctrl_c_leaves_python_s_handler_in_place() -> None:
    with interrupts_deferred():
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_where_ctrl_c_is_ignored_nothing_is_deferred() -> None:
    """A command started in the background of a shell (SIGINT ignored) is not made to stop."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts_deferred():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_on_a_thread_nothing_is_deferred() -> None:
    """A command run on a thread (a library caller's, a test's) cannot set a handler there."""
    ran = []

    def block() -> None:
        with interrupts_deferred():
            ran.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=block)
    thread.start()
    thread.join()
    assert ran == [signal.default_int_handler]
