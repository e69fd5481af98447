"""`release verify` catches tampering: every kind names the first discrepancy precisely.

Two kinds of attacker: one who edits files without the release key (caught by signatures and
digests), and an insider who holds the release key and re-signs the manifest after editing
(caught by the proofs and the ledger signatures the insider cannot forge).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from release_stock import GENERATOR, alpaca, sample_id, screen, stock, write_jsonl

from synthguard.ledger.log.store import Ledger
from synthguard.ledger.release import verify as release_verify
from synthguard.ledger.release.create import create_release
from synthguard.ledger.release.manifest import (
    BUNDLE_FILE,
    JSONL_FILE,
    MANIFEST_FILE,
    PARQUET_FILE,
    PAYLOAD_TYPE,
    sample_root,
)
from synthguard.ledger.release.verify import verify_release
from synthguard.provenance.canonical import canonical_json
from synthguard.provenance.dsse import sign_envelope
from synthguard.provenance.errors import VerificationError
from synthguard.provenance.keys import SigningKey, VerifyingKey
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import SAMPLE_ID_FIELD, output_row

Edit = Callable[[dict[str, Any]], None]


@dataclass
class Release:
    """A release on disk, the key that signed it, and the rows it holds in order."""

    out: Path
    key: SigningKey
    rows: list[dict[str, Any]]

    def bundle_line(self, index: int) -> int:
        """The bundle line of the `index`th row's sample (after the header)."""
        return index + 2


@pytest.fixture
def release(tmp_path: Path, ledger_key: SigningKey) -> Release:
    """A release of 4 accepted, 1 human and 1 overridden sample from a SQLite ledger."""
    ledger = Ledger.create(f"sqlite:///{tmp_path / 'l.db'}", ledger_key, checkpoint_interval=10)
    try:
        made = stock(ledger)
        rows = made.releasable
        out = tmp_path / "release"
        create_release(ledger, "v1", write_jsonl(tmp_path / "in.jsonl", rows), out)
    finally:
        ledger.close()
    return Release(out, ledger_key, rows)


def failure(release: Release, *, pinned: bool = True) -> str:
    """Verify, expecting a failure; return its message."""
    trusted = [release.key.public] if pinned else None
    with pytest.raises(VerificationError) as failed:
        verify_release(release.out, trusted=trusted)
    return str(failed.value)


def read_lines(path: Path) -> list[bytes]:
    """A file's lines, newlines kept."""
    return path.read_bytes().splitlines(keepends=True)


def bundle_lines(release: Release) -> list[dict[str, Any]]:
    """The bundle, parsed line by line."""
    return [json.loads(line) for line in read_lines(release.out / BUNDLE_FILE)]


def write_bundle_lines(release: Release, lines: list[dict[str, Any]]) -> None:
    """Write parsed bundle lines back."""
    body = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    (release.out / BUNDLE_FILE).write_text(body)


