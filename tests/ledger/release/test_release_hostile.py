"""`release verify` on a hostile folder: FIFOs, symbolic links (to /dev/zero, out of the folder),
huge files, a compression bomb and an unfinished `release create`'s work folder each fail at once
with one line naming the file and what is wrong (exit 1), never a hang, a traceback or a memory
blow-up.

The CLI runs as a real subprocess under a timeout, so a hang fails the test instead of the run;
only then is the library asked the same question in-process.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from release_stock import stock, write_jsonl

from synthguard.ledger.log.store import Ledger
from synthguard.ledger.release.bundle import MAX_LINE
from synthguard.ledger.release.create import create_release
from synthguard.ledger.release.manifest import BUNDLE_FILE, JSONL_FILE, MANIFEST_FILE, PARQUET_FILE
from synthguard.ledger.release.verify import MAX_MANIFEST, MAX_ROW, verify_release
from synthguard.provenance.errors import VerificationError
from synthguard.provenance.keys import SigningKey, VerifyingKey

SYNTHGUARD = Path(sys.executable).with_name("synthguard")
# Generous: the CLI's imports take a second or two; a hang takes forever.
TIMEOUT = 60
HUGE = 1 << 30  # sparse: costs no disk

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")


@dataclass(frozen=True)
class Pristine:
    """A legitimate release, the key that signed it, and that key's PEM file."""

    out: Path
    key: VerifyingKey
    pem: Path


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    """One real release from a SQLite ledger, made once for the module."""
    root = tmp_path_factory.mktemp("pristine")
    key = SigningKey.generate()
    ledger = Ledger.create(f"sqlite:///{root / 'l.db'}", key, checkpoint_interval=10)
    try:
        made = stock(ledger)
        out = root / "release"
        create_release(ledger, "v1", write_jsonl(root / "in.jsonl", made.releasable), out)
    finally:
        ledger.close()
    pem = root / "key.pem"
    pem.write_text(key.public.pem())
    return Pristine(out, key.public, pem)


@pytest.fixture
def release(pristine: Pristine, tmp_path: Path) -> Path:
    """A copy of the legitimate release, free to damage."""
    return Path(shutil.copytree(pristine.out, tmp_path / "release"))


