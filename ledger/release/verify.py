"""Offline verification of a release: the release folder and, best, a pinned public key.

Checks in this order, and names the first discrepancy (file, line, sample id, entry):
1. the manifest is a DSSE envelope signed by the pinned key, or else by the key the release
   carries (trusted on first use), and holds an in-toto Statement v1 with synthguard's release
   predicate;
2. each subject file has the SHA-256 the Statement gives;
3. the data rows: every row's content-addressed id is recomputed and is the `sample_id` it
   carries (a release made before rows carried one carries none), ids are unique, their count
   and Merkle root (over the sorted ids) are the predicate's, and every Parquet row equals its
   JSONL row;
4. the bundle's header: its keys are exactly those the predicate lists, and its checkpoint note
   is the predicate's checkpoint, signed by one of them;
5. every bundle line: each record is signed by a listed key, is about that sample, and is an
   entry below the checkpoint, in ledger order; each sample was made by a record and screened
   into acceptance or released from quarantine by a signed override; the lines and the data
   rows name the same samples; no entry is bundled twice;
   then the proofs: a v2 bundle's one multiproof rebuilds the checkpoint's root from the leaves
   `<seq>\\n<envelope>` of all the bundled records (hashed where the lines are checked) and
   exactly the nodes it needs, no more; a v1 bundle's record proves its own leaf;
6. the predicate's counts and guards, recomputed from those records, and the bundle's digest
   (which pins every record line, so none can be dropped or added unseen).

Offline, the proofs show that each record is in the ledger at the checkpoint; they cannot show
that a listed key was still valid when it signed (the ledger's key events) or that the ledger
holds no other record about a sample than those the publisher bundled and signed for:
`synthguard audit` checks a release against the ledger itself.

The folder may be hostile. Only regular files are read (`open_regular`: no symbolic link, in
or out of the folder, no FIFO, no device), the manifest only up to MAX_MANIFEST bytes before
its signature is checked, the data files and the bundle as streams (a line longer than the
bundle's MAX_LINE or MAX_ROW is refused unparsed), so a bad folder fails with one message and
never hangs or fills memory. A folder named as `release create` names its unfinished work
(`.<out>.<hex>.tmp`) is refused whatever it holds: that run may have been killed before it
recorded the release.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from copy import copy as copy_of
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from synthguard.ledger.log import (
    LineageEntry,
    entry_leaf_hash,
    verify_checkpoint,
    verify_inclusion,
    verify_multiproof,
)
from synthguard.ledger.release.bundle import (
    BundleReader,
    ProvenRecord,
    SampleProofs,
    open_regular,
    read_sample_line,
)
from synthguard.ledger.release.manifest import (
    BUNDLE_FILE,
    DATA_FILES,
    JSONL_FILE,
    MANIFEST_FILE,
    PARQUET_FILE,
    PAYLOAD_TYPE,
    BreachRef,
    CheckpointRef,
    Counts,
    ReleasePredicate,
    Statement,
    Tally,
    decode_hash,
    first_making,
    sample_root,
)
from synthguard.ledger.screening import ScreeningStatus, fold_screening
from synthguard.provenance.canonical import canonical_json
from synthguard.provenance.dsse import open_envelope, repeated_key
from synthguard.provenance.engine import Engine, Forked
from synthguard.provenance.errors import InputError, KeyringError, VerificationError
from synthguard.provenance.keys import VerifyingKey
from synthguard.provenance.named_file import read_named_text
from synthguard.provenance.reader import Row, read_samples
from synthguard.provenance.record import RECORD_TYPE, LineageRecord
from synthguard.provenance.sample import SAMPLE_ID_FIELD, FieldMapping

Progress = Callable[[int], None]

# Below this many samples a process pool costs more than it saves.
_PARALLEL_FROM = 2000
_RUN = 256
_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", re.DOTALL)
_WORK = re.compile(r"\..+\.[0-9a-f]{8}\.tmp", re.DOTALL)
_READ_CHUNK = 1 << 20

MAX_MANIFEST = 8 << 20
"""The largest manifest read: a signed Statement is kilobytes, a little more with many
generators or a long policy."""
MAX_ROW = 64 << 20
"""The longest line of the JSONL data file, newline included."""


@dataclass(frozen=True, slots=True)
class ReleaseReport:
    """What a successful verification checked."""

    name: str
    samples: int
    records: int
    checkpoint: CheckpointRef
    signer: str
    pinned: bool
    files: list[str]
    sample_root: str
    checkpoint_note: str
    breaches: list[BreachRef] = field(default_factory=list)
    justification: str | None = None
    revisions: int = 0
    """Samples whose making record is a revision of another sample."""
    redactions: int = 0
    """Of those, the redacted copies (`screen --redact`)."""
    redacted: dict[str, int] = field(default_factory=dict)
    """Redacted copies per kind of personal data removed (a copy counts under each kind)."""
    unsigned: list[str] = field(default_factory=list)
    """What else the folder holds (a report written into it, or a file slipped in beside the
    data): nothing the manifest signs vouches for it."""


def read_public_keys(path: Path) -> list[VerifyingKey]:
    """The public keys a `--key` file holds: PEM blocks and C2SP vkey lines (`keys export`)."""
    text = read_named_text(path, "key file", as_saved=True)
    keys: list[VerifyingKey] = []
    try:
        for block in _PEM.findall(text):
            keys.append(VerifyingKey.from_pem(block.encode("ascii")))
        for line in _PEM.sub("", text).splitlines():
            if line.strip():
                keys.append(VerifyingKey.from_vkey(line)[1])
    except (KeyringError, UnicodeEncodeError) as exc:
        raise InputError(f"{path}: {exc}") from exc
    if not keys:
        raise InputError(f"{path} holds no public key (a PEM block or a signed-note vkey line)")
    return keys


def verify_release(
    out: Path,
    *,
    trusted: list[VerifyingKey] | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    engine: Engine | None = None,
) -> ReleaseReport:
    """Verify the release in `out` offline; raise VerificationError at the first discrepancy.

    `trusted`: the keys one of which must have signed the manifest (`--key`). Without them,
    the manifest's signer is looked up among the keys the release carries: the report then
    says the key was not pinned. Runs of bundle lines are checked on `engine` when given, else,
    for a large release, on `workers` forked processes (default: one per core); `progress` is
    called with the number of samples each step checked.
    """
    if not out.is_dir():
        raise InputError(f"{out} is not a release folder")
    if is_work_folder(Path(os.path.realpath(out))):
        raise VerificationError(
            f"{out} is the work folder of a `release create` that did not finish, not a release"
        )
    if not any(os.path.lexists(out / name) for name in (MANIFEST_FILE, BUNDLE_FILE)):
        raise InputError(f"{out} is not a release folder (no {MANIFEST_FILE}, no {BUNDLE_FILE})")
    with BundleReader(out / BUNDLE_FILE) as bundle:
        statement, signer = _open_manifest(out / MANIFEST_FILE, trusted, bundle.header.keys)
        predicate = statement.predicate
        _check_subjects(out, statement)
        rows = _check_rows(out, predicate)
        keys = _check_header(bundle, predicate)
        checker = _LineChecker(predicate, keys, rows, multiproof=bundle.header.multiproof)
        proven = _check_lines(bundle, checker, progress, workers=workers, engine=engine)
        if bundle.header.multiproof:
            _check_multiproof(bundle, checker, proven.leaves)
        _finish(predicate, rows, proven)
        if bundle.hexdigest() != predicate.bundle.digest.get("sha256"):
            raise VerificationError(
                f"{BUNDLE_FILE}: its SHA-256 differs from the one the manifest signed (a record "
                "line was added, dropped or changed)"
            )
    return ReleaseReport(
        name=predicate.name,
        samples=predicate.samples.count,
        records=proven.records,
        checkpoint=predicate.checkpoint,
        signer=signer,
        pinned=trusted is not None,
        files=[subject.name for subject in statement.subject],
        sample_root=predicate.samples.merkle_root,
        checkpoint_note=bundle.header.checkpoint,
        breaches=predicate.policy.breaches,
        justification=predicate.policy.justification,
        revisions=proven.tally.revisions,
        redactions=proven.tally.redactions,
        redacted=dict(sorted(proven.tally.redacted.items())),
        unsigned=_unsigned(out, statement),
    )


def _unsigned(out: Path, statement: Statement) -> list[str]:
    """The names in the release folder that are neither its signed files nor the manifest."""
    signed = {MANIFEST_FILE, BUNDLE_FILE, *(subject.name for subject in statement.subject)}
    try:
        return sorted(name for name in os.listdir(out) if name not in signed)
    except OSError as exc:
        raise InputError(f"cannot list the release folder {out}: {exc.strerror or exc}") from exc


def is_work_folder(path: Path) -> bool:
    """Whether `path` is named as `release create` names a release it has not finished."""
    return _WORK.fullmatch(path.name) is not None


def read_manifest(path: Path) -> bytes:
    """The bytes of a manifest file, a regular file of at most MAX_MANIFEST bytes."""
    with open_regular(path) as file:
        size = os.fstat(file.fileno()).st_size
        data = file.read(MAX_MANIFEST + 1) if size <= MAX_MANIFEST else b""
    if size > MAX_MANIFEST or len(data) > MAX_MANIFEST:
        raise VerificationError(
            f"{path.name}: {max(size, len(data))} bytes or more, larger than the "
            f"{MAX_MANIFEST >> 20} MiB a manifest may be"
        )
    return data


def file_digest(path: Path, max_line: int | None = None) -> str:
    """The hex SHA-256 of a regular file, read as a stream; with `max_line`, VerificationError
    at a line longer than that (newline included)."""
    hasher = hashlib.sha256()
    run = 0  # bytes of the line being read, so far
    with open_regular(path) as file:
        while chunk := file.read(_READ_CHUNK):
            hasher.update(chunk)
            if max_line is None:
                continue
            first = chunk.find(b"\n")
            # A line within one chunk is shorter than a chunk: only those across chunks can
            # be too long.
            run += len(chunk) if first < 0 else first + 1
            if run > max_line:
                raise VerificationError(
                    f"{path.name}: a line longer than {max_line >> 20} MiB, the most one may be"
                )
            if first >= 0:
                run = len(chunk) - chunk.rfind(b"\n") - 1
    return hasher.hexdigest()


def count_bundle_lines(out: Path) -> int | None:
    """The number of sample lines in a release's bundle, for a progress bar; None unless it is
    a regular file."""
    try:
        with BundleReader(out / BUNDLE_FILE) as bundle:
            if bundle.header.samples is not None:
                return bundle.header.samples
        with open_regular(out / BUNDLE_FILE) as file:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(_READ_CHUNK), b""))
    except (VerificationError, OSError):
        return None
    return max(lines - 1, 0)


def _open_manifest(
    path: Path, trusted: list[VerifyingKey] | None, carried: Mapping[str, VerifyingKey]
) -> tuple[Statement, str]:
    try:
        data = read_manifest(path)
    except OSError as exc:
        raise VerificationError(f"{MANIFEST_FILE}: cannot read it: {exc.strerror or exc}") from exc
    keys = {key.key_id: key for key in trusted} if trusted is not None else dict(carried)
    whose = "the pinned key" if trusted is not None else "a key the release carries"
    return manifest_statement(data, keys, whose)


def manifest_statement(
    data: bytes, keys: Mapping[str, VerifyingKey], whose: str = "a key the release carries"
) -> tuple[Statement, str]:
    """The in-toto Statement of a manifest's DSSE envelope and the id of the key that signed
    it, one of `keys`; VerificationError naming `whose` key was expected otherwise, or when a
    key is repeated in one object of the envelope or its payload (a second `payload` before
    the signed one is what a reader keeping the first key would take for the statement)."""
    try:
        payload_type, payload, signer = open_envelope(data, keys)
    except VerificationError as exc:
        raise VerificationError(f"{MANIFEST_FILE}: {exc} (expected {whose})") from exc
    for what, value in (("envelope", data), ("statement", payload)):
        key = repeated_key(value)
        if key is not None:
            raise VerificationError(
                f"{MANIFEST_FILE}: the key {key!r} is repeated in one object of its {what}: "
                "readers would disagree on what it says"
            )
    if payload_type != PAYLOAD_TYPE:
        raise VerificationError(
            f"{MANIFEST_FILE}: payload type {payload_type!r}, not an in-toto statement"
        )
    return Statement.from_payload(payload), signer


def signed_files(statement: Statement) -> dict[str, str | None]:
    """The SHA-256 the manifest signs for each file of the folder: its subjects, which must be
    exactly the data files, and the bundle; VerificationError when they are other files."""
    if statement.predicate.bundle.name != BUNDLE_FILE:
        raise VerificationError(
            f"{MANIFEST_FILE}: the bundle is named {statement.predicate.bundle.name!r}, "
            f"not {BUNDLE_FILE}"
        )
    names = [subject.name for subject in statement.subject]
    if sorted(names) != sorted(DATA_FILES):
        raise VerificationError(
            f"{MANIFEST_FILE}: the subjects are {', '.join(names)}, not {', '.join(DATA_FILES)}"
        )
    signed = {subject.name: subject.digest.get("sha256") for subject in statement.subject}
    return {**signed, BUNDLE_FILE: statement.predicate.bundle.digest.get("sha256")}


def _check_subjects(out: Path, statement: Statement) -> None:
    signed_files(statement)
    for subject in statement.subject:
        path = out / subject.name
        max_line = MAX_ROW if subject.name == JSONL_FILE else None
        try:
            sha256 = file_digest(path, max_line)
        except FileNotFoundError as exc:
            raise VerificationError(f"{subject.name}: missing from the release") from exc
        except OSError as exc:
            raise VerificationError(
                f"{subject.name}: cannot read it: {exc.strerror or exc}"
            ) from exc
        if sha256 != subject.digest.get("sha256"):
            raise VerificationError(
                f"{subject.name}: its SHA-256 differs from the one the manifest signed"
            )


def _check_rows(out: Path, predicate: ReleasePredicate) -> dict[str, tuple[int, str]]:
    """Check the data files' rows; return each sample id's JSONL line number and the digest
    of its row (which one of the sample's records must sign: `_check_signed_row`)."""
    try:
        mapping = FieldMapping.model_validate(predicate.fields)
    except ValidationError as exc:
        raise VerificationError(f"{MANIFEST_FILE}: the field mapping is not valid") from exc
    lines: dict[str, int] = {}
    digests: dict[str, str] = {}
    carries: bool | None = None  # whether the rows carry their sample_id: all of them, or none
    jsonl = _rows(out / JSONL_FILE, mapping, "jsonl")
    parquet = _rows(out / PARQUET_FILE, mapping, "parquet")
    for text_row, table_row in zip_longest(jsonl, parquet):
        if text_row is None or table_row is None:
            count = len(lines) + (text_row is not None)
            raise VerificationError(
                f"{PARQUET_FILE}: the row counts differ from {JSONL_FILE} after {count} rows"
            )
        where = f"{JSONL_FILE} line {text_row.number}"
        if text_row.sample is None:
            raise VerificationError(f"{where}: not a sample: {text_row.error}")
        raw = text_row.raw if isinstance(text_row.raw, dict) else {}
        has = SAMPLE_ID_FIELD in raw
        carries = has if carries is None else carries
        if has != carries:
            raise VerificationError(
                f"{where}: {'carries a' if has else 'carries no'} {SAMPLE_ID_FIELD}, but the "
                f"lines before it {'do' if carries else 'do not'}"
            )
        if has:
            _check_carried_id(where, raw[SAMPLE_ID_FIELD], text_row.sample.id)
        if _comparable(text_row.raw) != _comparable(table_row.raw):
            raise VerificationError(
                f"{PARQUET_FILE} row {table_row.number} differs from {where} "
                f"(sample {text_row.sample.id})"
            )
        first = lines.setdefault(text_row.sample.id, text_row.number)
        if first != text_row.number:
            raise VerificationError(
                f"{where}: sample {text_row.sample.id} is released twice (line {first} too)"
            )
        digests[text_row.sample.id] = text_row.sample.digest
    wanted = predicate.samples
    if len(lines) != wanted.count:
        raise VerificationError(
            f"{JSONL_FILE}: {len(lines)} samples, but the manifest says {wanted.count}"
        )
    if sample_root(lines) != decode_hash(wanted.merkle_root, "the samples' Merkle root"):
        raise VerificationError(
            f"{JSONL_FILE}: the Merkle root of its sample ids differs from the manifest's"
        )
    return {sample_id: (line, digests[sample_id]) for sample_id, line in lines.items()}


def _check_signed_row(where: str, row: tuple[int, str], signed: Collection[str]) -> None:
    """VerificationError unless one of a sample's records signs the digest of its released row.
    The sample id covers the row's content only; the digest covers every field, so a field
    outside the content (a `system` prompt, a message's `tool_calls`) changed after the
    sample was recorded is caught here."""
    line, digest = row
    if digest not in signed:
        raise VerificationError(
            f"{where}: its row ({JSONL_FILE} line {line}) is not the row its records sign "
            f"(digest {digest}; a field was added or changed after the sample was recorded)"
        )


def _check_carried_id(where: str, carried: object, sample_id: str) -> None:
    """VerificationError unless the `sample_id` a row carries is the id of its content."""
    if carried != sample_id:
        shown = repr(carried)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise VerificationError(
            f"{where}: its {SAMPLE_ID_FIELD} {shown} is not the id of its content ({sample_id})"
        )


def _rows(path: Path, mapping: FieldMapping, fmt: str) -> Iterator[Row]:
    try:
        yield from read_samples(path, mapping, fmt)
    except InputError as exc:
        raise VerificationError(f"{path.name}: {exc}") from exc


def _comparable(raw: object) -> bytes:
    """A row's canonical form with null fields left out: Parquet fills absent cells with null,
    and a null field is an absent one when a sample is read."""
    return canonical_json(_without_nulls(raw))


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _check_header(bundle: BundleReader, predicate: ReleasePredicate) -> dict[str, VerifyingKey]:
    """The bundle's keys, if exactly the listed ones, after checking the checkpoint note."""
    keys = bundle.header.keys
    if sorted(keys) != sorted(predicate.keys):
        extra = sorted(set(keys) ^ set(predicate.keys))
        raise VerificationError(
            f"{BUNDLE_FILE} line 1: its keys differ from the ones the manifest lists ({extra[0]})"
        )
    try:
        checkpoint, _ = verify_checkpoint(bundle.header.checkpoint, keys.values())
    except VerificationError as exc:
        raise VerificationError(f"{BUNDLE_FILE} line 1: {exc}") from exc
    wanted = predicate.checkpoint
    root = decode_hash(wanted.root_hash, "the checkpoint root")
    if (checkpoint.origin, checkpoint.size, checkpoint.root) != (wanted.origin, wanted.size, root):
        raise VerificationError(
            f"{BUNDLE_FILE} line 1: the checkpoint note is not the one the manifest names "
            f"({wanted.origin} at {wanted.size})"
        )
    return keys


@dataclass
class _Proven:
    """What a run of bundle lines proved: their samples (line, id), records and figures, the
    leaves (seq, leaf hash) a multiproof is still to prove, or the first discrepancy among them
    (line, message, entry) where the run stopped."""

    samples: list[tuple[int, str]] = field(default_factory=list)
    # Checked without the data rows (`without_rows`): the row digests each line's records sign,
    # for `_in_rows` to check where the rows are.
    signed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    records: int = 0
    leaves: list[tuple[int, bytes]] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    error: tuple[int, str, int | None] | None = None


class _LineChecker:
    """Checks bundle lines against the checkpoint, the keys and the data rows' ids; needs
    nothing from other lines, so runs of lines can be checked in other processes."""

    def __init__(
        self,
        predicate: ReleasePredicate,
        keys: dict[str, VerifyingKey],
        rows: Mapping[str, tuple[int, str]],
        *,
        multiproof: bool,
    ) -> None:
        self.keys = keys
        self.rows = rows
        self.multiproof = multiproof
        self.size = predicate.checkpoint.size
        self.root = decode_hash(predicate.checkpoint.root_hash, "the checkpoint root")
        self.check_rows = True

    def without_rows(self) -> _LineChecker:
        """A copy that leaves out the data rows' ids, and whether each line's sample is one
        of them (`_in_rows` checks that where the ids are): small enough to send anywhere."""
        copy = copy_of(self)
        copy.rows = {}
        copy.check_rows = False
        return copy

    def check_run(self, first: int, lines: list[bytes]) -> _Proven:
        """Check consecutive lines, the first numbered `first`, up to the first bad one."""
        proven = _Proven()
        for number, raw in enumerate(lines, first):
            try:
                line = read_sample_line(BUNDLE_FILE, number, raw, self.multiproof)
                proven.samples.append((number, line.sample_id))
                proven.records += self._check(number, line, proven)
            except VerificationError as exc:
                # Exceptions cross process boundaries without their keyword arguments.
                proven.error = (number, str(exc), exc.seq)
                break
        return proven

    def _check(self, number: int, line: SampleProofs, proven: _Proven) -> int:
        sample_id = line.sample_id
        where = f"{BUNDLE_FILE} line {number}: sample {sample_id}"
        if self.check_rows and sample_id not in self.rows:
            raise VerificationError(_not_in_rows(number, sample_id))
        entries: list[LineageEntry] = []
        last = -1
        for record in line.records:
            entries.append(self._entry(where, sample_id, last, record))
            last = record.seq
            if record.proof is None:
                proven.leaves.append((record.seq, entry_leaf_hash(record.seq, record.envelope)))
        signed = {entry.record.digest for entry in entries}
        if self.check_rows:
            _check_signed_row(where, self.rows[sample_id], signed)
        else:
            proven.signed[sample_id] = tuple(signed)
        proven.tally.add(entries, self._status(where, sample_id, entries))
        return len(entries)

    def _entry(self, where: str, sample_id: str, last: int, proven: ProvenRecord) -> LineageEntry:
        seq = proven.seq
        at = f"{where}, entry {seq}"
        if not last < seq < self.size:
            raise VerificationError(
                f"{at}: not an entry below the checkpoint's {self.size}, in ledger order", seq=seq
            )
        try:
            kind, payload, signer = open_envelope(proven.envelope, self.keys)
            if kind != RECORD_TYPE:
                raise VerificationError(f"payload type {kind!r} is not a lineage record")
            record = LineageRecord.from_payload(payload)
        except ValueError as exc:
            raise VerificationError(
                f"{at}: the signed payload is not a lineage record", seq=seq
            ) from exc
        except VerificationError as exc:
            raise VerificationError(f"{at}: {exc}", seq=seq) from exc
        if record.sample_id != sample_id:
            raise VerificationError(f"{at}: the record is about sample {record.sample_id}", seq=seq)
        if record.signer != signer:
            raise VerificationError(
                f"{at}: the record names signer {record.signer} but {signer} signed it", seq=seq
            )
        if proven.proof is not None:
            try:
                verify_inclusion(
                    entry_leaf_hash(seq, proven.envelope), seq, self.size, proven.proof, self.root
                )
            except VerificationError as exc:
                raise VerificationError(f"{at}: {exc}", seq=seq) from exc
        return LineageEntry(seq, record)

    def _status(self, where: str, sample_id: str, entries: list[LineageEntry]) -> ScreeningStatus:
        if first_making(entries) is None:
            raise VerificationError(f"{where} has no generated, revised or imported record")
        status = fold_screening(entries).get(sample_id)
        if status is None:
            raise VerificationError(f"{where} has no screened record")
        if status.held:
            raise VerificationError(
                f"{where} is quarantined (entry {status.seq}) and no signed override follows",
                seq=status.seq,
            )
        return status


def _check_lines(
    bundle: BundleReader,
    checker: _LineChecker,
    progress: Progress | None,
    *,
    workers: int | None,
    engine: Engine | None,
) -> _Proven:
    """Check every sample line, in order of the file, on `engine`, or on a process pool for
    large releases; return the sum of what they proved. Also: each sample has one line only."""
    total = _Proven()
    seen: dict[str, int] = {}
    leaves: dict[int, bytes] = {}
    workers = workers or os.cpu_count() or 1
    runs = bundle.chunks(_RUN)
    rows = checker.rows
    with contextlib.ExitStack() as stack:
        if engine is not None:
            # The data rows' ids stay here (a part carries only the keys and the checkpoint):
            # each run's samples are looked up as its result comes back.
            remote = checker.without_rows()
            parts = (LineRun(remote, first, lines) for first, lines in runs)
            results: Iterator[_Proven] = (
                _in_rows(proven, rows) for proven in engine.map(check_line_run, parts)
            )
        elif len(rows) < _PARALLEL_FROM or workers == 1:
            results = (checker.check_run(first, lines) for first, lines in runs)
        else:
            # Forked: the workers inherit the checker (keys, the data rows' ids) unpickled.
            pool = stack.enter_context(Forked(functools.partial(_check_run, checker), workers))
            results = pool.map(runs)
        for proven in results:
            for number, sample_id in proven.samples:
                first = seen.setdefault(sample_id, number)
                if first != number:
                    raise VerificationError(
                        f"{BUNDLE_FILE} line {number}: sample {sample_id} has a line already "
                        f"(line {first})"
                    )
            if proven.error is not None:
                _, message, seq = proven.error
                raise VerificationError(message, seq=seq)
            for seq, leaf in proven.leaves:
                if seq in leaves:
                    raise VerificationError(
                        f"{BUNDLE_FILE}: entry {seq} is bundled twice (each belongs on the one "
                        "line of the sample it is about)",
                        seq=seq,
                    )
                leaves[seq] = leaf
            total.records += proven.records
            total.tally.merge(proven.tally)
            if progress is not None:
                progress(len(proven.samples))
    total.samples = [(number, sample_id) for sample_id, number in seen.items()]
    total.leaves = sorted(leaves.items())
    return total


def _check_multiproof(
    bundle: BundleReader, checker: _LineChecker, leaves: list[tuple[int, bytes]]
) -> None:
    """Rebuild the checkpoint's root from every bundled leaf and the bundle's multiproof nodes,
    read as a stream; VerificationError if they lead elsewhere or are too few or too many."""
    unreadable: list[VerificationError] = []

    def nodes() -> Iterator[bytes]:
        try:
            yield from bundle.nodes()
        except VerificationError as exc:
            unreadable.append(exc)
            raise

    try:
        verify_multiproof(leaves, checker.size, nodes(), checker.root)
    except VerificationError as exc:
        if unreadable:
            raise  # the file's own error, which names its line
        raise VerificationError(
            f"{BUNDLE_FILE}: the bundled records are not all in the checkpoint's tree: {exc}"
        ) from exc


def _not_in_rows(number: int, sample_id: str) -> str:
    return f"{BUNDLE_FILE} line {number}: sample {sample_id} is not a sample of {JSONL_FILE}"


def _in_rows(proven: _Proven, rows: Mapping[str, tuple[int, str]]) -> _Proven:
    """A run checked without the data rows, as if checked with them: its first line whose
    sample is not a data row, or whose row none of its records signs (at or before the line it
    stopped at), is where it stops."""
    for index, (number, sample_id) in enumerate(proven.samples):
        if proven.error is not None and number > proven.error[0]:
            break
        if sample_id not in rows:
            message = _not_in_rows(number, sample_id)
        elif sample_id not in proven.signed:
            continue  # the line the run stopped at: its own discrepancy stands
        else:
            try:
                where = f"{BUNDLE_FILE} line {number}: sample {sample_id}"
                _check_signed_row(where, rows[sample_id], proven.signed[sample_id])
                continue
            except VerificationError as exc:
                message = str(exc)
        del proven.samples[index + 1 :]
        proven.error = (number, message, None)
        break
    return proven


@dataclass(frozen=True)
class LineRun:
    """An engine part of `release verify`: consecutive bundle lines, the first numbered
    `first`, with the checker they are checked by."""

    checker: _LineChecker
    first: int
    lines: list[bytes]


def check_line_run(part: LineRun) -> _Proven:
    """Check a run of bundle lines on an engine's worker."""
    return part.checker.check_run(part.first, part.lines)


def _check_run(checker: _LineChecker, run: tuple[int, list[bytes]]) -> _Proven:
    first, lines = run
    return checker.check_run(first, lines)


def _finish(
    predicate: ReleasePredicate, rows: Mapping[str, tuple[int, str]], proven: _Proven
) -> None:
    """After the last line: every sample had a line; the figures are the predicate's."""
    lined = {sample_id for _, sample_id in proven.samples}
    for sample_id, (line, _digest) in rows.items():
        if sample_id not in lined:
            raise VerificationError(
                f"{JSONL_FILE} line {line}: sample {sample_id} has no proofs in {BUNDLE_FILE}"
            )
    counts = proven.tally.counts()
    if counts != predicate.counts:
        raise VerificationError(
            f"{MANIFEST_FILE}: the counts it signed ({_counts(predicate.counts)}) "
            f"differ from the bundled records' ({_counts(counts)})"
        )
    if proven.tally.guards() != predicate.guards:
        raise VerificationError(
            f"{MANIFEST_FILE}: the guards it lists differ from those the screened records name"
        )


def _counts(counts: Counts) -> str:
    return canonical_json(counts.model_dump()).decode("utf-8")
