"""The distilabel step records every row passing through it, in a real distilabel pipeline.

Skipped unless distilabel is installed (`pip install 'synthguard[distilabel]'`)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from synthguard.ledger.home import Home
from synthguard.ledger.log.verify import verify_ledger
from synthguard.provenance import FieldMapping, Generator, sample_from_row
from synthguard.provenance.errors import InputError, KeyringError
from synthguard.provenance.record import RECORD_TYPE

pytest.importorskip("distilabel")

from distilabel.pipeline import Pipeline
from distilabel.steps import LoadDataFromDicts

from synthguard.ledger.integrations.distilabel import RecordStep

GENERATOR = Generator(name="distilabel-textgen", provider="acme", model="tiny-lm", version="1")


def rows(n: int) -> list[dict[str, Any]]:
    return [{"instruction": f"Say {i}.", "generation": f"{i}"} for i in range(n)]


@pytest.fixture
def home(tmp_path: Path, env: dict[str, str], passphrase: str) -> Path:
    path = tmp_path / "home"
    Home(path).init(passphrase).close()
    return path


def generated(home: Path) -> list[dict[str, Any]]:
    with Home(home).open() as ledger:
        verify_ledger(ledger, root_key_id=Home(home).root_key())
        return [
            json.loads(base64.b64decode(json.loads(entry.envelope)["payload"]))
            for entry in ledger.entries()
            if entry.payload_type == RECORD_TYPE
        ]


def step(home: Path, **options: Any) -> RecordStep:
    return RecordStep(
        home=str(home),
        generator=GENERATOR,
        mapping=FieldMapping(output="generation"),
        **options,
    )


def test_step_records_each_batch_and_adds_ids(home: Path) -> None:
    record = step(home, run_id="dl")
    record.load()
    try:
        out = next(record.process(rows(3)))
        again = next(record.process(rows(5)[3:]))
    finally:
        record.unload()
    data = rows(5)
    ids = [sample_from_row(r, FieldMapping(output="generation")).id for r in data]
    assert [r["synthguard_id"] for r in out + again] == ids
    assert [{k: v for k, v in r.items() if k != "synthguard_id"} for r in out + again] == data
    records = generated(home)
    assert [r["sample_id"] for r in records] == ids
    assert {(r["event"], r["run_id"], r["generator"]["model"]) for r in records} == {
        ("generated", "dl", "tiny-lm")
    }


def test_step_in_a_pipeline_runs_in_a_worker_and_records_every_row(
    home: Path, tmp_path: Path
) -> None:
    with Pipeline(name="synthguard-test", cache_dir=tmp_path / "cache") as pipeline:
        load = LoadDataFromDicts(data=rows(7), batch_size=3)
        record = step(home, input_batch_size=3)
        load >> record
    distiset = pipeline.run(use_cache=False)
    table = distiset["default"]["train"]
    ids = sorted(table["synthguard_id"])
    assert ids == sorted(sample_from_row(r, FieldMapping(output="generation")).id for r in rows(7))
    assert sorted(r["sample_id"] for r in generated(home)) == ids


def test_step_without_passphrase_or_with_a_bad_row_says_why(
    home: Path, monkeypatch: pytest.MonkeyPatch, passphrase: str
) -> None:
    monkeypatch.delenv("SYNTHGUARD_PASSPHRASE")
    with pytest.raises(KeyringError, match="SYNTHGUARD_PASSPHRASE"):
        step(home).load()
    monkeypatch.setenv("SYNTHGUARD_MY_SECRET", passphrase)
    record = step(home, passphrase_env="SYNTHGUARD_MY_SECRET")
    record.load()
    try:
        with pytest.raises(
            InputError, match="row 1 of the batch: field 'instruction' must be a string"
        ):
            next(record.process([{"instruction": "a", "generation": "b"}, {"instruction": 3}]))
    finally:
        record.unload()
