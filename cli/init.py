"""`synthguard init`: create the home, its ledger and its first signing key; `synthguard join`:
a home of its own, with its own key, for another writer of an existing ledger."""

from __future__ import annotations

from pathlib import Path

import click

from synthguard.cli import render
from synthguard.cli.context import App, pass_app
from synthguard.cli.terminal import echo
from synthguard.ledger.home import DB_ENV
from synthguard.ledger.log import DEFAULT_CHECKPOINT_INTERVAL, check_origin
from synthguard.ledger.release import read_public_keys
from synthguard.provenance.errors import InputError


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
        echo(render.init_summary(app.home, ledger))


@click.command(short_help="Make this home a writer of an existing ledger, with its own key.")
@click.option(
    "--root-key",
    "root_key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The founding home's public key (`synthguard keys export` there): the ledger's genesis "
    "key must be this one [default: trust the genesis key the database names, once].",
)
@pass_app
def join(app: App, root_key_file: Path | None) -> None:
    """Create a home here that writes to the existing ledger given by --db (PostgreSQL), with a
    signing key made on this machine.

    The private key never leaves this home. A holder of an active key of the ledger then runs
    `synthguard keys add FILE` with the public key file this prints (copy it over; it holds no
    secret); from that entry on, this home's records verify. Until then the ledger refuses them.
    """
    if not app.db:
        raise InputError(f"join needs the ledger to join: --db URL (or ${DB_ENV})")
    root_key = None
    if root_key_file is not None:
        keys = read_public_keys(root_key_file)
        if len({key.key_id for key in keys}) != 1:
            raise InputError(f"{root_key_file} holds {len(keys)} keys; --root-key takes one")
        root_key = keys[0].key_id
    joined = app.home.join(app.new_passphrase(), app.db, root_key=root_key)
    echo(render.join_summary(app.home, app.db, joined))
