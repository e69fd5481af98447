"""Text normalisation for deduplication: the form in which two copies of a text become equal.

NFKC folds compatibility variants (ligatures, full-width forms, non-breaking spaces), casefold
folds case (`Straße` = `STRASSE`), punctuation (Unicode categories P*) is deleted, invisible
characters (format Cf, controls Cc, variation selectors, fillers) are dropped, and whitespace
runs become one space. A copy with a zero-width space inside a word, curly instead of straight
quotes or a trailing full stop normalises to the same text, so it is an exact duplicate.
What joins or wraps words is a word break, not deleted (version 2): dashes and connectors
(`ORM-mapped`, `for_use` are `orm mapped`, `for use`), slashes, backticks and bars (Markdown's
code spans and tables); and a word made only of `>` (a quote's mark) is dropped. A copy joined
with hyphens or underscores, or wrapped in Markdown, shares the original's words (version 1
deleted them, and such a copy shared none of its shingles). Other symbols (S*: `$`, `+`, `=`)
and digits stay: `$5` and `5` are different texts.
"""

from __future__ import annotations

import unicodedata

NORMALISATION_VERSION = 2
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
        if char.isspace() or category in ("Pd", "Pc") or char in _BREAKS:
            value = " "
        elif category[0] == "P" or category in ("Cf", "Cc") or code in INVISIBLE:
            value = None
        else:
            value = char
        self[code] = value
        return value


_BREAKS = frozenset("/\\`|")
"""Symbols and punctuation that join or wrap words rather than belong to one."""

_FOLDING = _Folding()
for _code in range(128):
    _FOLDING.__missing__(_code)  # the ASCII entries, up front
# ASCII text goes through bytes.translate, several times faster than str.translate: the
# characters the table drops are deleted, and those it makes a space are whitespace already,
# which `split` treats alike.
_ASCII_DROPPED = bytes(code for code in range(128) if _FOLDING[code] is None)
_ASCII_TABLE = bytes(32 if _FOLDING[code] == " " else code for code in range(256))


def normalised_words(text: str) -> list[str]:
    """Return the words of `text` in the normal form in which copies compare equal."""
    if text.isascii():
        # NFKC leaves ASCII alone and casefold is lower() there: skip the Unicode machinery.
        words = text.encode().lower().translate(_ASCII_TABLE, _ASCII_DROPPED).decode().split()
        return _unquoted(words) if ">" in text else words
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = unicodedata.normalize("NFKC", folded).translate(_FOLDING)
    # Dropping a character can bring a base letter and a combining mark together: compose again.
    if not unicodedata.is_normalized("NFKC", folded):
        folded = unicodedata.normalize("NFKC", folded).translate(_FOLDING)
    words = folded.split()
    return _unquoted(words) if ">" in folded else words


def _unquoted(words: list[str]) -> list[str]:
    """The words without those made only of `>`: a Markdown quote's marks (`> `, `>> `), and
    the doctest prompt and arrows that mean as little to a copy."""
    return [word for word in words if word.strip(">")]
