"""`synthguard record`: one signed lineage record per good row of a sample file."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import chain, islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import click

from synthguard.cli.context import App, pass_app
from synthguard.cli.engine_options import engine_for, engine_options
from synthguard.cli.errors import INTERRUPTED, PROG
from synthguard.cli.progress import Tick, progress_bar
from synthguard.cli.render import plural
from synthguard.ledger.log import (
    Checkpoint,
    Ledger,
    SignedBatch,
    Unsigned,
    content_row,
    making_record_ids,
    unsigned_entry,
)
from synthguard.provenance.engine import Engine
from synthguard.provenance.errors import InputError
from synthguard.provenance.reader import (
    FORMATS,
    Row,
    check_input,
    count_rows,
    detect_format,
    read_samples,
)
from synthguard.provenance.record import Event, Generator, LineageRecord, Origin, utc_now
from synthguard.provenance.recorder import DEFAULT_BATCH_SIZE, RecordSummary
from synthguard.provenance.sample import FieldMapping, Sample

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
            if workers is not None or scheduler is not None:
                check_input(file, fmt)  # a file that cannot be recorded costs no cluster
            engine = stack.enter_context(engine_for(workers, scheduler))
            tick = stack.enter_context(progress_bar(lambda: count_rows(file, fmt), "recording"))
            result = record_file(
                app,
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
    engine: Engine | None = None,
) -> RecordResult:
    """Record every good row of `path`, then checkpoint; bad rows are counted, not fatal.

    A file without rows, or one that is not JSONL at all, raises InputError before anything
    is read in earnest (see `check_input`).

    A row whose sample has a making record already (from an earlier run, or an earlier row of
    this one) is skipped, so a rerun after an interruption resumes; `again` records it anyway.
    Rows are committed a batch at a time; Ctrl-C raises RecordInterrupted with the count.

    This thread reads the rows, asks the ledger which are recorded already, and appends each
    batch in file order (the ledger's one writer); meanwhile later batches are built and
    signed: by default in processes forked from this one, one per core (they inherit the key,
    which is never sent anywhere); with `engine`, built on it (no key needed) and signed here.
    """
    if generator is None and origin is not Origin.HUMAN:
        raise InputError(f"{origin.value} samples need a generator")
    # Look at the file before the key, so a wrong path or file costs no passphrase.
    check_input(path, fmt)
    rows = read_samples(path, mapping, fmt)
    unit = "line" if (fmt or detect_format(path)) == "jsonl" else "row"
    with app.open_ledger(signing=True) as ledger:
        recipe = RecordRecipe(
            generator=generator,
            origin=origin,
            run_id=run_id or uuid.uuid4().hex,
            ledger=ledger.origin,
            signer=ledger.key_id,
        )
        summary = RecordSummary()
        counts = _Counts()
        # The sample ids of the batches on their way to the ledger, in order: recorded, as far
        # as checking later rows goes.
        on_the_way: deque[set[str]] = deque()

        def parts() -> Iterator[RecordPart]:
            for chunk in _chunks(_ticking(rows, progress), BATCH_SIZE):
                samples = _good_samples(chunk, summary, counts)
                if not again:
                    samples = _unrecorded(ledger, samples, on_the_way, counts)
                if samples:
                    on_the_way.append({sample.id for sample in samples})
                    yield RecordPart(
                        recipe,
                        [(s.id, s.digest, s.kind) for s in samples],
                        [s.row for s in samples],
                    )

        appended = 0
        try:
            with contextlib.ExitStack() as stack:
                held = stack.enter_context(_HeldInterrupt())
                for batch, contents in _signed_batches(ledger, engine, parts(), stack):
                    held.hold()
                    ledger.append_signed(batch, contents)
                    appended += len(batch.rows)
                    held.release()
                    on_the_way.popleft()
        except BaseException as exc:
            # Every command that appends ends with a checkpoint, even one that stops early;
            # the error that stopped it is the one to report.
            if appended:
                with contextlib.suppress(Exception):
                    ledger.checkpoint()
            if isinstance(exc, KeyboardInterrupt):
                raise RecordInterrupted(appended) from exc
            raise
        summary.recorded = appended
        checkpoint = ledger.checkpoint()
        return RecordResult(
            path=path,
            summary=summary,
            run_id=recipe.run_id,
            unit=unit,
            size=ledger.size(),
            checkpoint=checkpoint,
            skipped=counts.skipped,
            bad=counts.bad,
        )


@dataclass(frozen=True)
class RecordRecipe:
    """What every record of one run shares: with a batch's sample ids and digests, all that
    building its payloads takes (no key: the ledger signs them)."""

    generator: Generator | None
    origin: Origin
    run_id: str
    ledger: str
    signer: str


@dataclass(frozen=True)
class RecordPart:
    """One batch of rows as an engine part: (sample id, digest, kind) and the row, per row in
    order."""

    recipe: RecordRecipe
    samples: list[tuple[str, str, str | None]]
    rows: list[Mapping[str, Any]]


@dataclass(frozen=True)
class PreparedBatch:
    """A batch's records ready for the ledger to sign, and its rows as the ledger stores them."""

    entries: list[Unsigned]
    contents: list[dict[str, str]]


def prepare_records(part: RecordPart) -> PreparedBatch:
    """What a batch's records and rows become before signing: their payloads, the same bytes
    the Recorder's `generated` (synthetic and hybrid rows) or `imported` (human rows) signs, and
    the rows' stored form. Needs no key, so it runs on any engine."""
    recipe = part.recipe
    human = recipe.origin is Origin.HUMAN
    event = Event.IMPORTED if human else Event.GENERATED
    entries = []
    for sample_id, sample_digest, kind in part.samples:
        record = LineageRecord(
            event=event,
            sample_id=sample_id,
            digest=sample_digest,
            kind=kind,
            origin=recipe.origin,
            generator=recipe.generator,
            prompt_digest=None,
            parents=[],
            depth=0 if human else 1,
            sources=[],
            run_id=recipe.run_id,
            time=utc_now(),
            signer=recipe.signer,
            detail={},
        )
        entries.append(unsigned_entry(record, recipe.ledger, recipe.signer))
    contents = [
        content_row(sample[0], row) for sample, row in zip(part.samples, part.rows, strict=True)
    ]
    return PreparedBatch(entries, contents)


BATCH_SIZE = 8 * DEFAULT_BATCH_SIZE
"""Rows per part and per append transaction. Larger than the Recorder's: the sample id
indexes are keyed by digests, so every row of a batch lands on a random index page, which the
transaction writes out; over a run, fewer and larger batches write each page fewer times (100k
rows: 16 s in batches of 512, 9-11 s in batches of 4096)."""
_AHEAD_PER_WORKER = 2
"""Batches being built and signed while this thread appends one, per worker."""


def _signed_batches(
    ledger: Ledger,
    engine: Engine | None,
    parts: Iterator[RecordPart],
    stack: contextlib.ExitStack,
) -> Iterator[tuple[SignedBatch, list[dict[str, str]]]]:
    """Each part's records built and signed, with its rows' stored form, in order (see
    `record_file`)."""
    cores = _cores()
    if engine is not None:
        # The engine's workers have no key: this process signs, on every core.
        for prepared in engine.map(prepare_records, parts):
            yield ledger.sign(prepared.entries, threads=cores), prepared.contents
        return
    first = next(parts, None)
    if first is None:
        return
    second = next(parts, None)
    if second is None or cores == 1:
        # One batch costs less than forking.
        for part in chain((first,) if second is None else (first, second), parts):
            yield _sign(ledger, part)
        return
    # fork: the workers inherit the ledger handle and its key, nothing is pickled but the
    # parts and the signed rows; they sign and never touch the database.
    pool = stack.enter_context(
        ProcessPoolExecutor(
            cores, mp_context=get_context("fork"), initializer=_adopt, initargs=(ledger,)
        )
    )
    # On an error or Ctrl-C, batches not started are dropped at once.
    stack.callback(pool.shutdown, wait=True, cancel_futures=True)
    pending: deque[Future[tuple[SignedBatch, list[dict[str, str]]]]] = deque()
    for part in chain((first, second), parts):
        pending.append(pool.submit(_sign_in_worker, part))
        if len(pending) >= _AHEAD_PER_WORKER * cores:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


_worker_ledger: Ledger | None = None


def _adopt(ledger: Ledger) -> None:
    global _worker_ledger
    _worker_ledger = ledger
    # Ctrl-C reaches the whole process group: the parent stops the run and says what it
    # committed; a worker has nothing to say.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _sign_in_worker(part: RecordPart) -> tuple[SignedBatch, list[dict[str, str]]]:
    assert _worker_ledger is not None  # set by the pool's initializer
    return _sign(_worker_ledger, part)


def _sign(ledger: Ledger, part: RecordPart) -> tuple[SignedBatch, list[dict[str, str]]]:
    prepared = prepare_records(part)
    return ledger.sign(prepared.entries), prepared.contents


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _HeldInterrupt:
    """Ctrl-C as usual, except between `hold` and `release` (a batch being appended and
    counted): then it waits for `release`, so the count a user is told is what was committed."""

    def __init__(self) -> None:
        self._holding = False
        self._pending = False
        self._installed = False
        self._previous: Any = None

    def __enter__(self) -> _HeldInterrupt:
        # Signal handlers belong to the main thread; elsewhere Ctrl-C is not this run's.
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._interrupt)
            self._installed = True
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._installed:
            # None: the handler before was not Python's; the nearest is the default.
            previous = signal.SIG_DFL if self._previous is None else self._previous
            signal.signal(signal.SIGINT, previous)
            self._installed = False

    def hold(self) -> None:
        """Start holding Ctrl-C."""
        self._holding = True

    def release(self) -> None:
        """Stop holding; raise KeyboardInterrupt if Ctrl-C came meanwhile."""
        self._holding = False
        if self._pending:
            raise KeyboardInterrupt

    def _interrupt(self, _signum: int, _frame: object) -> None:
        if self._holding:
            self._pending = True
            return
        raise KeyboardInterrupt


