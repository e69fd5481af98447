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
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthguard.guards.errors import GuardError
from synthguard.guards.verdict import Guard, GuardInfo, Verdict
from synthguard.ledger.log import making_record_ids
from synthguard.provenance.canonical import digest
from synthguard.provenance.reader import Row
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import Sample, output_row

if TYPE_CHECKING:
    from synthguard.ledger.log import Ledger


INPUT_GUARD = GuardInfo.of("input", "reader", "1", {"formats": ["jsonl", "parquet", "hf"]})
BATCH = 1024
"""Samples per `check` call. The batches are the same whatever runs them (`Checks`), so a
guard whose findings depend on its batch (one verdict per distinct sample of a batch, a model
padding a batch) gives the same verdicts everywhere."""

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


@dataclass
class ScreenResult:
    """Every row's outcome, in input order, and the funnel counts per guard."""

    rows: list[Screened]
    funnel: list[FamilyCount]

    @property
    def accepted(self) -> list[Screened]:
        """Rows that passed every guard."""
        return [row for row in self.rows if not row.quarantined]

    @property
    def quarantined(self) -> list[Screened]:
        """Rows that some guard stopped."""
        return [row for row in self.rows if row.quarantined]


def screen_rows(
    rows: Iterable[Row],
    guards: Sequence[Guard],
    *,
    progress: Progress | None = None,
    checks: Checks = check_here,
) -> ScreenResult:
    """Run the funnel over all rows (held in memory: dataset-level guards need them all).

    `checks` runs each guard over its batches (by default here); whatever runs them, the
    funnel, the verdicts' order and the counts are decided here, the same way."""
    screened = [Screened(row) for row in rows]
    input_count = FamilyCount(INPUT_GUARD, checked=len(screened))
    for item in screened:
        if item.row.sample is None:
            item.verdicts.append(
                Verdict(
                    sample_id=_row_id(item.row),
                    guard=INPUT_GUARD,
                    rule="malformed",
                    passed=False,
                    score=1.0,
                    detail={"error": item.row.error or "unreadable row", "line": item.row.number},
                )
            )
            input_count.quarantined += 1
            input_count.by_rule["malformed"] = input_count.by_rule.get("malformed", 0) + 1
    funnel = [input_count]
    readable = [item for item in screened if item.row.sample is not None]
    for guard in guards:
        if callable(getattr(guard, "finish", None)):
            funnel.append(_run_guard(guard, readable, progress, checks))
        else:
            items = [s for s in readable if not s.quarantined]
            funnel.append(_run_guard(guard, items, progress, checks))
    return ScreenResult(screened, funnel)


def _run_guard(
    guard: Guard, items: list[Screened], progress: Progress | None, checks: Checks
) -> FamilyCount:
    """Give `items` to the guard, in batches then `finish`; attach its verdicts and count."""
    stopped_before = {id(item) for item in items if item.quarantined}
    count = FamilyCount(guard.info, checked=len(items) - len(stopped_before), seen=len(items))
    by_id: dict[str, list[Screened]] = {}
    for item in items:
        by_id.setdefault(_sample(item).id, []).append(item)
    verdicts: list[Verdict] = []
    batches = [
        [_sample(item) for item in items[start : start + BATCH]]
        for start in range(0, len(items), BATCH)
    ]
    for batch, found in zip(batches, checks(guard, batches), strict=True):
        verdicts.extend(found)
        if progress:
            progress(len(batch))
    finish = getattr(guard, "finish", None)
    if finish is not None:
        verdicts.extend(finish())
    stopped: set[int] = set()
    for verdict in verdicts:
        if verdict.position is not None:
            targets = [items[verdict.position]]
            if _sample(targets[0]).id != verdict.sample_id:
                raise GuardError(
                    f"guard {guard.info.name} gave a verdict for position {verdict.position} "
                    "that names another sample"
                )
        else:
            targets = by_id.get(verdict.sample_id, [])
        for item in targets:
            item.verdicts.append(verdict)
            if not verdict.passed and id(item) not in stopped:
                stopped.add(id(item))
                if id(item) in stopped_before:
                    count.also_flagged += 1
                    rules = count.also_by_rule
                else:
                    count.quarantined += 1
                    rules = count.by_rule
                rules[verdict.rule] = rules.get(verdict.rule, 0) + 1
    return count


def _sample(item: Screened) -> Sample:
    assert item.row.sample is not None
    return item.row.sample


def _row_id(row: Row) -> str:
    raw = row.raw if isinstance(row.raw, str) else json.dumps(row.raw, sort_keys=True, default=str)
    return digest(raw.encode("utf-8", "replace"))


def write_outputs(result: ScreenResult, out_dir: Path) -> tuple[Path, Path]:
    """Write accepted.jsonl and quarantined.jsonl; every row lands in exactly one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    accepted_path = out_dir / "accepted.jsonl"
    quarantined_path = out_dir / "quarantined.jsonl"
    with (
        accepted_path.open("w", encoding="utf-8") as accepted,
        quarantined_path.open("w", encoding="utf-8") as quarantined,
    ):
        for item in result.rows:
            out = quarantined if item.quarantined else accepted
            body = item.output()
            try:
                out.write(json.dumps(body, ensure_ascii=False, default=str) + "\n")
            except UnicodeEncodeError:
                # A lone surrogate has no UTF-8: the row goes out escaped (\ud800), as it came
                # in, rather than being lost. A failed write writes nothing.
                out.write(json.dumps(body, default=str) + "\n")
    return accepted_path, quarantined_path


def record_verdicts(result: ScreenResult, recorder: Recorder, guards: Sequence[Guard]) -> int:
    """Sign one `screened` record per distinct sample: its outcome, verdicts and the guards.

    Rows are samples by content, so rows with the same content are one sample: its record
    carries the first such row's outcome (an exact copy cannot make the original unfit), and
    the later rows, with their own outcomes and reasons, under `copies`.
    """
    ran = [asdict(guard.info) for guard in guards]
    by_id: dict[str, list[Screened]] = {}
    for item in result.rows:
        if item.row.sample is not None:
            by_id.setdefault(item.row.sample.id, []).append(item)
    recorder.prefetch_depths(by_id)
    with recorder.batch():
        for first, *copies in by_id.values():
            assert first.row.sample is not None
            detail: dict[str, Any] = {
                "outcome": _outcome(first),
                "verdicts": [_verdict(v) for v in first.verdicts],
                "guards": ran,
                "line": first.row.number,
            }
            if copies:
                detail["copies"] = [
                    {
                        "line": copy.row.number,
                        "outcome": _outcome(copy),
                        "verdicts": [_verdict(v) for v in copy.verdicts if not v.passed],
                    }
                    for copy in copies
                ]
            recorder.screened(first.row.sample, detail=detail)
    return len(by_id)


def rows_without_making_record(result: ScreenResult, ledger: Ledger) -> int:
    """How many readable rows are samples that no making record in the ledger accounts for
    (never generated, revised or imported under a key): provenance the screen cannot vouch for."""
    ids = [item.row.sample.id for item in result.rows if item.row.sample is not None]
    made = making_record_ids(ledger, ids)
    return sum(1 for sample_id in ids if sample_id not in made)


def _outcome(item: Screened) -> str:
    return "quarantined" if item.quarantined else "accepted"


def _verdict(verdict: Verdict) -> dict[str, Any]:
    return {**verdict.reason(), "passed": verdict.passed, "guard_name": verdict.guard.name}
