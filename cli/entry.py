"""The console script: start unlocking the signing key, then import and run the command.

A command that signs (`record`, `screen`) needs the key once its imports are done, and the
imports (the database stack, pydantic's models, the guards: about half a second) leave the
second core idle. So before importing them, when the passphrase is in $SYNTHGUARD_PASSPHRASE,
the home's active key file is found from the global options (`--home`, else
$SYNTHGUARD_HOME, else ./.synthguard) and unlocked on a background thread
(`keys.unlock_ahead`); the command's own `SigningKey.load` takes the result, or raises its
error, exactly where it would have unlocked the key itself. Anything unusual in the arguments
(an unknown option before the command, `--help`) and nothing is started: the command runs as
it would have.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

SIGNING_COMMANDS = frozenset({"record", "screen"})
"""The commands that load the key for certain and run long enough to be worth it."""


def main() -> None:
    """Console-script entry point."""
    try:
        with interrupts_deferred():
            start_unlocking(sys.argv[1:])
            # Imported here, after the unlock started: these imports are what it runs beside.
            from synthguard.cli.main import main as run_command
        run_command()
    except KeyboardInterrupt:
        # Ctrl-C before the deferral was in place, before the command's own handling can say so.
        from synthguard.cli.terminal import interrupted

        raise interrupted() from None


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold a Ctrl-C that comes while modules import until they have, then stop with status 130.

    Python raises KeyboardInterrupt wherever the interpreter is when it checks for signals,
    and during an import that can be a weakref callback of the import lock, where an exception
    is printed as "Exception ignored" and lost: the command then ran on as if never
    interrupted. Where Python's own handler is in place (not where Ctrl-C is ignored), this
    one only notes the signal; leaving the block puts Python's back and honours the note.
    """
    if (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        or threading.current_thread() is not threading.main_thread()
    ):
        # Ignored, or run on a thread (a library caller's), where no handler can be set.
        yield
        return
    noted: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        noted.append(signum)

    signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if noted:
        from synthguard.cli.terminal import interrupted

        raise interrupted()


def start_unlocking(args: list[str]) -> bool:
    """Start unlocking the active key when `args` run a signing command and the passphrase is
    in the environment; whether it started."""
    from synthguard.cli.passphrase import PASSPHRASE_ENV
    from synthguard.ledger.home_paths import active_key_file, home_folder
    from synthguard.provenance.keys import unlock_ahead

    passphrase = os.environ.get(PASSPHRASE_ENV)
    if not passphrase:
        return False
    home: Path | None = None
    rest = iter(args)
    for arg in rest:
        if arg == "--home":
            home = Path(next(rest, ""))
        elif arg.startswith("--home="):
            home = Path(arg.removeprefix("--home="))
        elif arg == "--db":
            next(rest, None)
        elif arg.startswith("--db=") or arg == "--debug":
            continue
        elif arg.startswith("-") or arg not in SIGNING_COMMANDS:
            return False
        else:
            break
    else:
        return False
    key = active_key_file(home_folder(home))
    if key is None:
        return False
    unlock_ahead(key, passphrase)
    return True
