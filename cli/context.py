"""What every command shares: the ledger home, the database URL and the passphrase source."""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from synthguard.cli.errors import PROG
from synthguard.cli.passphrase import PassphraseSource
from synthguard.cli.terminal import echo
from synthguard.ledger.home import Home
from synthguard.ledger.log import Ledger


@dataclass
class App:
    """The options given before the command name, and the handles built from them."""

    home: Home
    db: str | None = None
    passphrase: PassphraseSource = field(default_factory=PassphraseSource)

    def open_ledger(self, *, signing: bool = False, new_key: bool = False) -> Ledger:
        """Open the ledger; with `signing`, load the active key (asking for the passphrase).

        `new_key`: the passphrase will also protect a key about to be made, so a prompt asks
        for it twice.
        """
        self.passphrase.confirm = self.passphrase.confirm or new_key
        if self.db is None:
            self.home.config()  # no home: say "run `synthguard init`", not a SQLite error
        ledger = self.home.open(self.passphrase if signing or new_key else None, db=self.db)
        # A write that waits for another writer says so, and for whom, rather than wait mute.
        ledger.on_wait = lambda line: echo(f"{PROG}: {line}", err=True)
        return ledger

    def new_passphrase(self) -> str:
        """The passphrase for a new home's first key (a prompt asks for it twice)."""
        self.passphrase.confirm = True
        return self.passphrase()

    @property
    def bare_db(self) -> bool:
        """Whether the command runs on `--db` with no home beside it."""
        return bool(self.db) and not self.home.config_path.exists()

    def root_key(self) -> str | None:
        """The genesis key id the home pins, or None when there is no home (a bare `--db`)."""
        return None if self.bare_db else self.home.root_key()


pass_app = click.make_pass_decorator(App)
