"""The one error hierarchy of synthguard; the CLI turns each into one line and an exit code."""

from __future__ import annotations


class SynthguardError(Exception):
    """Base of every error synthguard raises on purpose."""

    exit_code = 2


class InputError(SynthguardError):
    """Bad input from the user: a malformed row, a missing field, an unreadable file."""


class EmptyInputError(InputError):
    """An input without a single row: nothing to do, which the CLI says as a warning."""


class KeyringError(SynthguardError):
    """A key cannot be created, read, decrypted or used."""


class LedgerError(SynthguardError):
    """The ledger cannot be opened or written (not a verification failure)."""


class VerificationError(SynthguardError):
    """Something signed or hashed does not check out; `seq` names the first bad entry if any."""

    exit_code = 1

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq
