"""The built-in generator: deterministic, varied, valid Alpaca rows."""

from __future__ import annotations

import re

from synthguard.provenance.builtin import TASKS, BuiltinGenerator
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
