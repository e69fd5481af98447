"""Releases: the screened samples, a signed manifest and the proofs to check them offline.

`create_release` reads the samples to release and refuses any that the ledger does not show as
made (`generated`, `revised` or `imported`) and screened into acceptance or released from
quarantine by a signed override, and a release that breaks the policy unless it is justified.
Then, against one checkpoint C of the ledger: the records of all the released samples are proven
into C's tree (built once, in memory, from the first C.size leaves) by one multiproof; the data
files (JSONL and Parquet, each row with its `sample_id`), the proof bundle and the in-toto
Statement in a DSSE envelope are written into a hidden folder beside OUT; one `released` record
per sample is appended (one transaction); the folder is renamed to OUT and the ledger
checkpointed again.
A failure before the records are committed removes the folder: no half release is left to
verify, and nothing is recorded.

Killed at any moment (SIGKILL, power cut), a run leaves one of three states, and a rerun of
the same command finishes or redoes it, never recording a release twice:
- before the records commit: a hidden work folder `.<out>.<hex>.tmp` (refused by `release
  verify` by its name, whatever it holds) and nothing recorded. A rerun removes it and starts
  afresh.
- after the commit, before the rename: the same folder, complete (its files are synced before
  the commit), with the ledger's `released` records naming its manifest's digest. A rerun
  finds those records, checks the folder's digests against its manifest and renames it to OUT
  instead of writing and recording a second release (it keeps the first run's `created`).
- after the rename: OUT is the release, recorded; a rerun says OUT exists.
Each run holds an exclusive flock on its work folder until it ends (the kernel drops it at a
kill), so a rerun tells a dead run's folder from a live one's and refuses to race the latter.
"""

from __future__ import annotations

import errno
import fcntl
import importlib
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from synthguard.ledger.log import (
    Checkpoint,
    EntryView,
    Ledger,
    LineageEntry,
    Tree,
    check_key_events,
    entry_leaf_hash,
    parse_record,
    records_for,
    scan_records,
    signed_subject,
    verify_checkpoint,
)
from synthguard.ledger.release.bundle import BundleHeader, ProvenRecord, SampleProofs, write_bundle
from synthguard.ledger.release.manifest import (
    BUNDLE_FILE,
    DATA_FILES,
    JSONL_FILE,
    MANIFEST_FILE,
    PARQUET_FILE,
    PAYLOAD_TYPE,
    BreachRef,
    CheckpointRef,
    PolicyRef,
    ReleasePredicate,
    ResourceDescriptor,
    SampleSet,
    Statement,
    Tally,
    encode_hash,
    first_making,
    sample_root,
)
from synthguard.ledger.release.policy import FiguresOf, Policy, check_policy
from synthguard.ledger.release.verify import MAX_ROW, file_digest, is_work_folder, read_manifest
from synthguard.ledger.screening import ScreeningStatus, fold_screening
from synthguard.provenance.canonical import canonical_json, digest
from synthguard.provenance.dsse import open_envelope, sign_envelope
from synthguard.provenance.errors import InputError, KeyringError, VerificationError
from synthguard.provenance.keys import SigningKey, VerifyingKey
from synthguard.provenance.named_file import writing
from synthguard.provenance.reader import detect_format, read_samples
from synthguard.provenance.record import Event, utc_now
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import (
    DEFAULT_MAPPING,
    FieldMapping,
    Sample,
    output_row,
    sample_from_row,
)

SCREEN_OUTPUT = "accepted.jsonl"
"""What `--from DIR` reads: the accepted rows of a `synthguard screen` output folder."""
SCREEN_QUARANTINED = "quarantined.jsonl"
"""What `--from DIR` also reads: quarantined rows, of which the overridden ones go out."""

_SHOWN = 5
_TICK = 5000

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    """A release written: from where, to where, what its manifest says, what was recorded."""

    source: Path
    out: Path
    statement: Statement
    manifest_digest: str
    signer: str
    released: int
    checkpoint: Checkpoint
    overridden: int = 0
    """How many of the released samples came from the screen folder's quarantined.jsonl,
    released there by a signed override."""

    @property
    def breaches(self) -> list[BreachRef]:
        """The policy rules the release breaks (justified, since it went out)."""
        return self.statement.predicate.policy.breaches


