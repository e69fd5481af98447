"""E-mail addresses and phone numbers.

E-mail: a practical subset of RFC 5322 addr-spec (a dot-atom local part of letters, digits and
`_%+-`, a domain of at least two labels ending in an alphabetic TLD), as people write addresses
in prose; quoted local parts, the rarer atom characters (markup's backquotes before a decorator
would read as one) and address literals are left out. Addresses at reserved example domains pass.
Addresses written to dodge harvesters are addresses all the same (`email/obfuscated`): "at" and
"dot" in brackets ("jane.doe [at] mail [dot] com", "jane(at)mail.com", "jane@mail(dot)com"), or
both spelled out ("jane.doe at mail dot com", only before a common top-level domain: "look at
this dot product" is prose).

Phone numbers: Google's libphonenumber rules through `phonenumbers.PhoneNumberMatcher` at
leniency VALID (the number must be valid for its country's numbering plan), numbers without a
`+` read in the configured region. The matcher is pure Python and costs ~0.1 ms per string and
far more on numeric tables, so it reads only the stretches around runs of seven digits close
together (each widened to the surrounding whitespace, overlapping ones merged).

Matches that pass as look-alikes: the numbers reserved for fiction; a bare run of digits with
no separator and no `+` (2147483647 is a valid-looking US number and a 32-bit limit) unless a
phone word comes just before it; arithmetic and table cells (a sign, operator or decimal point
next to it, a lone parenthesis, a decimal fraction); and, without a `+`, fewer than eight
digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Final

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatch, PhoneNumberMatcher

from synthguard.guards.privacy.finding import Hit, judged, mask
from synthguard.guards.privacy.lookalikes import (
    FICTIONAL_UK_PREFIXES,
    FICTIONAL_US_LINES,
    Inert,
    covering,
    is_example_domain,
)

EMAIL_RULE: Final = "email"
PHONE_RULE: Final = "phone/libphonenumber"

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# A label of an internationalised domain, written in its letters (münchen-immobilien.de).
_IDN_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
# The at sign as written, full-width, as an HTML entity or percent-encoded (a mailto link).
_AT_SIGNS: Final = ("@", "\uff20", "&#64;", "%40")
_EMAIL = re.compile(
    r"(?<![\w.+%-])"
    # Letters of any script (maría@...), and an apostrophe inside (patrick.o'brien@...).
    r"(?P<local>[\w%+-]+(?:['.][\w%+-]+)*)"
    rf"(?:@|\uff20|&#64;|%40)(?P<domain>(?:{_IDN_LABEL}\.)+[A-Za-z]{{2,24}})"
    r"(?![\w-]|\.[A-Za-z0-9])"
)
_BRACKETED_AT = r"\s*[\[({<]\s*at\s*[\])}>]\s*"
_BRACKETED_DOT = r"\s*[\[({<]\s*dot\s*[\])}>]\s*"
_OBFUSCATED_EMAIL = re.compile(
    r"(?<![\w.+%-])"
    r"(?P<local>[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*)"
    # Brackets around "at", or around a "dot" of the domain, or both words spelled out.
    # Marked as an obfuscation: in brackets, between dashes ("-at-"), or with blanks around it.
    rf"(?:(?P<at>{_BRACKETED_AT}|\s*-at-\s*|\s+@\s+|@)"
    rf"(?P<domain>(?:{_LABEL}(?:{_BRACKETED_DOT}|\s*-dot-\s*|\s+dot\s+|\.))+[A-Za-z]{{2,24}})"
    rf"|(?P<spoken_at>\s+at\s+)(?P<spoken>(?:{_LABEL}\s+dot\s+)+(?P<tld>[A-Za-z]{{2,6}})))"
    r"(?![\w-]|\.[A-Za-z0-9])",
    re.IGNORECASE,
)
_DOT = re.compile(rf"{_BRACKETED_DOT}|\s*-dot-\s*|\s+dot\s+|\.", re.IGNORECASE)
_SPOKEN_DOT = re.compile(r"\s+dot\s+", re.IGNORECASE)
# What an obfuscated address cannot lack, looked for before the longer expression runs.
# Brackets around "at" or "dot". Without IGNORECASE, the engine skips to the brackets.
_BRACKETED_MARK: Final = re.compile(r"[\[({<] *(?:[aA][tT]|[dD][oO][tT]) *[\])}>]")
_SPOKEN_TLDS: Final = frozenset(
    re.findall(
        r"\w+",
        """com org net edu gov mil int io co uk us ca au de fr es it nl be ch at se no dk fi pl
        ru cn jp kr in br mx ar info biz me ai dev app""",
    )
)
# Seven digits with at most two separator characters between neighbours: every valid number
# in every plan has seven or more digits with its area or trunk code.
_PHONE_SHAPED = re.compile(r"\d(?:[\s().\-/]{0,2}\d){6,}")
_MARGIN = 8
_DECIMAL = re.compile(r"\d+[.,]\d+")
_DECIMAL_AFTER = re.compile(r"[.,]\d")
# A word that asks for a number to dial, right before a bare run of digits or a few small words
# before it ("call me at", "reach her on", "her number is").
_SMALL_WORDS = r"me|him|her|us|them|at|on|via|is|was|back|now|anytime|moi|au|al|am|unter|sur|en"
_PHONE_WORDS = re.compile(
    r"(?:\b(?:phone|tel|telephone|call|mobile|cell|fax|whatsapp|sms|text|dial|ring|contact|"
    rf"reach|number)(?:\W{{1,4}}(?:{_SMALL_WORDS})){{0,3}}|no|nr)\W{{0,4}}$",
    re.IGNORECASE,
)
_PHONE_WORDS_BEFORE = 40
"""How far before a bare run of digits `_PHONE_WORDS` is looked for."""
# Right before a number, what makes it a part's, an order's or a ticket's ("part no.
# 351-565-5109"), unless a word that asks to dial comes before too.
_PART_WORDS = re.compile(
    r"\b(?:part|item|model|serial|order|invoice|sku|catalog(?:ue)?|product|article|ref|"
    r"reference|ticket|tracking|batch|lot)\s*(?:no\.?|nr\.?|number|num\.?|#|n°|id)?\s*[:#]?\s*$",
    re.IGNORECASE,
)
_DIAL_NEARBY = re.compile(
    r"\b(?:phone|tel|telephone|call|mobile|cell|fax|whatsapp|sms|dial|ring)\b", re.IGNORECASE
)
# For a number of another region's plan, only a word that asks to dial ("order no. 0123 4567
# 890" is an order's number), right before it or a few small words before it.
_DIAL_WORD = (
    r"\b(?:phone|tel|telephone|call|mobile|cell|fax|whatsapp|sms|dial|ring|reach|mob|hotline"
    # German, French, Spanish, Portuguese, Italian, Dutch; Japanese and Chinese 電話 (telephone).
    r"|telefon|handy|mobil|anrufen|rufen|téléphone|tél|portable|appelez|appeler|appelle"
    r"|teléfono|telefono|móvil|celular|llame|llamar|telefone|ligue|ligar|chiama|chiamare|bel|電話"
    r"|contact|kontakt|(?:my|her|his|their|our|your) (?:phone |mobile |cell )?number)"
)
_DIAL_WORDS = re.compile(
    rf"{_DIAL_WORD}(?:\W{{1,4}}(?:{_SMALL_WORDS}|no|nr|number)){{0,3}}\W{{0,4}}$", re.IGNORECASE
)
_ANY_DIAL_WORD = re.compile(_DIAL_WORD + r"\b", re.IGNORECASE)
"""A dialling word anywhere: whether a stretch is worth reading in other regions at all."""
OTHER_REGIONS: Final = (
    *("GB", "DE", "FR", "IT", "ES", "NL", "IE", "AU"),
    *("NZ", "IN", "ZA", "JP", "BR", "MX", "CN"),
)
"""Where a number after a dialling word (`_dialled_runs`) is also read, in this order, when the
configured region reads none (libphonenumber's region codes)."""
OTHER_REGION_RULE: Final = "phone/libphonenumber+other-region"
OTHER_REGION_NUMBERS: Final = 16
"""At most this many numbers of a string are read in other regions: each costs a matcher pass
per region, and a row of 80 KB of "tel 0999 9999" would take seconds."""


def find_emails(text: str, inert: Sequence[Inert]) -> Iterator[Hit]:
    """Every e-mail address in `text`, obfuscated ones too; those at reserved example domains
    as look-alikes."""
    if any(sign in text for sign in _AT_SIGNS):
        for match in _EMAIL.finditer(text):
            yield _email(match.start(), match.end(), match.group("local"), match.group("domain"))
    if may_hide_email(text):
        yield from _obfuscated_emails(text)


def may_hide_email(text: str) -> bool:
    """Whether `text` holds what an obfuscated address cannot lack ("[at]", "(dot)", " dot ",
    "-at-", " @ "): each way `_OBFUSCATED_EMAIL` marks an obfuscation, in any case and with
    any blank around it ("mail\tDoT com")."""
    lowered = text.lower()
    return (
        ("dot" in lowered and ("-dot-" in lowered or _BLANK_DOT.search(lowered) is not None))
        or "-at-" in lowered
        or ("@" in text and _BLANK_AT.search(text) is not None)
        or _BRACKETED_MARK.search(text) is not None
    )


# A spelled-out "dot" or an at sign with blanks around it (`_OBFUSCATED_EMAIL`'s `\s+dot\s+`,
# `\s+@\s+`), looked for only where the text holds the word or the sign.
_BLANK_DOT: Final = re.compile(r"\sdot\s")
_BLANK_AT: Final = re.compile(r"\s@\s")


def may_hold_email(text: str) -> bool:
    """Whether `text` may hold an address, plain or obfuscated (`find_emails`' condition)."""
    return any(map(text.__contains__, _AT_SIGNS)) or may_hide_email(text)


def _obfuscated_emails(text: str) -> Iterator[Hit]:
    for match in _OBFUSCATED_EMAIL.finditer(text):
        spoken = match.group("spoken")
        if spoken is not None:
            if match.group("tld").casefold() not in _SPOKEN_TLDS:
                continue
            if match.group("local").casefold() in _PROSE_WORDS:
                continue  # "stared at the dot com bubble", "meet me at shop dot com"
            if spoken.split(None, 1)[0].casefold() in _PROSE_WORDS:
                continue
            labels = _SPOKEN_DOT.split(spoken)
        else:
            labels = _DOT.split(match.group("domain"))
            if match.group("at") == "@" and len(labels) == match.group("domain").count(".") + 1:
                continue  # no bracket anywhere: a plain address, which `_EMAIL` reads
            if not _BRACKETED_MARK.search(match.group()) and (
                labels[-1].casefold() not in _SPOKEN_TLDS
                or match.group("local").casefold() in _PROSE_WORDS
            ):
                continue  # "a @ np.linalg" multiplies matrices: blanks and dashes need a common TLD
        domain = ".".join(labels)
        yield _email(match.start(), match.end(), match.group("local"), domain, "email/obfuscated")


def _email(start: int, end: int, local: str, domain: str, rule: str = EMAIL_RULE) -> Hit:
    tld = domain.rsplit(".", 1)[-1]
    preview = f"{local[:1]}***@{domain[:1]}***.{tld}"
    why = _example_domain(domain)
    if why is None and local.casefold() in SERVICE_MAILBOXES:
        why = "service-account"
    return judged(start, end, "email", rule, preview, why)


SERVICE_MAILBOXES: Final = frozenset({"git", "hg", "svn"})
"""Local parts that name a hosting service's account, not a person: `git@github.com:org/repo`
(an SSH remote) is how every clone instruction starts."""
# Words that speak, not spell an address: "stared at the dot com bubble" has no mailbox "stared"
# at a domain "the.com", nor has "meet me at ...".
_PROSE_WORDS: Final = frozenset(
    re.findall(
        r"\w+",
        """a an the this that these those it its me you him her us them my your his our their
        look looked looking stare stared staring arrive arrived arriving meet met stay stayed
        work worked working live lived living be been is are was were""",
    )
)


def find_phones(text: str, inert: Sequence[Inert], region: str) -> Iterator[Hit]:
    """Every phone number valid in its plan in `text`; fictional and bare-digit ones as
    look-alikes. A stretch with none for `region` is read in `OTHER_REGIONS` too, number by
    number, where a dialling word stands before a number with a trunk 0 (`_other_regions`)."""
    foreign = 0
    for low, high in _windows(text):
        found = False
        for match in PhoneNumberMatcher(text[low:high], region, leniency=Leniency.VALID):
            found = True
            yield _judged(text, low + match.start, low + match.end, match, inert)
        if found or not _ANY_DIAL_WORD.search(text, max(0, low - _PHONE_WORDS_BEFORE), high):
            continue
        for run_low, run_high in _dialled_runs(text, low, high):
            if foreign == OTHER_REGION_NUMBERS:
                return
            foreign += 1
            yield from _other_regions(text, run_low, run_high, region, inert)


def _dialled_runs(text: str, low: int, high: int) -> Iterator[tuple[int, int]]:
    """The phone-shaped runs of [low, high) right after a dialling word or a few small words
    after one that open with a trunk 0 or an international 00 (after a bracket, perhaps), or
    that hold `NATIONAL_DIGITS` digits or more: many plans write mobiles without a trunk
    ("Phone: 98765 43210" in India, "(11) 91234-5678" in Brazil)."""
    for shaped in _PHONE_SHAPED.finditer(text, low, high):
        start = shaped.start()
        run = shaped.group()
        if _DATE_OR_AMOUNT.search(run):
            continue  # "contact us on 02 03 2024", "reach 1 000 000 000 users"
        if text[start] != "0" and (
            len(_digits(run)) < NATIONAL_DIGITS or run.isdigit() or len(set(_digits(run))) < 4
        ):
            continue  # a trunk-less number is written in groups, of digits not all alike
        if start and text[start - 1] == "(":
            start -= 1
        if _DIAL_WORDS.search(text, max(0, start - _PHONE_WORDS_BEFORE), start):
            yield start, shaped.end()


# A date inside a run (2024-03-15, 02 03 2024, 15.03.2024), or digits grouped in threes as
# amounts are (1 000 000, 1.000.000, 1,000,000).
_DATE_OR_AMOUNT: Final = re.compile(
    r"(?:19|20)\d\d[-./ ](?:0?[1-9]|1[0-2])[-./ ]\d\d?"
    r"|\b\d\d?[-./ ]\d\d?[-./ ](?:19|20)\d\d\b"
    r"|^\d{1,3}(?:([ .,\u00a0\u202f])\d{3})(?:\1\d{3})+$"
)
NATIONAL_DIGITS: Final = 10
"""The digits a number without a trunk 0 needs, after a dialling word, to be read in other
regions: fewer are more often a count or a code."""


def _other_regions(
    text: str, low: int, high: int, region: str, inert: Sequence[Inert]
) -> Iterator[Hit]:
    """The number of [low, high) as another region writes it at home ("call 020 7123 4567",
    "Tel: 030 901820", "Telefon: 0049 151 23456789"), in the first of `OTHER_REGIONS` whose
    plan holds it."""
    for other in OTHER_REGIONS:
        if other == region:
            continue
        # The number starts where the run does (its bracket aside): a tail of it read as a
        # shorter number of another plan is not what was dialled.
        hits = [
            _judged(text, low + m.start, low + m.end, m, inert, OTHER_REGION_RULE)
            for m in PhoneNumberMatcher(text[low:high], other, leniency=Leniency.VALID)
            if m.start <= 1
        ]
        if hits:
            yield from hits
            return


def _windows(text: str) -> list[tuple[int, int]]:
    """Stretches of `text` around its phone-shaped digit runs, each widened to whitespace,
    overlapping ones merged: the matcher reads these instead of the whole string."""
    windows: list[tuple[int, int]] = []
    for shaped in _PHONE_SHAPED.finditer(text):
        low = max(0, shaped.start() - _MARGIN)
        high = min(len(text), shaped.end() + _MARGIN)
        while low > 0 and not text[low - 1].isspace() and shaped.start() - low < 4 * _MARGIN:
            low -= 1
        while high < len(text) and not text[high].isspace() and high - shaped.end() < 4 * _MARGIN:
            high += 1
        if windows and low <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(high, windows[-1][1]))
        else:
            windows.append((low, high))
    return windows


