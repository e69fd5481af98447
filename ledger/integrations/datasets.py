"""Adapters: record the samples that flow through other libraries' pipelines.

`record_map` makes a function for Hugging Face `datasets` `Dataset.map(fn, batched=True)`: each
row of a batch is recorded as `generated` and the batch comes back with a column of sample ids.
Only the standard library is imported here; `datasets` hands the function plain dicts of lists.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from synthguard.provenance.errors import InputError
from synthguard.provenance.record import Generator, Origin
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import FieldMapping, as_sample

Batch = dict[str, list[Any]]


class RecordMap:
    """The function `record_map` returns: a batch of columns in, the same batch plus ids out.

    Each call records its rows in one batch (one append in durable mode) before it returns,
    so the mapped dataset only ever holds rows whose records are committed. A bad row raises
    InputError naming it, and nothing of its batch is recorded.
    """

    def __init__(
        self,
        recorder: Recorder,
        generator: Generator,
        *,
        mapping: FieldMapping | None,
        id_column: str,
        origin: Origin,
        parents_column: str | None,
    ) -> None:
        if not id_column:
            raise InputError("the id column needs a name")
        self.recorder = recorder
        self.generator = generator
        self.mapping = mapping or recorder.mapping
        self.id_column = id_column
        self.origin = origin
        self.parents_column = parents_column
        self.recorded = 0
        # `datasets` fingerprints a map by pickling its function: a fresh token per adapter
        # means a map is never answered from the cache of an earlier one, unrecorded.
        self._token = uuid.uuid4().hex

    def __call__(self, batch: Mapping[str, list[Any]]) -> Batch:
        columns = list(batch)
        if not columns:
            return {self.id_column: []}
        size = len(batch[columns[0]])
        if any(len(batch[name]) != size for name in columns):
            raise InputError("the batch's columns differ in length; is it a datasets batch?")
        # Every row is read before any is recorded: a bad row leaves its whole batch unrecorded.
        samples = []
        for i in range(size):
            row = {name: batch[name][i] for name in columns if name != self.id_column}
            try:
                samples.append((as_sample(row, self.mapping), _parents(row, self.parents_column)))
            except InputError as exc:
                raise InputError(f"row {i} of the batch: {exc}") from None
        with self.recorder.batch():
            ids = [
                self.recorder.generated(
                    sample, self.generator, parents=parents, origin=self.origin
                ).sample_id
                for sample, parents in samples
            ]
        self.recorded += size
        return {**batch, self.id_column: ids}

    def __reduce__(self) -> tuple[Callable[[str], _Elsewhere], tuple[str]]:
        # Pickling serves `datasets` fingerprinting in this process. A copy in another process
        # (a map with num_proc > 1) would not reach this recorder, so it refuses to run.
        return _Elsewhere, (self._token,)


class _Elsewhere:
    """What a RecordMap becomes in another process: a function that refuses, clearly."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, _batch: Mapping[str, list[Any]]) -> Batch:
        raise InputError(
            "record_map records in the process of its recorder: call Dataset.map with num_proc=1"
        )


def record_map(
    recorder: Recorder,
    generator: Generator,
    *,
    mapping: FieldMapping | None = None,
    id_column: str = "synthguard_id",
    origin: Origin = Origin.SYNTHETIC,
    parents_column: str | None = None,
) -> RecordMap:
    """Return a function for `Dataset.map(fn, batched=True)` that records every row.

    Each row becomes a `generated` record by `generator` (its content read by `mapping`, the
    recorder's by default), with the parents listed in `parents_column` if given; the batch
    comes back with `id_column` added (the sample id). Use it with `num_proc=1`: the records
    are made in the recorder's own process.
    """
    return RecordMap(
        recorder,
        generator,
        mapping=mapping,
        id_column=id_column,
        origin=origin,
        parents_column=parents_column,
    )


def _parents(row: Mapping[str, Any], column: str | None) -> list[str]:
    if column is None:
        return []
    value = row.get(column)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise InputError(f"column {column!r} must hold a sample id or a list of them")
    return value
