"""Recording a file: one signed `generated` (or `imported`) record per good row of a sample
file, appended in bulk (`synthguard record`).

The calling thread reads the file in chunks of lines, left unparsed, and appends each chunk's
records in file order (the ledger's one writer). Meanwhile later chunks are parsed, built and
signed elsewhere: by default in processes forked from this one, one per core (they inherit
the key, which is never sent anywhere), so parsing, canonical JSON and Ed25519 use every core;
with an engine (`--workers`), parsed and built on it (no key needed) and signed here.

A row whose sample has a making record already (from an earlier run, or an earlier row of
this one) is skipped, so a rerun after an interruption resumes; `again` records it anyway.
Which rows those are is asked of the ledger inside each chunk's append transaction, holding
the ledger's write lock, so the answer covers every chunk committed before it, by this run or
by another `record` of the same file at the same time. The chunk is signed by then: a rerun of
rows recorded already costs their signatures, and appends nothing.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from synthguard.ledger.log import (
    Checkpoint,
    Ledger,
    SignedBatch,
    Unsigned,
    content_row,
    making_record_ids,
)
from synthguard.provenance.engine import Engine, Forked, cores
from synthguard.provenance.errors import InputError
from synthguard.provenance.reader import RowChunk, detect_format, read_chunks
from synthguard.provenance.record import (
    RECORD_TYPE,
    Event,
    Generator,
    LineageRecord,
    Origin,
    PayloadTemplate,
    utc_now,
)
from synthguard.provenance.recorder import DEFAULT_BATCH_SIZE, RecordSummary
from synthguard.provenance.sample import FieldMapping

LISTED = 20
"""Bad rows kept to be listed by number; the rest are counted."""
BATCH_SIZE = 8 * DEFAULT_BATCH_SIZE
"""Rows per part and per append transaction. Larger than the Recorder's: the sample id
indexes are keyed by digests, so every row of a batch lands on a random index page, which the
transaction writes out; over a run, fewer and larger batches write each page fewer times (100k
rows: 16 s in batches of 512, 9-11 s in batches of 4096)."""
CHUNK_BYTES = 16 << 20
"""A part also ends once its lines hold this many bytes, so long rows do not pile up."""
Progress = Callable[[int], None]


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


@dataclass(frozen=True)
class RecordRecipe:
    """What every record of one run shares: with a part's rows, all that building its
    payloads takes (no key: the ledger signs them)."""

    generator: Generator | None
    origin: Origin
    run_id: str
    ledger: str
    signer: str


@dataclass(frozen=True)
class RecordPart:
    """One chunk of a file's rows as an engine part."""

    recipe: RecordRecipe
    chunk: RowChunk


@dataclass(frozen=True)
class PreparedBatch:
    """A part's records ready for the ledger to sign, its good rows as the ledger stores them
    (one per record, in order), and its bad rows by number."""

    entries: list[Unsigned]
    contents: list[dict[str, str]]
    bad: list[tuple[int, str]] = field(default_factory=list)


def record_file(
    ledger: Ledger,
    path: Path,
    *,
    generator: Generator | None,
    origin: Origin,
    mapping: FieldMapping,
    fmt: str | None = None,
    run_id: str | None = None,
    progress: Progress | None = None,
    again: bool = False,
    engine: Engine | None = None,
) -> RecordResult:
    """Record every good row of `path` into `ledger` (open with its key), then checkpoint;
    bad rows are counted, not fatal. Rows are committed a batch at a time; Ctrl-C raises
    RecordInterrupted with the count. See the module's docstring for who does what."""
    if generator is None and origin is not Origin.HUMAN:
        raise InputError(f"{origin.value} samples need a generator")
    unit = "line" if (fmt or detect_format(path)) == "jsonl" else "row"
    recipe = RecordRecipe(
        generator=generator,
        origin=origin,
        run_id=run_id or uuid.uuid4().hex,
        ledger=ledger.origin,
        signer=ledger.key_id,
    )
    summary = RecordSummary()
    counts = _Counts()

    def parts() -> Iterator[RecordPart]:
        for chunk in read_chunks(path, mapping, fmt, rows=BATCH_SIZE, size=CHUNK_BYTES):
            yield RecordPart(recipe, chunk)
            if progress is not None:
                progress(len(chunk))

    appended = 0
    try:
        with contextlib.ExitStack() as stack:
            held = stack.enter_context(_HeldInterrupt())
            for batch, contents, bad in _signed_batches(ledger, engine, parts(), stack):
                counts.bad += len(bad)
                summary.bad.extend(bad[: max(0, LISTED - len(summary.bad))])
                ids = [row["sample_id"] for row in batch.rows]
                admit = None if again else functools.partial(_unrecorded, ledger, ids, counts)
                held.hold()
                appended += len(ledger.append_signed(batch, contents, admit=admit))
                held.release()
    except BaseException as exc:
        # Every command that appends ends with a checkpoint, even one that stops early; the
        # error that stopped it is the one to report.
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


