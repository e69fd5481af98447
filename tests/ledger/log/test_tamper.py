"""The tamper suite: an attacker edits the database directly and verify names what broke.

Every test starts from a ledger of 31 entries (genesis + 30 records) with checkpoints at
10, 20, 30 and 31, and a copy of the latest checkpoint kept outside the ledger.
"""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3

import pytest

from synthguard.ledger.log.checkpoint import sign_checkpoint
from synthguard.ledger.log.merkle import root
from synthguard.ledger.log.store import Ledger
from synthguard.ledger.log.verify import verify_ledger
from synthguard.provenance.canonical import canonical_json, digest
from synthguard.provenance.dsse import sign_envelope
from synthguard.provenance.errors import VerificationError
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.record import KEY_EVENT_TYPE, KeyAction, KeyEvent, utc_now

SIZE = 31


@pytest.fixture
def ledger_filled(ledger_db, ledger_records, ledger_attacker):
    """(ledger, kept checkpoint note, attacker) for a ledger of SIZE entries."""
    for i in range(3):
        ledger_db.append(*ledger_records(ledger_db.key_id, 10, tag=f"batch{i}"))
    kept = ledger_db.checkpoint()
    assert kept.size == SIZE
    assert [row.size for row in ledger_db.checkpoints()] == [10, 20, 30, 31]
    verify_ledger(ledger_db, kept_checkpoint=kept.note)
    return ledger_db, kept.note, ledger_attacker(ledger_db.url)


def _fails_at(ledger, seq, match, **options):
    with pytest.raises(VerificationError, match=match) as caught:
        verify_ledger(ledger, **options)
    assert caught.value.seq == seq, str(caught.value)
    return caught.value


def _rewrite_checkpoints(ledger, attacker, key):
    """Re-sign every checkpoint over the current leaf hashes, as an insider with the key could."""
    leaves = [bytes(h) for (h,) in attacker.execute("SELECT leaf_hash FROM entries ORDER BY seq")]
    for (size,) in attacker.execute("SELECT size FROM checkpoints"):
        new_root = root(leaves[:size])
        note = sign_checkpoint(ledger.origin, size, new_root, key)
        attacker.execute(
            "UPDATE checkpoints SET note = :n, root = :r, key_id = :k WHERE size = :s",
            n=note,
            r=new_root,
            k=key.key_id,
            s=size,
        )


def _with_payload_char_changed(envelope: bytes) -> bytes:
    position = envelope.index(b'"payload":"') + len(b'"payload":"') + 40
    changed = b"B" if envelope[position : position + 1] != b"B" else b"C"
    return envelope[:position] + changed + envelope[position + 1 :]


def test_one_changed_byte_in_an_envelope(ledger_filled):
    ledger, _, attacker = ledger_filled
    attacker.set_envelope(
        12, _with_payload_char_changed(attacker.entry(12)["envelope"]), rehash=False
    )
    _fails_at(ledger, 12, "leaf hash does not match")


def test_one_changed_byte_with_the_leaf_hash_recomputed(ledger_filled):
    ledger, _, attacker = ledger_filled
    attacker.set_envelope(
        12, _with_payload_char_changed(attacker.entry(12)["envelope"]), rehash=True
    )
    _fails_at(ledger, 12, "signature does not verify")


@pytest.mark.parametrize("rehash", [True, False], ids=["leaf-recomputed", "leaf-stale"])
def test_a_changed_signature(ledger_filled, ledger_key, rehash):
    ledger, _, attacker = ledger_filled
    envelope = json.loads(attacker.entry(12)["envelope"])
    other = ledger_key.sign(b"some other message")  # a real signature by the right key
    envelope["signatures"][0]["sig"] = base64.b64encode(other).decode("ascii")
    attacker.set_envelope(12, canonical_json(envelope), rehash=rehash)
    _fails_at(ledger, 12, "signature does not verify" if rehash else "leaf hash does not match")


