"""`synthguard join` and `keys add`: a second writer of one PostgreSQL ledger signs with a key
made on its own machine; only the public half travels, and a key holder admits it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import Run, alpaca, write_jsonl

pytestmark = pytest.mark.postgres


def rows(path: Path, start: int, count: int) -> Path:
    return write_jsonl(path, [alpaca(i) for i in range(start, start + count)])


def founded(run: Run, tmp_path: Path, url: str) -> Path:
    home = tmp_path / "a"
    result = run("--db", url, "init", home=home)
    assert result.exit_code == 0, result.output
    return home


def joined(run: Run, tmp_path: Path, url: str, *extra: str) -> tuple[Path, Path, str]:
    """Home b joined to the ledger: the home, its public key file, its key id."""
    home = tmp_path / "b"
    result = run("--db", url, "join", *extra, home=home)
    assert result.exit_code == 0, result.output
    config = json.loads((home / "config.json").read_text())
    key_id = config["active_key"]
    public = next((home / "keys").glob("*.pub"))
    return home, public, key_id


def test_a_joined_home_signs_only_after_a_key_holder_admits_its_public_key(
    run: Run, tmp_path: Path, postgres_url: str
) -> None:
    home_a = founded(run, tmp_path, postgres_url)
    home_b, public, key_b = joined(run, tmp_path, postgres_url)
    config_a = json.loads((home_a / "config.json").read_text())
    config_b = json.loads((home_b / "config.json").read_text())
    assert config_b["db"] == postgres_url
    assert config_b["root_key"] == config_a["root_key"]  # the genesis key, pinned
    assert config_b["origin"] == config_a["origin"]
    assert "-----BEGIN PRIVATE" not in public.read_text()

    refused = run(
        "record", rows(tmp_path / "b1.jsonl", 0, 3), "--generator", "g", "--model", "m", home=home_b
    )
    assert refused.exit_code != 0
    assert f"key {key_b} is not a key of this ledger" in refused.output

    # Only the public key file goes to the founding machine.
    carried = tmp_path / "carried" / public.name
    carried.parent.mkdir()
    carried.write_bytes(public.read_bytes())
    added = run("keys", "add", carried, "--reason", "writer b", home=home_a)
    assert added.exit_code == 0, added.output
    assert key_b in added.output

    recorded = run(
        "record",
        rows(tmp_path / "b2.jsonl", 10, 5),
        "--generator",
        "g",
        "--model",
        "m",
        home=home_b,
    )
    assert recorded.exit_code == 0, recorded.output
    recorded = run(
        "record", rows(tmp_path / "a.jsonl", 20, 5), "--generator", "g", "--model", "m", home=home_a
    )
    assert recorded.exit_code == 0, recorded.output

    for home in (home_a, home_b):
        verified = run("verify", home=home)
        assert verified.exit_code == 0, verified.output
    listed = run("keys", "list", home=home_b)
    assert key_b in listed.output
    assert len(list((home_b / "keys").glob("*.key"))) == 1
    assert len(list((home_a / "keys").glob("*.key"))) == 1  # b's private key never came here


def test_join_pins_the_founding_key_it_is_given(
    run: Run, tmp_path: Path, postgres_url: str
) -> None:
    home_a = founded(run, tmp_path, postgres_url)
    exported = run("keys", "export", "--format", "pem", home=home_a)
    assert exported.exit_code == 0, exported.output
    root = tmp_path / "root.pem"
    root.write_text(exported.output)
    _, _, _ = joined(run, tmp_path, postgres_url, "--root-key", str(root))


def test_join_refuses_a_ledger_founded_by_another_key(
    run: Run, tmp_path: Path, postgres_url: str
) -> None:
    founded(run, tmp_path, postgres_url)
    stranger = tmp_path / "stranger"
    assert run("init", home=stranger).exit_code == 0
    exported = run("keys", "export", "--format", "pem", home=stranger)
    other = tmp_path / "other.pem"
    other.write_text(exported.output)
    home_b = tmp_path / "b"
    result = run("--db", postgres_url, "join", "--root-key", other, home=home_b)
    assert result.exit_code == 2
    assert "was founded by key" in result.output
    assert not home_b.exists()  # nothing left behind


def test_a_key_is_admitted_once(run: Run, tmp_path: Path, postgres_url: str) -> None:
    home_a = founded(run, tmp_path, postgres_url)
    _, public, key_b = joined(run, tmp_path, postgres_url)
    assert run("keys", "add", public, home=home_a).exit_code == 0
    again = run("keys", "add", public, home=home_a)
    assert again.exit_code == 2
    assert f"key {key_b} is a key of this ledger already" in again.output


def test_join_needs_an_existing_ledger(run: Run, tmp_path: Path, postgres_url: str) -> None:
    home_b = tmp_path / "b"
    result = run("--db", postgres_url, "join", home=home_b)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert not home_b.exists()
    no_db = run("join", home=home_b)
    assert no_db.exit_code == 2
    assert "join needs the ledger to join: --db URL" in no_db.output


def test_keys_add_takes_one_key(run: Run, tmp_path: Path, home: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("not a key\n")
    result = run("keys", "add", empty, home=home)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
