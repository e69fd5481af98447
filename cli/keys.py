"""`synthguard keys`: the signing keys of the ledger. Key changes are signed ledger entries."""

from __future__ import annotations

import click

from synthguard.cli import render
from synthguard.cli.context import App, pass_app
from synthguard.cli.keyinfo import active_key_id, active_public_key, find_key


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
    """List the ledger's keys; the active one is starred."""
    with app.open_ledger() as ledger:
        click.echo(render.key_table(ledger.keys(), active_key_id(app.home, ledger)))


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


@keys.command(short_help="Print the active public key (PEM, vkey).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pem", "vkey", "both"]),
    default="both",
    show_default=True,
    help="PEM SubjectPublicKeyInfo, the C2SP signed-note verifier key line, or both.",
)
@pass_app
def export(app: App, fmt: str) -> None:
    """Print the active public key to stdout, for third parties to verify with.

    The vkey line is named after the ledger origin, as checkpoints are.
    """
    with app.open_ledger() as ledger:
        key = active_public_key(app.home, ledger)
        origin = ledger.origin
    if fmt in ("pem", "both"):
        click.echo(key.pem(), nl=False)
    if fmt in ("vkey", "both"):
        click.echo(key.vkey(origin))
