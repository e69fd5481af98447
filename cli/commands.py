"""The top-level commands: init, record, verify, schema, demo. Each parses, calls, prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from synthguard.cli import render
from synthguard.cli.context import App, pass_app
from synthguard.cli.demo import DEFAULT_DIR, DEFAULT_SAMPLES, run_demo
from synthguard.cli.errors import INTERRUPTED, PROG
from synthguard.cli.progress import progress_bar
from synthguard.cli.recording import RecordInterrupted, generator_from_options, record_file
from synthguard.ledger.log import DEFAULT_CHECKPOINT_INTERVAL, check_origin, verify_ledger
from synthguard.ledger.release import read_public_keys
from synthguard.ledger.report import report_json_schema
from synthguard.provenance.errors import InputError
from synthguard.provenance.reader import FORMATS, count_rows
from synthguard.provenance.record import Origin, record_json_schema
from synthguard.provenance.sample import FieldMapping


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


def _parse_params(_ctx: click.Context, _param: click.Parameter, pairs: tuple[str, ...]) -> Any:
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not of the form KEY=VALUE")
        if key in parsed:
            # Which one a record should carry is the user's call, not ours.
            raise click.BadParameter(f"{key!r} is given twice")
        try:
            parsed[key] = json.loads(text)
        except ValueError:
            parsed[key] = text
    return parsed


@click.command(short_help="Sign one lineage record per row of FILE.")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--generator", "generator_name", metavar="NAME", help="Pipeline step or generator.")
@click.option("--model", metavar="M", help="Model identifier.")
@click.option("--model-version", metavar="V", help="Model version or revision.")
@click.option("--provider", metavar="P", help="Model provider, e.g. openai.")
@click.option(
    "--param",
    "params",
    multiple=True,
    callback=_parse_params,
    metavar="KEY=VALUE",
    help="A sampling parameter; VALUE is JSON when it parses (0.7, true, [1,2]), else a string.",
)
@click.option(
    "--origin",
    type=click.Choice([origin.value for origin in Origin]),
    default=Origin.SYNTHETIC.value,
    show_default=True,
    help="Who wrote the content: synthetic and hybrid rows are `generated` (depth 1), human "
    "rows `imported` (depth 0; --generator optional).",
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="TARGET=SOURCE",
    help="Read a sample field from another column, e.g. instruction=prompt.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Input format [default: by path: HF dataset folder, *.parquet, else JSONL].",
)
@click.option("--run-id", metavar="ID", help="Run id for the records [default: a new uuid4].")
@click.option(
    "--again",
    is_flag=True,
    help="Also record rows whose sample has a making record (generated, revised, imported) "
    "already; by default they are skipped, so a rerun resumes.",
)
@pass_app
def record(
    app: App,
    file: Path,
    generator_name: str | None,
    model: str | None,
    model_version: str | None,
    provider: str | None,
    params: dict[str, Any],
    origin: str,
    fields: tuple[str, ...],
    fmt: str | None,
    run_id: str | None,
    again: bool,
) -> None:
    """Sign one lineage record per row of FILE and append them to the ledger.

    FILE is JSONL (`*.jsonl.gz` and other `*.gz` names are decompressed as they are read),
    Parquet or a saved Hugging Face dataset. Bad rows (invalid JSON, not UTF-8, a missing
    field) are listed on stderr by line number, the first 20 of them, and do not stop the good
    ones. Exit 0 when every row was recorded; exit 2 after recording the good rows when some
    were bad. A FILE without rows, or one whose first 20 lines hold no JSON object (CSV,
    binary), is one line on stderr and exit 2, with nothing recorded. Rows recorded already
    are skipped (--again records them), so after Ctrl-C (exit 130) the same command resumes.
    """
    kind = Origin(origin)
    generator = generator_from_options(
        generator_name,
        model,
        version=model_version,
        provider=provider,
        parameters=params,
        origin=kind,
    )
    try:
        with progress_bar(lambda: count_rows(file, fmt), "recording") as tick:
            result = record_file(
                app,
                file,
                generator=generator,
                origin=kind,
                mapping=FieldMapping.parse(fields),
                fmt=fmt,
                run_id=run_id,
                progress=tick,
                again=again,
            )
    except RecordInterrupted as exc:
        click.echo(
            f"{PROG}: interrupted: {exc.committed:,} of the rows were committed; run the same "
            "command again to resume (rows already recorded are skipped)",
            err=True,
        )
        raise click.exceptions.Exit(INTERRUPTED) from None
    for line in render.bad_rows(result):
        click.echo(line, err=True)
    if result.skipped:
        rows = "row" if result.skipped == 1 else "rows"
        click.echo(
            f"skipped {result.skipped:,} {rows} already recorded (--again records them anyway)"
        )
    click.echo(render.record_summary(result))
    if result.bad:
        listed = len(result.summary.bad)
        shown = "listed above" if listed == result.bad else f"the first {listed} listed above"
        good = "; the good rows were recorded" if result.summary.recorded else ""
        raise InputError(
            f"{result.bad:,} of {result.total:,} rows were bad and were not recorded "
            f"({shown}){good}"
        )


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
@pass_app
def verify(app: App, kept: Path | None, root_key_file: Path | None) -> None:
    """Check every signature, leaf hash, checkpoint and stored content of the ledger, offline.

    In a home, the checkpoint its writer last signed is checked too, and the home's config pins
    the genesis key. Exit 1 with the first bad entry's seq when anything does not check out.
    """
    note = kept.read_text(encoding="utf-8", errors="replace") if kept else None
    root_key = app.root_key()
    if root_key_file is not None:
        keys = read_public_keys(root_key_file)
        if len(keys) != 1:
            raise InputError(f"{root_key_file} holds {len(keys)} keys; --root-key takes one")
        root_key = keys[0].key_id
    with app.open_ledger() as ledger, progress_bar(ledger.size, "verifying") as tick:
        report = verify_ledger(ledger, kept_checkpoint=note, root_key_id=root_key, progress=tick)
    if root_key is None:
        click.echo(
            f"{PROG}: warning: trusting genesis key {report.root_key}, which the database itself "
            "carries: nothing pins it, so a ledger swapped wholesale would verify too; pass "
            "--root-key PUBKEY (`synthguard keys export` in the ledger's home) to pin it",
            err=True,
        )
    click.echo(render.verify_summary(report))


SCHEMAS = {"lineage": record_json_schema, "report": report_json_schema}


def schema_document(which: str = "lineage") -> str:
    """A JSON Schema as `synthguard schema` prints it."""
    return json.dumps(SCHEMAS[which](), indent=2, ensure_ascii=False) + "\n"


@click.command()
@click.argument("which", type=click.Choice(list(SCHEMAS)), default="lineage")
def schema(which: str) -> None:
    """Print a JSON Schema: of lineage records and key events (lineage), or of the JSON
    transparency report (report)."""
    click.echo(schema_document(which), nl=False)


@click.command(short_help="Init, record and verify a demo ledger.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DIR,
    show_default=True,
    help="Where to build the demo. A folder from an earlier demo is wiped and rebuilt; any "
    "other non-empty folder is refused.",
)
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=DEFAULT_SAMPLES,
    show_default=True,
    help="How many samples to generate and record.",
)
def demo(directory: Path, samples: int) -> None:
    """Run init, record and verify in a fresh folder, with nothing to configure.

    The key is encrypted under $SYNTHGUARD_PASSPHRASE, else a fixed demo passphrase (printed;
    not a secret). The demo always uses its own SQLite ledger, whatever --db says.
    """
    click.echo(render.demo_summary(run_demo(directory, samples)))
