"""The proof bundle: what a recipient needs, without the ledger, to check a release's lineage.

JSONL, so that a release of any size streams. Line 1 is the header: the format, the signed
checkpoint note every proof leads to, and the public keys that signed the records, the
checkpoint and the manifest. Each further line is one released sample: its id and every lineage
record about it below the checkpoint, each as the exact envelope bytes the ledger stores
(base64), its seq, and its RFC 6962 inclusion proof in the checkpoint's tree (base64 hashes,
bottom up). A record's leaf is `<seq>\\n<envelope>`, as in the ledger.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from synthguard.provenance.errors import KeyringError, VerificationError
from synthguard.provenance.keys import VerifyingKey

BUNDLE_FORMAT = "synthguard-release-bundle/v1"


@dataclass(frozen=True, slots=True)
class ProvenRecord:
    """One ledger entry and its inclusion proof."""

    seq: int
    envelope: bytes
    proof: list[bytes]


@dataclass(frozen=True, slots=True)
class SampleProofs:
    """One released sample and its records, in ledger order."""

    sample_id: str
    records: list[ProvenRecord]


@dataclass(frozen=True, slots=True)
class BundleHeader:
    """The checkpoint note the proofs lead to, and the public keys by key id."""

    checkpoint: str
    keys: dict[str, VerifyingKey]


def write_bundle(path: Path, header: BundleHeader, samples: Iterable[SampleProofs]) -> str:
    """Write a bundle file, one line per sample; return the hex SHA-256 of its bytes."""
    hasher = hashlib.sha256()
    with path.open("wb") as out:
        first = {
            "format": BUNDLE_FORMAT,
            "checkpoint": header.checkpoint,
            "keys": [
                {"key_id": key_id, "public_key": _b64(key.raw)}
                for key_id, key in sorted(header.keys.items())
            ],
        }
        for value in (first, *(_sample_json(sample) for sample in samples)):
            line = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
            hasher.update(line)
            out.write(line)
    return hasher.hexdigest()


def _sample_json(sample: SampleProofs) -> dict[str, Any]:
    return {
        "sample_id": sample.sample_id,
        "records": [
            {
                "seq": record.seq,
                "envelope": _b64(record.envelope),
                "proof": [_b64(node) for node in record.proof],
            }
            for record in sample.records
        ],
    }


class BundleReader:
    """Reads a bundle file: the header at once, the samples as a stream, hashing every byte.

    Every malformed line is a VerificationError naming the file and line.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file: IO[bytes] = path.open("rb")
        except OSError as exc:
            raise VerificationError(
                f"{path.name}: cannot read the proof bundle: {exc.strerror or exc}"
            ) from exc
        self._hasher = hashlib.sha256()
        self._done = False
        self.header = self._header(self._line(1))

    def __enter__(self) -> BundleReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def samples(self) -> Iterator[tuple[int, SampleProofs]]:
        """Yield (line number, sample) for every line after the header."""
        for number, lines in self.chunks(1):
            yield number, read_sample_line(self.path.name, number, lines[0])

    def chunks(self, size: int) -> Iterator[tuple[int, list[bytes]]]:
        """Yield the lines after the header unparsed, `size` at a time, each batch with the
        number of its first line (for `read_sample_line`, in another process if need be)."""
        number = 2
        batch: list[bytes] = []
        for raw in self._file:
            self._hasher.update(raw)
            batch.append(raw)
            if len(batch) == size:
                yield number, batch
                number += size
                batch = []
        if batch:
            yield number, batch
        self._done = True

    def hexdigest(self) -> str:
        """The hex SHA-256 of the whole file, once the lines have been read to the end."""
        if not self._done:
            raise RuntimeError("the bundle has not been read to the end")
        return self._hasher.hexdigest()

    def _line(self, number: int) -> Any:
        raw = self._file.readline()
        self._hasher.update(raw)
        if not raw:
            raise self._error(number, "the file ends before its header")
        return _parse(self.path.name, number, raw)

    def _error(self, number: int, message: str) -> VerificationError:
        return _error(self.path.name, number, message)

    def _header(self, value: Any) -> BundleHeader:
        if not isinstance(value, dict) or value.get("format") != BUNDLE_FORMAT:
            raise self._error(1, f"not a {BUNDLE_FORMAT} header")
        note = value.get("checkpoint")
        entries = value.get("keys")
        if not isinstance(note, str) or not isinstance(entries, list):
            raise self._error(1, "the header needs a checkpoint note and a list of keys")
        keys: dict[str, VerifyingKey] = {}
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("key_id"), str):
                raise self._error(1, f"key {i} is not a key id and public key")
            try:
                key = VerifyingKey(_unb64(entry.get("public_key")))
            except (ValueError, KeyringError) as exc:
                raise self._error(1, f"key {entry['key_id']} is not an Ed25519 public key") from exc
            if key.key_id != entry["key_id"]:
                raise self._error(1, f"the public key listed as {entry['key_id']} has another id")
            keys[key.key_id] = key
        return BundleHeader(checkpoint=note, keys=keys)


def read_sample_line(name: str, number: int, raw: bytes) -> SampleProofs:
    """Parse line `number` of the bundle file `name`; VerificationError naming both if bad."""
    value = _parse(name, number, raw)
    if not isinstance(value, dict) or not isinstance(value.get("sample_id"), str):
        raise _error(name, number, "not a sample line (no sample_id)")
    sample_id = value["sample_id"]
    records = value.get("records")
    if not isinstance(records, list) or not records:
        raise _error(name, number, f"sample {sample_id} lists no records")
    proven = []
    for i, record in enumerate(records):
        seq = record.get("seq") if isinstance(record, dict) else None
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise _error(name, number, f"sample {sample_id}, record {i}: no seq")
        proof = record.get("proof")
        try:
            if not isinstance(proof, list):
                raise ValueError("the proof is not a list")
            proven.append(
                ProvenRecord(seq, _unb64(record.get("envelope")), [_unb64(h) for h in proof])
            )
        except ValueError as exc:
            raise _error(
                name, number, f"sample {sample_id}, entry {seq}: envelope or proof is not base64"
            ) from exc
    return SampleProofs(sample_id, proven)


def _parse(name: str, number: int, raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _error(name, number, "not a JSON line") from exc


def _error(name: str, number: int, message: str) -> VerificationError:
    return VerificationError(f"{name} line {number}: {message}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a base64 string")
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error as exc:
        raise ValueError(str(exc)) from exc
