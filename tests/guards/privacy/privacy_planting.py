"""Private values of every kind, generated fresh and valid, planted in real text with their span.

Each generator makes a value its kind's checks accept and no look-alike list names: e-mail
addresses at real mail providers, phone numbers libphonenumber calls valid (US, UK, German and
French ones, in the formats people write), global IPv4 and IPv6 addresses, IBANs with correct
mod-97 check digits for eight countries, card numbers of five schemes with their Luhn digit,
bank account numbers of 8 to 12 digits, Bitcoin addresses with their Base58Check checksum and
Ethereum addresses,
SSNs in issued ranges, and secrets: AWS, GitHub, Stripe and Slack tokens, a JWT, a PEM private
key block, a password assignment, credential URLs (one with a sub-delimiter in its password)
and a password given in a sentence.

`plant` puts a value into a carrier sentence ("Write to ... for details.") at a paragraph break
of a real docstring (`poisoning.docstrings()`, the guards' real-text corpus), and returns the
text with the value's exact span. The benchmark reaches this module the way it reaches
`poisoning`.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import random
import re
import string
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import phonenumbers

# The corpus loader lives one folder up, beside the other guards' tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import poisoning

from synthguard.guards.privacy import KINDS, find_private
from synthguard.provenance.sample import sample_from_row

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Planted:
    """A text holding one private value at [start, end)."""

    text: str
    start: int
    end: int
    kind: str
    value: str


def email(rng: random.Random) -> str:
    first = rng.choice(["maria", "jon", "wei", "aisha", "lukas", "sofia", "omar", "yuki"])
    last = rng.choice(["garcia", "smith", "zhang", "okafor", "muller", "rossi", "haddad"])
    sep = rng.choice([".", "_", ""])
    domain = rng.choice(["gmail.com", "outlook.com", "proton.me", "yahoo.co.uk", "gmx.de"])
    return f"{first}{sep}{last}{rng.randrange(10, 99)}@{domain}"


def phone(rng: random.Random) -> str:
    while True:
        style = rng.randrange(6)
        if style < 3:
            area = rng.choice(["212", "312", "415", "617", "202", "303", "512", "206", "713"])
            exchange = f"{rng.randrange(2, 10)}{rng.randrange(0, 10)}{rng.randrange(0, 10)}"
            if exchange == "555" or exchange[1:] == "11":
                continue
            line = f"{rng.randrange(10000):04d}"
            text = [
                f"({area}) {exchange}-{line}",
                f"{area}-{exchange}-{line}",
                f"+1 {area} {exchange} {line}",
            ][style]
        elif style == 3:
            text = f"+44 20 {rng.choice('378')}{rng.randrange(100, 999)} {rng.randrange(10000):04d}"
        elif style == 4:
            text = f"+49 30 {rng.randrange(1000000, 99999999)}"
        else:
            pairs = " ".join(f"{rng.randrange(100):02d}" for _ in range(4))
            text = f"+33 {rng.randrange(1, 6)} {pairs}"
        number = phonenumbers.parse(text, "US")
        if phonenumbers.is_valid_number(number) and "555" not in text:
            return text


def ip_address(rng: random.Random) -> str:
    while True:
        if rng.random() < 0.7:
            address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(
                rng.getrandbits(32)
            )
        else:
            address = ipaddress.IPv6Address((0x2A00 << 112) | rng.getrandbits(100) << 12)
        if address.is_global and not address.is_reserved and not address.is_multicast:
            text = str(address)
            if text not in {"8.8.8.8", "1.1.1.1", "9.9.9.9"}:
                return text


# (country, BBAN generator) for eight countries of the IBAN registry.
_BBANS: dict[str, Callable[[random.Random], str]] = {
    "DE": lambda rng: _digits(rng, 18),
    "GB": lambda rng: _letters(rng, 4) + _digits(rng, 14),
    "FR": lambda rng: _digits(rng, 23),
    "NL": lambda rng: _letters(rng, 4) + _digits(rng, 10),
    "ES": lambda rng: _digits(rng, 20),
    "IT": lambda rng: _letters(rng, 1) + _digits(rng, 22),
    "CH": lambda rng: _digits(rng, 17),
    "BE": lambda rng: _digits(rng, 12),
}


def iban(rng: random.Random) -> str:
    country = rng.choice(sorted(_BBANS))
    bban = _BBANS[country](rng)
    numeric = "".join(str(int(char, 36)) for char in bban + country + "00")
    compact = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    if rng.random() < 0.5:
        return compact
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


# (IIN prefix, length, grouping) for Visa, Mastercard (both series), Amex, Discover and JCB.
_CARDS = (
    ("4", 16, (4, 4, 4, 4)),
    ("51", 16, (4, 4, 4, 4)),
    ("2221", 16, (4, 4, 4, 4)),
    ("37", 15, (4, 6, 5)),
    ("6011", 16, (4, 4, 4, 4)),
    ("3530", 16, (4, 4, 4, 4)),
)


def payment_card(rng: random.Random) -> str:
    prefix, length, groups = rng.choice(_CARDS)
    body = prefix + _digits(rng, length - len(prefix) - 1)
    digits = body + _luhn_digit(body)
    separator = rng.choice([" ", "-", ""])
    parts, at = [], 0
    for size in groups:
        parts.append(digits[at : at + size])
        at += size
    return separator.join(parts)


def bank_account(rng: random.Random) -> str:
    """An account number of 8, 10 or 12 random digits (a run of one repeated or consecutive
    digits, which reads as a placeholder, comes up about once in 10 million), plain or in
    groups of four."""
    digits = _digits(rng, rng.choice((8, 10, 12)))
    if rng.random() < 0.3:
        return "-".join(digits[i : i + 4] for i in range(0, len(digits), 4))
    return digits


def crypto_wallet(rng: random.Random) -> str:
    """A Bitcoin address (pay-to-public-key-hash or pay-to-script-hash, Base58Check over a random
    hash) or an Ethereum address (random, EIP-55 mixed case left out: all lower case)."""
    if rng.random() < 0.3:
        return "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(40))
    body = rng.choice((b"\x00", b"\x05")) + rng.randbytes(20)
    raw = body + hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4]
    number, out = int.from_bytes(raw, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        out = _BASE58[digit] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def ssn(rng: random.Random) -> str:
    while True:
        area = rng.randrange(1, 900)
        if area != 666:
            break
    return f"{area:03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"


_NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"


def id_number(rng: random.Random) -> str:
    """A National Insurance, NHS, passport, ITIN, driving licence or medical record number, in
    a shape `id_carrier` tells apart."""
    style = rng.randrange(6)
    if style == 0:
        while (prefix := rng.choice(_NINO_FIRST) + rng.choice(_NINO_SECOND)) in {
            "BG",
            "GB",
            "KN",
            "NK",
            "NT",
            "TN",
            "ZZ",
        }:
            pass
        pairs = [_digits(rng, 2) for _ in range(3)]
        suffix = rng.choice("ABCD")
        return (
            " ".join([prefix, *pairs, suffix])
            if rng.random() < 0.5
            else prefix + "".join(pairs) + suffix
        )
    if style == 1:
        while True:
            body = str(rng.randrange(1, 9)) + _digits(rng, 8)
            check = 11 - sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True)) % 11
            if check != 10:
                digits = body + str(0 if check == 11 else check)
                break
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if rng.random() < 0.5 else digits
    if style == 2:
        return rng.choice(string.ascii_uppercase) + _digits(rng, 8)
    if style == 3:
        group = rng.choice([*range(50, 66), *range(70, 89), 90, 91, 92, *range(94, 100)])
        return f"9{_digits(rng, 2)}-{group:02d}-{rng.randrange(1, 10000):04d}"
    if style == 4:
        return rng.choice(string.ascii_uppercase) + _digits(rng, 7)
    return _digits(rng, 8)


_ID_CARRIERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"[A-Z]{2} ?\d\d ?\d\d ?\d\d ?[A-D]", ("Her National Insurance number is {v}.", "NI: {v}")),
    (r"\d{3} ?\d{3} ?\d{4}", ("His NHS number is {v}, per the referral.", "NHS No. {v}")),
    (r"[A-Z]\d{8}", ("Passport No.: {v}, issued 2019.", "Her passport number is {v}.")),
    (r"9\d\d-\d\d-\d{4}", ("The ITIN on the return is {v}.", "ITIN: {v}")),
    (r"[A-Z]\d{7}", ("Driver's license number {v} expires soon.", "DL: {v}")),
    (r"\d{8}", ("MRN: {v}", "Patient ID {v} was admitted on Monday.")),
)


def id_carrier(value: str) -> tuple[str, ...]:
    """The carrier sentences for an identity number of `id_number`'s shape."""
    return next(found for shape, found in _ID_CARRIERS if re.fullmatch(shape, value))


