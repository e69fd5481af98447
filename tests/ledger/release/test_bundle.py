"""The v2 proof bundle as a file: records written once, in the smaller form that gives back
their exact envelope bytes, and read back as a stream whatever the form."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from synthguard.ledger.release.bundle import (
    BUNDLE_FORMAT_V1,
    NODES_PER_LINE,
    BundleHeader,
    BundleReader,
    ProvenRecord,
    SampleProofs,
    write_bundle,
)
from synthguard.provenance.dsse import sign_envelope
from synthguard.provenance.errors import VerificationError
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.record import RECORD_TYPE


def lines_of(path: Path) -> list[dict[str, Any]]:
    """The bundle's lines, inflated and parsed."""
    return [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]


def test_records_round_trip_byte_for_byte_in_their_smaller_form(tmp_path: Path) -> None:
    key = SigningKey.generate()
    canonical = sign_envelope(
        b'{"event":"generated","note":"caf\xc3\xa9 \\"q\\""}', RECORD_TYPE, key
    )
    # The same signature, but not the canonical envelope: only the envelope itself gives it back.
    spaced = json.dumps(json.loads(canonical), indent=1).encode()
    other_type = sign_envelope(b"{}", "application/json", key)
    records = [ProvenRecord(3, canonical), ProvenRecord(5, spaced), ProvenRecord(9, other_type)]
    nodes = [i.to_bytes(32, "big") for i in range(NODES_PER_LINE + 1)]
    path = tmp_path / "bundle.jsonl"

    sha256 = write_bundle(
        path, BundleHeader("note", {key.key_id: key.public}), [SampleProofs("s", records)], nodes
    )

    written = lines_of(path)
    assert written[0]["samples"] == 1
    assert written[0]["nodes"] == len(nodes)
    forms = [sorted(record) for record in written[1]["records"]]
    assert forms == [
        ["keyid", "record", "seq", "sig"],
        ["envelope", "seq"],
        ["envelope", "seq"],
    ]
    assert [len(line["nodes"]) for line in written[2:]] == [NODES_PER_LINE, 1]
    with BundleReader(path) as bundle:
        assert bundle.header.multiproof
        assert [(k, v.raw) for k, v in bundle.header.keys.items()] == [(key.key_id, key.public.raw)]
        [(number, sample)] = list(bundle.samples())
        assert (number, sample.sample_id) == (2, "s")
        assert sample.records == records
        assert list(bundle.nodes()) == nodes
        assert bundle.hexdigest() == sha256


def test_the_digest_is_known_only_once_read_to_the_end(tmp_path: Path) -> None:
    key = SigningKey.generate()
    path = tmp_path / "bundle.jsonl"
    record = ProvenRecord(0, sign_envelope(b"{}", RECORD_TYPE, key))
    write_bundle(path, BundleHeader("note", {}), [SampleProofs("s", [record])], [])

    with BundleReader(path) as bundle:
        list(bundle.samples())
        with pytest.raises(RuntimeError, match="not been read to the end"):
            bundle.hexdigest()
        assert list(bundle.nodes()) == []
        assert len(bundle.hexdigest()) == 64


def test_a_record_is_written_once_as_text_not_base64(tmp_path: Path) -> None:
    key = SigningKey.generate()
    payload = b'{"event":"generated"}'
    path = tmp_path / "bundle.jsonl"
    record = ProvenRecord(0, sign_envelope(payload, RECORD_TYPE, key))
    write_bundle(path, BundleHeader("note", {}), [SampleProofs("s", [record])], [])

    text = gzip.decompress(path.read_bytes())
    assert text.count(b"generated") == 1
    assert base64.b64encode(payload) not in text


def test_the_compression_must_be_the_formats(tmp_path: Path) -> None:
    key = SigningKey.generate()
    path = tmp_path / "bundle.jsonl"
    record = ProvenRecord(0, sign_envelope(b"{}", RECORD_TYPE, key))
    write_bundle(path, BundleHeader("note", {}), [SampleProofs("s", [record])], [])
    plain = gzip.decompress(path.read_bytes())
    v1_header = json.dumps({"format": BUNDLE_FORMAT_V1, "checkpoint": "note", "keys": []})

    cases = [
        (plain, "bundle is a gzip stream, and this one is not"),
        (gzip.compress(v1_header.encode() + b"\n"), "bundle is plain text, and this one is not"),
    ]
    for content, message in cases:
        path.write_bytes(content)
        with pytest.raises(VerificationError, match=message), BundleReader(path):
            pass
