"""`making_record_ids`: which samples a generated, revised or imported record accounts for, as
the signed payloads say; an entry whose index columns say otherwise is refused, not believed
(by `depths_of` too, which reads the same records)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from synthguard.ledger.log.lineage import depths_of, making_record_ids
from synthguard.ledger.log.store import Ledger
from synthguard.provenance.errors import VerificationError
from synthguard.provenance.record import Event, LineageRecord

MakeRecords = Callable[..., tuple[list[LineageRecord], dict[str, Any]]]


def _ids(batch: tuple[list[LineageRecord], dict[str, Any]]) -> list[str]:
    return [record.sample_id for record in batch[0]]


def test_generated_revised_and_imported_samples_have_one_screened_and_unknown_do_not(
    ledger_db: Ledger, ledger_records: MakeRecords
) -> None:
    signer = ledger_db.key_id
    made = {
        event: ledger_records(signer, 2, tag=event.value, event=event)
        for event in (Event.GENERATED, Event.REVISED, Event.IMPORTED)
    }
    screened = ledger_records(signer, 2, tag="only screened", event=Event.SCREENED)
    for batch in (*made.values(), screened):
        ledger_db.append(*batch)
    unknown = _ids(ledger_records(signer, 2, tag="never recorded"))
    made_ids = [sample_id for batch in made.values() for sample_id in _ids(batch)]
    asked = [*made_ids, *_ids(screened), *unknown, made_ids[0]]

    expected = set(made_ids)
    assert making_record_ids(ledger_db, asked) == expected
    assert making_record_ids(ledger_db, asked, chunk=2) == expected
    assert making_record_ids(ledger_db, []) == set()


@pytest.mark.parametrize(
    ("column", "value"), [("event", "screened"), ("event", "revised"), ("sample_id", "other")]
)
def test_an_entry_whose_index_columns_differ_from_its_payload_is_refused(
    ledger_db: Ledger,
    ledger_records: MakeRecords,
    ledger_url: str,
    ledger_attacker: Callable[[str], Any],
    column: str,
    value: str,
) -> None:
    batch = ledger_records(ledger_db.key_id, 1, tag="made")
    [seq] = ledger_db.append(*batch)
    [made_id] = _ids(batch)
    asked = [made_id]
    if column == "sample_id":
        # The record filed under another sample's id: asking for that sample finds it.
        value = _ids(ledger_records(ledger_db.key_id, 1, tag="other"))[0]
        asked = [value]
    ledger_attacker(ledger_url).execute(
        f"UPDATE entries SET {column} = :v WHERE seq = :s", v=value, s=seq
    )

    with pytest.raises(VerificationError, match=f"entry {seq}"):
        making_record_ids(ledger_db, asked)
    with pytest.raises(VerificationError, match=f"entry {seq}"):
        depths_of(ledger_db, asked)
