"""The backdoor guard: hidden characters, homoglyphs, injection payloads and trigger statistics.

Per sample (`check`): invisible and control characters (`guards.invisible`) and mixed-script
words (`guards.homoglyph`) in every string of the sample, prompt-injection and role-marker
payloads (`guards.injection`) in its responses, and (with the statistics) `prompt-echo`, an
answer that is a verbatim copy of its whole prompt. Per dataset (`finish`): trigger n-grams that
pin a response or make it echo the prompt, prompts collapsing onto one response, and payload
spans recurring in unrelated answers (`guards.triggers`), each cluster reported whole, one
verdict per member and position, under the member's most significant cluster of that rule.

Scores and thresholds, a verdict failing when its score reaches the threshold: a per-sample rule
scores its findings in the sample against 1; `trigger-cooccurrence` and `trigger-echo` score
-log10 of the Bonferroni-corrected binomial p against -log10(alpha); `prompt-collapse` scores
the distinct prompts against `collapse_min_prompts`; `payload-recurrence` the rows holding the
span against `payload_min_rows`. Every dataset-level verdict's detail names its statistic.

`prompt-echo` is the low-severity rule (its detail says so): one answer that parrots its prompt
teaches a model nothing useful and is no attack by itself, but a triggered prompt copied into
its answer is exactly one member of an echo backdoor too few to show statistically, and nothing
legitimate is lost by holding it. An echo that only drops a request to repeat ("Repeat after
me: ...") is the task done, and passes (`guards.spans`).

One guard instance screens one dataset: `check` every batch in order, then `finish` once.
`check` is `prepare` (the per-sample rules and the statistics' reading of each sample, pure
functions of the sample that a worker process can run) then `check_prepared` (the statistics'
numbering, which depends on every sample before), so a screen spread over processes
(`synthguard.guards.distributed`) reaches the same verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any, Final, TypeVar

from synthguard.guards.backdoor import homoglyph, injection, invisible
from synthguard.guards.backdoor.spans import Echo
from synthguard.guards.backdoor.triggers import (
    COLLAPSE_RULE,
    ECHO_RULE,
    PAYLOAD_RULE,
    TRIGGER_RULE,
    Extracted,
    Member,
    TriggerConfig,
    TriggerStatistics,
    extract,
)
from synthguard.guards.fields import labelled_strings, request_strings, response_strings
from synthguard.guards.verdict import GuardInfo, Verdict
from synthguard.provenance.sample import Sample

NAME: Final = "backdoor"
VERSION: Final = "4"
PROMPT_ECHO_RULE: Final = "prompt-echo"
RULES: Final = (
    *invisible.RULES,
    homoglyph.RULE,
    *injection.RULES,
    PROMPT_ECHO_RULE,
    TRIGGER_RULE,
    ECHO_RULE,
    COLLAPSE_RULE,
    PAYLOAD_RULE,
)

F = TypeVar("F")
Cluster = tuple[tuple[Member, ...], float, dict[str, Any]]
"""A flagged cluster: its members, its score and the verdict detail they share."""


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


SampleWork = tuple[list[Verdict], Extracted | None]
"""`BackdoorGuard.prepare`'s result for one sample: its per-sample verdicts and, with the
statistics, what they read from its text (None: nothing to read). A plain tuple, as it travels
between processes by the thousand (see `triggers.Extracted`)."""


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
        return self._check(samples, None)

    def prepare(self, samples: Sequence[Sample]) -> list[SampleWork]:
        """The per-sample part of `check`, a pure function of each sample (run it anywhere):
        the per-sample rules' verdicts and what the statistics read from its text."""
        statistics = self.config.statistics
        return [
            (self._sample_verdicts(sample), self._extract(sample) if statistics else None)
            for sample in samples
        ]

    def check_prepared(
        self, samples: Sequence[Sample], work: Sequence[SampleWork]
    ) -> list[Verdict]:
        """`check` of samples whose `prepare` ran elsewhere: the same verdicts, in order."""
        return self._check(samples, work)

    def recipe(self) -> Callable[[], BackdoorGuard]:
        """A picklable call that builds this guard afresh (for a worker process)."""
        return partial(BackdoorGuard, self.config, self.info.name)

    def _check(self, samples: Sequence[Sample], work: Sequence[SampleWork] | None) -> list[Verdict]:
        verdicts: list[Verdict] = []
        statistics = self.config.statistics
        for i, sample in enumerate(samples):
            verdicts += self._sample_verdicts(sample) if work is None else work[i][0]
            if statistics:
                if work is None:
                    responses = "\n".join(text for _field, text in response_strings(sample))
                    system, asked = request_strings(sample)
                    echoed = self._statistics.add(sample.id, self._seen, asked, responses, system)
                else:
                    echoed = self._statistics.add_extracted(sample.id, self._seen, work[i][1])
                if echoed is Echo.VERBATIM:
                    detail = {"severity": "low", "echo": "the answer is the whole prompt, verbatim"}
                    verdicts.append(
                        self._verdict(sample.id, PROMPT_ECHO_RULE, 1.0, 1.0, detail, self._seen)
                    )
            self._seen += 1
        return verdicts

    def _sample_verdicts(self, sample: Sample) -> list[Verdict]:
        """The per-sample rules' verdicts about one sample, in rule-family order."""
        verdicts: list[Verdict] = []
        config = self.config
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
        return verdicts

    def _extract(self, sample: Sample) -> Extracted | None:
        responses = "\n".join(text for _field, text in response_strings(sample))
        system, asked = request_strings(sample)
        return extract(asked, responses, self.config.triggers, system)

    def finish(self) -> list[Verdict]:
        """Report every member of each trigger, echo, collapse and payload cluster."""
        if not self.config.statistics:
            return []
        statistics, thresholds = self._statistics, self.config.triggers
        significance = -math.log10(thresholds.alpha)
        triggers: dict[str, list[Cluster]] = {TRIGGER_RULE: [], ECHO_RULE: []}
        for cluster in statistics.trigger_clusters():
            rule = ECHO_RULE if cluster.target_kind == "echo" else TRIGGER_RULE
            triggers[rule].append(
                (
                    cluster.members,
                    cluster.score,
                    {
                        "statistic": "-log10 Bonferroni-corrected binomial tail P(X >= count), "
                        "X ~ Bin(trigger_count, base_rate)",
                        "trigger": cluster.trigger,
                        "target": cluster.target,
                        "target_kind": cluster.target_kind,
                        "count": cluster.count,
                        "trigger_count": cluster.trigger_count,
                        "target_count": cluster.target_count,
                        "base_rate": cluster.base_rate,
                        "z": cluster.z,
                        "p": cluster.p_value,
                    },
                )
            )
        collapses: list[Cluster] = [
            (
                cluster.members,
                float(cluster.distinct_prompts),
                {
                    "statistic": "distinct prompts answered with the same response",
                    "response": cluster.response,
                    "distinct_prompts": cluster.distinct_prompts,
                    "context_share": cluster.context_share,
                },
            )
            for cluster in statistics.collapse_clusters()
        ]
        payloads: list[Cluster] = [
            (
                cluster.members,
                float(cluster.count),
                {
                    "statistic": "answers holding the span, which prompts do not hold and "
                    "nothing else in the rows explains",
                    "payload": cluster.payload,
                    "payload_kind": cluster.payload_kind,
                    "count": cluster.count,
                    "prompt_count": cluster.prompt_count,
                    "block": list(cluster.block),
                    "context": None if cluster.context is None else asdict(cluster.context),
                    "context_share_max": thresholds.context_share,
                    "context_lift_min": thresholds.context_lift,
                },
            )
            for cluster in statistics.payload_clusters()
        ]
        # The judgement's tables are as large as the statistics; what follows the screen's
        # last block (settling, the outputs, the index's save) need not hold them too.
        statistics.forget_judgement()
        return (
            self._cluster_verdicts(TRIGGER_RULE, significance, triggers[TRIGGER_RULE])
            + self._cluster_verdicts(ECHO_RULE, significance, triggers[ECHO_RULE])
            + self._cluster_verdicts(
                COLLAPSE_RULE, float(thresholds.collapse_min_prompts), collapses
            )
            + self._cluster_verdicts(PAYLOAD_RULE, float(thresholds.payload_min_rows), payloads)
        )

    def _cluster_verdicts(
        self,
        rule: str,
        threshold: float,
        clusters: list[Cluster],
    ) -> list[Verdict]:
        """One verdict per member position, under the first (most significant) cluster that
        holds it; the first member of every cluster included."""
        verdicts: list[Verdict] = []
        reported: set[int] = set()
        for members, score, detail in clusters:
            detail = {**detail, "cluster_size": len(members), "first_member": members[0].sample_id}
            for member in members:
                if member.position not in reported:
                    reported.add(member.position)
                    verdicts.append(
                        self._verdict(
                            member.sample_id, rule, score, threshold, detail, member.position
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
