from __future__ import annotations

import base64
import json
from typing import Any

import jsonschema
import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from synthguard.provenance.canonical import digest
from synthguard.provenance.dsse import open_envelope, sign_envelope
from synthguard.provenance.errors import InputError
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.record import (
    KEY_EVENT_TYPE,
    RECORD_TYPE,
    Event,
    Generator,
    KeyAction,
    KeyEvent,
    LineageRecord,
    Origin,
    PayloadTemplate,
    Source,
    record_json_schema,
    utc_now,
)

KEY = SigningKey.generate()
SAMPLE = digest(b"sample content")
ROW = digest(b"stored row")
PARENT = digest(b"parent sample")
PROMPT = digest(b"prompt")


def _record(**changes: Any) -> LineageRecord:
    fields: dict[str, Any] = {
        "event": "revised",
        "sample_id": SAMPLE,
        "digest": ROW,
        "origin": "hybrid",
        "generator": Generator(
            name="self-refine",
            provider="openai",
            model="gpt-4o-mini",
            parameters={"temperature": 0.7, "top_p": 1.0, "stop": ["\n\n"], "note": None},
            seed=42,
        ),
        "prompt_digest": PROMPT,
        "parents": [PARENT],
        "depth": 2,
        "sources": [Source(uri="https://example.org/doc?q=\u00e9", digest=PARENT, license="MIT")],
        "run_id": "run-\U0001f600-1",
        "time": "2024-05-01T12:34:56.789012Z",
        "signer": KEY.key_id,
        "detail": {"score": 0.25, "verdict": "keep", "flags": [], "why": None},
    }
    fields.update(changes)
    return LineageRecord(**fields)


def _key_event(**changes: Any) -> KeyEvent:
    fields: dict[str, Any] = {
        "action": "key_rotated",
        "key_id": KEY.key_id,
        "public_key": base64.b64encode(KEY.public.raw).decode(),
        "previous_key_id": PARENT,
        "reason": "scheduled rotation",
        "time": utc_now(),
        "signer": PARENT,
    }
    fields.update(changes)
    return KeyEvent(**fields)


def test_record_payload_is_canonical_and_round_trips() -> None:
    record = _record()

    payload = record.payload()

    assert payload == rfc8785.dumps(json.loads(payload))
    assert LineageRecord.from_payload(payload) == record
    assert LineageRecord.from_payload(payload).payload() == payload


texts = st.text(st.characters(codec="utf-8"), max_size=8)
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=10,
)
digests = st.binary(max_size=4).map(digest)
generators = st.builds(
    Generator,
    name=texts,
    provider=st.none() | texts,
    model=texts,
    version=st.none() | texts,
    parameters=st.dictionaries(texts, json_values, max_size=3),
    seed=st.none() | st.integers(0, 2**32),
)
records = st.builds(
    LineageRecord,
    event=st.sampled_from(Event),
    sample_id=digests,
    digest=digests,
    origin=st.sampled_from(Origin),
    generator=st.none() | generators,
    prompt_digest=st.none() | digests,
    parents=st.lists(digests, max_size=3),
    depth=st.integers(0, 2**31),
    sources=st.lists(
        st.builds(Source, uri=texts, digest=st.none() | digests, license=st.none() | texts),
        max_size=2,
    ),
    run_id=texts,
    time=st.just("2024-05-01T12:34:56.789012Z"),
    signer=digests,
    detail=st.dictionaries(texts, json_values, max_size=4),
)