def release_source(source: Path) -> Path:
    """The file `--from` names: a screen output folder's accepted.jsonl, else `source`."""
    if source.is_dir() and detect_format(source) != "hf":
        path = source / SCREEN_OUTPUT
        if not path.is_file():
            raise InputError(
                f"{source} has no {SCREEN_OUTPUT}: give a `synthguard screen` output folder, a "
                "JSONL or Parquet file, or a saved Hugging Face dataset"
            )
        return path
    return source


def create_release(
    ledger: Ledger,
    name: str,
    source: Path,
    out: Path,
    *,
    policy_config: Mapping[str, Any] | None = None,
    figures: FiguresOf | None = None,
    justification: str | None = None,
    mapping: FieldMapping = DEFAULT_MAPPING,
    fmt: str | None = None,
    progress: Progress | None = None,
) -> ReleaseResult:
    """Release the samples of `source` into the new folder `out`; see the module docstring.

    A policy with limits is checked on `figures`, the report's figures of the samples
    (`synthguard.ledger.report.policy_figures(ledger)`).

    InputError (nothing written, nothing recorded) for an unreadable or duplicate row, a
    sample the ledger does not show as made and screened, or a policy breach without a
    `justification`; VerificationError when the ledger does not match its own checkpoint.
    """
    _check_name(name)
    limits = dict(policy_config or {})
    if Policy.from_config(limits).limits and figures is None:
        raise InputError(
            "the release policy sets limits, and they are checked on the report's figures: "
            "pass figures=synthguard.ledger.report.policy_figures(ledger)"
        )
    if out.exists() or out.is_symlink():
        raise InputError(f"{out} exists already; a release goes into a new folder")
    signer = ledger.signer
    if signer is None:
        raise KeyringError("a release is signed: open the ledger with its signing key")
    path = release_source(source)
    held = _screened_out(source, path, mapping)
    samples = _read_samples(path, mapping, fmt, allow_empty=bool(held))
    listed = {sample.id for sample in samples}
    held = [sample for sample in held if sample.id not in listed]
    checkpoint = ledger.checkpoint()
    tree, stored, releases = _prove_into(
        ledger, checkpoint, listed | {s.id for s in held}, progress
    )
    entries = {
        sid: [LineageEntry(e.seq, parse_record(e.seq, e.envelope)) for e in found]
        for sid, found in stored.items()
    }
    # From a screen folder, quarantined rows go out too once a signed override released them.
    overridden = [s for s in held if _overridden(s.id, entries.get(s.id, []))]
    samples += overridden
    if not samples:
        raise InputError(
            f"{path} holds no samples and no overridden quarantined ones: nothing to release"
        )
    ids = [sample.id for sample in samples]
    stored = {sid: stored[sid] for sid in ids if sid in stored}
    statuses = _releasable(samples, entries)
    policy = _policy(figures, ids, limits, justification, checkpoint)
    tally = Tally()
    for sample in samples:
        tally.add(entries[sample.id], statuses[sample.id])
    keys = _keys(ledger, checkpoint, stored, signer)

    out.parent.mkdir(parents=True, exist_ok=True)
    if is_work_folder(out):
        raise InputError(
            f"{out.name} is named as `release create` names its unfinished work: choose another"
        )
    locks: list[int] = []
    try:
        work = _claim_work(out, locks)
        pending: str | None = None  # the manifest's digest, once it may be recorded
        try:
            earlier = _earlier_runs(ledger, out, work, name, ids, locks)
            if earlier is not None:
                shutil.rmtree(work)
                return replace(
                    _finish_earlier(ledger, earlier, path, out), overridden=len(overridden)
                )
            if name in releases:
                # A report, an audit and a Croissant description scope a release by its name:
                # two releases of one name would be read as one.
                raise InputError(
                    f"a release named {name!r} was made already (its records start at entry "
                    f"{releases[name]}): give this one another name"
                )
            _write_jsonl(samples, work / JSONL_FILE)
            _write_parquet(samples, work / PARQUET_FILE)
            proofs = [
                SampleProofs(s.id, [ProvenRecord(e.seq, e.envelope) for e in stored[s.id]])
                for s in samples
            ]
            seqs = sorted(record.seq for line in proofs for record in line.records)
            bundle_sha256 = write_bundle(
                work / BUNDLE_FILE,
                BundleHeader(checkpoint=checkpoint.note, keys=keys),
                proofs,
                tree.multiproof(seqs, tree.size),
            )
            statement = Statement(
                subject=[ResourceDescriptor.of_file(work / file) for file in DATA_FILES],
                predicate=ReleasePredicate(
                    name=name,
                    created=utc_now(),
                    checkpoint=CheckpointRef(
                        origin=checkpoint.origin,
                        size=checkpoint.size,
                        root_hash=encode_hash(checkpoint.root),
                    ),
                    samples=SampleSet(count=len(ids), merkle_root=encode_hash(sample_root(ids))),
                    fields=mapping.model_dump(),
                    guards=tally.guards(),
                    counts=tally.counts(),
                    keys=sorted(keys),
                    bundle=ResourceDescriptor(name=BUNDLE_FILE, digest={"sha256": bundle_sha256}),
                    policy=policy,
                ),
            )
            envelope = sign_envelope(statement.payload(), PAYLOAD_TYPE, signer)
            with writing(work / MANIFEST_FILE):
                (work / MANIFEST_FILE).write_bytes(envelope)
            # Complete on disk before it is recorded: a rerun may finish it as it stands.
            _sync_folder(work)
            manifest_digest = pending = digest(envelope)
            # One transaction: recorded whole, or not at all and the folder goes.
            released = _record_release(ledger, samples, entries, name, manifest_digest, policy)
        except BaseException:
            # Recorded (the error came after the commit): keep it for a rerun to finish.
            if pending is None or not _maybe_recorded(ledger, pending, ids[0]):
                shutil.rmtree(work, ignore_errors=True)
            raise
        _move(work, out)
    finally:
        for lock in locks:
            os.close(lock)
    return ReleaseResult(
        source=path,
        out=out,
        statement=statement,
        manifest_digest=manifest_digest,
        signer=signer.key_id,
        released=released,
        checkpoint=ledger.checkpoint(),
        overridden=len(overridden),
    )


