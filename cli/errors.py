"""How the CLI reports a failure: one line on stderr and an exit code, a traceback only on --debug.

Exit codes: 1 when something signed or hashed does not check out (VerificationError), 2 for
usage, input and every other error, 130 when interrupted. An input without rows is a warning,
still exit 2: nothing was done. A database error is the database's own words, without
SQLAlchemy's statement and link to its error pages.
"""

from __future__ import annotations

import traceback

from synthguard.cli.terminal import INTERRUPTED as INTERRUPTED
from synthguard.cli.terminal import PROG as PROG
from synthguard.cli.terminal import echo, printable
from synthguard.ledger.log import database_failure
from synthguard.provenance.errors import EmptyInputError, SynthguardError, VerificationError

UNEXPECTED = 2


def error_line(exc: BaseException) -> str:
    """Return the one line that tells the user what went wrong."""
    if isinstance(exc, VerificationError):
        message = single_line(str(exc))
        if exc.seq is not None and f"entry {exc.seq}" not in message:
            message += f" (entry {exc.seq})"
        return f"{PROG}: verification failed: {message}"
    if isinstance(exc, EmptyInputError):
        return f"{PROG}: warning: {single_line(str(exc))}; nothing was done"
    if isinstance(exc, SynthguardError):
        return f"{PROG}: error: {single_line(str(exc))}"
    if isinstance(exc, KeyboardInterrupt):
        return f"{PROG}: interrupted"
    if isinstance(exc, RecursionError):
        # Raised wherever a file or a stored value holds JSON hundreds of levels deep.
        return f"{PROG}: error: a value nested too deeply to read (JSON hundreds of levels deep)"
    failure = database_failure(exc)
    if failure is not None:
        return f"{PROG}: error: the ledger database failed: {single_line(failure)}"
    if isinstance(exc, OSError) and exc.strerror:
        # What the system refused (a full disk, a read-only file system, a file where a
        # folder was to be made), in its own words, with the path it refused.
        where = f"{exc.filename}: " if exc.filename is not None else ""
        return f"{PROG}: error: {single_line(f'{where}{exc.strerror}')}"
    if isinstance(exc, MemoryError):
        return f"{PROG}: error: out of memory"
    detail = single_line(str(exc))
    detail = f": {detail}" if detail else ""
    return (
        f"{PROG}: error: unexpected {type(exc).__name__}{detail} "
        "(run with --debug to see the traceback)"
    )


def exit_code(exc: BaseException) -> int:
    """Return the exit code for an error."""
    if isinstance(exc, SynthguardError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED
    return UNEXPECTED


def report(exc: BaseException, *, debug: bool) -> int:
    """Write the error to stderr (with its traceback under --debug); return the exit code."""
    if debug:
        echo("".join(traceback.format_exception(exc)).rstrip(), err=True)
    echo(error_line(exc), err=True)
    return exit_code(exc)


def single_line(text: str) -> str:
    """The text with its whitespace runs (newlines too) made single spaces, and what a terminal
    would act on escaped (`synthguard.cli.terminal.printable`)."""
    return printable(" ".join(text.split()))
