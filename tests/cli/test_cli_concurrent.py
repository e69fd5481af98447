"""Commands of one home run at the same time, and one killed half-way: `verify` beside a
writer sees a consistent ledger, never a false alarm. Run as the console script, in processes
of their own, as a user runs them."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from process_support import all_gone

SYNTHGUARD = Path(sys.executable).with_name("synthguard")


def command(home: Path, *args: str | Path) -> list[str]:
    return [str(SYNTHGUARD), "--home", str(home), *map(str, args)]


def environment(passphrase: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTHGUARD_")}
    env["SYNTHGUARD_PASSPHRASE"] = passphrase
    return env


def finished(
    env: dict[str, str], home: Path, *args: str | Path
) -> subprocess.CompletedProcess[str]:
    """Run one command of the home to its end (two minutes at most)."""
    return subprocess.run(
        command(home, *args), env=env, capture_output=True, text=True, check=False, timeout=120
    )


def test_verify_beside_a_writer_of_the_same_home_raises_no_false_rollback(
    home: Path, passphrase: str, tmp_path: Path
) -> None:
    """The writer keeps the home's checkpoint after each commit; verify read it after its
    snapshot of the database, so a commit in between looked like entries cut off (exit 1)."""
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        "".join(
            json.dumps({"instruction": f"Task {i}: add {i} and {i}.", "output": str(2 * i)}) + "\n"
            for i in range(30_000)
        )
    )
    env = environment(passphrase)
    record = subprocess.Popen(
        [*command(home, "record", rows, "--generator", "g", "--model", "m")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    said: list[tuple[int, str]] = []
    try:
        while record.poll() is None:
            done = finished(env, home, "verify")
            said.append((done.returncode, done.stdout + done.stderr))
    finally:
        _, errors = record.communicate(timeout=300)
    assert record.returncode == 0, errors
    assert said, "the record ended before a verify could run beside it"
    assert [out for code, out in said if code != 0] == []


def test_a_rotation_killed_before_config_named_the_new_key_is_followed(
    home: Path, passphrase: str, tmp_path: Path
) -> None:
    """`keys rotate` commits its signed `key_rotated` entry, then writes the new key's id into
    config.json: killed in between, the home named a retired key, and every later write failed
    with "key ... is retired". The home now follows the signed rotation to the key it holds."""
    env = environment(passphrase)
    config_path = home / "config.json"
    before = json.loads(config_path.read_text())
    rotated = finished(env, home, "keys", "rotate", "--reason", "scheduled")
    assert rotated.returncode == 0, rotated.stderr
    after = json.loads(config_path.read_text())
    assert after["active_key"] != before["active_key"]
    # The state the kill leaves: the entry committed, config.json as it was.
    config_path.write_text(json.dumps(before))
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"instruction": "Name a prime.", "output": "7"}) + "\n")

    recorded = finished(env, home, "record", rows, "--generator", "g", "--model", "m")

    assert recorded.returncode == 0, recorded.stderr
    assert json.loads(config_path.read_text())["active_key"] == after["active_key"]
    verified = finished(env, home, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_workers_of_a_killed_verify_die_with_it(
    home: Path, passphrase: str, tmp_path: Path
) -> None:
    """verify forks a worker per core for a ledger of 4,000 entries or more; killed by SIGKILL,
    it left them running for good, holding the ledger open (`ledger rekeep` too, which verifies
    first)."""
    env = environment(passphrase)
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        "".join(json.dumps({"text": f"sample number {i}"}) + "\n" for i in range(6_000))
    )
    recorded = finished(env, home, "record", rows, "--generator", "g", "--model", "m")
    assert recorded.returncode == 0, recorded.stderr
    verify = subprocess.Popen(command(home, "verify"), env=env, stdout=subprocess.DEVNULL)
    parent = psutil.Process(verify.pid)
    deadline = time.monotonic() + 60
    while len(parent.children()) < 2 and verify.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    workers = parent.children()
    assert workers, "verify ended before it forked its workers"

    verify.kill()
    verify.wait()

    assert all_gone(workers)


def test_two_screens_of_one_home_at_once_deduplicate_against_each_other(
    home: Path, passphrase: str, tmp_path: Path
) -> None:
    """The folder index was locked only while loaded and saved: two screens at once decided
    from the same index and kept each other's copies (both accepted, the index holding the
    shared samples twice). A screen now holds it from load to save, as in the database."""
    words = [f"{a}{b}" for a in "bcdfghklmnprstvz" for b in ("a", "e", "i", "o", "u", "ay")]
    draw = random.Random(7)

    def rows(count: int) -> list[dict[str, str]]:
        # Thirty words drawn from a hundred: no two rows are near copies of each other.
        return [
            {"instruction": " ".join(draw.choices(words, k=30)), "output": "ok"}
            for _ in range(count)
        ]

    originals = rows(300)
    # Near copies (one word in thirty changed): exact ones are the same sample, screened again.
    copies = [{**row, "instruction": row["instruction"] + " also"} for row in originals]
    first, second = [*originals, *rows(3000)], [*rows(3000), *copies]
    paths = []
    for name, rows in (("a", first), ("b", second)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        paths.append(path)
    env = environment(passphrase)
    screens = [
        subprocess.Popen(
            command(
                home, "screen", path, "--out", tmp_path / f"out-{path.stem}", "--guards", "dedup"
            ),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in paths
    ]
    for screen in screens:
        _, errors = screen.communicate(timeout=300)
        assert screen.returncode == 0, errors

    def count(name: str) -> int:
        return sum(len((tmp_path / f"out-{stem}" / name).read_text().splitlines()) for stem in "ab")

    # As one screen after the other: each original or its copy accepted, the other held.
    assert count("accepted.jsonl") == 6300
    assert count("quarantined.jsonl") == 300


def test_two_records_of_one_file_at_once_record_each_row_once(
    home: Path, passphrase: str, tmp_path: Path
) -> None:
    """Which rows were recorded already was asked before the append's write lock: two
    `record`s of one file at once both found the rows new, and recorded thousands twice. It
    is asked inside the lock now: between them, each row once."""
    rows = tmp_path / "rows.jsonl"
    total = 40_000
    rows.write_text(
        "".join(
            json.dumps({"instruction": f"Say {i} in words.", "output": f"number {i}"}) + "\n"
            for i in range(total)
        )
    )
    env = environment(passphrase)
    # Each process forks a signer per core, so on a busy machine one may not get past its
    # start-up before the other has recorded every row: up to three tries, each in a fresh
    # copy of the home, for one in which both recorded a share (the rule holds in every try).
    shares: list[list[int]] = []
    for attempt in range(3):
        fresh = tmp_path / f"home{attempt}"
        shutil.copytree(home, fresh)
        shares.append(_recorded_at_once(fresh, rows, env, total))
        if min(shares[-1]) > 0:
            break
    # Not vacuous: both ran at once, each recording a share.
    assert min(shares[-1]) > 0, shares


def _recorded_at_once(home: Path, rows: Path, env: dict[str, str], total: int) -> list[int]:
    """Two `record`s of `rows` at once into `home`: how many rows each recorded (checked to
    add up to `total`, each row once, and the ledger to verify)."""
    records = [
        subprocess.Popen(
            command(home, "record", rows, "--generator", "g", "--model", "m"),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    said = []
    for record in records:
        out, errors = record.communicate(timeout=300)
        assert record.returncode == 0, errors
        said.append(out)
    recorded = [int(re.search(r"recorded ([\d,]+)", out)[1].replace(",", "")) for out in said]
    assert sum(recorded) == total, said
    done = finished(env, home, "verify")
    assert done.returncode == 0, done.stderr
    assert f"ok: {total + 1} entries verified" in done.stdout, done.stdout
    return recorded


def test_a_record_waiting_for_another_writer_says_so(
    home: Path, passphrase: str, tmp_path: Path
) -> None:
    """A writer waiting for the ledger's write lock waited mute (120 s on SQLite, for ever on
    PostgreSQL); it now says so after two seconds, then goes on when the lock is free."""
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"instruction": "Name a colour.", "output": "Teal."}) + "\n")
    holder = sqlite3.connect(home / "ledger.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        record = subprocess.Popen(
            command(home, "record", rows, "--generator", "g", "--model", "m"),
            env=environment(passphrase),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The record's first write waits for the lock; free it once the note is due.
        time.sleep(6)
    finally:
        holder.rollback()
        holder.close()
    out, errors = record.communicate(timeout=120)
    assert record.returncode == 0, errors
    assert "recorded 1 of 1 sample" in out
    assert errors.startswith(
        "synthguard: waiting for the ledger's write lock: another process writing to this "
        "SQLite file (it takes one writer at a time) holds it\n"
    ), errors


@pytest.mark.postgres
def test_a_lost_database_connection_is_one_line(
    tmp_path: Path, passphrase: str, postgres_url: str
) -> None:
    """The server ending `record`'s connections mid-run: the drivers logged what they ignore
    while closing them (three to five tracebacks, 46-80 lines) before the command's own line."""
    psycopg = pytest.importorskip("psycopg")
    home = tmp_path / "pg-home"
    env = environment(passphrase)
    made = finished(env, home, "--db", postgres_url, "init")
    assert made.returncode == 0, made.stderr
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        "".join(
            json.dumps({"instruction": f"Count to {i}.", "output": " ".join(["n"] * 5)}) + "\n"
            for i in range(200_000)
        )
    )
    record = subprocess.Popen(
        command(home, "record", rows, "--generator", "g", "--model", "m"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server, database = postgres_url.rsplit("/", 1)
    ended = 0
    try:
        time.sleep(2)
        # Again and again until the command ends: a connection ended while idle in the pool
        # is replaced unseen (pre-ping); one ended inside an append is what is tested.
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            while record.poll() is None:
                row = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database,),
                ).fetchone()
                ended += row[0] if row is not None else 0
                time.sleep(0.05)
    finally:
        _, errors = record.communicate(timeout=300)
    assert ended > 0
    assert record.returncode == 2, errors
    (line,) = errors.splitlines()
    assert line.startswith("synthguard: error: cannot append to the ledger: "), line
    assert finished(env, home, "verify").returncode == 0
