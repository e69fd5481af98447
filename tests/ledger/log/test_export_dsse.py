"""A third-party DSSE verifier (securesystemslib) accepts the ledger's stored envelopes.

securesystemslib matches signatures to keys by keyid and computes its own default keyid for a
key; ours is `sha256:` of the raw public key. So the key is built with our keyid, which is what
a verifier reading our exported key and envelopes would do.
"""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey
from sqlalchemy import text

from synthguard.provenance.record import KEY_EVENT_TYPE, RECORD_TYPE, LineageRecord


def _stored_envelope(ledger, seq):
    with ledger.engine.connect() as conn:
        stored = conn.execute(text("SELECT envelope FROM entries WHERE seq = :s"), {"s": seq})
        return bytes(stored.scalar_one())


def _their_key(ledger_key, keyid):
    public = load_pem_public_key(ledger_key.public.pem().encode("ascii"))
    return SSlibKey.from_crypto(public, keyid=keyid)


@pytest.fixture
def ledger_exported(ledger_db, ledger_records):
    records, contents = ledger_records(ledger_db.key_id, 3)
    ledger_db.append(records, contents)
    return ledger_db, records


def test_securesystemslib_verifies_a_stored_record(ledger_exported, ledger_key):
    ledger, records = ledger_exported
    envelope = Envelope.from_dict(json.loads(_stored_envelope(ledger, 2)))
    key = _their_key(ledger_key, ledger_key.key_id)

    accepted = envelope.verify([key], 1)

    assert list(accepted) == [ledger_key.key_id]
    assert envelope.payload_type == RECORD_TYPE
    signed = LineageRecord.from_payload(envelope.payload)
    assert signed.record_id is not None
    assert envelope.payload == records[1].payload(signed.ledger, signed.record_id)


def test_securesystemslib_verifies_the_genesis_key_event(ledger_exported, ledger_key):
    ledger, _ = ledger_exported
    envelope = Envelope.from_dict(json.loads(_stored_envelope(ledger, 0)))
    assert envelope.payload_type == KEY_EVENT_TYPE
    assert envelope.verify([_their_key(ledger_key, ledger_key.key_id)], 1)


def test_securesystemslib_matches_signatures_by_keyid(ledger_exported, ledger_key):
    ledger, _ = ledger_exported
    default = _their_key(ledger_key, None)  # securesystemslib's own keyid for the same key
    assert default.keyid != ledger_key.key_id
    envelope = Envelope.from_dict(json.loads(_stored_envelope(ledger, 1)))
    with pytest.raises(VerificationError):
        envelope.verify([default], 1)


def test_securesystemslib_rejects_a_tampered_envelope(ledger_exported, ledger_key):
    ledger, _ = ledger_exported
    stored = json.loads(_stored_envelope(ledger, 2))
    payload = json.loads(base64.b64decode(stored["payload"]))
    payload["run_id"] = "someone else's run"
    stored["payload"] = base64.b64encode(json.dumps(payload).encode()).decode("ascii")
    envelope = Envelope.from_dict(stored)
    with pytest.raises(VerificationError):
        envelope.verify([_their_key(ledger_key, ledger_key.key_id)], 1)
