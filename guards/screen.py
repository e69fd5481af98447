"""The screen: every input row through the guards, into accepted or quarantined, nothing lost.

The guards run as a funnel in a fixed order (the caller's list: by default unicode, exact and
near duplicates, contamination, backdoor, toxicity); a per-row guard sees only the samples that
every earlier guard let through, so the per-guard counts add up (in = kept + quarantined). A
dataset-level guard (one with `finish`, `verdict.DatasetGuard`) is given every readable row
instead: its statistics are about the dataset, and a poisoning cluster whose members an earlier
guard stopped in part (dedup keeps the first of a cluster of near copies) must still be seen,
and reported, whole. Its verdicts land on every row they concern, beside the earlier guards'.
Its funnel counts stay those of the funnel (`FamilyCount`), with what it found among rows
already stopped counted apart. A row that cannot be read as a sample is quarantined by the
`input` guard with its reason. Each sample's outcome and verdicts become one signed `screened`
record.

The screen streams: rows are read and screened a block (`BLOCK` samples) at a time, and wait
on disk (`synthguard.guards.spill`) until the dataset-level guards have given their last
verdicts; the outputs and the records are then written from there. Memory holds a block, the
guards' own state and the per-sample facts noted below, never the input.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthguard.guards.errors import GuardError
from synthguard.guards.spill import Spill
from synthguard.guards.verdict import Guard, GuardInfo, Verdict
from synthguard.ledger.log import (
    Ledger,
    SignedBatch,
    content_row,
    making_record_ids,
    unsigned_entry,
)
from synthguard.provenance.canonical import EncodedList, digest
from synthguard.provenance.engine import Forked, cores
from synthguard.provenance.gc_pause import collection_paused
from synthguard.provenance.named_file import writing
from synthguard.provenance.reader import Row
from synthguard.provenance.recorder import Item, Recorder
from synthguard.provenance.sample import (
    DEFAULT_MAPPING,
    FieldMapping,
    Sample,
    output_row,
    unread_fields,
)

if TYPE_CHECKING:
    from synthguard.ledger.log import Ledger


INPUT_GUARD = GuardInfo.of("input", "reader", "1", {"formats": ["jsonl", "parquet", "hf"]})
BATCH = 1024
"""Samples per `check` call. The batches are the same whatever runs them (`Checks`), so a
guard whose findings depend on its batch (one verdict per distinct sample of a batch, a model
padding a batch) gives the same verdicts everywhere."""
BLOCK = 4 * BATCH
"""Samples screened together, guard after guard, before the next are read: the rows held in
memory at a time, and the parts the engine's workers prepare (`synthguard.guards.distributed`)."""

Progress = Callable[[int], None]
Checks = Callable[[Guard, list[list[Sample]]], Iterable[list[Verdict]]]
"""How a guard's batches are checked: `guard.check(batch)` for each batch, in order, or the
same verdicts made elsewhere (`synthguard.guards.distributed`)."""


def check_here(guard: Guard, batches: list[list[Sample]]) -> Iterator[list[Verdict]]:
    """`guard.check` of each batch in this process, one after the other, as they are asked for."""
    return (guard.check(batch) for batch in batches)


@dataclass
class Screened:
    """One input row and what became of it."""

    row: Row
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def quarantined(self) -> bool:
        """Whether any verdict failed (malformed rows carry a failed `input` verdict)."""
        return any(not verdict.passed for verdict in self.verdicts)

    def output(self) -> dict[str, Any]:
        """The output row: its `sample_id` (null for a row that is no sample) and the original
        fields (see `output_row`), plus `reasons` when quarantined."""
        raw, sample = self.row.raw, self.row.sample
        body: dict[str, Any]
        if sample is not None:
            # The sample's row: an output row read back is the row it was written from.
            body = output_row(sample.row, sample.id)
        elif isinstance(raw, dict):
            body = output_row(raw, None)
        else:
            body = output_row({"raw": raw, "line": self.row.number}, None)
        if self.quarantined:
            body["reasons"] = [v.reason() for v in self.verdicts if not v.passed]
        return body


