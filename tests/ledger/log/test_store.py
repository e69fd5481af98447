"""The ledger store on SQLite and PostgreSQL: batches, atomicity, checkpoints, content, keys."""

from __future__ import annotations

import hashlib

import pytest

from synthguard.ledger.home import Home
from synthguard.ledger.log.checkpoint import sign_checkpoint, verify_checkpoint
from synthguard.ledger.log.merkle import root
from synthguard.ledger.log.store import Ledger
from synthguard.ledger.log.verify import verify_ledger
from synthguard.provenance.errors import KeyringError, LedgerError, VerificationError
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.record import Event, KeyAction, LineageRecord, utc_now


def _erased(record: LineageRecord, signer: str) -> LineageRecord:
    return LineageRecord(
        event=Event.ERASED,
        sample_id=record.sample_id,
        digest=record.digest,
        run_id="erasure",
        time=utc_now(),
        signer=signer,
        detail={"reason": "data subject request"},
    )


def _counts(attacker, table: str) -> int:
    return int(attacker.execute(f"SELECT count(*) FROM {table}")[0][0])


def test_batches_get_consecutive_seqs(ledger_db, ledger_records):
    assert ledger_db.size() == 1  # the genesis key event
    seqs = [ledger_db.append(*ledger_records(ledger_db.key_id, n, tag=f"b{n}")) for n in (3, 1, 50)]
    assert seqs == [[1, 2, 3], [4], list(range(5, 55))]
    assert ledger_db.append([]) == []
    assert ledger_db.size() == 55
    assert [e.seq for e in ledger_db.entries()] == list(range(55))
    verify_ledger(ledger_db)


def test_a_batch_with_a_foreign_signer_leaves_nothing(ledger_db, ledger_records, ledger_attacker):
    records, contents = ledger_records(ledger_db.key_id, 12)
    stranger = SigningKey.generate().key_id
    records[7] = records[7].model_copy(update={"signer": stranger})
    before = ledger_db.checkpoints()

    with pytest.raises(KeyringError, match="names signer"):
        ledger_db.append(records, contents)

    attacker = ledger_attacker(ledger_db.url)
    assert ledger_db.size() == 1
    assert _counts(attacker, "samples") == 0
    assert ledger_db.checkpoints() == before
    verify_ledger(ledger_db)


def test_a_batch_failing_inside_its_transaction_leaves_nothing(
    ledger_db, ledger_records, ledger_attacker
):
    ledger_db.append(*ledger_records(ledger_db.key_id, 5, tag="first"))
    attacker = ledger_attacker(ledger_db.url)
    checkpoints_before = ledger_db.checkpoints()
    # A stray checkpoint row at size 16 makes the batch's last insert collide, after its ten
    # entries, its content and the checkpoint at 10 (due inside this batch) were written.
    attacker.execute(
        "INSERT INTO checkpoints (size, root, note, key_id, time) "
        "VALUES (16, :root, 'stray', 'none', 'now')",
        root=b"\0" * 32,
    )
    records, contents = ledger_records(ledger_db.key_id, 10, tag="second")

    with pytest.raises(LedgerError, match="cannot append"):
        ledger_db.append(records, contents)

    assert [e.seq for e in ledger_db.entries()] == [0, 1, 2, 3, 4, 5]
    assert ledger_db.checkpoints()[:-1] == checkpoints_before
    assert all(ledger_db.sample(sid) is None for sid in contents)

    attacker.execute("DELETE FROM checkpoints WHERE size = 16")
    assert ledger_db.append(records, contents) == list(range(6, 16))
    assert all(ledger_db.sample(sid) == content for sid, content in contents.items())
    verify_ledger(ledger_db)


def test_every_batch_commits_a_checkpoint_of_the_whole_tree(ledger_db, ledger_records, ledger_key):
    # Genesis is entry 0; batches of 7, 13 and 15 bring the tree to 8, 21 and 36 entries.
    sizes = []
    for i, n in enumerate((7, 13, 15)):
        ledger_db.append(*ledger_records(ledger_db.key_id, n, tag=f"b{i}"))
        sizes.append([row.size for row in ledger_db.checkpoints()])
    # The latest always covers the whole tree; older ones thin out to every 10 entries.
    assert sizes == [[8], [10, 20, 21], [10, 20, 30, 36]]

    latest = ledger_db.checkpoint()
    assert latest.size == 36
    assert ledger_db.checkpoint() == latest  # nothing new: no new checkpoint
    assert len(ledger_db.checkpoints()) == 4

    leaves = [e.leaf_hash for e in ledger_db.entries()]
    for e in ledger_db.entries():
        assert e.leaf_hash == hashlib.sha256(b"\x00" + e.leaf).digest()
    for row in ledger_db.checkpoints():
        checkpoint, key_id = verify_checkpoint(row.note, [ledger_key.public])
        assert key_id == ledger_key.key_id
        assert checkpoint.origin == ledger_db.origin
        assert checkpoint.size == row.size
        assert checkpoint.root == row.root == root(leaves[: row.size])
    report = verify_ledger(ledger_db, kept_checkpoint=latest.note)
    assert (report.size, report.checkpoints, report.kept) == (36, 4, latest)


