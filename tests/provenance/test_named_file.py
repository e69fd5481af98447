"""A file synthguard keeps in its home is read only when it is a regular file there, and not
larger than its kind's limit; a missing one is None."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from synthguard.provenance.errors import InputError
from synthguard.provenance.named_file import read_home_file, writing


def test_a_regular_file_reads_whole_and_a_missing_one_is_none(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b'{"a": 1}\n')

    assert read_home_file(path, "config file", 1 << 10) == b'{"a": 1}\n'
    assert read_home_file(tmp_path / "absent.json", "config file", 1 << 10) is None


def test_a_link_is_refused_even_to_a_regular_file(tmp_path: Path) -> None:
    # synthguard replaces the home's files by renaming regular files over them: a link there
    # (to another file of the home, or out of it) was put there by someone else.
    target = tmp_path / "copy.json"
    target.write_bytes(b"{}\n")
    link = tmp_path / "config.json"
    link.symlink_to(target.name)

    with pytest.raises(InputError, match=r"config\.json: a symbolic link, not a regular file"):
        read_home_file(link, "config file", 1 << 10)
    (tmp_path / "dangling.json").symlink_to("nowhere")
    with pytest.raises(InputError, match="a symbolic link"):
        read_home_file(tmp_path / "dangling.json", "config file", 1 << 10)


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "segment-000001.npz"
    path.write_bytes(b"")
    os.truncate(path, 1 << 40)  # sparse: reading it would take minutes and a terabyte

    started = time.monotonic()
    with pytest.raises(InputError, match=r"larger than 1,048,576 bytes: not a segment"):
        read_home_file(path, "segment", 1 << 20)
    assert time.monotonic() - started < 1


def test_a_write_refused_for_want_of_space_names_the_file(tmp_path: Path) -> None:
    # /dev/full refuses every write with ENOSPC, and the error names no file.
    with (
        pytest.raises(OSError, match="No space left on device") as caught,
        writing(tmp_path / "out.jsonl"),
        open("/dev/full", "wb", buffering=0) as full,
    ):
        full.write(b"a row\n")
    assert caught.value.filename == str(tmp_path / "out.jsonl")
    # An error that names its file keeps that name.
    with (
        pytest.raises(FileNotFoundError) as named,
        writing(tmp_path / "out.jsonl"),
    ):
        (tmp_path / "missing" / "file").write_text("x")
    assert named.value.filename == str(tmp_path / "missing" / "file")
