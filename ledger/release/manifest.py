"""The release manifest: an in-toto Statement v1 whose predicate says what a release holds.

The Statement names each data file by its SHA-256 (the subjects) and carries a predicate that
synthguard owns and versions (PREDICATE_TYPE): the ledger checkpoint every proof leads to, the
count and Merkle root of the released sample ids, the guards that screened them, counts by
origin, generator and screening outcome, the keys whose signatures the proof bundle carries, the
bundle's digest and the policy the release was held to. It travels in a DSSE envelope of type
PAYLOAD_TYPE, so any DSSE verifier can check the signature.

The sample root is the RFC 6962 tree hash over the released ids sorted as strings, each leaf the
ASCII bytes of one id (`sha256:<hex>`): anyone can recompute it from a data file alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthguard.ledger.log import MAKING_EVENTS, LineageEntry, leaf_hash, root
from synthguard.ledger.screening import ScreeningStatus
from synthguard.provenance.canonical import canonical_json
from synthguard.provenance.errors import VerificationError
from synthguard.provenance.record import Event, Generator, LineageRecord

StatementType = Literal["https://in-toto.io/Statement/v1"]
PredicateType = Literal["https://synthguard.dev/release/v1"]
SampleTree = Literal["rfc6962-sha256/sorted-sample-ids"]

STATEMENT_TYPE: StatementType = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE: PredicateType = "https://synthguard.dev/release/v1"
SAMPLE_TREE: SampleTree = "rfc6962-sha256/sorted-sample-ids"
PAYLOAD_TYPE = "application/vnd.in-toto+json"

MANIFEST_FILE = "manifest.dsse.json"
"""The DSSE envelope of the Statement."""
JSONL_FILE = "samples.jsonl"
PARQUET_FILE = "samples.parquet"
BUNDLE_FILE = "bundle.jsonl"
DATA_FILES = (JSONL_FILE, PARQUET_FILE)
"""The subjects of every release, in this order."""

_READ_CHUNK = 1 << 20


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ResourceDescriptor(_Model):
    """A file by name and digest, as in-toto v1 names artifacts (`{"sha256": <hex>}`)."""

    name: str
    digest: dict[str, str]

    @classmethod
    def of_file(cls, path: Path) -> ResourceDescriptor:
        """Describe a file by its name and the SHA-256 of its bytes."""
        return cls(name=path.name, digest={"sha256": file_sha256(path)})


class CheckpointRef(_Model):
    """The signed ledger checkpoint that every inclusion proof of the release leads to."""

    origin: str
    size: int = Field(ge=1, description="Entries covered: the proofs are into entries 0..size-1.")
    root_hash: str = Field(description="Base64 RFC 6962 root of the first `size` entries.")


class SampleSet(_Model):
    """How many samples the release holds, and the Merkle root over their ids."""

    count: int = Field(ge=1)
    merkle_root: str = Field(description="Base64 root of the tree given by `tree`.")
    tree: SampleTree = SAMPLE_TREE


class GuardRef(_Model):
    """A guard that screened released samples: family, name, version and config digest."""

    family: str
    name: str
    version: str
    config_digest: str


class Counts(_Model):
    """Released samples by origin, by generator (`provider/model@version`, or `none`) and by
    screening outcome (`accepted`, or `override`: released from quarantine by a reviewer)."""

    by_origin: dict[str, int]
    by_generator: dict[str, int]
    by_outcome: dict[str, int]


class BreachRef(_Model):
    """A policy rule the release breaks, its limit and the actual figure."""

    rule: str
    limit: float
    actual: float


class PolicyRef(_Model):
    """The policy the release was checked against, what it breaks, and why it went out anyway."""

    config: dict[str, Any]
    breaches: list[BreachRef] = Field(default_factory=list)
    justification: str | None = None


class ReleasePredicate(_Model):
    """What a synthguard release holds and what vouches for it."""

    name: str
    created: str
    checkpoint: CheckpointRef
    samples: SampleSet
    fields: dict[str, str] = Field(description="The field mapping the data rows are read with.")
    guards: list[GuardRef]
    counts: Counts
    keys: list[str] = Field(
        description="Key ids whose public keys the bundle carries: the record, checkpoint and "
        "manifest signers."
    )
    bundle: ResourceDescriptor
    policy: PolicyRef


class Statement(_Model):
    """An in-toto Statement v1 about the release's data files."""

    statement_type: StatementType = Field(default=STATEMENT_TYPE, alias="_type")
    subject: list[ResourceDescriptor]
    predicate_type: PredicateType = Field(default=PREDICATE_TYPE, alias="predicateType")
    predicate: ReleasePredicate

    def payload(self) -> bytes:
        """Return the canonical JSON bytes that get signed."""
        return canonical_json(self.model_dump(mode="json", by_alias=True, exclude_none=True))

    @classmethod
    def from_payload(cls, payload: bytes) -> Statement:
        """Parse a signed payload; VerificationError when it is not a synthguard release."""
        try:
            return cls.model_validate_json(payload)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(part) for part in problem["loc"]) or "payload"
            raise VerificationError(
                f"{MANIFEST_FILE}: the signed statement is not a {PREDICATE_TYPE} release "
                f"({where}: {problem['msg']})"
            ) from exc


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes, read in chunks."""
    hasher = hashlib.sha256()
    with path.open("rb") as data:
        while chunk := data.read(_READ_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def sample_root(sample_ids: Iterable[str]) -> bytes:
    """Return the RFC 6962 root over the ids sorted as strings, each leaf an id's ASCII bytes."""
    return root([leaf_hash(sample_id.encode("ascii")) for sample_id in sorted(sample_ids)])


