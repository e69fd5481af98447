"""`synthguard ledger` and `verify`: exports, proofs and checkpoints a third party can check."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from cli_support import ORIGIN, Run, stderr_lines, write_jsonl

from synthguard.ledger.log.checkpoint import parse_checkpoint
from synthguard.ledger.log.merkle import verify_inclusion
from synthguard.provenance.dsse import open_envelope
from synthguard.provenance.keys import VerifyingKey


@pytest.fixture
def filled(run: Run, home: Path, samples: Path) -> Path:
    """The home with 7 records (8 entries), checkpointed at 1, 5 and 8."""
    result = run("record", samples, "--generator", "g", "--model", "m", home=home)
    assert result.exit_code == 0, result.output
    return home


def _export(run: Run, home: Path) -> list[dict[str, object]]:
    result = run("ledger", "export", home=home)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_export_lines_hash_to_their_leaf_hashes(run: Run, filled: Path) -> None:
    entries = _export(run, filled)
    assert [entry["seq"] for entry in entries] == list(range(8))
    _, key = VerifyingKey.from_vkey(run("keys", "export", "--format", "vkey", home=filled).stdout)
    for entry in entries:
        leaf = base64.b64decode(str(entry["leaf"]))
        assert entry["leaf_hash"] == hashlib.sha256(b"\x00" + leaf).hexdigest()
        prefix, envelope = leaf.split(b"\n", 1)
        assert prefix == str(entry["seq"]).encode()
        assert json.loads(envelope) == entry["envelope"]
        # The leaf holds the exact signed envelope bytes: any DSSE verifier can check them.
        _, _, signer = open_envelope(envelope, {key.key_id: key})
        assert signer == key.key_id


def test_prove_output_verifies_against_the_checkpoint(run: Run, filled: Path) -> None:
    leaf_hashes = [entry["leaf_hash"] for entry in _export(run, filled)]
    for seq in (0, 3, 7):
        result = run("ledger", "prove", str(seq), home=filled)
        assert result.exit_code == 0, result.output
        proof = json.loads(result.stdout)
        assert proof["index"] == seq
        assert proof["tree_size"] == 8
        assert proof["leaf_hash"] == leaf_hashes[seq]
        root = base64.b64decode(proof["root"])
        verify_inclusion(
            bytes.fromhex(proof["leaf_hash"]),
            proof["index"],
            proof["tree_size"],
            [bytes.fromhex(node) for node in proof["audit_path"]],
            root,
        )
        checkpoint = parse_checkpoint(proof["checkpoint"])
        assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (ORIGIN, 8, root)
        assert proof["checkpoint"] == run("ledger", "checkpoint", home=filled).stdout


def test_prove_an_entry_outside_the_tree(run: Run, filled: Path) -> None:
    result = run("ledger", "prove", "8", home=filled)
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        "synthguard: error: entry 8 is not covered by the latest checkpoint, which covers "
        "entries 0 to 7"
    ]


def test_checkpoint_is_the_signed_note_verbatim(run: Run, filled: Path) -> None:
    note = run("ledger", "checkpoint", home=filled).stdout
    body, signature = note.split("\n\n")
    base64_root = base64.b64encode(parse_checkpoint(note).root).decode()
    assert body == f"{ORIGIN}\n8\n{base64_root}"
    assert signature.startswith(f"\u2014 {ORIGIN} ")
    assert note.endswith("\n")


def test_verify_with_a_kept_checkpoint(run: Run, filled: Path, tmp_path: Path) -> None:
    kept = tmp_path / "kept.txt"
    kept.write_text(run("ledger", "checkpoint", home=filled).stdout)
    more = write_jsonl(tmp_path / "more.jsonl", [{"text": f"more {i}"} for i in range(4)])
    assert run("record", more, "--generator", "g", "--model", "m", home=filled).exit_code == 0

    result = run("verify", "--checkpoint", kept, home=filled)
    assert result.exit_code == 0, result.output
    assert "kept checkpoint: the ledger extends it (8 entries," in result.stdout
    assert result.stdout.startswith("ok: 12 entries verified")


def test_a_kept_checkpoint_saved_by_a_windows_editor_still_verifies(
    run: Run, filled: Path, tmp_path: Path
) -> None:
    # A byte order mark and CRLF line ends are how the file was saved, not what was signed.
    kept = tmp_path / "kept.txt"
    note = run("ledger", "checkpoint", home=filled).stdout
    kept.write_bytes(b"\xef\xbb\xbf" + note.replace("\n", "\r\n").encode())

    result = run("verify", "--checkpoint", kept, home=filled)
    assert result.exit_code == 0, result.output
    assert "kept checkpoint: the ledger extends it (8 entries," in result.stdout


def test_verify_catches_a_tail_cut_after_a_checkpoint_was_kept(
    run: Run, filled: Path, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.txt"
    kept.write_text(run("ledger", "checkpoint", home=filled).stdout)
    with sqlite3.connect(filled / "ledger.db") as db:
        # Back to the checkpoint at 5, which the thinning kept: consistent on its own...
        db.execute("DELETE FROM entries WHERE seq >= 5")
        db.execute("DELETE FROM checkpoints WHERE size > 5")
        db.execute(
            "DELETE FROM samples WHERE sample_id NOT IN "
            "(SELECT sample_id FROM entries WHERE sample_id IS NOT NULL)"
        )
    url = f"sqlite:///{filled / 'ledger.db'}"
    assert run("--db", url, "verify").exit_code == 0
    # ...but not with what was kept: by the home itself, or in a file.
    in_home = run("verify", home=filled)
    assert in_home.exit_code == 1
    assert stderr_lines(in_home) == [
        "synthguard: verification failed: the home's checkpoint covers 8 entries but the ledger "
        "holds 5: entries from 5 on were cut off or rolled back (entry 5)"
    ]
    result = run("--db", url, "verify", "--checkpoint", kept)
    assert result.exit_code == 1
    assert stderr_lines(result)[-1] == (
        "synthguard: verification failed: the kept checkpoint covers 8 entries but the ledger "
        "holds 5: entries from 5 on were cut off or rolled back (entry 5)"
    )


def test_verify_names_the_tampered_entry(run: Run, filled: Path) -> None:
    with sqlite3.connect(filled / "ledger.db") as db:
        (envelope,) = db.execute("SELECT envelope FROM entries WHERE seq = 4").fetchone()
        changed = bytearray(envelope)
        changed[len(changed) // 2] ^= 0x01
        db.execute("UPDATE entries SET envelope = ? WHERE seq = 4", (bytes(changed),))
    result = run("verify", home=filled)
    assert result.exit_code == 1
    lines = stderr_lines(result)
    assert len(lines) == 1
    assert lines[0].startswith("synthguard: verification failed: entry 4: ")
    assert "Traceback" not in result.output


def test_a_foreign_kept_checkpoint_fails(run: Run, filled: Path, tmp_path: Path) -> None:
    note = run("ledger", "checkpoint", home=filled).stdout
    kept = tmp_path / "kept.txt"
    kept.write_text(note.replace(ORIGIN, "someone.else/ledger"))
    result = run("verify", "--checkpoint", kept, home=filled)
    assert result.exit_code == 1
    assert result.stderr.startswith("synthguard: verification failed: ")


def test_show_one_entry_and_the_table(run: Run, filled: Path) -> None:
    genesis = json.loads(run("ledger", "show", "0", home=filled).stdout)
    assert genesis["event"] == "key_added"
    assert genesis["sample"] is None
    assert genesis["payload"]["key_id"] == genesis["key"]

    table = run("ledger", "show", home=filled).stdout.splitlines()
    assert table[0] == f"ledger {ORIGIN}: 8 entries:"
    assert table[1].split() == ["SEQ", "TIME", "EVENT", "SAMPLE", "/", "KEY"]
    assert [row.split()[0] for row in table[2:]] == [str(seq) for seq in range(8)]
    assert table[3].split()[2] == "generated"

    missing = run("ledger", "show", "99", home=filled)
    assert missing.exit_code == 2
    assert stderr_lines(missing) == [
        "synthguard: error: no entry 99: the ledger holds entries 0 to 7"
    ]


def test_show_lists_only_the_last_twenty(run: Run, home: Path, tmp_path: Path) -> None:
    rows = write_jsonl(tmp_path / "many.jsonl", [{"text": f"sample {i}"} for i in range(30)])
    assert run("record", rows, "--origin", "human", home=home).exit_code == 0
    table = run("ledger", "show", home=home).stdout.splitlines()
    assert table[0] == f"ledger {ORIGIN}: 31 entries, last 20:"
    assert [row.split()[0] for row in table[2:]] == [str(seq) for seq in range(11, 31)]
