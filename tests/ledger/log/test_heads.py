"""Signed heads, one at a time: what binds a head to its ledger, its size and its number."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from ledger_support import new_ledger

from synthguard.ledger.log import HEAD_TYPE, HeadSeal, Ledger
from synthguard.provenance.canonical import canonical_json
from synthguard.provenance.dsse import sign_envelope
from synthguard.provenance.errors import VerificationError
from synthguard.provenance.keys import SigningKey

STATE = {"params": {"num_perm": 4}, "segments": [{"docs": 1, "sketches": 1, "sha256": "ab"}]}


def seal(ledger: Ledger, home: Path) -> HeadSeal:
    home.mkdir(exist_ok=True)
    return HeadSeal(ledger, home, "dedup-index", None)


def payload(envelope: bytes) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(base64.b64decode(json.loads(envelope)["payload"]))
    return body


def test_a_head_opens_where_it_was_signed_and_nowhere_else(tmp_path: Path) -> None:
    key = SigningKey.generate()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = new_ledger(tmp_path / "a", key), new_ledger(tmp_path / "b", key)
    envelope, head = seal(first, tmp_path / "home-a").sign(STATE, 0, None)

    opened = seal(first, tmp_path / "home-a").open(envelope, STATE, " here")
    assert opened == head
    assert head.version == 1
    # The same key, another ledger: the head names the ledger it belongs to.
    with pytest.raises(VerificationError, match="belongs to ledger"):
        seal(second, tmp_path / "home-b").open(envelope, STATE, " here")
    # Another state than the one signed.
    with pytest.raises(VerificationError, match="does not hold what its signed head lists"):
        seal(first, tmp_path / "home-a").open(envelope, {**STATE, "segments": []}, " here")


def test_a_head_for_a_size_the_ledger_has_not_reached_is_refused(tmp_path: Path) -> None:
    key = SigningKey.generate()
    ledger = new_ledger(tmp_path, key)
    envelope, _ = seal(ledger, tmp_path / "home").sign(STATE, 0, None)
    body = payload(envelope)
    body["size"] = ledger.size() + 5  # signed by the key: a key holder's doing, still refused
    forged = sign_envelope(canonical_json(body), HEAD_TYPE, key)

    with pytest.raises(VerificationError, match="for ledger size 6, at which that key could"):
        seal(ledger, tmp_path / "other-home").open(forged, STATE, " here")


def test_a_new_head_is_numbered_above_the_one_it_replaces(tmp_path: Path) -> None:
    ledger = new_ledger(tmp_path)
    sealer = seal(ledger, tmp_path / "home")
    replaced, _ = sealer.sign(STATE, 6, None)
    assert payload(replaced)["version"] == 7
    envelope, head = sealer.sign(STATE, 2, replaced)
    assert head.version == payload(envelope)["version"] == 8
    # Whatever the replaced bytes are, they only number the new head.
    huge = json.dumps(
        {"payload": base64.b64encode(json.dumps({"version": 2**60}).encode()).decode()}
    ).encode()  # a number no head can carry: it would stop the save after the verdicts
    for junk in (b"", b"{}", b'{"payload": "%%%"}', b"[1]", huge):
        assert sealer.sign(STATE, 2, junk)[1].version == 3