def _judged(
    text: str,
    start: int,
    end: int,
    match: PhoneNumberMatch,
    inert: Sequence[Inert],
    rule: str = PHONE_RULE,
) -> Hit:
    """A matched number as a finding, or as a look-alike with the reason it passes."""
    number = match.number
    national = str(number.national_number)
    preview = f"+{number.country_code} {mask(national, 0, 3)}"
    raw = match.raw_string
    why = covering(inert, start, end) or _numeric(text, start, end, raw)
    if why is None and _fictional(number.country_code or 0, national):
        why = "fictional"
    if why is None and rule == OTHER_REGION_RULE and _fictional(44, _digits(raw)[1:]):
        why = "fictional"  # Ofcom's drama ranges as the UK writes them, whichever plan holds them
    if (
        why is None
        and raw.isdigit()
        and not _PHONE_WORDS.search(text, max(0, start - _PHONE_WORDS_BEFORE), start)
    ):
        why = "bare-digits"
    if (
        why is None
        and _PART_WORDS.search(text, max(0, start - _PHONE_WORDS_BEFORE), start)
        and not _DIAL_NEARBY.search(text, max(0, start - _PHONE_WORDS_BEFORE), start)
    ):
        why = "part-number"
    return judged(start, end, "phone", rule, preview, why)


