"""The quarantine folds that skip accepted screenings give what the whole fold gives."""

from __future__ import annotations

import random

import pytest

from synthguard.ledger.log.store import Ledger
from synthguard.ledger.screening import (
    held_samples,
    quarantine_state,
    screening_status,
    sign_override,
)
from synthguard.provenance import Generator, Recorder, sample_from_row

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