def released(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as a release writes them: each with its `sample_id`."""
    return [output_row(row, sample_id(row)) for row in rows]


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    """One column per field, as a release writes it (the rows as they are given)."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    pq.write_table(pa.table({name: [row.get(name) for row in rows] for name in names}), path)


def write_data(release: Release, rows: list[dict[str, Any]]) -> None:
    """Rewrite both data files consistently with the rows as they are given."""
    (release.out / JSONL_FILE).write_bytes(b"".join(canonical_json(r) + b"\n" for r in rows))
    write_parquet(release.out / PARQUET_FILE, rows)


def write_rows(release: Release, rows: list[dict[str, Any]]) -> None:
    """Rewrite both data files consistently, each row with its `sample_id`."""
    write_data(release, released(rows))


def statement(release: Release) -> dict[str, Any]:
    """The manifest's Statement as JSON."""
    envelope = json.loads((release.out / MANIFEST_FILE).read_bytes())
    parsed: dict[str, Any] = json.loads(base64.b64decode(envelope["payload"]))
    return parsed


def resign(release: Release, key: SigningKey, edit: Edit | None = None) -> None:
    """What a key holder can do: restate every digest from the files, edit, sign again."""
    body = statement(release)
    for subject in body["subject"]:
        subject["digest"] = {"sha256": _sha256(release.out / subject["name"])}
    body["predicate"]["bundle"]["digest"] = {"sha256": _sha256(release.out / BUNDLE_FILE)}
    if edit is not None:
        edit(body)
    signed = sign_envelope(canonical_json(body), PAYLOAD_TYPE, key)
    (release.out / MANIFEST_FILE).write_bytes(signed)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recount(rows: list[dict[str, Any]]) -> Edit:
    """An edit restating the sample count and root for `rows`."""

    def edit(body: dict[str, Any]) -> None:
        ids = [sample_id(row) for row in rows]
        body["predicate"]["samples"]["count"] = len(ids)
        body["predicate"]["samples"]["merkle_root"] = base64.b64encode(sample_root(ids)).decode()

    return edit


def test_an_untouched_release_verifies_pinned_and_unpinned(release: Release) -> None:
    pinned = verify_release(release.out, trusted=[release.key.public])
    carried = verify_release(release.out)
    assert (pinned.pinned, carried.pinned) == (True, False)
    assert pinned.signer == carried.signer == release.key.key_id
    assert pinned.samples == len(release.rows)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda lines: [lines[0], lines[1].replace(b"add", b"sub"), *lines[2:]], id="changed"
        ),
        pytest.param(lambda lines: lines[:2] + lines[3:], id="removed"),
        pytest.param(lambda lines: [*lines, canonical_json(alpaca(99)) + b"\n"], id="added"),
    ],
)
def test_a_changed_removed_or_added_data_row_breaks_the_digest(
    release: Release, change: Callable[[list[bytes]], list[bytes]]
) -> None:
    path = release.out / JSONL_FILE
    path.write_bytes(b"".join(change(read_lines(path))))
    assert failure(release) == f"{JSONL_FILE}: its SHA-256 differs from the one the manifest signed"


def test_a_row_removed_and_re_signed_is_caught_by_the_bundle(release: Release) -> None:
    kept = release.rows[:2] + release.rows[3:]
    write_rows(release, kept)
    resign(release, release.key, recount(kept))

    assert failure(release) == (
        f"{BUNDLE_FILE} line {release.bundle_line(2)}: sample {sample_id(release.rows[2])} "
        f"is not a sample of {JSONL_FILE}"
    )


def test_a_row_added_and_re_signed_has_no_proofs(release: Release) -> None:
    extra = alpaca(99, "smuggled")
    rows = [*release.rows, extra]
    write_rows(release, rows)
    resign(release, release.key, recount(rows))

    assert failure(release) == (
        f"{JSONL_FILE} line {len(rows)}: sample {sample_id(extra)} has no proofs in {BUNDLE_FILE}"
    )


def test_a_row_changed_and_re_signed_is_caught_by_the_bundle(release: Release) -> None:
    rows = [dict(row) for row in release.rows]
    rows[1]["output"] = "a different answer"
    write_rows(release, rows)
    resign(release, release.key, recount(rows))

    assert failure(release) == (
        f"{BUNDLE_FILE} line {release.bundle_line(1)}: sample {sample_id(release.rows[1])} "
        f"is not a sample of {JSONL_FILE}"
    )


def test_a_changed_manifest_fails_its_signature(release: Release) -> None:
    envelope = json.loads((release.out / MANIFEST_FILE).read_bytes())
    body = json.loads(base64.b64decode(envelope["payload"]))
    body["predicate"]["name"] = "v2"
    envelope["payload"] = base64.b64encode(canonical_json(body)).decode()
    (release.out / MANIFEST_FILE).write_text(json.dumps(envelope))

    for pinned in (True, False):
        expected = "the pinned key" if pinned else "a key the release carries"
        assert failure(release, pinned=pinned) == (
            f"{MANIFEST_FILE}: signature does not verify (expected {expected})"
        )


