"""Identity numbers, bank accounts and dates of birth: what names one person to a state, a bank,
a hospital or a form.

Read anywhere, by shape and allocation rules:
- UK National Insurance numbers (HMRC, National Insurance Manual NIM39110): two prefix letters,
  six digits and a suffix A-D, in pairs or unspaced; the first letter is none of D F I Q U V,
  the second none of D F I O Q U V, and the prefixes BG GB KN NK NT TN ZZ are never allocated
  (`id_number/uk-nino`). Capitals only: in lower case such runs are identifiers in code.

Read only right after the words that name them, because a bare run of digits is far more often
a count, an order number or a phone number (the way `ssn` reads a bare nine-digit run):
- NHS numbers: ten digits, printed 3-3-4 or unspaced, the last the modulus 11 check of the
  first nine (weights 10 down to 2), after "NHS" (`id_number/uk-nhs+keyword`);
- passport numbers: six to nine digits, up to two letters before them
  (`id_number/passport+keyword`);
- driving licence numbers, which every issuer shapes its own way: five to twenty letters,
  digits and hyphens, four or more of them digits (`id_number/driving-licence+keyword`);
- medical record numbers: up to three letters and five to twelve digits, after "MRN",
  "medical record number" or "patient ID" (`id_number/medical-record+keyword`);
- bank account numbers: 8 to 17 digits (the range US banks issue; a UK account has 8),
  single spaces or hyphens between groups, after "account number", "account no", "acct",
  "a/c", "bank", "checking", "savings", "current" or "deposit account", or "account" after a
  routing number, sort code, SWIFT code or "wire" in the same sentence
  (`bank_account+keyword`); the routing number or sort code beside one names the bank, which
  is public, and is left alone;
- dates of birth: a calendar date (1984-03-12, 12/03/1984, 12.03.84, 12 March 1984,
  March 12, 1984) after "date of birth", "DOB", "birth date", "birthdate" or "birthday"
  (`date_of_birth+keyword`), or a date in figures after "born" ("born 12/03/1984"). A date
  alone is nobody's birthday, and "born on 10 December 1815" is how biographies of public
  figures put it.
Between the words and the value, up to three of "number", "no", "nr", "num", "id", "is", "was"
and a few marks ("Passport No.: X1234567", "NHS number is 943 476 5919"). US ITINs share the
SSN's printed shape and are read with it (`ssn`).

Look-alikes: the NHS's test range (999 ...), the example numbers printed on forms and in
guidance (`lookalikes.EXAMPLE_ID_NUMBERS`), and account numbers of one repeated digit or a run
of consecutive ones (00000000, 123456789012), which stand for "an account number here".
"""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Iterator, Sequence
from typing import Final

from synthguard.guards.privacy.finding import Hit, judged, mask
from synthguard.guards.privacy.lookalikes import EXAMPLE_ID_NUMBERS, Inert, covering

NINO_RULE: Final = "id_number/uk-nino"
NHS_RULE: Final = "id_number/uk-nhs+keyword"
PASSPORT_RULE: Final = "id_number/passport+keyword"
LICENCE_RULE: Final = "id_number/driving-licence+keyword"
MEDICAL_RULE: Final = "id_number/medical-record+keyword"
BANK_RULE: Final = "bank_account+keyword"
BIRTH_RULE: Final = "date_of_birth+keyword"

# From the digits: text holds far fewer digits than capitals, so the expression is tried at
# fewer places; the prefix before them is checked on each match.
_NINO_DIGITS = re.compile(r"\d\d( ?)\d\d\1\d\d\1[A-D](?![A-Za-z0-9])")
_NINO_FIRST: Final = frozenset("ABCEGHJKLMNOPRSTWXYZ")
_NINO_SECOND: Final = frozenset("ABCEGHJKLMNPRSTWXYZ")
_UNALLOCATED_PREFIXES: Final = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})

