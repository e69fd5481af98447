"""The proof bundle: what a recipient needs, without the ledger, to check a release's lineage.

Format v2 (BUNDLE_FORMAT) is JSON lines in one gzip stream, so that a release of any size
streams. Line 1 is the header: the format, the signed checkpoint note the proofs lead to, the
public keys that signed the records, the checkpoint and the manifest, and how many sample lines
and proof nodes follow. Each sample line is one released sample: its id and every lineage record
about it below the checkpoint, in ledger order, each with its seq and the envelope the ledger
stores, written once: as its signed payload (the record's JSON text), key id and signature when
the canonical envelope of those is the stored one byte for byte, else as the envelope itself
(base64). A record's leaf is `<seq>\\n<envelope>`, as in the ledger. The last lines hold one
multiproof for all the records at once: the tree nodes, base64, that the bundled leaves cannot
compute themselves, in the one order `verify_multiproof` accepts.

Format v1 bundles (plain JSON lines, each record base64 with its own inclusion proof) are read
as before.

A bundle arrives in a folder its recipient did not make, and is read before its digest can be
checked: it is opened only as a regular file (`open_regular`), it is inflated a bounded piece
at a time, and a line longer than MAX_LINE is refused before it is parsed, so neither a FIFO, a
device, a compression bomb nor one endless line can hang the reader or fill its memory.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import json
import os
import stat
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from types import TracebackType
from typing import IO, Any, BinaryIO

from synthguard.ledger.log import HASH_SIZE
from synthguard.provenance.dsse import envelope_bytes
from synthguard.provenance.errors import InputError, KeyringError, VerificationError
from synthguard.provenance.keys import VerifyingKey
from synthguard.provenance.named_file import FILE_KINDS, writing
from synthguard.provenance.record import RECORD_TYPE

BUNDLE_FORMAT = "synthguard-release-bundle/v2"
BUNDLE_FORMAT_V1 = "synthguard-release-bundle/v1"
"""The format before v2: still read, never written."""

MAX_LINE = 16 << 20
"""The longest bundle line, newline included: one sample's records and proofs (thousands)."""

NODES_PER_LINE = 4096
"""Multiproof nodes written on one line."""

# Lines handed on at once: up to a count (`chunks(size)`) or about this many bytes.
_CHUNK_BYTES = 4 << 20
_READ_CHUNK = 1 << 20
# Bytes inflated at once, whatever a compressed chunk expands to.
_INFLATE = 1 << 20
_GZIP = 31  # zlib's wbits for a gzip stream
_GZIP_MAGIC = b"\x1f\x8b"
_LEVEL = 6


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
            raise _not_regular(path, FILE_KINDS.get(stat.S_IFMT(mode), "not a file"))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(path: Path) -> str:
    try:
        return FILE_KINDS.get(stat.S_IFMT(os.lstat(path).st_mode), "not a file")
    except OSError:
        return "not a file"


def _not_regular(path: Path, kind: str) -> VerificationError:
    return VerificationError(f"{path.name}: {kind}, not a regular file; a release holds only those")


@dataclass(frozen=True, slots=True)
class ProvenRecord:
    """One ledger entry, and its own inclusion proof in a v1 bundle (None in v2, where the
    bundle's multiproof proves every record at once)."""

    seq: int
    envelope: bytes
    proof: list[bytes] | None = None


@dataclass(frozen=True, slots=True)
class SampleProofs:
    """One released sample and its records, in ledger order."""

    sample_id: str
    records: list[ProvenRecord]


@dataclass(frozen=True, slots=True)
class BundleHeader:
    """The checkpoint note the proofs lead to, the public keys by key id, and (v2) how many
    sample lines and multiproof nodes follow."""

    checkpoint: str
    keys: dict[str, VerifyingKey]
    format: str = BUNDLE_FORMAT
    samples: int | None = None
    nodes: int | None = None

    @property
    def multiproof(self) -> bool:
        """Whether one multiproof proves all the records (v2), not a proof per record (v1)."""
        return self.format == BUNDLE_FORMAT


