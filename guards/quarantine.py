"""Quarantine as the ledger records it: binding until a key holder signs an override.

A sample is held while a `screened` record that quarantined it has no signed override (see
`synthguard.ledger.screening`). Screening never deletes anything and never clears a quarantine:
a later screen runs `HeldGuard` last, which quarantines again every sample the ledger still
holds, naming the record that holds it. `release` signs a reviewer's decision to let a sample
through: a `reviewed` record, verdict ok, naming by record id the quarantines it answers.
"""

from __future__ import annotations

from collections.abc import Sequence

from synthguard.guards.verdict import GuardInfo, Verdict
from synthguard.ledger.log.lineage import MAKING_EVENTS, records_for
from synthguard.ledger.log.store import Ledger
from synthguard.ledger.screening import (
    OVERRIDE_NOTE_PREFIX,
    ScreeningStatus,
    fold_screening,
    screening_status,
)
from synthguard.provenance.canonical import digest_json
from synthguard.provenance.errors import InputError, VerificationError
from synthguard.provenance.record import LineageRecord
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import Sample


def quarantine_state(ledger: Ledger) -> dict[str, ScreeningStatus]:
    """Every sample a screening ever quarantined, by id, with the override that released it."""
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
    entries = records_for(ledger, sample_id)
    held = fold_screening(entries).get(sample_id)
    if held is None or held.outcome != "quarantined":
        raise InputError(f"sample {sample_id} is not in quarantine")
    if not held.held:
        raise InputError(f"sample {sample_id} was released already (entry {held.override_seq})")
    row = ledger.sample(sample_id)
    if row is None:
        raise InputError(f"the content of sample {sample_id} is not in the ledger (erased?)")
    row_digest = digest_json(row)
    signed = {e.record.digest for e in entries if e.record.event in MAKING_EVENTS}
    if row_digest not in (signed or {e.record.digest for e in entries}):
        raise VerificationError(
            f"the stored content of sample {sample_id} is not what its records sign (it was "
            "changed in the database; run `synthguard verify`): nothing was signed"
        )
    # Named by id and stored digest: the row need not re-read as the same sample under the
    # default field mapping (it may have been recorded with --field).
    record = recorder.reviewed_stored(
        sample_id,
        row_digest,
        detail={
            "reviewer": reviewer,
            "verdict": "ok",
            "note": OVERRIDE_NOTE_PREFIX + reason,
            "overrides": list(held.binding),
        },
    )
    recorder.flush()
    return record


HELD_GUARD = GuardInfo.of("quarantine", "held", "1", {"binding": "until a signed override"})


class HeldGuard:
    """Quarantines every sample the ledger holds: an earlier screening quarantined it and no
    signed override answered that. Run last, so that a screen with other guards, or fewer,
    cannot turn a held sample into an accepted one."""

    info = HELD_GUARD

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._held: dict[str, ScreeningStatus] | None = None

    def check(self, samples: Sequence[Sample]) -> list[Verdict]:
        """One failing verdict per held sample, naming the quarantine that holds it."""
        if self._held is None:
            # Once per screen, from every entry's signed payload: a quarantine record whose
            # index columns were edited is still found.
            self._held = {
                sample_id: status
                for sample_id, status in screening_status(self.ledger).items()
                if status.held
            }
        verdicts = []
        for sample_id in dict.fromkeys(sample.id for sample in samples):
            status = self._held.get(sample_id)
            if status is None:
                continue
            rules = sorted({f"{r.get('guard')}/{r.get('rule')}" for r in status.reasons})
            verdicts.append(
                Verdict(
                    sample_id,
                    HELD_GUARD,
                    "held",
                    passed=False,
                    score=1.0,
                    detail={
                        "since": status.seq,
                        "rules": rules,
                        "binding": list(status.binding),
                        "note": "quarantined earlier; held until a key holder signs an override "
                        "(synthguard quarantine release ID --reason ...)",
                    },
                )
            )
        return verdicts
