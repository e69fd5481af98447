"""The views a text is read as: its prose (code, doctests and examples dropped) and its lead
sentence, on HumanEval's own prompts and on answers in Markdown."""

from __future__ import annotations

from restated import humaneval_problems

from synthguard.guards.semantic.views import lead_of, prose_of


def test_a_prompt_reads_as_its_docstring_up_to_the_examples() -> None:
    prompt = humaneval_problems()["HumanEval/0"]["prompt"]

    assert prose_of(prompt) == (
        "Check if in given list of numbers, are any two numbers closer to each other than "
        "given threshold."
    )


def test_the_last_docstring_states_the_task_helpers_come_first() -> None:
    prompt = humaneval_problems()["HumanEval/38"]["prompt"]  # encode_cyclic, then decode_cyclic

    prose = prose_of(prompt)

    assert prose.startswith("takes as input string encoded with encode_cyclic function")
    assert "returns encoded string by cycling" not in prose


def test_every_humaneval_prompt_has_prose_without_doctests() -> None:
    for task_id, problem in humaneval_problems().items():
        prose = prose_of(problem["prompt"])
        assert prose, task_id
        assert ">>>" not in prose, task_id
        assert "def " not in prose, task_id


def test_an_answer_loses_its_code_and_keeps_its_explanation() -> None:
    answer = (
        "Sort first:\n```python\ndef f(xs):\n    return sorted(xs)[0]\n```\n"
        "import math\nresult = f([3, 1])\n"
        "The smallest value comes first after sorting."
    )

    assert prose_of(answer) == "Sort first: The smallest value comes first after sorting."


def test_example_lines_end_the_prose() -> None:
    text = "Return the sum of the digits.\nFor example:\nsum_digits(123) == 6\nMore text."

    assert prose_of(text) == "Return the sum of the digits."
    assert prose_of("def f(x):\n    return x") == ""


def test_the_lead_is_the_first_sentence() -> None:
    paragraph = "Return the k largest values. Sort them in increasing order. E.g. 3 of 5."

    assert lead_of(paragraph) == "Return the k largest values."
    assert lead_of("One sentence only, e.g. this one") == "One sentence only, e.g. this one"
    assert lead_of("Values such as 3.5 stay. Then more.") == "Values such as 3.5 stay."
