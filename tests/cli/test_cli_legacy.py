"""A ledger written by synthguard before records were bound to their ledger (payload v1).

tests/ledger/data/legacy-home is a real home made by that code: `init`, `record` of five rows,
`screen` with a protected set (one row quarantined), and a signed quarantine release. The
database is kept as the SQL text SQLite dumps, loaded into a fresh file here.
"""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from cli_support import invoke, write_jsonl

from synthguard.ledger.log.checkpoint import sign_checkpoint
from synthguard.ledger.log.merkle import root
from synthguard.ledger.log.store import Ledger, entry_leaf_hash
from synthguard.ledger.log.verify import verify_ledger
from synthguard.provenance.errors import VerificationError
from synthguard.provenance.keys import SigningKey

DATA = Path(__file__).parents[1] / "ledger" / "data" / "legacy-home"
PASSPHRASE = "legacy fixture passphrase"
HELD = "sha256:624b49edcbedb63f4b5aef1ac6932a864a5b2c7c4b1780d413c94434e514dc21"


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    """A copy of the legacy home, its database loaded from the dump."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(DATA / "config.json", home / "config.json")
    shutil.copytree(DATA / "keys", home / "keys")
    connection = sqlite3.connect(home / "ledger.db")
    connection.executescript((DATA / "ledger.sql").read_text(encoding="utf-8"))
    connection.close()
    return home


def _versions(home: Path) -> list[int]:
    connection = sqlite3.connect(home / "ledger.db")
    envelopes = [row[0] for row in connection.execute("SELECT envelope FROM entries ORDER BY seq")]
    connection.close()
    payloads = [json.loads(base64.b64decode(json.loads(e)["payload"])) for e in envelopes]
    return [payload["schema_version"] for payload in payloads]


def test_a_legacy_ledger_verifies_with_a_note_of_its_weaker_guarantee(legacy):
    result = invoke("verify", home=legacy)
    assert result.exit_code == 0, result.output
    assert "ok: 12 entries verified" in result.stdout
    assert "entries 0-11 were written before records were bound to their ledger" in result.stdout


def test_its_override_still_releases_the_sample_it_answered(legacy):
    result = invoke("quarantine", "list", "--all", home=legacy)
    assert result.exit_code == 0, result.output
    assert HELD in result.stdout
    assert "released at 11" in result.stdout


def test_new_records_are_bound_and_the_whole_ledger_still_verifies(legacy, tmp_path):
    rows = write_jsonl(
        tmp_path / "more.jsonl",
        [{"instruction": f"Count to {i}.", "input": "", "output": str(i)} for i in range(3)],
    )
    recorded = invoke(
        "record", rows, "--generator", "g", "--model", "m", home=legacy, passphrase=PASSPHRASE
    )
    assert recorded.exit_code == 0, recorded.output
    assert _versions(legacy) == [1] * 12 + [2] * 3
    # The first write kept the home's checkpoint, which verify now checks too.
    assert (legacy / "checkpoint.note").is_file()
    verified = invoke("verify", home=legacy)
    assert verified.exit_code == 0, verified.output
    assert "home checkpoint: the ledger extends the one this home last signed (15 entries" in (
        verified.stdout
    )


def test_a_copy_of_a_legacy_envelope_is_still_a_replay(legacy):
    # An insider with the key appends a byte-identical copy of entry 3 and re-signs a checkpoint
    # over it, so that only the duplicate itself can give it away.
    key = SigningKey.load(next((legacy / "keys").iterdir()), PASSPHRASE)
    connection = sqlite3.connect(legacy / "ledger.db")
    row = connection.execute("SELECT * FROM entries WHERE seq = 3").fetchone()
    envelope = bytes(row[2])
    connection.execute(
        "INSERT INTO entries (seq, leaf_hash, envelope, key_id, payload_type, event, sample_id, "
        "time) VALUES (12, ?, ?, ?, ?, ?, ?, ?)",
        (entry_leaf_hash(12, envelope), envelope, *row[3:]),
    )
    leaves = [bytes(h) for (h,) in connection.execute("SELECT leaf_hash FROM entries ORDER BY seq")]
    origin = json.loads((legacy / "config.json").read_text())["origin"]
    connection.execute(
        "INSERT INTO checkpoints VALUES (13, ?, ?, ?, 'now')",
        (root(leaves), sign_checkpoint(origin, 13, root(leaves), key), key.key_id),
    )
    connection.commit()
    connection.close()

    with (
        Ledger.open(f"sqlite:///{legacy / 'ledger.db'}") as ledger,
        pytest.raises(VerificationError, match="entry 12: repeats the signed record of entry 3"),
    ):
        verify_ledger(ledger)
