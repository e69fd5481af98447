"""Street addresses: a house number, a street's name and its type, and what follows them.

An address (`street_address/street`) is a house number (up to five digits, perhaps a letter,
221B, or a range, 12-14), a street's name of one to four capitalised words (an ordinal counts,
5th; a direction may lead, N. or West), and a street type from the common USPS Publication 28
suffixes and their British counterparts. What follows is taken into the span: a unit (Apt 4B,
Suite 200, Flat 3, #12), then a city and a US state with its ZIP code (Springfield, IL 62704)
or a UK postcode (London SW1A 2AA). Post office boxes are addresses too
(`street_address/po-box`).

Title case makes a number, capitalised words and a word such as Place, Drive or Court common
outside addresses ("round to 1 Decimal Place", "a 2 Hard Drive"), so those types count only
with a unit, a ZIP code or a postcode after them; Street, Avenue, Road, Boulevard, Lane and the
like, and every abbreviation with its number, stand alone. A postal code on its own is left
out: thousands of households share one. Public and fictional addresses pass as look-alikes
(`lookalikes.PUBLIC_ADDRESSES`: 1600 Pennsylvania Avenue, 10 Downing Street, 221B Baker
Street, ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Final

from synthguard.guards.privacy.finding import Hit, judged, mask
from synthguard.guards.privacy.lookalikes import PUBLIC_ADDRESSES, Inert, covering

STREET_RULE: Final = "street_address/street"
PO_BOX_RULE: Final = "street_address/po-box"

# Split from text for reading: the lists are long and their order means nothing.
_STRONG_TYPES: Final = (  # noqa: SIM905
    "Street St Avenue Ave Road Rd Boulevard Blvd Lane Ln Terrace Parkway Pkwy Highway Hwy Dr Ct "
    "Pl Cres Sq Trl Cir Expressway Expy Freeway Fwy Turnpike Tpke"
).split()
# The other street suffixes of USPS Publication 28 (Appendix C1) and British ones: most are
# also common words, so they count only with what follows them.
_WEAK_TYPES: Final = (  # noqa: SIM905
    "Alley Arcade Bend Bluff Bluffs Bottom Branch Bridge Brook Brooks Burg Burgs Bypass Camp "
    "Canyon Cape Causeway Center Centers Circle Circles Cliff Cliffs Close Club Common Commons "
    "Corner Corners Course Court Courts Cove Coves Creek Crescent Crest Crossing Crossroad Curve "
    "Dale Dam Divide Drive Drives Estate Estates Extension Extensions Fall Falls Ferry Field "
    "Fields Flat Flats Ford Fords Forest Forge Forges Fork Forks Fort Garden Gardens Gateway Glen "
    "Glens Green Greens Grove Groves Harbor Harbors Haven Heights Hill Hills Hollow Inlet Island "
    "Islands Isle Junction Junctions Key Keys Knoll Knolls Lake Lakes Land Landing Light Lights "
    "Loaf Lock Locks Lodge Loop Mall Manor Manors Meadow Meadows Mews Mill Mills Mission Motorway "
    "Mount Mountain Mountains Neck Orchard Oval Overpass Park Parks Parkways Pass Passage Path "
    "Pike Pine Pines Place Plain Plains Plaza Point Points Port Ports Prairie Radial Ramp Ranch "
    "Rapid Rapids Rest Ridge Ridges River Roads Route Row Rue Run Shoal Shoals Shore Shores "
    "Skyway Spring Springs Spur Spurs Square Squares Station Stravenue Stream Streets Summit "
    "Throughway Trace Track Trafficway Trail Tunnel Underpass Union Unions Valley Valleys Via "
    "Viaduct View Views Village Villages Ville Vista Walk Walks Wall Way Ways Well Wells"
).split()
_NAME_WORD = r"(?:[A-Z][a-z'’]+|[A-Z]{2,}|\d{1,3}(?:st|nd|rd|th))"
_STREET = re.compile(
    r"(?<![\w.,/#-])(?P<number>\d{1,5}[A-Z]?(?:-\d{1,5})?)[ \t]"
    r"(?:(?:[NSEW]|North|South|East|West)\.?[^\S\n])?"
    rf"{_NAME_WORD}(?:[^\S\n]{_NAME_WORD}){{0,3}}[^\S\n]"
    rf"(?P<type>{'|'.join(sorted(_STRONG_TYPES + _WEAK_TYPES, key=len, reverse=True))})\b\.?"
    r"(?P<unit>,?[^\S\n](?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm)\.?[^\S\n]?#?"
    r"[A-Za-z0-9-]{1,6}\b|,?[^\S\n]#[A-Za-z0-9-]{1,6}\b)?"
    # The city may stand on the next line, as on an envelope.
    r"(?P<place>(?:,?[^\S\n]|,?[^\S\n]*\n[^\S\n]*)[A-Z][a-z]+(?:[^\S\n][A-Z][a-z]+){0,2},?[^\S\n]"
    r"(?:[A-Z]{2}[^\S\n]\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?[^\S\n]?\d[ABD-HJLNP-UW-Z]{2})\b)?"
)
_PO_BOX = re.compile(r"\bP\.?[^\S\n]?O\.?[^\S\n]?Box[^\S\n]#?\d{1,6}\b", re.IGNORECASE)
_STRONG: Final = frozenset(_STRONG_TYPES)
_ABBREVIATIONS: Final = frozenset(
    "St Ave Rd Blvd Ln Pkwy Hwy Dr Ct Pl Cres Sq Trl Cir Expy Fwy Tpke".split()  # noqa: SIM905
)
"""Types whose stop is their own; after any other, a stop ends the sentence."""
_NUMBERED: Final = (b"0 A", b"0A A", b"0aa A")
"""What `_STREET` needs, in `shape_of` terms: a house number, a blank and a capitalised word
(221B Baker: "000A Aaaaa"), or an ordinal and one (350 5th Avenue: "0aa Aaaaaa")."""
_TIME_WORD = re.compile(
    r"\b(?:in|since|by|until|till|from|after|before|during|of|around|circa|early|late)\W{1,3}$",
    re.IGNORECASE,
)
ADDRESS_DIGITS: Final = 1
"""The fewest digits a string holds when it holds a street address or a box number."""


def find_addresses(text: str, inert: Sequence[Inert], shape: bytes) -> Iterator[Hit]:
    """Every street address and post office box in `text` (`shape` is its `shape_of`);
    public and fictional addresses as look-alikes."""
    numbered = any(map(shape.__contains__, _NUMBERED))
    for match in _STREET.finditer(text) if numbered else ():
        if match.group("type") not in _STRONG and not (match.group("unit") or match.group("place")):
            continue
        if _a_year(text, match):
            continue
        end = match.end()
        if match.end("type") + 1 == end and match.group("type") not in _ABBREVIATIONS:
            end -= 1  # the stop ends the sentence, not an abbreviation
        street = _street_key(text[match.start() : match.end("type")])
        yield _hit(match.start(), end, STREET_RULE, text[match.start() : end], street, inert)
    if "box" in text or "Box" in text or "BOX" in text:
        for match in _PO_BOX.finditer(text):
            yield _hit(match.start(), match.end(), PO_BOX_RULE, match[0], None, inert)


def _a_year(text: str, match: re.Match[str]) -> bool:
    """Whether the house number is a year after a word of time ("in 2008 Wall Street fell")."""
    number = match.group("number")
    if not (len(number) == 4 and number.isdigit() and 1600 <= int(number) <= 2099):
        return False
    return bool(_TIME_WORD.search(text, max(0, match.start() - 12), match.start()))


def _hit(
    start: int, end: int, rule: str, value: str, street: str | None, inert: Sequence[Inert]
) -> Hit:
    preview = mask(value, 0, 0)
    why = covering(inert, start, end)
    if why is None and street in PUBLIC_ADDRESSES:
        why = "public-or-fictional"
    return judged(start, end, "street_address", rule, preview, why)


def _street_key(street: str) -> str:
    """An address's house number, name and type in lower case, single-spaced: what
    `PUBLIC_ADDRESSES` lists."""
    return " ".join(street.lower().split())
