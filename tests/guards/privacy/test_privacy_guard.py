"""The privacy guard: one failing verdict per sample and kind, its detail the findings (and the
look-alikes that passed) in the screen's contract; a configuration digest that changes with what
decides; findings rebuilt from verdicts redact the sample."""

from __future__ import annotations

from synthguard.guards.privacy import KINDS, PrivacyGuard, redact
from synthguard.guards.privacy.guard import LIBRARIES
from synthguard.guards.verdict import Guard, GuardInfo, Verdict
from synthguard.provenance.sample import sample_from_row

LEAKY = sample_from_row(
    {
        "instruction": "Summarise the ticket from ana.souza@gmail.com (ops@example.com in cc).",
        "input": "Customer called from (212) 736-4410 and again from (617) 495-2210.",
        "output": "Refund to card 4929 1234 5678 9015; the test card 4242 4242 4242 4242 failed.",
    }
)
CLEAN = sample_from_row({"text": "The quick brown fox jumps over the lazy dog."})
LOOKALIKES_ONLY = sample_from_row(
    {"text": "Mail ops@example.com from 192.0.2.7; pay with 4242 4242 4242 4242."}
)


def test_one_failing_verdict_per_sample_and_kind() -> None:
    guard: Guard = PrivacyGuard()
    verdicts = guard.check([CLEAN, LEAKY, LOOKALIKES_ONLY])
    assert [(v.sample_id, v.rule, v.score) for v in verdicts] == [
        (LEAKY.id, "email", 1.0),
        (LEAKY.id, "phone", 2.0),
        (LEAKY.id, "payment_card", 1.0),
    ]
    for verdict in verdicts:
        assert not verdict.passed
        assert verdict.threshold == 1.0
        assert verdict.guard == guard.info
        assert verdict.rule in KINDS
        assert verdict.reason()["guard"] == "privacy"


def test_detail_lists_findings_and_the_lookalikes_that_passed() -> None:
    email, _phone, card = PrivacyGuard().check([LEAKY])
    instruction = LEAKY.content["instruction"]
    at, example = instruction.index("ana."), instruction.index("ops@")
    assert email.detail == {
        "findings": [
            {
                "field": "instruction",
                "start": at,
                "end": at + len("ana.souza@gmail.com"),
                "kind": "email",
                "rule": "email",
                "preview": "a***@g***.com",
            }
        ],
        "lookalikes": [
            {
                "field": "instruction",
                "start": example,
                "end": example + len("ops@example.com"),
                "kind": "email",
                "rule": "email/example-domain",
                "preview": "o***@e***.com",
            }
        ],
    }
    assert [f["rule"] for f in card.detail["lookalikes"]] == ["payment_card/test-number"]
    assert "4929" not in str(card.detail)


def test_findings_of_verdicts_redact_the_sample() -> None:
    guard = PrivacyGuard()
    verdicts = guard.check([LEAKY])
    other = Verdict(LEAKY.id, GuardInfo.of("backdoor", "b", "1", {}), "x", False, 1.0)
    clean = redact(LEAKY, guard.findings_of([*verdicts, other]))
    assert clean.content == {
        "instruction": "Summarise the ticket from [EMAIL] (ops@example.com in cc).",
        "input": "Customer called from [PHONE] and again from [PHONE].",
        "output": "Refund to card [CARD]; the test card 4242 4242 4242 4242 failed.",
    }
    assert guard.check([clean]) == []


def test_the_config_digest_follows_region_and_entropy() -> None:
    digests = {
        PrivacyGuard().info.config_digest,
        PrivacyGuard(region="GB").info.config_digest,
        PrivacyGuard(entropy=False).info.config_digest,
    }
    assert len(digests) == 3
    assert PrivacyGuard().info == PrivacyGuard(region="us").info
    assert PrivacyGuard().info.family == "privacy"
    assert LIBRARIES == ("phonenumbers", "detect-secrets")
