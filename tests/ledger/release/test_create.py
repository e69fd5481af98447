"""Creating a release: what it writes, what it signs, what it records, and what it refuses."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from release_stock import (
    GENERATOR,
    GUARD,
    alpaca,
    override,
    sample_id,
    screen,
    stock,
    write_jsonl,
)
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.signer import SSlibKey

from synthguard.ledger.log.lineage import records_by_event
from synthguard.ledger.log.store import Ledger
from synthguard.ledger.log.verify import verify_ledger
from synthguard.ledger.release.create import create_release
from synthguard.ledger.release.manifest import (
    BUNDLE_FILE,
    JSONL_FILE,
    MANIFEST_FILE,
    PARQUET_FILE,
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    Statement,
)
from synthguard.ledger.release.verify import verify_release
from synthguard.ledger.report import policy_figures
from synthguard.provenance.canonical import canonical_json, digest
from synthguard.provenance.errors import InputError
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.record import Event
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import FieldMapping, original_row, output_row, sample_from_row


@pytest.fixture
def sqlite_ledger(tmp_path: Path, ledger_key: SigningKey) -> Iterable[Ledger]:
    """A fresh SQLite ledger signed by `ledger_key`, checkpointed every 10 entries."""
    ledger = Ledger.create(f"sqlite:///{tmp_path / 'l.db'}", ledger_key, checkpoint_interval=10)
    try:
        yield ledger
    finally:
        ledger.close()


def statement_of(out: Path) -> Statement:
    """The Statement in a release's manifest (signature unchecked)."""
    envelope = json.loads((out / MANIFEST_FILE).read_bytes())
    return Statement.from_payload(base64.b64decode(envelope["payload"]))


def released_records(ledger: Ledger) -> list[Any]:
    """The ledger's `released` entries."""
    return list(records_by_event(ledger, [Event.RELEASED]))


def test_a_release_writes_signs_proves_and_records(
    ledger_db: Ledger, ledger_key: SigningKey, tmp_path: Path
) -> None:
    made = stock(ledger_db)
    rows = made.releasable
    source = write_jsonl(tmp_path / "accepted.jsonl", rows)
    out = tmp_path / "release"

    result = create_release(ledger_db, "v1", source, out)

    assert sorted(p.name for p in out.iterdir()) == sorted(
        [BUNDLE_FILE, JSONL_FILE, MANIFEST_FILE, PARQUET_FILE]
    )
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".release")] == []
    statement = statement_of(out)
    assert statement == result.statement
    for subject in statement.subject:
        assert subject.digest == {
            "sha256": hashlib.sha256((out / subject.name).read_bytes()).hexdigest()
        }
    predicate = statement.predicate
    ids = [sample_id(row) for row in rows]
    assert predicate.name == "v1"
    assert predicate.samples.count == len(rows)
    assert predicate.counts.by_origin == {"human": 1, "synthetic": 5}
    assert predicate.counts.by_generator == {"meta/llama-3-8b@2024-05": 5, "none": 1}
    assert predicate.counts.by_outcome == {"accepted": 5, "override": 1}
    assert [guard.model_dump() for guard in predicate.guards] == [GUARD]
    assert predicate.keys == [ledger_key.key_id]
    assert predicate.policy.breaches == []

    # Proven against the checkpoint taken before the release appended anything.
    released = released_records(ledger_db)
    assert predicate.checkpoint.size == released[0].seq
    assert predicate.checkpoint.origin == ledger_db.origin
    assert sorted(entry.record.sample_id for entry in released) == sorted(ids)
    manifest_digest = digest((out / MANIFEST_FILE).read_bytes())
    assert result.manifest_digest == manifest_digest
    for entry in released:
        assert entry.record.detail == {"release": "v1", "manifest": manifest_digest}
        assert entry.record.signer == ledger_key.key_id
    assert {e.record.origin.value for e in released} == {"human", "synthetic"}

    # The ledger still verifies, with a checkpoint covering the released records.
    report = verify_ledger(ledger_db)
    assert report.size == ledger_db.size() == result.checkpoint.size
    assert report.latest == result.checkpoint

    verified = verify_release(out, trusted=[ledger_key.public])
    assert verified.samples == len(rows)
    assert verified.pinned
    # accepted: generated + screened; human: imported + screened; override: + reviewed
    assert verified.records == 4 * 2 + 1 * 2 + 1 * 3


