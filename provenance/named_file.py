"""Small files a user names on the command line (a public key, a checkpoint note kept
elsewhere, a report to audit), and the files synthguard keeps in its home: read whole, and
refused in one line unless of the right kind and size.

A named file may come with a hostile release folder (a `publisher.pem` beside it): a FIFO would
block a reader forever, and a link to /dev/zero would fill its memory. A home's files are
written by synthguard alone, always as regular files, but whoever can write the home without
the key is an attacker it defends against: there a pipe, a symbolic link or a folder is
tampering. The file is opened without blocking and its own fstat decides, so the name cannot
be swapped between the check and the read; a pipe is read only while its writer writes.
"""

from __future__ import annotations

import errno
import os
import select
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from synthguard.provenance.errors import InputError

MAX_BYTES = 64 * 1024 * 1024
"""A key, a note or a report is far smaller: anything larger is not what was meant."""

FILE_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symbolic link",
}
"""What is in a regular file's place, by `stat.S_IFMT` of its mode, as error messages name it."""


def read_named_file(path: Path, what: str, limit: int = MAX_BYTES) -> bytes:
    """The bytes of the `what` file at `path` (a link is followed); InputError naming it when
    it is missing, unreadable, a device, socket or folder, or larger than `limit`. A pipe
    (`--key <(synthguard keys export)`) is read until its writer closes it; one silent for
    PIPE_SECONDS (a FIFO no one writes to) is an InputError, not a hang."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise _unreadable(path, what, exc) from exc
    return _read_open(fd, path, what, limit, pipes=True)


def read_home_file(path: Path, what: str, limit: int) -> bytes | None:
    """The bytes of the `what` file synthguard keeps at `path` in its home, None when there is
    none; InputError naming it when it is not a regular file (a symbolic link, which is not
    followed, a FIFO, a device or a folder), is unreadable, or is larger than `limit`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _unreadable(path, what, exc) from exc
    return _read_open(fd, path, what, limit, pipes=False)


def _read_open(fd: int, path: Path, what: str, limit: int, *, pipes: bool) -> bytes:
    """Read the file open at `fd` (non-blocking, closed here) whole: a regular file, or with
    `pipes` a pipe; InputError naming it otherwise or when larger than `limit`."""
    try:
        status = os.fstat(fd)
        if pipes and stat.S_ISFIFO(status.st_mode):
            data = _read_pipe(fd, limit)
        elif stat.S_ISREG(status.st_mode):
            if status.st_size > limit:
                raise _too_large(path, what, limit)
            os.set_blocking(fd, True)
            with os.fdopen(fd, "rb", buffering=0, closefd=False) as file:
                data = file.readall()
        else:
            kind = FILE_KINDS.get(stat.S_IFMT(status.st_mode), "not a file")
            wanted = "a regular file or a pipe" if pipes else "a regular file"
            raise InputError(f"cannot read the {what} {path}: {kind}, not {wanted}")
    except TimeoutError as exc:
        raise InputError(
            f"cannot read the {what} {path}: a pipe nothing was written to for "
            f"{PIPE_SECONDS} s (a FIFO no one writes to?)"
        ) from exc
    except OSError as exc:
        raise _unreadable(path, what, exc) from exc
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _too_large(path, what, limit)
    return data


def _unreadable(path: Path, what: str, exc: OSError) -> InputError:
    reason = "a symbolic link, not a regular file" if exc.errno == errno.ELOOP else exc.strerror
    return InputError(f"cannot read the {what} {path}: {reason or exc}")


def _too_large(path: Path, what: str, limit: int) -> InputError:
    return InputError(f"the {what} {path} is larger than {limit:,} bytes: not a {what}")


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


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Name `path` in an OSError raised while the block writes it that names no file: a write
    refused by a full disk or a quota names only the device, and the error line should say
    which file it was."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            exc.filename = str(path)
        raise