def test_a_manifest_signed_by_another_key_is_refused(release: Release) -> None:
    forger = SigningKey.generate()
    resign(release, forger)

    assert failure(release) == (
        f"{MANIFEST_FILE}: signed by an unknown key ({forger.key_id}) (expected the pinned key)"
    )
    assert failure(release, pinned=False).startswith(
        f"{MANIFEST_FILE}: signed by an unknown key ({forger.key_id})"
    )


def test_a_forger_who_also_plants_a_key_passes_only_unpinned(release: Release) -> None:
    forger = SigningKey.generate()
    lines = bundle_lines(release)
    public = base64.b64encode(forger.public.raw).decode()
    lines[0]["keys"].append({"key_id": forger.key_id, "public_key": public})
    write_bundle_lines(release, lines)

    def list_key(body: dict[str, Any]) -> None:
        body["predicate"]["keys"] = sorted([*body["predicate"]["keys"], forger.key_id])

    resign(release, forger, list_key)

    carried = verify_release(release.out)
    assert (carried.signer, carried.pinned) == (forger.key_id, False)
    assert failure(release).startswith(f"{MANIFEST_FILE}: signed by an unknown key")


def test_a_changed_proof_names_line_sample_and_entry(release: Release) -> None:
    lines = bundle_lines(release)
    record = lines[1]["records"][0]
    proof = [base64.b64decode(node) for node in record["proof"]]
    proof[0] = bytes([proof[0][0] ^ 1]) + proof[0][1:]
    record["proof"] = [base64.b64encode(node).decode() for node in proof]
    write_bundle_lines(release, lines)

    message = failure(release)
    seq = record["seq"]
    assert message.startswith(
        f"{BUNDLE_FILE} line 2: sample {sample_id(release.rows[0])}, entry {seq}: "
        f"inclusion proof for leaf {seq} of "
    )
    assert "leads to root" in message


def test_a_record_signed_by_an_unlisted_key_is_refused(release: Release) -> None:
    lines = bundle_lines(release)
    record = lines[1]["records"][0]
    original = json.loads(base64.b64decode(record["envelope"]))
    payload = base64.b64decode(original["payload"])
    forged = sign_envelope(payload, original["payloadType"], SigningKey.generate())
    record["envelope"] = base64.b64encode(forged).decode()
    write_bundle_lines(release, lines)

    assert failure(release).startswith(
        f"{BUNDLE_FILE} line 2: sample {sample_id(release.rows[0])}, entry {record['seq']}: "
        "signed by an unknown key"
    )


def test_a_record_about_another_sample_is_refused(release: Release) -> None:
    lines = bundle_lines(release)
    lines[1]["records"][1] = lines[2]["records"][1]
    write_bundle_lines(release, lines)

    message = failure(release)
    assert message.startswith(f"{BUNDLE_FILE} line 2: sample {sample_id(release.rows[0])}, entry")
    assert message.endswith(f"the record is about sample {sample_id(release.rows[1])}")


def test_a_parquet_file_that_disagrees_with_the_jsonl_is_caught(release: Release) -> None:
    rows = [dict(row) for row in release.rows]
    rows[1]["output"] = "tampered in the Parquet copy only"
    write_parquet(release.out / PARQUET_FILE, released(rows))

    assert failure(release) == (
        f"{PARQUET_FILE}: its SHA-256 differs from the one the manifest signed"
    )
    resign(release, release.key)
    assert failure(release) == (
        f"{PARQUET_FILE} row 2 differs from {JSONL_FILE} line 2 "
        f"(sample {sample_id(release.rows[1])})"
    )


