"""The privacy guard: one failing verdict per sample and kind of private value found.

A verdict's rule is the kind ("email", "secret", ...), its score the number of findings of that
kind in the sample, against a threshold of 1; its detail lists each finding (field, span, kind,
the rule that decided, a masked preview) and the look-alikes of that kind that passed, each with
the rule that let it pass. `findings_of` turns verdicts back into findings, for `redact`.

The configuration digest covers the region, the entropy switch, the plugins, the versions of
phonenumbers and detect-secrets, and every look-alike list: a verdict names exactly what decided.
"""

from __future__ import annotations

import importlib.metadata
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Final

from synthguard.guards.privacy import lookalikes
from synthguard.guards.privacy.detect import Detector
from synthguard.guards.privacy.finding import KINDS, Finding
from synthguard.guards.verdict import GuardInfo, Verdict
from synthguard.provenance.sample import Sample

NAME: Final = "privacy"
VERSION: Final = "7"
THRESHOLD: Final = 1.0
LIBRARIES: Final = ("phonenumbers", "detect-secrets")


class PrivacyGuard:
    """Screens samples for personal data and secrets; a per-sample Guard (no `finish`)."""

    def __init__(self, *, region: str = "US", entropy: bool = True) -> None:
        self.detector = Detector(region=region, entropy=entropy)
        config: dict[str, Any] = {
            "region": self.detector.region,
            "entropy": self.detector.entropy,
            "kinds": list(KINDS),
            "threshold": THRESHOLD,
            "plugins": self.detector.secrets.names(),
            "libraries": {name: importlib.metadata.version(name) for name in LIBRARIES},
            "lookalikes": lookalikes.as_config(),
        }
        self.info = GuardInfo.of("privacy", NAME, VERSION, config)

    def batch_recipe(self) -> Callable[[], PrivacyGuard]:
        """A picklable call that builds this guard on a worker (`check` is a pure function of
        its batch)."""
        return partial(PrivacyGuard, region=self.detector.region, entropy=self.detector.entropy)

    def check(self, samples: Sequence[Sample]) -> list[Verdict]:
        """One failing verdict per sample and kind found, in sample order, then `KINDS` order;
        the same content (the same id) is scanned once, its verdicts apply to every copy."""
        verdicts: list[Verdict] = []
        for sample in {sample.id: sample for sample in samples}.values():
            findings, lookalikes = self.detector.scan(sample)
            if not findings:
                continue
            found: dict[str, list[Finding]] = defaultdict(list)
            passed: dict[str, list[Finding]] = defaultdict(list)
            for finding in findings:
                found[finding.kind].append(finding)
            for lookalike in lookalikes:
                passed[lookalike.kind].append(lookalike)
            for kind in KINDS:
                if kind not in found:
                    continue
                detail: dict[str, Any] = {"findings": [f.as_dict() for f in found[kind]]}
                if passed[kind]:
                    detail["lookalikes"] = [f.as_dict() for f in passed[kind]]
                verdicts.append(
                    Verdict(
                        sample_id=sample.id,
                        guard=self.info,
                        rule=kind,
                        passed=False,
                        score=float(len(found[kind])),
                        threshold=THRESHOLD,
                        detail=detail,
                    )
                )
        return verdicts

    def findings_of(self, verdicts: Sequence[Verdict]) -> list[Finding]:
        """The findings of the privacy verdicts among `verdicts` (give one sample's verdicts to
        redact it); other guards' verdicts are skipped. Raise InputError on a damaged detail."""
        return [
            Finding.from_dict(entry)
            for verdict in verdicts
            if verdict.guard.family == "privacy" and not verdict.passed
            for entry in verdict.detail.get("findings", ())
        ]
