"""Offline verification of a whole ledger.

Order of checks, so that the first error names the first bad entry:
1. entries are numbered 0..n-1 without gaps;
2. the key timeline is rebuilt from the key events (entry 0 must be the genesis key);
3. every entry: its leaf hash matches `<seq>\\n<envelope>`, its envelope verifies under a key
   that may sign at that seq, and its index columns agree with the signed payload
   (in parallel over every core for large ledgers);
4. every checkpoint: signed by a key valid for its size, its root equals the tree's root at
   that size, and each is consistent with the one before (RFC 6962 consistency proof);
5. optionally, a checkpoint kept outside the ledger: same origin, not larger than the tree,
   and the tree at its size has its root (else history was rewritten or cut off).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import get_context

from sqlalchemy import Engine, func
from sqlmodel import col, select

from synthguard.ledger.checkpoint import Checkpoint, verify_checkpoint
from synthguard.ledger.keyring import KeyTimeline
from synthguard.ledger.merkle import Tree, verify_consistency
from synthguard.ledger.store import EntryView, Ledger, engine_for, entry_leaf_hash, read_entries
from synthguard.ledger.tables import CheckpointRow, Entry
from synthguard.provenance.dsse import Envelope, open_envelope
from synthguard.provenance.errors import SynthguardError, VerificationError
from synthguard.provenance.keys import VerifyingKey
from synthguard.provenance.record import KEY_EVENT_TYPE, RECORD_TYPE, KeyAction, KeyEvent

# Below this many entries a process pool costs more than it saves.
_PARALLEL_FROM = 4000
_CHUNK = 2000

Progress = Callable[[int], None]


@dataclass
class VerifyReport:
    """What a successful verification checked."""

    size: int
    checkpoints: int
    keys: int
    latest: Checkpoint | None
    kept: Checkpoint | None = None
    uncovered: int = 0
    notes: list[str] = field(default_factory=list)


def verify_ledger(
    ledger: Ledger,
    *,
    kept_checkpoint: str | None = None,
    root_key_id: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Verify everything the ledger holds; raise VerificationError at the first problem.

    `root_key_id` pins the genesis key (from the ledger home's config); `kept_checkpoint` is a
    signed note saved earlier, which the ledger of today must extend.
    """
    # Checkpoints first: each is committed only after the entries it covers, so every one read
    # before the entries are counted fits inside them, even while writers keep appending.
    checkpoint_rows = ledger.checkpoints()
    size = _check_numbering(ledger)
    timeline, key_error = _key_timeline(ledger, root_key_id, size)
    if key_error is not None:
        # An ordinary entry before the bad key event may be bad too, and would be the first.
        _verify_entries(ledger, key_error.seq or 0, timeline, workers, progress)
        raise key_error
    leaves = _verify_entries(ledger, size, timeline, workers, progress)
    tree = Tree(leaves)
    checkpoints, latest = _verify_checkpoints(ledger, tree, timeline, checkpoint_rows)
    report = VerifyReport(
        size=size,
        checkpoints=checkpoints,
        keys=len(timeline.spans),
        latest=latest,
        uncovered=size - (latest.size if latest else 0),
    )
    if kept_checkpoint is not None:
        report.kept = _verify_kept(ledger, tree, timeline, kept_checkpoint)
    return report


def _check_numbering(ledger: Ledger) -> int:
    with ledger.engine.connect() as conn:
        count, low, top = conn.execute(
            select(func.count(), func.min(col(Entry.seq)), func.max(col(Entry.seq)))
        ).one()
        if count == 0:
            raise VerificationError("the ledger has no entries", seq=0)
        # Count and maximum alone miss an entry moved below 0: the minimum must be 0 too.
        if low != 0 or top != count - 1:
            seqs = conn.execute(
                select(col(Entry.seq)).where(col(Entry.seq) >= 0).order_by(col(Entry.seq))
            ).scalars()
            for expected, seq in enumerate(seqs):
                if seq != expected:
                    raise VerificationError(f"entry {expected} is missing", seq=expected)
            raise VerificationError(f"an entry is numbered {low}, outside the tree")
    return int(count)