# What may stand between the words and the value.
_BETWEEN = r"(?:\W{1,4}(?i:number|no|nr|num|id|is|was)\b){0,3}[^\w\n]{0,4}"
_END = r"(?![\w-])"
_MONTHS: Final = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = r"(?i:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_NUMERIC_DATE = (
    r"(?P<iso>(?P<iy>\d{4})-(?P<im>\d\d)-(?P<id>\d\d))"
    r"|(?P<num>(?P<na>\d{1,2})(?P<sep>[/.-])(?P<nb>\d{1,2})(?P=sep)(?P<ny>\d{4}|\d\d))"
)
_DATE = (
    _NUMERIC_DATE
    + r"|(?P<dmy>(?P<dd>\d{1,2})(?i:st|nd|rd|th)?\s(?P<dm>"
    + _MONTH
    + r"),?\s(?P<dy>\d{4}))"
    r"|(?P<mdy>(?P<mm>" + _MONTH + r")\s(?P<md>\d{1,2})(?i:st|nd|rd|th)?,?\s(?P<my>\d{4}))"
)


def _after(words: str, value: str) -> re.Pattern[str]:
    return re.compile(rf"(?:{words}){_BETWEEN}(?P<value>{value}){_END}")


_KEYWORDED: Final = (
    # (rule, what the text holds as written or in lower case for the expression to be tried,
    # the expression)
    (NHS_RULE, ("NHS",), (), _after(r"\bNHS\b", r"\d{3}(?P<s>[- ]?)\d{3}(?P=s)\d{4}")),
    (PASSPORT_RULE, (), ("passport",), _after(r"(?i:\bpassport\b)", r"[A-Za-z]{0,2}\d{6,9}")),
    (
        LICENCE_RULE,
        ("DL",),
        # driver's, drivers, driver, driving (and driving-) licence or license
        ("r's licen", "r’s licen", "rs licen", "r licen", "g licen", "g-licen"),
        _after(
            r"(?i:\bdriv(?:er['’]?s?|ing)[ -]licen[cs]e)|\bDL\b",
            r"[A-Za-z0-9][A-Za-z0-9-]{4,19}",
        ),
    ),
    (
        MEDICAL_RULE,
        ("MRN",),
        ("medical record", "patient"),
        _after(
            r"\bMRN\b|(?i:\bmedical record\b|\bpatient(?:['’]s)?\W{1,4}(?:id|number|no)\b)",
            r"[A-Za-z]{0,3}[- ]?\d{5,12}",
        ),
    ),
    (
        BANK_RULE,
        (),
        ("account", "acct", "a/c"),
        _after(
            r"(?i:\b(?:bank|checking|chequing|savings|current|deposit)\s+account\b"
            r"|\baccount\s+(?:number|no\b|nr\b|num\b|#)|\bacct\b|\ba/c\b"
            r"|\b(?:routing|aba|sort\s+code|swift|bic|wire)\b[^.\n]{0,60}?\baccount\b)",
            r"\d(?:[ -]?\d){7,16}",
        ),
    ),
    (
        BIRTH_RULE,
        (),
        ("birth", "dob", "d.o.b"),
        _after(r"(?i:\bdate of birth|\bbirth ?(?:date|day)\b|\bd\.?o\.?b\b\.?)", _DATE),
    ),
    # "Born" before a date in figures, the way forms write it; before a month's name it is
    # how biographies of public figures are written.
    (BIRTH_RULE, (), ("born",), _after(r"(?i:\bborn(?: on)?)", _NUMERIC_DATE)),
)
_CASED_HINTS: Final = tuple(sorted({hint for _, cased, _, _ in _KEYWORDED for hint in cased}))
_LOWER_HINTS: Final = tuple(sorted({hint for _, _, hints, _ in _KEYWORDED for hint in hints}))
ID_DIGITS: Final = 5
"""The fewest digits a string holds when it holds an identity number or a date of birth."""


