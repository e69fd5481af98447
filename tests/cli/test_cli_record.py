"""`synthguard record`: bad rows are reported by line number and never stop the good ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import Run, alpaca, stderr_lines, write_jsonl
from click.testing import Result

from synthguard.cli.record import record_summary
from synthguard.ledger.home import Home
from synthguard.ledger.log.checkpoint import Checkpoint
from synthguard.ledger.recording import RecordResult
from synthguard.provenance.recorder import RecordSummary
from synthguard.provenance.sample import sample_from_row


def _record(run: Run, home: Path, path: Path, *extra: str) -> Result:
    return run("record", path, "--generator", "g", "--model", "m", *extra, home=home)


def test_bad_rows_are_reported_by_line_and_good_rows_recorded(
    run: Run, home: Path, tmp_path: Path
) -> None:
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            alpaca(1),
            b'{"instruction": "unterminated\n',
            b'{"instruction": "caf\xe9", "output": "latin-1, not UTF-8"}\n',
            {"instruction": "no output field", "input": ""},
            b"\n",  # blank lines are skipped, but still counted as lines
            alpaca(2),
            {"output": 42},
        ],
    )
    result = run("record", path, "--generator", "g", "--model", "m", home=home)
    assert result.exit_code == 2
    errors = stderr_lines(result)
    assert errors[:4] == [
        f"synthguard: {path}:2: invalid JSON: Unterminated string starting at (column 17)",
        f"synthguard: {path}:3: line is not valid UTF-8",
        f"synthguard: {path}:4: missing field 'output'",
        f"synthguard: {path}:7: missing field 'instruction'",
    ]
    assert errors[4:] == [
        "synthguard: error: 4 of 6 rows were bad and were not recorded (listed above); "
        "the good rows were recorded"
    ]
    assert "recorded 2 of 6 samples" in result.stdout

    verify = run("verify", home=home)
    assert verify.exit_code == 0, verify.output
    assert verify.stdout.startswith("ok: 3 entries verified")
    with Home(home).open() as ledger:
        recorded = [ledger.entry(seq) for seq in (1, 2)]
        assert [entry.sample_id for entry in recorded if entry] == [
            sample_from_row(alpaca(1)).id,
            sample_from_row(alpaca(2)).id,
        ]
        assert ledger.sample(sample_from_row(alpaca(2)).id) == alpaca(2)


def test_field_mapping_reads_other_columns(run: Run, home: Path, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "renamed.jsonl", [{"prompt": "Say hi.", "completion": "Hi!", "id": "r1"}]
    )
    result = _record(
        run, home, path, "--field", "instruction=prompt", "--field", "output=completion"
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(run("ledger", "show", "1", home=home).stdout)
    expected = {"instruction": "Say hi.", "input": "", "output": "Hi!"}
    assert shown["sample"] == sample_from_row(expected).id
    # The stored row is the original one, every field kept.
    assert shown["content"] == {"prompt": "Say hi.", "completion": "Hi!", "id": "r1"}


def test_a_bad_field_mapping_is_a_one_line_error(run: Run, home: Path, samples: Path) -> None:
    result = _record(run, home, samples, "--field", "answer=completion")
    assert result.exit_code == 2
    assert len(stderr_lines(result)) == 1
    assert "unknown field 'answer'" in result.stderr


def test_parquet_input_is_numbered_by_row(run: Run, home: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "rows.parquet"
    table = pa.table(
        {"instruction": ["a", None, "c"], "input": ["", "", ""], "output": ["1", "2", None]}
    )
    pq.write_table(table, path)
    result = _record(run, home, path)
    assert result.exit_code == 2
    assert stderr_lines(result)[:2] == [
        f"synthguard: {path}: row 2: missing field 'instruction'",
        f"synthguard: {path}: row 3: missing field 'output'",
    ]


def test_a_missing_file_fails_before_asking_for_the_passphrase(
    run: Run, home: Path, tmp_path: Path
) -> None:
    result = run(
        "record",
        tmp_path / "absent.jsonl",
        "--generator",
        "g",
        "--model",
        "m",
        home=home,
        passphrase=None,
    )
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        f"synthguard: error: cannot read {tmp_path / 'absent.jsonl'}: No such file or directory"
    ]


def test_a_bad_param_is_a_usage_error(run: Run, home: Path, samples: Path) -> None:
    result = _record(run, home, samples, "--param", "no-equals-sign")
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.stderr


def test_param_values_are_json_when_they_are_json_else_strings(
    run: Run, home: Path, samples: Path
) -> None:
    params = ["t=0.7", "n=3", 'stop=["###"]', "x=NaN", "y=-Infinity", "z=1e999", "w=hot"]
    result = _record(run, home, samples, *[a for p in params for a in ("--param", p)])
    assert result.exit_code == 0, result.output
    shown = json.loads(run("ledger", "show", "1", home=home).stdout)
    assert shown["payload"]["generator"]["parameters"] == {
        "t": 0.7,
        "n": 3,
        "stop": ["###"],
        # Python's json reads these as floats; JSON has no such numbers, so they are strings.
        "x": "NaN",
        "y": "-Infinity",
        "z": "1e999",
        "w": "hot",
    }


@pytest.mark.parametrize("option", ["--generator", "--model"])
def test_an_empty_generator_or_model_is_one_error_line(
    run: Run, home: Path, samples: Path, option: str
) -> None:
    names = {"--generator": "g", "--model": "m", option: " "}
    result = run("record", samples, *[a for kv in names.items() for a in kv], home=home)
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        f"synthguard: error: {option} is empty: name what made the samples"
    ]
    assert run("ledger", "show", home=home).stdout.count("generated") == 0


def test_run_id_is_recorded(run: Run, home: Path, samples: Path) -> None:
    result = _record(run, home, samples, "--run-id", "nightly-42")
    assert result.exit_code == 0
    assert "(run nightly-42)" in result.stdout
    shown = json.loads(run("ledger", "show", "3", home=home).stdout)
    assert shown["payload"]["run_id"] == "nightly-42"


def test_a_ledger_of_one_entry_holds_1_entry(tmp_path: Path) -> None:
    checkpoint = Checkpoint(origin="o", size=1, root=bytes(32), note="")
    result = RecordResult(
        path=tmp_path / "in.jsonl",
        summary=RecordSummary(recorded=1),
        run_id="r",
        unit="line",
        size=1,
        checkpoint=checkpoint,
    )

    assert "the ledger holds 1 entry, checkpoint at 1" in record_summary(result)
