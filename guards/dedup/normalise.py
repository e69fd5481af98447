"""Text normalisation for deduplication: the form in which two copies of a text become equal.

NFKC folds compatibility variants (ligatures, full-width forms, non-breaking spaces), casefold
folds case (`Straße` = `STRASSE`), punctuation (Unicode categories P*) is deleted, invisible
characters (format Cf, controls Cc, variation selectors, fillers) are dropped, and whitespace
runs become one space. A copy with a zero-width space inside a word, curly instead of straight
quotes or a trailing full stop normalises to the same text, so it is an exact duplicate.
Symbols (S*: `$`, `+`, `=`) and digits stay: `$5` and `5` are different texts.
"""

from __future__ import annotations

import unicodedata

NORMALISATION_VERSION = 1
"""Bumped whenever `normalised_words` changes what it returns: stored digests depend on it."""

# Invisible characters outside Cf/Cc: variation selectors, the combining grapheme joiner,
# Mongolian free variation selectors, Khmer inherent vowels, Hangul fillers, the braille blank.
INVISIBLE = frozenset(
    [
        *range(0xFE00, 0xFE10),
        *range(0xE0100, 0xE01F0),
        0x034F,
        *range(0x180B, 0x1810),
        *(0x17B4, 0x17B5, 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800),
    ]
)
"""Code points that show nothing and are no format character (Cf): with Cf, what a copy can
carry unseen."""


class _Folding(dict[int, str | None]):
    """The `str.translate` table, filled per code point on first sight (Unicode is large)."""

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        category = unicodedata.category(char)
        value: str | None
        if char.isspace():
            value = " "
        elif category[0] == "P" or category in ("Cf", "Cc") or code in INVISIBLE:
            value = None
        else:
            value = char
        self[code] = value
        return value


_FOLDING = _Folding()
for _code in range(128):
    _FOLDING.__missing__(_code)  # the ASCII entries, up front
# ASCII text goes through bytes.translate, several times faster than str.translate: the
# characters the table drops are deleted, and those it makes a space are whitespace already,
# which `split` treats alike.
_ASCII_DROPPED = bytes(code for code in range(128) if _FOLDING[code] is None)


def normalised_words(text: str) -> list[str]:
    """Return the words of `text` in the normal form in which copies compare equal."""
    if text.isascii():
        # NFKC leaves ASCII alone and casefold is lower() there: skip the Unicode machinery.
        return text.encode().lower().translate(None, _ASCII_DROPPED).decode().split()
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = unicodedata.normalize("NFKC", folded).translate(_FOLDING)
    # Dropping a character can bring a base letter and a combining mark together: compose again.
    if not unicodedata.is_normalized("NFKC", folded):
        folded = unicodedata.normalize("NFKC", folded).translate(_FOLDING)
    return folded.split()