def test_a_deleted_middle_entry(ledger_filled):
    ledger, _, attacker = ledger_filled
    attacker.execute("DELETE FROM entries WHERE seq = 12")
    _fails_at(ledger, 12, "entry 12 is missing")


def test_a_moved_entry_below_zero(ledger_filled):
    # Same count and same maximum seq as before, but entry 12 now sits at -1.
    ledger, _, attacker = ledger_filled
    attacker.execute("UPDATE entries SET seq = -1 WHERE seq = 12")
    _fails_at(ledger, 12, "missing")


_COLUMNS = ("leaf_hash", "envelope", "key_id", "payload_type", "event", "sample_id", "time")


def _swap(attacker, a, b, *, rehash):
    first, second = attacker.entry(a), attacker.entry(b)
    for seq, row in ((a, second), (b, first)):
        if rehash:
            row["leaf_hash"] = attacker.leaf_hash(seq, row["envelope"])
        attacker.execute(
            "UPDATE entries SET " + ", ".join(f"{c} = :{c}" for c in _COLUMNS) + " WHERE seq = :s",
            s=seq,
            **{c: row[c] for c in _COLUMNS},
        )


def test_two_swapped_entries(ledger_filled):
    ledger, _, attacker = ledger_filled
    _swap(attacker, 8, 21, rehash=False)
    _fails_at(ledger, 8, "leaf hash does not match")


def test_two_swapped_entries_with_leaf_hashes_recomputed(ledger_filled):
    # Signatures do not cover the position, so only the checkpoints' roots can catch this.
    ledger, _, attacker = ledger_filled
    _swap(attacker, 8, 21, rehash=True)
    with pytest.raises(VerificationError, match="rewritten"):
        verify_ledger(ledger)


def test_a_changed_index_column(ledger_filled):
    ledger, _, attacker = ledger_filled
    attacker.execute("UPDATE entries SET event = 'released' WHERE seq = 17")
    _fails_at(ledger, 17, "differs from the signed record")


@pytest.mark.parametrize("seq", [0, 17])
def test_a_changed_time_column(ledger_filled, seq):
    # The time an entry is listed and described with is the one its payload signs.
    ledger, _, attacker = ledger_filled
    attacker.execute(
        "UPDATE entries SET time = '2001-01-01T00:00:00.000000Z' WHERE seq = :s", s=seq
    )
    _fails_at(ledger, seq, "stored time differs from the signed one")


def test_an_appended_entry_signed_by_an_unknown_key(ledger_filled, ledger_records):
    ledger, _, attacker = ledger_filled
    stranger = SigningKey.generate()
    records, _ = ledger_records(stranger.key_id, 1, tag="intruder")
    attacker.insert_entry(SIZE, attacker.sign(records[0], stranger, ledger.origin), stranger.key_id)
    _fails_at(ledger, SIZE, "added without a key")
    # With a checkpoint forged over it as well, the signature is what fails.
    attacker.forge_checkpoint(ledger.origin, stranger)
    _fails_at(ledger, SIZE, "unknown key")


def test_an_appended_entry_claiming_the_ledger_key(ledger_filled, ledger_records, ledger_key):
    ledger, _, attacker = ledger_filled
    stranger = SigningKey.generate()
    records, _ = ledger_records(ledger_key.key_id, 1, tag="intruder")
    envelope = json.loads(attacker.sign(records[0], stranger, ledger.origin))
    envelope["signatures"][0]["keyid"] = ledger_key.key_id
    attacker.insert_entry(SIZE, canonical_json(envelope), ledger_key.key_id)
    _fails_at(ledger, SIZE, "added without a key")
    attacker.forge_checkpoint(ledger.origin, stranger)
    _fails_at(ledger, SIZE, "signature does not verify")


