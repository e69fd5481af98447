"""Signed heads of the state a screen decides from that lives outside the ledger's tree.

The dedup index (segments in the home, or the `dedup_` tables of a PostgreSQL ledger database)
says which rows are copies of earlier ones. Unsigned, whoever can write the database could make a
screen miss a copy (drop or alter a sample's sketches) or name a false original (add one), and
the screen would sign that verdict. So every save signs a head: the index's parameters and each
segment's counts and SHA-256, in order, a version one above the head it replaces, the ledger it
belongs to and that ledger's size, in a DSSE envelope by the saving home's ledger key. A screen
decides from the index only if its head verifies under a key that this ledger's signed key
events allowed to sign at the size the head names (the genesis key pinned by the home's config;
a revoked key's heads are refused), names this ledger, and lists exactly the segments that are
there.

A signature alone does not stop an old head from coming back with its old segments (a
rollback, which forgets the samples screened since). Each home therefore keeps, beside its kept
checkpoint, the version and digest of the last head it signed or accepted, per kind and ledger
(`heads.json`): a head below that version, or another head at that version, is refused, and so
is an index without a head once the home has seen a signed one. As with the kept checkpoint, a
home that never saw the index before trusts the newest head it is shown.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthguard.ledger.log.private_file import write_private
from synthguard.ledger.log.store import Ledger
from synthguard.provenance.canonical import canonical_json
from synthguard.provenance.dsse import open_envelope, sign_envelope
from synthguard.provenance.errors import InputError, VerificationError
from synthguard.provenance.named_file import read_home_file

HEAD_TYPE = "application/vnd.synthguard.head+json"
HEAD_FORMAT = "synthguard-head/1"
KEPT_FILE = "heads.json"
KEPT_MAX_BYTES = 1 << 20
"""heads.json holds about 100 bytes per kind and ledger a home has seen."""


@dataclass(frozen=True, slots=True)
class Head:
    """A head that verified: its version, the state it signs and the digest of its envelope."""

    version: int
    state: dict[str, Any]
    digest: str


class HeadSeal:
    """Signs and checks the heads of one kind of state (`kind`, e.g. "dedup-index") of one
    ledger, for one home (`home`: where its `heads.json` is kept).

    `ledger` signs (it must be open with the home's key to `sign`) and gives its key timeline;
    `root_key` pins its genesis key as the home's config does.
    """

    def __init__(self, ledger: Ledger, home: Path, kind: str, root_key: str | None) -> None:
        self.ledger = ledger
        self.kind = kind
        self.root_key = root_key
        self._kept = home / KEPT_FILE
        self._name = f"{kind} of {ledger.origin}"
        self._shown = kind.replace("-", " ")

    def sign(
        self, state: Mapping[str, Any], loaded: int, replaced: bytes | None
    ) -> tuple[bytes, Head]:
        """The envelope of a head of `state`, signed by the ledger's key, and the head.

        Its version is one above both the version this screen loaded and that of the head it
        replaces in the store: another screen of this home may have saved in between (a
        folder is locked only while it is written). The replaced head is only read for its
        number: whatever it claims, the new head is signed here and checked when it is read.
        """
        version = max(loaded, _version_of(replaced)) + 1
        signer = self.ledger.key_id
        payload = canonical_json(
            {
                "format": HEAD_FORMAT,
                "kind": self.kind,
                "ledger": self.ledger.origin,
                "signer": signer,
                "size": self.ledger.size(),
                "state": dict(state),
                "version": version,
            }
        )
        assert self.ledger.signer is not None  # key_id above raised otherwise
        envelope = sign_envelope(payload, HEAD_TYPE, self.ledger.signer)
        return envelope, Head(version, dict(state), _digest(envelope))

    def open(self, envelope: bytes | None, state: Mapping[str, Any], where: str) -> Head | None:
        """The head `envelope` if it verifies, names this ledger and `state` (what the store
        holds), and is not older than the head this home kept; None for a store that has no
        head and of which this home has seen none (one written before heads were signed).

        VerificationError says what is wrong: the store was changed without a key.
        """
        kept = self._kept_heads().get(self._name)
        if envelope is None:
            if kept is not None:
                raise VerificationError(
                    f"the {self._shown}{where} has no signed head, but this home accepted its "
                    f"version {kept['version']}: it was removed, replaced or rolled back without "
                    f"a key (if you removed it to start anew, remove {self._kept} too)"
                )
            return None
        size = self.ledger.size()
        timeline, bad_key_event = self.ledger.key_timeline(self.root_key, size)
        if bad_key_event is not None:
            raise bad_key_event
        try:
            kind, payload, signer = open_envelope(
                envelope, {key_id: span.key for key_id, span in timeline.spans.items()}
            )
            body: Any = json.loads(payload)
            fields = (body["format"], body["kind"], body["ledger"], body["signer"])
            version, signed, signed_at = body["version"], body["state"], body["size"]
        except (VerificationError, ValueError, KeyError, TypeError) as exc:
            raise VerificationError(
                f"the {self._shown}{where} has a head that does not verify under this ledger's "
                f"keys ({exc}): it was changed without a key"
            ) from exc
        if kind != HEAD_TYPE or fields[:2] != (HEAD_FORMAT, self.kind) or fields[3] != signer:
            raise VerificationError(
                f"the {self._shown}{where} has a head signed for another use ({fields[1]!r}): "
                "it was moved here without a key"
            )
        if fields[2] != self.ledger.origin:
            raise VerificationError(
                f"the {self._shown}{where} belongs to ledger {fields[2]!r}, not to this one "
                f"({self.ledger.origin!r}): screen with the ledger it was saved with, or move "
                f"it and {self._kept} aside to start one for this ledger"
            )
        if timeline.spans[signer].status == "revoked":
            raise VerificationError(
                f"the {self._shown}{where} has a head signed by key {signer}, which was revoked: "
                "a head it signed cannot be told from one made with it since; restore an index "
                f"signed by another key, or move the index and {self._kept} aside to start anew"
            )
        # As for a checkpoint: the key must have been one that could sign at the ledger size
        # the head names, which the ledger has reached (a retired key's old heads still hold).
        if (
            type(signed_at) is not int
            or not 0 < signed_at <= size
            or not timeline.spans[signer].may_sign_checkpoint(signed_at)
        ):
            raise VerificationError(
                f"the {self._shown}{where} has a head signed by key {signer} for ledger size "
                f"{signed_at!r}, at which that key could not sign (the ledger holds {size} "
                "entries): it was not made for this ledger as it is"
            )
        if type(version) is not int or version < 1 or signed != dict(state):
            raise VerificationError(
                f"the {self._shown}{where} does not hold what its signed head lists (another "
                "segment, a changed or missing one): it was changed without a key"
            )
        head = Head(version, signed, _digest(envelope))
        if kept is not None and (
            version < kept["version"]
            or (version == kept["version"] and head.digest != kept["digest"])
        ):
            raise VerificationError(
                f"the {self._shown}{where} is at version {version}, but this home accepted "
                f"version {kept['version']}: it was rolled back without a key"
            )
        return head

    def kept_version(self) -> int | None:
        """The version of the newest head this home signed or accepted (None: none yet, so a
        head it is shown cannot be told from a rolled-back one)."""
        kept = self._kept_heads().get(self._name)
        return None if kept is None else int(kept["version"])

    def keep(self, head: Head) -> None:
        """Remember `head` as the newest this home has signed or accepted for this ledger."""
        heads = self._kept_heads()
        known = heads.get(self._name)
        if known is not None and known["version"] > head.version:
            return
        heads[self._name] = {"version": head.version, "digest": head.digest}
        write_private(self._kept, (json.dumps(heads, indent=1, sort_keys=True) + "\n").encode())

    def _kept_heads(self) -> dict[str, Any]:
        data = read_home_file(self._kept, "heads file", KEPT_MAX_BYTES)
        if data is None:
            return {}
        try:
            heads: Any = json.loads(data)
        except ValueError as exc:
            raise InputError(f"{self._kept} is not readable ({exc}): restore it") from exc
        if not isinstance(heads, dict) or not all(_kept_head(v) for v in heads.values()):
            raise InputError(f"{self._kept} is damaged: restore it from a backup")
        return heads


def _version_of(envelope: bytes | None) -> int:
    """The version an envelope's head payload names (0 if there is none to read)."""
    try:
        version = json.loads(base64.b64decode(json.loads(envelope or b"null")["payload"]))[
            "version"
        ]
    except (ValueError, KeyError, TypeError, binascii.Error):
        return 0
    # Unsigned here: a number JSON holds exactly, or nothing (it only numbers the next head).
    return version if type(version) is int and 0 < version < 2**53 - 1 else 0


def _kept_head(value: object) -> bool:
    return (
        isinstance(value, dict)
        and type(value.get("version")) is int
        and isinstance(value.get("digest"), str)
    )


def _digest(envelope: bytes) -> str:
    return hashlib.sha256(envelope).hexdigest()
