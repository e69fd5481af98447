"""Values that look private and are not: documented examples, test numbers, identifiers.

Each constant says why its members pass. A detector that finds a candidate asks here first; a
look-alike is reported as such (its rule names the constant's reason), never as a finding.

`inert_spans` finds the identifiers that contain digit or hex runs a detector could mistake for a
phone number, a card or a key: UUIDs, ISBNs and hex digests; `follows_version_word` tells a
version string from an address. `as_config` lists every constant, for the guard's config digest.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import Final, NamedTuple

# RFC 2606 and RFC 6761 reserve these for documentation and testing: no mailbox exists there.
EXAMPLE_DOMAINS: Final = frozenset({"example.com", "example.org", "example.net"})
EXAMPLE_TLDS: Final = frozenset({"example", "test", "invalid", "localhost"})

# Card numbers the networks and payment processors publish for testing (Stripe, Adyen, Braintree,
# PayPal sandbox documentation): they pass Luhn and hold no account.
TEST_CARDS: Final = frozenset(
    {
        "4242424242424242",  # Stripe Visa
        "4000056655665556",  # Stripe Visa debit
        "4000002500003155",  # Stripe 3-D Secure
        "4000000000000002",  # Stripe declined
        "4000000000009995",  # Stripe insufficient funds
        "4000000000000077",  # Stripe charge succeeds, balance available
        "4111111111111111",  # Visa test number (PayPal, Braintree, Adyen)
        "4012888888881881",  # Visa test number
        "4222222222222",  # Visa 13-digit test number
        "5555555555554444",  # Stripe Mastercard
        "5200828282828210",  # Stripe Mastercard debit
        "5105105105105100",  # Mastercard prepaid test number
        "2223003122003222",  # Stripe Mastercard 2-series
        "378282246310005",  # American Express test number
        "371449635398431",  # American Express test number
        "378734493671000",  # American Express Corporate test number
        "6011111111111117",  # Discover test number
        "6011000990139424",  # Discover test number
        "3056930009020004",  # Diners Club test number
        "30569309025904",  # Diners Club 14-digit test number
        "38520000023237",  # Diners Club test number
        "36227206271667",  # Diners Club International test number
        "3566002020360505",  # JCB test number
        "3530111333300000",  # JCB test number
        "6200000000000005",  # UnionPay test number
    }
)

# The IBANs of the ECBS and Wikipedia examples, quoted in bank and library documentation.
EXAMPLE_IBANS: Final = frozenset(
    {
        "GB82WEST12345698765432",
        "GB29NWBK60161331926819",
        "DE89370400440532013000",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "BE68539007547034",
        "CH9300762011623852957",
    }
)

# Printed on sample cards and in advertising: 078-05-1120 (Woolworth's wallet insert, 1938),
# 219-09-9999 (a Social Security Board pamphlet, 1940); 123-45-6789 was never issued.
EXAMPLE_SSNS: Final = frozenset({"078051120", "219099999", "123456789"})

# Identity numbers printed as examples: the National Insurance number on forms and guidance
# that fill one in, and the NHS number of NHS Digital's documentation (it passes the check).
EXAMPLE_ID_NUMBERS: Final = frozenset({"AB123456C", "9434765919"})

# Addresses of public offices and landmarks, and of fiction, quoted in examples and trivia: no
# private household lives there. House number, street and type as `address` compares them.
PUBLIC_ADDRESSES: Final = frozenset(
    {
        "1600 pennsylvania avenue",  # the White House
        "1600 pennsylvania ave",
        "10 downing street",  # the UK Prime Minister's office
        "11 downing street",
        "221b baker street",  # Sherlock Holmes
        "742 evergreen terrace",  # The Simpsons
        "1600 amphitheatre parkway",  # Google
        "1 microsoft way",
        "350 fifth avenue",  # the Empire State Building
        "4 privet drive",  # Harry Potter
        "12 grimmauld place",
        "124 conch street",  # SpongeBob
    }
)

# Keys that vendors publish in their documentation as examples.
EXAMPLE_SECRETS: Final = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",  # AWS access key id in the AWS documentation
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",  # AWS secret access key, same
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",  # GitHub docs personal access token
        # jwt.io's example token signature (HS256, secret "your-256-bit-secret").
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    }
)
# A value containing one of these (in lower case, capitals or capitalised) is an illustration,
# not a credential: vendors mark examples with EXAMPLE, and templates leave a hole to fill.
# Mixed case is no marker: a random key body holds "XxxX" or "yOUr" now and then.
PLACEHOLDER_WORDS: Final = (
    "example",
    "your",
    "xxxx",
    "placeholder",
    "changeme",
    "dummy",
    "redacted",
    "<",
    "***",
    "...",
)

# NANP numbers 555-0100 to 555-0199 are reserved for fiction (ATIS/NANPA); Ofcom reserves these
# national number blocks (London 020 7946 0xxx, mobile 07700 900xxx, ...) for drama.
FICTIONAL_US_LINES: Final = range(5550100, 5550200)
FICTIONAL_UK_PREFIXES: Final = (
    "2079460",
    "1134960",
    "1144960",
    "1154960",
    "1164960",
    "1174960",
    "1184960",
    "1214960",
    "1314960",
    "1414960",
    "1514960",
    "1614960",
    "1632960",  # 01632 960xxx, the drama range of no area
    "2896496",
    "2920180",
    "3069990",  # 03069 990xxx, non-geographic
    "7700900",
    "8081570",
    "9098790",
)

# Anycast resolvers run by Google, Cloudflare, Quad9 and OpenDNS: they name a service, not a
# person, and documentation quotes them constantly.
PUBLIC_SERVICE_ADDRESSES: Final = frozenset(
    {"8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "208.67.222.222", "208.67.220.220"}
)
# Sequential digits that documentation writes where any address would do.
PLACEHOLDER_ADDRESSES: Final = frozenset({"1.2.3.4", "12.34.56.78", "123.45.67.89", "4.3.2.1"})

# Cryptocurrency addresses every explainer quotes (compared in lower case): the genesis block's
# coinbase address, the Bitcoin wiki's examples, the best-known burn addresses, BIP 173's and
# BIP 350's examples, and Ethereum's zero and dead addresses.
PUBLIC_WALLETS: Final = frozenset(
    address.lower()
    for address in (
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        "1BitcoinEaterAddressDontSendf59kuE",
        "1CounterpartyXXXXXXXXXXXXXXXUWLpVr",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "0x0000000000000000000000000000000000000000",
        "0x000000000000000000000000000000000000dEaD",
    )
)

# Passwords that manuals print in connection strings and config examples: SQLAlchemy's and
# Oracle's scott/tiger demo account, the PostgreSQL image's "mysecretpassword", the words
# that stand for "a password goes here", and the passwords prose quotes as examples of bad or
# famous ones (bash.org's "hunter2", xkcd 936's "Tr0ub4dor&3", the weak passwords that
# security advice names).
DEMO_PASSWORDS: Final = frozenset(
    {
        "tiger",
        "password",
        "passwd",
        "pass",
        "pwd",
        "pw",
        "secret",
        "mysecretpassword",
        "mypassword",
        "some_password",
        "admin",
        "root",
        "guest",
        "test",
        "foo",
        "bar",
        "changeit",
        "hunter2",
        "tr0ub4dor&3",
        "p@ssw0rd",
        "p@ssword",
        "passw0rd",
        "password1",
        "password123",
        "password123!",
        "admin123",
        "letmein",
        "letmein123",
        "qwerty123",
        "abc123",
        "pass123",
        "test123",
        "secret123",
        "s3cr3t",
    }
)

# Words that, just before a dotted quad, make it a version ("version 1.2.3.4", "v1.2.3.4").
VERSION_WORDS: Final = re.compile(
    r"(?:\b(?:version|ver|release|build|v|python|rev|revision|tag|firmware)\s*[:=]?\s*"
    r"|(?<![\w.])v)$",
    re.IGNORECASE,
)

# Words that, just before a dotted quad, make it the number of a part of a document or an
# ASN.1 object identifier ("section 3.2.1.4", "clause 4.1.2.3", "§ 6.5.1.2", "OID 2.5.4.3").
NUMBERING_WORDS: Final = re.compile(
    r"(?:\b(?:section|sections|sec|clause|chapter|ch|paragraph|para|article|art|appendix|annex"
    r"|step|figure|fig|table|item|requirement|req|rule|oid|arc)\.?|§{1,2})\s*[:=]?\s*$",
    re.IGNORECASE,
)

# The expressions open with a character class or a literal, not a look-behind, so that the
# regex engine skips ahead to candidates; what comes before a match is checked on the match.
_UUID = re.compile(r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}(?![\w-])")
# SHA-1 (git commits), SHA-224, SHA-256, SHA-384, SHA-512 and MD5 digests written as hex.
_HEX_DIGEST = re.compile(r"(?:[0-9a-f]{32,128}|[0-9A-F]{32,128})(?![0-9A-Za-z])")
_DIGEST_LENGTHS = frozenset({32, 40, 56, 64, 96, 128})
# ISBN-10 and ISBN-13, hyphenated or not, after the word ISBN, or in the 978/979 prefixes.
_ISBN = re.compile(r"ISBN(?:-1[03])?:?\s*([\dX][\d\- X]{8,16}[\dX])\b", re.IGNORECASE)
_EAN = re.compile(r"97[89][- ]?(?:\d[- ]?){9}\d(?![\d-])")


class Inert(NamedTuple):
    """A span that is an identifier, not a private value, and why."""

    start: int
    end: int
    rule: str


def as_config() -> dict[str, list[str]]:
    """Every look-alike list, sorted: what the guard's configuration digest covers, so that a
    changed list changes the digest in every verdict."""
    return {
        "example_domains": sorted(EXAMPLE_DOMAINS),
        "example_tlds": sorted(EXAMPLE_TLDS),
        "test_cards": sorted(TEST_CARDS),
        "example_ibans": sorted(EXAMPLE_IBANS),
        "example_ssns": sorted(EXAMPLE_SSNS),
        "example_id_numbers": sorted(EXAMPLE_ID_NUMBERS),
        "public_addresses": sorted(PUBLIC_ADDRESSES),
        "public_wallets": sorted(PUBLIC_WALLETS),
        "example_secrets": sorted(EXAMPLE_SECRETS),
        "placeholder_words": sorted(PLACEHOLDER_WORDS),
        "demo_passwords": sorted(DEMO_PASSWORDS),
        "public_service_addresses": sorted(PUBLIC_SERVICE_ADDRESSES),
        "placeholder_addresses": sorted(PLACEHOLDER_ADDRESSES),
        "placeholder_domain_labels": sorted(PLACEHOLDER_DOMAIN_LABELS),
        "fictional_uk_prefixes": sorted(FICTIONAL_UK_PREFIXES),
        "fictional_us_lines": [str(FICTIONAL_US_LINES.start), str(FICTIONAL_US_LINES.stop - 1)],
        "version_words": [VERSION_WORDS.pattern],
        "numbering_words": [NUMBERING_WORDS.pattern],
    }


def inert_spans(text: str, longest: int) -> list[Inert]:
    """The UUIDs, hex digests and ISBNs in `text`, in order of start (`longest`: the length
    of its longest run without whitespace)."""
    found: list[Inert] = []
    if longest >= 32:  # a digest or a UUID is one long run
        if text.count("-") >= 4:
            found += [
                Inert(m.start(), m.end(), "uuid")
                for m in _UUID.finditer(text)
                if _opens(text, m.start(), "-")
            ]
        found += [
            Inert(m.start(), m.end(), "hex-digest")
            for m in _HEX_DIGEST.finditer(text)
            if m.end() - m.start() in _DIGEST_LENGTHS and _opens(text, m.start(), "")
        ]
    if "97" in text:
        found += [
            Inert(m.start(), m.end(), "isbn")
            for m in _EAN.finditer(text)
            if _opens(text, m.start(), "-") and _isbn_valid(m.group())
        ]
    if "isbn" in text or "ISBN" in text:
        found += [
            Inert(m.start(1), m.end(1), "isbn")
            for m in _ISBN.finditer(text)
            if _opens(text, m.start(), "") and _isbn_valid(m.group(1))
        ]
    found.sort()
    return found


def _opens(text: str, start: int, joiners: str) -> bool:
    """Whether a match at `start` begins a token: no letter, digit or joiner just before."""
    return start == 0 or not (text[start - 1].isalnum() or text[start - 1] in joiners)


_LONGEST_INERT: Final = max(*_DIGEST_LENGTHS, 36, 17)
"""The longest inert span: a SHA-512 digest (a UUID is 36 characters, an ISBN 17)."""


def covering(spans: Sequence[Inert], start: int, end: int) -> str | None:
    """The rule of the inert span that overlaps [start, end), if one does. `spans` is sorted
    by start (`inert_spans`): only those starting in the `_LONGEST_INERT` characters before
    `end` can overlap, so a row of thousands of identifiers costs no scan of them all per hit."""
    i = bisect.bisect_left(spans, end, key=lambda span: span.start)
    while i > 0 and spans[i - 1].start > start - _LONGEST_INERT:
        i -= 1
        if start < spans[i].end:
            return spans[i].rule
    return None


def inside(spans: Sequence[Inert], start: int, end: int) -> str | None:
    """The rule of the inert span that holds all of [start, end), if one does: a vendor's token
    may end in a run that reads as a digest on its own (a Slack token's 32 hex digits), and is
    no identifier for that."""
    i = bisect.bisect_right(spans, start, key=lambda span: span.start)
    while i > 0 and spans[i - 1].start > start - _LONGEST_INERT:
        i -= 1
        if end <= spans[i].end:
            return spans[i].rule
    return None


PLACEHOLDER_DOMAIN_LABELS: Final = frozenset(
    {"domain", "yourdomain", "yourcompany", "mydomain", "mycompany", "yoursite", "mysite"}
)
"""Domains templates write where the reader's own goes (`user@domain.com`,
`name@yourcompany.com`, `local-part@domain.tld`): an address there names nobody."""


def is_example_domain(domain: str) -> bool:
    """Whether a mail domain is reserved for documentation (RFC 2606, RFC 6761), or one a
    template writes for the reader's own (`PLACEHOLDER_DOMAIN_LABELS`, the `.tld` ending)."""
    domain = domain.lower().rstrip(".")
    labels = domain.rsplit(".", 2)
    if labels[-1] in EXAMPLE_TLDS or labels[-1] == "tld":
        return True
    if len(labels) > 1 and labels[-2] in PLACEHOLDER_DOMAIN_LABELS:
        return True
    return ".".join(labels[-2:]) in EXAMPLE_DOMAINS


def is_placeholder(value: str) -> bool:
    """Whether a secret-shaped value is a documented example or a template's hole."""
    if value in EXAMPLE_SECRETS or value.lower() in DEMO_PASSWORDS:
        return True
    if value.count(".") == 2 and value.rsplit(".", 1)[1] in EXAMPLE_SECRETS:
        return True  # a JWT signed as jwt.io's example is
    return any(
        form in value
        for word in PLACEHOLDER_WORDS
        for form in (word, word.upper(), word.capitalize())
    )


def follows_version_word(text: str, start: int) -> bool:
    """Whether the dotted number at `start` is introduced as a version."""
    return VERSION_WORDS.search(text, max(0, start - 24), start) is not None


def follows_numbering_word(text: str, start: int) -> bool:
    """Whether the dotted number at `start` is introduced as a section or an object id."""
    return NUMBERING_WORDS.search(text, max(0, start - 24), start) is not None


def _isbn_valid(value: str) -> bool:
    digits = [c for c in value.upper() if c.isdigit() or c == "X"]
    if len(digits) == 10:
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits))
        return total % 11 == 0
    if len(digits) == 13 and "X" not in digits:
        total = sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(digits))
        return total % 10 == 0
    return False
