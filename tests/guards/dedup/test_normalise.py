from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.guards.dedup.normalise import normalised_words

INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark
    "\u00ad",  # soft hyphen
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\U000e0041",  # tag latin capital letter a
    "\ufe0f",  # variation selector 16
    "\u034f",  # combining grapheme joiner
    "\x00",  # a control character
]


@pytest.mark.parametrize(
    ("copy", "original"),
    [
        ("HELLO World", "hello world"),
        ("Straße", "STRASSE"),
        ("ﬁnd the ﬂow", "find the flow"),  # ligatures (NFKC)
        ("ＦＵＬＬ ｗｉｄｔｈ", "full width"),
        ("cafe\u0301", "café"),  # decomposed and composed accent
        ("a\tb\nc  d\r\ne", "a b c d e"),
        ("a\u00a0b\u3000c\u2009d", "a b c d"),  # no-break, ideographic and thin spaces
        ("  padded  ", "padded"),
        ("Hello, world!", "hello world"),
        ("“Curly” ‘quotes’ — and… dashes–", "curly quotes and dashes"),
        ("¿Qué tal? ¡Bien!", "qué tal bien"),
        ("中文，测试。", "中文测试"),
        ("U.S.A.", "usa"),
        # What joins or wraps words breaks them (version 2).
        ("declare_a new ORM-mapped construct", "declare a new ORM mapped construct"),
        ("and/or a\\b", "and or a b"),
        ("use `Column` in | a | table", "use Column in a table"),
        (
            "> Attaches an option\n> to the command.\n>> nested",
            "attaches an option to the command nested",
        ),
        ("don't", "dont"),
    ],
)
def test_copies_normalise_to_the_same_text(copy: str, original: str) -> None:
    assert normalised_words(copy) == normalised_words(original)


@pytest.mark.parametrize("invisible", INVISIBLE)
def test_an_invisible_character_inside_a_word_is_dropped(invisible: str) -> None:
    text = "The quick brown fox jumps over the lazy dog"
    copy = text[:7] + invisible + text[7:]
    assert normalised_words(copy) == normalised_words(text)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("$5", "5"),  # symbols stay
        ("1 + 1 = 2", "1 1 2"),
        ("résumé", "resume"),  # accents are letters
        ("ab", "a b"),  # a word boundary is content
        ("hello world", "hello word"),
    ],
)
def test_different_texts_stay_different(one: str, other: str) -> None:
    assert normalised_words(one) != normalised_words(other)


def test_case_and_punctuation_go_letters_and_word_breaks_stay() -> None:
    assert normalised_words("Ünïcödé, Text!") == ["ünïcödé", "text"]
    assert normalised_words("  One,  two;\tTHREE!  ") == ["one", "two", "three"]
    assert normalised_words("?!…") == []


any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=["Cs"]), max_size=40)


@settings(max_examples=500)
@given(any_text)
def test_normalising_twice_changes_nothing(text: str) -> None:
    words = normalised_words(text)
    assert normalised_words(" ".join(words)) == words
    assert all(word and not any(c.isspace() for c in word) for word in words)


@settings(max_examples=300)
@given(st.text(alphabet=st.characters(max_codepoint=127, exclude_categories=["Cs"])))
def test_the_ascii_shortcut_agrees_with_the_unicode_path(text: str) -> None:
    # A trailing zero-width space forces the Unicode path and is itself dropped.
    assert normalised_words(text) == normalised_words(text + "\u200b")


@settings(max_examples=500)
@given(any_text, st.integers(min_value=0), st.sampled_from(INVISIBLE))
def test_an_invisible_character_anywhere_leaves_the_normal_form(
    text: str, where: int, invisible: str
) -> None:
    at = where % (len(text) + 1)
    assert normalised_words(text[:at] + invisible + text[at:]) == normalised_words(text)
