"""The home's kept checkpoint: two slots written in turn, so a torn write loses nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from synthguard.ledger.home_paths import key_file
from synthguard.ledger.log.checkpoint import format_body, parse_checkpoint
from synthguard.ledger.log.kept import SLOT_FILES, KeptCheckpoint, KeptTree
from synthguard.ledger.log.merkle import CompactRange
from synthguard.ledger.log.store import Ledger
from synthguard.ledger.log.verify import verify_ledger
from synthguard.provenance.errors import InputError, VerificationError
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.record import KeyAction


def _ledger(tmp_path: Path, key: SigningKey, ledger_records, batches: int) -> KeptCheckpoint:
    kept = KeptCheckpoint(tmp_path / "home")
    kept.folder.mkdir()
    with Ledger.create(f"sqlite:///{tmp_path / 'l.db'}", key, kept=kept) as ledger:
        for i in range(batches):
            ledger.append(*ledger_records(key.key_id, 3, tag=f"b{i}"))
    return KeptCheckpoint(kept.folder)


def test_the_larger_whole_slot_is_read_and_the_note_is_written_on_close(
    tmp_path, ledger_key, ledger_records
):
    kept = _ledger(tmp_path, ledger_key, ledger_records, 2)
    tree = kept.load(None)
    assert tree is not None
    assert tree.size == 7  # genesis and two batches of three
    assert kept.note_path.read_text() == tree.checkpoint.note


def test_a_torn_slot_leaves_the_other(tmp_path, ledger_key, ledger_records):
    kept = _ledger(tmp_path, ledger_key, ledger_records, 2)
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}", ledger_key, kept)
    ledger.append(*ledger_records(ledger_key.key_id, 3, tag="later"))
    ledger.engine.dispose()  # as a kill would: no close, so one slot holds 10, the other 7
    newest = KeptCheckpoint(kept.folder).load(None)
    assert newest is not None
    assert newest.size == 10
    holder = next(
        path
        for path in (kept.folder / name for name in SLOT_FILES)
        if b'"size": 10' in path.read_bytes()
    )
    holder.write_bytes(holder.read_bytes()[:100])  # that write cut short by a crash

    older = KeptCheckpoint(kept.folder).load(None)
    assert older is not None
    assert older.size == 7  # a prefix of the database's tree: the next writer goes on from it
    with Ledger.open(f"sqlite:///{tmp_path / 'l.db'}", ledger_key, kept) as again:
        assert again.append(*ledger_records(ledger_key.key_id, 1, tag="after")) == [10]

    for name in SLOT_FILES:
        (kept.folder / name).write_bytes(b"{}")
    with pytest.raises(InputError, match="is damaged"):
        KeptCheckpoint(kept.folder).load(None)


def _home_holding(tmp_path: Path, key: SigningKey) -> KeptCheckpoint:
    """A home folder that holds `key` (its key file is all `holds` looks for) and no kept
    checkpoint yet."""
    kept = KeptCheckpoint(tmp_path / "home")
    key_file(kept.folder, key.key_id).parent.mkdir(parents=True)
    key_file(kept.folder, key.key_id).write_bytes(b"encrypted key")
    return kept


def test_a_home_whose_key_signed_refuses_without_its_kept_files(
    tmp_path, ledger_key, ledger_records
):
    url = f"sqlite:///{tmp_path / 'l.db'}"
    with Ledger.create(url, ledger_key, kept=None) as ledger:  # written keeping nothing
        ledger.append(*ledger_records(ledger_key.key_id, 3, tag="b"))
    kept = _home_holding(tmp_path, ledger_key)
    with (
        Ledger.open(url, ledger_key, kept) as ledger,
        pytest.raises(VerificationError, match="this home's key signed entry 0"),
    ):
        ledger.append(*ledger_records(ledger_key.key_id, 1, tag="c"))
    assert not any(path.exists() for path in kept.files)


def test_a_crash_after_a_first_commit_leaves_a_tree_the_ledger_extends(
    tmp_path, ledger_key, ledger_records, monkeypatch
):
    """A home with no kept files yet (one that joined a ledger) keeps the database's tree
    before its first commit: a kill right after that commit, before the new tree is kept,
    leaves the home able to go on, not read as one whose files were removed."""
    url = f"sqlite:///{tmp_path / 'l.db'}"
    other = SigningKey.generate()
    with Ledger.create(url, other, kept=None) as ledger:
        ledger.append([ledger.key_event(KeyAction.ADDED, ledger_key)])
    kept = _home_holding(tmp_path, ledger_key)
    ledger = Ledger.open(url, ledger_key, kept)

    def killed(_self: Ledger, _tree: object, *, note: bool = False) -> None:
        raise KeyboardInterrupt  # the process dies between the commit and the keeping

    monkeypatch.setattr(Ledger, "_keep", killed)
    with pytest.raises(KeyboardInterrupt):
        ledger.append(*ledger_records(ledger_key.key_id, 2, tag="first"))
    ledger.engine.dispose()
    monkeypatch.undo()
    assert ledger.size() == 4  # committed: the key event, the genesis, two records
    with Ledger.open(url, ledger_key, KeptCheckpoint(kept.folder)) as again:
        assert again.append(*ledger_records(ledger_key.key_id, 1, tag="after")) == [4]
    verify_ledger(Ledger.open(url, None, KeptCheckpoint(kept.folder)))


def test_a_kept_tree_whose_note_does_not_verify_is_not_extended(
    tmp_path, ledger_key, ledger_records
):
    """Kept files written without a key: another tree's frontier under the note's old signature
    (red-team: an entry deleted from the database, the rest renumbered and rehashed, the
    kept files made to match; the next ordinary append signed over the rewritten history)."""
    kept = _ledger(tmp_path, ledger_key, ledger_records, 2)
    tree = kept.load(None)
    assert tree is not None
    other = CompactRange()
    for number in range(tree.size):
        other.append(hashlib.sha256(b"rewritten %d" % number).digest())
    _body, _, signature = tree.checkpoint.note.partition("\n\n")
    origin = tree.checkpoint.origin
    note = format_body(origin, other.size, other.root()) + "\n" + signature
    forged = KeptTree(parse_checkpoint(note), other, hashlib.sha256(b"last").digest())
    kept.save(forged)
    kept.save(forged, note=True)

    with (
        Ledger.open(
            f"sqlite:///{tmp_path / 'l.db'}", ledger_key, KeptCheckpoint(kept.folder)
        ) as ledger,
        pytest.raises(VerificationError, match=r"the checkpoint this home kept .* does not verify"),
    ):
        ledger.append(*ledger_records(ledger_key.key_id, 1, tag="after"))