def _truncate(attacker, keep):
    attacker.execute("DELETE FROM entries WHERE seq >= :n", n=keep)
    attacker.execute("DELETE FROM checkpoints WHERE size > :n", n=keep)
    # A careful attacker also drops the content that only the cut entries named.
    attacker.execute(
        "DELETE FROM samples WHERE sample_id NOT IN "
        "(SELECT sample_id FROM entries WHERE sample_id IS NOT NULL)"
    )


def test_a_truncated_tail_after_a_kept_checkpoint(ledger_filled, ledger_records):
    ledger, kept, attacker = ledger_filled
    ledger.append(*ledger_records(ledger.key_id, 25, tag="later"))
    kept = ledger.checkpoint().note
    verify_ledger(ledger, kept_checkpoint=kept)

    # Cut back to the thinned checkpoint at 30: the ledger alone looks like a shorter,
    # consistent history...
    _truncate(attacker, 30)
    assert verify_ledger(ledger).size == 30
    # ...which the checkpoint kept outside contradicts.
    _fails_at(ledger, 30, "cut off", kept_checkpoint=kept)


def test_a_truncated_tail_between_checkpoints(ledger_filled):
    ledger, _, attacker = ledger_filled
    _truncate(attacker, 25)
    _fails_at(ledger, 20, "added without a key")


def test_a_truncated_tail_with_its_checkpoints_left_behind(ledger_filled):
    ledger, _, attacker = ledger_filled
    attacker.execute("DELETE FROM entries WHERE seq >= 25")
    _fails_at(ledger, 25, "cut off")


def test_rewritten_history_is_caught_only_by_the_kept_checkpoint(
    ledger_filled, ledger_records, ledger_key
):
    # An insider holding the signing key replaces entry 12 with another validly signed record
    # and re-signs every checkpoint after it: the ledger is self-consistent again.
    ledger, kept, attacker = ledger_filled
    records, contents = ledger_records(ledger_key.key_id, 1, tag="rewritten")
    old = attacker.entry(12)["sample_id"]
    attacker.execute(
        "UPDATE entries SET sample_id = :s, time = :t WHERE seq = 12",
        s=records[0].sample_id,
        t=records[0].time,
    )
    attacker.set_envelope(12, attacker.sign(records[0], ledger_key, ledger.origin), rehash=True)
    text = canonical_json(contents[records[0].sample_id])
    attacker.execute(
        "UPDATE samples SET sample_id = :new, digest = :d, content = :c WHERE sample_id = :old",
        new=records[0].sample_id,
        d=digest(text),
        c=text.decode(),
        old=old,
    )
    _rewrite_checkpoints(ledger, attacker, ledger_key)

    assert verify_ledger(ledger).size == SIZE
    with pytest.raises(VerificationError, match="rewritten"):
        verify_ledger(ledger, kept_checkpoint=kept)


def test_a_checkpoint_note_with_a_changed_root(ledger_filled):
    ledger, _, attacker = ledger_filled
    (note,) = attacker.execute("SELECT note FROM checkpoints WHERE size = 20")[0]
    lines = note.split("\n")
    lines[2] = base64.b64encode(bytes(32)).decode("ascii")
    attacker.execute("UPDATE checkpoints SET note = :n WHERE size = 20", n="\n".join(lines))
    with pytest.raises(VerificationError, match="no valid signature"):
        verify_ledger(ledger)


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE checkpoints SET note = CAST(note AS BLOB) WHERE size = 20",
        "UPDATE checkpoints SET root = hex(root) WHERE size = 20",
    ],
)
def test_a_checkpoint_column_stored_as_another_type(tmp_path, ledger_key, ledger_records, edit):
    """SQLite stores any type in any column: the row is named, not an unexpected TypeError."""
    ledger = Ledger.create(f"sqlite:///{tmp_path / 'l.db'}", ledger_key, checkpoint_interval=10)
    try:
        for i in range(3):
            ledger.append(*ledger_records(ledger.key_id, 10, tag=f"batch{i}"))
        connection = sqlite3.connect(tmp_path / "l.db")
        with connection:
            connection.execute(edit)
        connection.close()
        _fails_at(ledger, 19, "checkpoint row 20: its note or root is stored as another type")
    finally:
        ledger.close()