@dataclass
class FamilyCount:
    """One guard's share of the funnel.

    `checked` is the rows that reached the guard with no failed verdict before it, and
    `quarantined` (by rule in `by_rule`) those of them it stopped: along the funnel, in = kept +
    quarantined. `seen` is the rows the guard was given: `checked` for a per-row guard, every
    readable row for a dataset-level one, which also flags rows an earlier guard had stopped:
    `also_flagged` (by rule in `also_by_rule`) counts those.
    """

    info: GuardInfo
    checked: int = 0
    quarantined: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    seen: int = 0
    also_flagged: int = 0
    also_by_rule: dict[str, int] = field(default_factory=dict)


class ScreenResult:
    """Every row's outcome, in input order, and the funnel counts per guard.

    The rows are on disk (`Spill`): iterating the result reads them back, one block in memory
    at a time, and gives each its verdicts (`settle`: a row's verdicts as the spill holds them,
    put in funnel order with the dataset-level guards' `finish` verdicts). `rows` (and
    `accepted`, `quarantined`) loads them all once and keeps them, for small screens and tests.
    `close` deletes the file (an unclosed result's file goes when it is collected).
    """

    def __init__(
        self,
        spill: Spill,
        funnel: list[FamilyCount],
        quarantined: int,
        settle: Callable[[Row, Any, int], list[Verdict]] | None = None,
    ) -> None:
        self._spill = spill
        self._settle = settle
        self.funnel = funnel
        self.size = spill.items
        """How many rows."""
        self.quarantined_count = quarantined
        self.accepted_count = spill.items - quarantined

    def __iter__(self) -> Iterator[Screened]:
        if self._settle is None:
            for row, verdicts in self._spill:
                yield Screened(row, verdicts)
            return
        settle, ordinal = self._settle, 0
        for row, held in self._spill:
            yield Screened(row, settle(row, held, ordinal))
            if row.sample is not None:
                ordinal += 1

    def __len__(self) -> int:
        return self.size

    @cached_property
    def rows(self) -> list[Screened]:
        """Every row, in memory (read once, then kept)."""
        return list(self)

    @property
    def accepted(self) -> list[Screened]:
        """Rows that passed every guard, in memory."""
        return [row for row in self.rows if not row.quarantined]

    @property
    def quarantined(self) -> list[Screened]:
        """Rows that some guard stopped, in memory."""
        return [row for row in self.rows if row.quarantined]

    def annotated(
        self, notes: Iterable[tuple[int, list[Verdict]]], folder: Path | None
    ) -> ScreenResult:
        """The same rows, with `notes` (passing verdicts for a row, by its ordinal, in row
        order) added to theirs."""

        def rows() -> Iterator[tuple[Row, list[Verdict]]]:
            pending = iter(notes)
            upcoming = next(pending, None)
            for ordinal, item in enumerate(self):
                verdicts = list(item.verdicts)
                while upcoming is not None and upcoming[0] == ordinal:
                    verdicts += upcoming[1]
                    upcoming = next(pending, None)
                yield item.row, verdicts
            if upcoming is not None:
                raise GuardError(f"a note for row {upcoming[0]}, which is not in row order")

        return ScreenResult(Spill.of(rows(), folder), self.funnel, self.quarantined_count)

    def close(self) -> None:
        """Delete the rows' file."""
        self._spill.close()


def blocks_of(rows: Iterable[Row]) -> Iterator[list[Row]]:
    """The rows in blocks of `BLOCK` samples; unreadable rows travel in their place, and a run
    of them is cut at `BLOCK` rows too, so a block's size is bounded whatever the input."""
    block: list[Row] = []
    samples = 0
    for row in rows:
        block.append(row)
        if row.sample is not None:
            samples += 1
        if samples == BLOCK or len(block) == BLOCK:
            yield block
            block, samples = [], 0
    if block:
        yield block


def screen_rows(
    rows: Iterable[Row],
    guards: Sequence[Guard],
    *,
    progress: Progress | None = None,
    spill_dir: Path | None = None,
) -> ScreenResult:
    """Run the funnel over the rows, a block at a time, in this process (see `screen_blocks`)."""
    return screen_blocks(
        ((block, check_here) for block in blocks_of(rows)),
        guards,
        progress=progress,
        spill_dir=spill_dir,
    )