def prepare_records(part: RecordPart) -> PreparedBatch:
    """Parse a part's rows and build what its good rows' records and stored rows become before
    signing: the payloads are the bytes the Recorder's `generated` (synthetic and hybrid rows)
    or `imported` (human rows) would sign. Needs no key, so it runs on any engine."""
    recipe = part.recipe
    human = recipe.origin is Origin.HUMAN
    event = Event.IMPORTED if human else Event.GENERATED
    templates: dict[str | None, PayloadTemplate] = {}
    entries, contents, bad = [], [], []
    rows = part.chunk.parsed()
    # The part's records are made together: one time, and the random record ids drawn at once.
    now = utc_now()
    record_ids = os.urandom(16 * len(rows)).hex()
    for index, row in enumerate(rows):
        sample = row.sample
        if sample is None:
            bad.append((row.number, row.error or "unreadable row"))
            continue
        template = templates.get(sample.kind)
        if template is None:
            template = templates[sample.kind] = _template(recipe, event, sample.kind)
        record_id = record_ids[32 * index : 32 * index + 32]
        payload = template.fill(sample.id, sample.digest, record_id, now)
        entries.append(
            Unsigned(
                payload, RECORD_TYPE, event.value, sample.id, now, recipe.ledger, recipe.signer
            )
        )
        contents.append(content_row(sample.id, sample.row, sample.digest))
    return PreparedBatch(entries, contents, bad)


def _template(recipe: RecordRecipe, event: Event, kind: str | None) -> PayloadTemplate:
    prototype = LineageRecord(
        event=event,
        sample_id="sha256:" + "0" * 64,
        digest="sha256:" + "0" * 64,
        kind=kind,
        origin=recipe.origin,
        generator=recipe.generator,
        parents=[],
        depth=0 if event is Event.IMPORTED else 1,
        sources=[],
        run_id=recipe.run_id,
        time=utc_now(),
        signer=recipe.signer,
        detail={},
    )
    return PayloadTemplate(prototype, recipe.ledger)


def _signed_batches(
    ledger: Ledger, engine: Engine | None, parts: Iterator[RecordPart], stack: contextlib.ExitStack
) -> Iterator[tuple[SignedBatch, list[dict[str, str]], list[tuple[int, str]]]]:
    """Each part's records signed, with their rows' stored form and its bad rows, in order."""
    workers = cores()
    if engine is not None:
        # The engine's workers have no key: this process signs, on every core.
        for prepared in engine.map(prepare_records, parts):
            yield ledger.sign(prepared.entries, threads=workers), prepared.contents, prepared.bad
        return
    first = next(parts, None)
    if first is None:
        return
    second = next(parts, None)
    if second is None or workers == 1:
        # One part costs less than forking.
        for part in chain((first,) if second is None else (first, second), parts):
            prepared = prepare_records(part)
            yield ledger.sign(prepared.entries), prepared.contents, prepared.bad
        return
    # Forked: the workers inherit the ledger handle and its key; nothing is pickled but the
    # parts' lines and the signed rows. They parse, build and sign, and never touch the
    # database. On an error or Ctrl-C, parts not started are dropped at once.
    pool = stack.enter_context(Forked(functools.partial(_sign_part, ledger), workers))
    for signed in pool.map(chain((first, second), parts)):
        yield signed.batch, signed.contents, signed.bad


@dataclass(frozen=True)
class _Signed:
    batch: SignedBatch
    contents: list[dict[str, str]]
    bad: list[tuple[int, str]]


def _sign_part(ledger: Ledger, part: RecordPart) -> _Signed:
    prepared = prepare_records(part)
    return _Signed(ledger.sign(prepared.entries), prepared.contents, prepared.bad)


def _unrecorded(ledger: Ledger, sample_ids: Sequence[str], counts: _Counts) -> list[int]:
    """The indices of the samples to record: not made in the ledger, nor earlier in this
    part; the others are counted as skipped. Asked inside the append's write lock."""
    made = making_record_ids(ledger, sample_ids)
    kept = []
    for index, sample_id in enumerate(sample_ids):
        if sample_id in made:
            continue
        made.add(sample_id)  # a later row with the same content is a copy of this one
        kept.append(index)
    counts.skipped += len(sample_ids) - len(kept)
    return kept


@dataclass
class _Counts:
    skipped: int = 0
    bad: int = 0


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
