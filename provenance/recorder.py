"""The Recorder: turns samples into signed lineage records and hands them to the ledger.

It writes to anything with `append(records, contents)` and a `key_id` (the ledger is one), so
provenance never imports the ledger. One record per event: `generated`, `imported`,
`critiqued` (a critic's score or preference pair), `revised` (critique -> revision) and
`reviewed` (a human verdict).

Depth: 0 for imported samples; 1 + the largest parent depth for generated and revised ones; a
critique or review has the depth of the sample it judges. A parent's depth comes from this
recorder's memory, else `parent_depths`, else the ledger (when the appender has `depth_of`).

Durability, by `mode`:
- "durable" (the default): a record is committed before the call that made it returns.
  Inside `with recorder.batch():` the records are committed together when the block ends (and
  every `batch_size` records), one transaction per batch. Async callers (`commit_async`,
  `async with recorder.batch()`, async functions under `track`) await the append on the
  recorder's own writer thread, so the event loop never waits on the database; records that
  concurrent tasks hand over while an append runs share the next transaction.
- "buffered": records go to one background thread that appends every `batch_size` records or
  every `flush_interval` seconds, whichever comes first. The window: a crash loses only records
  not yet committed, which are at most the last 2 x batch_size handed over (a caller waits
  while a full batch queues behind the one being appended; a list handed over at once, as a
  `track(batch=True)` call does, can add up to its own length), all handed over within the last
  `flush_interval` seconds plus the time of two appends (the one in progress, then theirs).
  `flush()` waits for everything handed over; an error in the writer is raised by the next
  call, `flush()` or `close()`, never swallowed.
Either way a crash never leaves half a batch: an append is one transaction, and what was
committed verifies.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Protocol, cast

from pydantic import ValidationError

from synthguard.provenance.canonical import EncodedDict, canonical_json, digest, parse_digest
from synthguard.provenance.commit_thread import BackgroundWriter, GroupCommitter
from synthguard.provenance.errors import InputError, LedgerError
from synthguard.provenance.reader import Row
from synthguard.provenance.record import Event, Generator, LineageRecord, Origin, Source, utc_now
from synthguard.provenance.sample import (
    DEFAULT_MAPPING,
    FieldMapping,
    ParentLike,
    Sample,
    SampleLike,
    as_sample,
    parent_id,
)

DEFAULT_BATCH_SIZE = 512
DEFAULT_FLUSH_INTERVAL = 0.2
MODES = ("durable", "buffered")

Mode = Literal["durable", "buffered"]
Verdict = Literal["ok", "bad"]
SourceLike = Source | Mapping[str, Any]
Item = tuple[LineageRecord, Sample | None]
"""A prepared record and the sample whose content is stored with it (None: a record about a
sample the ledger holds already, whose content is not stored again)."""

# Depths remembered per recorder when the ledger can answer for the ones forgotten.
_DEPTH_MEMORY = 1 << 20
_VERDICTS = ("ok", "bad")


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


class _SyncingAppender(Protocol):
    def append(
        self,
        records: Sequence[LineageRecord],
        contents: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        durable: bool = False,
    ) -> object: ...


# The batches open in this thread or task, innermost last (any recorder's).
_OPEN_BATCHES: ContextVar[tuple[RecordBatch, ...]] = ContextVar(
    "synthguard_open_batches", default=()
)


class Recorder:
    """Makes one signed lineage record per event and appends it to the ledger.

    `fsync=True` (durable mode) also flushes each commit to disk, so it survives a power cut
    and not only a crash of the process, at the cost of an fsync per commit. `mapping` says
    which fields of a row hold the sample (rows given to any method are read with it).
    """

    def __init__(
        self,
        ledger: Appender,
        *,
        run_id: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        mode: Mode = "durable",
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        parent_depths: Mapping[str, int] | None = None,
        track_depths: bool = True,
        mapping: FieldMapping | None = None,
        fsync: bool = False,
    ) -> None:
        if batch_size < 1:
            raise InputError(f"batch size must be at least 1, not {batch_size}")
        if mode not in MODES:
            raise InputError(f"unknown recorder mode {mode!r}; one of: {', '.join(MODES)}")
        if not flush_interval > 0:
            raise InputError(f"flush interval must be above 0 seconds, not {flush_interval}")
        self.ledger = ledger
        self.run_id = run_id or uuid.uuid4().hex
        self.batch_size = batch_size
        self.mode: Mode = mode
        self.flush_interval = flush_interval
        self.parent_depths: Mapping[str, int] = parent_depths or {}
        self.track_depths = track_depths
        self.mapping = mapping or DEFAULT_MAPPING
        self.fsync = fsync
        self._signer = ledger.key_id
        self._ledger_depth: Callable[[str], int | None] | None = getattr(ledger, "depth_of", None)
        self._ledger_depths: Callable[[list[str]], dict[str, int]] | None = getattr(
            ledger, "depths_of", None
        )
        self._depths: dict[str, int] = {}
        self._looked_up: dict[str, int] = {}
        # Ids a bulk look-up (`prefetch_depths`) found nowhere in the ledger: `depth_of` does
        # not ask again, one query per sample, about them. A snapshot, like any read: a sample
        # another writer records later is learnt by the next bulk look-up.
        self._absent: set[str] = set()
        self._seeded: dict[tuple[int, int], tuple[Generator, Generator]] = {}
        self._lock = threading.Lock()
        self._appended = 0
        self._closed = False
        self._process = os.getpid()
        self._executor: ThreadPoolExecutor | None = None
        self._committer: GroupCommitter[Item] | None = None
        self._writer: BackgroundWriter[Item] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        if mode == "buffered":
            self._writer = BackgroundWriter(
                self._append, batch_size=batch_size, interval=flush_interval
            )
            # A recorder left open still commits what it was handed when the program exits
            # (its writer thread keeps it alive until then).
            self._finalizer = weakref.finalize(self, self._writer.close)

    # -- context -----------------------------------------------------------------------------

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # On an error too: what was handed over is kept, then the error goes on up (a failed
        # writer's error, already on its way up, is not raised a second time).
        if exc is not None and exc is self.error:
            self._shut_down()
            return
        self.close()

    async def __aenter__(self) -> Recorder:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is not None and exc is self.error:
            await asyncio.to_thread(self._shut_down)
            return
        await self.aclose()

    @property
    def appended(self) -> int:
        """Records committed so far."""
        return self._appended

    def note_appended(self, count: int) -> None:
        """Count `count` records that a caller built here (`prepare_*`), had signed elsewhere
        and appended to this recorder's ledger itself, as a screen's forked workers do."""
        with self._lock:
            self._appended += count

    @property
    def error(self) -> BaseException | None:
        """The error that stopped the background writer (buffered mode), if any."""
        return self._writer.error if self._writer is not None else None

    @property
    def pending(self) -> int:
        """Records made and not yet committed (in open batches, or waiting for the writer)."""
        waiting = sum(len(batch.items) for batch in _OPEN_BATCHES.get() if batch.recorder is self)
        return waiting + (self._writer.pending if self._writer is not None else 0)

    def batch(self) -> RecordBatch:
        """Gather the records made inside `with` / `async with` and commit them together."""
        return RecordBatch(self)

    # -- events ------------------------------------------------------------------------------

    def generated(
        self,
        sample: SampleLike,
        generator: Generator,
        *,
        parents: Iterable[ParentLike] | ParentLike = (),
        sources: Iterable[SourceLike] | SourceLike = (),
        prompt_digest: str | None = None,
        seed: int | None = None,
        origin: Origin = Origin.SYNTHETIC,
        detail: Mapping[str, Any] | None = None,
    ) -> LineageRecord:
        """Record that `generator` produced `sample` (from `parents`, if any)."""
        item = self.prepare_generated(
            sample,
            generator,
            parents=parents,
            sources=sources,
            prompt_digest=prompt_digest,
            seed=seed,
            origin=origin,
            detail=detail,
        )
        self.commit([item])
        return item[0]

    def imported(
        self,
        sample: SampleLike,
        *,
        origin: Origin = Origin.HUMAN,
        sources: Iterable[SourceLike] | SourceLike = (),
        generator: Generator | None = None,
    ) -> LineageRecord:
        """Record that `sample` entered from outside (a human-written set, a public dataset)."""
        item = self._item(
            as_sample(sample, self.mapping),
            event=Event.IMPORTED,
            origin=origin,
            generator=_generator(generator) if generator is not None else None,
            parents=[],
            depth=0,
            sources=as_sources(sources),
        )
        self.commit([item])
        return item[0]

    def critiqued(
        self,
        sample: SampleLike,
        critic: Generator,
        *,
        score: float | None = None,
        critique: str | None = None,
        chosen: ParentLike | None = None,
        rejected: ParentLike | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> LineageRecord:
        """Record a critic's verdict on `sample`: a score and/or a preference pair.

        The record names the pair's ids and the critique text's digest (never the text); its
        parents are the sample and the pair; its depth is the sample's (a critique makes no
        new sample).
        """
        subject = as_sample(sample, self.mapping)
        facts: dict[str, Any] = {}
        if score is not None:
            facts["score"] = _score(score)
        if (chosen is None) != (rejected is None):
            raise InputError("a preference pair needs both chosen and rejected")
        if chosen is not None and rejected is not None:
            facts["chosen"] = parent_id(chosen, self.mapping)
            facts["rejected"] = parent_id(rejected, self.mapping)
        if critique is not None:
            facts["critique_digest"] = text_digest(critique, "critique")
        if not facts:
            raise InputError("a critique needs a score, a preference pair or a critique text")
        parents = list(dict.fromkeys([subject.id, facts.get("chosen"), facts.get("rejected")]))
        item = self._item(
            subject,
            event=Event.CRITIQUED,
            origin=Origin.SYNTHETIC,
            generator=_generator(critic),
            parents=[parent for parent in parents if parent is not None],
            depth=self._depth(subject.id, "critiqued sample"),
            detail=_merge(facts, detail),
        )
        self.commit([item])
        return item[0]

    def revised(
        self,
        revision: SampleLike,
        original: ParentLike,
        reviser: Generator,
        *,
        critique: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> LineageRecord:
        """Record that `reviser` rewrote `original` into `revision` (after `critique`, if any)."""
        sample = as_sample(revision, self.mapping)
        original_id = parent_id(original, self.mapping)
        facts = {} if critique is None else {"critique_digest": text_digest(critique, "critique")}
        item = self._item(
            sample,
            event=Event.REVISED,
            origin=Origin.SYNTHETIC,
            generator=_generator(reviser),
            parents=[original_id],
            depth=1 + self._depth(original_id, "original"),
            detail=_merge(facts, detail),
        )
        self.commit([item])
        return item[0]

    def reviewed(
        self,
        sample: SampleLike,
        *,
        reviewer: str,
        verdict: Verdict,
        note: str | None = None,
    ) -> LineageRecord:
        """Record a human's verdict on `sample`: "ok" or "bad", with an optional note."""
        facts = _verdict_facts(verdict, reviewer, note)
        subject = as_sample(sample, self.mapping)
        item = self._item(
            subject,
            event=Event.REVIEWED,
            origin=Origin.HUMAN,
            generator=None,
            parents=[subject.id],
            depth=self._depth(subject.id, "reviewed sample"),
            detail=_merge(facts, None),
        )
        self.commit([item])
        return item[0]

    def reviewed_stored(
        self, sample_id: str, row_digest: str, *, detail: Mapping[str, Any]
    ) -> LineageRecord:
        """Record a `reviewed` record about a sample the ledger holds, named by its id and row
        digest: its content is not needed (it may be erased) and is not stored again.

        `detail` holds a verdict (`verdict`, `reviewer`, an optional `note`, checked as
        `reviewed` checks them) or, without a verdict, a review draw's selection of the sample.
        """
        record = self.prepare_reviewed_stored(sample_id, row_digest, detail=detail)
        self.commit([(record, None)])
        return record

    def prepare_reviewed_stored(
        self, sample_id: str, row_digest: str, *, detail: Mapping[str, Any]
    ) -> LineageRecord:
        """Build the record `reviewed_stored` commits, without committing it (for a caller that
        appends it under a condition of its own, and counts it with `note_appended`)."""
        for value, what in ((sample_id, "sample id"), (row_digest, "row digest")):
            if not isinstance(value, str):
                raise InputError(f"{what} must be a string, not {type(value).__name__}")
            _check_digest(value, what)
        facts = _merge({}, detail)
        if "verdict" in facts:
            _verdict_facts(facts["verdict"], facts.get("reviewer"), facts.get("note"))
        self._check_open()
        return LineageRecord(
            event=Event.REVIEWED,
            sample_id=sample_id,
            digest=row_digest,
            origin=Origin.HUMAN,
            parents=[sample_id],
            depth=self._depth(sample_id, "reviewed sample"),
            run_id=self.run_id,
            time=utc_now(),
            signer=self._signer,
            detail=facts,
        )

    def screened(self, sample: SampleLike, *, detail: Mapping[str, Any]) -> LineageRecord:
        """Record what the guards said about `sample` (its outcome and verdicts in `detail`).

        The depth repeats the sample's known depth, or 0 for a sample with no lineage here
        (then `detail` should say so): screening is not a generation.
        """
        item = self.prepare_screened(sample, detail=detail)
        self.commit([item])
        return item[0]

    def prepare_screened(
        self, sample: SampleLike, *, detail: Mapping[str, Any], depth: int | None = None
    ) -> Item:
        """Build the `screened` record of `sample` without committing it; `depth` as the
        caller looked it up (`prefetch_depths`, then `depth_of`), else looked up here."""
        subject = as_sample(sample, self.mapping)
        if depth is None:
            depth = self.depth_of(subject.id) or 0
        return self._item(
            subject,
            event=Event.SCREENED,
            origin=Origin.SYNTHETIC,
            generator=None,
            parents=[],
            depth=depth,
            detail=_merge({}, detail),
        )

    def released(
        self,
        sample: SampleLike,
        *,
        release: str,
        manifest: str,
        origin: Origin = Origin.SYNTHETIC,
        detail: Mapping[str, Any] | None = None,
    ) -> LineageRecord:
        """Record that `sample` went out in the release `release`, whose signed manifest file
        has the digest `manifest`; `origin` repeats the sample's (a release makes nothing)."""
        if not isinstance(release, str) or not release.strip():
            raise InputError("a release needs a name")
        subject = as_sample(sample, self.mapping)
        item = self._item(
            subject,
            event=Event.RELEASED,
            origin=origin,
            generator=None,
            parents=[],
            depth=self.depth_of(subject.id) or 0,
            detail=_merge(
                {"release": release, "manifest": _check_digest(manifest, "manifest")}, detail
            ),
        )
        self.commit([item])
        return item[0]

    # -- the middleware's lower level: prepare now, commit when it suits ----------------------

    def prepare_generated(
        self,
        sample: SampleLike,
        generator: Generator,
        *,
        parents: Iterable[ParentLike] | ParentLike = (),
        sources: Iterable[SourceLike] | SourceLike = (),
        prompt_digest: str | None = None,
        seed: int | None = None,
        origin: Origin = Origin.SYNTHETIC,
        detail: Mapping[str, Any] | None = None,
    ) -> Item:
        """Build (and check) the `generated` record of `sample` without committing it.

        Pass the result to `commit` or `commit_async`; nothing is remembered until then.
        """
        parent_ids = self.parent_ids(parents)
        return self._item(
            as_sample(sample, self.mapping),
            event=Event.GENERATED,
            origin=origin,
            generator=self._with_seed(_generator(generator), seed),
            prompt_digest=_check_digest(prompt_digest, "prompt_digest"),
            parents=parent_ids,
            depth=1 + max((self._depth(parent) for parent in parent_ids), default=0),
            sources=as_sources(sources),
            detail=_merge({}, detail),
        )

    def parent_ids(self, parents: Iterable[ParentLike] | ParentLike) -> list[str]:
        """The sample ids that parents name (ids, Samples or rows; one or many)."""
        if isinstance(parents, str | Sample | Mapping):
            return [parent_id(parents, self.mapping)]
        return [parent_id(parent, self.mapping) for parent in parents]

    def commit(self, items: Sequence[Item]) -> None:
        """Commit prepared records as one batch (durable), or hand them to the writer; inside
        `with recorder.batch():` they join that batch instead."""
        batch = self._open_batch()
        if batch is not None:
            batch.add(items)
        else:
            self._commit_now(items)

    def _commit_now(self, items: Sequence[Item]) -> None:
        self._check_committable()
        if not items:
            return
        if self._writer is not None:
            self._remember(items)
            self._writer.put(items)
            return
        self._append(items)
        self._remember(items)

    async def commit_async(self, items: Sequence[Item]) -> None:
        """Like `commit`, without blocking the event loop: the append runs on the recorder's
        writer thread (durable), or the hand-over waits there when the writer is full."""
        batch = self._open_batch()
        if batch is not None:
            batch.add(items)
        else:
            await self._commit_now_async(items)

    async def _commit_now_async(self, items: Sequence[Item]) -> None:
        self._check_committable()
        if not items:
            return
        if self._writer is not None:
            self._remember(items)
            if not self._writer.put(items, block=False):
                await self._run_on_writer_thread(self._writer.put, items)
            return
        await self._group_committer().commit(items)
        self._remember(items)

    async def resolve_depths(self, sample_ids: Iterable[str]) -> None:
        """Look up, off the event loop, the depths the ledger holds for ids this recorder does
        not know yet, so that preparing their children reads no database."""
        unknown = self._unknown(sample_ids)
        if unknown:
            self._learn(await self._run_on_writer_thread(lambda: self._look_up(unknown)), unknown)

    def prefetch_depths(self, sample_ids: Iterable[str]) -> None:
        """Look up in one go the depths the ledger holds for ids this recorder does not know
        yet, so that recording many events about existing samples reads the ledger once."""
        unknown = self._unknown(sample_ids)
        if unknown:
            self._learn(self._look_up(unknown), unknown)

    def _unknown(self, sample_ids: Iterable[str]) -> list[str]:
        if self._ledger_depth is None and self._ledger_depths is None:
            return []
        return [sid for sid in dict.fromkeys(sample_ids) if self._known_depth(sid) is None]

    def _look_up(self, unknown: list[str]) -> dict[str, int]:
        if self._ledger_depths is not None:
            return self._ledger_depths(unknown)
        assert self._ledger_depth is not None
        found = {sid: self._ledger_depth(sid) for sid in unknown}
        return {sid: depth for sid, depth in found.items() if depth is not None}

    def _learn(self, depths: Mapping[str, int], asked: list[str]) -> None:
        if len(self._looked_up) + len(depths) > _DEPTH_MEMORY:
            self._looked_up.clear()
        self._looked_up.update(depths)
        self._absent.difference_update(depths)
        absent = [sid for sid in asked if sid not in depths]
        if len(self._absent) + len(absent) > _DEPTH_MEMORY:
            self._absent.clear()
        self._absent.update(absent)

    # -- flushing and closing ----------------------------------------------------------------

    def flush(self) -> None:
        """Commit what this thread's open batches hold, and wait until every record handed
        over is committed; raise the writer's error, if it failed."""
        self._check_committable()
        for batch in _OPEN_BATCHES.get():
            if batch.recorder is self and batch.items:
                items, batch.items = batch.items, []
                self._commit_now(items)
        if self._writer is not None:
            self._writer.flush()
        elif self._executor is not None:
            self._executor.submit(lambda: None).result()

    async def aflush(self) -> None:
        """`flush` without blocking the event loop."""
        self._check_committable()
        for batch in _OPEN_BATCHES.get():
            if batch.recorder is self and batch.items:
                items, batch.items = batch.items, []
                await self._commit_now_async(items)
        if self._writer is not None:
            await self._run_on_writer_thread(self._writer.flush)
        elif self._executor is not None:
            # The writer thread runs jobs in order: once this one runs, earlier commits are done.
            await self._run_on_writer_thread(lambda: None)

    def close(self) -> None:
        """Commit everything handed over and stop the writer thread; later records are refused.

        Raises the writer's error, if it failed. Closing twice is harmless.
        """
        if self._closed:
            self._writer_raise()
            return
        try:
            self.flush()
        finally:
            self._shut_down()
        self._writer_raise()

    async def aclose(self) -> None:
        """`close` without blocking the event loop."""
        await asyncio.to_thread(self.close)

    # -- internals ---------------------------------------------------------------------------

    def _shut_down(self) -> None:
        self._closed = True
        if self._finalizer is not None:
            self._finalizer.detach()
        if self._writer is not None:
            # An error stays in the writer: _writer_raise reports it.
            with contextlib.suppress(BaseException):
                self._writer.close()
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    def _writer_raise(self) -> None:
        error = self.error
        if error is not None:
            raise error

    def _check_open(self) -> None:
        if self._closed:
            raise LedgerError("this recorder is closed; make a new one to record more")
        self._writer_raise()

    def _check_committable(self) -> None:
        """`_check_open`, and this is the process the recorder was made in. A forked copy may
        prepare records (the screen's workers do, and sign them), never commit them: it has no
        writer thread (buffered: the records would be lost) and shares the parent's database
        connection (durable), which SQLite forbids."""
        self._check_open()
        if os.getpid() != self._process:
            raise LedgerError(
                f"this recorder was made in process {self._process}, not in this one "
                f"({os.getpid()}): a forked worker cannot record through it; return the "
                "samples to that process, or open the ledger and make a Recorder in the worker"
            )

    def _open_batch(self) -> RecordBatch | None:
        for batch in reversed(_OPEN_BATCHES.get()):
            if batch.recorder is self:
                return batch
        return None

    def _append(self, items: Sequence[Item]) -> None:
        records = [record for record, _ in items]
        contents = {sample.id: sample.row for _, sample in items if sample is not None}
        if self.fsync:
            cast(_SyncingAppender, self.ledger).append(records, contents, durable=True)
        else:
            self.ledger.append(records, contents)
        with self._lock:
            self._appended += len(records)

    def _group_committer(self) -> GroupCommitter[Item]:
        if self._committer is None:
            self._committer = GroupCommitter(
                self._thread_pool(), self._append, batch_size=self.batch_size
            )
        return self._committer

    def _thread_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="synthguard-recorder")
            return self._executor

    async def _run_on_writer_thread(self, function: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread_pool(), function, *args)

    def _remember(self, items: Iterable[Item]) -> None:
        if not self.track_depths:
            return
        depths = self._depths
        for record, _ in items:
            if record.sample_id not in depths:
                # The first depth seen for a sample stays: the one its children were built on.
                depths[record.sample_id] = record.depth
                if len(depths) > _DEPTH_MEMORY and self._ledger_depth is not None:
                    del depths[next(iter(depths))]

    def _known_depth(self, sample_id: str) -> int | None:
        depth = self._depths.get(sample_id)
        if depth is None:
            depth = self.parent_depths.get(sample_id)
        if depth is None:
            depth = self._looked_up.get(sample_id)
        return depth

    def depth_of(self, sample_id: str) -> int | None:
        """The depth of a sample from this recorder's memory, `parent_depths` or the ledger;
        None when none of them knows it."""
        depth = self._known_depth(sample_id)
        if depth is None and self._ledger_depth is not None and sample_id not in self._absent:
            depth = self._ledger_depth(sample_id)
            if depth is not None:
                if len(self._looked_up) >= _DEPTH_MEMORY:
                    self._looked_up.clear()
                self._looked_up[sample_id] = depth
        return depth

    def _depth(self, sample_id: str, role: str = "parent") -> int:
        depth = self.depth_of(sample_id)
        if depth is None:
            raise InputError(unknown_depth(sample_id, role))
        return depth

    def _with_seed(self, generator: Generator, seed: int | None) -> Generator:
        if seed is None or seed == generator.seed:
            return generator
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InputError(f"seed must be an integer, not {type(seed).__name__}")
        key = (id(generator), seed)
        cached = self._seeded.get(key)
        if cached is not None and cached[0] is generator:
            return cached[1]
        seeded = generator.model_copy(update={"seed": seed})
        _check_json(seeded.model_dump(mode="json"), "seed")
        if len(self._seeded) >= 1024:
            self._seeded.clear()
        # The entry keeps the generator alive, so its id cannot be reused while cached.
        self._seeded[key] = (generator, seeded)
        return seeded

    def _item(
        self,
        sample: Sample,
        *,
        event: Event,
        origin: Origin,
        generator: Generator | None,
        parents: list[str],
        depth: int,
        prompt_digest: str | None = None,
        sources: list[Source] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> Item:
        self._check_open()
        # What is stored under the record's digest is the row as it is now: a caller may go on
        # changing the row it holds (a buffered or batched commit stores it later).
        sample = sample.detached()
        record = LineageRecord(
            event=event,
            sample_id=sample.id,
            digest=sample.digest,
            kind=sample.kind,
            origin=origin,
            generator=generator,
            prompt_digest=prompt_digest,
            parents=parents,
            depth=depth,
            sources=sources or [],
            run_id=self.run_id,
            time=utc_now(),
            signer=self._signer,
            detail=detail or {},
        )
        return record, sample


class RecordBatch:
    """The records made inside `with recorder.batch():`, committed together.

    They are committed when the block ends, even when it raises (each was made by a call
    that returned), and every `batch_size` records on the way. Under `async with`, the commits
    are awaited on the recorder's writer thread. Batches are per thread and per asyncio task;
    a batch opened inside another hands its records to the outer one.
    """

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.items: list[Item] = []
        self._async = False
        self._futures: list[asyncio.Future[None]] = []

    def add(self, items: Sequence[Item]) -> None:
        """Take records into the batch; commit them once `batch_size` are waiting."""
        self.recorder._check_committable()
        self.items.extend(items)
        self.recorder._remember(items)
        if len(self.items) < self.recorder.batch_size:
            return
        full, self.items = self.items, []
        if not self._async:
            self.recorder._commit_now(full)
        elif self.recorder._writer is not None:
            # A buffered hand-over blocks only when the writer is full; the exit waits then.
            if not self.recorder._writer.put(full, block=False):
                self.items = full
        else:
            self._futures.append(self.recorder._group_committer().submit(full))

    def __enter__(self) -> RecordBatch:
        _OPEN_BATCHES.set((*_OPEN_BATCHES.get(), self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        items = self._leave()
        outer = self.recorder._open_batch()
        if outer is not None:
            outer.add(items)
        else:
            self.recorder._commit_now(items)

    async def __aenter__(self) -> RecordBatch:
        self._async = True
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        items = self._leave()
        outer = self.recorder._open_batch()
        futures, self._futures = self._futures, []
        if outer is not None:
            outer.add(items)
        else:
            await self.recorder.commit_async(items)
        for future in futures:
            await future

    def _leave(self) -> list[Item]:
        _OPEN_BATCHES.set(tuple(batch for batch in _OPEN_BATCHES.get() if batch is not self))
        items, self.items = self.items, []
        return items


def unknown_depth(sample_id: str, role: str = "parent") -> str:
    """The message for a sample whose depth nobody knows."""
    return (
        f"{role} {sample_id} has no depth: it was not recorded by this recorder and is in "
        "neither parent_depths nor the ledger"
    )


def text_digest(text: object, what: str) -> str:
    """Return the digest of a text's UTF-8 bytes; InputError naming `what` if it has none."""
    if not isinstance(text, str):
        raise InputError(f"{what} must be a string, not {type(text).__name__}")
    try:
        return digest(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InputError(f"{what} contains a lone surrogate (not valid UTF-8)") from None


def _verdict_facts(verdict: object, reviewer: object, note: object) -> dict[str, Any]:
    if verdict not in _VERDICTS:
        raise InputError(f"verdict must be one of {', '.join(_VERDICTS)}, not {verdict!r}")
    if not isinstance(reviewer, str) or not reviewer.strip():
        raise InputError("reviewer must name who reviewed the sample")
    if note is not None and not isinstance(note, str):
        raise InputError("note must be a string")
    facts: dict[str, Any] = {"reviewer": reviewer, "verdict": verdict}
    if note is not None:
        facts["note"] = note
    return facts


def _generator(value: object) -> Generator:
    if isinstance(value, Generator):
        return value
    raise InputError(f"a generator is a synthguard Generator, not {type(value).__name__}")


def _score(value: object) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"score must be a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise InputError(f"score must be a finite number, not {value}")
    return value


def _check_digest(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    try:
        parse_digest(value)
    except InputError:
        raise InputError(f"{what} is not a sha256 digest: {value!r}") from None
    return value


def _check_json(value: object, what: str) -> None:
    try:
        canonical_json(value)
    except InputError as exc:
        raise InputError(f"{what} is not JSON: {exc}") from None


def _merge(facts: dict[str, Any], detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """The record's detail: the event's facts and the caller's, checked to be JSON here, where
    a fault is the caller's (encoded now, and not again when the record is signed)."""
    if detail:
        if not isinstance(detail, Mapping):
            raise InputError(f"detail must be a mapping, not {type(detail).__name__}")
        clash = sorted(set(facts) & set(detail))
        if clash:
            raise InputError(f"detail may not set {', '.join(clash)}: the event sets them")
        facts = {**facts, **detail}
    if not facts:
        return facts
    try:
        return EncodedDict(facts)
    except InputError as exc:
        raise InputError(f"detail is not JSON: {exc}") from None


def as_sources(values: Iterable[SourceLike] | SourceLike | None) -> list[Source]:
    """Return Source objects for sources given as Sources or mappings (one or many)."""
    if values is None:
        return []
    if isinstance(values, Source | Mapping):
        values = [values]
    sources = []
    for i, value in enumerate(values):
        if isinstance(value, Source):
            sources.append(value)
            continue
        if not isinstance(value, Mapping):
            raise InputError(f"source {i} must be a Source or a mapping, not {type(value)}")
        try:
            sources.append(Source.model_validate(dict(value)))
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            raise InputError(f"source {i}: {where}: {problem['msg']}") from None
    return sources


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
    `imported` (depth 0), naming `generator` too when one is given. The records are committed
    `batch_size` at a time.
    """
    if generator is None and origin is not Origin.HUMAN:
        raise InputError(f"{origin.value} samples need a generator (its name and model)")
    summary = RecordSummary()
    with recorder.batch():
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