def screen_blocks(
    blocks: Iterable[tuple[list[Row], Checks]],
    guards: Sequence[Guard],
    *,
    progress: Progress | None = None,
    spill_dir: Path | None = None,
) -> ScreenResult:
    """Run the funnel over each block (with its `Checks`: here, or the same verdicts made
    elsewhere), then give the dataset-level guards' `finish` verdicts to their rows.

    Memory holds one block, the guards' own state (the dedup index, the trigger statistics)
    and the `finish` verdicts; the rows wait on disk under `spill_dir` (see `Spill`). Per-row
    guards after a dataset-level guard check, block by block, every row not stopped so far;
    when its `finish` stops a row, the verdicts of the per-row guards after it are dropped
    from that row, so each row's verdicts and the funnel counts are those of a funnel that
    ran guard after guard over the whole input.
    """
    dataset = [callable(getattr(guard, "finish", None)) for guard in guards]
    given = [0] * len(guards)
    spill = Spill(spill_dir)
    source = iter(blocks)
    try:
        while True:
            # The collector runs between blocks, not inside one: a block's work makes tens of
            # thousands of objects that reference counting frees, and each collection walks
            # the guards' large state again; a cycle lives one block.
            with collection_paused():
                block = next(source, None)
                if block is None:
                    break
                rows, checks = block
                items = [_Pending(row) for row in rows]
                for item in items:
                    if item.row.sample is None:
                        item.add(0, _malformed(item.row))
                readable = [item for item in items if item.row.sample is not None]
                for number, guard in enumerate(guards):
                    if dataset[number]:
                        targets = readable
                    else:
                        targets = [item for item in readable if not item.stopped]
                    _check_block(guard, number + 1, targets, given[number], checks, progress)
                    given[number] += len(targets)
                for item in items:
                    spill.add((item.row, item.tagged))
        spill.seal()
        with collection_paused():
            finished = [
                _Finished(guard, guard.finish()) if dataset[number] else None  # type: ignore[attr-defined]
                for number, guard in enumerate(guards)
            ]
        return _settle(spill, guards, finished)
    except BaseException:
        spill.close()
        raise


@dataclass(slots=True)
class _Pending:
    """A row of the block being screened, and the verdicts so far, each under its guard's
    number (0 the input, then 1, 2, ... in funnel order)."""

    row: Row
    tagged: list[tuple[int, Verdict]] = field(default_factory=list)
    stopped: bool = False

    def add(self, number: int, verdict: Verdict) -> None:
        self.tagged.append((number, verdict))
        if not verdict.passed:
            self.stopped = True


def _malformed(row: Row) -> Verdict:
    return Verdict(
        sample_id=_row_id(row),
        guard=INPUT_GUARD,
        rule="malformed",
        passed=False,
        score=1.0,
        detail={"error": row.error or "unreadable row", "line": row.number},
    )


def _check_block(
    guard: Guard,
    number: int,
    targets: list[_Pending],
    given: int,
    checks: Checks,
    progress: Progress | None,
) -> None:
    """Give `targets` (the guard was given `given` samples before them) to the guard, in
    batches, and put each verdict on its rows: the one at its position, else every target of
    its batch with its sample id (a copy in another batch gets that batch's verdicts; given
    every batch's, it carried each of them once per batch)."""
    batches = [
        [_sample_of(item.row) for item in targets[start : start + BATCH]]
        for start in range(0, len(targets), BATCH)
    ]
    for start, batch, found in zip(
        range(0, len(targets), BATCH), batches, checks(guard, batches), strict=True
    ):
        by_id: dict[str, list[_Pending]] = {}
        for item in targets[start : start + BATCH]:
            by_id.setdefault(_sample_of(item.row).id, []).append(item)
        for verdict in found:
            if verdict.position is not None:
                at = verdict.position - given
                if not 0 <= at < len(targets) or _sample_of(targets[at].row).id != (
                    verdict.sample_id
                ):
                    raise GuardError(_misplaced(guard, verdict))
                hits = [targets[at]]
            else:
                hits = by_id.get(verdict.sample_id, [])
                if not hits:
                    raise GuardError(
                        f"guard {guard.info.name} gave a verdict for {verdict.sample_id}, "
                        "which is not in the batch it was given"
                    )
            for item in hits:
                item.add(number, verdict)
        if progress:
            progress(len(batch))


def _misplaced(guard: Guard, verdict: Verdict) -> str:
    return (
        f"guard {guard.info.name} gave a verdict for position {verdict.position} that names "
        "another sample"
    )


