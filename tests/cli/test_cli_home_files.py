"""Whoever can write the home without the key may put a FIFO, a link to /dev/zero, a folder or
a huge file where synthguard keeps a file: `verify`, `audit` and `screen` each stop at once
with one line naming it, never hang or fill their memory. Run as the console script, so that a
hang fails the test at its timeout instead of holding up the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import Run, write_jsonl

from synthguard.guards.dedup.segments import MANIFEST_MAX_BYTES, SEGMENT_MAX_BYTES
from synthguard.ledger.home_paths import CONFIG_MAX_BYTES
from synthguard.ledger.log.heads import KEPT_MAX_BYTES
from synthguard.ledger.log.kept import SLOT_MAX_BYTES
from synthguard.provenance.keys import KEY_FILE_MAX_BYTES

SYNTHGUARD = Path(sys.executable).with_name("synthguard")

HOME_FILES = {
    "dedup/manifest.json": MANIFEST_MAX_BYTES,
    "dedup/segment-000001.npz": SEGMENT_MAX_BYTES,
    "heads.json": KEPT_MAX_BYTES,
    "checkpoint.a.json": SLOT_MAX_BYTES,
    "config.json": CONFIG_MAX_BYTES,
}

REASONS = {
    "fifo": "a FIFO, not a regular file",
    "dev-zero": "a symbolic link, not a regular file",
    "folder": "a folder, not a regular file",
    "oversized": "is larger than {limit:,} bytes",
}


def oversized(limit: int) -> Callable[[Path], None]:
    """A sparse file one byte over `limit`: it takes no disk, and reading it would fill memory."""

    def make(path: Path) -> None:
        path.write_bytes(b"")
        os.truncate(path, limit + 1)

    return make


def hostile(kind: str, limit: int) -> Callable[[Path], None]:
    """What puts `kind` in a file's place."""
    makers: dict[str, Callable[[Path], None]] = {
        "fifo": os.mkfifo,
        "dev-zero": lambda path: path.symlink_to("/dev/zero"),
        "folder": Path.mkdir,
        "oversized": oversized(limit),
    }
    return makers[kind]


def synthguard(home: Path, passphrase: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTHGUARD_")}
    env["SYNTHGUARD_PASSPHRASE"] = passphrase
    return subprocess.run(
        [str(SYNTHGUARD), "--home", str(home), *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder", "oversized"])
@pytest.mark.parametrize("name", list(HOME_FILES))
def test_a_home_file_replaced_by_no_regular_file_is_one_line(
    run: Run, home: Path, passphrase: str, tmp_path: Path, name: str, kind: str
) -> None:
    rows = write_jsonl(
        tmp_path / "rows.jsonl",
        [
            {"instruction": "Name a prime.", "output": "7"},
            {"instruction": "Spell cat.", "output": "c"},
        ],
    )
    screened = run("screen", rows, "--out", tmp_path / "first", "--guards", "dedup", home=home)
    assert screened.exit_code == 0, screened.output
    path = home / name
    assert path.is_file()
    path.unlink()
    hostile(kind, HOME_FILES[name])(path)

    for args in (("verify",), ("audit",), ("screen", rows, "--out", tmp_path / "again")):
        done = synthguard(home, passphrase, *args)
        said = done.stderr.splitlines()
        if args[0] == "audit" and done.returncode == 1:
            # The audit goes on to its other checks, and fails the one that read the file.
            said = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
        assert done.returncode in (1, 2), (args, done.stdout, done.stderr)
        (line,) = said
        assert str(path) in line, (args, line)
        assert "Traceback" not in done.stderr
        assert REASONS[kind].format(limit=HOME_FILES[name]) in line, (args, line)
    assert not list((tmp_path / "again").glob("*"))  # the screen wrote no output


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder", "oversized"])
def test_a_key_file_replaced_by_no_regular_file_is_one_line(
    home: Path, passphrase: str, tmp_path: Path, kind: str
) -> None:
    """The encrypted key is unlocked on a thread beside the imports (`unlock_ahead`) and by
    the command itself: a FIFO in its place hung both."""
    rows = write_jsonl(tmp_path / "rows.jsonl", [{"instruction": "Name a prime.", "output": "7"}])
    (path,) = (home / "keys").glob("*.key")
    path.unlink()
    hostile(kind, KEY_FILE_MAX_BYTES)(path)

    done = synthguard(home, passphrase, "record", rows, "--generator", "g", "--model", "m")

    assert done.returncode in (1, 2), (done.stdout, done.stderr)
    (line,) = done.stderr.splitlines()
    assert str(path) in line
    assert "Traceback" not in done.stderr
    assert REASONS[kind].format(limit=KEY_FILE_MAX_BYTES) in line, line
