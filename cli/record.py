"""`synthguard record`: one signed lineage record per good row of a sample file."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import click

from synthguard.cli.context import App, pass_app
from synthguard.cli.errors import INTERRUPTED, PROG
from synthguard.cli.progress import Tick, progress_bar
from synthguard.cli.render import plural
from synthguard.ledger.log import Checkpoint, Ledger, making_record_ids
from synthguard.provenance.errors import InputError
from synthguard.provenance.reader import (
    FORMATS,
    Row,
    check_input,
    count_rows,
    detect_format,
    read_samples,
)
from synthguard.provenance.record import Generator, Origin
from synthguard.provenance.recorder import Recorder, RecordSummary, record_rows
from synthguard.provenance.sample import FieldMapping

LISTED = 20
"""Bad rows kept to be listed by number; the rest are counted."""


@dataclass(frozen=True)
class RecordResult:
    """What `record_file` did."""

    path: Path
    summary: RecordSummary
    run_id: str
    unit: str
    size: int
    checkpoint: Checkpoint
    skipped: int = 0
    """Good rows not recorded because their sample had a making record already."""
    bad: int = 0
    """Bad rows in all; `summary.bad` keeps the first `LISTED` of them."""

    @property
    def total(self) -> int:
        """Rows read, good and bad, less the ones skipped."""
        return self.summary.recorded + self.bad


class RecordInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped `record_file`; `committed` records of this run are in the ledger."""

    def __init__(self, committed: int) -> None:
        super().__init__(committed)
        self.committed = committed


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
    for line in bad_rows(result):
        click.echo(line, err=True)
    if result.skipped:
        rows = "row" if result.skipped == 1 else "rows"
        click.echo(
            f"skipped {result.skipped:,} {rows} already recorded (--again records them anyway)"
        )
    click.echo(record_summary(result))
    if result.bad:
        listed = len(result.summary.bad)
        shown = "listed above" if listed == result.bad else f"the first {listed} listed above"
        good = "; the good rows were recorded" if result.summary.recorded else ""
        raise InputError(
            f"{result.bad:,} of {result.total:,} rows were bad and were not recorded "
            f"({shown}){good}"
        )


def generator_from_options(
    name: str | None,
    model: str | None,
    *,
    version: str | None,
    provider: str | None,
    parameters: Mapping[str, Any],
    origin: Origin,
) -> Generator | None:
    """Build the generator of a record run; only human data may come without one."""
    if name is None and model is None:
        if origin is not Origin.HUMAN:
            raise InputError(f"{origin.value} samples need --generator and --model")
        if version or provider or parameters:
            raise InputError("--model-version, --provider and --param need --generator and --model")
        return None
    if name is None or model is None:
        raise InputError("--generator and --model go together")
    return Generator(
        name=name, provider=provider, model=model, version=version, parameters=dict(parameters)
    )


def record_file(
    app: App,
    path: Path,
    *,
    generator: Generator | None,
    origin: Origin,
    mapping: FieldMapping,
    fmt: str | None = None,
    run_id: str | None = None,
    progress: Tick | None = None,
    again: bool = False,
) -> RecordResult:
    """Record every good row of `path`, then checkpoint; bad rows are counted, not fatal.

    A file without rows, or one that is not JSONL at all, raises InputError before anything
    is read in earnest (see `check_input`).

    A row whose sample has a making record already (from an earlier run, or an earlier row of
    this one) is skipped, so a rerun after an interruption resumes; `again` records it anyway.
    Rows are committed a batch at a time; Ctrl-C raises RecordInterrupted with the count.
    """
    if generator is None and origin is not Origin.HUMAN:
        raise InputError(f"{origin.value} samples need a generator")
    # Look at the file before the key, so a wrong path or file costs no passphrase.
    check_input(path, fmt)
    rows = read_samples(path, mapping, fmt)
    unit = "line" if (fmt or detect_format(path)) == "jsonl" else "row"
    with app.open_ledger(signing=True) as ledger:
        # Rows of a file name no parents: nothing per sample needs remembering.
        recorder = Recorder(ledger, run_id=run_id, track_depths=False)
        summary = RecordSummary()
        skipped = bad = 0
        try:
            with recorder:
                # One batch per chunk, committed before the next chunk asks what is recorded.
                for chunk in _chunks(_ticking(rows, progress), recorder.batch_size):
                    if not again:
                        chunk, dropped = _unrecorded(ledger, chunk)
                        skipped += dropped
                    done = record_rows(chunk, recorder, generator, origin)
                    summary.recorded += done.recorded
                    bad += len(done.bad)
                    summary.bad.extend(done.bad[: LISTED - len(summary.bad)])
        except BaseException as exc:
            # Every command that appends ends with a checkpoint, even one that stops early;
            # the error that stopped it is the one to report.
            if recorder.appended:
                with contextlib.suppress(Exception):
                    ledger.checkpoint()
            if isinstance(exc, KeyboardInterrupt):
                raise RecordInterrupted(recorder.appended) from exc
            raise
        checkpoint = ledger.checkpoint()
        return RecordResult(
            path=path,
            summary=summary,
            run_id=recorder.run_id,
            unit=unit,
            size=ledger.size(),
            checkpoint=checkpoint,
            skipped=skipped,
            bad=bad,
        )


def record_summary(result: RecordResult) -> str:
    """The line `synthguard record` prints on stdout."""
    total = result.total + result.skipped
    return (
        f"recorded {result.summary.recorded} of {plural(total, 'sample')} from {result.path} "
        f"(run {result.run_id}); the ledger holds {plural(result.size, 'entry', 'entries')}, "
        f"checkpoint at {result.checkpoint.size}"
    )


def bad_rows(result: RecordResult) -> list[str]:
    """One stderr line per listed bad row: `synthguard: FILE:LINE: reason` (or `row N` for
    tables), then how many more there were."""
    listed = result.summary.bad
    if result.unit == "line":
        lines = [f"synthguard: {result.path}:{n}: {error}" for n, error in listed]
    else:
        lines = [f"synthguard: {result.path}: row {n}: {error}" for n, error in listed]
    if result.bad > len(listed):
        more = result.bad - len(listed)
        unit = result.unit if more == 1 else f"{result.unit}s"
        lines.append(f"synthguard: {result.path}: {more:,} more bad {unit}, not listed")
    return lines


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _unrecorded(ledger: Ledger, rows: list[Row]) -> tuple[list[Row], int]:
    """The rows to record (bad rows too, to be reported), and how many were recorded already."""
    made = making_record_ids(ledger, [row.sample.id for row in rows if row.sample is not None])
    kept: list[Row] = []
    for row in rows:
        if row.sample is not None:
            if row.sample.id in made:
                continue
            made.add(row.sample.id)  # a later row with the same content is a copy of this one
        kept.append(row)
    return kept, len(rows) - len(kept)


def _ticking(rows: Iterable[Row], progress: Tick | None) -> Iterator[Row]:
    for row in rows:
        yield row
        if progress is not None:
            progress(1)
