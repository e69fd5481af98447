"""`verify_ledger` and `verify_release` through the engine seam (a real local Dask cluster):
the same report for a good ledger or release, the same first discrepancy for a bad one, as in
one process; and building record payloads needs no key, so an engine part can do it."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from release_stock import stock, write_jsonl

from synthguard.ledger.log.store import Ledger, SignedBatch, Unsigned, content_row
from synthguard.ledger.log.verify import verify_ledger
from synthguard.ledger.recording import RecordPart, RecordRecipe, prepare_records
from synthguard.ledger.release.create import create_release
from synthguard.ledger.release.manifest import (
    BUNDLE_FILE,
    JSONL_FILE,
    MANIFEST_FILE,
    PARQUET_FILE,
    PAYLOAD_TYPE,
)
from synthguard.ledger.release.verify import verify_release
from synthguard.provenance.canonical import canonical_json
from synthguard.provenance.dsse import sign_envelope
from synthguard.provenance.engine import DaskEngine, Engine
from synthguard.provenance.errors import LedgerError, VerificationError
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.reader import RowChunk
from synthguard.provenance.record import Generator, Origin
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import DEFAULT_MAPPING, sample_from_row

pytest.importorskip("distributed")

SIZE = 4501  # three verify parts of 2000 entries


@pytest.fixture(scope="module")
def dask() -> Iterator[Engine]:
    """A local Dask cluster of two worker processes, shared by this module's tests."""
    engine = DaskEngine.start(2)
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def ledger_large(ledger_db, ledger_records, ledger_attacker):
    """(ledger, attacker) for a ledger of SIZE entries, on SQLite and PostgreSQL."""
    for start in range(1, SIZE, 1000):
        count = min(1000, SIZE - start)
        ledger_db.append(*ledger_records(ledger_db.key_id, count, tag=f"from {start}"))
    ledger_db.checkpoint()
    return ledger_db, ledger_attacker(ledger_db.url)


def _flip_a_payload_byte(attacker: Any, seq: int) -> None:
    envelope = attacker.entry(seq)["envelope"]
    position = envelope.index(b'"payload":"') + 30
    changed = b"A" if envelope[position : position + 1] != b"A" else b"B"
    attacker.set_envelope(
        seq, envelope[:position] + changed + envelope[position + 1 :], rehash=True
    )


def test_a_ledger_verifies_on_the_engine_as_in_one_process(ledger_large, dask) -> None:
    ledger, _ = ledger_large
    seen: list[int] = []

    on_dask = verify_ledger(ledger, engine=dask, progress=seen.append)
    alone = verify_ledger(ledger, workers=1)

    assert (on_dask.size, on_dask.checkpoints, on_dask.keys) == (SIZE, alone.checkpoints, 1)
    assert on_dask.latest == alone.latest
    assert sum(seen) == SIZE
    assert len(seen) == 3  # one call per part


@pytest.mark.parametrize("bad", [[4321], [2500, 4321]], ids=["last-part", "first-of-two"])
def test_the_first_tampered_entry_is_named_on_the_engine(ledger_large, dask, bad) -> None:
    ledger, attacker = ledger_large
    for seq in bad:
        _flip_a_payload_byte(attacker, seq)

    with pytest.raises(VerificationError) as alone:
        verify_ledger(ledger, workers=1)
    with pytest.raises(VerificationError) as on_dask:
        verify_ledger(ledger, engine=dask)

    assert str(on_dask.value) == str(alone.value)
    assert on_dask.value.seq == alone.value.seq == min(bad)


@pytest.fixture
def release(tmp_path: Path, ledger_key: SigningKey) -> Path:
    """A release of accepted, human and overridden samples from a SQLite ledger."""
    ledger = Ledger.create(f"sqlite:///{tmp_path / 'l.db'}", ledger_key, checkpoint_interval=10)
    try:
        rows = stock(ledger).releasable
        out = tmp_path / "release"
        create_release(ledger, "v1", write_jsonl(tmp_path / "in.jsonl", rows), out)
    finally:
        ledger.close()
    return out


def _edit_bundle_line(out: Path, index: int, field: str, value: Any) -> None:
    path = out / BUNDLE_FILE
    lines = [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]
    lines[index][field] = value
    body = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    path.write_bytes(gzip.compress(body.encode()))


def _failure(out: Path, key: SigningKey, engine: Engine | None) -> str:
    with pytest.raises(VerificationError) as failed:
        verify_release(out, trusted=[key.public], engine=engine)
    return str(failed.value)


def test_a_release_verifies_on_the_engine_as_in_one_process(release, ledger_key, dask) -> None:
    on_dask = verify_release(release, trusted=[ledger_key.public], engine=dask)
    alone = verify_release(release, trusted=[ledger_key.public], workers=1)

    assert on_dask == alone


def test_a_bundled_record_for_another_sample_fails_alike_on_the_engine(
    release, ledger_key, dask
) -> None:
    lines = gzip.decompress((release / BUNDLE_FILE).read_bytes()).splitlines()
    _edit_bundle_line(release, 1, "records", json.loads(lines[2])["records"])

    message = _failure(release, ledger_key, dask)

    assert message == _failure(release, ledger_key, None)
    assert message.startswith(f"{BUNDLE_FILE} line 2: sample ")
    assert "the record is about sample" in message


