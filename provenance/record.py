"""Lineage records and key events: the two kinds of signed statement a ledger holds.

Each is signed as a DSSE envelope whose payload is the canonical JSON of the record; the
payload type says which kind it is. A record never holds sample content, only digests, so
content can be erased without breaking the tamper-evident tree.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime
from enum import StrEnum
from json.encoder import encode_basestring
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)

from synthguard.provenance.canonical import EncodedDict, Fragment, canonical_json, json_copy
from synthguard.provenance.errors import InputError

SCHEMA_VERSION: Literal[2] = 2
"""Version 2 payloads are bound to one ledger and one place in it: they carry the ledger's
origin and a random record id, stamped by the ledger as it signs them. Version 1 payloads
(written before that) carry neither; see `synthguard.ledger.log.verify` for what that costs."""
RECORD_TYPE = "application/vnd.synthguard.lineage.v1+json"
KEY_EVENT_TYPE = "application/vnd.synthguard.key-event.v1+json"
REDACTION = "redaction"
"""The detail key of a `revised` record made by redaction: what was removed, where, by what."""

_DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
_RECORD_ID_PATTERN = r"^[0-9a-f]{32}$"
_DIGEST = re.compile(_DIGEST_PATTERN[1:-1])
_RECORD_ID = re.compile(_RECORD_ID_PATTERN[1:-1])
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z")


class Event(StrEnum):
    """What happened to a sample."""

    GENERATED = "generated"
    CRITIQUED = "critiqued"
    REVISED = "revised"
    IMPORTED = "imported"
    SCREENED = "screened"
    REVIEWED = "reviewed"
    RELEASED = "released"
    ERASED = "erased"


class Origin(StrEnum):
    """Who wrote a sample's content."""

    SYNTHETIC = "synthetic"
    HUMAN = "human"
    HYBRID = "hybrid"


