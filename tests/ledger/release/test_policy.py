"""Release policy: the limits read from config, and each breach computed from a real ledger."""

from __future__ import annotations

from typing import Any

import pytest

from synthguard.ledger.log.store import Ledger
from synthguard.ledger.release.policy import Breach, Policy, check_policy
from synthguard.ledger.report import policy_figures
from synthguard.ledger.review import draw_review_sample
from synthguard.provenance import Generator, Recorder, sample_from_row
from synthguard.provenance.errors import InputError

WRITER = Generator(name="writer", model="tiny-lm")


def text_id(text: str) -> str:
    return sample_from_row({"text": text}).id


def test_from_config_reads_the_three_limits() -> None:
    policy = Policy.from_config({"max_synthetic_share": 90, "max_depth": 3, "min_review_rate": 2.5})
    assert policy == Policy(max_synthetic_share=90.0, max_depth=3, min_review_rate=2.5)
    assert policy.limits
    assert Policy.from_config({}) == Policy(None, None, None)
    assert not Policy.from_config({"max_depth": None}).limits
    assert Policy.from_config({"max_depth": 0, "min_review_rate": 0}).limits


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"max_synthetic_share": "90"}, "policy.max_synthetic_share must be a number"),
        ({"max_synthetic_share": 100.5}, "policy.max_synthetic_share is a percentage between"),
        ({"max_synthetic_share": float("nan")}, "policy.max_synthetic_share must be a number"),
        ({"min_review_rate": -1}, "policy.min_review_rate is a percentage between"),
        ({"min_review_rate": True}, "policy.min_review_rate must be a number"),
        ({"max_depth": 2.5}, "policy.max_depth must be a whole number"),
        ({"max_depth": -1}, "policy.max_depth must be 0 or more"),
        ({"max_depth": False}, "policy.max_depth must be a whole number"),
        ({"max_synthetic_shar": 90}, "unknown policy key max_synthetic_shar"),
    ],
)
def test_from_config_refuses_bad_values_naming_the_key(
    config: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        Policy.from_config(config)


def test_from_config_needs_an_object() -> None:
    with pytest.raises(InputError, match="policy must be a JSON object"):
        Policy.from_config([90])  # type: ignore[arg-type]


def test_breaches_describe_themselves() -> None:
    assert (
        Breach("max_synthetic_share", 90.0, 97.5).describe()
        == "synthetic share 97.50 % exceeds the cap of 90.00 %"
    )
    assert Breach("max_depth", 2, 3).describe() == "generation depth 3 exceeds the cap of 2"
    assert (
        Breach("min_review_rate", 2.0, 0.5).describe()
        == "human review rate 0.50 % is below the minimum of 2.00 %"
    )


def build(ledger: Ledger) -> dict[str, list[str]]:
    """8 human samples; 8 synthetic ones of depths 1, 2, 3, 1, 1, 1, 1, 1; 2 of them drawn for
    review and judged (a verdict outside a draw is no review)."""
    ids: dict[str, list[str]] = {"human": [], "synthetic": []}
    with Recorder(ledger) as recorder:
        for i in range(8):
            recorder.imported(f"human {i}")
            ids["human"].append(text_id(f"human {i}"))
        recorder.generated("gen 0", WRITER, parents=[text_id("human 0")])
        recorder.generated("gen 1", WRITER, parents=[text_id("gen 0")])
        recorder.generated("gen 2", WRITER, parents=[text_id("gen 1")])
        for i in range(3, 8):
            recorder.generated(f"gen {i}", WRITER)
        ids["synthetic"] = [text_id(f"gen {i}") for i in range(8)]
        recorder.flush()
        drawn = [text_id("human 1"), text_id("gen 4")]
        draw_review_sample(ledger, recorder, rate=1.0, seed=1, sample_ids=drawn)
        recorder.reviewed("human 1", reviewer="alice", verdict="ok")
        recorder.reviewed("gen 4", reviewer="alice", verdict="bad")
    return ids


def test_each_limit_is_checked_on_the_candidate_samples(ledger_db: Ledger) -> None:
    ids = build(ledger_db)
    everything = ids["human"] + ids["synthetic"]
    strict = Policy(max_synthetic_share=40, max_depth=2, min_review_rate=20)
    breaches = check_policy(policy_figures(ledger_db), everything, strict)
    # 8 of 16 synthetic, depth 3 at most, 2 of 16 reviewed.
    assert breaches == [
        Breach("max_synthetic_share", 40.0, 50.0),
        Breach("max_depth", 2, 3),
        Breach("min_review_rate", 20.0, 12.5),
    ]
    assert [b.describe() for b in breaches] == [
        "synthetic share 50.00 % exceeds the cap of 40.00 %",
        "generation depth 3 exceeds the cap of 2",
        "human review rate 12.50 % is below the minimum of 20.00 %",
    ]


def test_no_breach_within_the_limits(ledger_db: Ledger) -> None:
    ids = build(ledger_db)
    everything = ids["human"] + ids["synthetic"]
    # Limits met exactly are kept.
    exact = Policy(max_synthetic_share=50, max_depth=3, min_review_rate=12.5)
    assert check_policy(policy_figures(ledger_db), everything, exact) == []
    assert check_policy(policy_figures(ledger_db), everything, Policy()) == []


def test_a_smaller_candidate_set_changes_the_figures(ledger_db: Ledger) -> None:
    ids = build(ledger_db)
    # The two reviewed samples, two shallow synthetic ones: 75 % synthetic, depth 1, 50 % reviewed.
    candidates = [text_id("human 1"), text_id("gen 4"), text_id("gen 5"), text_id("gen 6")]
    policy = Policy(max_synthetic_share=60, max_depth=1, min_review_rate=50)
    assert check_policy(policy_figures(ledger_db), candidates, policy) == [
        Breach("max_synthetic_share", 60.0, 75.0)
    ]
    assert (
        check_policy(
            policy_figures(ledger_db), ids["human"], Policy(max_synthetic_share=0, max_depth=0)
        )
        == []
    )


def test_the_figures_are_read_at_a_ledger_size(ledger_db: Ledger) -> None:
    ids = build(ledger_db)
    everything = ids["human"] + ids["synthetic"]
    before_reviews = ledger_db.size() - 2
    policy = Policy(min_review_rate=10)
    assert check_policy(policy_figures(ledger_db), everything, policy) == []
    assert check_policy(policy_figures(ledger_db), everything, policy, size=before_reviews) == [
        Breach("min_review_rate", 10.0, 0.0)
    ]