def test_securesystemslib_accepts_the_manifest_envelope(
    sqlite_ledger: Ledger, ledger_key: SigningKey, tmp_path: Path
) -> None:
    made = stock(sqlite_ledger)
    out = tmp_path / "release"
    create_release(sqlite_ledger, "v1", write_jsonl(tmp_path / "in.jsonl", made.accepted), out)

    envelope = SslibEnvelope.from_dict(json.loads((out / MANIFEST_FILE).read_bytes()))
    public = load_pem_public_key(ledger_key.public.pem().encode("ascii"))
    accepted = envelope.verify([SSlibKey.from_crypto(public, keyid=ledger_key.key_id)], 1)

    assert list(accepted) == [ledger_key.key_id]
    assert envelope.payload_type == PAYLOAD_TYPE
    statement = json.loads(envelope.payload)
    assert statement["_type"] == STATEMENT_TYPE
    assert statement["predicateType"] == PREDICATE_TYPE
    assert [s["name"] for s in statement["subject"]] == [JSONL_FILE, PARQUET_FILE]


def test_the_sample_root_is_rfc6962_over_the_sorted_ids(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    made = stock(sqlite_ledger, accepted=3, overridden=0)
    out = tmp_path / "release"
    create_release(sqlite_ledger, "v1", write_jsonl(tmp_path / "in.jsonl", made.accepted), out)

    a, b, c = sorted(sample_id(row) for row in made.accepted)

    def leaf(text: str) -> bytes:
        return hashlib.sha256(b"\x00" + text.encode()).digest()

    def node(left: bytes, right: bytes) -> bytes:
        return hashlib.sha256(b"\x01" + left + right).digest()

    expected = node(node(leaf(a), leaf(b)), leaf(c))
    assert statement_of(out).predicate.samples.merkle_root == base64.b64encode(expected).decode()


def test_unscreened_samples_are_refused_with_their_ids(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    made = stock(sqlite_ledger, unscreened=2)
    size = sqlite_ledger.size()
    out = tmp_path / "release"
    source = write_jsonl(tmp_path / "in.jsonl", made.accepted + made.unscreened)

    with pytest.raises(InputError) as refused:
        create_release(sqlite_ledger, "v1", source, out)

    message = str(refused.value)
    assert message.startswith("2 of 6 samples may not be released, so nothing was: 2 not screened")
    for row in made.unscreened:
        assert sample_id(row) in message
    assert not out.exists()
    assert list(tmp_path.glob(".release*")) == []
    assert released_records(sqlite_ledger) == []
    assert sqlite_ledger.size() == size


def test_quarantined_samples_are_refused_until_a_signed_override(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    made = stock(sqlite_ledger, quarantined=7)
    source = write_jsonl(tmp_path / "in.jsonl", made.accepted + made.quarantined)

    with pytest.raises(InputError) as refused:
        create_release(sqlite_ledger, "v1", source, tmp_path / "release")

    message = str(refused.value)
    assert "7 quarantined: " in message
    shown = [sample_id(row) for row in made.quarantined[:5]]
    assert ", ".join(shown) + " and 2 more" in message

    for row in made.quarantined:
        override(sqlite_ledger, row)
    result = create_release(sqlite_ledger, "v1", source, tmp_path / "release")

    assert result.statement.predicate.counts.by_outcome == {"accepted": 4, "override": 7}
    assert verify_release(tmp_path / "release").samples == 11


def test_a_sample_screened_again_after_its_override_is_held_again(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    made = stock(sqlite_ledger)
    with Recorder(sqlite_ledger) as recorder:
        screen(recorder, made.overridden[0], "quarantined")
    source = write_jsonl(tmp_path / "in.jsonl", made.overridden)

    with pytest.raises(InputError, match="1 quarantined: " + sample_id(made.overridden[0])):
        create_release(sqlite_ledger, "v1", source, tmp_path / "release")


def test_samples_the_ledger_never_made_are_refused(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    stranger = {"text": "screened here, but made somewhere else"}
    with Recorder(sqlite_ledger) as recorder:
        screen(recorder, stranger, "accepted")
    source = write_jsonl(tmp_path / "in.jsonl", [stranger, {"text": "never seen at all"}])

    with pytest.raises(InputError) as refused:
        create_release(sqlite_ledger, "v1", source, tmp_path / "release")

    message = str(refused.value)
    assert "2 not recorded (no generated, revised or imported record)" in message
    assert sample_id(stranger) in message


def test_malformed_rows_are_refused_with_their_line_numbers(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    made = stock(sqlite_ledger)
    source = tmp_path / "in.jsonl"
    good = [json.dumps(row) for row in made.accepted]
    source.write_text("\n".join([good[0], "{not json", good[1], '{"title": "x"}', good[2]]) + "\n")

    with pytest.raises(InputError) as refused:
        create_release(sqlite_ledger, "v1", source, tmp_path / "release")

    message = str(refused.value)
    assert "2 lines cannot be read and a release must be exact" in message
    assert "line 2 (invalid JSON" in message
    assert "line 4 (row has none of the content fields" in message
    assert not (tmp_path / "release").exists()


def test_a_sample_listed_twice_is_refused(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    made = stock(sqlite_ledger)
    rows = [made.accepted[0], made.accepted[1], {**made.accepted[0], "id": "copy"}]
    source = write_jsonl(tmp_path / "in.jsonl", rows)

    with pytest.raises(InputError, match="line 3 holds the same sample as line 1"):
        create_release(sqlite_ledger, "v1", source, tmp_path / "release")


def test_a_row_release_verify_would_refuse_is_not_released(
    sqlite_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `release verify` reads rows of at most MAX_ROW bytes: a longer one would make a signed
    # release that fails its own check. The limit is lowered so the row stays small.
    made = stock(sqlite_ledger)
    source = write_jsonl(tmp_path / "in.jsonl", made.accepted)
    longest = max(len(canonical_json(output_row(row, sample_id(row)))) for row in made.accepted)
    monkeypatch.setattr("synthguard.ledger.release.create.MAX_ROW", longest)
    size = sqlite_ledger.size

    with pytest.raises(InputError, match="MiB `release verify` reads: nothing was released"):
        create_release(sqlite_ledger, "v1", source, tmp_path / "release")
    assert sqlite_ledger.size == size
    assert not [p.name for p in tmp_path.iterdir() if "release" in p.name]


def test_an_existing_out_folder_is_refused(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    made = stock(sqlite_ledger)
    out = tmp_path / "release"
    out.mkdir()
    source = write_jsonl(tmp_path / "in.jsonl", made.accepted)

    with pytest.raises(InputError, match="exists already"):
        create_release(sqlite_ledger, "v1", source, out)
    assert released_records(sqlite_ledger) == []


def test_from_a_screen_folder_and_from_parquet(
    sqlite_ledger: Ledger, ledger_key: SigningKey, tmp_path: Path
) -> None:
    made = stock(sqlite_ledger)
    screened = tmp_path / "screened"
    screened.mkdir()
    write_jsonl(screened / "accepted.jsonl", made.accepted)
    parquet = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(made.accepted), parquet)

    from_folder = create_release(sqlite_ledger, "a", screened, tmp_path / "a")
    from_parquet = create_release(sqlite_ledger, "b", parquet, tmp_path / "b")

    for result in (from_folder, from_parquet):
        assert result.statement.predicate.samples.count == 4
        assert verify_release(result.out, trusted=[ledger_key.public]).samples == 4
    assert from_folder.statement.predicate.samples == from_parquet.statement.predicate.samples
    with pytest.raises(InputError, match=r"has no accepted\.jsonl"):
        create_release(sqlite_ledger, "c", tmp_path / "b", tmp_path / "c")


def test_mixed_shapes_and_a_field_mapping_round_trip(
    sqlite_ledger: Ledger, ledger_key: SigningKey, tmp_path: Path
) -> None:
    mapping = FieldMapping.parse(["instruction=prompt", "output=completion"])
    rows: list[dict[str, Any]] = [
        {"prompt": "p1", "completion": "c1", "meta": {"lang": "en", "score": 0.5}},
        {"messages": [{"role": "user", "content": "hi"}]},
        {"text": "plain", "id": 7},
    ]
    with Recorder(sqlite_ledger, mapping=mapping) as recorder:
        for row in rows:
            recorder.generated(row, GENERATOR)
            screen(recorder, row, "accepted")
    out = tmp_path / "release"

    create_release(
        sqlite_ledger, "mapped", write_jsonl(tmp_path / "in.jsonl", rows), out, mapping=mapping
    )

    written = [json.loads(line) for line in (out / JSONL_FILE).read_text().splitlines()]
    assert [original_row(row) for row in written] == rows
    assert [row["sample_id"] for row in written] == [
        sample_from_row(row, mapping).id for row in rows
    ]
    table = pq.read_table(out / PARQUET_FILE).to_pylist()
    assert [row["prompt"] for row in table] == ["p1", None, None]
    assert statement_of(out).predicate.fields["instruction"] == "prompt"
    assert verify_release(out, trusted=[ledger_key.public]).samples == 3


def test_a_row_with_its_own_sample_id_keeps_it_beside_the_released_one(
    sqlite_ledger: Ledger, ledger_key: SigningKey, tmp_path: Path
) -> None:
    rows: list[dict[str, Any]] = [
        {**alpaca(1), "sample_id": "user-1"},
        {**alpaca(2), "sample_id": "user-2", "_sample_id": "also mine"},
        alpaca(3),
    ]
    with Recorder(sqlite_ledger) as recorder:
        for row in rows:
            recorder.generated(row, GENERATOR)
            screen(recorder, row, "accepted")
    folder = tmp_path / "screened"
    folder.mkdir()
    # The screen folder as `synthguard screen` writes it: the tool's id first, the rows' own
    # `sample_id` fields renamed aside.
    write_jsonl(folder / "accepted.jsonl", [output_row(row, sample_id(row)) for row in rows])
    out = tmp_path / "release"

    create_release(sqlite_ledger, "v1", folder, out)

    written = [json.loads(line) for line in (out / JSONL_FILE).read_text().splitlines()]
    assert [row["sample_id"] for row in written] == [sample_id(row) for row in rows]
    assert [row.get("_sample_id") for row in written] == ["user-1", "user-2", None]
    assert written[1]["__sample_id"] == "also mine"
    assert [original_row(row) for row in written] == rows
    assert pq.read_table(out / PARQUET_FILE).to_pylist()[0]["_sample_id"] == "user-1"
    assert verify_release(out, trusted=[ledger_key.public]).samples == 3
    # Read back, a released row is the row it was written from, with the same id and digest.
    for row, line in zip(rows, written, strict=True):
        assert sample_from_row(line).row == row
        assert sample_from_row(line).digest == sample_from_row(row).digest


def test_a_policy_breach_is_refused_with_its_figures(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    made = stock(sqlite_ledger)
    source = write_jsonl(tmp_path / "in.jsonl", made.accepted)

    with pytest.raises(InputError) as refused:
        create_release(
            sqlite_ledger,
            "v1",
            source,
            tmp_path / "r",
            policy_config={"max_depth": 0},
            figures=policy_figures(sqlite_ledger),
        )

    assert str(refused.value).startswith(
        "the policy refuses this release: generation depth 1 exceeds the cap of 0"
    )
    assert released_records(sqlite_ledger) == []
    assert not (tmp_path / "r").exists()


def test_a_justified_breach_is_signed_into_the_manifest_and_the_ledger(
    sqlite_ledger: Ledger, ledger_key: SigningKey, tmp_path: Path
) -> None:
    made = stock(sqlite_ledger)
    source = write_jsonl(tmp_path / "in.jsonl", made.accepted)
    policy = {"max_depth": 0, "max_synthetic_share": 100}
    why = "an ablation set, never trained on"

    result = create_release(
        sqlite_ledger,
        "v1",
        source,
        tmp_path / "r",
        policy_config=policy,
        figures=policy_figures(sqlite_ledger),
        justification=why,
    )

    signed = statement_of(tmp_path / "r").predicate.policy
    assert signed.config == policy
    assert [(b.rule, b.limit, b.actual) for b in signed.breaches] == [("max_depth", 0, 1)]
    assert signed.justification == why
    for entry in released_records(sqlite_ledger):
        assert entry.record.detail["justification"] == why
        assert entry.record.detail["policy_breaches"] == [
            {"rule": "max_depth", "limit": 0.0, "actual": 1.0}
        ]
    report = verify_release(result.out, trusted=[ledger_key.public])
    assert report.justification == why
    assert [b.rule for b in report.breaches] == ["max_depth"]
    verify_ledger(sqlite_ledger)


@pytest.mark.parametrize("name", ["", "   ", "v1\nforged line"])
def test_a_release_needs_a_printable_name(sqlite_ledger: Ledger, tmp_path: Path, name: str) -> None:
    made = stock(sqlite_ledger)
    source = write_jsonl(tmp_path / "in.jsonl", made.accepted)
    with pytest.raises(InputError, match="release"):
        create_release(sqlite_ledger, name, source, tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_the_released_record_names_its_release_and_manifest(sqlite_ledger: Ledger) -> None:
    row = alpaca(1)
    manifest = digest(b"a manifest")
    with Recorder(sqlite_ledger) as recorder:
        recorder.generated(row, GENERATOR)
        record = recorder.released(row, release="v1", manifest=manifest, detail={"note": "x"})
        with pytest.raises(InputError, match="manifest is not a sha256 digest"):
            recorder.released(row, release="v1", manifest="sha256:abc")
        with pytest.raises(InputError, match="detail may not set release"):
            recorder.released(row, release="v1", manifest=manifest, detail={"release": "v2"})
    assert record.event is Event.RELEASED
    assert record.detail == {"release": "v1", "manifest": manifest, "note": "x"}
    assert record.depth == 1  # the sample's own depth: a release makes nothing
