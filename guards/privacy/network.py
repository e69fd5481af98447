"""IP addresses that could point at someone: IPv4 and IPv6 outside the non-global ranges.

Candidates are dotted quads and colon-separated hex groups; the stdlib `ipaddress` decides
whether one is an address at all and which range it is in. Private, loopback, link-local,
multicast, reserved, unspecified and shared (RFC 6598) addresses pass as `ip_address/non-global`;
the documentation ranges (RFC 5737's three /24s, RFC 3849's 2001:db8::/32) as
`ip_address/documentation`.

A dotted quad right after a version word ("version 1.2.3.4", "v1.2.3.4", "Python 3.11.4.0")
passes as `ip_address/version-string`; one inside a longer dotted run ("1.2.3.4.5") is no
candidate at all. Public resolvers (8.8.8.8, 1.1.1.1, ...) name a service, not a person, and pass as
`ip_address/public-service`; the sequential placeholders of documentation (1.2.3.4,
123.45.67.89) as `ip_address/placeholder`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Sequence
from typing import Final

from synthguard.guards.privacy.finding import Hit, judged
from synthguard.guards.privacy.lookalikes import (
    PLACEHOLDER_ADDRESSES,
    PUBLIC_SERVICE_ADDRESSES,
    Inert,
    covering,
    follows_numbering_word,
    follows_version_word,
)

RULE: Final = "ip_address"

DOCUMENTATION_NETWORKS: Final = (
    ipaddress.ip_network("192.0.2.0/24"),  # RFC 5737 TEST-NET-1
    ipaddress.ip_network("198.51.100.0/24"),  # RFC 5737 TEST-NET-2
    ipaddress.ip_network("203.0.113.0/24"),  # RFC 5737 TEST-NET-3
    ipaddress.ip_network("2001:db8::/32"),  # RFC 3849
)

# Expressions open with a character class, not a look-behind, so that the regex engine skips
# ahead to candidate characters; the look-behind is checked on each match (`_opens`).
_IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\w]|\.\d)")
# At least two colons, hex groups of at most four; `ipaddress` decides the rest.
_IPV6 = re.compile(
    r"(?<![\w:.])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:)(?:[0-9A-Fa-f]{1,4}|:)[0-9A-Fa-f:]{2,38}"
    r"(?:(?<=:)(?:\d{1,3}\.){3}\d{1,3})?(?![\w:]|\.\d)"
)
# `_IPV6` tried at every place of a text costs more than the rest of the detector; it is tried
# only where it can match. A match starts where a run of `[\w:.]` starts (its look-behind)
# and holds only those characters, so each run holds one match at most, at its start; there
# its look-ahead needs two colons with hex digits alone between them, in the run's leading
# hex digits and colons. So a match starts exactly where such a leading stretch of a run
# holds a `_COLON_PAIR`: found by a search that skips ahead to colons, and walked back from.
_COLON_PAIR = re.compile(r":[0-9A-Fa-f]*:")
_HEX_OR_COLON: Final = frozenset("0123456789ABCDEFabcdef:")


def find_ips(text: str, inert: Sequence[Inert]) -> Iterator[Hit]:
    """Every global IPv4 and IPv6 address in `text`; the rest of the address space and version
    strings as look-alikes."""
    if "." in text:
        for match in _IPV4.finditer(text):
            start = match.start()
            if start and (text[start - 1].isalnum() or text[start - 1] in "._"):
                continue
            if follows_version_word(text, start):
                version = match.group()
                yield judged(
                    start, match.end(), "ip_address", RULE, _preview(version), "version-string"
                )
            elif follows_numbering_word(text, start):
                number = match.group()
                yield judged(
                    start, match.end(), "ip_address", RULE, _preview(number), "section-number"
                )
            else:
                yield from _judged(match.group(), start, match.end(), inert)
    if "::" in text or text.count(":") >= 3:
        for start in _ipv6_starts(text):
            candidate = _IPV6.match(text, start)
            if candidate is not None:
                yield from _judged(candidate.group(), start, candidate.end(), inert)


def _ipv6_starts(text: str) -> Iterator[int]:
    """In order, the places where `_IPV6` may match: the start of the stretch of hex digits
    and colons around each `_COLON_PAIR`, once per stretch."""
    previous_end = 0
    for pair in _COLON_PAIR.finditer(text):
        start = pair.start()
        while start > previous_end and text[start - 1] in _HEX_OR_COLON:
            start -= 1
        same_stretch = start == previous_end > 0  # walked back to the pair before
        previous_end = pair.end()
        if not same_stretch:
            yield start


def _judged(value: str, start: int, end: int, inert: Sequence[Inert]) -> Iterator[Hit]:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return
    why = covering(inert, start, end)
    if why is None and any(address in network for network in DOCUMENTATION_NETWORKS):
        why = "documentation"
    if why is None and value in PUBLIC_SERVICE_ADDRESSES:
        why = "public-service"
    if why is None and value in PLACEHOLDER_ADDRESSES:
        why = "placeholder"
    if why is None and _non_global(address):
        why = "non-global"
    yield judged(start, end, "ip_address", RULE, _preview(value), why)


def _non_global(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # `is_global` alone lets through IPv6 ranges IANA reserves (::/8 holds "::2").
    return (
        not address.is_global
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
    )


def _preview(value: str) -> str:
    if ":" in value:
        head = value.split(":", 1)[0]
        return f"{head}:****"
    head = value.split(".", 1)[0]
    return f"{head}.*.*.*"