def _check_name(name: str) -> None:
    if not name.strip():
        raise InputError("a release needs a name")
    if not name.isprintable():
        raise InputError(f"release name {name!r} holds a control character")


def _read_samples(
    path: Path, mapping: FieldMapping, fmt: str | None, *, allow_empty: bool = False
) -> list[Sample]:
    """Every row of the source as a sample; InputError naming the bad or repeated rows (and
    an empty source, unless `allow_empty`)."""
    unit = "line" if (fmt or detect_format(path)) == "jsonl" else "row"
    samples: list[Sample] = []
    bad: list[str] = []
    seen: dict[str, int] = {}
    for row in read_samples(path, mapping, fmt):
        if row.sample is None:
            bad.append(f"{unit} {row.number} ({row.error})")
            continue
        first = seen.setdefault(row.sample.id, row.number)
        if first != row.number:
            raise InputError(
                f"{path}: {unit} {row.number} holds the same sample as {unit} {first} "
                f"({row.sample.id}); a release lists each sample once"
            )
        samples.append(row.sample)
    if bad:
        more = f", and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
        raise InputError(
            f"{path}: {len(bad)} {unit}s cannot be read and a release must be exact, so nothing "
            f"was released: {', '.join(bad[:_SHOWN])}{more}"
        )
    if not samples and not allow_empty:
        raise InputError(f"{path} holds no samples: nothing to release")
    return samples


def _screened_out(source: Path, path: Path, mapping: FieldMapping) -> list[Sample]:
    """The readable rows of a screen folder's quarantined.jsonl, as the samples they were
    before the screen added its `reasons` (empty when `source` is not a screen folder).
    Rows that cannot be read stay out: they were quarantined by the `input` guard."""
    quarantined = source / SCREEN_QUARANTINED
    if path == source or not quarantined.is_file():
        return []
    samples = []
    for row in read_samples(quarantined, mapping, "jsonl"):
        if row.sample is None or not isinstance(row.raw, dict):
            continue
        original = {key: value for key, value in row.raw.items() if key != "reasons"}
        try:
            samples.append(sample_from_row(original, mapping))
        except InputError:
            continue
    return list({sample.id: sample for sample in samples}.values())


def _overridden(sample_id: str, entries: list[LineageEntry]) -> bool:
    status = fold_screening(entries).get(sample_id)
    return status is not None and status.outcome == "quarantined" and not status.held


