"""What a sample's text tells the transparency report: its language and its size in tokens.

Language: py3langid (a Naive Bayes classifier over byte n-grams, 97 languages, with its model
inside the wheel, so nothing is downloaded), run on the first `LANGUAGE_CHARS` characters of the
text, so that the work per sample is bounded whatever its length. The answer is an ISO 639 code,
or `und` (undetermined) when no language reaches a probability of `MIN_CONFIDENCE`: text without
letters, or too short to tell.

Tokens: an estimate, not a model tokenizer's count (tokenizers differ by model, and the ones
that ship with packages download their vocabularies): every run of letters, digits or
underscores is one token, every Han, kana or other wide character one token, and every other
visible character (punctuation, symbols) one token. Subword tokenizers cut rare words into
several pieces, so a model's count is usually higher. Both functions are pure and deterministic:
`synthguard audit` recomputes them exactly with the same library version.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
from typing import Any, Final, Literal

LANGUAGE_LIBRARY: Final = "py3langid"
LANGUAGE_CHARS: Final = 1000
"""Characters of a sample's text that language detection reads."""
MIN_CONFIDENCE: Final = 0.2
"""The probability below which a language is not named (`und`)."""
UNDETERMINED: Final = "und"
"""ISO 639-2 for text whose language could not be determined."""

TOKEN_METHOD: Final = (
    "estimated, not a model tokenizer's count: each run of letters, digits or underscores is "
    "one token, each Han, kana or other wide character one, and each other visible character "
    "(punctuation, symbols) one, over a sample's whole text (instruction, input and output; "
    "every message; or the text); model tokenizers usually count more"
)

SizeBucket = Literal[
    "less than 1 billion tokens",
    "1 billion to 10 trillion tokens",
    "more than 10 trillion tokens",
]
"""The template's size buckets for text."""

_BILLION = 10**9
_TEN_TRILLION = 10 * 10**12
# Wide scripts without spaces between words: Han, kana, Hangul syllables, full-width forms.
_WIDE = "\u1100-\u11ff\u2e80-\u2fdf\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff" + (
    "\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f"
)
_TOKEN = re.compile(rf"[{_WIDE}]|[^\W{_WIDE}]+|[^\w\s]")


def count_tokens(text: str) -> int:
    """The estimated number of tokens in `text` (see TOKEN_METHOD)."""
    return sum(1 for _ in _TOKEN.finditer(text))


def size_bucket(tokens: int) -> SizeBucket:
    """The template's size bucket for a number of text tokens."""
    if tokens < _BILLION:
        return "less than 1 billion tokens"
    if tokens <= _TEN_TRILLION:
        return "1 billion to 10 trillion tokens"
    return "more than 10 trillion tokens"


def language_detector() -> str:
    """The library that detects languages and its version, e.g. `py3langid 0.4.0`."""
    return f"{LANGUAGE_LIBRARY} {importlib.metadata.version(LANGUAGE_LIBRARY)}"


def language_method() -> str:
    """How languages are detected, in words, for the report."""
    return (
        f"detected by {language_detector()} (the model ships inside the package) on the first "
        f'{LANGUAGE_CHARS:,} characters of each sample\'s text; "{UNDETERMINED}" when no language '
        f"reaches a probability of {MIN_CONFIDENCE:.2f}"
    )


def detect_language(text: str) -> str:
    """The ISO 639 code of the language of `text`, or `und` when it cannot be told."""
    head = text[:LANGUAGE_CHARS]
    if not any(char.isalpha() for char in head):
        return UNDETERMINED
    language, probability = _identifier().classify(head)
    return str(language) if float(probability) >= MIN_CONFIDENCE else UNDETERMINED


@functools.cache
def _identifier() -> Any:
    # Loaded once per process (about 0.4 s): the model is a compressed numpy archive.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