def _key_timeline(
    ledger: Ledger, root_key_id: str | None, size: int
) -> tuple[KeyTimeline, VerificationError | None]:
    """Apply the key events in seq order, up to the first bad one; return it unraised.

    The timeline built so far is sound for every entry before the bad event.
    """
    timeline = KeyTimeline()
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            select(col(Entry.seq), col(Entry.envelope))
            # Through the event index; entries whose payload type disagrees with their event
            # column are caught in the per-entry pass.
            .where(col(Entry.event).in_([action.value for action in KeyAction]))
            .where(col(Entry.seq) < size)
            .order_by(col(Entry.seq))
        ).all()
    if not rows or rows[0][0] != 0:
        raise VerificationError("entry 0 is not the genesis key event", seq=0)
    for seq, envelope in rows:
        try:
            event, signer = _open_key_event(seq, envelope, timeline, root_key_id)
            timeline.apply(seq, event, signer)
        except VerificationError as exc:
            if seq == 0:
                raise
            return timeline, exc
    return timeline, None


def _open_key_event(
    seq: int, envelope: bytes, timeline: KeyTimeline, root_key_id: str | None
) -> tuple[KeyEvent, str]:
    """Check a key event's signature; return the event and the id of the key that signed it."""
    try:
        if seq == 0:
            # The genesis entry carries the key that signs it; the home config pins it.
            claimed = KeyEvent.from_payload(Envelope.from_bytes(envelope).payload_bytes())
            if root_key_id is not None and claimed.key_id != root_key_id:
                raise VerificationError(
                    f"entry 0 adds key {claimed.key_id}, not the pinned root key {root_key_id}"
                )
            genesis = VerifyingKey(base64.b64decode(claimed.public_key or ""))
            _, payload, signer = open_envelope(envelope, {genesis.key_id: genesis})
        else:
            _, payload, signer = open_envelope(envelope, partial(timeline.key_at, seq=seq))
        return KeyEvent.from_payload(payload), signer
    except SynthguardError as exc:
        raise VerificationError(f"entry {seq}: key event: {exc}", seq=seq) from exc
    except ValueError as exc:
        raise VerificationError(f"entry {seq}: malformed key event", seq=seq) from exc


def _verify_entries(
    ledger: Ledger,
    size: int,
    timeline: KeyTimeline,
    workers: int | None,
    progress: Progress | None,
) -> list[bytes]:
    ranges = [(start, min(start + _CHUNK, size)) for start in range(0, size, _CHUNK)]
    workers = workers or os.cpu_count() or 1
    leaves: list[bytes] = []
    if size < _PARALLEL_FROM or workers == 1:
        results: Iterator[_RangeResult] = (
            _verify_range(ledger.engine, a, b, timeline) for a, b in ranges
        )
        return _collect(results, ranges, progress)
    # fork: workers inherit the imported modules; each opens its own database connection.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
        futures = [
            pool.submit(_verify_range_in_worker, ledger.url, a, b, timeline) for a, b in ranges
        ]
        try:
            leaves = _collect((f.result() for f in futures), ranges, progress)
        finally:
            for future in futures:
                future.cancel()
    return leaves


_RangeResult = tuple[list[bytes], tuple[int, str] | None]


def _collect(
    results: Iterator[_RangeResult], ranges: list[tuple[int, int]], progress: Progress | None
) -> list[bytes]:
    leaves: list[bytes] = []
    for (start, stop), (chunk_leaves, error) in zip(ranges, results, strict=False):
        if error is not None:
            raise VerificationError(error[1], seq=error[0])
        leaves.extend(chunk_leaves)
        if progress:
            progress(stop - start)
    return leaves


_worker_engines: dict[str, Engine] = {}


def _verify_range_in_worker(url: str, start: int, stop: int, timeline: KeyTimeline) -> _RangeResult:
    engine = _worker_engines.get(url)
    if engine is None:
        engine = _worker_engines[url] = engine_for(url)
    return _verify_range(engine, start, stop, timeline)


