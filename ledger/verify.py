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

import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

from sqlalchemy import func, select

from synthguard.ledger.checkpoint import Checkpoint, verify_checkpoint
from synthguard.ledger.keyring import KeyTimeline
from synthguard.ledger.merkle import Tree, verify_consistency
from synthguard.ledger.store import Ledger, engine_for
from synthguard.ledger.tables import Entry
from synthguard.provenance.dsse import open_envelope
from synthguard.provenance.errors import VerificationError
from synthguard.provenance.keys import VerifyingKey
from synthguard.provenance.record import KEY_EVENT_TYPE, RECORD_TYPE, KeyEvent

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
    size = _check_numbering(ledger)
    timeline = _key_timeline(ledger, root_key_id)
    leaves = _verify_entries(ledger, size, timeline, workers, progress)
    tree = Tree(leaves)
    checkpoints, latest = _verify_checkpoints(ledger, tree, timeline)
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
        count, top = conn.execute(select(func.count(), func.max(Entry.seq))).one()
        if count == 0:
            raise VerificationError("the ledger has no entries", seq=0)
        if top != count - 1:
            # Find the first hole: the first seq whose successor is missing.
            seqs = conn.execute(select(Entry.seq).order_by(Entry.seq)).scalars()  # type: ignore[arg-type]
            for expected, seq in enumerate(seqs):
                if seq != expected:
                    raise VerificationError(f"entry {expected} is missing", seq=expected)
    return int(count)


def _key_timeline(ledger: Ledger, root_key_id: str | None) -> KeyTimeline:
    timeline = KeyTimeline()
    first = ledger.entry(0)
    assert first is not None
    if first.payload_type != KEY_EVENT_TYPE:
        raise VerificationError("entry 0 is not the genesis key event", seq=0)
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            select(Entry.seq, Entry.envelope)  # type: ignore[call-overload]
            .where(Entry.payload_type == KEY_EVENT_TYPE)
            .order_by(Entry.seq)
        ).all()
    for seq, envelope in rows:
        try:
            claimed = json.loads(envelope)["signatures"][0]["keyid"]
            if seq == 0:
                event = KeyEvent.from_payload(_payload(envelope))
                if root_key_id is not None and event.key_id != root_key_id:
                    raise VerificationError(
                        f"entry 0 adds key {event.key_id}, not the pinned root key {root_key_id}",
                        seq=0,
                    )
                genesis = VerifyingKey(_raw_key(event))
                _, payload, signer = open_envelope(envelope, {genesis.key_id: genesis})
            else:
                _, payload, signer = open_envelope(envelope, lambda k, s=seq: timeline.key_at(k, s))
            del claimed
            event = KeyEvent.from_payload(payload)
        except VerificationError as exc:
            raise VerificationError(f"entry {seq}: key event: {exc}", seq=seq) from exc
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise VerificationError(f"entry {seq}: malformed key event", seq=seq) from exc
        timeline.apply(seq, event, signer)
    return timeline


def _payload(envelope: bytes) -> bytes:
    import base64

    return base64.b64decode(json.loads(envelope)["payload"])


def _raw_key(event: KeyEvent) -> bytes:
    import base64

    return base64.b64decode(event.public_key or "")


def _verify_entries(
    ledger: Ledger,
    size: int,
    timeline: KeyTimeline,
    workers: int | None,
    progress: Progress | None,
) -> list[bytes]:
    spans = {
        key_id: (span.key.raw, span.added_seq, span.ended_seq)
        for key_id, span in timeline.spans.items()
    }
    ranges = [(start, min(start + _CHUNK, size)) for start in range(0, size, _CHUNK)]
    workers = workers or os.cpu_count() or 1
    leaves: list[bytes] = []
    if size < _PARALLEL_FROM or workers == 1:
        for start, stop in ranges:
            chunk_leaves, error = _verify_range(ledger.url, start, stop, spans, ledger)
            if error is not None:
                raise VerificationError(error[1], seq=error[0])
            leaves.extend(chunk_leaves)
            if progress:
                progress(stop - start)
        return leaves
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
        futures = [pool.submit(_verify_range, ledger.url, a, b, spans, None) for a, b in ranges]
        for (start, stop), future in zip(ranges, futures, strict=True):
            chunk_leaves, error = future.result()
            if error is not None:
                for other in futures:
                    other.cancel()
                raise VerificationError(error[1], seq=error[0])
            leaves.extend(chunk_leaves)
            if progress:
                progress(stop - start)
    return leaves


