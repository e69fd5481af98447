"""`synthguard init`: create the home, its ledger and its first signing key."""

from __future__ import annotations

import click

from synthguard.cli import render
from synthguard.cli.context import App, pass_app
from synthguard.ledger.log import DEFAULT_CHECKPOINT_INTERVAL, check_origin


@click.command(short_help="Create the home: config, ledger, signing key.")
@click.option(
    "--checkpoint-interval",
    type=click.IntRange(min=1),
    default=DEFAULT_CHECKPOINT_INTERVAL,
    show_default=True,
    help="Keep a signed checkpoint every N entries (every batch commits one of the whole tree; "
    "older ones are thinned to one every N).",
)
@click.option(
    "--origin",
    metavar="O",
    help="The checkpoint origin line, e.g. example.com/ledger [default: a random "
    "synthguard.local/ledger/<hex>].",
)
@pass_app
def init(app: App, checkpoint_interval: int, origin: str | None) -> None:
    """Create the home: config, the ledger and an encrypted Ed25519 signing key."""
    if origin is not None:
        check_origin(origin)  # before asking for a passphrase that would be thrown away
    with app.home.init(
        app.new_passphrase(), db=app.db, origin=origin, checkpoint_interval=checkpoint_interval
    ) as ledger:
        click.echo(render.init_summary(app.home, ledger))
