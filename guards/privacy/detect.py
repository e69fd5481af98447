"""Finding private values in a sample: every detector on every string, one field at a time.

Each string of a sample (instruction, input, output; each chat message; the text) is scanned on
its own, so a value split across two fields is never put together. Where detectors disagree
about a stretch of text, the first in `PRIORITY` decides (a key holding digits is a secret, not
a phone number; a test card is a look-alike card, not a phone number), and a finding beats a
look-alike of the same kind.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Final

from synthguard.guards.fields import labelled_strings
from synthguard.guards.privacy.address import ADDRESS_DIGITS, find_addresses
from synthguard.guards.privacy.contact import (
    find_emails,
    find_phones,
    may_hold_email,
    phone_regions,
)
from synthguard.guards.privacy.credentials import BY_PLACE_RULES, GENERIC_RULES, SecretScanner
from synthguard.guards.privacy.financial import find_cards, find_ibans
from synthguard.guards.privacy.finding import Finding, Hit, shape_of
from synthguard.guards.privacy.identity import ID_DIGITS, find_identities
from synthguard.guards.privacy.lookalikes import inert_spans
from synthguard.guards.privacy.network import find_ips
from synthguard.guards.privacy.ssn import find_ssns
from synthguard.guards.privacy.wallet import WALLET_LONGEST, find_wallets
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import Sample

# The fewest ASCII digits a string holds when it holds a value of each kind. A string with
# digits of other scripts (full-width, Arabic-Indic) is read folded (`fold`), where they are ASCII.
CARD_DIGITS: Final = 12  # the shortest PAN issued
SSN_DIGITS: Final = 9
PHONE_DIGITS: Final = 7  # the shortest valid national number with its area code
IPV4_DIGITS: Final = 4
# An IBAN's two check digits and, in every registry country, at least four more in its BBAN.
IBAN_DIGITS: Final = 6
# A hex digest or UUID holds on average 62 % digits: one of 32 hex characters with fewer than 8
# digits occurs with probability below 1e-4; an ISBN has 10 or 13.
INERT_DIGITS: Final = 8

PRIORITY: Final = (
    "secret",
    "iban",
    "payment_card",
    "bank_account",
    "ssn",
    "id_number",
    "date_of_birth",
    "street_address",
    "crypto_wallet",
    "email",
    "ip_address",
    "phone",
)
_RANK: Final = {kind: rank for rank, kind in enumerate(PRIORITY)}


SSN_HINTS: Final = ("ssn", "ssan", "social", "soc.", "itin", "taxpayer")
"""Words one of which a text without a blank or a hyphen (compact JSON: `"ssn":"..."`) holds
when a bare run of nine digits in it can be an SSN or an ITIN (`ssn`)."""


class Detector:
    """Every detector, configured once: the phone region and whether entropy plugins run."""

    def __init__(self, *, region: str = "US", entropy: bool = True) -> None:
        region = region.upper()
        if region not in phone_regions():
            raise InputError(f"unknown phone region {region!r} (an ISO 3166-1 alpha-2 code)")
        self.region = region
        self.entropy = entropy
        self.secrets = SecretScanner(entropy=entropy)

    def scan(self, sample: Sample) -> tuple[list[Finding], list[Finding]]:
        """The findings and the look-alikes of every string of a sample, field by field."""
        findings: list[Finding] = []
        lookalikes: list[Finding] = []
        for field, text in labelled_strings(sample):
            for hit in self.hits(text):
                found = Finding(field, hit.start, hit.end, hit.kind, hit.rule, hit.preview)
                (lookalikes if hit.lookalike else findings).append(found)
        return findings, lookalikes

    def hits(self, text: str) -> list[Hit]:
        """The findings and look-alikes of one string, overlaps resolved, in order of start.
        A string holding characters that can disguise a value is read in its folded form
        (`fold`), and the spans read back onto it; a value written with such characters (other
        than spaces of another width) has `+folded` added to its rule."""
        folding = fold(text)
        if folding is None:
            return self._hits(text)
        folded, origin = folding
        hits: list[Hit] = []
        for hit in self._hits(folded):
            start, end = origin[hit.start], origin[hit.end - 1] + 1
            if hits and start < hits[-1].end:
                # One character folds into several ("¼" into "1/4"): two findings that meet
                # inside it share it on the string; the one before keeps it.
                start = hits[-1].end
                if start >= end:
                    continue
            rule = hit.rule + FOLDED if _disguised(text[start:end]) else hit.rule
            hits.append(hit._replace(start=start, end=end, rule=rule))
        return hits

    def _hits(self, text: str) -> list[Hit]:
        if not text:
            return []
        # Every detector's expressions cost a pass over the string; each runs only where its
        # necessary condition holds (the digit counts above, a character, a run of the
        # string's shape), counted or found in C.
        shape = shape_of(text)
        digits = shape.count(b"0")
        lowered = text.lower()
        longest = max(map(len, text.split()), default=0)
        inert = inert_spans(text, longest) if digits >= INERT_DIGITS else []
        candidates = list(self.secrets.find(text, inert, lowered=lowered, longest=longest))
        if digits >= IBAN_DIGITS:
            candidates += find_ibans(text, inert)
        if digits >= CARD_DIGITS:
            candidates += find_cards(text, inert)
        if digits >= SSN_DIGITS and (
            "-" in text or " " in text or any(word in lowered for word in SSN_HINTS)
        ):
            candidates += find_ssns(text, inert)
        if digits >= ID_DIGITS:
            candidates += find_identities(text, inert, shape, lowered)
        if digits >= ADDRESS_DIGITS:
            candidates += find_addresses(text, inert, shape)
        if longest >= WALLET_LONGEST:
            candidates += find_wallets(text, inert)
        if may_hold_email(text):
            candidates += find_emails(text, inert)
        if (digits >= IPV4_DIGITS and text.count(".") >= 3) or "::" in text or text.count(":") >= 7:
            candidates += find_ips(text, inert)
        if digits >= PHONE_DIGITS:
            candidates += find_phones(text, inert, self.region)
        if not candidates:
            return []
        return sorted(_resolved(candidates), key=lambda hit: (hit.start, hit.end))


FOLDED: Final = "+folded"
"""Added to the rule of a value written with characters that disguise it (`fold`): invisible
ones, or ones read as another ASCII character than a space."""


_BEYOND_ASCII: Final = [*range(0x80, 0x20000), *range(0xE0000, 0xE1000)]
"""The planes that hold every format character, variation selector and digit outside ASCII."""
_INVISIBLE: Final = frozenset(
    chr(code)
    for code in _BEYOND_ASCII
    if unicodedata.category(chr(code)) == "Cf" or 0xFE00 <= code <= 0xFE0F
)
"""What `fold` drops: format characters (zero-width spaces and joiners, soft hyphens,
direction marks, tag characters) and variation selectors."""
_DISGUISES: Final = _INVISIBLE | frozenset(
    chr(code) for code in _BEYOND_ASCII if unicodedata.decimal(chr(code), None) is not None
)
"""Invisible characters and digits of other scripts: what makes `fold` read a string that NFKC
leaves as it is."""
_NON_ASCII: Final = re.compile(r"[^\x00-\x7f]+")


def fold(text: str) -> tuple[str, Sequence[int]] | None:
    """The string as a detector should read it, and for each of its characters the position in
    `text` it comes from; None when it reads as written. A value can be disguised with
    characters that show as the ones a detector looks for or show nothing: full-width digits
    and signs (`５５５-０１９９`, `jane＠mail．com`), digits of other scripts (`٥٥٥`), a
    zero-width space or soft hyphen inside a key or an address. Each character is read in its
    NFKC form, a digit of any script as its ASCII digit, and the invisible ones are dropped."""
    if text.isascii() or (
        unicodedata.is_normalized("NFKC", text)
        and _DISGUISES.isdisjoint("".join(_NON_ASCII.findall(text)))
    ):
        return None
    folded = text.translate(_FOLDING)
    if folded == text:
        return None
    if all(len(_FOLDING[ord(char)]) == 1 for char in set(text)):
        return folded, range(len(text))  # one character for one (full-width forms, digits)
    origin: list[int] = []
    for at, char in enumerate(text):
        origin.extend([at] * len(_FOLDING[ord(char)]))
    return folded, origin


def _disguised(written: str) -> bool:
    """Whether a value holds a character that shows nothing, or that is read as an ASCII
    character other than a space (a full-width `＠`, a Devanagari digit)."""
    for char in written:
        if char.isascii():
            continue
        read = _FOLDING[ord(char)]
        if not read or (read.isascii() and not read.isspace()):
            return True
    return False


class _Folding(dict[int, str]):
    """The `str.translate` table of `fold`, filled per code point on first sight."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if char in _INVISIBLE:
            value = ""
        else:
            decimal = unicodedata.decimal(char, None)
            value = str(decimal) if decimal is not None else unicodedata.normalize("NFKC", char)
        self[code] = value
        return value


