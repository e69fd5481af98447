"""`synthguard ledger`: read the ledger. All output goes to stdout, so it can be piped."""

from __future__ import annotations

import json

import click

from synthguard.cli import render
from synthguard.cli.context import App, pass_app
from synthguard.cli.errors import PROG
from synthguard.cli.inspection import (
    describe_entry,
    export_lines,
    inclusion_proof,
    latest_checkpoint,
    recent_entries,
)

RECENT = 20


@click.group(short_help="Show, export and prove entries; checkpoints.")
def ledger() -> None:
    """Show, export and prove ledger entries; print the latest checkpoint."""


@ledger.command()
@click.argument("seq", type=click.IntRange(min=0), required=False)
@pass_app
def show(app: App, seq: int | None) -> None:
    """Show entry SEQ decoded as JSON, or without SEQ the last 20 entries and the size."""
    with app.open_ledger() as handle:
        if seq is not None:
            described = describe_entry(handle, seq)
            click.echo(json.dumps(described, indent=2, ensure_ascii=False))
            if "content_problem" in described:
                click.echo(f"{PROG}: warning: {described['content_problem']}", err=True)
            return
        size, entries = recent_entries(handle, RECENT)
        click.echo(render.entry_table(size, handle.origin, entries))


@ledger.command()
@pass_app
def export(app: App) -> None:
    """Stream every entry as JSON lines: seq, leaf (base64), leaf_hash (hex), envelope.

    `leaf` is the exact bytes hashed into the tree, `<seq>\\n<envelope>`; the leaf hash is
    SHA-256(0x00 || leaf).
    """
    with app.open_ledger() as handle:
        for line in export_lines(handle):
            click.echo(line)


@ledger.command()
@click.argument("seq", type=click.IntRange(min=0))
@pass_app
def prove(app: App, seq: int) -> None:
    """Print the inclusion proof of entry SEQ against the latest checkpoint, as JSON.

    Fields: index, tree_size, root (base64), leaf_hash (hex), audit_path (hex, bottom up, RFC
    9162), checkpoint (the signed note).
    """
    with app.open_ledger() as handle:
        click.echo(json.dumps(inclusion_proof(handle, seq), indent=2))


@ledger.command()
@pass_app
def checkpoint(app: App) -> None:
    """Print the latest signed checkpoint verbatim (keep it to use with `verify --checkpoint`)."""
    with app.open_ledger() as handle:
        click.echo(latest_checkpoint(handle).note, nl=False)
