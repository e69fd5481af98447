"""Quarantine as the ledger records it: binding until a key holder signs an override.

A sample is held while a `screened` record that quarantined it has no signed override (see
`synthguard.ledger.screening`). Screening never deletes anything and never clears a quarantine:
a later screen runs `HeldGuard` last, which quarantines again every sample the ledger still
holds, naming the record that holds it. The override that lets a sample through is signed by
`synthguard.ledger.screening.sign_override`.
"""

from __future__ import annotations

from collections.abc import Sequence

from synthguard.guards.verdict import GuardInfo, Verdict
from synthguard.ledger.log import Ledger
from synthguard.ledger.screening import (
    ScreeningStatus,
    held_samples,
)
from synthguard.provenance.sample import Sample

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
            # index columns were edited is still found. First the checks the screen's signing
            # will make: a quarantine deleted from the database (or an entry added without a
            # key) stops the screen here, before it writes its outputs, not after.
            self.ledger.check_history()
            self._held = held_samples(self.ledger)
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