def date_of_birth(rng: random.Random) -> str:
    day = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(65 * 365))
    return rng.choice(
        [
            day.isoformat(),
            f"{day.month:02d}/{day.day:02d}/{day.year}",
            f"{day.day} {day:%B} {day.year}",
            f"{day:%B} {day.day}, {day.year}",
        ]
    )


_STREETS = ("Maple", "Oak Hill", "Cedar", "Washington", "Lincoln", "Elm", "Park", "Sunset")
_TYPES = ("Street", "St.", "Avenue", "Ave", "Road", "Rd", "Boulevard", "Lane", "Dr")
_CITIES = (("Springfield", "IL"), ("Austin", "TX"), ("Denver", "CO"), ("Portland", "OR"))


_ENVELOPE_TYPES = ("Mission", "Crossroad", "Fords", "Meadows", "Court", "Place", "Way")


def street_address(rng: random.Random) -> str:
    """A US street address: number, street and type, sometimes a unit, city, state and ZIP;
    or as an envelope writes it, the city on the next line."""
    number = rng.randrange(1, 20000)
    if rng.random() < 0.3:
        city, state = rng.choice(_CITIES)
        unit = rng.choice(["Suite", "Apt.", "Unit"])
        return (
            f"{number} {rng.choice(_STREETS)} {rng.choice(_ENVELOPE_TYPES)} {unit} "
            f"{rng.randrange(1, 999)}\n{city}, {state} {rng.randrange(10000, 99999)}"
        )
    street = f"{number} {rng.choice(_STREETS)} {rng.choice(_TYPES)}"
    if rng.random() < 0.3:
        street += f", Apt {rng.randrange(1, 40)}{rng.choice('ABC')}"
    if rng.random() < 0.6:
        city, state = rng.choice(_CITIES)
        street += f", {city}, {state} {rng.randrange(10000, 99999)}"
    return street