class _Finished:
    """A dataset-level guard's `finish` verdicts, found by position (the readable row's
    ordinal) or by sample id, each row's in the order `finish` gave them."""

    def __init__(self, guard: Guard, verdicts: list[Verdict]) -> None:
        self.guard = guard
        self.at: dict[int, list[tuple[int, Verdict]]] = {}
        self.by_id: dict[str, list[tuple[int, Verdict]]] = {}
        for order, verdict in enumerate(verdicts):
            if verdict.position is not None:
                self.at.setdefault(verdict.position, []).append((order, verdict))
            else:
                self.by_id.setdefault(verdict.sample_id, []).append((order, verdict))

    def of(self, ordinal: int, sample_id: str) -> list[Verdict]:
        """The verdicts on the `ordinal`-th readable row, whose sample is `sample_id`."""
        placed = self.at.get(ordinal, [])
        if any(verdict.sample_id != sample_id for _, verdict in placed):
            raise GuardError(_misplaced(self.guard, placed[0][1]))
        if not placed:
            return [verdict for _, verdict in self.by_id.get(sample_id, ())]
        return [verdict for _, verdict in sorted([*placed, *self.by_id.get(sample_id, ())])]

    def check_placed(self, readable: int) -> None:
        """GuardError if a verdict's position is beyond the `readable` rows."""
        for position, placed in self.at.items():
            if not 0 <= position < readable:
                raise GuardError(_misplaced(self.guard, placed[0][1]))


def _settle(
    spill: Spill, guards: Sequence[Guard], finished: list[_Finished | None]
) -> ScreenResult:
    """The result over `spill`'s rows: one pass counts the funnel and checks that every
    `finish` verdict found its row; each later pass puts each row's verdicts in funnel order,
    with the `finish` verdicts, as it reads the row (no second copy of the rows on disk)."""

    def counts() -> list[FamilyCount]:
        return [FamilyCount(INPUT_GUARD), *(FamilyCount(guard.info) for guard in guards)]

    funnel = counts()
    quarantined = 0
    ordinal = 0
    for row, tagged in spill:
        verdicts = _settled(row, tagged, funnel, finished, ordinal)
        if row.sample is not None:
            ordinal += 1
        quarantined += any(not verdict.passed for verdict in verdicts)
    for done in finished:
        if done is not None:
            done.check_placed(ordinal)

    def settle(row: Row, tagged: list[tuple[int, Verdict]], at: int) -> list[Verdict]:
        # The funnel was counted above; a pass's counts go to a scratch funnel.
        return _settled(row, tagged, scratch, finished, at)

    scratch = counts()
    return ScreenResult(spill, funnel, quarantined, settle)


def _settled(
    row: Row,
    tagged: list[tuple[int, Verdict]],
    funnel: list[FamilyCount],
    finished: list[_Finished | None],
    ordinal: int,
) -> list[Verdict]:
    """One row's verdicts, counted into `funnel` (see `FamilyCount`)."""
    by_guard: dict[int, list[Verdict]] = {}
    for number, verdict in tagged:
        by_guard.setdefault(number, []).append(verdict)
    funnel[0].checked += 1
    verdicts = by_guard.get(0, [])
    stopped = bool(verdicts)
    if stopped:
        _count(funnel[0], verdicts, stopped_before=False)
    if row.sample is None:
        return verdicts
    sample_id = row.sample.id
    for number, done in enumerate(finished, start=1):
        count = funnel[number]
        found = by_guard.get(number, [])
        if done is not None:
            found = found + done.of(ordinal, sample_id)
            count.seen += 1
        elif stopped:
            # Checked ahead, before a dataset-level guard's `finish` stopped the row: a funnel
            # guard after it never sees the row.
            continue
        if not stopped:
            count.checked += 1
        _count(count, found, stopped_before=stopped)
        verdicts += found
        stopped = stopped or any(not verdict.passed for verdict in found)
    return verdicts


def _count(count: FamilyCount, verdicts: list[Verdict], *, stopped_before: bool) -> None:
    """Count a row under the rule of its guard's first failed verdict, if any."""
    failed = next((verdict for verdict in verdicts if not verdict.passed), None)
    if failed is None:
        return
    if stopped_before:
        count.also_flagged += 1
        rules = count.also_by_rule
    else:
        count.quarantined += 1
        rules = count.by_rule
    rules[failed.rule] = rules.get(failed.rule, 0) + 1


