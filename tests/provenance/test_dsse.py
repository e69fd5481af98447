from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from hypothesis import given
from hypothesis import strategies as st
from securesystemslib import exceptions as ssl_exceptions
from securesystemslib.dsse import Envelope as SslEnvelope
from securesystemslib.signer import CryptoSigner, SSlibKey

from synthguard.provenance.dsse import Envelope, json_value, open_envelope, pae, sign_envelope
from synthguard.provenance.errors import VerificationError
from synthguard.provenance.keys import SigningKey, VerifyingKey

KEY = SigningKey.generate()
OTHER = SigningKey.generate()
TRUSTED = {KEY.key_id: KEY.public}
PAYLOAD = b'{"event":"generated","n":1}'
TYPE = "application/vnd.synthguard.lineage.v1+json"
ODD_TYPES = [
    "",
    'quote " and backslash \\',
    "controls \x00\x01\x08\t\n\x0c\r\x1f and DEL \x7f",
    "slash / and plus +",
    "non-ASCII \u00e9\u20ac\ufb33 and outside the BMP \U0001f600",
    "line separators \u2028\u2029",
]


def _edit(envelope: bytes, **changes: Any) -> bytes:
    document = json.loads(envelope)
    for name, change in changes.items():
        if name == "signature":
            document["signatures"][0] = change(document["signatures"][0])
        else:
            document[name] = change(document[name])
    return json.dumps(document).encode()


def _flip_base64_byte(text: str, index: int = 0) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_pae_matches_the_dsse_spec_vector() -> None:
    expected = b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"

    assert pae("http://example.com/HelloWorld", b"hello world") == expected


def test_pae_lengths_count_utf8_bytes_not_characters() -> None:
    assert pae("\u00e9", b"") == b"DSSEv1 2 \xc3\xa9 0 "
    assert pae("", b"\x00 \n") == b"DSSEv1 0  3 \x00 \n"


def test_signed_envelope_opens_to_its_type_payload_and_signer() -> None:
    envelope = sign_envelope(PAYLOAD, TYPE, KEY)

    assert open_envelope(envelope, TRUSTED) == (TYPE, PAYLOAD, KEY.key_id)
    assert open_envelope(envelope, TRUSTED.get) == (TYPE, PAYLOAD, KEY.key_id)


def test_signature_is_ed25519_over_the_pae() -> None:
    envelope = Envelope.from_bytes(sign_envelope(PAYLOAD, TYPE, KEY))
    sig = base64.b64decode(envelope.signatures[0].sig)

    assert KEY.public.verify(sig, pae(TYPE, PAYLOAD))
    assert not KEY.public.verify(sig, PAYLOAD)


def test_an_unknown_signature_next_to_a_good_one_is_ignored() -> None:
    envelope = sign_envelope(PAYLOAD, TYPE, KEY)
    foreign = json.loads(sign_envelope(PAYLOAD, TYPE, OTHER))["signatures"][0]
    both = _edit(envelope, signatures=lambda sigs: [foreign, *sigs])

    assert open_envelope(both, TRUSTED) == (TYPE, PAYLOAD, KEY.key_id)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param({"payload": _flip_base64_byte}, id="payload byte"),
        pytest.param({"payload": lambda p: _flip_base64_byte(p, -1)}, id="last payload byte"),
        pytest.param(
            {"signature": lambda s: {**s, "sig": _flip_base64_byte(s["sig"])}}, id="sig byte"
        ),
        pytest.param(
            {"signature": lambda s: {**s, "sig": _flip_base64_byte(s["sig"], 63)}},
            id="last sig byte",
        ),
        pytest.param({"payloadType": lambda t: t + "x"}, id="payloadType"),
        pytest.param({"payloadType": lambda t: t.upper()}, id="payloadType case"),
        pytest.param({"signature": lambda s: {**s, "sig": ""}}, id="empty sig"),
        pytest.param({"signature": lambda s: {**s, "sig": "not base64!"}}, id="garbage sig"),
    ],
)
def test_tampering_raises_verification_error(tamper: dict[str, Any]) -> None:
    envelope = _edit(sign_envelope(PAYLOAD, TYPE, KEY), **tamper)

    with pytest.raises(VerificationError, match="does not verify"):
        open_envelope(envelope, TRUSTED)


