"""Small files a user names on the command line (a public key, a checkpoint note kept
elsewhere, a report to audit): read whole, and refused in one line unless regular and small.

Such a file may come with a hostile release folder (a `publisher.pem` beside it): a FIFO would
block a reader forever, and a link to /dev/zero would fill its memory. The file is opened
without blocking and its own fstat decides, so the name cannot be swapped between the check
and the read; a pipe is read only while its writer writes.
"""

from __future__ import annotations

import os
import select
import stat
from pathlib import Path

from synthguard.provenance.errors import InputError

MAX_BYTES = 64 * 1024 * 1024
"""A key, a note or a report is far smaller: anything larger is not what was meant."""


def read_named_file(path: Path, what: str, limit: int = MAX_BYTES) -> bytes:
    """The bytes of the `what` file at `path` (a link is followed); InputError naming it when
    it is missing, unreadable, a device, socket or folder, or larger than `limit`. A pipe
    (`--key <(synthguard keys export)`) is read until its writer closes it; one silent for
    PIPE_SECONDS (a FIFO no one writes to) is an InputError, not a hang."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb", buffering=0) as file:
        mode = os.fstat(fd).st_mode
        try:
            if stat.S_ISFIFO(mode):
                data = _read_pipe(fd, limit)
            elif stat.S_ISREG(mode):
                os.set_blocking(fd, True)
                data = file.read(limit + 1) or b""
            else:
                kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file or a pipe"
                raise InputError(f"cannot read the {what} {path}: {kind}")
        except TimeoutError as exc:
            raise InputError(
                f"cannot read the {what} {path}: a pipe nothing was written to for "
                f"{PIPE_SECONDS} s (a FIFO no one writes to?)"
            ) from exc
        except OSError as exc:
            raise InputError(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise InputError(f"the {what} {path} is larger than {limit:,} bytes: not a {what}")
    return data


PIPE_SECONDS = 10


def _read_pipe(fd: int, limit: int) -> bytes:
    """Up to `limit` + 1 bytes of a non-blocking pipe, until its writer closes it (at once when
    it has none); TimeoutError when it stays silent for PIPE_SECONDS."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        ready, _, _ = select.select([fd], [], [], PIPE_SECONDS)
        if not ready:
            raise TimeoutError
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            continue
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def read_named_text(path: Path, what: str, *, as_saved: bool = False) -> str:
    """`read_named_file` decoded as UTF-8; InputError when it is not. With `as_saved`, for
    text whose bytes nothing hashes (a key, a signed note: what counts is what they say), a
    byte order mark is dropped and CRLF line ends read as LF, as a Windows editor saves them."""
    try:
        text = read_named_file(path, what).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read the {what} {path}: not UTF-8 text ({exc.reason})") from exc
    return text.removeprefix("\ufeff").replace("\r\n", "\n") if as_saved else text