def _sample_of(row: Row) -> Sample:
    assert row.sample is not None
    return row.sample


def _row_id(row: Row) -> str:
    raw = row.raw if isinstance(row.raw, str) else json.dumps(row.raw, sort_keys=True, default=str)
    return digest(raw.encode("utf-8", "replace"))


# One encoder for every output row: `json.dumps` with options builds one per call (half its
# time on a row of instruction-tuning length).
_OUTPUT_JSON = json.JSONEncoder(ensure_ascii=False, default=str, allow_nan=False)


def write_outputs(items: Iterable[Screened], out_dir: Path) -> tuple[Path, Path]:
    """Write accepted.jsonl and quarantined.jsonl; every row lands in exactly one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    accepted_path = out_dir / "accepted.jsonl"
    quarantined_path = out_dir / "quarantined.jsonl"
    # A full disk names no file: the folder is named (both files are on its file system).
    with (
        writing(out_dir),
        accepted_path.open("w", encoding="utf-8") as accepted,
        quarantined_path.open("w", encoding="utf-8") as quarantined,
    ):
        for item in items:
            out = quarantined if item.quarantined else accepted
            body = item.output()
            try:
                out.write(_OUTPUT_JSON.encode(body) + "\n")
            except UnicodeEncodeError:
                # A lone surrogate has no UTF-8: the row goes out escaped (\ud800), as it came
                # in, rather than being lost. A failed write writes nothing.
                out.write(json.dumps(_finite(body), default=str) + "\n")
            except ValueError:
                # NaN or an infinity (a Parquet cell; the row is quarantined for it): JSON has
                # no such number, so it goes out as the string Python spells it with.
                out.write(json.dumps(_finite(body), ensure_ascii=False, default=str) + "\n")
    return accepted_path, quarantined_path


def _finite(value: Any) -> Any:
    """`value` with each float JSON cannot hold (NaN, infinities) as its string."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


class Tally:
    """What signing a screen's records needs to know of its rows beforehand, noted in a pass
    the caller makes anyway (`watch` the rows as the outputs are written), or in a pass of its
    own (`of`).

    Rows are samples by content: `first` holds each sample's first row (by ordinal), `copies`
    the summaries of its later rows. With a ledger, `unmade` counts the readable rows that no
    making record accounts for (never generated, revised or imported under a key: provenance
    the screen cannot vouch for), one look-up per block of rows; asked before the screen's own
    records are signed, which are no making records and which the look-up would read back.
    `unread` counts, per field name, the rows holding fields outside their samples' content
    (`unread_fields`, read with `mapping`), which no guard reads.
    """

    def __init__(self, ledger: Ledger | None = None, mapping: FieldMapping | None = None) -> None:
        self.first: dict[str, int] = {}
        self.copies: dict[str, list[dict[str, Any]]] = {}
        self.unmade = 0
        self.unread: Counter[str] = Counter()
        self._ledger = ledger
        self._mapping = mapping or DEFAULT_MAPPING
        self._ids: list[str] = []

    @classmethod
    def of(cls, result: ScreenResult, ledger: Ledger | None = None) -> Tally:
        """The tally of `result`, from a pass of its own."""
        tally = cls(ledger)
        for _ in tally.watch(result):
            pass
        return tally

    def watch(self, result: ScreenResult) -> Iterator[Screened]:
        """`result`'s rows, each noted as it goes by; the tally is complete once they are all
        through."""
        first, copies = self.first, self.copies
        for ordinal, item in enumerate(result):
            yield item
            if item.row.sample is None:
                continue
            self.unread.update(unread_fields(item.row.sample, self._mapping))
            sample_id = item.row.sample.id
            if sample_id in first:
                copies.setdefault(sample_id, []).append(
                    {
                        "line": item.row.number,
                        "outcome": _outcome(item),
                        "verdicts": [_verdict(v) for v in item.verdicts if not v.passed],
                    }
                )
            else:
                first[sample_id] = ordinal
            if self._ledger is not None:
                self._ids.append(sample_id)
                if len(self._ids) == BLOCK:
                    self._count_unmade()
        self._count_unmade()

    def _count_unmade(self) -> None:
        if self._ledger is not None and self._ids:
            made = making_record_ids(self._ledger, self._ids)
            self.unmade += sum(1 for sample_id in self._ids if sample_id not in made)
        self._ids = []