def test_signature_by_an_unknown_key_raises_verification_error() -> None:
    envelope = sign_envelope(PAYLOAD, TYPE, OTHER)

    with pytest.raises(VerificationError, match="unknown key") as caught:
        open_envelope(envelope, TRUSTED)
    assert OTHER.key_id in str(caught.value)


def test_signature_by_another_key_claiming_a_trusted_key_id_does_not_verify() -> None:
    impostor = _edit(
        sign_envelope(PAYLOAD, TYPE, OTHER),
        signature=lambda s: {**s, "keyid": KEY.key_id},
    )

    with pytest.raises(VerificationError, match="does not verify"):
        open_envelope(impostor, TRUSTED)


def _envelope(**fields: Any) -> bytes:
    good = json.loads(sign_envelope(PAYLOAD, TYPE, KEY))
    return json.dumps({**good, **fields}).encode()


GOOD_SIGNATURE = json.loads(sign_envelope(PAYLOAD, TYPE, KEY))["signatures"][0]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not json", id="not json"),
        pytest.param(b"\xff\xfe", id="not utf-8"),
        pytest.param(b"null", id="null"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'"payload"', id="string"),
        pytest.param(json.dumps({"payloadType": TYPE, "signatures": []}).encode(), id="no payload"),
        pytest.param(json.dumps({"payload": "", "signatures": []}).encode(), id="no type"),
        pytest.param(json.dumps({"payload": "", "payloadType": TYPE}).encode(), id="no sigs"),
        pytest.param(_envelope(payload="!!!!"), id="payload not base64"),
        pytest.param(_envelope(payload="YQ"), id="payload unpadded"),
        pytest.param(_envelope(payload=5), id="payload int"),
        pytest.param(_envelope(payloadType=5), id="type int"),
        pytest.param(_envelope(payloadType=None), id="type null"),
        pytest.param(_envelope(payloadType="\ud800"), id="type lone surrogate"),
        pytest.param(_envelope(signatures={"keyid": KEY.key_id}), id="sigs object"),
        pytest.param(_envelope(signatures=[]), id="no signature"),
        pytest.param(_envelope(signatures=[1, "x", None]), id="sigs not objects"),
        pytest.param(_envelope(signatures=[{"sig": GOOD_SIGNATURE["sig"]}]), id="no keyid"),
        pytest.param(_envelope(signatures=[{"keyid": KEY.key_id}]), id="no sig"),
        pytest.param(
            _envelope(signatures=[{"keyid": [KEY.key_id], "sig": GOOD_SIGNATURE["sig"]}]),
            id="keyid list",
        ),
        pytest.param(_envelope(signatures=[{"keyid": KEY.key_id, "sig": 5}]), id="sig int"),
        pytest.param(
            _envelope(signatures=[{"keyid": KEY.key_id, "sig": [GOOD_SIGNATURE["sig"]]}]),
            id="sig list",
        ),
    ],
)
def test_malformed_envelope_raises_verification_error(data: bytes) -> None:
    with pytest.raises(VerificationError):
        open_envelope(data, TRUSTED)


@pytest.mark.parametrize("data", [b"", b"[]", b'{"payload":"","payloadType":"t"}', b"\xff"])
def test_envelope_from_bytes_rejects_non_envelopes(data: bytes) -> None:
    with pytest.raises(VerificationError, match="not a DSSE envelope"):
        Envelope.from_bytes(data)


@pytest.mark.parametrize("payload_type", ODD_TYPES)
def test_envelope_bytes_are_canonical_and_parse(payload_type: str) -> None:
    envelope = sign_envelope(PAYLOAD, payload_type, KEY)

    assert envelope == rfc8785.dumps(json.loads(envelope))
    parsed = Envelope.from_bytes(envelope)
    assert parsed.payload_type == payload_type
    assert parsed.payload_bytes() == PAYLOAD
    assert [s.keyid for s in parsed.signatures] == [KEY.key_id]
    assert open_envelope(envelope, TRUSTED) == (payload_type, PAYLOAD, KEY.key_id)


@given(st.text(st.characters(codec="utf-8")), st.binary())
def test_any_type_and_payload_sign_to_a_canonical_envelope_that_opens(
    payload_type: str, payload: bytes
) -> None:
    envelope = sign_envelope(payload, payload_type, KEY)

    assert envelope == rfc8785.dumps(json.loads(envelope))
    assert Envelope.from_bytes(envelope).payload_bytes() == payload
    assert open_envelope(envelope, TRUSTED) == (payload_type, payload, KEY.key_id)