def write_bundle(
    path: Path,
    header: BundleHeader,
    samples: Sequence[SampleProofs],
    nodes: Sequence[bytes],
) -> str:
    """Write a v2 bundle: the header, one line per sample (records without proofs), then the
    multiproof `nodes` of all their leaves; return the hex SHA-256 of the file's bytes."""
    hasher = hashlib.sha256()
    deflate = zlib.compressobj(_LEVEL, zlib.DEFLATED, _GZIP)
    first = {
        "format": BUNDLE_FORMAT,
        "checkpoint": header.checkpoint,
        "keys": [
            {"key_id": key_id, "public_key": _b64(key.raw)}
            for key_id, key in sorted(header.keys.items())
        ],
        "samples": len(samples),
        "nodes": len(nodes),
    }
    runs = (nodes[i : i + NODES_PER_LINE] for i in range(0, len(nodes), NODES_PER_LINE))
    with writing(path), path.open("wb") as out:
        values = chain(
            [first],
            (_sample_json(sample) for sample in samples),
            ({"nodes": [_b64(node) for node in run]} for run in runs),
        )
        for value in values:
            line = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
            if len(line) > MAX_LINE:
                # Readers refuse such a line unread: do not publish what cannot be verified.
                what = value.get("sample_id", "the header")
                raise InputError(
                    f"{what}: its records need {len(line)} bytes, more than the "
                    f"{MAX_LINE >> 20} MiB a bundle line may hold"
                )
            packed = deflate.compress(line)
            hasher.update(packed)
            out.write(packed)
        packed = deflate.flush()
        hasher.update(packed)
        out.write(packed)
    return hasher.hexdigest()


def _sample_json(sample: SampleProofs) -> dict[str, Any]:
    return {
        "sample_id": sample.sample_id,
        "records": [_record_json(record) for record in sample.records],
    }


def _record_json(record: ProvenRecord) -> dict[str, Any]:
    """A record as its payload text, key id and signature when those rebuild its envelope
    exactly (base64 would cost a third more, twice over), else as the envelope in base64."""
    try:
        value = json.loads(record.envelope)
        (signature,) = value["signatures"]
        keyid, sig = signature["keyid"], signature["sig"]
        text = binascii.a2b_base64(value["payload"], strict_mode=True).decode("utf-8")
        if (
            value["payloadType"] == RECORD_TYPE
            and isinstance(keyid, str)
            and isinstance(sig, str)
            and envelope_of(text, keyid, sig) == record.envelope
        ):
            return {"seq": record.seq, "record": text, "keyid": keyid, "sig": sig}
    except (ValueError, KeyError, TypeError, binascii.Error):
        pass  # not the canonical one-signature record envelope: carried as it is
    return {"seq": record.seq, "envelope": _b64(record.envelope)}


def envelope_of(record: str, keyid: str, sig: str) -> bytes:
    """The canonical (RFC 8785) one-signature DSSE envelope of a lineage record's JSON text."""
    return envelope_bytes(record.encode(), RECORD_TYPE, keyid, sig)


