"""Release policy against model collapse: limits on a release's synthetic share, generation
depth and human review, checked on the report's own figures for the candidate samples.

The limits live in the home's config.json under "policy"; each is optional (absent or null:
no limit):

    "policy": {"max_synthetic_share": 90, "max_depth": 3, "min_review_rate": 2}

`max_synthetic_share` and `min_review_rate` are percentages (0-100) of the release's samples,
`max_depth` the deepest generation allowed (0: human-written only, 1: generated from human
data, 2: generated from generated data, ...). The figures are those the transparency report
prints for the same samples (`synthguard.ledger.report.compute`), rounded as it rounds them, so a
refusal quotes exactly what the report would show.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from synthguard.provenance.errors import InputError

MAX_SYNTHETIC_SHARE = "max_synthetic_share"
MAX_DEPTH = "max_depth"
MIN_REVIEW_RATE = "min_review_rate"
POLICY_KEYS = (MAX_SYNTHETIC_SHARE, MAX_DEPTH, MIN_REVIEW_RATE)


@dataclass(frozen=True)
class Policy:
    """The limits a release must keep; None means no limit."""

    max_synthetic_share: float | None = None
    max_depth: int | None = None
    min_review_rate: float | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Policy:
        """Read the limits from the config's "policy" object (pass that object, not the whole
        config); an unknown key or a bad value is an InputError naming the key."""
        if not isinstance(config, Mapping):
            raise InputError(f"policy must be a JSON object, not {type(config).__name__}")
        unknown = sorted(str(key) for key in config if key not in POLICY_KEYS)
        if unknown:
            raise InputError(
                f"unknown policy key {', '.join(unknown)}; the keys are {', '.join(POLICY_KEYS)}"
            )
        return cls(
            max_synthetic_share=_percent(config, MAX_SYNTHETIC_SHARE),
            max_depth=_depth(config),
            min_review_rate=_percent(config, MIN_REVIEW_RATE),
        )

    @property
    def limits(self) -> bool:
        """Whether the policy sets any limit at all."""
        limits = (self.max_synthetic_share, self.max_depth, self.min_review_rate)
        return any(limit is not None for limit in limits)


@dataclass(frozen=True)
class PolicyFigures:
    """The report's figures that a policy limits, for one set of samples."""

    synthetic_share: float
    max_depth: int | None
    review_rate: float


FiguresOf = Callable[[Collection[str], int | None, bytes | None], PolicyFigures]
"""The figures of (sample ids, over the ledger's first `size` entries, all when None, which
must have the root given, when one is: a VerificationError otherwise)."""


@dataclass(frozen=True)
class Breach:
    """A limit a release breaks: the rule (its config key), the limit and the actual figure."""

    rule: str
    limit: float
    actual: float

    def describe(self) -> str:
        """One line for a refusal, e.g. "synthetic share 97.50 % exceeds the cap of 90.00 %"."""
        if self.rule == MAX_SYNTHETIC_SHARE:
            return f"synthetic share {self.actual:.2f} % exceeds the cap of {self.limit:.2f} %"
        if self.rule == MAX_DEPTH:
            return f"generation depth {self.actual:.0f} exceeds the cap of {self.limit:.0f}"
        if self.rule == MIN_REVIEW_RATE:
            return (
                f"human review rate {self.actual:.2f} % is below the minimum of {self.limit:.2f} %"
            )
        return f"{self.rule}: {self.actual:g} against a limit of {self.limit:g}"


def check_policy(
    figures_of: FiguresOf,
    sample_ids: Collection[str],
    policy: Policy,
    *,
    size: int | None = None,
    root: bytes | None = None,
) -> list[Breach]:
    """The limits that releasing `sample_ids` would break, from their figures over the first
    `size` entries (all when None), which must have `root` when it is given (the checkpoint's
    the release was proved against); an empty list when it keeps them all. The figures are
    computed only when the policy sets a limit."""
    if not policy.limits:
        return []
    figures = figures_of(sample_ids, size, root)
    breaches = []
    share = figures.synthetic_share
    if policy.max_synthetic_share is not None and share > policy.max_synthetic_share:
        breaches.append(Breach(MAX_SYNTHETIC_SHARE, policy.max_synthetic_share, share))
    depth = figures.max_depth
    if policy.max_depth is not None and depth is not None and depth > policy.max_depth:
        breaches.append(Breach(MAX_DEPTH, policy.max_depth, depth))
    rate = figures.review_rate
    if policy.min_review_rate is not None and rate < policy.min_review_rate:
        breaches.append(Breach(MIN_REVIEW_RATE, policy.min_review_rate, rate))
    return breaches


def _percent(config: Mapping[str, Any], key: str) -> float | None:
    value = config.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"policy.{key} must be a number (a percentage), not {value!r}")
    if not 0 <= value <= 100:
        raise InputError(f"policy.{key} is a percentage between 0 and 100, not {value}")
    return float(value)


def _depth(config: Mapping[str, Any]) -> int | None:
    value = config.get(MAX_DEPTH)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"policy.{MAX_DEPTH} must be a whole number, not {value!r}")
    if value < 0:
        raise InputError(f"policy.{MAX_DEPTH} must be 0 or more, not {value}")
    return value
