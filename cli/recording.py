"""`synthguard record`: one signed lineage record per good row of a sample file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthguard.cli.context import App
from synthguard.cli.progress import Tick
from synthguard.ledger.checkpoint import Checkpoint
from synthguard.provenance.errors import InputError
from synthguard.provenance.reader import Row, detect_format, read_samples
from synthguard.provenance.record import Generator, Origin
from synthguard.provenance.recorder import Recorder, RecordSummary, record_rows
from synthguard.provenance.sample import FieldMapping


@dataclass(frozen=True)
class RecordResult:
    """What `record_file` did."""

    path: Path
    summary: RecordSummary
    run_id: str
    unit: str
    size: int
    checkpoint: Checkpoint


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
) -> RecordResult:
    """Record every good row of `path`, then checkpoint; bad rows are counted, not fatal."""
    if generator is None and origin is not Origin.HUMAN:
        raise InputError(f"{origin.value} samples need a generator")
    # Open the file before the key, so a wrong path costs no passphrase.
    rows = read_samples(path, mapping, fmt)
    unit = "line" if (fmt or detect_format(path)) == "jsonl" else "row"
    with app.open_ledger(signing=True) as ledger:
        # Rows of a file name no parents: nothing per sample needs remembering.
        recorder = Recorder(ledger, run_id=run_id, track_depths=False)
        try:
            with recorder:
                summary = record_rows(_ticking(rows, progress), recorder, generator, origin)
        except BaseException:
            # Every command that appends ends with a checkpoint, even one that stops early;
            # the error that stopped it is the one to report.
            if recorder.appended:
                with contextlib.suppress(Exception):
                    ledger.checkpoint()
            raise
        checkpoint = ledger.checkpoint()
        return RecordResult(
            path=path,
            summary=summary,
            run_id=recorder.run_id,
            unit=unit,
            size=ledger.size(),
            checkpoint=checkpoint,
        )


def _ticking(rows: Iterable[Row], progress: Tick | None) -> Iterator[Row]:
    for row in rows:
        yield row
        if progress is not None:
            progress(1)