def test_content_is_stored_once_per_sample(ledger_db, ledger_records, ledger_attacker):
    records, contents = ledger_records(ledger_db.key_id, 3)
    ledger_db.append(records, contents)
    (sample_id, content), *_ = contents.items()
    critique = records[0].model_copy(update={"event": Event.CRITIQUED, "time": utc_now()})
    # Ids are content-addressed: content offered again under a stored id is left as it was.
    ledger_db.append([critique], {sample_id: {"text": "something else"}})

    attacker = ledger_attacker(ledger_db.url)
    rows = attacker.execute("SELECT count(*) FROM samples WHERE sample_id = :s", s=sample_id)
    assert rows[0][0] == 1
    assert _counts(attacker, "samples") == 3
    assert ledger_db.sample(sample_id) == content
    assert ledger_db.sample("sha256:" + "0" * 64) is None
    verify_ledger(ledger_db)


def test_erase_deletes_content_and_the_ledger_still_verifies(ledger_db, ledger_records):
    records, contents = ledger_records(ledger_db.key_id, 4)
    ledger_db.append(records, contents)
    target = records[1]

    seq = ledger_db.erase(_erased(target, ledger_db.key_id))

    assert seq == 5
    assert ledger_db.sample(target.sample_id) is None
    assert all(ledger_db.sample(r.sample_id) is not None for r in records if r is not target)
    erased = ledger_db.entry(seq)
    assert erased is not None
    assert (erased.event, erased.sample_id) == ("erased", target.sample_id)
    generated = ledger_db.entry(2)
    assert generated is not None
    assert generated.sample_id == target.sample_id  # the tree keeps the digest, not the content
    ledger_db.checkpoint()
    verify_ledger(ledger_db)


def test_content_put_back_after_a_signed_erasure_fails_verify(
    ledger_db, ledger_records, ledger_attacker
):
    # An erasure undone from a backup, without a key: the report would count the text again.
    records, contents = ledger_records(ledger_db.key_id, 2)
    ledger_db.append(records, contents)
    target = records[0]
    stored = ledger_attacker(ledger_db.url).execute(
        "SELECT sample_id, digest, content FROM samples WHERE sample_id = :s", s=target.sample_id
    )
    ledger_db.erase(_erased(target, ledger_db.key_id))
    ledger_db.checkpoint()
    verify_ledger(ledger_db)

    attacker = ledger_attacker(ledger_db.url)
    attacker.execute(
        "INSERT INTO samples (sample_id, digest, content) VALUES (:s, :d, :c)",
        s=stored[0][0],
        d=stored[0][1],
        c=stored[0][2],
    )
    with pytest.raises(VerificationError, match="content is stored although a signed `erased`"):
        verify_ledger(ledger_db)


def test_a_second_content_row_for_a_sample_fails_verify(ledger_db, ledger_records, ledger_attacker):
    # The samples table's key dropped, a forged row beside the genuine one (its digest
    # recomputed): one reader takes the first row, another the last.
    records, contents = ledger_records(ledger_db.key_id, 2)
    ledger_db.append(records, contents)
    ledger_db.checkpoint()
    attacker = ledger_attacker(ledger_db.url)
    if attacker.engine.dialect.name == "postgresql":
        attacker.execute("ALTER TABLE samples DROP CONSTRAINT samples_pkey")
    else:
        attacker.execute("CREATE TABLE loose AS SELECT * FROM samples")
        attacker.execute("DROP TABLE samples")
        attacker.execute("ALTER TABLE loose RENAME TO samples")
    forged = "forged text"
    attacker.execute(
        "INSERT INTO samples (sample_id, digest, content) VALUES (:s, :d, :c)",
        s=records[0].sample_id,
        d="sha256:" + hashlib.sha256(forged.encode()).hexdigest(),
        c=forged,
    )
    with pytest.raises(VerificationError, match="two content rows are stored for it"):
        verify_ledger(ledger_db)


