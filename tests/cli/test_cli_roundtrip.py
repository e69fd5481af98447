"""init -> record -> verify through the CLI: in-process, as a real console script, on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import Run, alpaca, stderr_lines, write_jsonl

SCRIPT = Path(sys.executable).with_name("synthguard")


def test_init_record_verify_round_trip(run: Run, tmp_path: Path, samples: Path) -> None:
    home = tmp_path / "fresh"
    init = run("init", "--checkpoint-interval", "3", "--origin", "example.com/log", home=home)
    assert init.exit_code == 0, init.output
    assert "example.com/log" in init.stdout
    config = json.loads((home / "config.json").read_text())
    key_path = next((home / "keys").iterdir())
    assert config["active_key"] == config["root_key"]
    assert key_path.stat().st_mode & 0o777 == 0o600

    record = run(
        "record",
        samples,
        "--generator",
        "self-instruct",
        "--model",
        "llama-3-8b",
        "--model-version",
        "2024-05",
        "--provider",
        "meta",
        "--param",
        "temperature=0.7",
        "--param",
        "stop=###",
        "--param",
        'logit_bias={"50256": -100}',
        home=home,
    )
    assert record.exit_code == 0, record.output
    assert "recorded 7 of 7 samples" in record.stdout
    assert record.stderr == ""

    verify = run("verify", home=home)
    assert verify.exit_code == 0, verify.output
    # Checkpoints at 1 (init), 3 and 6 (the interval), 8 (the end of `record`).
    assert verify.stdout.startswith("ok: 8 entries verified (1 key, 3 checkpoints)")

    shown = json.loads(run("ledger", "show", "1", home=home).stdout)
    payload = shown["payload"]
    assert shown["event"] == payload["event"] == "generated"
    assert payload["generator"] == {
        "name": "self-instruct",
        "provider": "meta",
        "model": "llama-3-8b",
        "version": "2024-05",
        "parameters": {"temperature": 0.7, "stop": "###", "logit_bias": {"50256": -100}},
    }
    assert payload["depth"] == 1
    assert payload["origin"] == "synthetic"
    assert shown["content"] == alpaca(0)


def test_human_rows_are_imported_at_depth_zero_without_a_generator(
    run: Run, home: Path, samples: Path
) -> None:
    result = run("record", samples, "--origin", "human", home=home)
    assert result.exit_code == 0, result.output
    payload = json.loads(run("ledger", "show", "1", home=home).stdout)["payload"]
    assert (payload["event"], payload["origin"], payload["depth"]) == ("imported", "human", 0)
    assert "generator" not in payload


def test_synthetic_rows_need_a_generator(run: Run, home: Path, samples: Path) -> None:
    result = run("record", samples, home=home)
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        "synthguard: error: synthetic samples need --generator and --model"
    ]


def test_init_refuses_an_existing_home(run: Run, home: Path) -> None:
    result = run("init", home=home)
    assert result.exit_code == 2
    assert stderr_lines(result) == [f"synthguard: error: {home} is a synthguard home already"]


def test_commands_without_a_home_say_to_run_init(run: Run, tmp_path: Path) -> None:
    result = run("verify", home=tmp_path / "nowhere")
    assert result.exit_code == 2
    assert len(stderr_lines(result)) == 1
    assert "run `synthguard init`" in result.stderr


def _script(*args: str | Path, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *map(str, args)],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_console_script_round_trip(env: dict[str, str], tmp_path: Path) -> None:
    assert SCRIPT.exists(), "the synthguard console script is not installed beside python"
    rows = [alpaca(i) for i in range(5)]
    write_jsonl(tmp_path / "in.jsonl", [*rows, b"{broken\n"])

    init = _script("init", env=env, cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert (tmp_path / ".synthguard" / "config.json").exists()  # ./.synthguard by default

    record = _script(
        "record", "in.jsonl", "--generator", "g", "--model", "m", env=env, cwd=tmp_path
    )
    assert record.returncode == 2
    assert "recorded 5 of 6 samples" in record.stdout
    assert record.stderr.splitlines() == [
        "synthguard: in.jsonl:6: invalid JSON: Expecting property name enclosed in double "
        "quotes (column 2)",
        "synthguard: error: 1 of 6 rows were bad and were not recorded (listed above); "
        "the good rows were recorded",
    ]

    verify = _script("verify", env=env, cwd=tmp_path)
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith("ok: 6 entries verified")

    without_passphrase = {k: v for k, v in env.items() if k != "SYNTHGUARD_PASSPHRASE"}
    refused = _script(
        "record",
        "in.jsonl",
        "--generator",
        "g",
        "--model",
        "m",
        env=without_passphrase,
        cwd=tmp_path,
    )
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "synthguard: error: no passphrase: set SYNTHGUARD_PASSPHRASE or run the command in a "
        "terminal"
    ]


@pytest.mark.postgres
def test_round_trip_on_postgresql(
    run: Run, tmp_path: Path, samples: Path, postgres_url: str
) -> None:
    home = tmp_path / "pg-home"
    init = run("--db", postgres_url, "init", "--checkpoint-interval", "4", home=home)
    assert init.exit_code == 0, init.output
    # The home remembers the database, so later commands need no --db.
    assert json.loads((home / "config.json").read_text())["db"] == postgres_url
    assert not (home / "ledger.db").exists()

    record = run("record", samples, "--generator", "g", "--model", "m", home=home)
    assert record.exit_code == 0, record.output
    verify = run("--db", postgres_url, "verify", home=home)
    assert verify.exit_code == 0, verify.output
    assert verify.stdout.startswith("ok: 8 entries verified (1 key, 2 checkpoints)")

    exported = run("ledger", "export", home=home).stdout.splitlines()
    assert [json.loads(line)["seq"] for line in exported] == list(range(8))
