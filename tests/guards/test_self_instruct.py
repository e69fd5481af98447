"""Self-Instruct's filter rules: ROUGE-L as rouge-score computes it, an exact search of the pool,
the length, keyword and first-character filters, and the two guards on the built-in proposer's
output (which, like a real model, proposes near copies, image tasks and badly sized ones)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.cli.demo.models import BuiltinGenerator, BuiltinTaskProposer
from synthguard.guards.self_instruct import (
    KEYWORD_RULE,
    LENGTH_RULE,
    NON_ENGLISH_RULE,
    PROGRAM_RULE,
    PUNCTUATION_RULE,
    ROUGE_RULE,
    InstructionPool,
    SelfInstructFilter,
    SelfInstructSimilarity,
    filter_problems,
    lcs_length,
    rouge_l,
    rouge_tokens,
)
from synthguard.provenance.sample import sample_from_row


def _lcs_table(a: list[str], b: list[str]) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a, 1):
        for j, y in enumerate(b, 1):
            table[i][j] = (
                table[i - 1][j - 1] + 1 if x == y else max(table[i - 1][j], table[i][j - 1])
            )
    return table[-1][-1]


words = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), max_size=40)


@given(words, words)
@settings(max_examples=300, deadline=None)
def test_bit_parallel_lcs_equals_the_table(a: list[str], b: list[str]) -> None:
    assert lcs_length(a, b) == _lcs_table(a, b)


def test_tokens_are_rouge_scores_defaults() -> None:
    assert rouge_tokens("Write a haiku, about N.Y.C.'s 2nd-best café!") == [
        "write",
        "a",
        "haiku",
        "about",
        "n",
        "y",
        "c",
        "s",
        "2nd",
        "best",
        "caf",
    ]


def test_rouge_l_f_measure() -> None:
    cat, mat = rouge_tokens("the cat sat on the mat"), rouge_tokens("the cat lay on the mat")
    assert rouge_l(cat, mat) == pytest.approx(5 / 6)
    assert rouge_l(cat, cat) == 1.0
    assert rouge_l(cat, []) == 0.0
    # Precision over the second list, recall over the first, as rouge-score's score(target, pred).
    assert rouge_l(["a", "b"], ["a", "b", "c", "d"]) == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_threshold_is_strictly_above_point_seven() -> None:
    pool = InstructionPool(["one two three four five six seven eight nine ten"])
    exactly, _ = pool.most_similar("one two three four five six seven x y z")
    assert exactly == pytest.approx(0.7)
    guard = SelfInstructSimilarity(["one two three four five six seven eight nine ten"])
    sample = sample_from_row(
        {"instruction": "one two three four five six seven x y z", "input": "", "output": "-"}
    )
    assert guard.check([sample]) == []


def test_pool_search_is_exact() -> None:
    rng = random.Random(7)
    vocabulary = [f"w{i}" for i in range(12)] + ["the", "a", "of"]
    texts = [" ".join(rng.choices(vocabulary, k=rng.randint(1, 14))) for _ in range(300)]
    pool = InstructionPool(texts[:150])
    for text in texts[150:]:
        tokens = rouge_tokens(text)
        brute = max(rouge_l(tokens, rouge_tokens(other)) for other in texts[:150])
        best, _similar = pool.most_similar(text)
        if brute > 0.7:
            assert best == pytest.approx(brute)
        else:
            assert best <= 0.7


@pytest.mark.parametrize(
    ("instruction", "rule"),
    [
        ("Do it now.", LENGTH_RULE),
        (" ".join(["word"] * 151), LENGTH_RULE),
        ("Describe the image shown below in detail.", KEYWORD_RULE),
        ("Draw a cat using ASCII characters only.", KEYWORD_RULE),
        ("Tell me how to GO TO the station by bus.", KEYWORD_RULE),
        ("Summarise the audio recording of the meeting.", KEYWORD_RULE),
        ("Write a program that prints the primes below 100.", PROGRAM_RULE),
        ("- List three fruits that are red.", PUNCTUATION_RULE),
        ("¿Cuál es la capital de Francia hoy?", NON_ENGLISH_RULE),
        ("Écris un poème sur la mer, s'il te plaît.", NON_ENGLISH_RULE),
    ],
)
def test_each_filter_rejects_its_case(instruction: str, rule: str) -> None:
    assert [problem.rule for problem in filter_problems(instruction)] == [rule]


@pytest.mark.parametrize(
    "instruction",
    [
        "Give three tips for sleeping better.",
        " ".join(["word"] * 150),
        "Explain how a mapping between two sets works.",
        "Name the files-free way to share notes.".replace("files-free", "paperless"),
        "Write a poem about a programmer at night.",
    ],
)
def test_good_instructions_pass_every_filter(instruction: str) -> None:
    assert filter_problems(instruction) == []


def test_filter_guard_has_a_family_of_its_own() -> None:
    guard = SelfInstructFilter()
    samples = [
        sample_from_row({"instruction": "Plot the graph of y = x squared.", "output": "-"}),
        sample_from_row({"messages": [{"role": "user", "content": "Hi"}]}),
        sample_from_row({"text": "a text sample has no instruction"}),
    ]
    verdicts = guard.check(samples)
    assert guard.info.family == "self-instruct"
    assert verdicts[0].reason()["guard"] == "self-instruct"
    assert [(v.sample_id, v.rule) for v in verdicts] == [
        (samples[0].id, KEYWORD_RULE),
        (samples[1].id, LENGTH_RULE),
    ]
    assert verdicts[0].detail == {"keywords": ["graph", "plot"]}
    assert verdicts[1].score == 1.0
    assert verdicts[1].threshold == 3.0


def test_similarity_guard_grows_the_pool_with_what_passes() -> None:
    guard = SelfInstructSimilarity(seed=["Give three tips for staying healthy."])
    assert guard.info.family == "dedup"
    rows = [
        {"instruction": "Give three tips for staying healthy today.", "output": "-"},  # near copy
        {"instruction": "Describe the image of a sunset over the sea.", "output": "-"},  # keyword
        {"instruction": "Describe the image of a sunset over the sea!", "output": "-"},
        {"instruction": "Translate the sentence into German, please.", "output": "-"},
        {"instruction": "Translate this sentence into German, please.", "output": "-"},
    ]
    verdicts = guard.check([sample_from_row(row) for row in rows])
    assert [v.detail["most_similar"] for v in verdicts] == [
        "Give three tips for staying healthy.",
        "Translate the sentence into German, please.",
    ]
    assert all(v.rule == ROUGE_RULE and v.score > 0.7 == v.threshold for v in verdicts)
    # The image task failed a filter, so it never joined the pool and its copy is no duplicate.
    assert len(guard.pool) == 2


def test_seed_pool_is_in_the_config_digest() -> None:
    assert SelfInstructSimilarity(["a b c d"]).info != SelfInstructSimilarity(["a b c e"]).info


def test_the_proposers_flawed_tasks_are_caught() -> None:
    seed = [sample_from_row(row) for row in BuiltinGenerator(seed=1).generate(8)]
    proposals = BuiltinTaskProposer(seed=2).propose(seed, 400)
    samples = [sample_from_row(row) for row in proposals]
    similar = SelfInstructSimilarity([s.content["instruction"] for s in seed]).check(samples)
    filtered = SelfInstructFilter().check(samples)
    rules = {v.rule for v in similar + filtered}
    assert {ROUGE_RULE, LENGTH_RULE, KEYWORD_RULE} <= rules
    unanswerable = [s for s in samples if "image" in s.content["instruction"]]
    assert unanswerable
    assert {s.id for s in unanswerable} <= {v.sample_id for v in filtered}
