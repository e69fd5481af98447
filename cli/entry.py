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
import sys
from pathlib import Path

from synthguard.cli.interrupts import interrupts_deferred

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
