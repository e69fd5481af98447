"""Lineage records and key events: the two kinds of signed statement a ledger holds.

Each is signed as a DSSE envelope whose payload is the canonical JSON of the record; the
payload type says which kind it is. A record never holds sample content, only digests, so
content can be erased without breaking the tamper-evident tree.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from synthguard.provenance.canonical import canonical_json

SCHEMA_VERSION: Literal[1] = 1
RECORD_TYPE = "application/vnd.synthguard.lineage.v1+json"
KEY_EVENT_TYPE = "application/vnd.synthguard.key-event.v1+json"

_DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"


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

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="The pipeline step or generator name, e.g. 'self-instruct'.")
    provider: str | None = Field(default=None, description="Model provider, e.g. 'openai'.")
    model: str = Field(description="Model identifier.")
    version: str | None = Field(default=None, description="Model version or revision.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Sampling parameters.")
    seed: int | None = None


class Source(BaseModel):
    """A document the generator drew on (retrieval, a seed set, a licensed corpus)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    uri: str
    digest: str | None = Field(default=None, pattern=_DIGEST_PATTERN)
    license: str | None = Field(default=None, description="SPDX id or a licence URL.")


def utc_now() -> str:
    """Return the current time as RFC 3339 UTC with microseconds and a `Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check_time(value: str) -> str:
    if not value.endswith("Z"):
        raise ValueError("time must be RFC 3339 in UTC, ending in 'Z'")
    datetime.fromisoformat(value[:-1] + "+00:00")
    return value


class LineageRecord(BaseModel):
    """One signed statement about one sample."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    event: Event
    sample_id: str = Field(pattern=_DIGEST_PATTERN, description="Digest of canonical content.")
    digest: str = Field(
        pattern=_DIGEST_PATTERN, description="Digest of the whole stored sample row."
    )
    origin: Origin = Origin.SYNTHETIC
    generator: Generator | None = None
    prompt_digest: str | None = Field(default=None, pattern=_DIGEST_PATTERN)
    parents: list[str] = Field(default_factory=list)
    depth: int = Field(default=0, ge=0, description="0 for human data; 1 + max parent depth.")
    sources: list[Source] = Field(default_factory=list)
    run_id: str
    time: str
    signer: str = Field(pattern=_DIGEST_PATTERN, description="Key id of the signing key.")
    detail: dict[str, Any] = Field(
        default_factory=dict, description="Event-specific facts (a score, a verdict, a reason)."
    )

    _time = field_validator("time")(_check_time)

    @field_validator("parents")
    @classmethod
    def _parents_are_ids(cls, value: list[str]) -> list[str]:
        for parent in value:
            if len(parent) != 71 or not parent.startswith("sha256:"):
                raise ValueError(f"parent {parent!r} is not a sample id")
        return value

    def payload(self) -> bytes:
        """Return the canonical bytes that get signed."""
        return canonical_json(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_payload(cls, payload: bytes) -> LineageRecord:
        """Parse a signed payload back into a record."""
        return cls.model_validate(json.loads(payload))


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

    schema_version: Literal[1] = SCHEMA_VERSION
    action: KeyAction
    key_id: str = Field(pattern=_DIGEST_PATTERN)
    public_key: str | None = Field(default=None, description="Base64 raw Ed25519 public key.")
    previous_key_id: str | None = Field(default=None, pattern=_DIGEST_PATTERN)
    reason: str | None = None
    time: str
    signer: str = Field(pattern=_DIGEST_PATTERN)

    _time = field_validator("time")(_check_time)

    def payload(self) -> bytes:
        """Return the canonical bytes that get signed."""
        return canonical_json(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_payload(cls, payload: bytes) -> KeyEvent:
        """Parse a signed payload back into a key event."""
        return cls.model_validate(json.loads(payload))


def record_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of lineage records and key events."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://synthguard.dev/schema/lineage-v1.json",
        "title": "synthguard ledger payloads, schema version 1",
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