def _numeric(text: str, start: int, end: int, raw: str) -> str | None:
    """Why a match reads as arithmetic or a table cell rather than a number to dial, if it
    does: a sign or decimal point around it, a lone parenthesis, a decimal fraction, or,
    without a `+`, fewer than eight digits."""
    before = text[start - 1] if start else " "
    after = text[end : end + 2]
    if (
        raw[0] in "-."
        or before in "-.+/*=<>^%"
        or (after[:1] or " ") in "/*%^"
        or _DECIMAL_AFTER.match(after)
    ):
        return "numeric"
    if raw.count("(") != raw.count(")") or _DECIMAL.fullmatch(raw):
        return "numeric"
    if not raw.startswith("+") and sum(char.isdigit() for char in raw) < 8:
        return "too-short"
    return None


def _example_domain(domain: str) -> str | None:
    return "example-domain" if is_example_domain(domain) else None


def _digits(raw: str) -> str:
    return "".join(char for char in raw if char.isdigit())


def _fictional(country_code: int, national: str) -> bool:
    if country_code == 1:
        return len(national) == 10 and int(national[3:]) in FICTIONAL_US_LINES
    if country_code == 44:
        return national.startswith(FICTIONAL_UK_PREFIXES)
    return False


def phone_regions() -> frozenset[str]:
    """The region codes `region=` accepts (ISO 3166-1 alpha-2, as libphonenumber knows them)."""
    return frozenset(phonenumbers.SUPPORTED_REGIONS)
