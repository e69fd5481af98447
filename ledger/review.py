"""Human review: a reproducible stratified sample of the ledger's samples, and signed verdicts.

A draw's frame is every sample the ledger says was made (`generated`, `revised` or `imported`,
and not erased since), or a given set of ids. Its strata cross who made a sample (the
generator model of its first making record, "human" for human-written samples, "unknown" when
no making record names one) with the guards' latest word on it (accepted, quarantined or
unscreened), written `<model>|<outcome>`. Allocation is proportional: a stratum of N samples
gets round(rate * N) of them (Python's round, half to even), at least one. One
`random.Random(seed)` draws them, stratum after stratum in sorted order, each with `sample`
over the stratum's sorted ids; so the same frame, rate and seed give the same ids anywhere.

The draw id is the digest of the draw's canonical description: JCS of
`{"rate", "seed", "strata": [{"name", "samples", "ids"}, ...]}`, strata sorted by name, `ids`
the digest of the stratum's sorted ids joined by newlines. Each selected sample gets one signed
`reviewed` record, with no verdict, whose detail names the draw, seed, rate, frame size and
stratum; a reviewer's verdict is a later `reviewed` record with `verdict` and `reviewer`.
Drawing again over an unchanged frame with the same rate and seed gives the same draw id and
records only what the ledger lacks of it (nothing, unless an earlier run was cut short).
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from synthguard.ledger.log import MAKING_EVENTS, LineageEntry, records_for, scan_records
from synthguard.ledger.screening import OVERRIDE_NOTE_PREFIX, screening_status
from synthguard.provenance.canonical import digest, digest_json
from synthguard.provenance.errors import InputError
from synthguard.provenance.record import Event, LineageRecord, Origin
from synthguard.provenance.recorder import Recorder

if TYPE_CHECKING:
    from synthguard.ledger.log import Ledger

MAX_SEED = 2**53
"""Seeds stay below this: a signed record's numbers must be exact as JSON doubles."""
UNSCREENED = "unscreened"
UNKNOWN_MAKER = "unknown"


@dataclass(frozen=True, slots=True)
class Stratum:
    """One stratum of a draw: its name, how many samples it holds, and those drawn."""

    name: str
    samples: int
    selected: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Draw:
    """A review draw: its id, parameters, frame size, strata, and the records this call made."""

    draw: str
    seed: int
    rate: float
    frame: int
    strata: tuple[Stratum, ...]
    recorded: int

    @property
    def selected(self) -> list[str]:
        """Every selected id, stratum by stratum (strata by name, ids sorted within each)."""
        return [sample_id for stratum in self.strata for sample_id in stratum.selected]


@dataclass(frozen=True, slots=True)
class _Member:
    """A sample in the frame: its stratum and the row digest its records name."""

    stratum: str
    row_digest: str


def draw_review_sample(
    ledger: Ledger,
    recorder: Recorder,
    *,
    rate: float,
    seed: int,
    sample_ids: Collection[str] | None = None,
) -> Draw:
    """Draw a stratified sample for human review and record the selection in the ledger.

    `rate` is a fraction in (0, 1]; `seed` an integer in [0, 2**53). The frame is every
    sample made in the ledger, or `sample_ids`. Raises InputError for a bad rate or seed, an
    empty frame, or an id the ledger does not hold.
    """
    rate = _rate(rate)
    seed = _seed(seed)
    frame = _frame(ledger, sample_ids)
    if not frame:
        raise InputError(
            "the sampling frame is empty: no samples to review"
            + ("" if sample_ids is not None else " (none generated, revised or imported)")
        )
    members: dict[str, list[str]] = {}
    for sample_id in sorted(frame):
        members.setdefault(frame[sample_id].stratum, []).append(sample_id)
    names = sorted(members)
    draw_id = digest_json(
        {
            "rate": rate,
            "seed": seed,
            "strata": [
                {
                    "name": name,
                    "samples": len(members[name]),
                    "ids": digest("\n".join(members[name]).encode("utf-8")),
                }
                for name in names
            ],
        }
    )
    rng = random.Random(seed)
    strata = []
    for name in names:
        ids = members[name]
        chosen = rng.sample(ids, allocation(rate, len(ids)))
        strata.append(Stratum(name, len(ids), tuple(sorted(chosen))))
    recorded = _record_selection(
        recorder, draw_id, seed, rate, frame, strata, _drawn(ledger, draw_id)
    )
    return Draw(draw_id, seed, rate, len(frame), tuple(strata), recorded)


def allocation(rate: float, samples: int) -> int:
    """How many of a stratum's `samples` a draw at `rate` selects: round(rate * N), at least 1."""
    return min(samples, max(1, round(rate * samples)))


