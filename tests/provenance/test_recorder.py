"""The Recorder: durable commits, batches, depth, flush on exit, and record_rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from synthguard.ledger.log.store import Ledger
from synthguard.ledger.log.verify import verify_ledger
from synthguard.provenance.errors import InputError, LedgerError
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.reader import Row, read_samples
from synthguard.provenance.record import Event, Generator, LineageRecord, Origin, Source
from synthguard.provenance.recorder import Appender, Recorder, record_rows
from synthguard.provenance.sample import Sample, sample_from_row

GENERATOR = Generator(name="self-instruct", model="tiny-lm", parameters={"temperature": 0.2})
KEY_ID = "sha256:" + "ab" * 32


class ListAppender:
    """An in-memory appender that keeps each batch it is handed."""

    key_id = KEY_ID

    def __init__(self) -> None:
        self.batches: list[tuple[list[LineageRecord], dict[str, dict[str, Any]]]] = []

    def append(
        self,
        records: Sequence[LineageRecord],
        contents: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.batches.append((list(records), {k: dict(v) for k, v in (contents or {}).items()}))

    @property
    def records(self) -> list[LineageRecord]:
        return [record for batch, _ in self.batches for record in batch]


def rows_of(values: list[dict[str, Any]]) -> list[Row]:
    return [Row(i, value, sample_from_row(value), None) for i, value in enumerate(values, 1)]


def sample(i: int) -> Sample:
    return sample_from_row({"instruction": f"Task {i}", "output": f"Answer {i}", "tag": i})


def test_the_ledger_is_an_appender(tmp_path: Path, signing_key: SigningKey) -> None:
    ledger: Appender = Ledger.create(f"sqlite:///{tmp_path / 'l.db'}", signing_key)
    assert ledger.key_id == signing_key.key_id


def test_durable_mode_commits_each_record_before_the_call_returns() -> None:
    appender = ListAppender()
    recorder = Recorder(appender)
    record = recorder.generated(sample(1), GENERATOR)
    assert appender.records == [record]
    assert (recorder.appended, recorder.pending) == (1, 0)
    assert appender.batches[0][1] == {sample(1).id: sample(1).row}


def test_a_batch_commits_every_batch_size_records_and_at_its_end() -> None:
    appender = ListAppender()
    with Recorder(appender, batch_size=3) as recorder:
        with recorder.batch():
            for i in range(7):
                recorder.generated(sample(i), GENERATOR)
            assert [len(batch) for batch, _ in appender.batches] == [3, 3]
            assert recorder.pending == 1
        assert [len(batch) for batch, _ in appender.batches] == [3, 3, 1]
    assert recorder.appended == 7
    records, contents = appender.batches[0]
    assert contents == {sample(i).id: sample(i).row for i in range(3)}
    assert [record.sample_id for record in records] == [sample(i).id for i in range(3)]
    assert {record.signer for record in appender.records} == {KEY_ID}
    assert all(record.digest == sample(i).digest for i, record in enumerate(appender.records))


def test_flush_commits_an_open_batch_and_an_empty_flush_appends_nothing() -> None:
    appender = ListAppender()
    recorder = Recorder(appender)
    recorder.flush()
    assert appender.batches == []
    with recorder.batch():
        recorder.imported(sample(1))
        assert appender.batches == []
        recorder.flush()
        assert len(appender.batches) == 1
    assert len(appender.batches) == 1


def test_a_nested_batch_hands_its_records_to_the_outer_one() -> None:
    appender = ListAppender()
    recorder = Recorder(appender)
    with recorder.batch():
        recorder.imported(sample(1))
        with recorder.batch():
            recorder.imported(sample(2))
        assert appender.batches == []
    assert [len(batch) for batch, _ in appender.batches] == [2]


def test_an_error_in_a_batch_commits_what_was_made_then_propagates() -> None:
    appender = ListAppender()

    def pipeline() -> None:
        with Recorder(appender) as recorder, recorder.batch():
            recorder.generated(sample(1), GENERATOR)
            recorder.generated(sample(2), GENERATOR)
            raise RuntimeError("generator crashed")

    with pytest.raises(RuntimeError, match="generator crashed"):
        pipeline()
    assert [record.sample_id for record in appender.records] == [sample(1).id, sample(2).id]


def test_a_closed_recorder_refuses_records() -> None:
    recorder = Recorder(ListAppender())
    recorder.close()
    recorder.close()
    with pytest.raises(LedgerError, match="closed"):
        recorder.imported(sample(1))


def test_bad_settings_are_refused() -> None:
    with pytest.raises(InputError, match="mode"):
        Recorder(ListAppender(), mode="eventually")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="flush interval"):
        Recorder(ListAppender(), flush_interval=0)


def test_depth_follows_parents_within_the_recorder() -> None:
    appender = ListAppender()
    with Recorder(appender) as recorder:
        seed = recorder.imported(sample(0))
        first = recorder.generated(sample(1), GENERATOR, parents=[sample(0).id])
        second = recorder.generated(sample(2), GENERATOR, parents=[sample(1).id, sample(0).id])
        fresh = recorder.generated(sample(3), GENERATOR)
    assert (seed.event, seed.origin, seed.depth) == (Event.IMPORTED, Origin.HUMAN, 0)
    assert (first.depth, second.depth, fresh.depth) == (1, 2, 1)
    assert second.parents == [sample(1).id, sample(0).id]


def test_depth_of_outside_parents_comes_from_parent_depths() -> None:
    outside = sample(100).id
    recorder = Recorder(ListAppender(), parent_depths={outside: 4})
    assert recorder.generated(sample(1), GENERATOR, parents=[outside]).depth == 5
    with pytest.raises(InputError, match="has no depth"):
        recorder.generated(sample(2), GENERATOR, parents=[sample(999).id])


def test_without_depth_tracking_parents_need_parent_depths() -> None:
    recorder = Recorder(ListAppender(), track_depths=False, parent_depths={sample(9).id: 2})
    recorder.generated(sample(1), GENERATOR)
    with pytest.raises(InputError, match="has no depth"):
        recorder.generated(sample(2), GENERATOR, parents=[sample(1).id])
    assert recorder.generated(sample(3), GENERATOR, parents=[sample(9).id]).depth == 3


def test_record_fields_are_passed_through() -> None:
    recorder = Recorder(ListAppender(), run_id="run-7")
    source = Source(uri="https://example.com/seed.jsonl", license="CC-BY-4.0")
    record = recorder.generated(
        sample(1),
        GENERATOR,
        sources=[source],
        prompt_digest="sha256:" + "0" * 64,
        origin=Origin.HYBRID,
        detail={"critic": "passed"},
    )
    assert record.run_id == "run-7"
    assert record.sources == [source]
    assert record.prompt_digest == "sha256:" + "0" * 64
    assert record.origin is Origin.HYBRID
    assert record.detail == {"critic": "passed"}
    assert record.generator == GENERATOR


def test_run_id_defaults_to_a_fresh_uuid4_hex() -> None:
    first, second = Recorder(ListAppender()), Recorder(ListAppender())
    assert len(first.run_id) == 32
    assert int(first.run_id, 16) >= 0
    assert first.run_id != second.run_id


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(InputError):
        Recorder(ListAppender(), batch_size=0)


def test_record_rows_records_good_rows_and_lists_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(
        b'{"instruction": "a", "output": "1"}\n'
        b"not json\n"
        b'{"text": "plain text sample"}\n'
        b'{"instruction": "missing output"}\n'
    )
    appender = ListAppender()
    with Recorder(appender) as recorder:
        summary = record_rows(read_samples(path), recorder, GENERATOR, Origin.SYNTHETIC)
    assert summary.recorded == 2
    assert [number for number, _ in summary.bad] == [2, 4]
    assert summary.total == 4
    assert [record.event for record in appender.records] == [Event.GENERATED] * 2


def test_record_rows_imports_human_rows() -> None:
    rows = rows_of([{"text": "written by a person"}])
    appender = ListAppender()
    with Recorder(appender) as recorder:
        record_rows(rows, recorder, None, Origin.HUMAN)
    (record,) = appender.records
    assert (record.event, record.depth, record.generator) == (Event.IMPORTED, 0, None)
    with pytest.raises(InputError, match="need a generator"):
        record_rows(rows, Recorder(ListAppender()), None, Origin.SYNTHETIC)


def test_recorder_over_a_real_ledger_verifies(tmp_path: Path, signing_key: SigningKey) -> None:
    with Ledger.create(
        f"sqlite:///{tmp_path / 'ledger.db'}", signing_key, checkpoint_interval=10
    ) as ledger:
        with Recorder(ledger, batch_size=8) as recorder, recorder.batch():
            for i in range(25):
                recorder.generated(sample(i), GENERATOR)
        ledger.checkpoint()
        report = verify_ledger(ledger, root_key_id=signing_key.key_id)
        assert report.size == 26
        assert ledger.sample(sample(3).id) == sample(3).row
        entry = ledger.entry(4)
        assert entry is not None
        assert entry.sample_id == sample(3).id


def test_fsync_asks_the_ledger_for_durable_commits(tmp_path: Path, signing_key: SigningKey) -> None:
    asked: list[bool] = []

    class Ledgerish:
        def __init__(self, ledger: Ledger) -> None:
            self.ledger = ledger
            self.key_id = ledger.key_id

        def append(self, records: Any, contents: Any = None, *, durable: bool = False) -> object:
            asked.append(durable)
            return self.ledger.append(records, contents, durable=durable)

    with Ledger.create(f"sqlite:///{tmp_path / 'l.db'}", signing_key) as ledger:
        Recorder(Ledgerish(ledger), fsync=True).imported(sample(1))
        Recorder(Ledgerish(ledger)).imported(sample(2))
        assert ledger.size() == 3
    assert asked == [True, False]


def test_depth_of_reads_memory_then_parent_depths_then_the_ledger(
    tmp_path: Path, signing_key: SigningKey
) -> None:
    with Ledger.create(f"sqlite:///{tmp_path / 'l.db'}", signing_key) as ledger:
        Recorder(ledger).generated(sample(1), GENERATOR)
        recorder = Recorder(ledger, parent_depths={sample(9).id: 4})
        recorder.imported(sample(2))
        assert recorder.depth_of(sample(2).id) == 0  # its own record
        assert recorder.depth_of(sample(9).id) == 4  # parent_depths
        assert recorder.depth_of(sample(1).id) == 1  # the ledger
        assert recorder.depth_of(sample(3).id) is None


def test_samples_a_bulk_look_up_did_not_find_are_not_asked_for_one_by_one(
    tmp_path: Path, signing_key: SigningKey
) -> None:
    asked: list[str] = []

    class Counting:
        """The real ledger, counting the look-ups a recorder makes."""

        def __init__(self, ledger: Ledger) -> None:
            self.ledger = ledger
            self.key_id = ledger.key_id

        def append(self, records: Any, contents: Any = None, *, durable: bool = False) -> object:
            return self.ledger.append(records, contents, durable=durable)

        def depth_of(self, sample_id: str) -> int | None:
            asked.append("one")
            return self.ledger.depth_of(sample_id)

        def depths_of(self, sample_ids: list[str]) -> dict[str, int]:
            asked.append("bulk")
            return self.ledger.depths_of(sample_ids)

    with Ledger.create(f"sqlite:///{tmp_path / 'l.db'}", signing_key) as ledger:
        Recorder(ledger).generated(sample(1), GENERATOR)
        recorder = Recorder(Counting(ledger))
        ids = [sample(i).id for i in range(1, 200)]
        recorder.prefetch_depths(ids)
        for i in range(1, 200):
            recorder.screened(sample(i), detail={"outcome": "accepted"})
        recorder.flush()
        assert asked == ["bulk"]
        assert recorder.depth_of(sample(1).id) == 1
        assert recorder.depth_of(sample(2).id) == 0  # screened here, at the depth it had: none
        # A later bulk look-up asks again: the ledger may have learnt of them since.
        Recorder(ledger).imported(sample(500))
        recorder.prefetch_depths([sample(500).id])
        assert recorder.depth_of(sample(500).id) == 0
        assert asked == ["bulk", "bulk"]