def test_a_checkpoint_signed_by_an_unknown_key(ledger_filled):
    ledger, _, attacker = ledger_filled
    (row_root,) = attacker.execute("SELECT root FROM checkpoints WHERE size = 20")[0]
    note = sign_checkpoint(ledger.origin, 20, bytes(row_root), SigningKey.generate())
    attacker.execute("UPDATE checkpoints SET note = :n WHERE size = 20", n=note)
    with pytest.raises(VerificationError, match="no valid signature by a known ledger key"):
        verify_ledger(ledger)


def test_a_kept_checkpoint_signed_by_an_unknown_key(ledger_filled):
    ledger, _, _ = ledger_filled
    latest = ledger.latest_checkpoint()
    forged = sign_checkpoint(ledger.origin, latest.size, latest.root, SigningKey.generate())
    with pytest.raises(VerificationError, match="no valid signature"):
        verify_ledger(ledger, kept_checkpoint=forged)


def _genesis(key, origin):
    event = KeyEvent(
        action=KeyAction.ADDED,
        key_id=key.key_id,
        public_key=base64.b64encode(key.public.raw).decode("ascii"),
        time=utc_now(),
        signer=key.key_id,
    )
    return sign_envelope(event.payload(origin, secrets.token_hex(16)), KEY_EVENT_TYPE, key)


def test_a_replaced_genesis_key(ledger_filled, ledger_key):
    ledger, _, attacker = ledger_filled
    impostor = SigningKey.generate()
    attacker.set_envelope(0, _genesis(impostor, ledger.origin), rehash=True)
    attacker.execute("UPDATE entries SET key_id = :k WHERE seq = 0", k=impostor.key_id)
    _fails_at(ledger, 0, "pinned root key", root_key_id=ledger_key.key_id)
    # Unpinned, the impostor's genesis checks out, and the first entry it did not sign fails.
    _fails_at(ledger, 1, "unknown key")


def test_a_ledger_resigned_under_another_genesis_key(ledger_filled, ledger_key):
    # Everything re-signed by an impostor is self-consistent; only the pinned root key catches it.
    ledger, _, attacker = ledger_filled
    impostor = SigningKey.generate()
    attacker.set_envelope(0, _genesis(impostor, ledger.origin), rehash=True)
    for seq in range(1, SIZE):
        envelope = json.loads(attacker.entry(seq)["envelope"])
        payload = json.loads(base64.b64decode(envelope["payload"]))
        payload["signer"] = impostor.key_id
        resigned = sign_envelope(canonical_json(payload), envelope["payloadType"], impostor)
        attacker.set_envelope(seq, resigned, rehash=True)
    attacker.execute("UPDATE entries SET key_id = :k", k=impostor.key_id)
    _rewrite_checkpoints(ledger, attacker, impostor)

    assert verify_ledger(ledger).size == SIZE
    _fails_at(ledger, 0, "pinned root key", root_key_id=ledger_key.key_id)


def test_the_first_bad_entry_is_named_before_a_later_bad_key_event(ledger_filled, ledger_records):
    ledger, _, attacker = ledger_filled
    ledger.append([ledger.key_event(KeyAction.ADDED, SigningKey.generate())])
    ledger.append(*ledger_records(ledger.key_id, 5, tag="later"))
    key_event = attacker.entry(SIZE)["envelope"]
    attacker.set_envelope(SIZE, _with_payload_char_changed(key_event), rehash=True)
    _fails_at(ledger, SIZE, "key event")

    attacker.set_envelope(
        12, _with_payload_char_changed(attacker.entry(12)["envelope"]), rehash=False
    )
    _fails_at(ledger, 12, "leaf hash does not match")
