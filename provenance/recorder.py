"""The Recorder: turns samples into signed lineage records, appended in batches.

It writes to anything with `append(records, contents)` and a `key_id` (the ledger is one), so
provenance never imports the ledger. Records are buffered and handed over `batch_size` at a
time, each batch with the sample rows it names; whatever was handed to the recorder is appended
when it closes, even when the block it guards raises.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from synthguard.provenance.errors import InputError
from synthguard.provenance.reader import Row
from synthguard.provenance.record import Event, Generator, LineageRecord, Origin, Source, utc_now
from synthguard.provenance.sample import Sample

DEFAULT_BATCH_SIZE = 512


class Appender(Protocol):
    """Where records go: the ledger, or anything else that signs and keeps them."""

    @property
    def key_id(self) -> str:
        """The key id that records must name as their signer."""
        ...

    def append(
        self,
        records: Sequence[LineageRecord],
        contents: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> object:
        """Append a batch of records, with the content of the samples they name."""
        ...


class Recorder:
    """Buffers lineage records for samples and appends them in batches.

    Depth: 0 for human or imported samples; for a generated sample, 1 + the largest depth of its
    parents, looked up among the records this recorder made, else in `parent_depths`.
    """

    def __init__(
        self,
        ledger: Appender,
        *,
        run_id: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        parent_depths: Mapping[str, int] | None = None,
        track_depths: bool = True,
    ) -> None:
        if batch_size < 1:
            raise InputError(f"batch size must be at least 1, not {batch_size}")
        self.ledger = ledger
        self.run_id = run_id or uuid.uuid4().hex
        self.batch_size = batch_size
        self.parent_depths: Mapping[str, int] = parent_depths or {}
        self.track_depths = track_depths
        self.appended = 0
        self._signer = ledger.key_id
        self._records: list[LineageRecord] = []
        self._contents: dict[str, dict[str, Any]] = {}
        self._depths: dict[str, int] = {}

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # On an error too: what was handed over is kept, then the error goes on up.
        self.flush()

    @property
    def pending(self) -> int:
        """Records buffered and not yet appended."""
        return len(self._records)

    def generated(
        self,
        sample: Sample,
        generator: Generator,
        *,
        parents: Iterable[str] = (),
        sources: Iterable[Source] = (),
        prompt_digest: str | None = None,
        origin: Origin = Origin.SYNTHETIC,
        detail: Mapping[str, Any] | None = None,
    ) -> LineageRecord:
        """Record that `generator` produced `sample` (from `parents`, if any)."""
        parent_ids = list(parents)
        depth = 1 + max((self._depth_of(parent) for parent in parent_ids), default=0)
        return self._add(
            sample,
            event=Event.GENERATED,
            origin=origin,
            generator=generator,
            prompt_digest=prompt_digest,
            parents=parent_ids,
            depth=depth,
            sources=list(sources),
            detail=dict(detail or {}),
        )

    def imported(
        self,
        sample: Sample,
        *,
        origin: Origin = Origin.HUMAN,
        sources: Iterable[Source] = (),
        generator: Generator | None = None,
    ) -> LineageRecord:
        """Record that `sample` entered from outside (a human-written set, a public dataset)."""
        return self._add(
            sample,
            event=Event.IMPORTED,
            origin=origin,
            generator=generator,
            prompt_digest=None,
            parents=[],
            depth=0,
            sources=list(sources),
            detail={},
        )

    def flush(self) -> None:
        """Append every buffered record now, as one batch."""
        if not self._records:
            return
        records, contents = self._records, self._contents
        self._records, self._contents = [], {}
        self.ledger.append(records, contents)
        self.appended += len(records)

    def _depth_of(self, parent: str) -> int:
        depth = self._depths.get(parent)
        if depth is None:
            depth = self.parent_depths.get(parent)
        if depth is None:
            raise InputError(
                f"parent {parent} was not recorded by this recorder and has no depth in "
                "parent_depths"
            )
        return depth

    def _add(
        self,
        sample: Sample,
        *,
        event: Event,
        origin: Origin,
        generator: Generator | None,
        prompt_digest: str | None,
        parents: list[str],
        depth: int,
        sources: list[Source],
        detail: dict[str, Any],
    ) -> LineageRecord:
        record = LineageRecord(
            event=event,
            sample_id=sample.id,
            digest=sample.digest,
            origin=origin,
            generator=generator,
            prompt_digest=prompt_digest,
            parents=parents,
            depth=depth,
            sources=sources,
            run_id=self.run_id,
            time=utc_now(),
            signer=self._signer,
            detail=detail,
        )
        self._records.append(record)
        self._contents[sample.id] = sample.row
        if self.track_depths:
            # The first depth seen for a sample stays: the one its children were built on.
            self._depths.setdefault(sample.id, depth)
        if len(self._records) >= self.batch_size:
            self.flush()
        return record


@dataclass
class RecordSummary:
    """What `record_rows` did: how many samples it recorded, and the rows it could not read."""

    recorded: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Rows seen, good and bad."""
        return self.recorded + len(self.bad)


def record_rows(
    rows: Iterable[Row],
    recorder: Recorder,
    generator: Generator | None,
    origin: Origin,
) -> RecordSummary:
    """Record one lineage record per good row; collect bad rows by number without stopping.

    Synthetic and hybrid rows are `generated` by `generator` (depth 1); human rows are
    `imported` (depth 0), naming `generator` too when one is given.
    """
    if generator is None and origin is not Origin.HUMAN:
        raise InputError(f"{origin.value} samples need a generator (its name and model)")
    summary = RecordSummary()
    for row in rows:
        if row.sample is None:
            summary.bad.append((row.number, row.error or "unreadable row"))
            continue
        if origin is Origin.HUMAN:
            recorder.imported(row.sample, origin=origin, generator=generator)
        else:
            assert generator is not None
            recorder.generated(row.sample, generator, origin=origin)
        summary.recorded += 1
    return summary