def test_a_key_event_is_appended_alone(ledger_db, ledger_records):
    records, _ = ledger_records(ledger_db.key_id, 2)
    event = ledger_db.key_event(KeyAction.ADDED, SigningKey.generate())
    with pytest.raises(LedgerError, match="on its own"):
        ledger_db.append([records[0], event])
    assert ledger_db.size() == 1


@pytest.fixture
def ledger_home(tmp_path, ledger_url, passphrase):
    home = Home(tmp_path / "home")
    ledger = home.init(passphrase, db=ledger_url, checkpoint_interval=10)
    yield home, ledger
    ledger.close()


def test_rotation_hands_signing_to_the_new_key(
    ledger_home, passphrase, ledger_records, ledger_attacker
):
    home, ledger = ledger_home
    old = ledger.signer
    assert old is not None
    ledger.append(*ledger_records(old.key_id, 5, tag="before"))

    new_id = home.add_key(ledger, passphrase, rotate=True, reason="scheduled rotation")

    rotation = 6
    assert ledger.key_id == new_id == home.config()["active_key"]
    assert home.root_key() == old.key_id
    assert ledger.entry(rotation).event == KeyAction.ROTATED.value  # type: ignore[union-attr]
    rows = ledger.keys()
    assert {row.key_id: row.status for row in rows} == {
        old.key_id: "retired",
        new_id: "active",
    }
    after = ledger.append(*ledger_records(new_id, 5, tag="after"))
    assert after == list(range(7, 12))
    ledger.checkpoint()
    report = verify_ledger(ledger, root_key_id=home.root_key())
    assert (report.size, report.keys) == (12, 2)

    with Ledger.open(ledger.url, old) as stale:
        records, contents = ledger_records(old.key_id, 2, tag="stale")
        with pytest.raises(KeyringError, match="retired"):
            stale.append(records, contents)
    assert ledger.size() == 12

    # An insider with the old key writes straight into the table after the rotation.
    forged, _ = ledger_records(old.key_id, 1, tag="forged")
    attacker = ledger_attacker(ledger.url)
    attacker.insert_entry(12, attacker.sign(forged[0], old, ledger.origin), old.key_id)
    attacker.forge_checkpoint(ledger.origin, old)
    with pytest.raises(VerificationError, match="may not sign") as caught:
        verify_ledger(ledger, root_key_id=home.root_key())
    assert caught.value.seq == 12


def test_a_checkpoint_by_the_rotated_key_is_rejected(
    ledger_home, passphrase, ledger_records, ledger_attacker
):
    home, ledger = ledger_home
    old = ledger.signer
    assert old is not None
    home.add_key(ledger, passphrase, rotate=True, reason=None)
    ledger.append(*ledger_records(ledger.key_id, 8))
    ledger.checkpoint()
    verify_ledger(ledger)

    latest = ledger.latest_checkpoint()
    assert latest is not None
    note = sign_checkpoint(ledger.origin, latest.size, latest.root, old)
    attacker = ledger_attacker(ledger.url)
    attacker.execute("UPDATE checkpoints SET note = :n WHERE size = :s", n=note, s=latest.size)
    with pytest.raises(VerificationError, match="not valid at that size") as caught:
        verify_ledger(ledger)
    assert caught.value.seq == latest.size - 1


def test_revocation_ends_a_key(ledger_home, passphrase, ledger_records, ledger_attacker):
    home, ledger = ledger_home
    second_id = home.add_key(ledger, passphrase, rotate=False, reason="a second writer")
    second = SigningKey.load(home.key_path(second_id), passphrase)
    with Ledger.open(ledger.url, second) as writer:
        assert writer.append(*ledger_records(second_id, 3, tag="second")) == [2, 3, 4]
        ledger.append(*ledger_records(ledger.key_id, 2, tag="first"))

        home.revoke_key(ledger, second_id, reason="laptop lost")

        revocation = 7
        assert ledger.entry(revocation).event == KeyAction.REVOKED.value  # type: ignore[union-attr]
        with pytest.raises(KeyringError, match="revoked"):
            writer.append(*ledger_records(second_id, 1, tag="late"))
    ledger.checkpoint()
    # What the key signed before its revocation stays valid.
    report = verify_ledger(ledger, root_key_id=home.root_key())
    assert report.size == 8

    forged, _ = ledger_records(second_id, 1, tag="forged")
    attacker = ledger_attacker(ledger.url)
    attacker.insert_entry(8, attacker.sign(forged[0], second, ledger.origin), second_id)
    attacker.forge_checkpoint(ledger.origin, second)
    with pytest.raises(VerificationError, match="may not sign") as caught:
        verify_ledger(ledger, root_key_id=home.root_key())
    assert caught.value.seq == 8


