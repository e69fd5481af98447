"""DSSE envelopes (Dead Simple Signing Envelope v1): PAE, signing and verification.

The signature covers PAE(payloadType, payload) =
`"DSSEv1" SP len(type) SP type SP len(body) SP body`, lengths as ASCII decimal byte counts.
An envelope is stored as the exact canonical JSON bytes that went into the ledger leaf; it is
parsed for checking, never re-encoded.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from synthguard.provenance.errors import VerificationError
from synthguard.provenance.keys import SigningKey, VerifyingKey


def pae(payload_type: str, payload: bytes) -> bytes:
    """Return the DSSE v1 pre-authentication encoding of a payload."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


class Signature(BaseModel):
    """One signature of an envelope."""

    model_config = ConfigDict(frozen=True)

    keyid: str
    sig: str


class Envelope(BaseModel):
    """A DSSE envelope, with the JSON field names of the spec."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    payload: str
    payload_type: str = Field(alias="payloadType")
    signatures: list[Signature]

    def payload_bytes(self) -> bytes:
        """Return the decoded payload."""
        return base64.b64decode(self.payload, validate=True)

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        """Parse envelope bytes, raising VerificationError when they are not an envelope."""
        try:
            return cls.model_validate_json(data)
        except ValueError as exc:
            raise VerificationError("not a DSSE envelope") from exc


def sign_envelope(payload: bytes, payload_type: str, key: SigningKey) -> bytes:
    """Sign a payload and return the canonical bytes of its one-signature envelope."""
    sig = key.sign(pae(payload_type, payload))
    return envelope_bytes(payload, payload_type, key.key_id, base64.b64encode(sig).decode("ascii"))


def envelope_bytes(payload: bytes, payload_type: str, keyid: str, sig: str) -> bytes:
    """The canonical (RFC 8785) bytes of a one-signature envelope, `sig` in base64 as signed.

    The JCS form of this fixed shape, written directly: it runs once per ledger record, and
    once per bundled record when a release bundle rebuilds its envelopes. Keys are already in
    JCS order; base64 needs no escaping, and json's string escaping of the rest is JCS's.
    """
    body = base64.b64encode(payload).decode("ascii")
    return (
        f'{{"payload":"{body}","payloadType":{encode_basestring(payload_type)},'
        f'"signatures":[{{"keyid":{encode_basestring(keyid)},"sig":{encode_basestring(sig)}}}]}}'
    ).encode()


def open_envelope(
    data: bytes, key_for: Callable[[str], VerifyingKey | None] | Mapping[str, VerifyingKey]
) -> tuple[str, bytes, str]:
    """Verify an envelope and return (payload type, payload, signing key id).

    The envelope must carry at least one signature by a key that `key_for` knows and that
    signature must verify; signatures by unknown keys are ignored, as DSSE allows.
    """
    lookup = key_for if callable(key_for) else key_for.get
    try:
        raw: Any = json_value(data.decode("utf-8"))
        payload_type = raw["payloadType"]
        payload = _strict_b64(raw["payload"])
        signatures = raw["signatures"]
        if not isinstance(payload_type, str) or not isinstance(signatures, list):
            raise TypeError
        # Inside the try: a JSON payloadType may hold a lone surrogate, which UTF-8 refuses.
        message = pae(payload_type, payload)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise VerificationError("not a DSSE envelope") from exc
    known = False
    for signature in signatures:
        if not isinstance(signature, dict):
            continue
        keyid = signature.get("keyid")
        # A non-string key id would be unhashable for a mapping lookup (TypeError).
        key = lookup(keyid) if isinstance(keyid, str) else None
        if key is None:
            continue
        known = True
        encoded = signature.get("sig")
        if not isinstance(encoded, str):
            continue
        try:
            sig = _strict_b64(encoded)
        except (binascii.Error, ValueError):
            continue
        if key.verify(sig, message):
            return payload_type, payload, key.key_id
    if not known:
        ids = ", ".join(str(s.get("keyid")) for s in signatures if isinstance(s, dict))
        raise VerificationError(f"signed by an unknown key ({ids or 'no signature'})")
    raise VerificationError("signature does not verify")


def repeated_key(data: bytes) -> str | None:
    """The first key repeated within one object of the JSON `data` (None when none is, or
    when `data` is no JSON: reading it says so). Python keeps the last of two equal keys and
    another reader may keep the first: a file read by both must not mean two things."""
    repeated: list[str] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        value = dict(pairs)
        if len(value) != len(pairs) and not repeated:
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    repeated.append(key)
                    break
                seen.add(key)
        return value

    try:
        json.loads(data, object_pairs_hook=pairs_hook)
    except (ValueError, RecursionError):
        return None
    return repeated[0] if repeated else None


def json_value(data: bytes | str) -> Any:
    """`json.loads(data)`: the same value or the same error (a ValueError, also for JSON
    nested too deeply for Python's recursion limit). UTF-8 text that is one JSON value
    with nothing around it (what this package writes) goes to the standard library's C
    scanner directly, which skips `json.loads`'s encoding detection and whitespace handling
    (`verify` parses an envelope and a payload for every entry)."""
    try:
        if isinstance(data, str) or b"\x00" not in data[:4]:  # else UTF-16 or UTF-32
            try:
                text = data if isinstance(data, str) else data.decode("utf-8")
                value, end = _SCAN(text, 0)
            except (UnicodeDecodeError, StopIteration):
                pass  # not UTF-8, or whitespace or a byte order mark first: json.loads decides
            else:
                if end == len(text):
                    return value
        return json.loads(data)
    except RecursionError:
        # A ValueError, as json.loads gives for any other JSON it cannot take.
        raise ValueError("JSON nested too deeply to read") from None


_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _strict_b64(text: str) -> bytes:
    # strict_mode: the standard alphabet only, no stray characters, padding where it belongs.
    return binascii.a2b_base64(text, strict_mode=True)
