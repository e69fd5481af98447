"""Values disguised with characters that show as the ones a detector reads, or show nothing:
full-width forms (`jane＠mail．com`, `５５５-０１９９`), digits of another script (Arabic-Indic,
Devanagari), zero-width spaces or soft hyphens between the characters. Each is found in the
string's folded form (`detect.fold`), its span read back onto the string as written, its rule
marked `+folded`; redaction replaces the whole disguised span. Text that only looks like such a
value after folding (a price or a year in full-width digits) is not one."""

from __future__ import annotations

import random

import privacy_planting as planting
import pytest

from synthguard.guards.privacy import KINDS, PLACEHOLDERS, find_private, redact
from synthguard.guards.privacy.detect import FOLDED, fold
from synthguard.provenance.sample import sample_from_row

DOCS = planting.docstrings(6, seed=23)


@pytest.mark.parametrize("disguise", planting.DISGUISES)
@pytest.mark.parametrize("kind", KINDS)
def test_a_disguised_value_is_found_and_redacted_whole(kind: str, disguise: str) -> None:
    rng = random.Random(f"folded-{kind}-{disguise}")
    checked = 0
    for doc in DOCS:
        hidden = planting.disguise(planting.plant(doc, kind, rng), disguise)
        if hidden is None:
            continue
        sample = sample_from_row({"instruction": "Explain.", "output": hidden.text})
        findings = [f for f in find_private(sample) if f.kind == kind]
        assert [(f.start, f.end) for f in findings] == [(hidden.start, hidden.end)], hidden.value
        clean = redact(sample, findings)
        text = hidden.text
        assert (
            clean.content["output"]
            == text[: hidden.start] + PLACEHOLDERS[kind] + text[hidden.end :]
        )
        checked += 1
    # Not vacuous: kinds without digits are checked under the disguises of characters.
    assert checked or disguise.endswith("digits")


@pytest.mark.parametrize(
    "text",
    [
        "２０２３年に発売され、価格は１２，８００円でした。",  # a year and a price
        "会議は１０月２４日（木）１４：３０から第３会議室で行います。",
        "المقاس ٤٢ والسعر ١٥٠ درهمًا فقط",  # a size and a price, Arabic-Indic digits
        "ｃｏｎｆｉｇ．ｙａｍｌ を開いて ｔｉｍｅｏｕｔ：３０ を設定します。",
        "Use the word\u200bjoiner as in e\u00admail or co\u00adop.",
    ],
)
def test_text_that_only_folds_into_numbers_and_words_holds_nothing(text: str) -> None:
    sample = sample_from_row({"instruction": "Translate.", "output": text})
    assert find_private(sample) == []


def test_a_value_found_only_when_folded_says_so_in_its_rule() -> None:
    token = "hf_" + "Qm7Rt2Vx9Lp4Kd8Wz3Nc6Hj1Fb5Sg0YaEu"
    text = f"export HF_TOKEN={planting.zero_width_spaced(token)}"
    sample = sample_from_row({"instruction": "Set up the runner.", "output": text})
    (finding,) = find_private(sample)
    assert (finding.kind, finding.start, finding.end) == ("secret", 16, len(text))
    assert finding.rule.endswith(FOLDED)
    # Written plainly, the same token is found as written.
    plain = sample_from_row({"instruction": "x", "output": f"export HF_TOKEN={token}"})
    (as_written,) = find_private(plain)
    assert as_written.kind == "secret"
    assert not as_written.rule.endswith(FOLDED)


def test_text_as_written_is_not_folded() -> None:
    assert fold("plain ASCII, jane@mail.com") is None
    assert fold("Grüße aus Köln, 電話はありません") is None  # NFKC-normal, nothing invisible
    folded, origin = fold("a\u200bb５") or ("", [])
    assert folded == "ab5"
    assert origin == [0, 2, 3]