def secret(rng: random.Random) -> str:
    """A secret as it appears in text: a bare token, an assignment, a URL, a PEM block or a
    password given in words."""
    style = rng.randrange(10)
    if style == 0:
        return "AKIA" + "".join(
            rng.choice(string.ascii_uppercase + string.digits) for _ in range(16)
        )
    if style == 1:
        return "ghp_" + _alnum(rng, 36)
    if style == 2:
        return "sk_live_" + _alnum(rng, 24)
    if style == 3:
        return f"xoxb-{_digits(rng, 12)}-{_digits(rng, 13)}-{_alnum(rng, 24).lower()}"
    if style == 4:
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {"sub": _digits(rng, 8), "name": "Ada", "iat": rng.randrange(1_600_000_000)}
        signature = _b64url(rng.randbytes(32))
        return f"{header}.{_b64url(json.dumps(claims).encode())}.{signature}"
    if style == 5:
        body = base64.b64encode(rng.randbytes(96)).decode()
        lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        return f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END RSA PRIVATE KEY-----"
    if style == 6:
        return _alnum(rng, 14)  # planted as `password = "..."`
    if style == 7:
        return _alnum(rng, 16)  # planted as the password of a credential URL
    if style == 8:
        # A chosen password, given in a sentence.
        return _alnum(rng, 8) + rng.choice(PROSE_PASSWORD_SYMBOLS) + _digits(rng, 2)
    # A URL's password holding a sub-delimiter, which detect-secrets' expression refuses.
    return _alnum(rng, 9) + rng.choice(URL_SUB_DELIMITERS) + _alnum(rng, 3)


PROSE_PASSWORD_SYMBOLS = "#$%&*@?+"
URL_SUB_DELIMITERS = "!$&*+;="
PROSE_PASSWORDS = (
    "My password is {v} if you need to log in.",
    "password: {v}",
    "Log in as ann with password {v} and change it.",
)


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "email": email,
    "phone": phone,
    "ip_address": ip_address,
    "iban": iban,
    "payment_card": payment_card,
    "bank_account": bank_account,
    "ssn": ssn,
    "id_number": id_number,
    "date_of_birth": date_of_birth,
    "street_address": street_address,
    "crypto_wallet": crypto_wallet,
    "secret": secret,
}
assert tuple(GENERATORS) == KINDS

CARRIERS: dict[str, tuple[str, ...]] = {
    "email": ("For questions, write to {v} directly.", "Maintainer: {v}"),
    "phone": ("Call the support line at {v} for help.", "Phone: {v}"),
    "ip_address": ("The request came from {v} during the test.", "Allowed host: {v}"),
    "iban": ("Payments go to IBAN {v} each month.", "Account: {v}"),
    "payment_card": ("It was charged to card {v} yesterday.", "Card number: {v}"),
    "bank_account": (
        "Please wire the deposit to account number {v} by Friday.",
        "Bank account: {v}",
        "Routing 021000021, account {v}.",
    ),
    "ssn": ("Her SSN is {v}, as the form shows.", "SSN: {v}"),
    "date_of_birth": ("Date of birth: {v}", "The patient's DOB is {v}."),
    "street_address": ("Ship the order to {v} by Friday.", "Home address: {v}"),
    "crypto_wallet": (
        "Send the payment to my wallet {v} before Friday.",
        "Donations: {v}",
        "Deposit address: {v}",
    ),
    "secret": ("Use the key {v} to authenticate.", "token = '{v}'"),
}


