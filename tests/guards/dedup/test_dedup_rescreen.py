"""Screening a file twice: the second run keeps what the first kept (a sample is not a copy of
itself), while another file's copies of those rows are still duplicates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from synthguard.cli.demo.models import BuiltinGenerator
from synthguard.cli.main import cli

PASSPHRASE = "rescreen-test-passphrase"


def _run(home: Path, *args: str) -> Any:
    return CliRunner().invoke(
        cli, ["--home", str(home), *args], env={"SYNTHGUARD_PASSPHRASE": PASSPHRASE}
    )


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _screen(home: Path, source: Path, out: Path) -> tuple[list[dict[str, Any]], ...]:
    result = _run(home, "screen", str(source), "--out", str(out), "--guards", "dedup")
    assert result.exit_code == 0, result.output
    return tuple(
        [json.loads(line) for line in (out / name).read_text(encoding="utf-8").splitlines()]
        for name in ("accepted.jsonl", "quarantined.jsonl")
    )


def test_screening_the_same_file_again_keeps_what_it_kept(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _run(home, "init").exit_code == 0
    rows = list(BuiltinGenerator(5).generate(400))
    rows.insert(50, {**rows[3], "id": "copy-of-3"})  # an exact copy, own id: the same sample
    rows.insert(60, {**rows[4], "output": rows[4]["output"].upper()})  # another sample, same text
    source = _write(tmp_path / "in.jsonl", rows)

    accepted, quarantined = _screen(home, source, tmp_path / "first")
    rules = {reason["rule"] for row in quarantined for reason in row["reasons"]}
    assert rules == {"exact", "near"}  # template siblings are near copies of each other
    assert len(accepted) > 200

    again = _screen(home, source, tmp_path / "second")
    assert again == (accepted, quarantined)

    # A new file: rows the first run kept, once as the same samples (screened again, kept) and
    # once as other samples with the same text or a few words changed (duplicates).
    def words(row: dict[str, Any]) -> list[str]:
        return f"{row['instruction']} {row['input']} {row['output']}".split()

    # One word of 20 or more is at most 5 % edited (of a 7-word row it would be 14 %).
    long = [row for row in accepted[10:] if len(words(row)) >= 20][:10]
    kept = accepted[:10] + long
    copies = [{**row, "instruction": row["instruction"].upper() + "!"} for row in accepted[:10]]
    near = []
    for row in long:
        edited = words(row)
        edited[len(edited) // 2] = "indeed"
        near.append({"text": " ".join(edited)})
    later = _write(tmp_path / "later.jsonl", kept + copies + near)
    accepted_later, quarantined_later = _screen(home, later, tmp_path / "third")
    assert accepted_later == kept
    by_text = {
        row.get("text") or row["instruction"]: row["reasons"][0] for row in quarantined_later
    }
    assert len(by_text) == 20
    assert all(by_text[row["instruction"]]["rule"] == "exact" for row in copies)
    assert all(by_text[row["text"]]["guard"] == "dedup" for row in near)
