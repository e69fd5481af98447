"""The proof bundle: what a recipient needs, without the ledger, to check a release's lineage.

JSONL, so that a release of any size streams. Line 1 is the header: the format, the signed
checkpoint note every proof leads to, and the public keys that signed the records, the
checkpoint and the manifest. Each further line is one released sample: its id and every lineage
record about it below the checkpoint, each as the exact envelope bytes the ledger stores
(base64), its seq, and its RFC 6962 inclusion proof in the checkpoint's tree (base64 hashes,
bottom up). A record's leaf is `<seq>\\n<envelope>`, as in the ledger.

A bundle arrives in a folder its recipient did not make, and is read before its digest can be
checked: it is opened only as a regular file (`open_regular`), and a line longer than
MAX_LINE is refused before it is parsed, so neither a FIFO, a device nor one endless line can
hang the reader or fill its memory.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, BinaryIO

from synthguard.provenance.errors import InputError, KeyringError, VerificationError
from synthguard.provenance.keys import VerifyingKey

BUNDLE_FORMAT = "synthguard-release-bundle/v1"

MAX_LINE = 16 << 20
"""The longest bundle line, newline included: one sample's records and proofs (thousands)."""

# Lines handed on at once: up to a count (`chunks(size)`) or about this many bytes.
_CHUNK_BYTES = 4 << 20

_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symbolic link",
}


def open_regular(path: Path) -> BinaryIO:
    """Open a file of a release folder for reading; VerificationError naming it unless it is a
    regular file there (not a symbolic link, FIFO, device, socket or folder), OSError when it
    cannot be opened (missing, say).

    O_NOFOLLOW refuses a symbolic link (to /dev/zero, or out of the folder) and O_NONBLOCK
    makes opening a FIFO return at once; the opened file's own fstat then decides, so the
    name cannot be swapped between the check and the read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENXIO, errno.EOPNOTSUPP):
            raise _not_regular(path, _kind(path)) from exc
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, _KINDS.get(stat.S_IFMT(mode), "not a file"))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(path: Path) -> str:
    try:
        return _KINDS.get(stat.S_IFMT(os.lstat(path).st_mode), "not a file")
    except OSError:
        return "not a file"


def _not_regular(path: Path, kind: str) -> VerificationError:
    return VerificationError(f"{path.name}: {kind}, not a regular file; a release holds only those")


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
            if len(line) > MAX_LINE:
                # Readers refuse such a line unread: do not publish what cannot be verified.
                what = value.get("sample_id", "the header")
                raise InputError(
                    f"{what}: its records and proofs need {len(line)} bytes, more than the "
                    f"{MAX_LINE >> 20} MiB a bundle line may hold"
                )
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

    Every malformed line, or one longer than MAX_LINE, is a VerificationError naming the file
    and line; anything but a regular file is refused before a byte is read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file: IO[bytes] = open_regular(path)
        except OSError as exc:
            raise VerificationError(
                f"{path.name}: cannot read the proof bundle: {exc.strerror or exc}"
            ) from exc
        self._hasher = hashlib.sha256()
        self._done = False
        try:
            self.header = self._header(self._line(1))
        except BaseException:
            self._file.close()
            raise

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
        held = 0
        while raw := self._read(number + len(batch)):
            batch.append(raw)
            held += len(raw)
            if len(batch) == size or held >= _CHUNK_BYTES:
                yield number, batch
                number += len(batch)
                batch = []
                held = 0
        if batch:
            yield number, batch
        self._done = True

    def hexdigest(self) -> str:
        """The hex SHA-256 of the whole file, once the lines have been read to the end."""
        if not self._done:
            raise RuntimeError("the bundle has not been read to the end")
        return self._hasher.hexdigest()

    def _line(self, number: int) -> Any:
        raw = self._read(number)
        if not raw:
            raise self._error(number, "the file ends before its header")
        return _parse(self.path.name, number, raw)

    def _read(self, number: int) -> bytes:
        """Line `number`, hashed; b"" at the end; VerificationError if it is too long."""
        raw = self._file.readline(MAX_LINE + 1)
        if len(raw) > MAX_LINE:
            raise self._error(number, f"longer than {MAX_LINE >> 20} MiB, the most a line may be")
        self._hasher.update(raw)
        return raw

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
