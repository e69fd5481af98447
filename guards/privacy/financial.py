"""IBANs and payment card numbers: shapes checked by their own check digits.

IBAN (ISO 13616): two letters of a country in the SWIFT IBAN registry, two check digits, then
the country's fixed number of alphanumerics, in print form (groups of four) or compact, in
either case, spaces or hyphens between groups; valid when the rearranged number is 1 mod 97.
A run that goes on past the country's length without a space is part of a longer token, not an
IBAN.

Payment cards (ISO/IEC 7812): 12 to 19 digits, optionally grouped by single spaces or hyphens,
whose issuer prefix (IIN) belongs to a scheme that issues that length, and that pass the Luhn
check. The networks' and processors' published test numbers pass as look-alikes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Final

from synthguard.guards.privacy.finding import Hit, judged, mask
from synthguard.guards.privacy.lookalikes import EXAMPLE_IBANS, TEST_CARDS, Inert, covering

IBAN_RULE: Final = "iban/mod97"
CARD_RULE: Final = "payment_card/luhn"

# Total IBAN length per country (SWIFT IBAN registry).
IBAN_LENGTHS: Final = {
    **dict.fromkeys(("NO",), 15),
    **dict.fromkeys(("BE",), 16),
    **dict.fromkeys(("DK", "FI", "FK", "FO", "GL", "NL", "SD"), 18),
    **dict.fromkeys(("MK", "SI"), 19),
    **dict.fromkeys(("AT", "BA", "EE", "KZ", "LT", "LU", "MN", "XK"), 20),
    **dict.fromkeys(("CH", "HR", "LI", "LV"), 21),
    **dict.fromkeys(("BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS", "VA"), 22),
    **dict.fromkeys(("AE", "GI", "IL", "IQ", "OM", "SO", "TL"), 23),
    **dict.fromkeys(("AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG"), 24),
    **dict.fromkeys(("LY", "PT", "ST"), 25),
    **dict.fromkeys(("IS", "TR"), 26),
    **dict.fromkeys(("BI", "DJ", "FR", "GR", "IT", "MC", "MR", "SM"), 27),
    **dict.fromkeys(("AL", "AZ", "BY", "CY", "DO", "GT", "HU", "LB", "NI", "PL", "SV"), 28),
    **dict.fromkeys(("BR", "EG", "PS", "QA", "UA"), 29),
    **dict.fromkeys(("JO", "KW", "MU", "YE"), 30),
    **dict.fromkeys(("MT", "SC"), 31),
    **dict.fromkeys(("LC",), 32),
    **dict.fromkeys(("RU",), 33),
}

# (scheme, lowest IIN, highest IIN, IIN digits, lengths the scheme issues)
CARD_SCHEMES: Final = (
    ("amex", 34, 34, 2, frozenset({15})),
    ("amex", 37, 37, 2, frozenset({15})),
    ("visa", 4, 4, 1, frozenset({13, 16, 19})),
    ("mastercard", 51, 55, 2, frozenset({16})),
    ("mastercard", 2221, 2720, 4, frozenset({16})),
    ("discover", 6011, 6011, 4, frozenset(range(16, 20))),
    ("discover", 644, 649, 3, frozenset(range(16, 20))),
    ("discover", 65, 65, 2, frozenset(range(16, 20))),
    ("unionpay", 62, 62, 2, frozenset(range(16, 20))),
    ("diners", 300, 305, 3, frozenset(range(14, 20))),
    ("diners", 3095, 3095, 4, frozenset(range(14, 20))),
    ("diners", 36, 36, 2, frozenset(range(14, 20))),
    ("diners", 38, 39, 2, frozenset(range(14, 20))),
    ("jcb", 3528, 3589, 4, frozenset(range(16, 20))),
    ("mir", 2200, 2204, 4, frozenset(range(16, 20))),
    ("maestro", 5018, 5018, 4, frozenset(range(12, 20))),
    ("maestro", 5020, 5020, 4, frozenset(range(12, 20))),
    ("maestro", 5038, 5038, 4, frozenset(range(12, 20))),
    ("maestro", 5893, 5893, 4, frozenset(range(12, 20))),
    ("maestro", 6304, 6304, 4, frozenset(range(12, 20))),
    ("maestro", 6759, 6763, 4, frozenset(range(12, 20))),
)

# Both open with a character class, not a look-behind, so that the regex engine skips ahead to
# candidate characters; the look-behind is checked on each match.
# Groups are written apart by a space or a hyphen, or by the spaces typesetting puts there (no-
# break, narrow no-break, thin and figure spaces: French prints an IBAN so) or an en dash.
SEPARATORS: Final = " -\u00a0\u202f\u2009\u2007\u2013"
_SEPARATOR = "[" + "".join(map(re.escape, SEPARATORS)) + "]"
_IBAN = re.compile(rf"[A-Za-z][A-Za-z]\d\d(?:{_SEPARATOR}?[A-Za-z0-9]){{11,30}}")
_CARD = re.compile(rf"\d(?:{_SEPARATOR}?\d){{11,18}}(?![\d-]|[.,]\d)")
_NOT_DIGIT = re.compile(r"\D")
# How cards are printed: in fours (the last group shorter), or 4-6-5 and 4-6-4 (American
# Express, Diners).
_CARD_GROUPS = re.compile(r"\d{4}(?:\D\d{4}){2,3}(?:\D\d{1,4})?|\d{4}\D\d{6}\D\d{4,5}")


def find_ibans(text: str, inert: Sequence[Inert]) -> Iterator[Hit]:
    """Every IBAN with valid check digits in `text`; published examples as look-alikes."""
    for match in _IBAN.finditer(text):
        candidate = match.group().upper()
        length = IBAN_LENGTHS.get(candidate[:2])
        if length is None or (match.start() and text[match.start() - 1].isalnum()):
            continue
        compact, end = _first_alnums(candidate, length)
        if len(compact) < length or _continues(text, match.start() + end):
            continue
        if not _mod97(compact):
            continue
        start, stop = match.start(), match.start() + end
        preview = compact[:2] + mask(compact[2:], 0, 4)
        why = covering(inert, start, stop) or ("example" if compact in EXAMPLE_IBANS else None)
        yield judged(start, stop, "iban", IBAN_RULE, preview, why)


def find_cards(text: str, inert: Sequence[Inert]) -> Iterator[Hit]:
    """Every card number of a known scheme and length passing Luhn in `text`; published test
    numbers as look-alikes."""
    for match in _CARD.finditer(text):
        raw = match.group()
        if match.start() and text[match.start() - 1] in "0123456789.,-":
            continue
        digits = _NOT_DIGIT.sub("", raw)
        if len({char for char in raw if not char.isdigit()}) > 1:
            continue  # mixed separators: a table or a date run, not a printed card
        if not raw.isdigit() and not _CARD_GROUPS.fullmatch(raw):
            continue  # grouped otherwise than cards are printed: an amount in threes
        if _scheme(digits) is None or not _luhn(digits):
            continue
        start, end = match.start(), match.end()
        why = covering(inert, start, end) or ("test-number" if digits in TEST_CARDS else None)
        yield judged(start, end, "payment_card", CARD_RULE, mask(digits, 0, 4), why)


def _first_alnums(candidate: str, count: int) -> tuple[str, int]:
    """The first `count` alphanumerics of `candidate` and the offset just after the last."""
    kept: list[str] = []
    for i, char in enumerate(candidate):
        if char not in SEPARATORS:
            kept.append(char)
            if len(kept) == count:
                return "".join(kept), i + 1
    return "".join(kept), len(candidate)


def _continues(text: str, end: int) -> bool:
    return end < len(text) and text[end].isalnum()


def _mod97(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _scheme(digits: str) -> str | None:
    for name, low, high, width, lengths in CARD_SCHEMES:
        if len(digits) in lengths and low <= int(digits[:width]) <= high:
            return name
    return None


def _luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char)
        if i % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0
