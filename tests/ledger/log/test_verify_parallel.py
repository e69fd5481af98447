"""Verification of large ledgers fans out over a process pool; it must still name the seq."""

from __future__ import annotations

import pytest

from synthguard.ledger.log import verify
from synthguard.ledger.log.verify import _Facts, verify_ledger
from synthguard.provenance.errors import VerificationError

SIZE = verify._PARALLEL_FROM + 501


@pytest.fixture
def ledger_large(ledger_db, ledger_records, ledger_attacker):
    """(ledger, attacker) for a ledger of SIZE entries, above the process-pool threshold."""
    for start in range(1, SIZE, 1000):
        count = min(1000, SIZE - start)
        ledger_db.append(*ledger_records(ledger_db.key_id, count, tag=f"from {start}"))
    ledger_db.checkpoint()
    return ledger_db, ledger_attacker(ledger_db.url)


def _flip_a_payload_byte(attacker, seq):
    envelope = attacker.entry(seq)["envelope"]
    position = envelope.index(b'"payload":"') + 30
    changed = b"A" if envelope[position : position + 1] != b"A" else b"B"
    attacker.set_envelope(
        seq, envelope[:position] + changed + envelope[position + 1 :], rehash=True
    )


def test_a_large_ledger_verifies_in_parallel(ledger_large):
    ledger, _ = ledger_large
    seen = []
    report = verify_ledger(ledger, workers=2, progress=seen.append)
    assert report.size == SIZE
    assert sum(seen) == SIZE
    assert len(seen) > 2  # one call per chunk: the work was split


@pytest.mark.parametrize("bad", [[4321], [2500, 4321]], ids=["last-chunk", "first-of-two"])
def test_a_tampered_entry_deep_inside_is_named(ledger_large, bad):
    ledger, attacker = ledger_large
    for seq in bad:
        _flip_a_payload_byte(attacker, seq)
    with pytest.raises(VerificationError, match="signature does not verify") as caught:
        verify_ledger(ledger, workers=2)
    assert caught.value.seq == min(bad)


def test_the_digests_records_sign_are_kept_per_sample() -> None:
    """One digest a sample as a string, several as a set: both answer the content check."""
    facts = _Facts("origin")
    one, two = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    facts.add(
        [
            (1, "a" * 32, 2, "s1", one, "generated", "k"),
            (2, "b" * 32, 2, "s2", one, "generated", "k"),
            (3, "c" * 32, 2, "s2", one, "screened", "k"),
            (4, "d" * 32, 2, "s2", two, "screened", "k"),
            (5, "e" * 32, 2, "s2", two, "screened", "k"),
        ]
    )
    assert facts.digests == {"s1": one, "s2": {one, two}}
    assert (facts.signs("s1", one), facts.signs("s1", two)) == (True, False)
    assert (facts.signs("s2", one), facts.signs("s2", two)) == (True, True)
    assert facts.signs("s3", one) is None
    assert facts.made == {"s1", "s2"}
