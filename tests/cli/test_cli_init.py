"""`synthguard init`: origins a signed note cannot carry are refused; a failure leaves no home."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import ORIGIN, Run, invoke, stderr_lines

from synthguard.provenance.keys import VerifyingKey


@pytest.mark.parametrize(
    ("origin", "says"),
    [
        pytest.param("example.com/my ledger", "contains a space", id="space"),
        pytest.param("example.com/a+b", "contains a '+'", id="plus"),
        pytest.param("example.com/ledger\n42", "contains a line break", id="newline"),
        pytest.param("example.com/ledger\r", "contains a line break", id="carriage return"),
        pytest.param("example.com/\tledger", "whitespace character U+0009", id="tab"),
        pytest.param("example.com/\u00a0ledger", "whitespace character U+00A0", id="nbsp"),
        pytest.param("example.com/\x1bledger", "non-printable character U+001B", id="escape"),
        pytest.param("", "origin is empty", id="empty"),
    ],
)
def test_init_refuses_an_origin_a_signed_note_cannot_carry(
    run: Run, tmp_path: Path, origin: str, says: str
) -> None:
    home = tmp_path / "home"

    result = run("init", "--origin", origin, home=home)

    assert result.exit_code == 2
    lines = stderr_lines(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith("synthguard: error: ")
    assert says in lines[0]
    assert not home.exists()


def test_a_bad_origin_is_refused_before_the_passphrase_prompt(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("synthguard.cli.passphrase.interactive", lambda: True)

    result = invoke("init", "--origin", "a b", home=tmp_path / "home", input="")

    assert result.exit_code == 2
    assert "passphrase" not in result.stderr.lower()
    assert stderr_lines(result) == [
        "synthguard: error: the ledger origin 'a b' contains a space, which a C2SP signed note "
        "cannot carry (use a name like example.com/ledger)"
    ]


def test_init_with_a_database_it_cannot_create_leaves_no_home(run: Run, tmp_path: Path) -> None:
    home = tmp_path / "home"
    db = f"sqlite:///{tmp_path / 'no-such-folder' / 'ledger.db'}"

    result = run("--db", db, "init", home=home)

    assert result.exit_code == 2
    lines = stderr_lines(result)
    assert len(lines) == 1
    assert lines[0].startswith("synthguard: error: cannot create a ledger")
    assert list(tmp_path.iterdir()) == []
    again = run("init", "--origin", ORIGIN, home=home)  # nothing half-made is in the way
    assert again.exit_code == 0, again.output


def test_an_accepted_origin_names_the_checkpoints_and_the_vkey(run: Run, tmp_path: Path) -> None:
    home = tmp_path / "home"
    origin = "ledger.example.org/team-\u00e9/v1"

    assert run("init", "--origin", origin, home=home).exit_code == 0
    vkey = run("keys", "export", "--format", "vkey", home=home)

    assert vkey.exit_code == 0, vkey.output
    name, _ = VerifyingKey.from_vkey(vkey.stdout)
    assert name == origin
