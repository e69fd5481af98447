"""The ledger the examples write to: a home, a bare database URL, or a temporary home.

Shared by examples/self_instruct.py and examples/critic_loop.py (run as scripts, this folder is
on the import path).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack
from pathlib import Path

from synthguard.ledger.home import Home
from synthguard.ledger.log.store import Ledger
from synthguard.provenance.keys import SigningKey

EXAMPLE_PASSPHRASE = "synthguard-example-not-a-secret"
PASSPHRASE_ENV = "SYNTHGUARD_PASSPHRASE"


def open_ledger(
    stack: ExitStack, home_path: Path | None, db: str | None
) -> tuple[Ledger, str, str | None]:
    """Open (or make) the ledger the options name: a home, a bare URL, or a temporary home.

    Returns the ledger, the key id that verification pins entry 0 to, and the global options
    that reach it again from the CLI (None for a temporary home).
    """
    passphrase = os.environ.get(PASSPHRASE_ENV) or EXAMPLE_PASSPHRASE
    if home_path is None and db is not None:
        key = SigningKey.generate()  # a throwaway key: the ledger is the example's own
        return stack.enter_context(Ledger.create(db, key)), key.key_id, f"--db {db}"
    kept: str | None = f"--home {home_path}"
    if home_path is None:
        home_path = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "home"
        kept = None
    home = Home(home_path)
    if home.config_path.exists():
        ledger = stack.enter_context(home.open(lambda: passphrase, db=db))
    else:
        ledger = stack.enter_context(home.init(passphrase, db=db))
    root_key = home.root_key()
    assert root_key is not None
    return ledger, root_key, kept
