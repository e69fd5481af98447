from __future__ import annotations

import hashlib
import json
import math
import pickle
import struct
from types import MappingProxyType
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from synthguard.provenance.canonical import (
    EncodedDict,
    EncodedList,
    canonical_json,
    digest,
    digest_json,
    parse_digest,
)
from synthguard.provenance.errors import InputError

SAFE_INT = 2**53 - 1

# Characters that stress escaping and key order: controls, the JSON specials, DEL (not escaped
# by JCS), the line separators JavaScript cares about, the BMP edges around the surrogate block,
# and characters outside the BMP (two UTF-16 code units, so they sort before U+E000..U+FFFF).
ODD_CHARACTERS = [
    "\x00",
    "\x08",
    "\t",
    "\n",
    "\x0c",
    "\r",
    "\x1f",
    '"',
    "\\",
    "/",
    "\x7f",
    "\x80",
    "\u2028",
    "\u2029",
    "\ud7ff",
    "\ue000",
    "\ufb33",
    "\uffff",
    "\U00010000",
    "\U0001f600",
    "\U0010ffff",
]
# The utf-8 codec leaves out lone surrogates: they are not Unicode text (tested separately).
texts = st.text(st.characters(codec="utf-8") | st.sampled_from(ODD_CHARACTERS), max_size=12)
floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, -0.0, 1e21, 1e20, 1e-7, 1e-6, 5e-324, -5e-324, 2.0**53, 2.0**70, 1.7976931348623157e308]
)
scalars = st.none() | st.booleans() | st.integers(-SAFE_INT, SAFE_INT) | floats | texts
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(texts, children, max_size=5),
    max_leaves=30,
)


def _ijson_int(text: str) -> int | float:
    # I-JSON numbers are IEEE doubles: an integer outside the exact range is read as a double,
    # as a JCS consumer would. Needed because a float such as 2.0**70 is written without an
    # exponent ("1180591620717411300000"), which json.loads would return as a huge int.
    value = int(text)
    return value if -SAFE_INT <= value <= SAFE_INT else float(value)


def _same(original: Any, parsed: Any) -> bool:
    """Equality for a JSON round trip, numbers from floats compared as floats."""
    if isinstance(original, bool) or original is None:
        return parsed is original
    if isinstance(original, float):
        return type(parsed) in (int, float) and float(parsed) == original
    if isinstance(original, int):
        return type(parsed) is int and parsed == original
    if isinstance(original, str):
        return parsed == original
    if isinstance(original, list):
        return (
            isinstance(parsed, list)
            and len(parsed) == len(original)
            and all(_same(a, b) for a, b in zip(original, parsed, strict=True))
        )
    return (
        isinstance(parsed, dict)
        and parsed.keys() == original.keys()
        and all(_same(original[k], parsed[k]) for k in original)
    )