def record_review(
    ledger: Ledger,
    recorder: Recorder,
    sample_id: str,
    verdict: str,
    reviewer: str,
    note: str | None = None,
) -> LineageRecord:
    """Sign a reviewer's verdict ("ok" or "bad") on a sample the ledger holds.

    The sample is named by its records, so a sample whose content was erased can still be
    judged. A note may not pose as a quarantine release (`synthguard quarantine release`).
    """
    entries = records_for(ledger, sample_id)
    if not entries:
        raise InputError(f"no sample {sample_id} in the ledger")
    if isinstance(note, str) and note.startswith(OVERRIDE_NOTE_PREFIX):
        raise InputError(
            f"a note starting {OVERRIDE_NOTE_PREFIX.strip()!r} releases a quarantined sample: "
            "use `synthguard quarantine release` for that"
        )
    made = [entry for entry in entries if entry.record.event in MAKING_EVENTS] or entries
    detail: dict[str, object] = {"verdict": verdict, "reviewer": reviewer}
    if note is not None:
        detail["note"] = note
    record = recorder.reviewed_stored(sample_id, made[0].record.digest, detail=detail)
    recorder.flush()
    return record


def _rate(rate: object) -> float:
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise InputError(f"the review rate must be a number, not {type(rate).__name__}")
    if not (math.isfinite(rate) and 0 < rate <= 1):
        raise InputError(f"the review rate is a fraction in (0, 1], not {rate}")
    return float(rate)


def _seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"the seed must be an integer, not {type(seed).__name__}")
    if not 0 <= seed < MAX_SEED:
        raise InputError(f"the seed must be between 0 and 2**53 - 1, not {seed}")
    return seed


def _frame(ledger: Ledger, sample_ids: Collection[str] | None) -> dict[str, _Member]:
    """The frame's samples by id, with their strata."""
    made: dict[str, LineageRecord] = {}
    erased: set[str] = set()
    for entry in scan_records(ledger, (*MAKING_EVENTS, Event.ERASED)):
        record = entry.record
        if record.event is Event.ERASED:
            erased.add(record.sample_id)
            continue
        made.setdefault(record.sample_id, record)
        # Making a sample again stores its content again.
        erased.discard(record.sample_id)
    outcomes = {sid: status.outcome for sid, status in screening_status(ledger).items()}
    if sample_ids is None:
        wanted: Iterable[str] = (sid for sid in made if sid not in erased)
    else:
        wanted = dict.fromkeys(sample_ids)
        _check_wanted(ledger, wanted, made, erased)
    frame: dict[str, _Member] = {}
    for sample_id in wanted:
        maker = made.get(sample_id)
        outcome = outcomes.get(sample_id, UNSCREENED)
        if maker is None:
            # Known to the ledger only through other records (screened, say).
            first = records_for(ledger, sample_id)[0].record
            frame[sample_id] = _Member(f"{UNKNOWN_MAKER}|{outcome}", first.digest)
        else:
            frame[sample_id] = _Member(f"{_maker(maker)}|{outcome}", maker.digest)
    return frame


def _check_wanted(
    ledger: Ledger, wanted: Iterable[str], made: Mapping[str, LineageRecord], erased: set[str]
) -> None:
    for sample_id in wanted:
        if sample_id in erased:
            raise InputError(f"sample {sample_id} was erased: there is nothing left to review")
        if sample_id not in made and not records_for(ledger, sample_id):
            raise InputError(f"no sample {sample_id} in the ledger")


def _maker(record: LineageRecord) -> str:
    if record.origin is Origin.HUMAN:
        return "human"
    return record.generator.model if record.generator is not None else UNKNOWN_MAKER


def _drawn(ledger: Ledger, draw_id: str) -> set[str]:
    """The samples the ledger already records as selected by draw `draw_id`."""
    return {
        entry.record.sample_id
        for entry in scan_records(ledger, (Event.REVIEWED,))
        if _selects(entry, draw_id)
    }


def _selects(entry: LineageEntry, draw_id: str) -> bool:
    detail = entry.record.detail
    return detail.get("draw") == draw_id and detail.get("selected") is True


def _record_selection(
    recorder: Recorder,
    draw_id: str,
    seed: int,
    rate: float,
    frame: Mapping[str, _Member],
    strata: Iterable[Stratum],
    drawn: set[str],
) -> int:
    """Append one selection record per selected sample the ledger lacks; return how many."""
    missing = [
        (stratum.name, sample_id)
        for stratum in strata
        for sample_id in stratum.selected
        if sample_id not in drawn
    ]
    recorder.prefetch_depths(sample_id for _, sample_id in missing)
    with recorder.batch():
        for name, sample_id in missing:
            recorder.reviewed_stored(
                sample_id,
                frame[sample_id].row_digest,
                detail={
                    "draw": draw_id,
                    "selected": True,
                    "seed": seed,
                    "rate": rate,
                    "frame": len(frame),
                    "stratum": name,
                },
            )
    recorder.flush()
    return len(missing)
