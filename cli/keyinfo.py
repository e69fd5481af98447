"""Which keys a ledger has, and which one signs: for `synthguard keys`."""

from __future__ import annotations

from synthguard.ledger.home import Home
from synthguard.ledger.log import KeyRow, Ledger
from synthguard.provenance.errors import InputError, KeyringError
from synthguard.provenance.keys import VerifyingKey


def active_key_id(home: Home, ledger: Ledger) -> str:
    """The key that signs new entries: the home's `active_key`, else the newest active one."""
    if home.config_path.exists():
        configured = home.config().get("active_key")
        if isinstance(configured, str):
            return configured
    rows = ledger.keys()
    active = [row for row in rows if row.status == "active"]
    if not active:
        raise KeyringError("the ledger has no active key")
    return active[-1].key_id


def active_key(home: Home, ledger: Ledger) -> KeyRow:
    """The ledger's row of the active key."""
    key_id = active_key_id(home, ledger)
    rows = ledger.keys()
    row = next((row for row in rows if row.key_id == key_id), None)
    if row is None:
        raise KeyringError(f"the active key {key_id} is not a key of this ledger")
    return row


def public_key(row: KeyRow) -> VerifyingKey:
    """The public key a ledger row holds (no passphrase needed), checked against its id."""
    key = VerifyingKey(bytes(row.public_key))
    if key.key_id != row.key_id:
        raise KeyringError(f"the ledger's public key for {row.key_id} does not match its id")
    return key


def key_status_note(row: KeyRow) -> str | None:
    """What to say of a key that signs nothing any more (None for one that may sign)."""
    if row.status == "retired":
        return (
            f"{row.key_id} was retired at entry {row.ended_seq} (rotated out): it verifies what "
            "it signed before that, and signs nothing after it"
        )
    if row.status == "revoked":
        return (
            f"{row.key_id} was revoked at entry {row.ended_seq}: it verifies what it signed "
            "before that; a record it signed after that fails verification"
        )
    return None


def find_key(ledger: Ledger, text: str) -> KeyRow:
    """The ledger key named by a full key id or a unique prefix of its hex (`sha256:` optional)."""
    wanted = text.strip().removeprefix("sha256:").lower()
    if not wanted:
        raise InputError("no key id given")
    rows = ledger.keys()
    matches = [row for row in rows if row.key_id.removeprefix("sha256:").startswith(wanted)]
    if not matches:
        raise InputError(f"no key {text} in this ledger (see `synthguard keys list`)")
    if len(matches) > 1:
        raise InputError(f"key id prefix {text} matches {len(matches)} keys; give more of it")
    return matches[0]
