"""Input that is not what the user thinks, through the real `synthguard` command: gzip read as it
streams, a file that is not JSONL said in one line, an empty file a warning, a long list of bad
rows cut at 20, a repeated --param refused, and a ledger path that is no ledger one clear line
that creates nothing."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import Run, alpaca, stderr_lines, write_jsonl
from click.testing import Result

from synthguard.ledger.home import Home

SCRIPT = Path(sys.executable).with_name("synthguard")
CHEAP = "unicode,dedup,decontamination"


def _record(run: Run, home: Path, path: Path, *extra: str, **kwargs: object) -> Result:
    return run("record", path, "--generator", "g", "--model", "m", *extra, home=home, **kwargs)


def _size(home: Path) -> int:
    with Home(home).open() as ledger:
        return ledger.size()


def _csv(path: Path) -> Path:
    path.write_text("instruction,output\n" + "".join(f"add {i},{i}\n" for i in range(500)))
    return path


# gzip


@pytest.mark.parametrize("name", ["rows.jsonl.gz", "rows.json.gz"])
def test_gzip_input_is_recorded_like_the_plain_file(
    run: Run, home: Path, tmp_path: Path, name: str
) -> None:
    plain = write_jsonl(tmp_path / "rows.jsonl", (alpaca(i) for i in range(6)))
    packed = tmp_path / name
    packed.write_bytes(gzip.compress(plain.read_bytes()))

    result = _record(run, home, packed)

    assert result.exit_code == 0, result.output
    assert f"recorded 6 of 6 samples from {packed}" in result.stdout
    # The same content: the plain file's rows are recorded already.
    again = _record(run, home, plain)
    assert "skipped 6 rows already recorded" in again.stdout


# Not JSONL at all


def test_a_csv_file_is_one_line_before_the_passphrase_and_nothing_is_recorded(
    run: Run, home: Path, tmp_path: Path
) -> None:
    path = _csv(tmp_path / "data.csv")

    result = _record(run, home, path, passphrase=None)

    assert result.exit_code == 2
    assert stderr_lines(result) == [
        f"synthguard: error: {path} does not look like JSONL: the first 20 lines are not JSON "
        "objects"
    ]
    assert result.stdout == ""
    assert _size(home) == 1


def test_gzip_with_the_wrong_name_is_one_line_that_says_what_it_is(
    run: Run, home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(
        gzip.compress(b"".join(json.dumps(alpaca(i)).encode() + b"\n" for i in range(9)))
    )

    result = _record(run, home, path)

    assert result.exit_code == 2
    [line] = stderr_lines(result)
    assert line.startswith(f"synthguard: error: {path} does not look like JSONL: ")
    assert line.endswith("(it is gzip-compressed: name it rows.jsonl.gz)")


def test_many_bad_rows_in_jsonl_list_20_then_a_count(run: Run, home: Path, tmp_path: Path) -> None:
    # A JSONL file (its first row is good) with 25 bad rows: listed up to 20, then counted.
    lines = [alpaca(0), *(b'{"instruction": "cut off\n' for _ in range(25)), alpaca(1)]
    path = write_jsonl(tmp_path / "mixed.jsonl", lines)

    result = _record(run, home, path)

    assert result.exit_code == 2
    errors = stderr_lines(result)
    assert errors[:20] == [
        f"synthguard: {path}:{n}: invalid JSON: Unterminated string starting at (column 17)"
        for n in range(2, 22)
    ]
    assert errors[20:] == [
        f"synthguard: {path}: 5 more bad lines, not listed",
        "synthguard: error: 25 of 27 rows were bad and were not recorded (the first 20 listed "
        "above); the good rows were recorded",
    ]
    assert "recorded 2 of 27 samples" in result.stdout


def test_all_bad_rows_in_jsonl_do_not_claim_good_rows(run: Run, home: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "fields.jsonl", [{"instruction": "no output"}] * 2)

    result = _record(run, home, path)

    assert result.exit_code == 2
    assert stderr_lines(result)[-1] == (
        "synthguard: error: 2 of 2 rows were bad and were not recorded (listed above)"
    )


# Empty input


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"], ids=["empty", "blank-lines"])
def test_an_empty_file_is_a_warning_and_exit_2(
    run: Run, home: Path, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)

    result = _record(run, home, path, passphrase=None)

    assert result.exit_code == 2
    assert stderr_lines(result) == [
        f"synthguard: warning: {path} is empty: it holds no rows; nothing was done"
    ]
    assert result.stdout == ""
    assert _size(home) == 1


# screen reads the same way: one line, exit 2, no output written


@pytest.mark.parametrize(
    ("content", "line"),
    [
        pytest.param(
            b"", "warning: {path} is empty: it holds no rows; nothing was done", id="empty"
        ),
        pytest.param(
            b"a,b\n" * 40,
            "error: {path} does not look like JSONL: the first 20 lines are not JSON objects",
            id="csv",
        ),
    ],
)
def test_screen_stops_on_an_input_of_no_samples_before_writing_anything(
    run: Run, home: Path, tmp_path: Path, content: bytes, line: str
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(content)
    out = tmp_path / "out"

    result = run("screen", path, "--out", out, "--guards", CHEAP, home=home, passphrase=None)

    assert result.exit_code == 2
    assert stderr_lines(result) == ["synthguard: " + line.format(path=path)]
    assert not out.exists()
    assert _size(home) == 1


def test_screen_reads_gzip(run: Run, home: Path, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(
        gzip.compress(b"".join(json.dumps(alpaca(i)).encode() + b"\n" for i in range(3)))
    )

    result = run("screen", path, "--out", tmp_path / "out", "--guards", CHEAP, home=home)

    assert result.exit_code == 0, result.output
    # Every row lands in exactly one output (near copies of one another are quarantined).
    outputs = ("accepted.jsonl", "quarantined.jsonl")
    rows = [json.loads(line) for name in outputs for line in (tmp_path / "out" / name).open()]
    assert sorted(row["instruction"] for row in rows) == sorted(
        alpaca(i)["instruction"] for i in range(3)
    )


# --param


def test_a_repeated_param_key_is_a_usage_error(run: Run, home: Path, samples: Path) -> None:
    result = _record(run, home, samples, "--param", "temperature=0.7", "--param", "temperature=1")

    assert result.exit_code == 2
    assert "'temperature' is given twice" in result.stderr
    assert _size(home) == 1


# The ledger database


def test_verify_on_a_missing_database_says_so_and_creates_nothing(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "ledger.db"

    for where in (path, tmp_path / "ledger.db"):
        result = run("--db", f"sqlite:///{where}", "verify", home=tmp_path / "no-home")

        assert result.exit_code == 2
        assert stderr_lines(result) == [
            f"synthguard: error: no synthguard ledger at {where} (run `synthguard init`)"
        ]
        assert not where.exists()


def test_a_home_whose_ledger_file_is_gone_is_not_given_an_empty_one(
    run: Run, home: Path, samples: Path
) -> None:
    database = home / "ledger.db"
    for tail in ("", "-wal", "-shm"):
        database.with_name(database.name + tail).unlink(missing_ok=True)

    for args in (["verify"], ["ledger", "show"], ["audit"]):
        result = run(*args, home=home)
        assert result.exit_code == 2, args
        assert stderr_lines(result) == [
            f"synthguard: error: no synthguard ledger at {database} (run `synthguard init`)"
        ]
    assert _record(run, home, samples).exit_code == 2
    assert not database.exists()


@pytest.mark.parametrize(
    "content", [b"not a database at all\n" * 300, b"\x00" * 4096], ids=["text", "zeros"]
)
def test_a_file_that_is_not_a_database_is_one_line(run: Run, home: Path, content: bytes) -> None:
    (home / "ledger.db").write_bytes(content)

    result = run("verify", home=home)

    assert result.exit_code == 2
    lines = stderr_lines(result)
    assert len(lines) == 1
    assert lines[0].startswith(f"synthguard: error: {home / 'ledger.db'} is not a ")
    assert "sqlalche.me" not in result.stderr
    assert "unexpected" not in result.stderr


def test_an_empty_sqlite_file_is_no_ledger(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    path.write_bytes(b"")

    result = run("--db", f"sqlite:///{path}", "verify", home=tmp_path / "no-home")

    assert stderr_lines(result) == [
        f"synthguard: error: no synthguard ledger at {path}: the file is empty "
        "(run `synthguard init`)"
    ]
    assert path.stat().st_size == 0


def test_a_database_url_password_is_not_shown(run: Run, tmp_path: Path) -> None:
    result = run("--db", "postgresql://someone:s3cret@127.0.0.1:1/none", "verify", home=tmp_path)

    assert result.exit_code == 2
    assert "s3cret" not in result.stderr
    assert len(stderr_lines(result)) == 1


def test_a_ledger_without_permission_is_one_line(run: Run, home: Path, passphrase: str) -> None:
    database = home / "ledger.db"
    database.chmod(0)
    try:
        if os.geteuid() == 0:
            # Root reads any file: the command runs without the capabilities that allow it.
            result_code, stderr = _as_plain_root("verify", home=home, passphrase=passphrase)
        else:
            result = run("verify", home=home)
            result_code, stderr = result.exit_code, result.stderr
    finally:
        database.chmod(0o600)

    assert result_code == 2
    assert [line for line in stderr.splitlines() if line.strip()] == [
        f"synthguard: error: cannot open the ledger at {database}: permission denied (SQLite "
        "needs to read and write the file, and to write its -wal and -shm files in its folder)"
    ]


def _as_plain_root(*args: str, home: Path, passphrase: str) -> tuple[int, str]:
    """Run `synthguard --home HOME ARGS` as root without CAP_DAC_OVERRIDE/DAC_READ_SEARCH, so
    that file modes bind it as they bind anyone else."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("setpriv (util-linux) is needed to run this test as root", pytrace=False)
    command = [
        setpriv,
        "--bounding-set=-dac_override,-dac_read_search",
        str(Path(sys.executable).with_name("synthguard")),
        "--home",
        str(home),
        *args,
    ]
    env = {**os.environ, "SYNTHGUARD_PASSPHRASE": passphrase}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    return done.returncode, done.stderr


def test_a_ledger_on_a_read_only_filesystem_is_one_line(
    home: Path, tmp_path: Path, passphrase: str
) -> None:
    # A read-only mount needs privileges: a user and mount namespace of our own gives them.
    if shutil.which("unshare") is None:
        pytest.skip("no unshare")
    mount = tmp_path / "mnt"
    mount.mkdir()
    script = (
        'mount -t tmpfs none "$1" && cp -a "$2" "$1/home" && mount -o remount,ro "$1" && '
        'exec "$3" --home "$1/home" verify'
    )
    env = {**os.environ, "SYNTHGUARD_PASSPHRASE": passphrase}
    env.pop("SYNTHGUARD_DB", None)
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False, timeout=30)
    if probe.returncode != 0:
        pytest.skip("user namespaces are not available")

    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", str(mount), str(home), str(SCRIPT)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )

    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"synthguard: error: cannot open the ledger at {mount / 'home' / 'ledger.db'}: it is on a "
        "read-only filesystem, and SQLite writes its -wal and -shm files beside it; copy it "
        "somewhere writable"
    ]


def test_a_database_error_after_opening_is_one_line_without_a_library_link(
    run: Run, home: Path
) -> None:
    with sqlite3.connect(home / "ledger.db") as db:
        db.execute("DROP TABLE entries")

    result = run("verify", home=home)

    assert result.exit_code == 2
    assert stderr_lines(result) == [
        "synthguard: error: the ledger database failed: no such table: entries"
    ]
