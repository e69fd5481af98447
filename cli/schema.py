"""`synthguard schema`: the JSON Schemas of lineage records and of the transparency report."""

from __future__ import annotations

import json

import click

from synthguard.cli.terminal import echo
from synthguard.ledger.report import report_json_schema
from synthguard.provenance.record import record_json_schema

SCHEMAS = {"lineage": record_json_schema, "report": report_json_schema}


def schema_document(which: str = "lineage") -> str:
    """A JSON Schema as `synthguard schema` prints it."""
    return json.dumps(SCHEMAS[which](), indent=2, ensure_ascii=False) + "\n"


@click.command()
@click.argument("which", type=click.Choice(list(SCHEMAS)), default="lineage")
def schema(which: str) -> None:
    """Print a JSON Schema: of lineage records and key events (lineage), or of the JSON
    transparency report (report)."""
    echo(schema_document(which), nl=False)