def encode_hash(value: bytes) -> str:
    """Base64 of a hash, as checkpoints write roots."""
    return base64.b64encode(value).decode("ascii")


def decode_hash(text: str, what: str) -> bytes:
    """The 32 bytes of a base64 hash; VerificationError naming `what` when it is not one."""
    try:
        value = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise VerificationError(f"{what} {text!r} is not base64") from exc
    if len(value) != 32:
        raise VerificationError(f"{what} {text!r} is not a SHA-256 hash")
    return value


def generator_key(generator: Generator | None) -> str:
    """The key a generator is counted under: `provider/model@version` (parts as known)."""
    if generator is None:
        return "none"
    key = (
        generator.model if generator.provider is None else f"{generator.provider}/{generator.model}"
    )
    return key if generator.version is None else f"{key}@{generator.version}"


def first_making(entries: Iterable[LineageEntry]) -> LineageRecord | None:
    """The first record that made the sample (`generated`, `revised`, `imported`), if any."""
    return next((e.record for e in entries if e.record.event in MAKING_EVENTS), None)


class Tally:
    """The predicate's figures, counted one released sample at a time from its records.

    A sample's origin and generator are those of its first making record (`generated`,
    `revised` or `imported`); its outcome is its screening status; the guards are those its
    latest screening names.
    """

    def __init__(self) -> None:
        self.origins: Counter[str] = Counter()
        self.generators: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        # Samples whose making record is a revision, and the kinds of personal data removed
        # from those made by a redaction (`screen --redact`): shown by `release verify`.
        self.revisions = 0
        self.redactions = 0
        self.redacted: Counter[str] = Counter()
        self._guards: set[GuardRef] = set()

    def add(self, entries: Sequence[LineageEntry], status: ScreeningStatus) -> None:
        """Count one released sample: its records in ledger order (a making record among
        them: callers refuse samples without one first), and its screening status."""
        made = first_making(entries)
        if made is None:
            raise ValueError(f"sample {status.sample_id} has no making record to count")
        self.origins[made.origin.value] += 1
        self.generators[generator_key(made.generator)] += 1
        self.outcomes["accepted" if status.outcome == "accepted" else "override"] += 1
        if made.event is Event.REVISED:
            self.revisions += 1
            kinds = made.redacted_kinds()
            if kinds:
                self.redactions += 1
                self.redacted.update(kinds)
        guards = status.detail.get("guards")
        for guard in guards if isinstance(guards, list) else []:
            try:
                self._guards.add(GuardRef.model_validate(guard))
            except ValidationError:
                continue  # not a guard description: there is nothing to name

    def merge(self, other: Tally) -> None:
        """Add another tally's samples to this one."""
        self.origins.update(other.origins)
        self.generators.update(other.generators)
        self.outcomes.update(other.outcomes)
        self.revisions += other.revisions
        self.redactions += other.redactions
        self.redacted.update(other.redacted)
        self._guards |= other._guards

    def counts(self) -> Counts:
        """The counts so far."""
        return Counts(
            by_origin=dict(sorted(self.origins.items())),
            by_generator=dict(sorted(self.generators.items())),
            by_outcome=dict(sorted(self.outcomes.items())),
        )

    def guards(self) -> list[GuardRef]:
        """The distinct guards, sorted by family, name, version and config digest."""
        return sorted(self._guards, key=lambda g: (g.family, g.name, g.version, g.config_digest))