def _prove_into(
    ledger: Ledger, checkpoint: Checkpoint, wanted: set[str], progress: Progress | None
) -> tuple[Tree, dict[str, list[EntryView]], dict[str, int]]:
    """Read the checkpoint's entries once: the tree of their leaves (checked against its root,
    which this writer signed or checked before signing anything), the lineage records about
    the wanted samples, in ledger order, and the releases made already (by name: the first
    entry of each)."""
    leaves: list[bytes] = []
    stored: dict[str, list[EntryView]] = {}
    releases: dict[str, int] = {}
    key_events: list[int] = []
    for entry in ledger.entries(0, checkpoint.size):
        if entry.seq != len(leaves):
            raise VerificationError(
                f"entry {len(leaves)} is missing from the ledger (run `synthguard verify`)",
                seq=len(leaves),
            )
        leaves.append(entry_leaf_hash(entry.seq, entry.envelope))
        # Which sample an entry is about comes from its signed payload, never from the
        # entries table's index columns, which anyone with the database can edit.
        subject = signed_subject(entry.seq, entry.envelope)
        if subject is not None:
            sample_id, release = subject
            if sample_id in wanted:
                stored.setdefault(sample_id, []).append(entry)
            if release is not None:
                releases.setdefault(release, entry.seq)
        else:
            key_events.append(entry.seq)
        if progress is not None and len(leaves) % _TICK == 0:
            progress(_TICK)
    if progress is not None:
        progress(len(leaves) % _TICK)
    tree = Tree(leaves)
    if tree.size != checkpoint.size or tree.root() != checkpoint.root:
        raise VerificationError(
            f"the ledger's first {checkpoint.size} entries do not have the root its checkpoint "
            "signed (run `synthguard verify`)"
        )
    # The checkpoint was taken on the key timeline, which is read through the event index: a
    # key event it lacks (a revocation) would let the revoked key's entries in.
    timeline, _problem = ledger.key_timeline(ledger.root_key, checkpoint.size)
    check_key_events(key_events, timeline)
    return tree, stored, releases


def _releasable(
    samples: Sequence[Sample], entries: Mapping[str, list[LineageEntry]]
) -> dict[str, ScreeningStatus]:
    """Each sample's screening status; InputError listing every sample that may not go out."""
    statuses: dict[str, ScreeningStatus] = {}
    refused: dict[str, list[str]] = {}
    for sample in samples:
        found = entries.get(sample.id, [])
        status = fold_screening(found).get(sample.id)
        if first_making(found) is None:
            reason = "not recorded (no generated, revised or imported record)"
        elif all(entry.record.digest != sample.digest for entry in found):
            # The sample id covers the content only; the record's digest covers the whole row.
            # A field no guard reads (a `system` prompt beside an Alpaca row, a message's
            # `tool_calls`) added or changed after the sample was recorded and screened would
            # otherwise ship under records that never saw it.
            reason = (
                "a row other than the one its records sign (a field added or changed since it "
                "was recorded; release the rows as recorded and screened)"
            )
        elif status is None:
            reason = "not screened"
        elif status.held:
            reason = "quarantined"
        else:
            statuses[sample.id] = status
            continue
        refused.setdefault(reason, []).append(sample.id)
    if refused:
        count = sum(len(ids) for ids in refused.values())
        parts = []
        for reason, ids in refused.items():
            more = f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else ""
            parts.append(f"{len(ids)} {reason}: {', '.join(ids[:_SHOWN])}{more}")
        raise InputError(
            f"{count} of {len(samples)} samples may not be released, so nothing was: "
            + "; ".join(parts)
        )
    return statuses


def _policy(
    figures: FiguresOf | None,
    ids: Sequence[str],
    limits: dict[str, Any],
    justification: str | None,
    checkpoint: Checkpoint,
) -> PolicyRef:
    """The policy outcome to sign, from the figures of the entries the release was proved
    against (the checkpoint's: a database that shows the figures other entries is refused);
    InputError with the figures when it is breached and the breach is not justified."""
    policy = Policy.from_config(limits)
    breaches = (
        []
        if figures is None
        else check_policy(figures, ids, policy, size=checkpoint.size, root=checkpoint.root)
    )
    if breaches and not (justification and justification.strip()):
        raise InputError(
            "the policy refuses this release: "
            + "; ".join(breach.describe() for breach in breaches)
            + " (a justification, --justify TEXT, releases it anyway, on the record)"
        )
    return PolicyRef(
        config=limits,
        breaches=[BreachRef(rule=b.rule, limit=b.limit, actual=b.actual) for b in breaches],
        justification=justification if breaches else None,
    )


