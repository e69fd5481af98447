"""Semantic near-duplicates with the real encoder: a later restatement of an earlier sample is
caught where MinHash sees nothing, the first occurrence stays (in one batch or across batches,
whichever comes first), other coding tasks pass, and the screen keeps every row."""

from __future__ import annotations

import pytest
from restated import Restated, coding_tasks, restated

from synthguard.guards.dedup import DedupGuard
from synthguard.guards.embedding import SentenceEncoder
from synthguard.guards.screen import screen_rows
from synthguard.guards.semantic import SemanticDedupGuard
from synthguard.guards.semantic.dedup import RULE, THRESHOLD
from synthguard.guards.verdict import DatasetGuard
from synthguard.provenance.errors import InputError
from synthguard.provenance.reader import Row
from synthguard.provenance.sample import Sample, as_sample, sample_from_row

RESTATED = restated()
PICKED = [RESTATED[i] for i in (0, 12, 31, 59, 100, 124)]


def _original(problem: Restated) -> Sample:
    return sample_from_row({"instruction": problem.original_form(), "output": "See below."})


def _restated(problem: Restated) -> Sample:
    return sample_from_row({"instruction": problem.signature_form(), "output": "See below."})


def _others() -> list[Sample]:
    return [
        sample_from_row({"instruction": f'{signature}\n    """{text}"""\n', "output": "See below."})
        for signature, text in coding_tasks()[:20]
    ]


def test_a_later_restatement_is_caught_and_the_first_stays(encoder: SentenceEncoder) -> None:
    originals = [_original(p) for p in PICKED]
    later = [_restated(p) for p in PICKED]
    samples = [*originals, *_others(), *later]
    guard = SemanticDedupGuard(encoder)

    verdicts = guard.check(samples)

    offset = len(originals) + 20
    assert [v.position for v in verdicts] == [offset + i for i in range(len(PICKED))]
    for verdict, original, copy in zip(verdicts, originals, later, strict=True):
        assert not verdict.passed
        assert verdict.sample_id == copy.id
        assert verdict.rule == RULE == "semantic-near"
        assert verdict.threshold == THRESHOLD
        assert verdict.score >= THRESHOLD
        assert verdict.detail["duplicate_of"] == original.id
        assert verdict.detail["duplicate_position"] == originals.index(original)
        assert verdict.detail["cosine"] == verdict.score
        assert verdict.detail["model"] == encoder.card.detail()
        assert verdict.guard.family == "dedup"
        assert verdict.guard.name == "semantic-dedup"


def test_minhash_sees_nothing_in_the_same_rows() -> None:
    samples = [*(_original(p) for p in PICKED), *(_restated(p) for p in PICKED)]

    assert DedupGuard().check(samples) == []


def test_whichever_comes_first_stays(encoder: SentenceEncoder) -> None:
    problem = PICKED[3]
    first, second = _restated(problem), _original(problem)

    [verdict] = SemanticDedupGuard(encoder).check([first, second])

    assert (verdict.sample_id, verdict.position) == (second.id, 1)
    assert verdict.detail["duplicate_of"] == first.id


def test_an_earlier_batch_counts_and_positions_run_on(encoder: SentenceEncoder) -> None:
    guard = SemanticDedupGuard(encoder)
    first = [_original(p) for p in PICKED[:3]]

    assert guard.check(first) == []
    [verdict] = guard.check([*_others()[:2], _restated(PICKED[1])])

    assert verdict.position == 3 + 2
    assert verdict.detail["duplicate_of"] == first[1].id
    assert verdict.detail["duplicate_position"] == 1


def test_an_exact_copy_is_a_duplicate_too(encoder: SentenceEncoder) -> None:
    sample = _original(PICKED[0])

    [verdict] = SemanticDedupGuard(encoder).check([sample, _others()[0], sample])

    assert (verdict.position, verdict.detail["duplicate_position"]) == (2, 0)
    assert verdict.score == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("form", ["signature", "prose"])
def test_other_coding_tasks_are_not_duplicates(encoder: SentenceEncoder, form: str) -> None:
    texts = [
        text if form == "prose" else f'{signature}\n    """{text}"""\n'
        for signature, text in coding_tasks()
    ]

    assert SemanticDedupGuard(encoder).check([as_sample(text) for text in texts]) == []


def test_finish_ends_the_pass(encoder: SentenceEncoder) -> None:
    guard: DatasetGuard = SemanticDedupGuard(encoder)  # the screen calls its `finish`
    guard.check([_original(PICKED[0])])

    assert guard.finish() == []
    assert guard.check([_restated(PICKED[0])]) == []


def test_the_screen_quarantines_the_copy_and_keeps_every_row(encoder: SentenceEncoder) -> None:
    samples = [_original(PICKED[2]), *_others()[:3], _restated(PICKED[2])]
    rows = [Row(number=i + 1, raw=s.row, sample=s, error=None) for i, s in enumerate(samples)]

    result = screen_rows(rows, [SemanticDedupGuard(encoder)])

    assert [item.row.number for item in result.quarantined] == [5]
    assert len(result.accepted) == 4
    [reason] = result.quarantined[0].output()["reasons"]
    assert (reason["guard"], reason["rule"]) == ("dedup", "semantic-near")
    assert reason["detail"]["duplicate_of"] == samples[0].id


def test_threshold_is_checked(encoder: SentenceEncoder) -> None:
    with pytest.raises(InputError, match="threshold"):
        SemanticDedupGuard(encoder, threshold=0.0)
