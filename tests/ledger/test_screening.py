"""The quarantine folds that skip accepted screenings give what the whole fold gives."""

from __future__ import annotations

import random

import pytest

from synthguard.ledger.log import records_for
from synthguard.ledger.log.store import Ledger
from synthguard.ledger.log.verify import verify_ledger
from synthguard.ledger.screening import (
    OVERRIDE_NOTE_PREFIX,
    held_samples,
    quarantine_state,
    screening_status,
    sign_override,
)
from synthguard.provenance import Generator, Recorder, sample_from_row
from synthguard.provenance.canonical import digest_json
from synthguard.provenance.errors import InputError

WRITER = Generator(name="writer", model="tiny-lm")


def _detail(outcome: str, rule: str) -> dict[str, object]:
    failed = outcome == "quarantined"
    return {
        "outcome": outcome,
        # An accepted screening whose text names the word still folds as accepted.
        "note": 'a verdict said "quarantined" once',
        "verdicts": [{"guard": "g", "rule": rule, "passed": not failed}],
    }


@pytest.mark.parametrize("seed", range(4))
def test_quarantine_state_and_held_samples_agree_with_the_whole_fold(
    ledger_db: Ledger, seed: int
) -> None:
    rng = random.Random(seed)
    texts = [f"sample {i} of seed {seed}" for i in range(16)]
    ids = [sample_from_row({"text": text}).id for text in texts]
    with Recorder(ledger_db) as recorder:
        for text in texts:
            recorder.generated(text, WRITER)
    for round_ in range(4):
        with Recorder(ledger_db) as recorder:
            for number, text in enumerate(texts):
                draw = rng.random()
                if draw < 0.45 or number == 0:
                    recorder.screened(text, detail=_detail("accepted", f"r{round_}"))
                elif draw < 0.75:
                    recorder.screened(text, detail=_detail("quarantined", f"r{round_}"))
            held = held_samples(ledger_db)
            for sample_id in ids:
                if sample_id in held and rng.random() < 0.4:
                    sign_override(ledger_db, recorder, sample_id, reason="fine", reviewer="r")
    whole = screening_status(ledger_db)
    quarantined = {k: v for k, v in whole.items() if v.outcome == "quarantined"}
    assert quarantine_state(ledger_db) == quarantined
    assert held_samples(ledger_db) == {k: v for k, v in whole.items() if v.held}
    # Not vacuous: every kind of standing is there.
    assert any(v.held for v in whole.values())
    assert any(v.outcome == "quarantined" and not v.held for v in whole.values())
    assert any(v.outcome == "accepted" for v in whole.values())


def test_a_release_signed_meanwhile_is_seen_inside_the_write_lock(ledger_db: Ledger) -> None:
    """Two reviewers releasing one sample at once both found it held, and both signed. Whether
    it is still held is now asked again inside the append's write lock. Here the other
    reviewer's release (the record `sign_override` makes, built by hand) waits in an open batch
    that the second release's flush commits: after it read the sample as held, before it
    appended its own."""
    text = "a sample two reviewers release at once"
    sample_id = sample_from_row({"text": text}).id
    with Recorder(ledger_db) as recorder:
        recorder.generated(text, WRITER)
        recorder.screened(text, detail=_detail("quarantined", "r"))
    binding = quarantine_state(ledger_db)[sample_id].binding
    row_digest = digest_json(ledger_db.sample(sample_id))
    size = ledger_db.size()
    with Recorder(ledger_db) as recorder, recorder.batch():
        recorder.reviewed_stored(
            sample_id,
            row_digest,
            detail={
                "reviewer": "ana",
                "verdict": "ok",
                "note": OVERRIDE_NOTE_PREFIX + "first",
                "overrides": list(binding),
            },
        )
        with pytest.raises(InputError, match=r"was released already \(entry \d+\)"):
            sign_override(ledger_db, recorder, sample_id, reason="second", reviewer="bo")
    # The first release committed; the second signed nothing.
    assert ledger_db.size() == size + 1
    assert not held_samples(ledger_db)
    overrides = [
        e for e in records_for(ledger_db, sample_id) if e.record.detail.get("verdict") == "ok"
    ]
    assert [e.record.detail["reviewer"] for e in overrides] == ["ana"]
    assert verify_ledger(ledger_db, workers=1).size == size + 1