@dataclass
class _Counts:
    skipped: int = 0
    bad: int = 0


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


def _good_samples(rows: list[Row], summary: RecordSummary, counts: _Counts) -> list[Sample]:
    """The samples of the good rows; bad rows are counted, the first `LISTED` kept by number."""
    samples = []
    for row in rows:
        if row.sample is None:
            counts.bad += 1
            if len(summary.bad) < LISTED:
                summary.bad.append((row.number, row.error or "unreadable row"))
        else:
            samples.append(row.sample)
    return samples


def _unrecorded(
    ledger: Ledger, samples: list[Sample], on_the_way: Iterable[set[str]], counts: _Counts
) -> list[Sample]:
    """The samples to record: not made in the ledger, nor in a batch on its way there, nor
    earlier in this batch; the others are counted as skipped."""
    made = making_record_ids(ledger, [sample.id for sample in samples])
    kept: list[Sample] = []
    for sample in samples:
        if sample.id in made or any(sample.id in batch for batch in on_the_way):
            continue
        made.add(sample.id)  # a later row with the same content is a copy of this one
        kept.append(sample)
    counts.skipped += len(samples) - len(kept)
    return kept


def _ticking(rows: Iterable[Row], progress: Tick | None) -> Iterator[Row]:
    for row in rows:
        yield row
        if progress is not None:
            progress(1)
