"""Errors are one line on stderr with an exit code; a traceback only with --debug."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import Run, alpaca, stderr_lines, write_jsonl


def _key_path(home: Path) -> Path:
    key_id = json.loads((home / "config.json").read_text())["active_key"]
    return home / "keys" / f"{key_id.removeprefix('sha256:')[:16]}.key"


def test_wrong_passphrase_is_one_line_and_exit_2(run: Run, home: Path, samples: Path) -> None:
    result = run(
        "record",
        samples,
        "--generator",
        "g",
        "--model",
        "m",
        home=home,
        passphrase="not the passphrase",
    )
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        f"synthguard: error: wrong passphrase for {_key_path(home)} (or the file was altered)"
    ]
    assert "Traceback" not in result.output
    assert result.stdout == ""


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: text[: len(text) // 2], id="truncated"),
        pytest.param(lambda text: "not json at all", id="garbage"),
        pytest.param(
            lambda text: text.replace('"ciphertext": "', '"ciphertext": "AAAA'), id="ciphertext"
        ),
        pytest.param(lambda text: json.dumps({"format": "synthguard-key/v1"}), id="fields"),
    ],
)
def test_corrupt_key_file_is_one_line_and_exit_2(
    run: Run, home: Path, samples: Path, damage: Callable[[str], str]
) -> None:
    path = _key_path(home)
    path.write_text(damage(path.read_text()))
    result = run("record", samples, "--generator", "g", "--model", "m", home=home)
    assert result.exit_code == 2
    lines = stderr_lines(result)
    assert len(lines) == 1
    assert lines[0].startswith("synthguard: error: ")
    assert str(path) in lines[0]
    assert "Traceback" not in result.output


def test_a_missing_key_file_is_one_line(run: Run, home: Path, samples: Path) -> None:
    _key_path(home).unlink()
    result = run("keys", "rotate", home=home)
    assert result.exit_code == 2
    assert stderr_lines(result) == [f"synthguard: error: no key file at {_key_path(home)}"]


def test_no_passphrase_and_no_terminal_is_one_line(run: Run, home: Path, samples: Path) -> None:
    result = run("keys", "rotate", home=home, passphrase=None)
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        "synthguard: error: no passphrase: set SYNTHGUARD_PASSPHRASE or run the command in a "
        "terminal"
    ]


def test_unexpected_errors_are_one_line_unless_debug(
    run: Run, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr("synthguard.cli.verify.verify_ledger", broken)
    result = run("verify", home=home)
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        "synthguard: error: unexpected RuntimeError: something broke "
        "(run with --debug to see the traceback)"
    ]
    debug = run("--debug", "verify", home=home)
    assert debug.exit_code == 2
    assert debug.stderr.startswith("Traceback (most recent call last):")
    assert "RuntimeError: something" in debug.stderr


def test_debug_shows_the_traceback_of_a_synthguard_error(
    run: Run, home: Path, samples: Path
) -> None:
    result = run(
        "--debug",
        "record",
        samples,
        "--generator",
        "g",
        "--model",
        "m",
        home=home,
        passphrase="wrong",
    )
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert "InvalidTag" in result.stderr
    assert stderr_lines(result)[-1].startswith("synthguard: error: wrong passphrase")


def test_an_unreachable_database_is_one_line(run: Run, tmp_path: Path) -> None:
    result = run("--db", "postgresql://nobody@127.0.0.1:1/none", "verify", home=tmp_path)
    assert result.exit_code == 2
    lines = stderr_lines(result)
    assert len(lines) == 1
    assert lines[0].startswith("synthguard: error: cannot open the ledger at ")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["record"], "Missing argument 'FILE' (see 'synthguard record --help')"),
        (["ledger", "prove", "-1"], "No such option '-1' (see 'synthguard ledger prove --help')"),
        (["screen", "x.jsonl", "--workers", "0"], "Invalid value for '--workers': 0 is not in"),
        (["no-such-command"], "No such command 'no-such-command' (see 'synthguard --help')"),
        (
            ["screen", "x.jsonl", "--nope"],
            "No such option '--nope' (see 'synthguard screen --help')",
        ),
        (["--zzz", "verify"], "No such option '--zzz' (see 'synthguard --help')"),
    ],
)
def test_a_usage_error_is_one_line_that_says_where_the_help_is(
    run: Run, home: Path, args: list[str], line: str
) -> None:
    result = run(*args, home=home)

    assert result.exit_code == 2
    [said] = stderr_lines(result)
    assert said.startswith("synthguard: error: ")
    assert line in said


@pytest.mark.parametrize("args", [["keys"], ["release"], ["ledger"]])
def test_a_group_given_nothing_shows_its_help(run: Run, home: Path, args: list[str]) -> None:
    """A group given no command is asked for its help, not a usage error to put on one line."""
    result = run(*args, home=home)

    assert "Usage: " in result.output
    assert "Commands:" in result.output
    assert "synthguard: error" not in result.output


def test_the_bare_command_shows_its_help() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("synthguard"))], capture_output=True, text=True
    )

    said = done.stdout + done.stderr  # click 8.2 on writes it to stderr, exit 2
    assert said.startswith("Usage: synthguard [OPTIONS] COMMAND [ARGS]...")
    assert "Commands:" in said
    assert "synthguard: error" not in said


def test_a_reader_that_goes_away_ends_the_command_quietly(
    run: Run, home: Path, tmp_path: Path, passphrase: str
) -> None:
    """`ledger export | head`: the command stops with the status a SIGPIPE gives (141), not 1
    (which says verification failed), and writes nothing on stderr."""
    rows = write_jsonl(tmp_path / "rows.jsonl", (alpaca(i) for i in range(600)))
    assert run("record", rows, "--generator", "g", "--model", "m", home=home).exit_code == 0
    synthguard = str(Path(sys.executable).with_name("synthguard"))
    export = subprocess.Popen(
        [synthguard, "--home", str(home), "ledger", "export"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "SYNTHGUARD_PASSPHRASE": passphrase},
    )
    assert export.stdout is not None
    assert export.stdout.read(100)
    export.stdout.close()  # far less than the export: it is still writing
    _, stderr = export.communicate(timeout=120)
    assert export.returncode == 141
    assert stderr == b""