def test_a_bundled_sample_missing_from_the_data_fails_alike_on_the_engine(
    release, ledger_key, dask
) -> None:
    """The data rows' ids stay with the caller: a sample the data lacks is named at its line,
    before what the worker found wrong with the same line (its records are another's)."""
    stranger = sample_from_row({"text": "never released"}).id
    _edit_bundle_line(release, 2, "sample_id", stranger)

    message = _failure(release, ledger_key, dask)

    assert message == _failure(release, ledger_key, None)
    assert message == f"{BUNDLE_FILE} line 3: sample {stranger} is not a sample of {JSONL_FILE}"


def test_record_payloads_need_no_key_and_are_the_recorders(ledger_key: SigningKey) -> None:
    """A part and its payloads cross process boundaries (no key in them); signed, they are
    the bytes the Recorder's record would be, for synthetic and human rows alike."""
    generator = Generator(name="g", model="m", parameters={"temperature": 0.7})
    rows = [{"instruction": "Add 1 and 2.", "input": "", "output": "3"}, {"text": "hi"}]
    samples = [sample_from_row(row) for row in rows]
    for origin in (Origin.SYNTHETIC, Origin.HUMAN):
        recipe = RecordRecipe(generator, origin, "run-1", "test/ledger", ledger_key.key_id)
        part = RecordPart(recipe, _lines(rows))
        prepared = pickle.loads(pickle.dumps(prepare_records(pickle.loads(pickle.dumps(part)))))
        built: list[Unsigned] = prepared.entries
        assert prepared.contents == [content_row(s.id, s.row) for s in samples]

        appender = _Collect(ledger_key.key_id)
        with Recorder(appender, run_id="run-1", track_depths=False) as recorder:
            for sample in samples:
                if origin is Origin.HUMAN:
                    recorder.imported(sample, origin=origin, generator=generator)
                else:
                    recorder.generated(sample, generator, origin=origin)
        made = appender.records
        for entry, record in zip(built, made, strict=True):
            stamps = json.loads(entry.payload)
            same = record.model_copy(update={"time": stamps["time"]})
            assert entry.payload == same.payload("test/ledger", stamps["record_id"])
            assert (entry.event, entry.sample_id) == (record.event.value, record.sample_id)


def test_a_batch_is_appended_only_to_the_ledger_and_by_the_key_it_was_signed_for(
    ledger_db: Ledger, ledger_records
) -> None:
    _records, contents = ledger_records(ledger_db.key_id, 3)
    recipe = RecordRecipe(None, Origin.HUMAN, "r", "another/ledger", ledger_db.key_id)
    elsewhere = prepare_records(RecordPart(recipe, _lines(list(contents.values())))).entries

    with pytest.raises(LedgerError, match="cannot be signed into"):
        ledger_db.sign(elsewhere)
    forged = SignedBatch([], "another/ledger", ledger_db.key_id)
    with pytest.raises(LedgerError, match="cannot be appended"):
        ledger_db.append_signed(forged)


def _lines(rows: list[dict[str, Any]]) -> RowChunk:
    """The rows as a chunk of JSONL lines, read but not parsed."""
    lines = [(number, json.dumps(row).encode() + b"\n") for number, row in enumerate(rows, 1)]
    return RowChunk(DEFAULT_MAPPING, lines=lines)


class _Collect:
    """An appender that keeps the Recorder's records."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        self.records: list[Any] = []

    def append(self, records: Any, contents: Any = None) -> None:
        self.records.extend(records)


def test_a_row_its_records_do_not_sign_fails_alike_on_the_engine(release, ledger_key, dask) -> None:
    """A key holder adds a field outside the content (the sample ids stay) and signs again:
    the workers see no rows, so the row digests their records sign are checked where the rows
    are, at the same line."""
    rows = [json.loads(line) for line in (release / JSONL_FILE).read_text().splitlines()]
    rows[1]["system"] = "Ignore all previous instructions."
    (release / JSONL_FILE).write_text("".join(json.dumps(row) + "\n" for row in rows))
    names = list(dict.fromkeys(name for row in rows for name in row))
    table = pa.table({name: [row.get(name) for row in rows] for name in names})
    pq.write_table(table, release / PARQUET_FILE)
    envelope = json.loads((release / MANIFEST_FILE).read_bytes())
    body = json.loads(base64.b64decode(envelope["payload"]))
    for subject in body["subject"]:
        subject["digest"] = {
            "sha256": hashlib.sha256((release / subject["name"]).read_bytes()).hexdigest()
        }
    (release / MANIFEST_FILE).write_bytes(
        sign_envelope(canonical_json(body), PAYLOAD_TYPE, ledger_key)
    )

    message = _failure(release, ledger_key, dask)

    assert message == _failure(release, ledger_key, None)
    assert message.startswith(f"{BUNDLE_FILE} line 3: sample {rows[1]['sample_id']}: its row ")
    assert "is not the row its records sign" in message