@given(json_values)
def test_canonical_json_is_byte_identical_to_the_reference_implementation(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@given(st.dictionaries(st.text(st.characters(codec="ascii"), max_size=6), texts, max_size=6))
def test_an_object_of_strings_is_byte_identical_to_the_reference_implementation(
    value: dict[str, str],
) -> None:
    """Objects of strings (most sample rows) take the C encoder's path."""
    assert canonical_json(value) == rfc8785.dumps(value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_float_is_written_as_the_reference_writes_it(value: float) -> None:
    """Between 1e-4 and 1e16 a float's text comes from its repr, elsewhere from rfc8785."""
    assert canonical_json(value) == rfc8785.dumps(value)


@given(st.lists(json_values, max_size=4), json_values)
def test_an_encoded_list_is_written_as_the_list_it_equals(items: list[Any], other: Any) -> None:
    encoded = EncodedList(items)
    value = {"guards": encoded, "other": other, "again": [encoded]}

    assert encoded == items
    assert canonical_json(value) == canonical_json(
        {"guards": items, "other": other, "again": [items]}
    )
    assert pickle.loads(pickle.dumps(encoded)).canonical == encoded.canonical
    with pytest.raises(TypeError, match="not changed"):
        encoded.append(other)
    assert canonical_json(encoded) == canonical_json(items)


@given(st.dictionaries(st.text(), json_values, max_size=4), json_values)
def test_an_encoded_dict_is_written_as_the_dict_it_equals(
    items: dict[str, Any], other: Any
) -> None:
    encoded = EncodedDict(items)
    value = {"detail": encoded, "other": other, "again": [encoded]}

    assert encoded == items
    assert canonical_json(value) == rfc8785.dumps(
        {"detail": items, "other": other, "again": [items]}
    )
    assert pickle.loads(pickle.dumps(encoded)).canonical == encoded.canonical
    with pytest.raises(TypeError, match="not changed"):
        encoded["new"] = other
    with pytest.raises(TypeError, match="not changed"):
        encoded.update({"new": other})


@pytest.mark.parametrize(
    ("items", "problem"),
    [
        ({"score": float("nan")}, "cannot be written as JSON"),
        ({"when": object()}, "not JSON"),
        ({"text": "\ud800"}, "lone surrogate"),
        ({1: "key"}, "keys must be strings"),
    ],
)
def test_an_encoded_dict_of_no_json_is_refused(items: dict[Any, Any], problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        EncodedDict(items)


@given(json_values)
def test_canonical_json_round_trips_and_is_a_fixed_point(value: Any) -> None:
    encoded = canonical_json(value)

    parsed = json.loads(encoded, parse_int=_ijson_int)

    assert _same(value, parsed)
    assert canonical_json(parsed) == encoded


@given(st.dictionaries(texts, st.integers(0, 9), min_size=2, max_size=8))
def test_keys_are_ordered_by_utf16_code_units(value: dict[str, int]) -> None:
    keys = list(json.loads(canonical_json(value)))

    assert keys == sorted(value, key=lambda k: k.encode("utf-16-be"))


def test_rfc8785_section_3_2_2_example() -> None:
    # The RFC's input JSON text, with its \u escapes and number spellings, read as any JSON
    # reader would; then its canonical output.
    source = r"""{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"""
    expected = (
        r'{"literals":[null,true,false],'
        r'"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        r""""string":"€$\u000f\nA'B\"\\\\\"/"}"""
    ).encode()

    value = json.loads(source)

    assert canonical_json(value) == expected
    assert rfc8785.dumps(value) == expected


def test_rfc8785_section_3_2_3_sorting_example() -> None:
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    ).encode("utf-8")

    assert canonical_json(value) == expected
    assert rfc8785.dumps(value) == expected


# RFC 8785 Appendix B: IEEE 754 bit patterns and their JCS number text.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "text"), APPENDIX_B)
def test_rfc8785_appendix_b_numbers(bits: str, text: str) -> None:
    number = struct.unpack(">d", bytes.fromhex(bits))[0]

    assert canonical_json(number) == text.encode()
    assert canonical_json([number]) == rfc8785.dumps([number])


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_rfc8785_appendix_b_nan_and_infinities_are_refused(bits: str) -> None:
    number = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert math.isnan(number) or math.isinf(number)

    with pytest.raises(InputError):
        canonical_json({"x": [number]})


def test_integers_at_the_edge_of_the_exact_range_are_written() -> None:
    assert canonical_json([SAFE_INT, -SAFE_INT]) == b"[9007199254740991,-9007199254740991]"


@pytest.mark.parametrize(
    ("sign", "power", "shown"),
    [
        (1, 53, "9007199254740992"),
        (1, 100, str(2**100)),
        (1, 200, "of about 61 digits"),
        (-1, 16610, "of about 5,001 digits"),
    ],
)
def test_an_integer_out_of_range_is_named_by_its_size_when_long(
    sign: int, power: int, shown: str
) -> None:
    # Python refuses to write out an integer of more than 4,300 digits (a ValueError).
    with pytest.raises(InputError, match=f"^integer {shown} is outside the range"):
        canonical_json({"n": sign * 2**power})


def test_a_value_nested_past_the_recursion_limit_is_an_input_error() -> None:
    deep: object = 1
    for _ in range(5000):
        deep = [deep]
    for encode in (canonical_json, digest_json, EncodedDict):
        with pytest.raises(InputError, match="nested too deeply for canonical JSON"):
            encode({"d": deep})


def test_tuples_and_mappings_encode_like_lists_and_dicts() -> None:
    assert canonical_json(MappingProxyType({"b": (1, 2), "a": None})) == b'{"a":null,"b":[1,2]}'


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        [1, {"deep": [float("nan")]}],
        2**53,
        -(2**53),
        10**30,
        {"n": 2**53},
        {1: "a"},
        {None: 1},
        {"a": 1, 2: "b"},
        {("t",): 1},
        {b"k": 1},
        "\ud800",
        ["ok", "lone \udfff surrogate"],
        {"\ud83d": 1},
        b"bytes",
        bytearray(b"bytes"),
        memoryview(b"bytes"),
        {"x": b""},
        {1, 2},
        object(),
    ],
    ids=repr,
)
def test_values_that_are_not_json_raise_input_error(value: Any) -> None:
    with pytest.raises(InputError):
        canonical_json(value)


@given(st.binary())
def test_digest_round_trips_through_parse_digest(data: bytes) -> None:
    text = digest(data)

    assert text == "sha256:" + hashlib.sha256(data).hexdigest()
    assert parse_digest(text) == hashlib.sha256(data).digest()


@given(json_values)
def test_digest_json_is_the_digest_of_the_canonical_form(value: Any) -> None:
    assert digest_json(value) == digest(rfc8785.dumps(value))


GOOD_HEX = hashlib.sha256(b"x").hexdigest()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sha256:",
        GOOD_HEX,
        "sha256:" + GOOD_HEX[:-1],
        "sha256:" + GOOD_HEX + "0",
        "sha256:" + GOOD_HEX[:-2],
        "sha256:" + GOOD_HEX.upper(),
        "SHA256:" + GOOD_HEX,
        "sha512:" + GOOD_HEX,
        "sha256-" + GOOD_HEX,
        "sha256:" + "g" * 64,
        "sha256:" + GOOD_HEX + "\n",
        " sha256:" + GOOD_HEX,
        # 64 characters that bytes.fromhex would still accept as 31 bytes.
        "sha256:" + GOOD_HEX[:60] + " " + GOOD_HEX[60:62] + " ",
        "sha256:" + "\u0661" * 64,
    ],
    ids=repr,
)
def test_parse_digest_rejects_malformed_digests(text: str) -> None:
    with pytest.raises(InputError, match="not a sha256 digest"):
        parse_digest(text)


def test_parse_digest_rejects_bytes() -> None:
    with pytest.raises(InputError):
        parse_digest(("sha256:" + GOOD_HEX).encode())  # type: ignore[arg-type]