@given(
    records,
    st.sampled_from(["alpaca", "chat", "text", None]),
    st.lists(st.tuples(digests, digests, st.binary(min_size=16, max_size=16)), max_size=3),
)
def test_a_payload_template_fills_in_the_bytes_of_the_record(
    record: LineageRecord, kind: str | None, stamps: list[tuple[str, str, bytes]]
) -> None:
    """`record`'s bulk path fills four fields into a payload written once; every other field
    (generators with odd parameters, a missing kind) must come out as the record's own."""
    prototype = record.model_copy(update={"kind": kind})
    template = PayloadTemplate(prototype, "synthguard.local/ledger/t%s")

    for sample_id, row_digest, record_id in stamps:
        time = utc_now()
        filled = record.model_copy(
            update={"kind": kind, "sample_id": sample_id, "digest": row_digest, "time": time}
        )
        expected = filled.payload("synthguard.local/ledger/t%s", record_id.hex())
        assert template.fill(sample_id, row_digest, record_id.hex(), time) == expected


@pytest.mark.parametrize(
    "stamps",
    [
        (SAMPLE + '"', ROW, "0" * 32, "2024-05-01T12:34:56Z"),
        (SAMPLE, "sha256:xyz", "0" * 32, "2024-05-01T12:34:56Z"),
        (SAMPLE, ROW, "0" * 31 + '"', "2024-05-01T12:34:56Z"),
        (SAMPLE, ROW, "0" * 32, '2024-05-01T12:34:56Z","x":"'),
    ],
)
def test_a_payload_template_takes_only_values_that_need_no_escaping(
    stamps: tuple[str, str, str, str],
) -> None:
    template = PayloadTemplate(_record(), "o")

    with pytest.raises(ValueError, match="not a sample id"):
        template.fill(*stamps)


@given(records)
def test_record_payload_is_the_jcs_of_the_record_without_nulls(record: LineageRecord) -> None:
    # payload() writes the JCS by hand for speed; this pins it to the reference encoder.
    payload = record.payload()

    assert payload == rfc8785.dumps(record.model_dump(mode="json", exclude_none=True))
    assert LineageRecord.from_payload(payload) == record
    assert LineageRecord.from_payload(payload).payload() == payload


@pytest.mark.parametrize("number", [2.0**53, 2.0**70, -(2.0**60), 1e20, 1e21])
def test_large_floats_in_detail_survive_the_round_trip(number: float) -> None:
    # JCS writes these without an exponent; read back as Python ints they would fall outside
    # the exact integer range and the record could not be written again.
    record = _record(detail={"n": number})

    again = LineageRecord.from_payload(record.payload())

    assert again == record
    assert again.payload() == record.payload()


def test_record_payload_leaves_out_unset_fields_but_keeps_nulls_inside_detail() -> None:
    record = _record(generator=None, prompt_digest=None, detail={"why": None})

    document = json.loads(record.payload())

    assert "generator" not in document
    assert "prompt_digest" not in document
    assert document["detail"] == {"why": None}
    assert LineageRecord.from_payload(record.payload()) == record


def test_minimal_record_takes_its_defaults() -> None:
    record = LineageRecord(
        event=Event.IMPORTED,
        sample_id=SAMPLE,
        digest=ROW,
        run_id="r",
        time="2024-01-01T00:00:00Z",
        signer=KEY.key_id,
    )

    document = json.loads(record.payload())

    assert document["schema_version"] == 2
    assert document["origin"] == Origin.SYNTHETIC
    assert document["parents"] == []
    assert document["depth"] == 0
    assert LineageRecord.from_payload(record.payload()) == record


def test_the_ledger_binding_is_signed_in_place() -> None:
    record = _record()
    bound = record.payload("example.org/ledger", "0123456789abcdef0123456789abcdef")

    assert bound == rfc8785.dumps(
        {
            **record.model_dump(mode="json", exclude_none=True),
            "ledger": "example.org/ledger",
            "record_id": "0123456789abcdef0123456789abcdef",
        }
    )
    parsed = LineageRecord.from_payload(bound)
    assert (parsed.ledger, parsed.record_id) == (
        "example.org/ledger",
        "0123456789abcdef0123456789abcdef",
    )
    assert parsed.model_copy(update={"ledger": None, "record_id": None}) == record
    with pytest.raises(ValidationError):
        LineageRecord.from_payload(record.payload("x", "not-hex"))


