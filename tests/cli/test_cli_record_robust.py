"""`synthguard record` on hostile input, on rows recorded before, under Ctrl-C and on a 50 MB
row: one bad line per bad row, nothing else lost, reruns resume, memory stays bounded."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from cli_support import Run, alpaca, stderr_lines, write_jsonl
from click.testing import Result

from synthguard.ledger.home import Home
from synthguard.ledger.log.lineage import making_record_ids, records_for
from synthguard.provenance.sample import sample_from_row

SCRIPT = Path(sys.executable).with_name("synthguard")

# (line, the error `record` and `screen` give for it)
HOSTILE = [
    (b'{"text": "a\\ud800b"}', "field 'text' contains a lone surrogate (not valid UTF-8)"),
    (
        b'{"text": "big", "n": ' + b"7" * 5000 + b"}",
        "invalid JSON: an integer of 5000 digits is outside the range JSON numbers hold exactly",
    ),
    (b'{"text": "first", "text": "second"}', "invalid JSON: duplicate key 'text'"),
]


# Good rows far apart, so that no guard takes one for a near copy of another.
GOOD = [
    {"instruction": "Name the largest planet.", "input": "", "output": "Jupiter."},
    {"text": "Rivers carve valleys slowly over many thousands of years."},
    {"instruction": "Translate 'merci' into English.", "input": "", "output": "Thank you."},
    {"text": "A haiku has three lines of five, seven and five syllables."},
]


def hostile_file(path: Path) -> tuple[Path, list[dict[str, str]], dict[int, str]]:
    """A good row, then each hostile row followed by a good one; the good rows; errors by line."""
    lines = [json.dumps(GOOD[0]).encode() + b"\n"]
    errors: dict[int, str] = {}
    for (line, error), good in zip(HOSTILE, GOOD[1:], strict=True):
        lines.append(line + b"\n")
        errors[len(lines)] = error
        lines.append(json.dumps(good).encode() + b"\n")
    return write_jsonl(path, lines), GOOD, errors


def _record(run: Run, home: Path, path: Path, *extra: str) -> Result:
    return run("record", path, "--generator", "g", "--model", "m", *extra, home=home)


def _generated(home: Path, row: dict[str, str]) -> int:
    """How many making records the ledger holds for a row's sample."""
    with Home(home).open() as ledger:
        entries = records_for(ledger, sample_from_row(row).id)
    return sum(entry.record.event.value == "generated" for entry in entries)


def test_each_hostile_row_is_one_bad_line_and_every_other_row_is_recorded(
    run: Run, home: Path, tmp_path: Path
) -> None:
    path, good, errors = hostile_file(tmp_path / "hostile.jsonl")

    result = _record(run, home, path)

    assert result.exit_code == 2
    assert stderr_lines(result) == [
        *(f"synthguard: {path}:{line}: {error}" for line, error in errors.items()),
        "synthguard: error: 3 of 7 rows were bad and were not recorded (listed above); "
        "the good rows were recorded",
    ]
    assert "recorded 4 of 7 samples" in result.stdout
    assert [_generated(home, row) for row in good] == [1, 1, 1, 1]
    verify = run("verify", home=home)
    assert verify.exit_code == 0, verify.output

    # Again: the good rows are skipped, and the count is still of every row read.
    again = _record(run, home, path)
    assert again.exit_code == 2
    assert stderr_lines(again)[-1] == (
        "synthguard: error: 3 of 7 rows were bad and were not recorded (listed above)"
    )
    assert "skipped 4 rows already recorded" in again.stdout
    assert "recorded 0 of 7 samples" in again.stdout


def test_rows_recorded_before_are_skipped_and_counted_and_again_records_them(
    run: Run, home: Path, samples: Path
) -> None:
    assert _record(run, home, samples).exit_code == 0
    size = Home(home).open().size()

    rerun = _record(run, home, samples)

    assert rerun.exit_code == 0, rerun.output
    assert "skipped 7 rows already recorded (--again records them anyway)" in rerun.stdout
    assert Home(home).open().size() == size

    again = _record(run, home, samples, "--again")

    assert again.exit_code == 0, again.output
    assert "skipped" not in again.stdout
    assert "recorded 7 of 7 samples" in again.stdout
    assert _generated(home, alpaca(0)) == 2


def test_a_partly_recorded_file_records_only_the_rest(run: Run, home: Path, tmp_path: Path) -> None:
    rows = [alpaca(i) for i in range(7)]
    first = write_jsonl(tmp_path / "first.jsonl", rows[:3])
    everything = write_jsonl(tmp_path / "all.jsonl", [*rows, rows[5]])  # a copy of row 6 too
    assert _record(run, home, first).exit_code == 0

    result = _record(run, home, everything)

    assert result.exit_code == 0, result.output
    assert "skipped 4 rows already recorded" in result.stdout
    assert "recorded 4 of 8 samples" in result.stdout
    assert [_generated(home, row) for row in rows] == [1] * 7


