"""`synthguard keys`: the signing keys of the ledger. Key changes are signed ledger entries."""

from __future__ import annotations

from pathlib import Path

import click

from synthguard.cli import render
from synthguard.cli.context import App, pass_app
from synthguard.cli.errors import PROG
from synthguard.cli.terminal import echo
from synthguard.ledger.home import Home
from synthguard.ledger.log import KeyRow, Ledger
from synthguard.ledger.release import read_public_keys
from synthguard.provenance.errors import InputError, KeyringError
from synthguard.provenance.keys import VerifyingKey


@click.group()
def keys() -> None:
    """Generate, list, rotate, revoke and export signing keys."""


@keys.command(short_help="Add another signing key to the ledger.")
@click.option("--reason", help="Why the key is added (recorded in the signed key event).")
@pass_app
def generate(app: App, reason: str | None) -> None:
    """Make a new key and add it to the ledger (`key_added`, signed by the active key).

    The added key may sign too (e.g. on another writer); this home keeps signing with its active
    key. To replace the active key, use `keys rotate`.
    """
    with app.open_ledger(signing=True, new_key=True) as ledger:
        key_id = app.home.add_key(ledger, app.passphrase(), rotate=False, reason=reason)
    echo(f"added key {key_id} ({app.home.key_path(key_id)})")


@keys.command(short_help="Let another home's key sign: add its public key.")
@click.argument("public_key_file", metavar="FILE", type=click.Path(path_type=Path))
@click.option("--reason", help="Why the key is added (recorded in the signed key event).")
@pass_app
def add(app: App, public_key_file: Path, reason: str | None) -> None:
    """Add the public key in FILE (what `synthguard join` left on the other machine, PEM or a
    vkey line) to the ledger: `key_added`, signed by this home's active key.

    The other home's private key never leaves its machine; from this entry on, what it signs
    verifies. Check the key id printed here against the one `join` printed there.
    """
    found = read_public_keys(public_key_file)
    if len({key.key_id for key in found}) != 1:
        raise InputError(f"{public_key_file} holds {len(found)} keys; `keys add` takes one")
    with app.open_ledger(signing=True) as ledger:
        app.home.admit_key(ledger, found[0], reason)
    echo(f"added key {found[0].key_id}: it may sign this ledger from now on")


@keys.command("list")
@pass_app
def list_keys(app: App) -> None:
    """List the ledger's keys; the one this home signs with is starred, the only `active` one.

    Another key the ledger lets sign (`keys generate`, another writer's) is `may sign`; HELD BY
    says which keys this home holds the private key of (`-`: another home, or none).
    """
    with app.open_ledger() as ledger:
        rows = ledger.keys()
        active = active_key_id(app.home, ledger)
    held = {row.key_id for row in rows if app.home.holds_key(row.key_id)}
    echo(render.key_table(rows, active, held))


@keys.command(short_help="Replace the active key with a new one.")
@click.option("--reason", help="Why the key is rotated (recorded in the signed key event).")
@pass_app
def rotate(app: App, reason: str | None) -> None:
    """Replace the active key with a new one (`key_rotated`); the old one signs no more."""
    with app.open_ledger(signing=True, new_key=True) as ledger:
        old = ledger.key_id
        key_id = app.home.add_key(ledger, app.passphrase(), rotate=True, reason=reason)
    echo(f"rotated: {key_id} now signs ({app.home.key_path(key_id)}); {old} is retired")


@keys.command(short_help="Revoke a key: it signs nothing after this.")
@click.argument("key_id", metavar="KEYID")
@click.option("--reason", required=True, help="Why the key is revoked (recorded, signed).")
@pass_app
def revoke(app: App, key_id: str, reason: str) -> None:
    """Revoke KEYID (a key id or a unique prefix of its hex): it may sign nothing after this.

    Records it signs after the revocation fail verification. The active key cannot be revoked:
    rotate it first.
    """
    with app.open_ledger(signing=True) as ledger:
        row = find_key(ledger, key_id)
        revoked_at = app.home.revoke_key(ledger, row.key_id, reason)
    if revoked_at is not None:
        echo(
            f"{PROG}: note: {row.key_id} was revoked at entry {revoked_at} already; nothing signed",
            err=True,
        )
        return
    echo(f"revoked {row.key_id}")


@keys.command(short_help="Print a public key (PEM, vkey): the active one, or KEYID.")
@click.argument("key_id", metavar="[KEYID]", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pem", "vkey", "both"]),
    default="both",
    show_default=True,
    help="PEM SubjectPublicKeyInfo, the C2SP signed-note verifier key line, or both.",
)
@pass_app
def export(app: App, key_id: str | None, fmt: str) -> None:
    """Print the active public key, or KEYID's, to stdout, for third parties to verify with.

    KEYID (a key id or a unique prefix of its hex) may be any key of the ledger: a retired or
    revoked one still verifies what it signed before, an old release say. Such a key is named
    so on stderr. The vkey line is named after the ledger origin, as checkpoints are.
    """
    with app.open_ledger() as ledger:
        row = active_key(app.home, ledger) if key_id is None else find_key(ledger, key_id)
        key = public_key(row)
        origin = ledger.origin
    if fmt in ("pem", "both"):
        echo(key.pem(), nl=False)
    if fmt in ("vkey", "both"):
        echo(key.vkey(origin))
    note = key_status_note(row)
    if note is not None:
        echo(f"synthguard: note: {note}", err=True)


# -- which keys a ledger has, and which one signs --------------------------------------------


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
            f"{row.key_id} was revoked; it may sign nothing after entry {row.ended_seq}: it "
            "verifies what it signed up to there; a record it signed after that fails "
            "verification"
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
