"""The Croissant description of a release: mlcroissant validates it offline and loads the
release's records through it, with their hashes checked; its RAI and PROV-O properties are the
report's figures; it refuses a folder the ledger did not release."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlcroissant as mlc
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import rdflib
from rdflib.namespace import PROV
from release_stock import GENERATOR, screen, write_jsonl

from synthguard.ledger.log.store import Ledger
from synthguard.ledger.release.create import create_release
from synthguard.ledger.release.manifest import BUNDLE_FILE, JSONL_FILE, MANIFEST_FILE, PARQUET_FILE
from synthguard.ledger.report.compute import compute_report
from synthguard.ledger.report.croissant import (
    CROISSANT_1_1,
    CROISSANT_RAI_1_0,
    REPORT_PROPERTY,
    Column,
    content_location,
    described_release,
    embedded_croissant_report,
    is_croissant,
    parquet_columns,
    read_release,
    render_croissant,
)
from synthguard.ledger.report.model import TransparencyReport
from synthguard.ledger.review import draw_review_sample, record_review
from synthguard.ledger.screening import sign_override
from synthguard.provenance.canonical import digest
from synthguard.provenance.errors import InputError, VerificationError
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.record import Generator, Source, SourceKind
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import sample_from_row

REVISER = Generator(name="critic", provider="acme", model="reviser-2", version=None)
SEED = Source(uri="hf://datasets/acme/seeds", license="CC-BY-4.0", kind=SourceKind.PUBLIC_DATASET)
# Only the schema.org `version` is left out: a release name is not a semantic version.
VERSION_WARNING = 'Property "https://schema.org/version" is recommended, but does not exist.'


def alpaca(i: int) -> dict[str, Any]:
    """An Alpaca row with extra columns of every JSON type: list, object, number, boolean."""
    return {
        "instruction": f"Add {i} and {i + 1}.",
        "input": "",
        "output": str(2 * i + 1),
        "tags": ["math", f"t{i}"],
        "meta": {"difficulty": i, "topic": "sums"},
        "score": i / 4,
        "checked": i % 2 == 0,
    }


def chat(i: int) -> dict[str, Any]:
    """A chat row."""
    return {
        "messages": [{"role": "user", "content": f"hello {i}"}, {"role": "ai", "content": "hi"}]
    }


@dataclass
class Released:
    """A ledger, one release of it on disk, and the report of that release."""

    ledger: Ledger
    out: Path
    report: TransparencyReport


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def released(tmp_path: Path, ledger_key: SigningKey) -> Iterator[Released]:
    """Four generated Alpaca rows, a revision of one of them, a human-written text row from a
    public dataset and a chat row released from quarantine; a review of two; release `v1`."""
    ledger = Ledger.create(f"sqlite:///{tmp_path / 'l.db'}", ledger_key, checkpoint_interval=10)
    generated = [alpaca(i) for i in range(4)]
    revised = {**alpaca(9), "output": "19, revised"}
    human = {"text": "a human wrote this"}
    held = chat(0)
    with Recorder(ledger) as recorder:
        for row in [*generated, held]:
            recorder.generated(row, GENERATOR)
        recorder.generated(revised, REVISER, parents=[generated[0]])
        recorder.imported(human, sources=[SEED])
        for row in [*generated, revised, human]:
            screen(recorder, row, "accepted")
        screen(recorder, held, "quarantined")
        sign_override(
            ledger, recorder, sample_from_row(held).id, reason="a false positive", reviewer="ana"
        )
        draw = draw_review_sample(ledger, recorder, rate=0.5, seed=7)
        for sample_id in sorted(draw.selected)[:2]:
            record_review(ledger, recorder, sample_id, "ok", "ana")
    rows = [*generated, revised, human, held]
    out = tmp_path / "release"
    create_release(ledger, "v1", write_jsonl(tmp_path / "accepted.jsonl", rows), out)
    try:
        yield Released(ledger, out, compute_report(ledger, release="v1"))
    finally:
        ledger.close()


def describe(released: Released, target: Path) -> Path:
    """Write the release's Croissant description to `target`."""
    release = described_release(released.ledger, released.out)
    text = render_croissant(released.report, release, content_location(target, released.out))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def plain(value: Any) -> Any:
    """A value mlcroissant loaded, as JSON gives it: bytes decoded, absent parts as None.

    mlcroissant gives an absent object as a dict of None values, and an absent list of
    objects as one such dict in a list."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, dict):
        parts = {key.rsplit("/", 1)[-1]: plain(part) for key, part in value.items()}
        return None if all(part is None for part in parts.values()) else parts
    if isinstance(value, list):
        items = [plain(item) for item in value]
        return None if items == [None] else items
    return value


def test_mlcroissant_validates_it_and_loads_the_release_through_it(
    released: Released, no_network: None
) -> None:
    path = describe(released, released.out / "croissant.json")

    dataset = mlc.Dataset(jsonld=path)  # raises ValidationError on any error

    metadata = dataset.metadata
    assert set(metadata.ctx.issues.warnings) == {f"[Metadata(v1)] {VERSION_WARNING}"}
    assert metadata.conforms_to == [CROISSANT_1_1, CROISSANT_RAI_1_0]
    assert metadata.ctx.is_v1_1()
    assert metadata.name == "v1"
    assert metadata.data_collection_type == ["Synthetic", "Secondary Data analysis"]
    assert "https://spdx.org/licenses/CC-BY-4.0.html" in (metadata.license or [])
    files = {f.name: f for f in metadata.file_objects}
    assert sorted(files) == sorted([JSONL_FILE, PARQUET_FILE, MANIFEST_FILE, BUNDLE_FILE])
    for name, file in files.items():
        assert file.sha256 == hashlib.sha256((released.out / name).read_bytes()).hexdigest()

    records = [
        {key.rsplit("/", 1)[-1]: plain(value) for key, value in record.items()}
        for record in dataset.records("samples")
    ]
    lines = (released.out / JSONL_FILE).read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(records) == len(rows) == 7
    columns = set().union(*(row.keys() for row in rows))
    for record, row in zip(records, rows, strict=True):
        assert record == {column: row.get(column) for column in columns}
    if "sample_id" in columns:  # the rows carry their ids: they key the records
        assert [r["sample_id"] for r in records] == [sample_from_row(r).id for r in rows]


def test_the_loader_refuses_a_data_file_that_is_not_the_described_one(
    released: Released, no_network: None
) -> None:
    path = describe(released, released.out / "croissant.json")
    table = pq.read_table(released.out / PARQUET_FILE)
    pq.write_table(table.slice(0, 6), released.out / PARQUET_FILE)

    with pytest.raises(mlc.GenerationError) as refused:
        list(mlc.Dataset(jsonld=path).records("samples"))
    assert "Hash of downloaded file" in str(refused.value.__cause__)


def test_a_croissant_file_outside_the_release_finds_the_files(
    released: Released, tmp_path: Path, no_network: None
) -> None:
    path = describe(released, tmp_path / "published" / "croissant.json")

    document = json.loads(path.read_text(encoding="utf-8"))
    urls = {entry["@id"]: entry["contentUrl"] for entry in document["distribution"]}
    assert urls[PARQUET_FILE] == f"../release/{PARQUET_FILE}"
    assert len(list(mlc.Dataset(jsonld=path).records("samples"))) == 7


def test_the_rai_and_provenance_properties_state_the_report(released: Released) -> None:
    path = describe(released, released.out / "croissant.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    report = released.report
    manifest_digest = digest((released.out / MANIFEST_FILE).read_bytes())

    assert document["conformsTo"] == [CROISSANT_1_1, CROISSANT_RAI_1_0]
    assert document["@context"]["rai"] == "http://mlcommons.org/croissant/RAI/"
    assert document["rai:dataCollectionType"] == ["Synthetic", "Secondary Data analysis"]
    collection = document["rai:dataCollection"]
    assert "6 synthetic (85.71 %), 1 human (14.29 %)" in collection
    assert "meta/llama-3-8b@2024-05: 5 (83.33 % of synthetic)" in collection
    assert "acme/reviser-2: 1 (16.67 % of synthetic)" in collection
    assert "hf://datasets/acme/seeds" in collection
    biases = " ".join(document["rai:dataBiases"])
    assert "85.71 % of the samples are synthetic" in biases
    assert "0: 1 (14.29 %), 1: 5 (71.43 %), 2: 1 (14.28 %)" in biases
    assert "1 sample was made from synthetic samples (depth 2 or more)" in biases
    assert "backdoor/unicode" in biases
    limitations = document["rai:dataLimitations"]
    funnel = report.processing.screening.funnel[0]
    assert (
        f"Guard backdoor/unicode 1 (config {funnel.config_digest}): checked 7, kept 6, "
        "quarantined 1 (invisible: 1)."
    ) in limitations
    assert "1 released from quarantine by a signed override" in limitations[0]
    review = report.processing.review
    assert review.reviewed == 2
    protocol = document["rai:dataAnnotationProtocol"]
    assert f"draw {review.draws[0].draw} (seed 7, rate 0.5" in protocol
    assert "2 samples of this release reviewed (28.57 %): 2 ok, 0 bad" in protocol
    assert document["rai:dataCollectionTimeFrame"] == [
        report.general.first_record,
        report.general.last_record,
    ]

    graph = rdflib.Graph().parse(data=path.read_text(encoding="utf-8"), format="json-ld")
    name = rdflib.URIRef("https://schema.org/name")
    identifier = rdflib.URIRef("https://schema.org/identifier")
    activities = list(graph.objects(predicate=PROV.wasGeneratedBy))
    assert len(activities) == 3  # the release and one generation per generator model
    agents = {
        str(graph.value(agent, name))
        for activity in activities
        for agent in graph.objects(activity, PROV.wasAssociatedWith)
    }
    assert agents == {"synthguard", "llama-3-8b", "reviser-2"}
    manifests = [graph.value(entity, identifier) for entity in graph.objects(None, PROV.generated)]
    assert [str(m) for m in manifests] == [manifest_digest]


def test_it_is_canonical_and_carries_its_report(released: Released) -> None:
    release = read_release(released.out)
    text = render_croissant(released.report, release, "")

    assert text == render_croissant(released.report, read_release(released.out), "")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert is_croissant(text)
    assert not is_croissant(released.report.to_json())
    assert embedded_croissant_report(text) == released.report
    assert json.loads(text)[REPORT_PROPERTY] == json.loads(released.report.to_json())


def test_a_report_of_another_scope_is_refused(released: Released) -> None:
    whole = compute_report(released.ledger)

    with pytest.raises(InputError, match="the report is of the whole ledger, the folder holds"):
        render_croissant(whole, read_release(released.out), "")


def test_a_folder_this_ledger_did_not_release_is_refused(
    released: Released, tmp_path: Path, ledger_key: SigningKey
) -> None:
    other = Ledger.create(f"sqlite:///{tmp_path / 'other.db'}", ledger_key)
    try:
        with pytest.raises(InputError, match="is not a release of this ledger"):
            described_release(other, released.out)
    finally:
        other.close()
    with pytest.raises(InputError, match="is not a release folder"):
        described_release(released.ledger, tmp_path)


def test_a_data_file_the_manifest_did_not_sign_is_refused(released: Released) -> None:
    with (released.out / JSONL_FILE).open("a", encoding="utf-8") as data:
        data.write('{"text": "slipped in"}\n')

    with pytest.raises(VerificationError, match=f"{JSONL_FILE}: its SHA-256 differs"):
        read_release(released.out)


def test_columns_are_typed_from_the_parquet_schema(tmp_path: Path) -> None:
    table = pa.table(
        {
            "text": ["a", None],
            "n": [1, 2],
            "x": [0.5, None],
            "ok": [True, False],
            "empty": [None, None],
            "tags": [["a"], []],
            "meta": [{"k": 1, "deep": {"z": 1}}, None],
            "turns": [[{"role": "user", "content": "hi"}], None],
            "grid": [[[1]], None],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")

    columns, left_out = parquet_columns(tmp_path / "t.parquet")

    assert columns == (
        Column("text", "sc:Text"),
        Column("n", "sc:Integer"),
        Column("x", "sc:Float"),
        Column("ok", "sc:Boolean"),
        Column("empty", "sc:Text"),
        Column("tags", "sc:Text", is_array=True),
        Column("meta", None, parts=(Column("k", "sc:Integer"),)),
        Column(
            "turns",
            None,
            is_array=True,
            parts=(Column("role", "sc:Text"), Column("content", "sc:Text")),
        ),
    )
    assert left_out == ("meta.deep", "grid")
