"""The backdoor guard: hidden characters, homoglyphs, injection payloads and trigger statistics.

Per sample (`check`): invisible and control characters (`guards.invisible`) and mixed-script
words (`guards.homoglyph`) in every string of the sample, prompt-injection and role-marker
payloads (`guards.injection`) in its responses. Per dataset (`finish`): trigger n-grams that pin
a response and prompts collapsing onto one response (`guards.triggers`), each cluster reported
whole, one verdict per member and position, under the member's most significant cluster.

Scores and thresholds, a verdict failing when its score reaches the threshold: a per-sample rule
scores its findings in the sample against 1; `trigger-cooccurrence` scores -log10 of the
Bonferroni-corrected binomial p against -log10(alpha); `prompt-collapse` scores the distinct
prompts against `collapse_min_prompts`.

One guard instance screens one dataset: `check` every batch in order, then `finish` once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final, TypeVar

from synthguard.guards import homoglyph, injection, invisible
from synthguard.guards.fields import labelled_strings, prompt_strings, response_strings
from synthguard.guards.triggers import (
    COLLAPSE_RULE,
    TRIGGER_RULE,
    TriggerConfig,
    TriggerStatistics,
)
from synthguard.guards.verdict import GuardInfo, Verdict
from synthguard.provenance.sample import Sample

NAME: Final = "backdoor"
VERSION: Final = "1"
RULES: Final = (
    *invisible.RULES,
    homoglyph.RULE,
    *injection.RULES,
    TRIGGER_RULE,
    COLLAPSE_RULE,
)

F = TypeVar("F")


@dataclass(frozen=True, slots=True)
class BackdoorConfig:
    """Which rule families run, and the thresholds of the dataset statistics."""

    characters: bool = True
    scripts: bool = True
    injection: bool = True
    statistics: bool = True
    triggers: TriggerConfig = field(default_factory=TriggerConfig)

    def as_dict(self) -> dict[str, Any]:
        """Everything that decides a verdict, as plain values (digested into the GuardInfo)."""
        return {
            **{key: value for key, value in asdict(self).items() if key != "triggers"},
            "triggers": self.triggers.as_dict(),
            "rules": list(RULES),
            "per_sample_threshold": 1,
        }


class BackdoorGuard:
    """Screens samples for backdoor and poisoning payloads; a DatasetGuard.

    `name` tells instances with different rule families apart in the ledger (say, a
    characters-and-scripts instance run first in the screen, the rest after deduplication).
    """

    def __init__(self, config: BackdoorConfig | None = None, name: str = NAME) -> None:
        self.config = config or BackdoorConfig()
        self.info = GuardInfo.of("backdoor", name, VERSION, self.config.as_dict())
        self._statistics = TriggerStatistics(self.config.triggers)
        self._seen = 0

    def check(self, samples: Sequence[Sample]) -> list[Verdict]:
        """Judge each sample by the per-sample rules; remember it for `finish`."""
        verdicts: list[Verdict] = []
        config = self.config
        for sample in samples:
            strings = labelled_strings(sample)
            if config.characters:
                verdicts += self._per_sample(
                    sample, strings, invisible.find_invisible, _rule_of, invisible.describe
                )
            if config.scripts:
                verdicts += self._per_sample(
                    sample,
                    strings,
                    homoglyph.find_mixed_script,
                    lambda _word: homoglyph.RULE,
                    homoglyph.describe,
                )
            if config.injection:
                verdicts += self._per_sample(
                    sample,
                    response_strings(sample),
                    injection.find_injections,
                    _rule_of,
                    injection.describe,
                )
            if config.statistics:
                responses = "\n".join(text for _field, text in response_strings(sample))
                self._statistics.add(sample.id, self._seen, prompt_strings(sample), responses)
            self._seen += 1
        return verdicts

    def finish(self) -> list[Verdict]:
        """Report every member of each trigger and collapse cluster."""
        if not self.config.statistics:
            return []
        thresholds = self.config.triggers
        significance = -math.log10(thresholds.alpha)
        verdicts: list[Verdict] = []
        reported: set[int] = set()
        # Clusters come most significant first: a sample is reported under its strongest one.
        for cluster in self._statistics.trigger_clusters():
            detail = {
                "trigger": cluster.trigger,
                "target": cluster.target,
                "target_kind": cluster.target_kind,
                "count": cluster.count,
                "trigger_count": cluster.trigger_count,
                "target_count": cluster.target_count,
                "base_rate": cluster.base_rate,
                "z": cluster.z,
                "p": cluster.p_value,
                "cluster_size": len(cluster.members),
                "first_member": cluster.members[0].sample_id,
            }
            for member in cluster.members:
                if member.position not in reported:
                    reported.add(member.position)
                    verdicts.append(
                        self._verdict(
                            member.sample_id,
                            TRIGGER_RULE,
                            cluster.score,
                            significance,
                            detail,
                            member.position,
                        )
                    )
        collapsed: set[int] = set()
        for collapse in self._statistics.collapse_clusters():
            detail = {
                "response": collapse.response,
                "distinct_prompts": collapse.distinct_prompts,
                "cluster_size": len(collapse.members),
                "context_share": collapse.context_share,
                "first_member": collapse.members[0].sample_id,
            }
            for member in collapse.members:
                if member.position not in collapsed:
                    collapsed.add(member.position)
                    verdicts.append(
                        self._verdict(
                            member.sample_id,
                            COLLAPSE_RULE,
                            float(collapse.distinct_prompts),
                            float(thresholds.collapse_min_prompts),
                            detail,
                            member.position,
                        )
                    )
        return verdicts

    def _per_sample(
        self,
        sample: Sample,
        strings: list[tuple[str, str]],
        find: Callable[[str], list[F]],
        rule_of: Callable[[F], str],
        describe: Callable[[list[F]], dict[str, object]],
    ) -> list[Verdict]:
        found = [(name, findings) for name, text in strings if (findings := find(text))]
        if not found:
            return []
        by_rule: dict[str, list[dict[str, object]]] = {}
        counts: dict[str, int] = {}
        for name, findings_of_field in found:
            grouped: dict[str, list[F]] = {}
            for finding in findings_of_field:
                grouped.setdefault(rule_of(finding), []).append(finding)
            for rule, findings in grouped.items():
                by_rule.setdefault(rule, []).append({"field": name, **describe(findings)})
                counts[rule] = counts.get(rule, 0) + len(findings)
        return [
            self._verdict(sample.id, rule, float(counts[rule]), 1.0, {"fields": fields})
            for rule, fields in by_rule.items()
        ]

    def _verdict(
        self,
        sample_id: str,
        rule: str,
        score: float,
        threshold: float,
        detail: dict[str, Any],
        position: int | None = None,
    ) -> Verdict:
        return Verdict(
            sample_id=sample_id,
            guard=self.info,
            rule=rule,
            passed=False,
            score=score,
            threshold=threshold,
            detail=detail,
            position=position,
        )


def _rule_of(finding: invisible.Finding | injection.Match) -> str:
    return finding.rule