def test_a_parquet_file_missing_a_row_is_caught(release: Release) -> None:
    write_parquet(release.out / PARQUET_FILE, released(release.rows[:-1]))
    resign(release, release.key)
    assert failure(release) == (
        f"{PARQUET_FILE}: the row counts differ from {JSONL_FILE} after {len(release.rows)} rows"
    )


def test_every_released_row_carries_the_id_of_its_content(release: Release) -> None:
    text = [json.loads(line) for line in read_lines(release.out / JSONL_FILE)]
    table = pq.read_table(release.out / PARQUET_FILE).to_pylist()
    ids = [sample_id(row) for row in release.rows]
    assert [row[SAMPLE_ID_FIELD] for row in text] == ids
    assert [row[SAMPLE_ID_FIELD] for row in table] == ids
    assert pq.read_table(release.out / PARQUET_FILE).column_names[0] == SAMPLE_ID_FIELD


def test_a_tampered_sample_id_is_a_discrepancy(release: Release) -> None:
    rows = released(release.rows)
    rows[2][SAMPLE_ID_FIELD] = sample_id(release.rows[3])
    write_data(release, rows)
    resign(release, release.key)

    assert failure(release) == (
        f"{JSONL_FILE} line 3: its {SAMPLE_ID_FIELD} {sample_id(release.rows[3])!r} is not the "
        f"id of its content ({sample_id(release.rows[2])})"
    )


def test_a_sample_id_tampered_in_the_parquet_copy_only_is_caught(release: Release) -> None:
    rows = released(release.rows)
    rows[0][SAMPLE_ID_FIELD] = "sha256:" + "0" * 64
    write_parquet(release.out / PARQUET_FILE, rows)
    resign(release, release.key)

    assert failure(release) == (
        f"{PARQUET_FILE} row 1 differs from {JSONL_FILE} line 1 "
        f"(sample {sample_id(release.rows[0])})"
    )


def test_a_row_without_the_sample_id_the_others_carry_is_caught(release: Release) -> None:
    rows = released(release.rows)
    del rows[1][SAMPLE_ID_FIELD]
    write_data(release, rows)
    resign(release, release.key)

    assert failure(release) == (
        f"{JSONL_FILE} line 2: carries no {SAMPLE_ID_FIELD}, but the lines before it do"
    )


def test_a_release_from_before_rows_carried_their_id_still_verifies(release: Release) -> None:
    write_data(release, release.rows)
    resign(release, release.key)

    assert verify_release(release.out, trusted=[release.key.public]).samples == len(release.rows)


def test_a_forged_checkpoint_signature_is_caught(release: Release) -> None:
    lines = bundle_lines(release)
    body, _, signature = lines[0]["checkpoint"].partition("\n\n")
    dash, name, blob = signature.strip().split(" ")
    raw = base64.b64decode(blob)
    forged = raw[:4] + bytes(64)
    lines[0]["checkpoint"] = f"{body}\n\n{dash} {name} {base64.b64encode(forged).decode()}\n"
    write_bundle_lines(release, lines)

    size = statement(release)["predicate"]["checkpoint"]["size"]
    assert failure(release) == (
        f"{BUNDLE_FILE} line 1: checkpoint at size {size} has no valid signature by a known "
        "ledger key"
    )


def test_a_dropped_screened_record_is_caught(release: Release) -> None:
    lines = bundle_lines(release)
    lines[1]["records"] = lines[1]["records"][:1]  # generated, without its screened record
    write_bundle_lines(release, lines)

    assert failure(release) == (
        f"{BUNDLE_FILE} line 2: sample {sample_id(release.rows[0])} has no screened record"
    )


def test_a_dropped_override_leaves_the_sample_quarantined(release: Release) -> None:
    index = len(release.rows) - 1  # the overridden sample is last
    lines = bundle_lines(release)
    records = lines[index + 1]["records"]
    screened_seq = records[1]["seq"]
    lines[index + 1]["records"] = records[:2]
    write_bundle_lines(release, lines)

    assert failure(release) == (
        f"{BUNDLE_FILE} line {release.bundle_line(index)}: sample "
        f"{sample_id(release.rows[index])} is quarantined (entry {screened_seq}) and no signed "
        "override follows"
    )