def _keys(
    ledger: Ledger,
    checkpoint: Checkpoint,
    stored: Mapping[str, list[EntryView]],
    signer: SigningKey,
) -> dict[str, VerifyingKey]:
    """The public keys a recipient needs: record signers, the checkpoint's and the manifest's."""
    # As the signed key events say, not the `keys` table (the writers' cache of them).
    rows = ledger.keys()
    known = {row.key_id: VerifyingKey(bytes(row.public_key)) for row in rows}
    _, checkpoint_signer = verify_checkpoint(checkpoint.note, known.values())
    wanted = {entry.key_id for found in stored.values() for entry in found}
    wanted |= {checkpoint_signer, signer.key_id}
    missing = sorted(wanted - set(known))
    if missing:
        raise VerificationError(
            f"key {missing[0]} signed records of the release but is not a key of this ledger "
            "(run `synthguard verify`)"
        )
    return {key_id: known[key_id] for key_id in wanted}


def _write_jsonl(samples: Sequence[Sample], path: Path) -> None:
    """The release's rows, one a line; InputError (before anything is signed) at a row longer
    than `release verify` reads (MAX_ROW): a release it must refuse is not made."""
    with writing(path), path.open("wb") as out:
        for sample in samples:
            line = canonical_json(output_row(sample.row, sample.id)) + b"\n"
            if len(line) > MAX_ROW:
                raise InputError(
                    f"sample {sample.id} is {len(line):,} bytes as a line of {JSONL_FILE}, more "
                    f"than the {MAX_ROW >> 20} MiB `release verify` reads: nothing was released"
                )
            out.write(line)


def _write_parquet(samples: Sequence[Sample], path: Path) -> None:
    """One column per field any row has (`sample_id` first, then first seen first); a row
    without it holds null."""
    try:
        pa = importlib.import_module("pyarrow")
        pq = importlib.import_module("pyarrow.parquet")
    except ImportError as exc:
        raise InputError(
            "a release writes Parquet, which needs the parquet extra: "
            "pip install 'synthguard[parquet]'"
        ) from exc
    rows = [output_row(sample.row, sample.id) for sample in samples]
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    columns = {}
    for column in names:
        try:
            columns[column] = pa.array([row.get(column) for row in rows])
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise InputError(
                f"the released rows cannot be written as Parquet: field {column!r}: {exc}"
            ) from exc
    try:
        pq.write_table(pa.table(columns), path)
    except pa.ArrowException as exc:
        raise InputError(f"the released rows cannot be written as Parquet: {exc}") from exc


def _record_release(
    ledger: Ledger,
    samples: Sequence[Sample],
    entries: Mapping[str, list[LineageEntry]],
    name: str,
    manifest_digest: str,
    policy: PolicyRef,
) -> int:
    """Append one `released` record per sample, in one transaction."""
    made = {sid: first_making(found) for sid, found in entries.items()}
    depths = {sid: record.depth for sid, record in made.items() if record is not None}
    detail: dict[str, Any] = {}
    if policy.breaches:
        detail = {
            "policy_breaches": [b.model_dump(mode="json") for b in policy.breaches],
            "justification": policy.justification,
        }
    recorder = Recorder(ledger, parent_depths=depths, batch_size=len(samples))
    with recorder, recorder.batch():
        for sample in samples:
            record = made[sample.id]
            assert record is not None  # _releasable refused samples without one
            recorder.released(
                sample, release=name, manifest=manifest_digest, origin=record.origin, detail=detail
            )
    return len(samples)


def _claim_work(out: Path, locks: list[int]) -> Path:
    """Make this run's hidden work folder beside `out` and lock it for the run's lifetime."""
    work = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    work.mkdir()
    if not _lock(work, locks):
        # Another run took it for a dead run's folder in the instant before we locked it.
        raise InputError(f"another `release create` is writing {out}: wait for it to end")
    return work


def _lock(folder: Path, locks: list[int]) -> bool:
    """Take an exclusive flock on a folder (kept in `locks`); False if a live run holds it."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    except BaseException:
        os.close(fd)
        raise
    locks.append(fd)
    return True


@dataclass(frozen=True, slots=True)
class _Earlier:
    """A killed run's work folder whose release the ledger records: all but renamed."""

    folder: Path
    statement: Statement
    manifest_digest: str
    signer: str
    same: bool  # the release this run was asked for: the same name and samples