_REFUSE_DELETES = {
    "sqlite": [
        "CREATE TRIGGER refuse BEFORE DELETE ON samples BEGIN SELECT RAISE(ABORT, 'refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ "
        "LANGUAGE plpgsql",
        "CREATE TRIGGER refuse BEFORE DELETE ON samples FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
}


def test_erase_is_one_transaction(ledger_db, ledger_records, ledger_attacker):
    # When the content cannot be deleted, no `erased` record may claim that it was.
    records, contents = ledger_records(ledger_db.key_id, 2)
    ledger_db.append(records, contents)
    attacker = ledger_attacker(ledger_db.url)
    for statement in _REFUSE_DELETES[attacker.engine.dialect.name]:
        attacker.execute(statement)

    with pytest.raises(Exception, match="refused"):
        ledger_db.erase(_erased(records[0], ledger_db.key_id))

    assert ledger_db.size() == 3
    assert ledger_db.sample(records[0].sample_id) is not None
    on_table = " ON samples" if attacker.engine.dialect.name == "postgresql" else ""
    attacker.execute("DROP TRIGGER refuse" + on_table)
    assert ledger_db.erase(_erased(records[0], ledger_db.key_id)) == 3
    assert ledger_db.sample(records[0].sample_id) is None
    verify_ledger(ledger_db)


def test_opening_a_missing_sqlite_file_refuses_and_creates_nothing(tmp_path):
    path = tmp_path / "absent.db"

    with pytest.raises(LedgerError, match=r"^no synthguard ledger at .*absent\.db"):
        Ledger.open(f"sqlite:///{path}")

    assert list(tmp_path.iterdir()) == []


def test_opening_a_file_that_is_not_a_database_is_a_ledger_error(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"plain text, not SQLite\n" * 200)

    with pytest.raises(LedgerError, match=r"notes\.db is not a synthguard ledger") as caught:
        Ledger.open(f"sqlite:///{path}")

    assert "sqlalche.me" not in str(caught.value)


def test_admit_decides_inside_the_lock_which_records_go_in(ledger_db, ledger_records):
    records, contents = ledger_records(ledger_db.key_id, 3)
    asked = []

    def second_only() -> list[int]:
        # Inside the lock: the ledger is as the writer synced it, this batch not in it yet.
        asked.append(ledger_db.size())
        return [1]

    seqs = ledger_db.append(records, contents, admit=second_only)
    assert asked == [1]
    assert seqs == [1]
    assert ledger_db.size() == 2
    # The content of the samples left out is not stored either.
    stored = [ledger_db.sample(record.sample_id) is not None for record in records]
    assert stored == [False, True, False]
    assert verify_ledger(ledger_db, workers=1).size == 2


def test_an_admit_that_refuses_appends_nothing(ledger_db, ledger_records):
    records, contents = ledger_records(ledger_db.key_id, 3)

    def refuse() -> None:
        raise LedgerError("decided otherwise")

    with pytest.raises(LedgerError, match="decided otherwise"):
        ledger_db.append(records, contents, admit=refuse)
    assert ledger_db.append(records, contents, admit=lambda: []) == []
    assert ledger_db.size() == 1
    assert ledger_db.append(records, contents) == [1, 2, 3]
    assert verify_ledger(ledger_db, workers=1).size == 4


@pytest.mark.parametrize(
    ("size", "why"),
    [("\u00b2", "is not a decimal number"), ("7" * 5000, "is not a decimal number")],
)
def test_a_note_size_that_is_no_ascii_count_is_a_verification_failure(
    ledger_key: SigningKey, size: str, why: str
) -> None:
    """`isdigit` took "²" and `int` then raised a ValueError (so did 5,000 digits): the
    commands said "unexpected ValueError" with status 2 (red-team, an edited bundle header)."""
    note = sign_checkpoint("example.com/log", 7, bytes(32), ledger_key)
    edited = note.replace("\n7\n", f"\n{size}\n", 1)
    with pytest.raises(VerificationError, match=why):
        verify_checkpoint(edited, [ledger_key.public])


def test_a_note_with_a_lone_surrogate_is_a_verification_failure(ledger_key: SigningKey) -> None:
    note = sign_checkpoint("example.com/log", 7, bytes(32), ledger_key)
    edited = note.replace("example.com/log\n", "example.com/l\udc80g\n", 1)
    with pytest.raises(VerificationError, match="not UTF-8 text"):
        verify_checkpoint(edited, [ledger_key.public])