def find_identities(text: str, inert: Sequence[Inert], shape: bytes, lowered: str) -> Iterator[Hit]:
    """Every identity number and date of birth in `text` (`shape` is its `shape_of`,
    `lowered` the text in lower case); examples and test ranges as look-alikes."""
    # A National Insurance number's digits read 000000 or 00 00 00 in the shape.
    ninos = _NINO_DIGITS.finditer(text) if b"000000" in shape or b"00 00 00" in shape else ()
    for match in ninos:
        start = match.start() - 2 - len(match.group(1))
        if start < 0 or (start and text[start - 1].isalnum()):
            continue
        prefix = text[start : start + 2]
        if (
            prefix[0] in _NINO_FIRST
            and prefix[1] in _NINO_SECOND
            and prefix not in _UNALLOCATED_PREFIXES
            and text[start + 2 : match.start()] == match.group(1)
        ):
            value = _compact(text[start : match.end()])
            yield _hit(start, match.end(), "id_number", NINO_RULE, value, inert)
    if not any(map(lowered.__contains__, _LOWER_HINTS)) and not any(
        map(text.__contains__, _CASED_HINTS)
    ):
        return
    for rule, cased, hints, expression in _KEYWORDED:
        if not any(map(lowered.__contains__, hints)) and not any(map(text.__contains__, cased)):
            continue
        for match in expression.finditer(text):
            value = match.group("value")
            start, end = match.span("value")
            if rule == BIRTH_RULE:
                if _date(match):
                    yield _hit(start, end, "date_of_birth", rule, value, inert)
                continue
            compact = _compact(value)
            if rule == LICENCE_RULE and sum(c.isdigit() for c in compact) < 4:
                continue
            if rule == NHS_RULE and not _nhs_check(compact):
                continue
            kind = "bank_account" if rule == BANK_RULE else "id_number"
            yield _hit(start, end, kind, rule, compact, inert)


def _hit(start: int, end: int, kind: str, rule: str, value: str, inert: Sequence[Inert]) -> Hit:
    preview = mask(value, 0, 0) if kind == "date_of_birth" else mask(value, 0, 2)
    why = covering(inert, start, end)
    if why is None and value in EXAMPLE_ID_NUMBERS:
        why = "example"
    if why is None and rule == NHS_RULE and value.startswith("999"):
        why = "test-range"
    if why is None and rule == BANK_RULE and _placeholder_digits(value):
        why = "placeholder-digits"
    return judged(start, end, kind, rule, preview, why)


def _placeholder_digits(digits: str) -> bool:
    """One digit repeated, or each digit one more (or one less) than the one before, mod 10."""
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(digits)}
    return steps in ({0}, {1}, {9})


def _compact(value: str) -> str:
    return value.replace(" ", "").replace("-", "").upper()


def _nhs_check(digits: str) -> bool:
    """The NHS number's modulus 11 check: weights 10..2 over the first nine digits, the check
    digit 11 minus the remainder (11 reads 0; 10 is never issued)."""
    total = sum(int(d) * weight for d, weight in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    return check != 10 and (0 if check == 11 else check) == int(digits[9])


def _date(match: re.Match[str]) -> bool:
    """Whether the date matched is a day of the calendar (day-first or month-first, for
    numbers that could be either)."""
    found = {name: value for name, value in match.groupdict().items() if value}
    if "iso" in found:
        return _valid(int(found["iy"]), int(found["im"]), int(found["id"]))
    if "num" in found:
        a, b, year = int(found["na"]), int(found["nb"]), _year(found["ny"])
        return _valid(year, b, a) or _valid(year, a, b)
    if "dmy" in found:
        return _valid(int(found["dy"]), _month(found["dm"]), int(found["dd"]))
    return _valid(int(found["my"]), _month(found["mm"]), int(found["md"]))


def _month(name: str) -> int:
    return _MONTHS[name.rstrip(".").lower()]


def _year(text: str) -> int:
    return int(text) if len(text) == 4 else 1900 + int(text)


def _valid(year: int, month: int, day: int) -> bool:
    if not 1870 <= year <= 2100:
        return False
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True