class _Source:
    """A bundle file's lines: its bytes read a chunk at a time and hashed, then inflated when
    they are a gzip stream (v2), at most _INFLATE bytes at a time whatever they expand to."""

    def __init__(self, name: str, file: IO[bytes]) -> None:
        self.name = name
        self._file = file
        self.hasher = hashlib.sha256()
        self.ended = False
        first = self._raw()
        self._inflater = zlib.decompressobj(_GZIP) if first.startswith(_GZIP_MAGIC) else None
        self._buffer = self._inflate(first) if self._inflater is not None else first
        self._pos = 0

    @property
    def compressed(self) -> bool:
        """Whether the file is a gzip stream."""
        return self._inflater is not None

    def readline(self, limit: int) -> bytes:
        """The next line, newline included; at most `limit` bytes of it; b"" at the end."""
        scanned = self._pos
        while True:
            end = self._buffer.find(b"\n", scanned, self._pos + limit)
            if end >= 0 or len(self._buffer) - self._pos >= limit:
                stop = end + 1 if end >= 0 else self._pos + limit
                line = self._buffer[self._pos : stop]
                self._pos = stop
                return line
            scanned = len(self._buffer)
            more = self._more()
            if not more:
                line = self._buffer[self._pos :]
                self._buffer, self._pos = b"", 0
                return line
            self._buffer = self._buffer[self._pos :] + more
            scanned -= self._pos
            self._pos = 0

    def _raw(self) -> bytes:
        chunk = self._file.read(_READ_CHUNK)
        self.hasher.update(chunk)
        return chunk

    def _more(self) -> bytes:
        """The next bytes of the lines, b"" at their end (when the file has been hashed whole)."""
        if self._inflater is None:
            chunk = self._raw()
            self.ended = not chunk
            return chunk
        while True:
            if self._inflater.unconsumed_tail:
                data = self._inflate(self._inflater.unconsumed_tail)
            elif self._inflater.eof:
                if self._inflater.unused_data or self._raw():
                    raise VerificationError(
                        f"{self.name}: bytes follow the end of its compressed stream"
                    )
                self.ended = True
                return b""
            else:
                chunk = self._raw()
                if not chunk:
                    raise VerificationError(f"{self.name}: its compressed stream is cut short")
                data = self._inflate(chunk)
            if data:
                return data

    def _inflate(self, data: bytes) -> bytes:
        assert self._inflater is not None  # only a gzip stream is inflated
        try:
            return self._inflater.decompress(data, _INFLATE)
        except zlib.error as exc:
            raise VerificationError(f"{self.name}: not a valid gzip stream ({exc})") from exc