def test_a_sample_with_two_lines_is_caught(release: Release) -> None:
    lines = bundle_lines(release)
    write_bundle_lines(release, [*lines, lines[1]])

    assert failure(release) == (
        f"{BUNDLE_FILE} line {len(lines) + 1}: sample {sample_id(release.rows[0])} has a line "
        "already (line 2)"
    )


def test_reordered_bundle_lines_break_the_bundle_digest(release: Release) -> None:
    lines = bundle_lines(release)
    lines[1], lines[2] = lines[2], lines[1]
    write_bundle_lines(release, lines)

    assert failure(release) == (
        f"{BUNDLE_FILE}: its SHA-256 differs from the one the manifest signed (a record line "
        "was added, dropped or changed)"
    )


def test_counts_a_key_holder_restates_are_checked_against_the_records(release: Release) -> None:
    def inflate(body: dict[str, Any]) -> None:
        body["predicate"]["counts"]["by_outcome"] = {"accepted": len(release.rows)}

    resign(release, release.key, inflate)

    assert failure(release).startswith(f"{MANIFEST_FILE}: the counts it signed (")


def test_a_missing_bundle_is_caught(release: Release) -> None:
    (release.out / BUNDLE_FILE).unlink()
    assert failure(release).startswith(f"{BUNDLE_FILE}: cannot read the proof bundle")


def test_the_trusted_key_is_any_of_several(release: Release) -> None:
    others: list[VerifyingKey] = [SigningKey.generate().public, release.key.public]
    assert verify_release(release.out, trusted=others).pinned


LARGE = release_verify._PARALLEL_FROM + 300


@pytest.fixture
def large_release(tmp_path: Path, ledger_key: SigningKey) -> Release:
    """A release above the process-pool threshold."""
    ledger = Ledger.create(f"sqlite:///{tmp_path / 'l.db'}", ledger_key)
    rows = [alpaca(i, "large") for i in range(LARGE)]
    try:
        with Recorder(ledger, batch_size=1000) as recorder, recorder.batch():
            for row in rows:
                recorder.generated(row, GENERATOR)
                screen(recorder, row, "accepted")
        out = tmp_path / "release"
        create_release(ledger, "large", write_jsonl(tmp_path / "in.jsonl", rows), out)
    finally:
        ledger.close()
    return Release(out, ledger_key, rows)


def test_a_large_release_verifies_on_a_process_pool(large_release: Release) -> None:
    seen: list[int] = []
    trusted = [large_release.key.public]

    parallel = verify_release(large_release.out, trusted=trusted, workers=2, progress=seen.append)
    serial = verify_release(large_release.out, trusted=trusted, workers=1)

    assert parallel == serial
    assert parallel.samples == parallel.records // 2 == LARGE
    assert sum(seen) == LARGE
    assert len(seen) > 2  # one call per run of lines: the work was split


@pytest.mark.parametrize("workers", [1, 2])
def test_the_first_bad_line_deep_inside_is_named_either_way(
    large_release: Release, workers: int
) -> None:
    lines = bundle_lines(large_release)
    for index in (LARGE - 10, 1900):
        record = lines[index + 1]["records"][0]
        record["proof"] = list(reversed(record["proof"]))
    write_bundle_lines(large_release, lines)

    with pytest.raises(VerificationError) as failed:
        verify_release(large_release.out, trusted=[large_release.key.public], workers=workers)

    first = lines[1901]
    assert str(failed.value).startswith(
        f"{BUNDLE_FILE} line {large_release.bundle_line(1900)}: sample {first['sample_id']}, "
        f"entry {first['records'][0]['seq']}: inclusion proof"
    )
    assert failed.value.seq == first["records"][0]["seq"]
