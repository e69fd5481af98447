"""Where each sample stands after screening, folded from the ledger's signed records.

A quarantine binds: a sample is held while any `screened` record that quarantined it has not
been answered by a signed override, whatever screenings came before or after. A later screen
adds its verdicts; it never clears a quarantine. The override is a `reviewed` record, verdict
"ok", with a quarantine-release note, that names the quarantining records it answers by their
signed record ids (`detail.overrides`). So the fold is a function of the set of signed
records, not of their order: a record replayed or moved elsewhere changes nothing, and a
screening with fewer guards cannot make a held sample releasable.

Records written before record ids existed (payload version 1) carry none: an override of that
era answers every quarantine that comes before it in the ledger, as it did then.

Releases, reports, the quarantine commands and the recipient's `release verify` all read this
one fold, so they cannot disagree about what passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from synthguard.ledger.log import MAKING_EVENTS, LineageEntry, records_for, scan_records
from synthguard.provenance.canonical import digest_json
from synthguard.provenance.errors import InputError, VerificationError
from synthguard.provenance.record import Event

if TYPE_CHECKING:
    from synthguard.ledger.log import Ledger
    from synthguard.provenance.record import LineageRecord
    from synthguard.provenance.recorder import Recorder

OVERRIDE_NOTE_PREFIX = "quarantine release: "
"""The note a signed quarantine release starts with (other reviews are not overrides)."""


@dataclass(frozen=True, slots=True)
class ScreeningStatus:
    """One sample's standing: its latest screening, the quarantines that bind it, and the
    override that answered the last of its quarantines, if every one was answered.

    `seq`, `detail`: the latest quarantining screening when there is one, else the latest
    screening. `binding`: references (record ids, or `seq:N` for version 1 records) of the
    quarantines no override has answered.
    """

    sample_id: str
    seq: int
    outcome: Literal["accepted", "quarantined"]
    detail: dict[str, Any]
    override_seq: int | None = None
    binding: tuple[str, ...] = ()

    @property
    def reasons(self) -> list[dict[str, Any]]:
        """The failed verdicts of the screening `detail` comes from."""
        verdicts = self.detail.get("verdicts", [])
        return [v for v in verdicts if isinstance(v, dict) and not v.get("passed", False)]

    @property
    def held(self) -> bool:
        """Quarantined by a screening that no signed override answered."""
        return bool(self.binding)


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


def reference(entry: LineageEntry) -> str:
    """How an override names a screening: its record id (`seq:N` for a version 1 record)."""
    return entry.record.record_id or f"seq:{entry.seq}"


@dataclass
class _Sample:
    screenings: list[LineageEntry] = field(default_factory=list)
    overrides: list[LineageEntry] = field(default_factory=list)


def fold_screening(entries: Iterable[LineageEntry]) -> dict[str, ScreeningStatus]:
    """Fold `screened` and `reviewed` records into each sample's status; records of other
    events are ignored. VerificationError when two entries carry one record id (a replay)."""
    samples: dict[str, _Sample] = {}
    seen: dict[str, int] = {}
    for entry in entries:
        record = entry.record
        if record.event is not Event.SCREENED and not is_override(entry):
            continue
        if record.record_id is not None:
            first = seen.setdefault(record.record_id, entry.seq)
            if first != entry.seq:
                raise VerificationError(
                    f"entry {entry.seq}: repeats the signed record of entry {first} (a replayed "
                    "envelope; run `synthguard verify`)",
                    seq=entry.seq,
                )
        found = samples.setdefault(record.sample_id, _Sample())
        (found.screenings if record.event is Event.SCREENED else found.overrides).append(entry)
    return {
        sample_id: status
        for sample_id, found in samples.items()
        if (status := _status(sample_id, found)) is not None
    }


def _status(sample_id: str, found: _Sample) -> ScreeningStatus | None:
    if not found.screenings:
        return None
    screenings = sorted(found.screenings, key=lambda e: e.seq)
    quarantines = [e for e in screenings if e.record.detail.get("outcome") == "quarantined"]
    answered: set[str] = set()
    legacy_until = -1
    for override in found.overrides:
        named = override.record.detail.get("overrides")
        if isinstance(named, list):
            answered.update(ref for ref in named if isinstance(ref, str))
        elif override.record.record_id is None:
            legacy_until = max(legacy_until, override.seq)
    binding = tuple(
        reference(q)
        for q in quarantines
        if reference(q) not in answered
        and not (q.record.record_id is None and q.seq < legacy_until)
    )
    shown = quarantines[-1] if quarantines else screenings[-1]
    override_seq = None
    if quarantines and not binding:
        override_seq = max(o.seq for o in found.overrides)
    return ScreeningStatus(
        sample_id,
        shown.seq,
        "quarantined" if quarantines else "accepted",
        shown.record.detail,
        override_seq=override_seq,
        binding=binding,
    )


def screening_status(ledger: Ledger, size: int | None = None) -> dict[str, ScreeningStatus]:
    """Every screened sample's status, from the first `size` entries (all when None), read
    from every entry's signed payload (an edited index column cannot hide a quarantine)."""
    return fold_screening(scan_records(ledger, (Event.SCREENED, Event.REVIEWED), size))


