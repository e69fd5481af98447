from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from synthguard.provenance.canonical import digest_json
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import (
    DEFAULT_MAPPING,
    SAMPLE_ID_FIELD,
    FieldMapping,
    Sample,
    original_row,
    output_row,
    sample_from_row,
    sample_text,
    unread_fields,
)

ALPACA = {"instruction": "Add 2 and 3.", "input": "", "output": "5"}
CHAT = {
    "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
    ]
}


def test_alpaca_row_becomes_alpaca_sample_with_input_defaulting_to_empty() -> None:
    sample = sample_from_row({"instruction": "Add 2 and 3.", "output": "5", "source": "gsm"})

    assert sample.kind == "alpaca"
    assert sample.content == ALPACA
    assert sample.row == {"instruction": "Add 2 and 3.", "output": "5", "source": "gsm"}


def test_chat_row_keeps_only_role_and_content_of_each_message() -> None:
    row = {
        "messages": [
            {"role": "user", "content": "Hi", "name": "bob"},
            {"role": "assistant", "content": "Hello!", "weight": 0},
        ],
        "instruction": "ignored: messages wins",
    }

    sample = sample_from_row(row)

    assert sample.kind == "chat"
    assert sample.content == CHAT
    assert sample.row == row


def test_text_row_becomes_text_sample() -> None:
    sample = sample_from_row({"text": "Once upon a time."})

    assert sample.kind == "text"
    assert sample.content == {"text": "Once upon a time."}


def test_null_fields_count_as_absent() -> None:
    # Columnar formats fill the cells a row lacks with null.
    sample = sample_from_row({"instruction": None, "output": None, "messages": None, "text": "t"})

    assert sample.kind == "text"


def test_id_is_the_digest_of_the_content_and_digest_that_of_the_row() -> None:
    row = {**ALPACA, "id": "row-7"}
    sample = sample_from_row(row)

    assert sample.id == digest_json(ALPACA)
    assert sample.digest == digest_json(row)


def test_same_content_with_different_extra_fields_has_the_same_id() -> None:
    first = sample_from_row({**ALPACA, "id": 1, "model": "a"})
    second = sample_from_row({**ALPACA, "id": 2, "model": "b", "seed": 9})

    assert first.id == second.id
    assert first.digest != second.digest


def test_different_content_has_a_different_id() -> None:
    first = sample_from_row(ALPACA)
    second = sample_from_row({**ALPACA, "output": "6"})
    third = sample_from_row({"text": "5"})

    assert len({first.id, second.id, third.id}) == 3


def test_samples_compare_and_hash_by_their_digests() -> None:
    first = sample_from_row({**ALPACA, "id": 1})
    again = sample_from_row({**ALPACA, "id": 1})

    assert first == again
    assert len({first, again, sample_from_row(ALPACA)}) == 2


def test_constructing_a_sample_directly_computes_its_id() -> None:
    sample = Sample("text", {"text": "x"}, {"text": "x", "lang": "en"})

    assert sample.id == sample_from_row({"text": "x"}).id


def test_mapping_reads_content_from_other_field_names() -> None:
    mapping = FieldMapping.parse(["instruction=prompt", "output = response", "input=context"])
    row = {"prompt": "Add 2 and 3.", "context": "", "response": "5"}

    sample = sample_from_row(row, mapping)

    assert mapping.instruction == "prompt"
    assert mapping.output == "response"
    assert mapping.text == "text"
    assert sample.content == ALPACA
    assert sample.id == sample_from_row(ALPACA).id


def test_mapping_of_messages_names_the_mapped_field_in_errors() -> None:
    mapping = FieldMapping.parse(["messages=conversation"])

    with pytest.raises(InputError, match=r"conversation\[0\]\.role must be a string"):
        sample_from_row({"conversation": [{"content": "hi"}]}, mapping)


