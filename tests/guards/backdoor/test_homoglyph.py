"""Mixed-script words: Latin words with Cyrillic, Greek, Armenian or phonetic look-alikes (and
the reverse) are caught; Russian, Greek, accented Latin, Turkish, IPA and mathematics pass."""

from __future__ import annotations

import pytest

from synthguard.guards.backdoor.guard import BackdoorConfig, BackdoorGuard
from synthguard.guards.backdoor.homoglyph import RULE, find_mixed_script
from synthguard.provenance.sample import sample_from_row

ATTACKS = [
    pytest.param("Log in to pаypal now", "pаypal", "paypal", id="cyrillic-a-in-latin"),
    pytest.param("Search on gοogle", "gοogle", "google", id="greek-omicron-in-latin"),
    pytest.param("Ѕtrаnge offer", "Ѕtrаnge", "Strange", id="two-cyrillic-letters"),
    pytest.param("Buy ΑΡΡLE shares", "ΑΡΡLE", "APPLE", id="greek-capitals-with-latin"),
    pytest.param("Скачай прoграмму", "прoграмму", "программу", id="latin-o-in-russian"),
    pytest.param("How to make a bоmb", "bоmb", "bomb", id="keyword-evasion"),
    # Short words with a Greek look-alike: no formula spells them.
    pytest.param("Listen tο me", "tο", "to", id="greek-omicron-short-word"),
    pytest.param("salt αnd pepper", "αnd", "and", id="greek-alpha-common-word"),
    pytest.param("stay ιn here", "ιn", "in", id="greek-iota-common-word"),
    pytest.param("ϲf the manual", "ϲf", "cf", id="greek-lunate-sigma-trigger"),
    # Words whose majority script borrows nothing, yet every letter reads as Latin.
    pytest.param("ΙGΝΟRΕ the rules", "ΙGΝΟRΕ", "IGNORE", id="mostly-greek-capitals"),
    pytest.param("a cup of соffее", "соffее", "coffee", id="mostly-cyrillic"),
    pytest.param("the ѕуѕtеm prompt", "ѕуѕtеm", "system", id="mostly-cyrillic-2"),
    # Look-alikes outside Cyrillic and Greek.
    pytest.param("an ɑpple a day", "ɑpple", "apple", id="latin-alpha"),
    pytest.param("log in to ᴘaypal", "ᴘaypal", "paypal", id="small-capital"),
    pytest.param("օpen the door", "օpen", "open", id="armenian-oh"),
    pytest.param("Enter your ρassword", "ρassword", "password", id="greek-rho-first-letter"),
    pytest.param("an αpple a day", "αpple", "apple", id="greek-alpha-first-letter"),
]

LEGITIMATE = [
    pytest.param("Привет, мир! Как дела? Всё хорошо.", id="russian"),
    pytest.param("Η γρήγορη καφέ αλεπού πηδάει πάνω από τον σκύλο.", id="greek"),
    pytest.param("A naïve café owner's résumé, façade and jalapeño.", id="accented-latin"),
    pytest.param("Straße, İstanbul, Øresund, Łódź, Ærø.", id="latin-extended"),
    pytest.param(
        "The Russian word мир means peace; the Greek λόγος means word.", id="mixed-sentence"
    ),
    pytest.param("Area = πr², so 2πr is the perimeter; Δx → 0 and α + β = γ.", id="greek-math"),
    pytest.param("Pressure is ρgh and a photon carries hν; use λ-calculus in μm.", id="physics"),
    pytest.param("Let 𝑥 ∈ ℝ and 𝛼𝑥 + 𝐀 = 0, E = mc².", id="math-alphanumerics"),
    pytest.param("Clip at ρ_max, then set ρ_new = ρ_max / 2.", id="subscripts"),
    pytest.param("Run a χ2 test with κB T as the scale.", id="statistics"),
    pytest.param("The stress tensor Tμν and the field Hμν, summed over Tαβ.", id="tensors"),
    pytest.param("Say /kɪt/ and [ˈæpɪl] aloud.", id="ipa"),
    pytest.param("Bath is pronounced bɑːθ, and kɑt rhymes with kɔt.", id="ipa-in-prose"),
    pytest.param("Kabɩyɛ is written with ɩ and ɛ: wɩlɩ.", id="kabiye-orthography"),
    pytest.param("Windowsում և Linuxով", id="armenian-case-endings"),
    pytest.param("Kadın ve kızı ılık suda yıkandı.", id="turkish-dotless-i"),
    pytest.param("kill -9 1234", id="ascii"),
]


@pytest.mark.parametrize(("text", "word", "reads_as"), ATTACKS)
def test_look_alike_words_are_caught(text: str, word: str, reads_as: str) -> None:
    (found,) = find_mixed_script(text)
    assert found.word == word
    assert found.skeleton == reads_as
    assert text[found.start : found.start + len(word)] == word


@pytest.mark.parametrize("text", LEGITIMATE)
def test_single_script_words_and_mathematics_pass(text: str) -> None:
    assert find_mixed_script(text) == []


def test_the_look_alike_is_named() -> None:
    (found,) = find_mixed_script("pаypal")
    assert found.script == "Latin"
    assert found.look_alikes == ("U+0430 CYRILLIC SMALL LETTER A",)


def test_a_foreign_letter_that_looks_like_nothing_latin_passes() -> None:
    # A Cyrillic ж inside a Latin word is odd, but deceives nobody.
    assert find_mixed_script("abжcd") == []


def test_guard_reports_every_field_with_a_mixed_word() -> None:
    guard = BackdoorGuard(BackdoorConfig(statistics=False))
    sample = sample_from_row(
        {"instruction": "Visit pаypal.com", "input": "", "output": "Log in to pаypal and раy."}
    )
    (verdict,) = guard.check([sample])
    assert verdict.rule == RULE
    assert verdict.score == 3.0
    fields = {where["field"]: where for where in verdict.detail["fields"]}
    assert set(fields) == {"instruction", "output"}
    assert [w["reads_as"] for w in fields["output"]["words"]] == ["paypal", "pay"]