def quarantine_state(ledger: Ledger) -> dict[str, ScreeningStatus]:
    """Every sample a screening ever quarantined, by id, with the override that released it:
    `screening_status`'s entries of outcome "quarantined", folded from the quarantining
    screenings and the reviews alone. A sample's accepted screenings change nothing of its
    status once one quarantined it (`seq` and `detail` are the latest quarantine's, the binding
    and the override come from quarantines and overrides), so the many accepted ones are not
    parsed; a replay among them is left to `verify`."""
    entries = scan_records(
        ledger,
        (Event.SCREENED, Event.REVIEWED),
        holding={Event.SCREENED: b'"quarantined"'},
        signed=(Event.REVIEWED,),
    )
    return {
        sample_id: status
        for sample_id, status in fold_screening(entries).items()
        if status.outcome == "quarantined"
    }


def held_samples(ledger: Ledger) -> dict[str, ScreeningStatus]:
    """The samples the ledger holds (a quarantine no signed override answered), by id."""
    return {
        sample_id: status for sample_id, status in quarantine_state(ledger).items() if status.held
    }


def sign_override(
    ledger: Ledger, recorder: Recorder, sample_id: str, *, reason: str, reviewer: str
) -> LineageRecord:
    """Sign a reviewer's override of a quarantined sample: a `reviewed` record, verdict ok,
    naming by record id the quarantines it answers. Whether the sample is still held is asked
    again inside the append's write lock: of two reviewers releasing it at once, one signs."""
    if not reason.strip():
        raise InputError("a release needs a reason (--reason)")
    held, row_digest = _releasable(ledger, sample_id)
    # Named by id and stored digest: the row need not re-read as the same sample under the
    # default field mapping (it may have been recorded with --field).
    record = recorder.prepare_reviewed_stored(
        sample_id,
        row_digest,
        detail={
            "reviewer": reviewer,
            "verdict": "ok",
            "note": OVERRIDE_NOTE_PREFIX + reason,
            "overrides": list(held.binding),
        },
    )

    def still_held() -> None:
        now, _ = _releasable(ledger, sample_id)
        if now.binding != held.binding:
            raise InputError(
                f"sample {sample_id} was screened again while this release was signed (it is "
                "now held by other quarantines): nothing was signed; run the command again"
            )

    recorder.flush()
    ledger.append([record], durable=True, admit=still_held)
    recorder.note_appended(1)
    return record


def _releasable(ledger: Ledger, sample_id: str) -> tuple[ScreeningStatus, str]:
    """The standing of a sample a reviewer may release (held by a quarantine), and the digest
    of its stored row, which its records sign; raise when it may not be released."""
    entries = records_for(ledger, sample_id)
    held = fold_screening(entries).get(sample_id)
    if held is None or held.outcome != "quarantined":
        if sample_id in quarantine_state(ledger):
            # Found by the signed payloads, not by the index columns: those were edited.
            raise VerificationError(
                f"sample {sample_id}: a signed screening quarantines it, but its entry's index "
                "columns were changed in the database (run `synthguard verify`): nothing was "
                "signed"
            )
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
    return held, row_digest
