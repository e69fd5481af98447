"""The home's kept checkpoint: two slots written in turn, so a torn write loses nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthguard.ledger.log.kept import SLOT_FILES, KeptCheckpoint
from synthguard.ledger.log.store import Ledger
from synthguard.provenance.errors import InputError
from synthguard.provenance.keys import SigningKey


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