_worker_ledgers: dict[str, Any] = {}


def _verify_range(
    url: str,
    start: int,
    stop: int,
    spans: dict[str, tuple[bytes, int, int | None]],
    ledger: Ledger | None,
) -> tuple[list[bytes], tuple[int, str] | None]:
    """Check entries start <= seq < stop; return their leaf hashes and the first error."""
    if ledger is None:
        engine = _worker_ledgers.get(url)
        if engine is None:
            engine = _worker_ledgers[url] = engine_for(url)
    else:
        engine = ledger.engine
    keys = {key_id: VerifyingKey(raw) for key_id, (raw, _, _) in spans.items()}
    with engine.connect() as conn:
        rows = conn.execute(
            select(  # type: ignore[call-overload]
                Entry.seq,
                Entry.leaf_hash,
                Entry.envelope,
                Entry.key_id,
                Entry.payload_type,
                Entry.event,
                Entry.sample_id,
            )
            .where(Entry.seq >= start, Entry.seq < stop)
            .order_by(Entry.seq)
        ).all()
    leaves: list[bytes] = []
    for seq, stored_leaf, envelope, key_id, payload_type, event, sample_id in rows:
        leaf = hashlib.sha256(b"\x00%d\n" % seq + envelope).digest()
        if leaf != stored_leaf:
            return leaves, (seq, f"entry {seq}: leaf hash does not match its envelope")

        def lookup(kid: str, seq: int = seq) -> VerifyingKey | None:
            span = spans.get(kid)
            if span is None:
                return None
            _, added, ended = span
            ok = (seq > added or seq == added == 0) and (ended is None or seq <= ended)
            return keys[kid] if ok else None

        try:
            kind, payload, signer = open_envelope(envelope, lookup)
        except VerificationError as exc:
            reason = str(exc)
            if "unknown key" in reason and any(k in reason for k in spans):
                reason = "signed by a key that was not valid at this position (revoked or retired)"
            return leaves, (seq, f"entry {seq}: {reason}")
        problem = _index_problem(kind, payload, signer, key_id, payload_type, event, sample_id)
        if problem:
            return leaves, (seq, f"entry {seq}: {problem}")
        leaves.append(leaf)
    return leaves, None


def _index_problem(
    kind: str,
    payload: bytes,
    signer: str,
    key_id: str,
    payload_type: str,
    event: str | None,
    sample_id: str | None,
) -> str | None:
    if kind != payload_type:
        return f"stored payload type {payload_type!r} differs from the signed {kind!r}"
    if key_id != signer:
        return "stored key id differs from the signing key"
    body = json.loads(payload)
    if body.get("signer") != signer:
        return "the payload names a different signer than the signature"
    if kind == RECORD_TYPE:
        if body.get("event") != event or body.get("sample_id") != sample_id:
            return "stored event or sample id differs from the signed record"
    elif kind == KEY_EVENT_TYPE:
        if body.get("action") != event:
            return "stored event differs from the signed key event"
    else:
        return f"unknown payload type {kind!r}"
    return None


def _verify_checkpoints(
    ledger: Ledger, tree: Tree, timeline: KeyTimeline
) -> tuple[int, Checkpoint | None]:
    previous: Checkpoint | None = None
    rows = ledger.checkpoints()
    for row in rows:
        checkpoint = _check_note(ledger, tree, timeline, row.note, "checkpoint")
        if checkpoint.size != row.size:
            raise VerificationError(f"checkpoint row {row.size} holds a note of size {checkpoint.size}")
        if previous is not None:
            proof = tree.consistency_proof(previous.size, checkpoint.size)
            verify_consistency(previous.size, checkpoint.size, previous.root, checkpoint.root, proof)
        previous = checkpoint
    return len(rows), previous


def _check_note(
    ledger: Ledger, tree: Tree, timeline: KeyTimeline, note: str, what: str
) -> Checkpoint:
    all_keys = [span.key for span in timeline.spans.values()]
    checkpoint, key_id = verify_checkpoint(note, all_keys)
    if checkpoint.origin != ledger.origin:
        raise VerificationError(f"{what} is for origin {checkpoint.origin!r}, not {ledger.origin!r}")
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
