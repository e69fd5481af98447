"""Hostile rows: each is one row's error, the rows around it are read as if it were not there,
and a long row is read without extra copies of itself."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
import rfc8785

from synthguard.provenance.canonical import digest, digest_json
from synthguard.provenance.errors import InputError
from synthguard.provenance.reader import read_samples
from synthguard.provenance.sample import sample_from_row

BEFORE = {"instruction": "Add 2 and 3.", "input": "", "output": "5"}
AFTER = {"text": "Once upon a time."}

# (line, error): each a row Python's json would read without complaint, or would crash on.
HOSTILE = [
    pytest.param(
        b'{"text": "a\\ud800b"}',
        "field 'text' contains a lone surrogate (not valid UTF-8)",
        id="lone-surrogate-value",
    ),
    pytest.param(
        b'{"text": "fine", "meta": {"\\udfff": 1}}',
        "field 'meta.\\udfff' contains a lone surrogate (not valid UTF-8)",
        id="lone-surrogate-key",
    ),
    pytest.param(
        b'{"text": "big", "n": ' + b"7" * 5000 + b"}",
        "invalid JSON: an integer of 5000 digits is outside the range JSON numbers hold exactly",
        id="5000-digit-integer",
    ),
    pytest.param(
        b'{"text": "big", "n": [-' + b"9" * 5000 + b"]}",
        "invalid JSON: an integer of 5000 digits is outside the range JSON numbers hold exactly",
        id="5000-digit-negative-integer",
    ),
    pytest.param(
        b'{"text": "first", "text": "second"}',
        "invalid JSON: duplicate key 'text'",
        id="duplicate-key",
    ),
    pytest.param(
        b'{"text": "t", "meta": {"a": 1, "b": 2, "a": 3}}',
        "invalid JSON: duplicate key 'a'",
        id="duplicate-nested-key",
    ),
    pytest.param(
        b'{"text": "t", "score": NaN}', "invalid JSON: NaN is not a JSON number", id="nan"
    ),
    pytest.param(
        b'{"text": "t", "score": -Infinity}',
        "invalid JSON: -Infinity is not a JSON number",
        id="infinity",
    ),
    # Numbers beyond a double, which json would read as infinity (and the row then kept as
    # "inf", a value its author never wrote).
    pytest.param(
        b'{"text": "t", "n": 1e99999}',
        "invalid JSON: the number 1e99999 is outside the range of a JSON number (a double)",
        id="exponent-beyond-a-double",
    ),
    pytest.param(
        b'{"text": "t", "n": -' + b"9" * 400 + b".5}",
        "invalid JSON: the number -99999999999...999999.5 is outside the range of a JSON number "
        "(a double)",
        id="400-digit-decimal",
    ),
]


def _write(path: Path, *lines: bytes) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


@pytest.mark.parametrize(("line", "error"), HOSTILE)
def test_a_hostile_row_is_that_rows_error_and_the_rows_around_it_are_read(
    tmp_path: Path, line: bytes, error: str
) -> None:
    path = _write(
        tmp_path / "in.jsonl", json.dumps(BEFORE).encode(), line, json.dumps(AFTER).encode()
    )

    before, bad, after = read_samples(path)

    assert (bad.number, bad.sample, bad.error) == (2, None, error)
    assert before.sample == sample_from_row(BEFORE)
    assert (after.number, after.sample) == (3, sample_from_row(AFTER))


def test_a_row_that_does_not_parse_keeps_its_text_not_a_merged_value(tmp_path: Path) -> None:
    line = b'{"text": "first", "text": "second"}'
    path = _write(tmp_path / "in.jsonl", b"  " + line + b" \t")

    [row] = read_samples(path)

    assert row.raw == line.decode()


def test_an_integer_python_can_read_but_json_cannot_hold_names_its_field(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.jsonl", b'{"text": "t", "n": ' + b"9" * 30 + b"}")

    [row] = read_samples(path)

    assert row.error == (
        f"field 'n' cannot be canonical JSON: integer {'9' * 30} is outside the range JSON "
        "numbers hold exactly"
    )


def test_whitespace_around_a_row_and_a_byte_order_mark_are_not_part_of_it(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\xef\xbb\xbf \x0c" + json.dumps(AFTER).encode() + b" \x0b\r\n")

    [row] = read_samples(path)

    assert row.sample == sample_from_row(AFTER)


def test_a_long_row_is_read_with_at_most_one_extra_copy_of_itself(tmp_path: Path) -> None:
    size = 20_000_000
    text = ("lorem ipsum dolor sit amet, " * (size // 28 + 1))[:size]
    path = _write(tmp_path / "long.jsonl", json.dumps({"text": text}).encode())
    del text

    tracemalloc.start()
    try:
        [row] = read_samples(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert row.sample is not None
    # The parsed row plus one copy (the line's text while parsing, or the escaped string while
    # hashing): 2x. Buffering the file, or keeping the bytes, the text and the value, is 3x+.
    assert peak < 2.6 * size


@pytest.mark.parametrize(
    "value",
    [
        {"text": 'é\u2028"\\\n' * 300_000, "n": [1, 2.5, None, True]},
        ["x" * 2_000_000, {"\U0001f600": "\U0001f600" * 400_000}],
    ],
    ids=["escapes-and-non-ascii", "astral"],
)
def test_a_large_value_hashes_like_its_canonical_form(value: object) -> None:
    assert digest_json(value) == digest(rfc8785.dumps(value))


def test_a_lone_surrogate_in_a_large_value_is_an_input_error() -> None:
    with pytest.raises(InputError, match="lone surrogate"):
        digest_json({"text": "x" * 2_000_000 + "\ud800"})


def _nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [1, 31])
def test_a_row_up_to_the_nesting_limit_is_a_sample(depth: int) -> None:
    row = {"instruction": "i", "output": "o", "meta": {"deep": _nested(depth - 1)}}
    assert sample_from_row(row).kind == "alpaca"


@pytest.mark.parametrize("depth", [32, 500])
def test_a_row_beyond_the_nesting_limit_is_refused(depth: int) -> None:
    with pytest.raises(InputError, match="nested too deeply: more than 32 levels"):
        sample_from_row({"instruction": "i", "output": "o", "meta": {"deep": _nested(depth)}})


def test_a_row_too_deep_is_read_as_its_text(tmp_path: Path) -> None:
    # The parsed value would stop whatever pickles or walks it next; its text travels instead.
    row = {"instruction": "i", "output": "o", "meta": _nested(600)}
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps({"text": "fine"}) + "\n")
    deep, fine = read_samples(path)
    assert deep.sample is None
    assert deep.error == "row is nested too deeply: more than 32 levels"
    assert isinstance(deep.raw, str)
    assert json.loads(deep.raw) == row
    assert fine.sample is not None
