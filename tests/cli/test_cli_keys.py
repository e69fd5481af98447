"""`synthguard keys`: rotation, revocation, export, and the passphrase prompt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import ORIGIN, Run, invoke, stderr_lines, write_jsonl
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from synthguard.ledger.log.checkpoint import verify_checkpoint
from synthguard.provenance.keys import VerifyingKey


def _config(home: Path) -> dict[str, str]:
    data: dict[str, str] = json.loads((home / "config.json").read_text())
    return data


def _keys(run: Run, home: Path) -> list[list[str]]:
    result = run("keys", "list", home=home)
    assert result.exit_code == 0, result.output
    return [line.split() for line in result.stdout.splitlines()[1:]]


def _record(run: Run, home: Path, path: Path) -> None:
    result = run("record", path, "--generator", "g", "--model", "m", home=home)
    assert result.exit_code == 0, result.output


def test_rotate_then_records_signed_by_the_new_key_verify(
    run: Run, home: Path, tmp_path: Path, samples: Path
) -> None:
    old = _config(home)["active_key"]
    _record(run, home, samples)
    rotated = run("keys", "rotate", "--reason", "yearly rotation", home=home)
    assert rotated.exit_code == 0, rotated.output
    new = _config(home)["active_key"]
    assert new != old
    assert _config(home)["root_key"] == old
    assert (home / "keys" / f"{new.removeprefix('sha256:')[:16]}.key").exists()

    more = write_jsonl(tmp_path / "more.jsonl", [{"text": f"later sample {i}"} for i in range(3)])
    _record(run, home, more)
    exported = [json.loads(line) for line in run("ledger", "export", home=home).stdout.splitlines()]
    signers = [entry["envelope"]["signatures"][0]["keyid"] for entry in exported]
    assert signers[-3:] == [new] * 3
    assert signers[:8] == [old] * 8  # genesis, 7 samples
    assert signers[8] == old  # the rotation is signed by the key it retires

    verify = run("verify", home=home)
    assert verify.exit_code == 0, verify.output
    assert "(2 keys," in verify.stdout
    assert _keys(run, home) == [
        [old, "retired", "0", "8", "this", "home"],
        ["*", new, "active", "8", "-", "this", "home"],
    ]


def test_revoke_a_retired_key_by_prefix(run: Run, home: Path) -> None:
    old = _config(home)["active_key"]
    assert run("keys", "rotate", home=home).exit_code == 0
    prefix = old.removeprefix("sha256:")[:10]
    revoked = run("keys", "revoke", prefix, "--reason", "laptop lost", home=home)
    assert revoked.exit_code == 0, revoked.output
    assert revoked.stdout.strip() == f"revoked {old}"
    # ENDED is the last entry it could sign: the rotation, not the later revocation.
    assert _keys(run, home)[0] == [old, "revoked", "0", "1", "this", "home"]
    shown = json.loads(run("ledger", "show", "2", home=home).stdout)
    assert shown["payload"]["action"] == "key_revoked"
    assert shown["payload"]["reason"] == "laptop lost"
    verified = run("verify", home=home)
    assert verified.exit_code == 0
    # The keys table caches the revocation's entry as the key's end (2): a seq of an event that
    # ended it, so no edit is reported; another seq would be.
    assert "note:" not in verified.output


def test_revoking_the_active_key_is_refused(run: Run, home: Path) -> None:
    active = _config(home)["active_key"]
    result = run("keys", "revoke", active, "--reason", "oops", home=home)
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        "synthguard: error: the active key signs this ledger: `synthguard keys rotate` first, "
        "then revoke it"
    ]


def test_revoke_needs_a_reason_and_a_known_key(run: Run, home: Path) -> None:
    assert run("keys", "revoke", "abcd", home=home).exit_code == 2
    unknown = run("keys", "revoke", "ffff0000", "--reason", "x", home=home)
    assert unknown.exit_code == 2
    assert "no key ffff0000 in this ledger" in unknown.stderr


def test_generate_adds_a_key_that_does_not_replace_the_active_one(run: Run, home: Path) -> None:
    active = _config(home)["active_key"]
    result = run("keys", "generate", "--reason", "second writer", home=home)
    assert result.exit_code == 0, result.output
    added = result.stdout.split()[2]
    assert _config(home)["active_key"] == active
    # One active key per home: the one it signs with. The added one may sign (elsewhere).
    assert _keys(run, home) == [
        ["*", active, "active", "0", "-", "this", "home"],
        [added, "may", "sign", "1", "-", "this", "home"],
    ]
    assert run("verify", home=home).exit_code == 0


def test_export_prints_a_pem_and_a_vkey_of_the_active_key(run: Run, home: Path) -> None:
    result = run("keys", "export", home=home, passphrase=None)  # public: no passphrase needed
    assert result.exit_code == 0, result.output
    pem, vkey_line = result.stdout.split("-----END PUBLIC KEY-----\n")
    loaded = load_pem_public_key((pem + "-----END PUBLIC KEY-----\n").encode())
    assert isinstance(loaded, Ed25519PublicKey)
    raw = loaded.public_bytes(Encoding.Raw, PublicFormat.Raw)

    name, key = VerifyingKey.from_vkey(vkey_line.strip())
    assert name == ORIGIN
    assert key.raw == raw
    assert key.key_id == _config(home)["active_key"]
    # The exported key is the one that signs checkpoints.
    note = run("ledger", "checkpoint", home=home).stdout
    checkpoint, signer = verify_checkpoint(note, [key])
    assert signer == key.key_id
    assert checkpoint.origin == ORIGIN


@pytest.mark.parametrize(("fmt", "lines"), [("pem", 3), ("vkey", 1)])
def test_export_one_format(run: Run, home: Path, fmt: str, lines: int) -> None:
    result = run("keys", "export", "--format", fmt, home=home)
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == lines


def test_export_follows_rotation(run: Run, home: Path) -> None:
    assert run("keys", "rotate", home=home).exit_code == 0
    _, key = VerifyingKey.from_vkey(run("keys", "export", "--format", "vkey", home=home).stdout)
    assert key.key_id == _config(home)["active_key"]


def test_list_shows_one_active_key_and_who_holds_the_others(run: Run, home: Path) -> None:
    first = _config(home)["active_key"]
    added = run("keys", "generate", home=home).stdout.split()[2]
    assert run("keys", "rotate", home=home).exit_code == 0
    active = _config(home)["active_key"]
    # The added key goes to a second writer: this home no longer holds it.
    (home / "keys" / f"{added.removeprefix('sha256:')[:16]}.key").unlink()

    listed = run("keys", "list", home=home)

    assert listed.exit_code == 0, listed.output
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["KEY", "ID", "STATUS", "ADDED", "ENDED", "HELD", "BY"]
    assert [row.split() for row in rows] == [
        [first, "retired", "0", "2", "this", "home"],
        [added, "may", "sign", "1", "-", "-"],
        ["*", active, "active", "2", "-", "this", "home"],
    ]
    # Columns line up: every status starts where the header's does.
    at = header.index("STATUS")
    assert [row[at:].split("  ")[0] for row in rows] == ["retired", "may sign", "active"]


@pytest.mark.parametrize("action", ["rotate", "revoke"])
def test_export_of_a_key_that_signs_no_more_is_marked(run: Run, home: Path, action: str) -> None:
    old = _config(home)["active_key"]
    assert run("keys", "rotate", home=home).exit_code == 0
    if action == "revoke":
        assert run("keys", "revoke", old, "--reason", "laptop lost", home=home).exit_code == 0
    # Revoked after its rotation: the last entry it could sign is still the rotation's.
    status, seq = ("retired", 1) if action == "rotate" else ("revoked", 1)

    exported = run("keys", "export", old.removeprefix("sha256:")[:12], home=home)

    assert exported.exit_code == 0, exported.output
    assert exported.stdout.startswith("-----BEGIN PUBLIC KEY-----\n")
    _, key = VerifyingKey.from_vkey(exported.stdout.splitlines()[-1])
    assert key.key_id == old
    assert stderr_lines(exported) == [
        f"synthguard: note: {old} was retired at entry {seq} (rotated out): it verifies what it "
        "signed before that, and signs nothing after it"
        if status == "retired"
        else f"synthguard: note: {old} was revoked; it may sign nothing after entry {seq}: it "
        "verifies what it signed up to there; a record it signed after that fails verification"
    ]
    # The active key is exported without a note, by default or by its id.
    for args in ((), (_config(home)["active_key"],)):
        active = run("keys", "export", *args, "--format", "vkey", home=home)
        assert active.exit_code == 0, active.output
        assert VerifyingKey.from_vkey(active.stdout)[1].key_id == _config(home)["active_key"]
        assert active.stderr == ""


def test_export_of_an_unknown_key_is_an_input_error(run: Run, home: Path) -> None:
    result = run("keys", "export", "ffff0000", home=home)
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        "synthguard: error: no key ffff0000 in this ledger (see `synthguard keys list`)"
    ]


def test_passphrase_prompt_when_interactive(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, samples: Path
) -> None:
    monkeypatch.setattr("synthguard.cli.passphrase.interactive", lambda: True)
    home = tmp_path / "prompted"
    mismatch = invoke("init", home=home, input="one\ntwo\n")
    assert mismatch.exit_code == 2  # click asks again, then stdin runs dry
    assert not (home / "config.json").exists()

    init = invoke("init", home=home, input="s3cret\ns3cret\n")
    assert init.exit_code == 0, init.output
    assert "Repeat the passphrase" in init.stderr
    record = invoke(
        "record", samples, "--generator", "g", "--model", "m", home=home, input="s3cret\n"
    )
    assert record.exit_code == 0, record.output
    assert "Repeat" not in record.stderr  # an existing key is asked for once

    wrong = invoke("record", samples, "--generator", "g", "--model", "m", home=home, input="no\n")
    assert wrong.exit_code == 2
    assert stderr_lines(wrong)[-1].startswith("synthguard: error: wrong passphrase for ")
