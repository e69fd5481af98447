"""`synthguard verify`: check the whole ledger offline."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from synthguard.cli import render
from synthguard.cli.context import App, pass_app
from synthguard.cli.engine_options import engine_for, engine_options
from synthguard.cli.errors import PROG
from synthguard.cli.progress import progress_bar
from synthguard.cli.terminal import echo
from synthguard.guards.dedup import DedupIndex, IndexCheck
from synthguard.ledger.log import Ledger, verify_ledger
from synthguard.ledger.release import read_public_keys
from synthguard.provenance.errors import InputError
from synthguard.provenance.named_file import read_named_text


@click.command(short_help="Verify the whole ledger offline.")
@click.option(
    "--checkpoint",
    "kept",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A checkpoint saved earlier (`synthguard ledger checkpoint > FILE`): also prove that "
    "the ledger today extends it, so nothing before it was rewritten or cut off.",
)
@click.option(
    "--root-key",
    "root_key_file",
    metavar="PUBKEY",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The ledger's genesis public key (`synthguard keys export` in its home: PEM or vkey "
    "line): pins the trust anchor when verifying by --db without the home.",
)
@engine_options(
    "Check the entries",
    "processes forked from this one, one per core",
    "; its workers must reach the ledger's database",
)
@pass_app
def verify(
    app: App,
    kept: Path | None,
    root_key_file: Path | None,
    workers: int | None,
    scheduler: str | None,
) -> None:
    """Check every signature, leaf hash, checkpoint and stored content of the ledger, offline.

    In a home, the checkpoint its writer last signed is checked too, the home's config pins
    the genesis key, and the dedup index (if screens made one) is checked against its signed
    head as a screen would. Exit 1 with the first bad entry's seq when anything does not check out.
    """
    note = read_named_text(kept, "checkpoint", as_saved=True) if kept else None
    root_key = app.root_key()
    if root_key_file is not None:
        keys = read_public_keys(root_key_file)
        if len(keys) != 1:
            raise InputError(f"{root_key_file} holds {len(keys)} keys; --root-key takes one")
        root_key = keys[0].key_id
    with contextlib.ExitStack() as stack:
        engine = stack.enter_context(engine_for(workers, scheduler))
        ledger = stack.enter_context(app.open_ledger())
        tick = stack.enter_context(progress_bar(ledger.size, "verifying"))
        report = verify_ledger(
            ledger, kept_checkpoint=note, root_key_id=root_key, progress=tick, engine=engine
        )
        index = checked_index(app, ledger, root_key or report.root_key)
    if root_key is None:
        echo(
            f"{PROG}: warning: trusting genesis key {report.root_key}, which the database itself "
            "carries: nothing pins it, so a ledger swapped wholesale would verify too; pass "
            "--root-key PUBKEY (`synthguard keys export` in the ledger's home) to pin it",
            err=True,
        )
    echo(render.verify_summary(report))
    if index is not None:
        echo(f"dedup index{index.where}: {index_state(index)}")


def checked_index(app: App, ledger: Ledger, root_key: str | None) -> IndexCheck | None:
    """The home's dedup index, checked against its signed head (`DedupIndex.check`); None
    without an index, or without a home (a bare --db: no folder index, no head accepted
    before). VerificationError when it does not check out."""
    if app.bare_db:
        return None
    return DedupIndex.check(app.home, ledger, root_key=root_key, db=app.db)


def index_state(index: IndexCheck) -> str:
    """What a checked index holds, and how it is sealed."""
    held = f"{render.plural(index.samples, 'sample')} in {render.plural(index.segments, 'segment')}"
    if index.version is None:
        return f"{held}, saved before indexes were signed; the next screen signs it"
    state = f"{held}, as its signed head (version {index.version}) lists"
    if index.kept is None:
        # Another machine's home, or a copy of the index: nothing to hold the version against.
        state += "; this home has accepted no head of it before, so an older one would pass"
    return state
