"""The built-in generator: deterministic, varied, valid Alpaca rows."""

from __future__ import annotations

import re

import pytest

from synthguard.cli.demo.models import (
    RESPONSE_STYLES,
    TASKS,
    BuiltinCritic,
    BuiltinGenerator,
    BuiltinReviser,
    BuiltinTaskProposer,
    respond,
)
from synthguard.provenance.errors import InputError
from synthguard.provenance.record import Generator
from synthguard.provenance.sample import sample_from_row


def test_same_seed_same_rows_and_each_call_starts_over() -> None:
    rows = list(BuiltinGenerator(7).generate(200))
    assert rows == list(BuiltinGenerator(7).generate(200))
    generator = BuiltinGenerator(7)
    assert list(generator.generate(50)) == rows[:50]
    assert list(generator.generate(50)) == rows[:50]


def test_different_seeds_give_different_rows() -> None:
    assert list(BuiltinGenerator(1).generate(20)) != list(BuiltinGenerator(2).generate(20))


def test_rows_are_valid_distinct_alpaca_samples() -> None:
    rows = list(BuiltinGenerator(0).generate(500))
    samples = [sample_from_row(row) for row in rows]
    assert all(sample.kind == "alpaca" for sample in samples)
    assert all(set(row) == {"instruction", "input", "output"} for row in rows)
    assert all(row["instruction"].strip() and row["output"].strip() for row in rows)
    assert len({sample.id for sample in samples}) == 500


def test_rows_are_varied() -> None:
    rows = list(BuiltinGenerator(3).generate(300))
    openings = {" ".join(row["instruction"].split()[:2]) for row in rows}
    assert len(TASKS) >= 30
    assert len(openings) >= 25
    assert sum(1 for row in rows if row["input"]) >= 60  # plenty of rows use the input field


def test_computed_answers_are_right() -> None:
    pattern = re.compile(r"What is (\d+) ([-+*]) (\d+)\?")
    checked = 0
    for row in BuiltinGenerator(11).generate(1000):
        match = pattern.fullmatch(row["instruction"])
        if match:
            a, op, b = int(match[1]), match[2], int(match[3])
            assert int(row["output"]) == {"+": a + b, "-": a - b, "*": a * b}[op]
            checked += 1
    assert checked > 5


def test_identity_describes_the_generator() -> None:
    identity = BuiltinGenerator(5).identity()
    assert isinstance(identity, Generator)
    assert (identity.name, identity.provider, identity.model, identity.version) == (
        "builtin",
        "synthguard",
        "builtin-template-lm",
        "1",
    )
    assert identity.seed == 5
    assert {"temperature", "top_p"} <= set(identity.parameters)


def test_candidates_differ_per_attempt_and_are_deterministic() -> None:
    generator = BuiltinGenerator(4)
    task = next(generator.generate(1))
    candidates = [generator.respond(task, attempt) for attempt in range(len(RESPONSE_STYLES))]
    assert len({sample_from_row(c).id for c in candidates}) == len(RESPONSE_STYLES)
    assert candidates == [BuiltinGenerator(4).respond(task, a) for a in range(5)]
    assert all(c["instruction"] == task["instruction"] for c in candidates)


def test_critic_names_each_flaw_and_scores_clean_answers_highest() -> None:
    critic = BuiltinCritic()
    task = {"instruction": "What is the capital of France?", "input": "", "output": "Paris"}
    clean = critic.critique(task)
    assert clean.issues == ()
    assert clean.score >= 9
    assert critic.critique(task) == clean  # deterministic
    flaws = {
        "padded": "padding",
        "hedged": "hedging",
        "trailing": "trailing",
        "echoing": "echo",
        "repetitive": "repetition",
    }
    for style, issue in flaws.items():
        judged = critic.critique(respond(task, style))
        assert judged.issues == (issue,), style
        assert 1 <= judged.score < clean.score
        assert judged.text.endswith(".")
    unanswered = {"messages": [{"role": "user", "content": "Hello?"}]}
    assert critic.critique(unanswered).score == 1
    assert critic.critique({**task, "output": "word " * 200}).issues == ("too_long",)


def test_critic_prefers_the_better_candidate_and_breaks_ties_by_id() -> None:
    critic = BuiltinCritic()
    task = {"instruction": "Name a prime number.", "input": "", "output": "7"}
    padded, clean = respond(task, "padded"), task
    preference = critic.prefer(padded, clean)
    assert preference.chosen.row == clean
    assert preference.rejected.row == padded
    assert preference.chosen_critique.score > preference.rejected_critique.score
    same = critic.prefer(clean, padded)
    assert (same.chosen, same.rejected) == (preference.chosen, preference.rejected)
    with pytest.raises(InputError, match="two different candidates"):
        critic.prefer(clean, dict(clean))


def test_reviser_removes_what_the_critique_names() -> None:
    critic, reviser = BuiltinCritic(), BuiltinReviser()
    for task in BuiltinGenerator(9).generate(40):
        for style in RESPONSE_STYLES:
            flawed = respond(task, style)
            revised = reviser.revise(flawed, critic.critique(flawed))
            assert critic.critique(revised).issues == (), (style, revised)
            assert revised["instruction"] == task["instruction"]
            if style != "trailing":  # a trailing answer lost its tail: only its first line
                assert revised["output"] == task["output"]


def test_reviser_always_changes_the_sample() -> None:
    critic, reviser = BuiltinCritic(), BuiltinReviser()
    task = {"instruction": "What is 2 + 2?", "input": "", "output": "4"}
    revised = reviser.revise(task, critic.critique(task))
    assert sample_from_row(revised).id != sample_from_row(task).id
    chat = {
        "messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hi!..."}]
    }
    assert reviser.revise(chat, critic.critique(chat))["messages"][1]["content"] == "Hi!"


def test_proposer_is_deterministic_and_gives_the_filters_work() -> None:
    proposer = BuiltinTaskProposer(1)
    shown = list(BuiltinGenerator(2).generate(4))
    proposals = proposer.propose(shown, 200)
    assert proposals == BuiltinTaskProposer(1).propose(shown, 200)
    assert proposals != proposer.propose(shown[:3], 200)
    assert proposals != proposer.propose(shown, 200, seed=2)
    assert all(sample_from_row(p).kind == "alpaca" for p in proposals)
    instructions = [p["instruction"] for p in proposals]
    assert any(re.search(r"\b(image|graph|picture|photo)\b", i) for i in instructions)
    assert any(len(i.split()) < 3 for i in instructions)
    assert any(len(i.split()) > 150 for i in instructions)
    shown_words = {tuple(row["instruction"].split()[1:]) for row in shown}
    assert any(tuple(i.split()[1:]) in shown_words for i in instructions)  # near copies
    prompt = proposer.prompt(shown)
    assert prompt.endswith("Task 5:")
    assert shown[0]["instruction"] in prompt
    with pytest.raises(InputError):
        proposer.propose([], 1)


def test_each_piece_has_its_own_identity() -> None:
    identities = [
        BuiltinGenerator(0).identity(),
        BuiltinCritic().identity(),
        BuiltinReviser().identity(),
        BuiltinTaskProposer(0).identity(),
    ]
    assert {identity.provider for identity in identities} == {"synthguard"}
    assert len({identity.model for identity in identities}) == 4