def _ssl_key(key: VerifyingKey) -> SSlibKey:
    # securesystemslib's Envelope.verify only tries a key on a signature whose keyid equals the
    # key's keyid (a deviation from DSSE it documents, its issue #416), and its default keyid is
    # a hash of its own key dict, not our `sha256:<hex of raw key>`. So we name the ssl key with
    # our key id instead of rewriting the envelope: the signed bytes stay exactly ours.
    return SSlibKey.from_crypto(load_pem_public_key(key.pem().encode()), keyid=key.key_id)


@pytest.mark.parametrize("payload_type", [TYPE, *ODD_TYPES])
def test_securesystemslib_verifies_our_envelope(payload_type: str) -> None:
    envelope_bytes = sign_envelope(PAYLOAD, payload_type, KEY)
    key = _ssl_key(KEY.public)
    assert key.scheme == "ed25519"

    envelope = SslEnvelope.from_dict(json.loads(envelope_bytes))

    assert envelope.payload == PAYLOAD
    assert envelope.payload_type == payload_type
    assert envelope.pae() == pae(payload_type, PAYLOAD)
    assert envelope.verify([key], 1) == {KEY.key_id: key}


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param({"payload": _flip_base64_byte}, id="payload byte"),
        pytest.param(
            {"signature": lambda s: {**s, "sig": _flip_base64_byte(s["sig"])}}, id="sig byte"
        ),
        pytest.param({"payloadType": lambda t: t + "x"}, id="payloadType"),
    ],
)
def test_securesystemslib_rejects_a_tampered_envelope(tamper: dict[str, Any]) -> None:
    envelope_bytes = _edit(sign_envelope(PAYLOAD, TYPE, KEY), **tamper)

    envelope = SslEnvelope.from_dict(json.loads(envelope_bytes))

    with pytest.raises(ssl_exceptions.VerificationError):
        envelope.verify([_ssl_key(KEY.public)], 1)


def test_securesystemslib_rejects_our_envelope_under_another_key() -> None:
    envelope = SslEnvelope.from_dict(json.loads(sign_envelope(PAYLOAD, TYPE, KEY)))
    # The other key under our key's id, so the signature is actually checked against it.
    impostor = SSlibKey.from_crypto(
        load_pem_public_key(OTHER.public.pem().encode()), keyid=KEY.key_id
    )

    with pytest.raises(ssl_exceptions.VerificationError):
        envelope.verify([impostor], 1)


def test_we_open_an_envelope_signed_by_securesystemslib() -> None:
    private = Ed25519PrivateKey.generate()
    ours = SigningKey(private)
    signer = CryptoSigner(private, _ssl_key(ours.public))
    envelope = SslEnvelope(PAYLOAD, TYPE, {})
    envelope.sign(signer)

    data = json.dumps(envelope.to_dict()).encode()

    assert open_envelope(data, {ours.key_id: ours.public}) == (TYPE, PAYLOAD, ours.key_id)


def _loads(data: bytes | str) -> tuple[str, Any]:
    """What json.loads makes of `data`: ("value", it) or ("error", its type and message)."""
    try:
        return "value", json.loads(data)
    except (ValueError, RecursionError) as exc:
        return "error", (type(exc), str(exc))


def _json_value(data: bytes | str) -> tuple[str, Any]:
    try:
        return "value", json_value(data)
    except (ValueError, RecursionError) as exc:
        return "error", (type(exc), str(exc))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(
    JSON_VALUES,
    st.sampled_from(["", " ", "\n", "\ufeff", "\t "]),
    st.sampled_from(["", " ", "\n", "x", ",1", "\x00"]),
    st.sampled_from(["utf-8", "utf-16-le", "utf-16", "utf-32", "utf-8-sig", "str"]),
    st.booleans(),
)
def test_json_value_is_json_loads(
    value: Any, before: str, after: str, encoding: str, ascii_only: bool
) -> None:
    """The fast path gives json.loads's value or error for any text around any value, in any
    encoding json.loads detects (the bytes it would take for UTF-16 or UTF-32 included)."""
    text = before + json.dumps(value, ensure_ascii=ascii_only) + after
    data: bytes | str = text if encoding == "str" else text.encode(encoding, "surrogatepass")
    assert _json_value(data) == _loads(data)


@given(st.binary(max_size=40))
def test_json_value_is_json_loads_on_any_bytes(data: bytes) -> None:
    assert _json_value(data) == _loads(data)
