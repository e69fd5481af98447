"""What the privacy guard reports: the kinds of private value, their placeholders, and a finding.

A finding names the field and the character span of one private value, its kind, the rule that
decided, and a masked preview. The preview is what the ledger signs and a reviewer reads, so it
never holds the value itself: most of its characters are replaced by `*`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from synthguard.provenance.errors import InputError

KINDS: Final[tuple[str, ...]] = (
    "email",
    "phone",
    "ip_address",
    "iban",
    "payment_card",
    "bank_account",
    "ssn",
    "id_number",
    "date_of_birth",
    "street_address",
    "crypto_wallet",
    "secret",
)
"""Every kind of private value the guard finds."""

PLACEHOLDERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "email": "[EMAIL]",
        "phone": "[PHONE]",
        "ip_address": "[IP_ADDRESS]",
        "iban": "[IBAN]",
        "payment_card": "[CARD]",
        "bank_account": "[BANK_ACCOUNT]",
        "ssn": "[SSN]",
        "id_number": "[ID_NUMBER]",
        "date_of_birth": "[DATE_OF_BIRTH]",
        "street_address": "[ADDRESS]",
        "crypto_wallet": "[WALLET]",
        "secret": "[SECRET]",
    }
)
"""What replaces a value of each kind in a redacted sample."""

FINDING_KEYS: Final = ("field", "start", "end", "kind", "rule", "preview")


@dataclass(frozen=True, slots=True)
class Finding:
    """One private value (or, among look-alikes, one value that resembles it and passes).

    `field` names the string as `synthguard.guards.fields.labelled_strings` does
    ("instruction", "input", "output", "text", "messages[3]"); `start` and `end` are
    character offsets into it.
    """

    field: str
    start: int
    end: int
    kind: str
    rule: str
    preview: str

    def as_dict(self) -> dict[str, Any]:
        """The finding as plain values, as a verdict's detail holds it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Finding:
        """Rebuild a finding from `as_dict`'s output; raise InputError if it is not one."""
        try:
            field, start, end, kind, rule, preview = (value[key] for key in FINDING_KEYS)
        except KeyError as exc:
            raise InputError(f"a finding lacks {exc.args[0]!r}") from None
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
            raise InputError(f"a finding's span [{start!r}, {end!r}) is not a span")
        if kind not in KINDS:
            raise InputError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
        return cls(str(field), start, end, kind, str(rule), str(preview))


class Hit(NamedTuple):
    """What a detector reports in one string: a span, its kind and rule, a masked preview, and
    whether it is a look-alike that passes (`rule` then says why)."""

    start: int
    end: int
    kind: str
    rule: str
    preview: str
    lookalike: bool = False


def judged(start: int, end: int, kind: str, rule: str, preview: str, why: str | None) -> Hit:
    """A finding under `rule`, or, when `why` names a reason, a look-alike that passes under
    `kind/why`: how every detector reports what it read."""
    if why is None:
        return Hit(start, end, kind, rule, preview)
    return Hit(start, end, kind, f"{kind}/{why}", preview, True)


_SHAPES: Final = bytes.maketrans(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\t",
    b"0" * 10 + b"A" * 26 + b"a" * 26 + b" ",
)


def shape_of(text: str) -> bytes:
    """`text` as UTF-8 with every ASCII digit read as 0, capital as A, small letter as a and
    tab as a space: what a detector's necessary condition looks for with `in` ("0 A": a number,
    then a capitalised word), far faster than an expression scanning the text. No other byte
    becomes 0, A or a (UTF-8 encodes every other character in bytes of 0x80 or more)."""
    return text.encode("utf-8", "surrogatepass").translate(_SHAPES)


def mask(value: str, keep_start: int, keep_end: int) -> str:
    """`value` with all but its first `keep_start` and last `keep_end` characters starred,
    keeping at least three quarters of it starred whatever was asked."""
    room = len(value) // 4
    keep_start = min(keep_start, room)
    keep_end = min(keep_end, room - keep_start)
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + "*" * hidden + (value[len(value) - keep_end :] if keep_end else "")
