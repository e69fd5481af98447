"""Quarantine as the ledger records it, and the signed human override that releases a sample.

A sample is in quarantine when its latest `screened` record says so and no signed quarantine
release (a `reviewed` record, verdict "ok": see `synthguard.ledger.screening`) came after it.
Screening never deletes anything: the quarantined sample's content stays in the ledger, and
`release` signs a reviewer's decision to let it through.
"""

from __future__ import annotations

from synthguard.ledger.screening import OVERRIDE_NOTE_PREFIX, ScreeningStatus, screening_status
from synthguard.ledger.store import Ledger
from synthguard.provenance.canonical import digest_json
from synthguard.provenance.errors import InputError
from synthguard.provenance.record import LineageRecord
from synthguard.provenance.recorder import Recorder


def quarantine_state(ledger: Ledger) -> dict[str, ScreeningStatus]:
    """Every sample whose latest screening quarantined it, by id, with its release if any."""
    return {
        sample_id: status
        for sample_id, status in screening_status(ledger).items()
        if status.outcome == "quarantined"
    }


def release(
    ledger: Ledger, recorder: Recorder, sample_id: str, *, reason: str, reviewer: str
) -> LineageRecord:
    """Sign a reviewer's release of a quarantined sample (a `reviewed` record, verdict ok)."""
    if not reason.strip():
        raise InputError("a release needs a reason (--reason)")
    held = quarantine_state(ledger).get(sample_id)
    if held is None:
        raise InputError(f"sample {sample_id} is not in quarantine")
    if not held.held:
        raise InputError(f"sample {sample_id} was released already (entry {held.override_seq})")
    row = ledger.sample(sample_id)
    if row is None:
        raise InputError(f"the content of sample {sample_id} is not in the ledger (erased?)")
    # Named by id and stored digest: the row need not re-read as the same sample under the
    # default field mapping (it may have been recorded with --field).
    record = recorder.reviewed_stored(
        sample_id,
        digest_json(row),
        detail={"reviewer": reviewer, "verdict": "ok", "note": OVERRIDE_NOTE_PREFIX + reason},
    )
    recorder.flush()
    return record
