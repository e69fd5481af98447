"""Human review: the stratified draw, its signed selection records, and signed verdicts."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from pathlib import Path

import pytest
import rfc8785

from synthguard.ledger.log.lineage import records_by_event, records_for
from synthguard.ledger.log.store import Ledger
from synthguard.ledger.log.verify import verify_ledger
from synthguard.ledger.review import Draw, allocation, draw_review_sample, record_review
from synthguard.ledger.screening import OVERRIDE_NOTE_PREFIX, screening_status
from synthguard.provenance import Generator, Recorder, sample_from_row
from synthguard.provenance.errors import InputError
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.record import Event, LineageRecord, Origin, utc_now

TINY = Generator(name="self-instruct", model="tiny-lm")
BIG = Generator(name="writer", model="big-lm")

# stratum -> samples in it, as `populate` builds them.
STRATA = {
    "tiny-lm|accepted": 60,
    "tiny-lm|quarantined": 20,
    "tiny-lm|unscreened": 20,
    "big-lm|accepted": 30,
    "human|unscreened": 50,
    "human|quarantined": 3,
}


def text_id(text: str) -> str:
    return sample_from_row({"text": text}).id


def populate(ledger: Ledger) -> dict[str, list[str]]:
    """Make and screen samples so that they fall into STRATA; return the ids by stratum."""
    ids: dict[str, list[str]] = {name: [] for name in STRATA}
    with Recorder(ledger) as recorder, recorder.batch():
        for name, count in STRATA.items():
            maker, outcome = name.split("|")
            for i in range(count):
                text = f"{name} sample {i}"
                if maker == "human":
                    recorder.imported(text)
                else:
                    recorder.generated(text, TINY if maker == "tiny-lm" else BIG)
                if outcome != "unscreened":
                    recorder.screened(text, detail={"outcome": outcome, "verdicts": []})
                ids[name].append(text_id(text))
    return ids


def selections(ledger: Ledger) -> list[LineageRecord]:
    """The selection records of every draw, in ledger order."""
    return [
        entry.record
        for entry in records_by_event(ledger, (Event.REVIEWED,))
        if "verdict" not in entry.record.detail
    ]


def draw_at(ledger: Ledger, rate: float, seed: int = 11) -> Draw:
    """Draw with a recorder of its own."""
    with Recorder(ledger) as recorder:
        return draw_review_sample(ledger, recorder, rate=rate, seed=seed)


def test_the_same_seed_draws_the_same_ids_and_records_the_draw_once(ledger_db: Ledger) -> None:
    populate(ledger_db)
    with Recorder(ledger_db) as recorder:
        first = draw_review_sample(ledger_db, recorder, rate=0.1, seed=7)
        size = ledger_db.size()
        again = draw_review_sample(ledger_db, recorder, rate=0.1, seed=7)
    assert again.selected == first.selected
    assert again.draw == first.draw
    assert first.recorded == len(first.selected)
    assert again.recorded == 0
    assert ledger_db.size() == size
    assert len(selections(ledger_db)) == len(first.selected)


def test_different_seeds_draw_different_ids(ledger_db: Ledger) -> None:
    populate(ledger_db)
    with Recorder(ledger_db) as recorder:
        one = draw_review_sample(ledger_db, recorder, rate=0.1, seed=1)
        two = draw_review_sample(ledger_db, recorder, rate=0.1, seed=2)
    assert one.draw != two.draw
    assert one.selected != two.selected
    assert len(one.selected) == len(two.selected)
    # Both draws are in the ledger, each under its own id and seed.
    by_draw = Counter((r.detail["draw"], r.detail["seed"]) for r in selections(ledger_db))
    assert by_draw == {(one.draw, 1): len(one.selected), (two.draw, 2): len(two.selected)}


def test_every_stratum_is_represented_in_proportion(ledger_db: Ledger) -> None:
    ids = populate(ledger_db)
    result = draw_at(ledger_db, 0.1)
    assert result.frame == sum(STRATA.values())
    assert {s.name: s.samples for s in result.strata} == STRATA
    counts = {s.name: len(s.selected) for s in result.strata}
    # round(0.1 * N), and the 3-sample stratum still gets one.
    assert counts == {
        "tiny-lm|accepted": 6,
        "tiny-lm|quarantined": 2,
        "tiny-lm|unscreened": 2,
        "big-lm|accepted": 3,
        "human|unscreened": 5,
        "human|quarantined": 1,
    }
    for stratum in result.strata:
        assert set(stratum.selected) <= set(ids[stratum.name])


def test_allocation_rounds_and_keeps_at_least_one() -> None:
    assert allocation(0.02, 1000) == 20
    assert allocation(0.02, 3) == 1
    assert allocation(0.25, 10) == 2  # 2.5 rounds half to even
    assert allocation(1.0, 7) == 7


def test_the_selection_records_carry_the_draw(ledger_db: Ledger) -> None:
    populate(ledger_db)
    result = draw_at(ledger_db, 0.05, seed=123)
    records = selections(ledger_db)
    assert sorted(r.sample_id for r in records) == sorted(result.selected)
    stratum_of = {sid: s.name for s in result.strata for sid in s.selected}
    for record in records:
        assert record.origin is Origin.HUMAN
        assert record.detail == {
            "draw": result.draw,
            "selected": True,
            "seed": 123,
            "rate": 0.05,
            "frame": sum(STRATA.values()),
            "stratum": stratum_of[record.sample_id],
        }
        # The record names the sample as the ledger made it: same row digest.
        made = records_for(ledger_db, record.sample_id)[0].record
        assert (record.digest, record.depth) == (made.digest, made.depth)
    # A selection is no verdict: nothing quarantined was released by it.
    held = [s for s in screening_status(ledger_db).values() if s.outcome == "quarantined"]
    assert len(held) == 23
    assert all(s.held for s in held)
    ledger_db.checkpoint()
    verify_ledger(ledger_db)


def test_an_auditor_reproduces_the_draw_from_the_documented_rule(ledger_db: Ledger) -> None:
    ids = populate(ledger_db)
    result = draw_at(ledger_db, 0.02, seed=2024)
    rng = random.Random(2024)
    expected = []
    strata = []
    for name in sorted(ids):
        members = sorted(ids[name])
        expected.extend(sorted(rng.sample(members, max(1, round(0.02 * len(members))))))
        joined = "\n".join(members).encode()
        strata.append({"name": name, "samples": len(members), "ids": "sha256:" + _sha256(joined)})
    assert result.selected == expected
    description = rfc8785.dumps({"rate": 0.02, "seed": 2024, "strata": strata})
    assert result.draw == "sha256:" + _sha256(description)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_draw_over_given_ids(ledger_db: Ledger) -> None:
    ids = populate(ledger_db)
    chosen = ids["big-lm|accepted"][:10] + ids["human|unscreened"][:4]
    with Recorder(ledger_db) as recorder:
        result = draw_review_sample(
            ledger_db, recorder, rate=0.5, seed=3, sample_ids=[*chosen, chosen[0]]
        )
    assert result.frame == 14
    assert {s.name: (s.samples, len(s.selected)) for s in result.strata} == {
        "big-lm|accepted": (10, 5),
        "human|unscreened": (4, 2),
    }
    assert set(result.selected) <= set(chosen)
    with Recorder(ledger_db) as recorder, pytest.raises(InputError, match="no sample"):
        draw_review_sample(
            ledger_db, recorder, rate=0.5, seed=3, sample_ids=[*chosen, text_id("stranger")]
        )


def test_bad_rates_seeds_and_an_empty_frame_are_refused(ledger_db: Ledger) -> None:
    with Recorder(ledger_db) as recorder:
        with pytest.raises(InputError, match="frame is empty"):
            draw_review_sample(ledger_db, recorder, rate=0.1, seed=1)
        recorder.generated("only one", TINY)
        for rate in (0, -0.5, 1.01, float("nan"), True, "0.1"):
            with pytest.raises(InputError, match="rate"):
                draw_review_sample(ledger_db, recorder, rate=rate, seed=1)  # type: ignore[arg-type]
        for seed in (-1, 2**53, 1.5, False):
            with pytest.raises(InputError, match="seed"):
                draw_review_sample(ledger_db, recorder, rate=0.1, seed=seed)  # type: ignore[arg-type]
        with pytest.raises(InputError, match="frame is empty"):
            draw_review_sample(ledger_db, recorder, rate=0.1, seed=1, sample_ids=[])
        whole = draw_review_sample(ledger_db, recorder, rate=1, seed=1)
    assert whole.selected == [text_id("only one")]
    assert whole.rate == 1.0
    assert len(selections(ledger_db)) == 1


def test_a_verdict_is_signed_and_verifies(ledger_db: Ledger) -> None:
    ids = populate(ledger_db)
    target = ids["tiny-lm|accepted"][0]
    with Recorder(ledger_db) as recorder:
        record = record_review(ledger_db, recorder, target, "bad", "alice", note="made-up fact")
    (entry,) = [e for e in records_for(ledger_db, target) if e.record.event is Event.REVIEWED]
    # The stored record is the one signed, bound to the ledger with a record id on the way in.
    assert entry.record.ledger == ledger_db.origin
    assert entry.record.model_copy(update={"ledger": None, "record_id": None}) == record
    assert record.detail == {"verdict": "bad", "reviewer": "alice", "note": "made-up fact"}
    assert record.signer == ledger_db.key_id
    assert record.origin is Origin.HUMAN
    ledger_db.checkpoint()
    assert verify_ledger(ledger_db).size == ledger_db.size()


def test_bad_verdicts_are_refused(ledger_db: Ledger) -> None:
    ids = populate(ledger_db)
    target = ids["tiny-lm|quarantined"][0]
    size = ledger_db.size()
    with Recorder(ledger_db) as recorder:
        with pytest.raises(InputError, match="no sample"):
            record_review(ledger_db, recorder, text_id("never made"), "ok", "alice")
        with pytest.raises(InputError, match="verdict"):
            record_review(ledger_db, recorder, target, "fine", "alice")
        with pytest.raises(InputError, match="reviewer"):
            record_review(ledger_db, recorder, target, "ok", " ")
        # A review note may not pass for a signed quarantine release.
        with pytest.raises(InputError, match="quarantine release"):
            record_review(ledger_db, recorder, target, "ok", "alice", OVERRIDE_NOTE_PREFIX + "x")
    assert ledger_db.size() == size


def test_erased_samples_leave_the_frame_and_can_still_be_judged(ledger_db: Ledger) -> None:
    ids = populate(ledger_db)
    gone = ids["human|unscreened"][0]
    made = records_for(ledger_db, gone)[0].record
    ledger_db.erase(
        LineageRecord(
            event=Event.ERASED,
            sample_id=gone,
            digest=made.digest,
            run_id="erasure",
            time=utc_now(),
            signer=ledger_db.key_id,
            detail={"reason": "data subject request"},
        )
    )
    result = draw_at(ledger_db, 1.0)
    assert result.frame == sum(STRATA.values()) - 1
    assert gone not in result.selected
    with Recorder(ledger_db) as recorder:
        with pytest.raises(InputError, match="erased"):
            draw_review_sample(ledger_db, recorder, rate=1.0, seed=1, sample_ids=[gone])
        record = record_review(ledger_db, recorder, gone, "ok", "bob")
    assert record.digest == made.digest
    assert ledger_db.sample(gone) is None  # the verdict did not bring the content back
    ledger_db.checkpoint()
    verify_ledger(ledger_db)


def test_a_draw_cut_short_is_completed_not_repeated(ledger_db: Ledger, tmp_path: Path) -> None:
    populate(ledger_db)
    # The same samples in another ledger make the same frame, so the same draw.
    with Ledger.create(f"sqlite:///{tmp_path / 'twin.db'}", SigningKey.generate()) as twin:
        populate(twin)
        full = draw_at(twin, 0.1, seed=5)
        first = next(r for r in selections(twin) if r.sample_id == full.selected[0])
    # A run that stopped after its first selection record left this behind.
    with Recorder(ledger_db) as recorder:
        recorder.reviewed_stored(first.sample_id, first.digest, detail=first.detail)
    resumed = draw_at(ledger_db, 0.1, seed=5)
    assert (resumed.draw, resumed.selected) == (full.draw, full.selected)
    assert resumed.recorded == len(full.selected) - 1
    assert sorted(r.sample_id for r in selections(ledger_db)) == sorted(full.selected)


def test_a_given_sample_known_only_from_screening_is_of_unknown_make(ledger_db: Ledger) -> None:
    with Recorder(ledger_db) as recorder:
        recorder.generated("made", TINY)
        recorder.screened("loose", detail={"outcome": "accepted", "verdicts": []})
        result = draw_review_sample(
            ledger_db, recorder, rate=1.0, seed=0, sample_ids=[text_id("made"), text_id("loose")]
        )
    assert {s.name: s.selected for s in result.strata} == {
        "tiny-lm|unscreened": (text_id("made"),),
        "unknown|accepted": (text_id("loose"),),
    }
    # By default the frame holds only samples the ledger says were made.
    assert draw_at(ledger_db, 1.0).selected == [text_id("made")]