def test_empty_mapping_is_the_default() -> None:
    assert FieldMapping.parse([]) == DEFAULT_MAPPING


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("instruction", "not of the form target=field"),
        ("=prompt", "not of the form target=field"),
        ("instruction=", "not of the form target=field"),
        ("prompt=instruction", "unknown field 'prompt'"),
    ],
)
def test_malformed_mapping_pairs_are_input_errors(pair: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        FieldMapping.parse([pair])

    assert "\n" not in str(caught.value)


def test_mapping_a_field_twice_is_an_input_error() -> None:
    with pytest.raises(InputError, match="'text' is mapped twice"):
        FieldMapping.parse(["text=body", "text=content"])


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["a", "b"], "row is not a JSON object"),
        ("text", "row is not a JSON object"),
        ({"instruction": "a"}, "missing field 'output'"),
        ({"output": "a"}, "missing field 'instruction'"),
        ({"instruction": 1, "output": "b"}, "field 'instruction' must be a string, not int"),
        ({"instruction": "a", "input": ["x"], "output": "b"}, "field 'input' must be a string"),
        ({"instruction": "a", "output": " \n"}, "field 'output' is empty"),
        ({"text": ""}, "field 'text' is empty"),
        ({"text": {"a": 1}}, "field 'text' must be a string, not object"),
        ({"messages": "hi"}, "field 'messages' must be a list of messages, not str"),
        ({"messages": []}, "field 'messages' is empty"),
        ({"messages": [*CHAT["messages"], "hi"]}, r"messages\[2\] must be an object, not str"),
        ({"messages": [*CHAT["messages"], {"role": 3}]}, r"messages\[2\]\.role must be a string"),
        (
            {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
            r"messages\[0\]\.content must be a string, not array",
        ),
        ({"id": 1, "source": "x"}, "row has none of the content fields instruction/output, "),
        ({"text": "ok\ud800"}, "field 'text' contains a lone surrogate"),
        (
            {"messages": [{"role": "user", "content": "\udfff"}]},
            r"field 'messages\[0\]\.content' contains a lone surrogate",
        ),
        ({"text": "ok", "meta": {"note": "\ud800"}}, "field 'meta.note' contains a lone surrogate"),
        ({"text": "ok", "score": float("nan")}, "field 'score' cannot be canonical JSON"),
        ({"text": "ok", "n": 2**60}, "field 'n' cannot be canonical JSON"),
    ],
)
def test_bad_rows_raise_input_errors_naming_the_problem(row: object, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        sample_from_row(row)

    assert "\n" not in str(caught.value)


def test_too_deeply_nested_row_is_an_input_error() -> None:
    nested: Any = "leaf"
    for _ in range(5000):
        nested = [nested]

    with pytest.raises(InputError, match="nested too deeply"):
        sample_from_row({"text": "ok", "deep": nested})


def test_sample_text_joins_what_a_guard_reads() -> None:
    alpaca = sample_from_row({"instruction": "Q", "input": "ctx", "output": "A"})
    no_input = sample_from_row({"instruction": "Q", "output": "A"})
    chat = sample_from_row(CHAT)
    text = sample_from_row({"text": "plain"})

    assert sample_text(alpaca) == "Q\nctx\nA"
    assert sample_text(no_input) == "Q\nA"
    assert sample_text(chat) == "Hi\nHello!"
    assert sample_text(text) == "plain"


# Any code point, lone surrogates included, and numbers JSON cannot hold exactly.
_text = st.text(st.characters(codec=None, exclude_categories=()))
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


@given(
    text=_json,
    extra=st.dictionaries(_text, _json, max_size=5),
)
def test_any_json_row_with_a_text_field_is_a_sample_or_an_input_error(
    text: Any, extra: dict[str, Any]
) -> None:
    row = {**extra, "text": text}
    outcome: Sample | InputError
    try:
        outcome = sample_from_row(row)
    except InputError as exc:
        outcome = exc
    if isinstance(outcome, Sample):
        assert outcome.id.startswith("sha256:")
        assert outcome.digest == digest_json(row)
    else:
        assert str(outcome)
        assert "\n" not in str(outcome)


_FIELD_NAMES = st.sampled_from(["sample_id", "_sample_id", "__sample_id", "id", "text_"]) | _text


_VALID = st.text(st.characters(exclude_categories=("Cs",)))


@given(
    text=_VALID.filter(str.strip),
    extra=st.dictionaries(
        _FIELD_NAMES.filter(lambda name: name.isprintable()),
        st.none() | st.integers(-(2**53) + 1, 2**53 - 1) | _VALID,
        max_size=5,
    ),
)
def test_an_output_row_reads_back_as_the_row_it_was_written_from(
    text: str, extra: dict[str, Any]
) -> None:
    row = {**extra, "text": text}
    sample = sample_from_row(row)
    assume(sample.row == row)  # not itself an output row (a 1 in 2**256 draw)

    written = output_row(row, sample.id)
    back = sample_from_row(json.loads(json.dumps(written)))

    assert next(iter(written)) == SAMPLE_ID_FIELD
    assert len(written) == len(row) + 1  # no field of the row overwritten
    assert original_row(written) == row
    assert (back.row, back.id, back.digest) == (row, sample.id, sample.digest)


def test_a_rows_own_sample_id_is_renamed_aside_in_the_output() -> None:
    row = {"text": "hello", "sample_id": "mine", "_sample_id": "also mine"}
    sample = sample_from_row(row)

    written = output_row(row, sample.id)

    assert written == {
        "sample_id": sample.id,
        "text": "hello",
        "_sample_id": "mine",
        "__sample_id": "also mine",
    }
    assert sample_from_row(written).row == row


def test_a_sample_id_that_is_not_the_contents_id_is_the_rows_own_field() -> None:
    row = {"text": "hello", "sample_id": "sha256:" + "0" * 64, "_sample_id": "x"}

    sample = sample_from_row(row)

    assert sample.row == row
    assert sample.digest == digest_json(row)


def test_content_mapped_from_a_sample_id_field_round_trips() -> None:
    mapping = FieldMapping.parse(["text=sample_id"])
    row = {"sample_id": "the text itself"}
    sample = sample_from_row(row, mapping)

    written = output_row(row, sample.id)
    back = sample_from_row(written, mapping)

    assert written == {"sample_id": sample.id, "_sample_id": "the text itself"}
    assert (back.row, back.id) == (row, sample.id)


def test_the_fields_outside_a_samples_content_are_named() -> None:
    mapping = FieldMapping.parse(["instruction=prompt", "id=key"])
    alpaca = sample_from_row(
        {"prompt": "p", "output": "o", "key": 3, "system": "s", "meta": {"a": 1}, "x": None},
        mapping,
    )
    chat = sample_from_row(
        {"messages": [{"role": "user", "content": "hi", "name": "jo", "weight": None}], "id": 1}
    )
    text = sample_from_row({"text": "t", "lang": "en"})

    assert unread_fields(alpaca, mapping) == ["system", "meta"]
    assert unread_fields(chat) == ["messages[].name"]
    assert unread_fields(text) == ["lang"]
    assert unread_fields(sample_from_row({"instruction": "i", "input": "", "output": "o"})) == []