def test_imported_rows_count_as_recorded_and_screened_ones_do_not(
    run: Run, home: Path, tmp_path: Path
) -> None:
    human = write_jsonl(tmp_path / "human.jsonl", [alpaca(1)])
    screened_only = write_jsonl(tmp_path / "screened.jsonl", [alpaca(2)])
    assert run("record", human, "--origin", "human", home=home).exit_code == 0
    screen = run("screen", screened_only, "--out", tmp_path / "out", "--guards", "dedup", home=home)
    assert screen.exit_code == 0, screen.output

    both = write_jsonl(tmp_path / "both.jsonl", [alpaca(1), alpaca(2)])
    result = _record(run, home, both)

    assert "skipped 1 row already recorded" in result.stdout
    assert "recorded 1 of 2 samples" in result.stdout
    with Home(home).open() as ledger:
        ids = [sample_from_row(alpaca(i)).id for i in (1, 2)]
        assert making_record_ids(ledger, ids) == set(ids)


def _entries(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return int(conn.execute("SELECT count(*) FROM entries").fetchone()[0])


def test_ctrl_c_says_how_many_rows_were_committed_and_a_rerun_resumes(
    home: Path, tmp_path: Path, passphrase: str
) -> None:
    total = 20_000
    path = write_jsonl(tmp_path / "many.jsonl", (alpaca(i) for i in range(total)))
    env = {**os.environ, "SYNTHGUARD_PASSPHRASE": passphrase}
    env.pop("SYNTHGUARD_DB", None)
    command = [str(SCRIPT), "--home", str(home), "record", str(path), "--generator", "g"]
    command += ["--model", "m"]
    db = home / "ledger.db"
    assert db.exists(), "the home's SQLite ledger is not where this test looks"
    genesis = _entries(db)

    child = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while _entries(db) < genesis + 1000:
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "no rows committed in 120 s"
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=120)

    assert child.returncode == 130, err
    [line] = [line for line in err.splitlines() if line.strip()]
    shown = re.fullmatch(
        r"synthguard: interrupted: ([\d,]+) of the rows were committed; run the same command "
        r"again to resume \(rows already recorded are skipped\)",
        line,
    )
    assert shown, line
    committed = int(shown[1].replace(",", ""))
    assert 1000 <= committed < total
    assert _entries(db) == genesis + committed

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)

    assert rerun.returncode == 0, rerun.stderr
    assert f"skipped {committed:,} rows already recorded" in rerun.stdout
    assert f"recorded {total - committed} of {total} samples" in rerun.stdout
    assert _entries(db) == genesis + total
    verify = subprocess.run(
        [str(SCRIPT), "--home", str(home), "verify"], env=env, capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stderr


# Run by a fresh interpreter between pytest and the command. On exec, Linux carries the
# forked process's high-water mark into ru_maxrss, so a command forked from pytest itself would
# report pytest's own resident set (over 1 GB once a test has loaded a model) as its peak.
_MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def peak_rss_mb(command: list[str], env: dict[str, str]) -> tuple[int, float, str]:
    """Run `command`; return its exit code, its peak resident set in MB, and its stderr."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], env=env, capture_output=True, timeout=900
    )
    code, kib = done.stdout.split()
    # ru_maxrss is in KiB on Linux.
    return int(code), int(kib) / 1024, done.stderr.decode(errors="replace")


def fifty_megabyte_row(path: Path) -> Path:
    """A JSONL file of three rows, the middle one a single 50 MB line."""
    text = ("lorem ipsum dolor sit amet, consectetur adipiscing elit " * 900_000)[:50_000_000]
    rows = [{"text": "a small row"}, {"text": text}, {"text": "another small row"}]
    return write_jsonl(path, rows)


def test_a_50_mb_row_is_recorded_in_a_few_hundred_mb(
    home: Path, tmp_path: Path, passphrase: str
) -> None:
    path = fifty_megabyte_row(tmp_path / "big.jsonl")
    env = {**os.environ, "SYNTHGUARD_PASSPHRASE": passphrase}
    env.pop("SYNTHGUARD_DB", None)

    code, peak, err = peak_rss_mb(
        [str(SCRIPT), "--home", str(home), "record", str(path), "--generator", "g", "--model", "m"],
        env,
    )

    assert code == 0, err
    # Measured about 280 MB, 210 of them the process and the scrypt key derivation; a reader
    # that buffered the file or kept every copy of the row would pass 400.
    assert peak < 800, f"peak RSS {peak:.0f} MB"
