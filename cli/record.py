"""`synthguard record`: one signed lineage record per good row of a sample file."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from synthguard.cli.context import App, pass_app
from synthguard.cli.engine_options import engine_for, engine_options
from synthguard.cli.errors import INTERRUPTED, PROG
from synthguard.cli.progress import progress_bar
from synthguard.cli.render import plural
from synthguard.cli.terminal import echo
from synthguard.ledger.recording import RecordInterrupted, RecordResult, record_file
from synthguard.provenance.errors import InputError
from synthguard.provenance.reader import FORMATS, check_input, count_rows
from synthguard.provenance.record import Generator, Origin
from synthguard.provenance.sample import MAX_DEPTH, FieldMapping, NestingError, check_depth


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
            parsed[key] = json.loads(text, parse_constant=_not_json, parse_float=_finite)
        except RecursionError:
            raise click.BadParameter(f"{key!r}: {_TOO_DEEP}") from None
        except ValueError:
            parsed[key] = text
        try:
            check_depth({key: parsed[key]})  # this value only: the earlier ones passed
        except NestingError:
            raise click.BadParameter(f"{key!r}: {_TOO_DEEP}") from None
    return parsed


def _not_json(name: str) -> Any:
    # Python's json takes NaN and Infinity; JSON does not, so such a value is a string.
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    # 1e999 is JSON, but no double: a string, as canonical JSON could not carry it.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


_TOO_DEEP = f"its JSON is nested too deeply (more than {MAX_DEPTH - 1} levels)"


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
@engine_options(
    "Build the records",
    "this process reads and appends; processes forked from it sign, one per core",
    "; the key never leaves this machine: this process signs",
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
    workers: int | None,
    scheduler: str | None,
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
    mapping = FieldMapping.parse(fields)
    try:
        with contextlib.ExitStack() as stack:
            # Look at the file first: one that cannot be recorded (no rows, not JSONL at all)
            # costs no cluster and no passphrase.
            check_input(file, fmt)
            engine = stack.enter_context(engine_for(workers, scheduler))
            ledger = stack.enter_context(app.open_ledger(signing=True))
            tick = stack.enter_context(progress_bar(lambda: count_rows(file, fmt), "recording"))
            result = record_file(
                ledger,
                file,
                generator=generator,
                origin=kind,
                mapping=mapping,
                fmt=fmt,
                run_id=run_id,
                progress=tick,
                again=again,
                engine=engine,
            )
    except RecordInterrupted as exc:
        echo(
            f"{PROG}: interrupted: {exc.committed:,} of the rows were committed; run the same "
            "command again to resume (rows already recorded are skipped)",
            err=True,
        )
        raise click.exceptions.Exit(INTERRUPTED) from None
    for line in bad_rows(result):
        echo(line, err=True)
    if result.skipped:
        rows = "row" if result.skipped == 1 else "rows"
        echo(f"skipped {result.skipped:,} {rows} already recorded (--again records them anyway)")
    echo(record_summary(result))
    if result.bad:
        listed = len(result.summary.bad)
        shown = "listed above" if listed == result.bad else f"the first {listed} listed above"
        good = "; the good rows were recorded" if result.summary.recorded else ""
        raise InputError(
            f"{result.bad:,} of {result.total + result.skipped:,} rows were bad and were not "
            f"recorded ({shown}){good}"
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
    for option, value in (("--generator", name), ("--model", model)):
        if not value.strip():
            raise InputError(f"{option} is empty: name what made the samples")
    return Generator(
        name=name, provider=provider, model=model, version=version, parameters=dict(parameters)
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