def record_verdicts(
    result: ScreenResult,
    recorder: Recorder,
    guards: Sequence[Guard],
    tally: Tally | None = None,
    *,
    workers: int | None = None,
) -> int:
    """Sign one `screened` record per distinct sample: its outcome, verdicts and the guards.

    Rows are samples by content, so rows with the same content are one sample: its record
    carries the first such row's outcome (an exact copy cannot make the original unfit), and
    the later rows, with their own outcomes and reasons, under `copies`. The records go in the
    order of the samples' first rows, known from `tally` (made from its own pass over the
    result when not given): memory holds each sample's first row number and the copies'
    summaries, a block of rows at a time.

    Into a ledger, with more than a block of samples, the records are built and signed a block
    at a time on `workers` processes forked from this one (default: one per core; they inherit
    the key) while this one reads the rows and appends the signed blocks in order, one
    transaction each; `workers=1` builds and signs here. Either way the records say the same.
    """
    if tally is None:
        tally = Tally.of(result)
    first, copies = tally.first, tally.copies
    # The same in every record: encoded once (and inherited by forked workers, not sent).
    ran = EncodedList(asdict(guard.info) for guard in guards)

    def blocks() -> Iterator[list[tuple[Sample, int, dict[str, Any]]]]:
        """The samples to record, in blocks, each with its depth and its detail (less the
        guards that ran)."""
        block: list[Screened] = []
        for ordinal, item in enumerate(result):
            if item.row.sample is not None and first[item.row.sample.id] == ordinal:
                block.append(item)
                if len(block) == BLOCK:
                    yield described(block)
                    block = []
        if block:
            yield described(block)

    def described(block: list[Screened]) -> list[tuple[Sample, int, dict[str, Any]]]:
        # One look-up of the block's depths, not one query per sample.
        recorder.prefetch_depths(_sample_of(item.row).id for item in block)
        out = []
        for item in block:
            sample = _sample_of(item.row)
            detail: dict[str, Any] = {
                "outcome": _outcome(item),
                "verdicts": [_verdict(v) for v in item.verdicts],
                "line": item.row.number,
            }
            if sample.id in copies:
                detail["copies"] = copies.pop(sample.id)
            out.append((sample, recorder.depth_of(sample.id) or 0, detail))
        return out

    def prepared(block: list[tuple[Sample, int, dict[str, Any]]]) -> list[Item]:
        return [
            recorder.prepare_screened(sample, detail={**detail, "guards": ran}, depth=depth)
            for sample, depth, detail in block
        ]

    workers = workers or cores()
    parts = blocks()
    head = list(itertools.islice(parts, 2))
    ledger = recorder.ledger
    if (
        workers == 1
        or len(head) < 2
        or not isinstance(ledger, Ledger)
        or recorder.mode != "durable"
    ):
        # One block costs less than forking; another appender gets the records one by one.
        with recorder.batch():
            for block in itertools.chain(head, parts):
                recorder.commit(prepared(block))
        return len(first)
    recorder.flush()
    with Forked(functools.partial(_signed, ledger, prepared), workers) as pool:
        for batch, contents in pool.map(itertools.chain(head, parts)):
            ledger.append_signed(batch, contents, durable=recorder.fsync)
            recorder.note_appended(len(batch.rows))
    return len(first)


def _signed(
    ledger: Ledger,
    prepared: Callable[[list[tuple[Sample, int, dict[str, Any]]]], list[Item]],
    block: list[tuple[Sample, int, dict[str, Any]]],
) -> tuple[SignedBatch, list[dict[str, str]]]:
    """A block's records, built and signed (in a forked worker), and its samples' rows as the
    ledger stores them."""
    entries = [unsigned_entry(r, ledger.origin, ledger.key_id) for r, _ in prepared(block)]
    contents = [content_row(sample.id, sample.row, sample.digest) for sample, _, _ in block]
    return ledger.sign(entries), contents


def _outcome(item: Screened) -> str:
    return "quarantined" if item.quarantined else "accepted"


def _verdict(verdict: Verdict) -> dict[str, Any]:
    return {**verdict.reason(), "passed": verdict.passed, "guard_name": verdict.guard.name}