def _earlier_runs(
    ledger: Ledger, out: Path, work: Path, name: str, ids: Sequence[str], locks: list[int]
) -> _Earlier | None:
    """Deal with the work folders that earlier runs for `out` left beside this run's `work`.

    A live run's is an InputError; a dead run's is removed unless the ledger records its
    release. That release is returned when it is this one and its files are intact; another
    recorded release, or a damaged one, is an InputError naming its folder.
    """
    own = re.compile(re.escape(f".{out.name}.") + r"[0-9a-f]{8}\.tmp", re.DOTALL)
    found: _Earlier | None = None
    for entry in sorted(os.scandir(out.parent), key=lambda e: e.name):
        if entry.name == work.name or not own.fullmatch(entry.name):
            continue
        if not entry.is_dir(follow_symlinks=False):
            continue
        folder = Path(entry.path)
        if not _lock(folder, locks):
            raise InputError(
                f"another `release create` is writing {out} (in {entry.name}): wait for it to end"
            )
        earlier = _recorded_work(ledger, folder, name, ids)
        if earlier is None:
            shutil.rmtree(folder)
            continue
        predicate = earlier.statement.predicate
        if not earlier.same:
            raise InputError(
                f"{folder} holds release {predicate.name!r} of {predicate.samples.count} "
                f"samples, recorded in the ledger but never moved to {out}: rerun that "
                "`release create`, or move the folder there"
            )
        _check_intact(earlier)
        found = earlier
    return found


def _recorded_work(ledger: Ledger, folder: Path, name: str, ids: Sequence[str]) -> _Earlier | None:
    """The release in a dead run's work folder if the ledger records it, else None."""
    rows = ledger.keys()
    known = {row.key_id: VerifyingKey(bytes(row.public_key)) for row in rows}
    try:
        data = read_manifest(folder / MANIFEST_FILE)
        kind, payload, signer = open_envelope(data, known)
        statement = Statement.from_payload(payload)
    except (VerificationError, OSError):
        return None  # killed before its manifest was whole and signed: nothing records it
    if kind != PAYLOAD_TYPE:
        return None
    manifest_digest = digest(data)
    predicate = statement.predicate
    same = predicate.name == name and predicate.samples.merkle_root == encode_hash(sample_root(ids))
    # Its samples' records name it if it is recorded; another release's samples are unknown.
    # Read whole: a scan checks the tree it read once it ends.
    found = records_for(ledger, ids[0]) if same else list(scan_records(ledger, [Event.RELEASED]))
    if not _names_manifest(found, manifest_digest):
        return None
    return _Earlier(folder, statement, manifest_digest, signer, same)


def _names_manifest(entries: Iterable[LineageEntry], manifest_digest: str) -> bool:
    return any(
        e.record.event == Event.RELEASED and e.record.detail.get("manifest") == manifest_digest
        for e in entries
    )


def _maybe_recorded(ledger: Ledger, manifest_digest: str, sample_id: str) -> bool:
    """Whether `released` records name the manifest; True when the ledger cannot say."""
    try:
        return _names_manifest(records_for(ledger, sample_id), manifest_digest)
    except Exception:
        return True


def _check_intact(earlier: _Earlier) -> None:
    """InputError unless every file of the folder has the digest its manifest signed."""
    statement = earlier.statement
    files = [(subject.name, subject.digest.get("sha256")) for subject in statement.subject]
    files.append((BUNDLE_FILE, statement.predicate.bundle.digest.get("sha256")))
    for file, sha256 in files:
        try:
            intact = file_digest(earlier.folder / file) == sha256
        except (VerificationError, OSError):
            intact = False
        if not intact:
            raise InputError(
                f"{earlier.folder}: release {statement.predicate.name!r} is recorded in the "
                f"ledger, but its {file} is not the one its manifest signed: it cannot be finished"
            )


def _finish_earlier(ledger: Ledger, earlier: _Earlier, source: Path, out: Path) -> ReleaseResult:
    """Rename the recorded release a killed run left to `out`; record nothing again."""
    _move(earlier.folder, out)
    return ReleaseResult(
        source=source,
        out=out,
        statement=earlier.statement,
        manifest_digest=earlier.manifest_digest,
        signer=earlier.signer,
        released=earlier.statement.predicate.samples.count,
        checkpoint=ledger.checkpoint(),
    )


def _move(work: Path, out: Path) -> None:
    """Rename the finished work folder to `out` (atomic: OUT is all there or absent)."""
    try:
        os.rename(work, out)
    except OSError as exc:
        raise InputError(
            f"the release is recorded in the ledger but cannot be moved to {out} "
            f"({exc.strerror or exc}); it is complete in {work}"
        ) from exc
    _fsync(out.parent)


def _sync_folder(folder: Path) -> None:
    """Flush a folder's files, then the folder, to disk."""
    for entry in os.scandir(folder):
        _fsync(Path(entry.path))
    _fsync(folder)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some file systems cannot sync a folder; the files themselves were synced.
        if exc.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)
