"""Where the passphrase of the signing keys comes from: SYNTHGUARD_PASSPHRASE, else a prompt.

The variable makes every command non-interactive. Without it, a hidden prompt asks (twice when a
new key is being made); with neither a variable nor a terminal to ask on, it is a one-line error,
never a hang on a pipe.
"""

from __future__ import annotations

import os
import sys

import click

from synthguard.provenance.errors import KeyringError

PASSPHRASE_ENV = "SYNTHGUARD_PASSPHRASE"


def interactive() -> bool:
    """Whether a person can be asked: stdin is a terminal."""
    stdin = sys.stdin
    return stdin is not None and not stdin.closed and stdin.isatty()


class PassphraseSource:
    """Asks for the passphrase at most once, when a command first needs a key."""

    def __init__(self, *, confirm: bool = False) -> None:
        self.confirm = confirm
        self._value: str | None = None

    def __call__(self) -> str:
        if self._value is None:
            self._value = self._read()
        return self._value

    def _read(self) -> str:
        value = os.environ.get(PASSPHRASE_ENV)
        if value:
            return value
        if not interactive():
            raise KeyringError(
                f"no passphrase: set {PASSPHRASE_ENV} or run the command in a terminal"
            )
        try:
            entered: str = click.prompt(
                "Passphrase for the signing key",
                hide_input=True,
                confirmation_prompt="Repeat the passphrase" if self.confirm else False,
                err=True,
            )
        except (click.Abort, EOFError) as exc:
            raise KeyringError("no passphrase was entered") from exc
        if not entered:
            raise KeyringError("an empty passphrase cannot protect a signing key")
        return entered