class Generator(BaseModel):
    """The model or program that produced a sample."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    name: str = Field(description="The pipeline step or generator name, e.g. 'self-instruct'.")
    provider: str | None = Field(default=None, description="Model provider, e.g. 'openai'.")
    model: str = Field(description="Model identifier.")
    version: str | None = Field(default=None, description="Model version or revision.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Sampling parameters.")
    seed: int | None = None

    @field_validator("parameters")
    @classmethod
    def _own_parameters(cls, parameters: dict[str, Any]) -> dict[str, Any]:
        # A copy of its own: the caller's dict (a sampling config reused across calls) may
        # change after this generator is made, and records are signed from it later.
        copied: dict[str, Any] = json_copy(parameters)
        return copied

    def canonical(self) -> Fragment:
        """The canonical JSON of this generator, computed once per object (it repeats in
        every record a pipeline step writes)."""
        cached = _GENERATOR_JSON.get(id(self))
        if cached is not None and cached[0] is self:
            return cached[1]
        try:
            dumped = self.model_dump(mode="json", exclude_none=True)
        except ValueError as exc:  # pydantic's: nested too deeply, or a type JSON lacks
            raise InputError(f"generator {self.name!r}: parameters are not JSON: {exc}") from None
        fragment = Fragment(canonical_json(dumped).decode("utf-8"))
        if len(_GENERATOR_JSON) >= 1024:
            _GENERATOR_JSON.clear()
        # The entry keeps the object alive, so its id cannot be reused while cached.
        _GENERATOR_JSON[id(self)] = (self, fragment)
        return fragment


_GENERATOR_JSON: dict[int, tuple[Generator, Fragment]] = {}


class SourceKind(StrEnum):
    """Kinds of source, as the EU AI Act training-content summary template sorts them."""

    PUBLIC_DATASET = "public-dataset"
    LICENSED = "licensed"
    """Licensed from its rightsholders or their representatives (the template's 2.2.1)."""
    PRIVATE = "private"
    """Private, not publicly available data obtained from another third party (2.2.2)."""
    CRAWLED = "crawled"
    USER = "user"
    SYNTHETIC = "synthetic"
    OTHER = "other"


class Source(BaseModel):
    """A document the generator drew on (retrieval, a seed set, a licensed corpus)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    uri: str
    digest: str | None = Field(default=None, pattern=_DIGEST_PATTERN)
    license: str | None = Field(default=None, description="SPDX id or a licence URL.")
    kind: SourceKind | None = Field(
        default=None,
        description="What kind of source (the EU template's categories); when absent, reports "
        "infer it from the URI.",
    )
    tdm_opt_out: str | None = Field(
        default=None,
        description="What is known of the rightsholder's text-and-data-mining reservation for "
        "this source and when it was checked (robots.txt, a TDMRep header, a licence clause); "
        "reports show it, or 'not recorded' without it.",
    )


def utc_now() -> str:
    """Return the current time as RFC 3339 UTC with microseconds and a `Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_int(text: str) -> int | float:
    # JCS writes a double below 1e21 without an exponent (2.0**70 is "1180591620717411300000");
    # beyond the exact range such a number can only have been a double, so read it as one.
    value = int(text)
    return value if -(2**53) < value < 2**53 else float(value)


def _check_time(value: str) -> str:
    # fromisoformat alone would also take a bare date or the basic form 20240101T000000.
    if not _TIME.fullmatch(value):
        raise ValueError("time must be RFC 3339 in UTC, ending in 'Z'")
    datetime.fromisoformat(value[:-1] + "+00:00")
    return value


def _keep_encoded(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    # A detail already encoded (and so checked) by the Recorder stays as it is, its text
    # with it: a plain dict would be encoded again when the record is signed.
    return value if type(value) is EncodedDict else handler(value)


SampleId = Annotated[str, Field(pattern=_DIGEST_PATTERN)]


class LineageRecord(BaseModel):
    """One signed statement about one sample."""

    # Pydantic's JSON-mode dump would turn NaN/inf into null; kept as floats, canonical_json
    # refuses them instead of a null being signed (Generator.canonical relies on the same).
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    schema_version: Literal[1, 2] = SCHEMA_VERSION
    ledger: str | None = Field(
        default=None,
        description="The origin of the ledger this record was signed into (stamped on signing).",
    )
    record_id: str | None = Field(
        default=None,
        pattern=_RECORD_ID_PATTERN,
        description="128 random bits, stamped on signing: no two entries carry the same one.",
    )
    event: Event
    sample_id: str = Field(pattern=_DIGEST_PATTERN, description="Digest of canonical content.")
    digest: str = Field(
        pattern=_DIGEST_PATTERN, description="Digest of the whole stored sample row."
    )
    kind: Literal["alpaca", "chat", "text"] | None = Field(
        default=None,
        description="The sample's shape, so that its modality outlives an erasure of its content.",
    )
    origin: Origin = Origin.SYNTHETIC
    generator: Generator | None = None
    prompt_digest: str | None = Field(default=None, pattern=_DIGEST_PATTERN)
    parents: list[SampleId] = Field(default_factory=list, description="Parent sample ids.")
    depth: int = Field(default=0, ge=0, description="0 for human data; 1 + max parent depth.")
    sources: list[Source] = Field(default_factory=list)
    run_id: str
    time: str
    signer: str = Field(pattern=_DIGEST_PATTERN, description="Key id of the signing key.")
    detail: Annotated[dict[str, Any], WrapValidator(_keep_encoded)] = Field(
        default_factory=dict, description="Event-specific facts (a score, a verdict, a reason)."
    )

    _time = field_validator("time")(_check_time)

    def payload(self, ledger: str | None = None, record_id: str | None = None) -> bytes:
        """Return the canonical bytes that get signed (JCS of the record, nulls left out),
        bound to `ledger` and `record_id` when given (the ledger stamps both as it signs).

        Written field by field in JCS key order rather than through `model_dump`: this runs
        once per record on the append path. A test pins it to `rfc8785.dumps(model_dump)`.
        """
        parts = []
        for name in _RECORD_FIELDS:
            if name == "ledger" and ledger is not None:
                value: Any = ledger
            elif name == "record_id" and record_id is not None:
                value = record_id
            else:
                value = getattr(self, name)
            if value is None:
                continue
            if type(value) is str:
                text = encode_basestring(value)
            elif isinstance(value, StrEnum):
                text = encode_basestring(value.value)
            elif type(value) is int:
                text = str(value)
            elif isinstance(value, Generator):
                text = value.canonical()
            elif name == "parents":
                text = "[" + ",".join(map(encode_basestring, value)) + "]"
            elif name == "sources":
                text = canonical_json([s.model_dump(exclude_none=True) for s in value]).decode()
            else:
                text = canonical_json(value).decode("utf-8")
            parts.append(f'"{name}":{text}')
        return ("{" + ",".join(parts) + "}").encode("utf-8")

    @classmethod
    def from_payload(cls, payload: bytes) -> LineageRecord:
        """Parse a signed payload back into a record."""
        return cls.model_validate(json.loads(payload, parse_int=_json_int))

    def redacted_kinds(self) -> tuple[str, ...]:
        """The kinds of personal data a redaction removed (`screen --redact` signs them under
        `detail.redaction.kinds` of a `revised` record), sorted; () for any other record."""
        redaction = self.detail.get(REDACTION) if self.event is Event.REVISED else None
        kinds = redaction.get("kinds") if isinstance(redaction, dict) else None
        if not isinstance(kinds, dict):
            return ()
        return tuple(sorted(str(kind) for kind in kinds))


# Field names in JCS order (all ASCII, so plain sorting is UTF-16 order).
_RECORD_FIELDS = tuple(sorted(LineageRecord.model_fields))


class PayloadTemplate:
    """The payloads of records that differ only in sample id, digest, record id and time (one
    run of `synthguard record`: one event, generator, origin, run, kind and signer), as
    `LineageRecord.payload` writes them for `ledger`, but without building and validating a
    record per sample: a small part of the cost, on a path that signs every row of a file.

    The prototype is validated and written once, with a random placeholder in each of the four
    fields; the payload is cut at them. The four values are checked against the patterns the
    record's fields have: a value that needs no JSON escaping is spliced in verbatim, and
    JCS's key order does not depend on values, so the bytes are the record's own (a test pins
    them to `LineageRecord.payload`).
    """

    _FIELDS = ("sample_id", "digest", "record_id", "time")

    def __init__(self, prototype: LineageRecord, ledger: str) -> None:
        placeholders = {
            "sample_id": "sha256:" + secrets.token_hex(32),
            "digest": "sha256:" + secrets.token_hex(32),
            "record_id": secrets.token_hex(16),
            "time": f"2000-01-01T00:00:00.{secrets.randbelow(10**18):018d}Z",
        }
        record = LineageRecord.model_validate(prototype.model_dump() | placeholders)
        text = record.payload(ledger, placeholders["record_id"]).decode("utf-8")
        found = []
        for name in self._FIELDS:
            quoted = encode_basestring(placeholders[name])
            if text.count(quoted) != 1:
                raise ValueError(f"the prototype's {name} placeholder is not unique")
            found.append((text.index(quoted), name, quoted))
        found.sort()
        self._order = [self._FIELDS.index(name) for _, name, _ in found]
        pieces, start = [], 0
        for position, _, quoted in found:
            pieces.append(text[start:position].replace("%", "%%"))
            start = position + len(quoted)
        pieces.append(text[start:].replace("%", "%%"))
        self._format = '"%s"'.join(pieces)

    def fill(self, sample_id: str, digest: str, record_id: str, time: str) -> bytes:
        """The payload of the record about `sample_id` with these stamps."""
        values = (sample_id, digest, record_id, time)
        if not (
            _DIGEST.fullmatch(sample_id)
            and _DIGEST.fullmatch(digest)
            and _RECORD_ID.fullmatch(record_id)
            and _TIME.fullmatch(time)
        ):
            raise ValueError(f"not a sample id, digest, record id and time: {values!r}")
        return (self._format % tuple(values[i] for i in self._order)).encode("utf-8")


class KeyAction(StrEnum):
    """Key lifecycle events."""

    ADDED = "key_added"
    ROTATED = "key_rotated"
    REVOKED = "key_revoked"


class KeyEvent(BaseModel):
    """A signed change to the set of keys the ledger trusts.

    `added`: a new key may sign from this entry on (the very first entry adds itself).
    `rotated`: `key_id` replaces `previous_key_id`, which may not sign after this entry.
    `revoked`: `key_id` may not sign after this entry.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1, 2] = SCHEMA_VERSION
    ledger: str | None = Field(default=None, description="The ledger's origin (stamped).")
    record_id: str | None = Field(
        default=None, pattern=_RECORD_ID_PATTERN, description="Random, stamped on signing."
    )
    action: KeyAction
    key_id: str = Field(pattern=_DIGEST_PATTERN)
    public_key: str | None = Field(default=None, description="Base64 raw Ed25519 public key.")
    previous_key_id: str | None = Field(default=None, pattern=_DIGEST_PATTERN)
    reason: str | None = None
    time: str
    signer: str = Field(pattern=_DIGEST_PATTERN)

    _time = field_validator("time")(_check_time)

    def payload(self, ledger: str | None = None, record_id: str | None = None) -> bytes:
        """Return the canonical bytes that get signed, bound like `LineageRecord.payload`."""
        body = self.model_dump(mode="json", exclude_none=True)
        if ledger is not None:
            body["ledger"] = ledger
        if record_id is not None:
            body["record_id"] = record_id
        return canonical_json(body)

    @classmethod
    def from_payload(cls, payload: bytes) -> KeyEvent:
        """Parse a signed payload back into a key event."""
        return cls.model_validate(json.loads(payload))


def record_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of lineage records and key events."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://synthguard.dev/schema/lineage-v2.json",
        "title": "synthguard ledger payloads, schema versions 1 and 2",
        "oneOf": [{"$ref": "#/$defs/LineageRecord"}, {"$ref": "#/$defs/KeyEvent"}],
        "$defs": {
            **LineageRecord.model_json_schema(ref_template="#/$defs/{model}").pop("$defs", {}),
            **KeyEvent.model_json_schema(ref_template="#/$defs/{model}").pop("$defs", {}),
            "LineageRecord": _without_defs(
                LineageRecord.model_json_schema(ref_template="#/$defs/{model}")
            ),
            "KeyEvent": _without_defs(KeyEvent.model_json_schema(ref_template="#/$defs/{model}")),
        },
    }


def _without_defs(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k != "$defs"}
