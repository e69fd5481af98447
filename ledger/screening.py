"""Where each sample stands after screening, folded from the ledger's records.

A sample's status is its latest `screened` record's outcome. A quarantined sample is released
when a `reviewed` record with verdict "ok" and a quarantine-release note follows that screening:
the signed human override. Releases, reports and the quarantine commands all read this one fold,
so they cannot disagree about what passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from synthguard.ledger.lineage import LineageEntry, records_by_event
from synthguard.provenance.record import Event

if TYPE_CHECKING:
    from synthguard.ledger.store import Ledger

OVERRIDE_NOTE_PREFIX = "quarantine release: "
"""The note a signed quarantine release starts with (other reviews are not overrides)."""


@dataclass(frozen=True, slots=True)
class ScreeningStatus:
    """One sample's latest screening and any signed override after it."""

    sample_id: str
    seq: int
    outcome: Literal["accepted", "quarantined"]
    detail: dict[str, Any]
    override_seq: int | None = None

    @property
    def reasons(self) -> list[dict[str, Any]]:
        """The failed verdicts of the latest screening."""
        verdicts = self.detail.get("verdicts", [])
        return [v for v in verdicts if isinstance(v, dict) and not v.get("passed", False)]

    @property
    def held(self) -> bool:
        """Quarantined and not released by a reviewer."""
        return self.outcome == "quarantined" and self.override_seq is None

    @property
    def releasable(self) -> bool:
        """Accepted by the guards, or released from quarantine by a signed override."""
        return not self.held


def is_override(entry: LineageEntry) -> bool:
    """Whether a record is a reviewer's signed release of a quarantined sample."""
    record = entry.record
    note = record.detail.get("note")
    return (
        record.event is Event.REVIEWED
        and record.detail.get("verdict") == "ok"
        and isinstance(note, str)
        and note.startswith(OVERRIDE_NOTE_PREFIX)
    )


def fold_screening(entries: Iterable[LineageEntry]) -> dict[str, ScreeningStatus]:
    """Fold `screened` and `reviewed` records (in ledger order) into each sample's status;
    records of other events are ignored."""
    status: dict[str, ScreeningStatus] = {}
    for entry in entries:
        record = entry.record
        if record.event is Event.SCREENED:
            outcome = record.detail.get("outcome")
            status[record.sample_id] = ScreeningStatus(
                record.sample_id,
                entry.seq,
                "quarantined" if outcome == "quarantined" else "accepted",
                record.detail,
            )
        elif is_override(entry):
            held = status.get(record.sample_id)
            if held is not None and held.held:
                status[record.sample_id] = ScreeningStatus(
                    held.sample_id, held.seq, held.outcome, held.detail, override_seq=entry.seq
                )
    return status


def screening_status(ledger: Ledger, size: int | None = None) -> dict[str, ScreeningStatus]:
    """Every screened sample's status, from the first `size` entries (all when None)."""
    entries = records_by_event(ledger, (Event.SCREENED, Event.REVIEWED))
    if size is not None:
        entries = (entry for entry in entries if entry.seq < size)
    return fold_screening(entries)