def test_record_signs_and_opens_as_a_dsse_envelope() -> None:
    record = _record()

    envelope = sign_envelope(record.payload(), RECORD_TYPE, KEY)
    payload_type, payload, signer = open_envelope(envelope, {KEY.key_id: KEY.public})

    assert (payload_type, signer) == (RECORD_TYPE, KEY.key_id)
    assert LineageRecord.from_payload(payload) == record


@pytest.mark.parametrize(
    "detail",
    [
        {"score": float("nan")},
        {"scores": [0.1, float("inf")]},
        {"nested": {"low": float("-inf")}},
    ],
)
def test_non_finite_numbers_in_detail_are_refused_not_signed_as_null(
    detail: dict[str, Any],
) -> None:
    with pytest.raises(InputError):
        _record(detail=detail).payload()


def test_non_finite_generator_parameter_is_refused() -> None:
    generator = Generator(name="g", model="m", parameters={"temperature": float("nan")})

    with pytest.raises(InputError):
        _record(generator=generator).payload()


@pytest.mark.parametrize("field", ["sample_id", "digest", "signer", "prompt_digest"])
@pytest.mark.parametrize(
    "bad",
    [
        "",
        "sha256:",
        SAMPLE.upper(),
        SAMPLE.replace("sha256:", "SHA256:"),
        SAMPLE.replace("sha256:", "sha512:"),
        SAMPLE[:-1],
        SAMPLE + "0",
        SAMPLE + "\n",
        "sha256:" + "g" * 64,
        SAMPLE[len("sha256:") :],
    ],
    ids=repr,
)
def test_record_rejects_a_bad_digest(field: str, bad: str) -> None:
    with pytest.raises(ValidationError):
        _record(**{field: bad})


def test_record_rejects_a_bad_source_digest() -> None:
    with pytest.raises(ValidationError):
        Source(uri="https://example.org", digest="md5:abc")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "parent",
        PARENT.upper(),
        "sha256:" + "Z" * 64,
        "sha256:" + "g" * 64,
        PARENT.replace("sha256:", "sha512:"),
        PARENT[:-1],
        PARENT + "\n",
    ],
    ids=repr,
)
def test_record_rejects_a_bad_parent_id(bad: str) -> None:
    with pytest.raises(ValidationError, match="should match pattern"):
        _record(parents=[PARENT, bad])


@pytest.mark.parametrize(
    "time",
    [
        "2024-05-01T12:34:56+00:00",
        "2024-05-01T12:34:56+02:00",
        "2024-05-01T12:34:56.789-05:00",
        "2024-05-01T12:34:56",
        "2024-05-01T12:34:56z",
        "2024-05-01Z",
        "20240501T123456Z",
        "2024-05-01T12:34Z",
        "2024-02-30T00:00:00Z",
        "2024-05-01T24:00:01Z",
        "yesterday Z",
        "",
    ],
)
def test_record_rejects_a_time_that_is_not_rfc3339_utc(time: str) -> None:
    with pytest.raises(ValidationError):
        _record(time=time)


@pytest.mark.parametrize("time", ["2024-05-01T12:34:56Z", "2024-05-01T12:34:56.5Z"])
def test_record_accepts_rfc3339_utc_times(time: str) -> None:
    assert _record(time=time).time == time