class BundleReader:
    """Reads a bundle file: the header at once, the samples and (v2) the multiproof nodes as
    streams, hashing every byte.

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
        try:
            self._source = _Source(path.name, self._file)
            self.header = self._header(self._line(1))
        except BaseException:
            self._file.close()
            raise
        self._number = 2  # the number of the next line to read

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
        """Yield (line number, sample) for every sample line."""
        for number, lines in self.chunks(1):
            yield number, read_sample_line(self.path.name, number, lines[0], self.header.multiproof)

    def chunks(self, size: int) -> Iterator[tuple[int, list[bytes]]]:
        """Yield the sample lines unparsed, `size` at a time, each batch with the number of its
        first line (for `read_sample_line`, in another process if need be)."""
        left = self.header.samples
        batch: list[bytes] = []
        held = 0
        while left is None or left > 0:
            raw = self._read(self._number + len(batch))
            if not raw:
                if left is not None:
                    raise self._error(
                        self._number + len(batch),
                        f"the file ends before the last of its {self.header.samples} samples",
                    )
                break
            batch.append(raw)
            held += len(raw)
            left = None if left is None else left - 1
            if len(batch) == size or held >= _CHUNK_BYTES:
                yield self._number, batch
                self._number += len(batch)
                batch = []
                held = 0
        if batch:
            yield self._number, batch
            self._number += len(batch)

    def nodes(self) -> Iterator[bytes]:
        """Yield the multiproof's nodes (v2), after the samples have been read: as many as the
        header says, each 32 bytes, in lines of `{"nodes": [base64, ...]}`."""
        wanted = self.header.nodes or 0
        count = 0
        while raw := self._read(self._number):
            value = _parse(self.path.name, self._number, raw)
            listed = value.get("nodes") if isinstance(value, dict) else None
            if not isinstance(listed, list) or not listed or len(value) != 1:
                raise self._error(self._number, "not a line of multiproof nodes")
            for i, text in enumerate(listed):
                count += 1
                if count > wanted:
                    raise self._error(
                        self._number, f"more multiproof nodes than the {wanted} the header says"
                    )
                try:
                    node = _unb64(text)
                except ValueError as exc:
                    raise self._error(self._number, f"node {i} is not base64") from exc
                if len(node) != HASH_SIZE:
                    raise self._error(self._number, f"node {i} is not a SHA-256 hash")
                yield node
            self._number += 1
        if count != wanted:
            raise self._error(
                self._number, f"the file ends after {count} of its {wanted} multiproof nodes"
            )

    def hexdigest(self) -> str:
        """The hex SHA-256 of the whole file, once the lines have been read to the end."""
        if not self._source.ended:
            raise RuntimeError("the bundle has not been read to the end")
        return self._source.hasher.hexdigest()

    def _line(self, number: int) -> Any:
        raw = self._read(number)
        if not raw:
            raise self._error(number, "the file ends before its header")
        return _parse(self.path.name, number, raw)

    def _read(self, number: int) -> bytes:
        """Line `number`; b"" at the end; VerificationError if it is too long."""
        raw = self._source.readline(MAX_LINE + 1)
        if len(raw) > MAX_LINE:
            raise self._error(number, f"longer than {MAX_LINE >> 20} MiB, the most a line may be")
        return raw

    def _error(self, number: int, message: str) -> VerificationError:
        return _error(self.path.name, number, message)

    def _header(self, value: Any) -> BundleHeader:
        kind = value.get("format") if isinstance(value, dict) else None
        if kind not in (BUNDLE_FORMAT, BUNDLE_FORMAT_V1):
            raise self._error(1, f"not a {BUNDLE_FORMAT} (or v1) header")
        # v2 is gzip and v1 plain text, nothing else: what is parsed before the digest is
        # checked stays one of the two shapes the writers made.
        if (kind == BUNDLE_FORMAT) != self._source.compressed:
            shape = "a gzip stream" if kind == BUNDLE_FORMAT else "plain text"
            raise self._error(1, f"a {kind} bundle is {shape}, and this one is not")
        note = value.get("checkpoint")
        entries = value.get("keys")
        if not isinstance(note, str) or not isinstance(entries, list):
            raise self._error(1, "the header needs a checkpoint note and a list of keys")
        samples = nodes = None
        if kind == BUNDLE_FORMAT:
            samples, nodes = value.get("samples"), value.get("nodes")
            if not all(_count(n) for n in (samples, nodes)):
                raise self._error(1, "the header needs the counts of samples and nodes")
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
        return BundleHeader(note, keys, kind, samples, nodes)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_sample_line(name: str, number: int, raw: bytes, multiproof: bool) -> SampleProofs:
    """Parse line `number` of the bundle file `name`, of a v2 bundle if `multiproof` (else
    v1); VerificationError naming both if bad."""
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
        try:
            proven.append(_v2_record(record) if multiproof else _v1_record(record))
        except ValueError as exc:
            raise _error(name, number, f"sample {sample_id}, entry {seq}: {exc}") from exc
    return SampleProofs(sample_id, proven)


def _v1_record(record: dict[str, Any]) -> ProvenRecord:
    proof = record.get("proof")
    try:
        if not isinstance(proof, list):
            raise ValueError("the proof is not a list")
        return ProvenRecord(
            record["seq"], _unb64(record.get("envelope")), [_unb64(h) for h in proof]
        )
    except ValueError as exc:
        raise ValueError("envelope or proof is not base64") from exc


def _v2_record(record: dict[str, Any]) -> ProvenRecord:
    seq = record["seq"]
    if record.keys() == {"seq", "envelope"}:
        try:
            return ProvenRecord(seq, _unb64(record["envelope"]))
        except ValueError as exc:
            raise ValueError("the envelope is not base64") from exc
    text, keyid, sig = record.get("record"), record.get("keyid"), record.get("sig")
    if (
        record.keys() != {"seq", "record", "keyid", "sig"}
        or not isinstance(text, str)
        or not isinstance(keyid, str)
        or not isinstance(sig, str)
    ):
        raise ValueError("not an envelope, nor a record with its key id and signature")
    try:
        return ProvenRecord(seq, envelope_of(text, keyid, sig))
    except UnicodeEncodeError as exc:
        raise ValueError("the record is not UTF-8 text") from exc


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
