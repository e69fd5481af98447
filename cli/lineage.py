"""`synthguard lineage SAMPLE_ID`: a sample's ancestry, up through its parents to the roots."""

from __future__ import annotations

import json

import click

from synthguard.cli import render
from synthguard.cli.context import App, pass_app
from synthguard.cli.terminal import echo
from synthguard.ledger.log import ancestry, ancestry_json, resolve_sample_id


@click.command(short_help="Show a sample's ancestry: parents, critiques, screenings, reviews.")
@click.argument("sample_id", metavar="SAMPLE_ID")
@click.option("--json", "as_json", is_flag=True, help="Print the tree as JSON.")
@pass_app
def lineage(app: App, sample_id: str, as_json: bool) -> None:
    """Print the ancestry of SAMPLE_ID (a full id or a unique prefix) as an indented tree.

    Each sample shows the records that made it (event, generator and model, depth, seq, time)
    and the critiques, screenings (outcome, and the rules that quarantined it), reviews and
    releases of it; its parents follow, indented, up to the roots. A sample
    reached twice is expanded once. Read from the ledger as stored: `synthguard verify` checks
    the signatures.
    """
    with app.open_ledger() as handle:
        tree = ancestry(handle, resolve_sample_id(handle, sample_id))
    if as_json:
        echo(json.dumps(ancestry_json(tree), indent=2, ensure_ascii=False))
    else:
        echo(render.lineage_tree(tree))