def test_utc_now_is_an_accepted_time() -> None:
    assert _record(time=utc_now()).time.endswith("Z")


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"event": "deleted"}, id="unknown event"),
        pytest.param({"event": "Generated"}, id="event case"),
        pytest.param({"origin": "alien"}, id="unknown origin"),
        pytest.param({"depth": -1}, id="negative depth"),
        pytest.param({"schema_version": 3}, id="schema version"),
        pytest.param({"extra": 1}, id="unknown field"),
        pytest.param({"run_id": None}, id="no run id"),
    ],
)
def test_record_rejects_invalid_fields(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _record(**changes)


def test_from_payload_rejects_an_altered_payload() -> None:
    document = json.loads(_record().payload())

    with pytest.raises(ValidationError):
        LineageRecord.from_payload(json.dumps({**document, "event": "deleted"}).encode())
    with pytest.raises(ValidationError):
        LineageRecord.from_payload(json.dumps({**document, "injected": True}).encode())


def test_key_event_payload_is_canonical_and_round_trips() -> None:
    event = _key_event()

    payload = event.payload()

    assert payload == rfc8785.dumps(json.loads(payload))
    assert KeyEvent.from_payload(payload) == event
    assert json.loads(payload)["action"] == KeyAction.ROTATED


def test_key_event_signs_and_opens_as_a_dsse_envelope() -> None:
    event = _key_event(action="key_added", previous_key_id=None, signer=KEY.key_id)

    envelope = sign_envelope(event.payload(), KEY_EVENT_TYPE, KEY)
    payload_type, payload, _ = open_envelope(envelope, {KEY.key_id: KEY.public})

    assert payload_type == KEY_EVENT_TYPE
    assert KeyEvent.from_payload(payload) == event
    assert "previous_key_id" not in json.loads(payload)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"action": "key_deleted"}, id="unknown action"),
        pytest.param({"action": "added"}, id="action without prefix"),
        pytest.param({"key_id": "sha256:abc"}, id="bad key id"),
        pytest.param({"previous_key_id": PARENT.upper()}, id="bad previous key id"),
        pytest.param({"signer": ""}, id="bad signer"),
        pytest.param({"time": "2024-05-01T12:34:56+01:00"}, id="non-UTC time"),
        pytest.param({"extra": "x"}, id="unknown field"),
    ],
)
def test_key_event_rejects_invalid_fields(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _key_event(**changes)


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = record_json_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_schema_is_draft_2020_12(validator: jsonschema.protocols.Validator) -> None:
    assert isinstance(validator, jsonschema.Draft202012Validator)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(_record().payload(), id="full record"),
        pytest.param(
            _record(generator=None, prompt_digest=None, parents=[], sources=[]).payload(),
            id="sparse record",
        ),
        pytest.param(_key_event().payload(), id="key event"),
        pytest.param(
            _key_event(action="key_revoked", public_key=None, previous_key_id=None).payload(),
            id="sparse key event",
        ),
    ],
)
def test_schema_validates_real_payloads(
    validator: jsonschema.protocols.Validator, payload: bytes
) -> None:
    validator.validate(json.loads(payload))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"event": "deleted"}, id="unknown event"),
        pytest.param({"sample_id": "sha256:xyz"}, id="bad sample id"),
        pytest.param({"signer": SAMPLE.upper()}, id="bad signer"),
        pytest.param({"depth": -1}, id="negative depth"),
        pytest.param({"schema_version": 3}, id="schema version"),
        pytest.param({"injected": True}, id="unknown field"),
        pytest.param({"generator": {"name": "g"}}, id="generator without model"),
        pytest.param({"sources": [{"uri": "u", "digest": "md5:0"}]}, id="bad source digest"),
    ],
)
def test_schema_rejects_altered_record_payloads(
    validator: jsonschema.protocols.Validator, change: dict[str, Any]
) -> None:
    document = {**json.loads(_record().payload()), **change}

    assert not validator.is_valid(document)


def test_schema_rejects_a_payload_missing_a_required_field(
    validator: jsonschema.protocols.Validator,
) -> None:
    document = json.loads(_record().payload())
    del document["sample_id"]

    assert not validator.is_valid(document)


@pytest.mark.parametrize("value", ["deep", "object"])
def test_generator_parameters_that_are_not_json_are_an_input_error(value: str) -> None:
    nested: object = "x"
    for _ in range(300):
        nested = [nested]
    parameters = {"x": nested if value == "deep" else object()}
    generator = Generator(name="g", model="m", parameters=parameters)
    with pytest.raises(InputError, match="generator 'g': parameters are not JSON"):
        generator.canonical()