def carrier(kind: str, value: str, rng: random.Random) -> tuple[str, int]:
    """A sentence holding `value`, and where in it the value starts."""
    if kind == "secret" and value.isalnum() and len(value) == 14:
        sentence = f'db_password = "{value}"'
    elif kind == "secret" and value.isalnum() and len(value) == 16:
        sentence = f"DATABASE_URL=postgres://admin:{value}@db.internal:5432/prod"
    elif kind == "secret" and len(value) == 11 and value[8] in PROSE_PASSWORD_SYMBOLS:
        sentence = rng.choice(PROSE_PASSWORDS).format(v=value)
    elif kind == "secret" and len(value) == 13 and value[9] in URL_SUB_DELIMITERS:
        sentence = f"Connect with mysql://app:{value}@db.internal/prod for the nightly job."
    elif kind == "secret" and value.startswith("-----BEGIN"):
        sentence = f"The deploy key:\n{value}\nKeep it safe."
    elif kind == "id_number":
        sentence = rng.choice(id_carrier(value)).format(v=value)
    else:
        sentence = rng.choice(CARRIERS[kind]).format(v=value)
    return sentence, sentence.index(value)


def plant(text: str, kind: str, rng: random.Random) -> Planted:
    """`text` with a fresh value of `kind` in a carrier sentence at one of its paragraph
    breaks (or at its end)."""
    value = GENERATORS[kind](rng)
    sentence, offset = carrier(kind, value, rng)
    breaks = [i for i in range(len(text)) if text.startswith("\n\n", i)] + [len(text)]
    at = rng.choice(breaks)
    head = text[:at] + "\n\n"
    planted = head + sentence + "\n\n" + text[at:].lstrip("\n")
    start = len(head) + offset
    return Planted(planted, start, start + len(value), kind, value)


def docstrings(count: int, seed: int = 0) -> list[str]:
    """`count` real docstrings (the guards' corpus) with nothing private in them, drawn with
    the seed: a value planted in one is then its only finding. (Which docstrings the corpus
    holds depends a little on what the process imported before: a few libraries document
    their members at import time.)"""
    docs = sorted(doc.text for doc in poisoning.docstrings())
    rng = random.Random(seed)
    rng.shuffle(docs)
    clean = (doc for doc in docs if not find_private(sample_from_row({"text": doc})))
    return [doc for doc, _ in zip(clean, range(count), strict=False)]


def corpus_rows(size: int | None = None, seed: int = 0) -> list[dict[str, str]]:
    """The guards' clean real-text corpus as Alpaca rows."""
    return poisoning.corpus(size, seed).rows


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def _letters(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(count))


def _alnum(rng: random.Random, count: int) -> str:
    while True:
        value = "".join(rng.choice(ALNUM) for _ in range(count))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _luhn_digit(body: str) -> str:
    total = 0
    for i, char in enumerate(reversed(body)):
        value = int(char)
        if i % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return str(-total % 10)


def full_width(value: str) -> str:
    """Every printable ASCII character as its full-width form (`＠`, `５`)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value)


def zero_width_spaced(value: str) -> str:
    return "\u200b".join(value)


def soft_hyphenated(value: str) -> str:
    return "\u00ad".join(value)


def arabic_indic_digits(value: str) -> str:
    return "".join(chr(0x0660 + int(c)) if c.isdigit() else c for c in value)


def devanagari_digits(value: str) -> str:
    return "".join(chr(0x0966 + int(c)) if c.isdigit() else c for c in value)


DISGUISES: dict[str, Callable[[str], str]] = {
    "full-width": full_width,
    "zero-width spaces": zero_width_spaced,
    "soft hyphens": soft_hyphenated,
    "Arabic-Indic digits": arabic_indic_digits,
    "Devanagari digits": devanagari_digits,
}
"""Ways to write a value so that it shows the same (or nearly) and reads differently."""


def disguise(planted: Planted, how: str) -> Planted | None:
    """The planted text with its value disguised `how`, or None when that changes nothing (a
    value without digits, under a disguise of digits)."""
    value = planted.text[planted.start : planted.end]
    hidden = DISGUISES[how](value)
    if hidden == value:
        return None
    text = planted.text[: planted.start] + hidden + planted.text[planted.end :]
    return Planted(text, planted.start, planted.start + len(hidden), planted.kind, hidden)
