"""`synthguard keys`: the signing keys of the ledger. Key changes are signed ledger entries."""

from __future__ import annotations

import click

from synthguard.cli import render
from synthguard.cli.context import App, pass_app
from synthguard.cli.keyinfo import (
    active_key,
    active_key_id,
    find_key,
    key_status_note,
    public_key,
)


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
    click.echo(f"added key {key_id} ({app.home.key_path(key_id)})")


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
    click.echo(render.key_table(rows, active, held))


@keys.command(short_help="Replace the active key with a new one.")
@click.option("--reason", help="Why the key is rotated (recorded in the signed key event).")
@pass_app
def rotate(app: App, reason: str | None) -> None:
    """Replace the active key with a new one (`key_rotated`); the old one signs no more."""
    with app.open_ledger(signing=True, new_key=True) as ledger:
        old = ledger.key_id
        key_id = app.home.add_key(ledger, app.passphrase(), rotate=True, reason=reason)
    click.echo(f"rotated: {key_id} now signs ({app.home.key_path(key_id)}); {old} is retired")


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
        app.home.revoke_key(ledger, row.key_id, reason)
    click.echo(f"revoked {row.key_id}")


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
        click.echo(key.pem(), nl=False)
    if fmt in ("vkey", "both"):
        click.echo(key.vkey(origin))
    note = key_status_note(row)
    if note is not None:
        click.echo(f"synthguard: note: {note}", err=True)