def cli_verify(out: Path, pem: Path) -> subprocess.CompletedProcess[str]:
    """`synthguard release verify OUT --key PEM` as a subprocess; fail the test on a hang."""
    try:
        return subprocess.run(
            [str(SYNTHGUARD), "release", "verify", str(out), "--key", str(pem)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            cwd=out.parent,
            env={k: v for k, v in os.environ.items() if not k.startswith("SYNTHGUARD_")},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`synthguard release verify {out.name}` hung for {TIMEOUT}s")


def fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def to_dev_zero(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


def out_of_folder(path: Path) -> None:
    """The very same bytes, but through a symbolic link to a file outside the folder."""
    outside = path.parent.parent / "elsewhere" / path.name
    outside.parent.mkdir()
    path.rename(outside)
    path.symlink_to(outside)


def within_folder(path: Path) -> None:
    """A symbolic link to a copy of the file inside the folder: still not a regular file."""
    copy = path.with_name("copy-" + path.name)
    path.rename(copy)
    path.symlink_to(copy.name)


def folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def huge(path: Path) -> None:
    """The file's own bytes, then a gigabyte of zeros and no newline (a sparse file)."""
    os.truncate(path, path.stat().st_size + HUGE)


def bomb(path: Path) -> None:
    """The bundle's header and sample lines, then an endless line in place of the multiproof:
    64 KiB that inflate to 64 MiB, four times the longest line a bundle may hold."""
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    kept = b"".join(lines[: 1 + json.loads(lines[0])["samples"]])
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as out:
        out.write(deflate.compress(kept))
        out.write(deflate.compress(bytes(4 * MAX_LINE)))
        out.write(deflate.flush())


def only_zeros(path: Path) -> None:
    os.truncate(path, 0)
    os.truncate(path, HUGE)


def forged_payload_first(path: Path) -> None:
    """A second, forged `payload` before the signed one: Python keeps the last of two equal
    keys and verifies it, a reader keeping the first would take the forgery for the statement."""
    signed = path.read_bytes()
    forged = base64.b64encode(b'{"predicate": {"name": "FORGED"}}').decode()
    path.write_bytes(
        signed.replace(b'{"payload":', f'{{"payload": "{forged}", "payload":'.encode(), 1)
    )


Damage = Callable[[Path], None]

CASES: list[tuple[str, str, Damage, str]] = [
    ("manifest-fifo", MANIFEST_FILE, fifo, f"{MANIFEST_FILE}: a FIFO, not a regular file"),
    ("bundle-fifo", BUNDLE_FILE, fifo, f"{BUNDLE_FILE}: a FIFO, not a regular file"),
    ("jsonl-fifo", JSONL_FILE, fifo, f"{JSONL_FILE}: a FIFO, not a regular file"),
    ("parquet-fifo", PARQUET_FILE, fifo, f"{PARQUET_FILE}: a FIFO, not a regular file"),
    ("manifest-dev-zero", MANIFEST_FILE, to_dev_zero, f"{MANIFEST_FILE}: a symbolic link, not"),
    ("bundle-dev-zero", BUNDLE_FILE, to_dev_zero, f"{BUNDLE_FILE}: a symbolic link, not"),
    ("jsonl-dev-zero", JSONL_FILE, to_dev_zero, f"{JSONL_FILE}: a symbolic link, not"),
    ("jsonl-out-of-folder", JSONL_FILE, out_of_folder, f"{JSONL_FILE}: a symbolic link, not"),
    ("bundle-out-of-folder", BUNDLE_FILE, out_of_folder, f"{BUNDLE_FILE}: a symbolic link, not"),
    ("manifest-within", MANIFEST_FILE, within_folder, f"{MANIFEST_FILE}: a symbolic link, not"),
    ("bundle-folder", BUNDLE_FILE, folder, f"{BUNDLE_FILE}: a folder, not a regular file"),
    (
        "huge-manifest",
        MANIFEST_FILE,
        huge,
        f"larger than the {MAX_MANIFEST >> 20} MiB a manifest may be",
    ),
    (
        "huge-bundle",
        BUNDLE_FILE,
        huge,
        f"{BUNDLE_FILE}: bytes follow the end of its compressed stream",
    ),
    (
        "bomb-bundle",
        BUNDLE_FILE,
        bomb,
        # After the header and the 6 sample lines.
        f"{BUNDLE_FILE} line 8: longer than {MAX_LINE >> 20} MiB",
    ),
    (
        "zero-bundle",
        BUNDLE_FILE,
        only_zeros,
        f"{BUNDLE_FILE} line 1: longer than {MAX_LINE >> 20} MiB",
    ),
    (
        "zero-jsonl",
        JSONL_FILE,
        only_zeros,
        f"{JSONL_FILE}: a line longer than {MAX_ROW >> 20} MiB",
    ),
    ("huge-parquet", PARQUET_FILE, huge, f"{PARQUET_FILE}: its SHA-256 differs"),
    (
        "manifest-repeated-key",
        MANIFEST_FILE,
        forged_payload_first,
        f"{MANIFEST_FILE}: the key 'payload' is repeated in one object of its envelope",
    ),
]


@pytest.mark.parametrize(
    ("file", "damage", "expected"),
    [pytest.param(file, damage, expected, id=name) for name, file, damage, expected in CASES],
)
def test_a_hostile_file_fails_with_one_line_naming_it(
    pristine: Pristine, release: Path, file: str, damage: Damage, expected: str
) -> None:
    damage(release / file)

    verified = cli_verify(release, pristine.pem)

    assert verified.returncode == 1, verified.stderr
    assert verified.stdout == ""
    lines = verified.stderr.splitlines()
    assert len(lines) == 1, verified.stderr
    assert lines[0].startswith("synthguard: verification failed: ")
    assert expected in lines[0]
    # No hang there, so none here: the library says the same.
    with pytest.raises(VerificationError) as failed:
        verify_release(release, trusted=[pristine.key])
    assert expected in str(failed.value)


def test_a_killed_create_s_work_folder_is_refused_whatever_it_holds(
    pristine: Pristine, tmp_path: Path
) -> None:
    work = Path(shutil.copytree(pristine.out, tmp_path / ".release.0123abcd.tmp"))
    link = tmp_path / "looks-fine"
    link.symlink_to(work.name)

    for out in (work, link):
        verified = cli_verify(out, pristine.pem)
        assert verified.returncode == 1, verified.stderr
        assert verified.stderr.splitlines() == [
            f"synthguard: verification failed: {out} is the work folder of a `release create` "
            "that did not finish, not a release"
        ]
        with pytest.raises(VerificationError, match="work folder"):
            verify_release(out, trusted=[pristine.key])


def test_a_legitimate_release_still_verifies(pristine: Pristine, release: Path) -> None:
    verified = cli_verify(release, pristine.pem)

    assert verified.returncode == 0, verified.stderr
    assert verified.stderr == ""
    assert verified.stdout.startswith("ok: release 'v1' verified: 6 samples")
    assert verify_release(release, trusted=[pristine.key]).samples == 6


def test_a_release_folder_reached_through_a_symbolic_link_verifies(
    pristine: Pristine, release: Path
) -> None:
    # The folder the recipient names is theirs to name; only the files in it are checked.
    link = release.with_name("linked")
    link.symlink_to(release.name)

    assert verify_release(link, trusted=[pristine.key]).samples == 6