def _verify_range(engine: Engine, start: int, stop: int, timeline: KeyTimeline) -> _RangeResult:
    """Check entries start <= seq < stop; return their leaf hashes and the first error."""
    rows = read_entries(engine, start, stop)
    leaves: list[bytes] = []
    for entry in rows:
        seq, key_id = entry.seq, entry.key_id
        leaf = entry_leaf_hash(seq, entry.envelope)
        if leaf != entry.leaf_hash:
            return leaves, (seq, f"entry {seq}: leaf hash does not match its envelope")
        try:
            kind, payload, signer = open_envelope(entry.envelope, partial(timeline.key_at, seq=seq))
        except VerificationError as exc:
            reason = str(exc)
            if "unknown key" in reason and key_id in timeline.spans:
                reason = f"signed by key {key_id}, which may not sign here (revoked or retired)"
            return leaves, (seq, f"entry {seq}: {reason}")
        problem = _index_problem(kind, payload, signer, entry)
        if problem:
            return leaves, (seq, f"entry {seq}: {problem}")
        leaves.append(leaf)
    return leaves, None


def _index_problem(kind: str, payload: bytes, signer: str, entry: EntryView) -> str | None:
    if kind != entry.payload_type:
        return f"stored payload type {entry.payload_type!r} differs from the signed {kind!r}"
    if entry.key_id != signer:
        return "stored key id differs from the signing key"
    body = json.loads(payload)
    if body.get("signer") != signer:
        return "the payload names a different signer than the signature"
    if kind == RECORD_TYPE:
        if body.get("event") != entry.event or body.get("sample_id") != entry.sample_id:
            return "stored event or sample id differs from the signed record"
    elif kind == KEY_EVENT_TYPE:
        if body.get("action") != entry.event:
            return "stored event differs from the signed key event"
    else:
        return f"unknown payload type {kind!r}"
    return None


def _verify_checkpoints(
    ledger: Ledger, tree: Tree, timeline: KeyTimeline, rows: list[CheckpointRow]
) -> tuple[int, Checkpoint | None]:
    previous: Checkpoint | None = None
    for row in rows:
        checkpoint = _check_note(ledger, tree, timeline, row.note, "checkpoint")
        if checkpoint.size != row.size:
            raise VerificationError(
                f"checkpoint row {row.size} holds a note of size {checkpoint.size}"
            )
        if previous is not None:
            proof = tree.consistency_proof(previous.size, checkpoint.size)
            verify_consistency(
                previous.size, checkpoint.size, previous.root, checkpoint.root, proof
            )
        previous = checkpoint
    return len(rows), previous


def _check_note(
    ledger: Ledger, tree: Tree, timeline: KeyTimeline, note: str, what: str
) -> Checkpoint:
    all_keys = [span.key for span in timeline.spans.values()]
    checkpoint, key_id = verify_checkpoint(note, all_keys)
    if checkpoint.origin != ledger.origin:
        raise VerificationError(
            f"{what} is for origin {checkpoint.origin!r}, not {ledger.origin!r}"
        )
    span = timeline.spans[key_id]
    if not span.may_sign_checkpoint(checkpoint.size):
        raise VerificationError(
            f"{what} at size {checkpoint.size} is signed by a key not valid at that size",
            seq=max(checkpoint.size - 1, 0),
        )
    if checkpoint.size > tree.size:
        raise VerificationError(
            f"{what} covers {checkpoint.size} entries but the ledger holds {tree.size}: "
            f"entries from {tree.size} on were cut off",
            seq=tree.size,
        )
    if tree.root(checkpoint.size) != checkpoint.root:
        raise VerificationError(
            f"the tree of the first {checkpoint.size} entries does not have the root its "
            f"{what} signed: history before it was rewritten"
        )
    return checkpoint


def _verify_kept(ledger: Ledger, tree: Tree, timeline: KeyTimeline, note: str) -> Checkpoint:
    return _check_note(ledger, tree, timeline, note, "the kept checkpoint")
