"""Street addresses: a number, a street's name and type, with the unit, city, state and postal
code that follow taken in; title-case phrases that only look like one, years before a street's
name and a postal code alone are no address; public and fictional addresses pass as
look-alikes; the necessary condition on the string's shape drops no address the expression
would find."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.guards.privacy import PrivacyGuard, find_private, redact
from synthguard.guards.privacy.address import _NUMBERED, _STREET, find_addresses
from synthguard.guards.privacy.detect import Detector
from synthguard.guards.privacy.finding import shape_of
from synthguard.provenance.sample import sample_from_row

DETECTOR = Detector()


@pytest.mark.parametrize(
    ("text", "value", "rule"),
    [
        (
            "Send it to 1842 Maple Street, Springfield, IL 62704 by Friday.",
            "1842 Maple Street, Springfield, IL 62704",
            "street_address/street",
        ),
        (
            "She lives at 77 West 43rd St. Apt 4B, New York, NY 10036.",
            "77 West 43rd St. Apt 4B, New York, NY 10036",
            "street_address/street",
        ),
        (
            "Flat 3, 27 Old Gloucester Road, London SW7 4QT",
            "27 Old Gloucester Road, London SW7 4QT",
            "street_address/street",
        ),
        (
            "Our office: 500 Oak Grove Drive, Suite 200, Austin, TX 78701",
            "500 Oak Grove Drive, Suite 200, Austin, TX 78701",
            "street_address/street",
        ),
        ("Deliver to 350 5th Avenue.", "350 5th Avenue", "street_address/street"),
        (
            "Ship to:\n48 Karen Mission Apt. 019\nEast Christopher, MN 29470\nThanks.",
            "48 Karen Mission Apt. 019\nEast Christopher, MN 29470",
            "street_address/street",
        ),
        (
            "7706 Kelly Crossroad\nPort Sarahport, OR 78654",
            "7706 Kelly Crossroad\nPort Sarahport, OR 78654",
            "street_address/street",
        ),
        ("see 12 Abbey Road", "12 Abbey Road", "street_address/street"),
        # A placeholder in examples, and a real address in many towns.
        ("He lives at 123 Main Street.", "123 Main Street", "street_address/street"),
        ("Write to P.O. Box 4410, Tulsa.", "P.O. Box 4410", "street_address/po-box"),
        ("mail po box 12", "po box 12", "street_address/po-box"),
    ],
)
def test_each_form_is_found_with_its_span(text: str, value: str, rule: str) -> None:
    (finding,) = find_private(sample_from_row({"text": text}))
    assert (text[finding.start : finding.end], finding.rule) == (value, rule)
    assert set(finding.preview) == {"*"}


@pytest.mark.parametrize(
    "text",
    [
        "Visit 10 Downing Street today.",
        "221B Baker Street, London NW1 6XE",
        "1600 Pennsylvania Ave, Washington, DC 20500",
    ],
)
def test_public_and_fictional_addresses_pass_and_say_why(text: str) -> None:
    findings, lookalikes = DETECTOR.scan(sample_from_row({"text": text}))
    assert findings == []
    assert [f.rule for f in lookalikes] == ["street_address/public-or-fictional"]


@pytest.mark.parametrize(
    "text",
    [
        # Title case with a weak street type and nothing after it.
        "Round to 1 Decimal Place.",
        "a 2 Hard Drive failure",
        "the 9 Supreme Court justices",
        "value 2 Root Mean Square",
        "Pass 2 Mountain Views to it, then 3 Green Points.",
        "has 3 Data Frame Row",
        # No street type, or no capitalised name.
        "3 Main Points",
        "Version 2 Release",
        "call 4 main street vendors",
        # A year after a word of time.
        "In 2008 Wall Street fell; since 1929 Wall Street has recovered.",
        # A postal code alone.
        "The ZIP code 62704 and the postcode SW7 4QT.",
        "Chapter 4 Dr. Smith",
    ],
)
def test_what_only_looks_like_an_address_is_not_found(text: str) -> None:
    assert find_private(sample_from_row({"text": text})) == []


def test_redaction_replaces_the_whole_address() -> None:
    sample = sample_from_row({"text": "Ship to 1842 Maple Street, Springfield, IL 62704 now."})
    guard = PrivacyGuard()
    clean = redact(sample, guard.findings_of(guard.check([sample])))
    assert clean.content["text"] == "Ship to [ADDRESS] now."


_PIECES = st.sampled_from(
    [
        "12",
        "221B",
        " ",
        "\t",
        "Maple",
        "West",
        "5th",
        "43rd",
        "Street",
        "Place",
        "St.",
        ", ",
        "Apt 4B",
        "Springfield",
        "IL 62704",
        "x",
        "\n",
        "12-14",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=14))
def test_the_shape_condition_holds_wherever_the_expression_matches(parts: list[str]) -> None:
    text = "".join(parts)
    if _STREET.search(text):
        assert any(needed in shape_of(text) for needed in _NUMBERED)


@pytest.mark.parametrize("unit", ["12 Maple ", "1 A B C D ", "12 Maple Street " * 3])
def test_a_hostile_row_costs_a_linear_scan(unit: str) -> None:
    row = unit * (200_000 // len(unit))
    start = time.process_time()
    list(find_addresses(row, [], shape_of(row)))
    assert time.process_time() - start < 5.0
