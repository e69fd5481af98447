"""Which key may sign which entry: the key timeline that the ledger's key events define.

Positions, not clocks, decide validity: a key added by the entry at seq `a` may sign entries
after `a` (the genesis key, added by entry 0 and signing it, from 0); a key rotated away or
revoked by the entry at seq `r` may sign nothing after `r`. Wall-clock times in records are the
signer's claim; the order of the tree is not.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial

from synthguard.provenance.dsse import Envelope, open_envelope
from synthguard.provenance.errors import KeyringError, SynthguardError, VerificationError
from synthguard.provenance.keys import VerifyingKey
from synthguard.provenance.record import KeyAction, KeyEvent


@dataclass(slots=True)
class KeySpan:
    """One key and the range of seqs it may sign."""

    key: VerifyingKey
    added_seq: int
    ended_seq: int | None = None
    status: str = "active"
    ends: list[int] = field(default_factory=list)
    """The seqs of every key event that ended this key (a rotation, then a revocation)."""

    def may_sign(self, seq: int) -> bool:
        """Whether this key may sign the entry at `seq`."""
        started = seq > self.added_seq or seq == self.added_seq == 0
        return started and (self.ended_seq is None or seq <= self.ended_seq)

    def may_sign_checkpoint(self, size: int) -> bool:
        """Whether this key may sign a checkpoint of a tree with `size` leaves."""
        last = size - 1
        return (
            size > 0
            and self.added_seq <= last
            and (self.ended_seq is None or last <= self.ended_seq)
        )


class KeyTimeline:
    """The keys of one ledger, built by applying its key events in seq order."""

    def __init__(self) -> None:
        self.spans: dict[str, KeySpan] = {}
        self.events: set[int] = set()
        """The seqs of the key events applied: a reader that meets a signed key event outside
        them was handed a timeline built without it (through an index the database disagrees
        with), and must not trust the timeline."""

    def apply(self, seq: int, event: KeyEvent, signer: str) -> None:
        """Apply the key event at `seq`, signed by key `signer`; raise if it is not allowed."""
        if event.signer != signer:
            raise VerificationError(
                f"entry {seq}: key event names signer {event.signer} but is signed by {signer}",
                seq=seq,
            )
        if seq == 0:
            self._genesis(event, signer)
            self.events.add(seq)
            return
        if not self.valid_at(signer, seq):
            raise VerificationError(f"entry {seq}: key event by a key not valid here", seq=seq)
        if event.action in (KeyAction.ADDED, KeyAction.ROTATED):
            if event.key_id in self.spans:
                raise VerificationError(
                    f"entry {seq}: key {event.key_id} was added before", seq=seq
                )
            self.spans[event.key_id] = KeySpan(_public_key(event, seq), added_seq=seq)
        if event.action is KeyAction.ROTATED:
            self._end(event.previous_key_id or signer, seq, "retired")
        elif event.action is KeyAction.REVOKED:
            self._end(event.key_id, seq, "revoked")
        self.events.add(seq)

    def _genesis(self, event: KeyEvent, signer: str) -> None:
        if event.action is not KeyAction.ADDED or event.key_id != signer:
            raise VerificationError(
                "entry 0 must be the first key adding itself (a self-signed key_added)", seq=0
            )
        self.spans[event.key_id] = KeySpan(_public_key(event, 0), added_seq=0)

    def _end(self, key_id: str, seq: int, status: str) -> None:
        span = self.spans.get(key_id)
        if span is None:
            raise VerificationError(f"entry {seq}: no key {key_id} to end", seq=seq)
        if span.ended_seq is None or span.ended_seq > seq:
            span.ended_seq = seq
        span.ends.append(seq)
        span.status = status

    def valid_at(self, key_id: str, seq: int) -> bool:
        """Whether `key_id` may sign the entry at `seq`."""
        span = self.spans.get(key_id)
        return span is not None and span.may_sign(seq)

    def key_at(self, key_id: str, seq: int) -> VerifyingKey | None:
        """Return the key if it may sign the entry at `seq`, else None."""
        span = self.spans.get(key_id)
        return span.key if span is not None and span.may_sign(seq) else None

    def checkpoint_keys(self, size: int) -> list[VerifyingKey]:
        """Return the keys that may sign a checkpoint at `size`."""
        return [s.key for s in self.spans.values() if s.may_sign_checkpoint(size)]


def _public_key(event: KeyEvent, seq: int) -> VerifyingKey:
    try:
        key = VerifyingKey(base64.b64decode(event.public_key or "", validate=True))
    except (binascii.Error, ValueError, KeyringError) as exc:
        raise VerificationError(
            f"entry {seq}: key event carries no valid public key", seq=seq
        ) from exc
    if key.key_id != event.key_id:
        raise VerificationError(f"entry {seq}: key id does not match the public key", seq=seq)
    return key


def build_timeline(
    rows: Iterable[tuple[int, bytes]], root_key_id: str | None = None
) -> tuple[KeyTimeline, VerificationError | None]:
    """Apply signed key events (seq, envelope), in seq order, up to the first bad one; return
    the timeline and that error unraised (the timeline is sound for every entry before it).

    Entry 0 must be the genesis key adding itself; `root_key_id` pins which key that is.
    """
    timeline = KeyTimeline()
    first = True
    for seq, envelope in rows:
        if first and seq != 0:
            raise VerificationError("entry 0 is not the genesis key event", seq=0)
        first = False
        try:
            event, signer = _open_key_event(seq, envelope, timeline, root_key_id)
            timeline.apply(seq, event, signer)
        except VerificationError as exc:
            if seq == 0:
                raise
            return timeline, exc
    if first:
        raise VerificationError("entry 0 is not the genesis key event", seq=0)
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