_FOLDING: Final = _Folding((code, chr(code)) for code in range(128))


def _resolved(candidates: Iterable[Hit]) -> Iterator[Hit]:
    """Keep each candidate that overlaps no candidate kept before it, in order of priority,
    findings before look-alikes, then the longer first, a vendor's detector before the generic
    ones (`credentials.GENERIC_RULES`) and those before the ones that judge by place alone
    (`credentials.BY_PLACE_RULES`)."""
    kept: list[Hit] = []
    ordered = sorted(
        candidates,
        key=lambda hit: (
            _RANK[hit.kind],
            hit.lookalike,
            hit.start - hit.end,
            hit.rule in GENERIC_RULES,
            hit.rule in BY_PLACE_RULES,
            hit.start,
        ),
    )
    # Kept spans are disjoint: sorted by start, only the neighbours of a new span can overlap it.
    starts: list[int] = []
    for hit in ordered:
        at = bisect.bisect_right(starts, hit.start)
        if at and kept[at - 1].end > hit.start:
            continue
        if at < len(kept) and kept[at].start < hit.end:
            continue
        starts.insert(at, hit.start)
        kept.insert(at, hit)
        yield hit


def find_private(sample: Sample, *, region: str = "US", entropy: bool = True) -> list[Finding]:
    """Every private value in every string of `sample`, per field and per chat message.

    The detectors are built once per configuration and reused.
    """
    return _detector(region, entropy).scan(sample)[0]


@functools.lru_cache(maxsize=8)
def _detector(region: str, entropy: bool) -> Detector:
    return Detector(region=region, entropy=entropy)
