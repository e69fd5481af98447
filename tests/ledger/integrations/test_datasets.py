"""The Hugging Face `datasets` adapter: `Dataset.map(record_map(...), batched=True)` records each
row once, in one append per batch, and adds the sample id column."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ledger_support import new_ledger, payloads, verified_size

from synthguard.ledger.integrations.datasets import record_map
from synthguard.ledger.log.store import Ledger
from synthguard.provenance import FieldMapping, Generator, Recorder, sample_from_row
from synthguard.provenance.errors import InputError

datasets = pytest.importorskip("datasets")

GENERATOR = Generator(name="hf-pipeline", provider="acme", model="tiny-lm", version="2")


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with new_ledger(tmp_path) as handle:
        yield handle


def rows(n: int) -> list[dict[str, Any]]:
    return [
        {"instruction": f"Add {i} and {i}.", "input": "", "output": str(2 * i), "n": i}
        for i in range(n)
    ]


def test_map_records_each_row_once_and_adds_the_id_column(ledger: Ledger) -> None:
    data = rows(10)
    before = ledger.size()
    with Recorder(ledger, run_id="hf") as recorder:
        mapped = datasets.Dataset.from_list(data).map(
            record_map(recorder, GENERATOR), batched=True, batch_size=4
        )
        # Durable mode: every batch is committed before map hands it on.
        assert ledger.size() == before + 10
    assert mapped.column_names == ["instruction", "input", "output", "n", "synthguard_id"]
    expected = [sample_from_row(row).id for row in data]
    assert mapped["synthguard_id"] == expected
    assert mapped.remove_columns("synthguard_id").to_list() == data
    records = payloads(ledger, "generated")
    assert [r["sample_id"] for r in records] == expected
    assert all(r["generator"] == GENERATOR.model_dump(exclude_none=True) for r in records)
    assert {(r["run_id"], r["depth"], r["origin"]) for r in records} == {("hf", 1, "synthetic")}
    # The stored row is the dataset's row, every column of it.
    assert ledger.sample(expected[3]) == data[3]
    assert verified_size(ledger) == before + 10


def test_one_append_per_batch(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    appends: list[int] = []
    append = ledger.append

    def counting(records: Any, *args: Any, **kwargs: Any) -> Any:
        appends.append(len(records))
        return append(records, *args, **kwargs)

    monkeypatch.setattr(ledger, "append", counting)
    with Recorder(ledger) as recorder:
        datasets.Dataset.from_list(rows(10)).map(
            record_map(recorder, GENERATOR), batched=True, batch_size=4
        )
    assert appends == [4, 4, 2]


def test_custom_mapping_id_column_and_parents(ledger: Ledger) -> None:
    with Recorder(ledger) as recorder:
        seed = recorder.imported({"text": "a human-written seed"})
        data = [
            {"prompt": f"q{i}", "generation": f"a{i}", "parents": [seed.sample_id]}
            for i in range(3)
        ]
        adapter = record_map(
            recorder,
            GENERATOR,
            mapping=FieldMapping(instruction="prompt", output="generation"),
            id_column="sid",
            parents_column="parents",
        )
        mapped = datasets.Dataset.from_list(data).map(adapter, batched=True)
    records = payloads(ledger, "generated")
    assert mapped["sid"] == [r["sample_id"] for r in records]
    assert {tuple(r["parents"]) for r in records} == {(seed.sample_id,)}
    assert {r["depth"] for r in records} == {1}
    assert adapter.recorded == 3


def test_mapping_a_saved_dataset_twice_records_twice(ledger: Ledger, tmp_path: Path) -> None:
    # A dataset on disk caches map results by fingerprint: the second map must not be answered
    # from the cache of the first, or its rows would come back unrecorded.
    datasets.Dataset.from_list(rows(5)).save_to_disk(tmp_path / "saved")
    mapped = []
    with Recorder(ledger) as recorder:
        for _ in range(2):
            saved = datasets.load_from_disk(str(tmp_path / "saved"))
            mapped.append(saved.map(record_map(recorder, GENERATOR), batched=True))
    assert mapped[0]["synthguard_id"] == mapped[1]["synthguard_id"]
    assert len(payloads(ledger, "generated")) == 10


def test_a_bad_row_is_named_and_its_batch_records_nothing(ledger: Ledger) -> None:
    data = rows(6)
    data[5] = {"instruction": None, "input": None, "output": None, "n": 5}
    with Recorder(ledger) as recorder, pytest.raises(InputError, match="row 1 of the batch"):
        datasets.Dataset.from_list(data).map(
            record_map(recorder, GENERATOR), batched=True, batch_size=4
        )
    # The first batch is committed; the second, which holds the bad row, left nothing.
    assert len(payloads(ledger, "generated")) == 4
    assert verified_size(ledger) == ledger.size()


def test_map_with_several_processes_is_refused(ledger: Ledger) -> None:
    with Recorder(ledger) as recorder, pytest.raises(InputError, match="num_proc=1"):
        datasets.Dataset.from_list(rows(4)).map(
            record_map(recorder, GENERATOR), batched=True, batch_size=2, num_proc=2
        )
    assert payloads(ledger, "generated") == []
