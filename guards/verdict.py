"""What a guard says about a sample, and the protocol every guard follows.

A guard takes a batch of samples and returns verdicts: one per failed check (a finding), and
optionally passing verdicts where a score is worth keeping. A sample is quarantined when any
verdict about it failed. Every verdict carries the guard's name, version and config digest, so
an audit knows exactly what screened what.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from synthguard.provenance.canonical import digest_json
from synthguard.provenance.sample import Sample

Family = Literal[
    "input",
    "dedup",
    "decontamination",
    "toxicity",
    "backdoor",
    "privacy",
    "self-instruct",
    "quarantine",
]


@dataclass(frozen=True, slots=True)
class GuardInfo:
    """Which guard, exactly: family, name, version and the digest of its configuration."""

    family: Family
    name: str
    version: str
    config_digest: str

    @classmethod
    def of(cls, family: Family, name: str, version: str, config: Mapping[str, Any]) -> GuardInfo:
        """Describe a guard by its configuration (digested as canonical JSON)."""
        return cls(family, name, version, digest_json(dict(config)))


@dataclass(frozen=True, slots=True)
class Verdict:
    """One guard's judgement of one sample under one rule."""

    sample_id: str
    guard: GuardInfo
    rule: str
    passed: bool
    score: float
    threshold: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    # Which copy, when the same content (the same id) occurs more than once: the 0-based
    # ordinal of the sample in everything this guard was given (all `check` calls, in order).
    # None: the verdict applies to every copy.
    position: int | None = None

    def __reduce__(self) -> tuple[type[Verdict], tuple[Any, ...]]:
        # Its fields, not a slotted dataclass's slow __getstate__ (the screen's spill).
        return (
            Verdict,
            (
                self.sample_id,
                self.guard,
                self.rule,
                self.passed,
                self.score,
                self.threshold,
                self.detail,
                self.position,
            ),
        )

    def reason(self) -> dict[str, Any]:
        """The `reasons` entry of a quarantined row (the screen output contract)."""
        return {
            "guard": self.guard.family,
            "rule": self.rule,
            "score": self.score,
            "threshold": self.threshold,
            "detail": self.detail,
        }


class Guard(Protocol):
    """A batch of samples in, verdicts out."""

    info: GuardInfo

    def check(self, samples: Sequence[Sample]) -> list[Verdict]:
        """Judge a batch; return the failing verdicts (and any passing ones worth keeping)."""
        ...


class DatasetGuard(Guard, Protocol):
    """A guard whose rules need the whole dataset (duplicate clusters, trigger statistics).

    `check` is called batch by batch, in input order, and may already return what it can tell;
    `finish` is called once after the last batch and returns the verdicts that needed it all.
    """

    def finish(self) -> list[Verdict]:
        """Return the verdicts that needed every batch."""
        ...
