"""`synthguard record`: one signed lineage record per good row of a sample file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from synthguard.cli.context import App
from synthguard.cli.progress import Tick
from synthguard.ledger.log import Checkpoint, Ledger, making_record_ids
from synthguard.provenance.errors import InputError
from synthguard.provenance.reader import Row, check_input, detect_format, read_samples
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
