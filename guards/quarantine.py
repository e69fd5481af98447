"""Quarantine as the ledger records it, and the signed human override that releases a sample.

A sample is in quarantine when its latest `screened` record says so and no `reviewed` record
with verdict "ok" came after it. Screening never deletes anything: the quarantined sample's
content stays in the ledger, and `release` signs a reviewer's decision to let it through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synthguard.ledger.lineage import records_by_event
from synthguard.ledger.store import Ledger
from synthguard.provenance.errors import InputError
from synthguard.provenance.record import Event, LineageRecord
from synthguard.provenance.recorder import Recorder

RELEASE_NOTE_PREFIX = "quarantine release: "


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A sample held back by a guard: when, by which rules, and whether someone released it."""

    sample_id: str
    seq: int
    reasons: list[dict[str, Any]]
    released_at: int | None = None

    @property
    def held(self) -> bool:
        """Still in quarantine (no later signed release)."""
        return self.released_at is None


def quarantine_state(ledger: Ledger) -> dict[str, Quarantined]:
    """Every sample that a screening quarantined, by id, with its release if any."""
    state: dict[str, Quarantined] = {}
    for entry in records_by_event(ledger, (Event.SCREENED, Event.REVIEWED)):
        record = entry.record
        if record.event is Event.SCREENED:
            if record.detail.get("outcome") == "quarantined":
                state[record.sample_id] = Quarantined(record.sample_id, entry.seq, _reasons(record))
            else:
                state.pop(record.sample_id, None)
        elif record.detail.get("verdict") == "ok" and record.sample_id in state:
            held = state[record.sample_id]
            state[record.sample_id] = Quarantined(
                held.sample_id, held.seq, held.reasons, released_at=entry.seq
            )
    return state


def _reasons(record: LineageRecord) -> list[dict[str, Any]]:
    verdicts = record.detail.get("verdicts", [])
    return [v for v in verdicts if isinstance(v, dict) and not v.get("passed", False)]


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
        raise InputError(f"sample {sample_id} was released already (entry {held.released_at})")
    row = ledger.sample(sample_id)
    if row is None:
        raise InputError(f"the content of sample {sample_id} is not in the ledger (erased?)")
    record = recorder.reviewed(
        row, reviewer=reviewer, verdict="ok", note=RELEASE_NOTE_PREFIX + reason
    )
    recorder.flush()
    return record
