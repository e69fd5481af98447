"""Attacks by someone with the database but no key (ARCHITECTURE.md, threat 1).

Each test is written as that attacker would run it: plain SQL on the tables (through the
`ledger_attacker` fixture), recomputing whatever is public (leaf hashes, roots), with no key
and no passphrase; then the key holder's tools run as usual: verify, an append, a release.
Every attack must fail or be refused with a message naming what is wrong, and afterwards the
legitimate ledger (the database restored from before the attack) must still verify against
the checkpoint its home kept.

Every test starts from a ledger checkpointed every 4 entries, whose writer keeps its last
checkpoint in a home folder, holding these samples:
- X: generated, screened accepted, later screened quarantined (held);
- Y: generated, screened quarantined, released by a signed override, quarantined again (held);
- Z: generated, screened accepted;
- W0..W2: generated.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from synthguard.ledger.log.checkpoint import sign_checkpoint
from synthguard.ledger.log.kept import KeptCheckpoint
from synthguard.ledger.log.lineage import parse_lineage
from synthguard.ledger.log.merkle import root as merkle_root
from synthguard.ledger.log.store import Ledger
from synthguard.ledger.log.verify import VerifyReport, verify_ledger
from synthguard.ledger.release.create import create_release
from synthguard.ledger.screening import sign_override
from synthguard.provenance.canonical import canonical_json, digest, digest_json
from synthguard.provenance.dsse import sign_envelope
from synthguard.provenance.errors import InputError, VerificationError
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.record import (
    KEY_EVENT_TYPE,
    RECORD_TYPE,
    Event,
    Generator,
    KeyEvent,
    LineageRecord,
    utc_now,
)
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import sample_from_row

INTERVAL = 4
GENERATOR = Generator(name="self-instruct", provider="meta", model="llama-3-8b", version="2024-05")
GUARD = {
    "family": "backdoor",
    "name": "unicode",
    "version": "1",
    "config_digest": digest_json({"rules": ["invisible"]}),
}
FAILED = {"guard": "backdoor", "rule": "invisible", "score": 1.0, "passed": False}
ROWS = {
    "X": {"instruction": "Add 1 and 2.", "input": "", "output": "3"},
    "Y": {"instruction": "Add 2 and 3.", "input": "", "output": "5"},
    "Z": {"instruction": "Add 3 and 4.", "input": "", "output": "7"},
}
TABLES = ("ledger_info", "keys", "entries", "checkpoints", "samples")
# Far above any seq these ledgers reach: moving entries there and back never collides.
FAR = 1_000_000

Snapshot = dict[str, list[tuple[Any, ...]]]
# The `ledger_attacker` and `ledger_records` fixtures' types (tests/ledger/conftest.py).
Attacker = Any
MakeRecords = Callable[..., Any]


def sample_id(name: str) -> str:
    """The content-addressed id of ROWS[name]."""
    return sample_from_row(ROWS[name]).id


def screen(recorder: Recorder, row: dict[str, str], outcome: str) -> None:
    """Sign a `screened` record shaped as the guards' screen writes it."""
    verdicts = [FAILED] if outcome == "quarantined" else []
    recorder.screened(row, detail={"outcome": outcome, "verdicts": verdicts, "guards": [GUARD]})


@dataclass
class World:
    """A stocked ledger, its writer's home, and an attacker on its database."""

    url: str
    key: SigningKey
    home: Path
    attacker: Attacker
    tmp: Path
    origin: str
    seqs: dict[str, int]

    def kept(self) -> KeptCheckpoint:
        """The home's kept checkpoint."""
        return KeptCheckpoint(self.home)

    def kept_note(self) -> str | None:
        """What the home's kept checkpoint says now."""
        return self.kept().note()

    def writer(self) -> Ledger:
        """The key holder's handle, through the home."""
        return Ledger.open(self.url, self.key, self.kept())

    def verify(self, **options: Any) -> VerifyReport:
        """Verify as the key holder does in the home (kept checkpoint checked too)."""
        with Ledger.open(self.url, None, self.kept()) as ledger:
            return verify_ledger(ledger, root_key_id=self.key.key_id, **options)

    def fails_at(self, seq: int | None, match: str) -> VerificationError:
        """Verify must fail matching `match`, naming entry `seq`."""
        with pytest.raises(VerificationError, match=match) as caught:
            self.verify()
        assert caught.value.seq == seq, str(caught.value)
        return caught.value

    def size(self) -> int:
        """Entries in the database."""
        return int(self.attacker.execute("SELECT count(*) FROM entries")[0][0])

    def snapshot(self) -> Snapshot:
        """Every row of every ledger table (what a backup, or an attacker, copies)."""
        return snapshot(self.attacker)

    def restore(self, tables: Snapshot) -> None:
        """Put a snapshot back, replacing whatever the tables hold."""
        restore(self.attacker, tables)

    def release(self, name: str, *samples: str) -> None:
        """`release create` of the named samples, by the key holder through the home."""
        source = self.tmp / f"{name}.jsonl"
        source.write_text("".join(json.dumps(ROWS[s]) + "\n" for s in samples))
        with self.writer() as ledger:
            create_release(ledger, name, source, self.tmp / name)

    def recovers(self, before: Snapshot) -> None:
        """Restore the database from before the attack: it verifies in the home, and the home
        appends to it again."""
        self.restore(before)
        assert self.verify().size == len(before["entries"])
        with self.writer() as ledger:
            ledger.append(*_record(ledger, "after the attack"))
        assert self.verify().size == len(before["entries"]) + 1


def _record(ledger: Ledger, tag: str) -> tuple[list[LineageRecord], dict[str, Any]]:
    """A `generated` record the key holder would append, and its content: `append`'s
    arguments."""
    row = {"text": tag}
    record = LineageRecord(
        event=Event.GENERATED,
        sample_id=digest_json(row),
        digest=digest_json(row),
        generator=GENERATOR,
        depth=1,
        run_id="after",
        time=utc_now(),
        signer=ledger.key_id,
    )
    return [record], {record.sample_id: row}


def snapshot(attacker: Attacker) -> Snapshot:
    """Every row of every ledger table, bytes as bytes, in primary-key order."""
    tables: Snapshot = {}
    for table in TABLES:
        rows = attacker.execute(f"SELECT * FROM {table}")
        tables[table] = sorted(
            (tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows),
            key=lambda row: row[0],
        )
    return tables


def restore(attacker: Attacker, tables: Snapshot) -> None:
    """Replace every table's rows by a snapshot's, in one transaction."""
    with attacker.engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
            names = list(conn.execute(text(f"SELECT * FROM {table} WHERE 1 = 0")).keys())
            for row in tables[table]:
                marks = ", ".join(f":{name}" for name in names)
                conn.execute(
                    text(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"),
                    dict(zip(names, row, strict=True)),
                )


def copy_entry(attacker: Attacker, source: int, at: int) -> None:
    """Insert a byte-identical copy of entry `source` at `at`, moving the entries from `at` on
    one place up, every moved leaf hash recomputed (the leaf binds the seq)."""
    row = attacker.entry(source)
    size = int(attacker.execute("SELECT count(*) FROM entries")[0][0])
    attacker.execute("UPDATE entries SET seq = seq + :far WHERE seq >= :at", far=FAR, at=at)
    attacker.execute(
        "UPDATE entries SET seq = seq - :back WHERE seq >= :far", back=FAR - 1, far=FAR
    )
    for seq in range(at + 1, size + 1):
        attacker.set_envelope(seq, attacker.entry(seq)["envelope"], rehash=True)
    row["seq"], row["leaf_hash"] = at, attacker.leaf_hash(at, row["envelope"])
    attacker.execute(
        "INSERT INTO entries (seq, leaf_hash, envelope, key_id, payload_type, event, sample_id, "
        "time) VALUES (:seq, :leaf_hash, :envelope, :key_id, :payload_type, :event, :sample_id, "
        ":time)",
        **row,
    )


def swap_entries(attacker: Attacker, a: int, b: int) -> None:
    """Swap two entries' rows, leaf hashes recomputed for their new places."""
    columns = ("envelope", "key_id", "payload_type", "event", "sample_id", "time")
    first, second = attacker.entry(a), attacker.entry(b)
    for seq, row in ((a, second), (b, first)):
        attacker.execute(
            "UPDATE entries SET leaf_hash = :h, "
            + ", ".join(f"{c} = :{c}" for c in columns)
            + " WHERE seq = :s",
            h=attacker.leaf_hash(seq, row["envelope"]),
            s=seq,
            **{c: row[c] for c in columns},
        )


def _find(ledger: Ledger) -> dict[str, int]:
    """The seqs of the stock's records, read from their signed payloads."""
    names = {sample_id(name): name for name in ROWS}
    seqs: dict[str, int] = {}
    for entry in ledger.entries():
        record = parse_lineage(entry.seq, entry.envelope)
        if record is None or record.sample_id not in names:
            continue
        name = names[record.sample_id]
        if record.event.value == "screened":
            seqs[f"{name} {record.detail['outcome']}"] = entry.seq  # the latest of each
        elif record.event.value == "reviewed":
            seqs[f"{name} override"] = entry.seq
    return seqs


@pytest.fixture
def world(
    ledger_url: str,
    ledger_key: SigningKey,
    ledger_attacker: Callable[[str], Attacker],
    tmp_path: Path,
) -> World:
    """The stocked ledger described in the module docstring; it verifies."""
    home = tmp_path / "home"
    home.mkdir()
    kept = KeptCheckpoint(home)
    with Ledger.create(ledger_url, ledger_key, checkpoint_interval=INTERVAL, kept=kept) as ledger:
        with Recorder(ledger) as recorder:
            for row in ROWS.values():
                recorder.generated(row, GENERATOR)
            screen(recorder, ROWS["X"], "accepted")
            screen(recorder, ROWS["Z"], "accepted")
            screen(recorder, ROWS["Y"], "quarantined")
            recorder.flush()
            sign_override(
                ledger, recorder, sample_id("Y"), reason="a false positive", reviewer="ana"
            )
            screen(recorder, ROWS["X"], "quarantined")
            screen(recorder, ROWS["Y"], "quarantined")
            for i in range(3):
                recorder.generated({"text": f"W{i}"}, GENERATOR)
        seqs = _find(ledger)
        origin = ledger.origin
    attacker = ledger_attacker(ledger_url)
    made = World(ledger_url, ledger_key, home, attacker, tmp_path, origin, seqs)
    assert made.verify().size == made.size() == 13
    assert sorted(seqs) == [
        "X accepted",
        "X quarantined",
        "Y override",
        "Y quarantined",
        "Z accepted",
    ]
    return made


# -- 1. replayed records ---------------------------------------------------------------------


@pytest.mark.parametrize("cover", ["forged-checkpoint", "uncovered"])
@pytest.mark.parametrize("place", ["tail", "middle"])
@pytest.mark.parametrize(
    ("copied", "sample"), [("X accepted", "X"), ("Y override", "Y")], ids=["accepted", "override"]
)
def test_a_replayed_record(world: World, copied: str, sample: str, place: str, cover: str) -> None:
    # The attacker copies the signed record that let the sample through (its `accepted`
    # screening, or the override that answered its first quarantine) after the quarantine
    # that holds it now, and may cover the ledger with a checkpoint of their own.
    before = world.snapshot()
    kept = world.kept_note()
    size = world.size()
    source = world.seqs[copied]
    at = size if place == "tail" else world.seqs[f"{sample} quarantined"] + 1
    assert at < size or place == "tail"

    copy_entry(world.attacker, source, at)
    world.fails_at(size, "added without a key")
    if cover == "forged-checkpoint":
        world.attacker.forge_checkpoint(world.origin, SigningKey.generate())
        world.fails_at(at, f"entry {at}: repeats the signed record of entry {source}")

    attacked = world.snapshot()
    with pytest.raises(
        (VerificationError, InputError), match=r"repeats the signed record|refusing to sign"
    ):
        world.release("v1", sample)
    assert not (world.tmp / "v1").exists()
    # The refused release signed nothing over the attacker's entry: not in the database...
    assert world.snapshot() == attacked, "the refused release changed the database"
    # ...and not in the home, whose kept checkpoint still names the tree before the attack.
    assert world.kept_note() == kept, "the refused release changed the home's kept checkpoint"
    world.recovers(before)


# -- 2. edited index columns -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"), [("sample_id", "Z"), ("event", "critiqued")], ids=["sample_id", "event"]
)
def test_an_edited_index_column_of_the_quarantine(world: World, column: str, value: str) -> None:
    # The quarantine of X no longer looks like one to anything that reads the columns.
    before = world.snapshot()
    kept = world.kept_note()
    quarantine = world.seqs["X quarantined"]
    new = sample_id(value) if column == "sample_id" else value
    world.attacker.execute(f"UPDATE entries SET {column} = :v WHERE seq = :s", v=new, s=quarantine)

    attacked = world.snapshot()
    with pytest.raises(
        (VerificationError, InputError), match=f"quarantined: {sample_id('X')}|index columns"
    ):
        world.release("v1", "X")
    assert not (world.tmp / "v1").exists()
    assert world.snapshot() == attacked
    assert world.kept_note() == kept
    world.fails_at(quarantine, f"entry {quarantine}: stored event or sample id differs")
    world.recovers(before)


# -- 3. deleted checkpoints ------------------------------------------------------------------


@pytest.mark.parametrize("deleted", ["newest", "all"])
def test_deleted_checkpoints(world: World, deleted: str) -> None:
    before = world.snapshot()
    sizes = [size for (size,) in world.attacker.execute("SELECT size FROM checkpoints")]
    assert sorted(sizes) == [4, 8, 12, 13]
    if deleted == "newest":
        world.attacker.execute("DELETE FROM checkpoints WHERE size = 13")
        world.fails_at(
            12, "entry 12: the latest checkpoint covers 12 entries, but the ledger holds 13"
        )
    else:
        world.attacker.execute("DELETE FROM checkpoints")
        world.fails_at(0, "entry 0: no checkpoint covers any entry")
    world.recovers(before)


# -- 4. reordered entries, then an append ----------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [(3, 5), (10, 12)], ids=["middle", "tail"])
def test_reordered_entries_refuse_an_append(world: World, a: int, b: int) -> None:
    # Two entries swapped, their leaf hashes recomputed, and every checkpoint that would show
    # the new root to be wrong deleted: the database alone is a consistent shorter history.
    before = world.snapshot()
    kept = world.kept_note()
    swap_entries(world.attacker, a, b)
    world.attacker.execute("DELETE FROM checkpoints WHERE size > :a", a=a)
    covered = max((size for size in (4, 8, 12) if size <= a), default=0)
    world.fails_at(covered, "added without a key")

    attacked = world.snapshot()
    with world.writer() as ledger, pytest.raises(VerificationError, match="refusing to sign"):
        ledger.append(*_record(ledger, "on top of a rewritten ledger"))
    assert world.snapshot() == attacked, "the refused append changed the database"
    assert world.kept_note() == kept
    world.recovers(before)


# -- 5. forged stored content ----------------------------------------------------------------


def _set_content(world: World, name: str, content: str, *, with_digest: bool) -> None:
    if with_digest:
        world.attacker.execute(
            "UPDATE samples SET content = :c, digest = :d WHERE sample_id = :s",
            c=content,
            d=digest(content.encode()),
            s=sample_id(name),
        )
    else:
        world.attacker.execute(
            "UPDATE samples SET content = :c WHERE sample_id = :s", c=content, s=sample_id(name)
        )


FORGED = canonical_json({"instruction": "Add 3 and 4.", "input": "", "output": "8"}).decode()


@pytest.mark.parametrize("forgery", ["edited", "edited-with-digest", "deleted", "planted"])
def test_forged_content(world: World, forgery: str) -> None:
    before = world.snapshot()
    target = sample_id("Z")
    if forgery == "edited":
        _set_content(world, "Z", FORGED, with_digest=False)
        match = "does not hash to its digest"
    elif forgery == "edited-with-digest":
        _set_content(world, "Z", FORGED, with_digest=True)
        match = "is not what its records sign"
    elif forgery == "deleted":
        world.attacker.execute("DELETE FROM samples WHERE sample_id = :s", s=target)
        match = "content is missing from the ledger and no signed `erased` record removed it"
    else:
        # Content that no record names, under its own correct id and digest.
        target = digest(FORGED.encode())
        world.attacker.execute(
            "INSERT INTO samples (sample_id, digest, content) VALUES (:s, :s, :c)",
            s=target,
            c=FORGED,
        )
        match = "no record of the ledger names it"
    with pytest.raises(VerificationError, match=match) as caught:
        world.verify()
    assert target in str(caught.value)
    world.recovers(before)


# -- 9. legacy ledgers and records signed for another place ----------------------------------


def _legacy(world: World, count: int, make: MakeRecords) -> int:
    """Rewrite the database as synthguard wrote ledgers before records were bound: the same
    key signs version 1 payloads (no ledger, no record id), a checkpoint every INTERVAL
    entries and at the end. This is the key holder's old code, not the attacker."""
    attacker, key = world.attacker, world.key
    attacker.execute("DELETE FROM entries WHERE seq > 0")
    attacker.execute("DELETE FROM samples")
    attacker.execute("DELETE FROM checkpoints")
    genesis = KeyEvent.from_payload(_payload(attacker.entry(0)["envelope"]))
    old = genesis.model_copy(update={"schema_version": 1, "ledger": None, "record_id": None})
    attacker.set_envelope(0, sign_envelope(old.payload(), KEY_EVENT_TYPE, key), rehash=True)
    records, contents = make(key.key_id, count, tag="legacy")
    for seq, record in enumerate(records, 1):
        unbound = record.model_copy(update={"schema_version": 1})
        attacker.insert_entry(seq, sign_envelope(unbound.payload(), RECORD_TYPE, key), key.key_id)
    for sid, content in contents.items():
        body = canonical_json(content)
        attacker.execute(
            "INSERT INTO samples (sample_id, digest, content) VALUES (:s, :d, :c)",
            s=sid,
            d=digest(body),
            c=body.decode(),
        )
    leaves = [bytes(h) for (h,) in attacker.execute("SELECT leaf_hash FROM entries ORDER BY seq")]
    origin = world.origin
    sizes = sorted({*range(INTERVAL, len(leaves) + 1, INTERVAL), len(leaves)})
    for size in sizes:
        tree_root = merkle_root(leaves[:size])
        attacker.execute(
            "INSERT INTO checkpoints (size, root, note, key_id, time) "
            "VALUES (:s, :r, :n, :k, '2024-01-01T00:00:00Z')",
            s=size,
            r=tree_root,
            n=sign_checkpoint(origin, size, tree_root, key),
            k=key.key_id,
        )
    # The home of that era kept no checkpoint.
    for path in world.kept().files:
        path.unlink(missing_ok=True)
    return len(leaves)


def _payload(envelope: bytes) -> bytes:
    return base64.b64decode(json.loads(envelope)["payload"])


def test_a_legacy_ledger_verifies_with_a_note(world: World, ledger_records: MakeRecords) -> None:
    size = _legacy(world, 9, ledger_records)
    report = world.verify()
    assert report.size == size == 10
    assert len(report.notes) == 1
    assert report.notes[0].startswith("entries 0-9 were written before records were bound")
    assert "payload version 1" in report.notes[0]


@pytest.mark.parametrize("place", ["tail", "middle"])
def test_a_replayed_legacy_record(world: World, ledger_records: MakeRecords, place: str) -> None:
    size = _legacy(world, 9, ledger_records)
    before = world.snapshot()
    at = size if place == "tail" else 6
    copy_entry(world.attacker, 3, at)
    world.attacker.forge_checkpoint(world.origin, SigningKey.generate())
    world.fails_at(at, f"entry {at}: repeats the signed record of entry 3")
    world.restore(before)
    assert world.verify().size == size


def test_a_legacy_ledger_takes_bound_records(world: World, ledger_records: MakeRecords) -> None:
    size = _legacy(world, 9, ledger_records)
    with world.writer() as ledger:
        seqs = ledger.append(*ledger_records(world.key.key_id, 5, tag="bound"))
    assert seqs == list(range(size, size + 5))
    report = world.verify()
    assert report.size == size + 5
    assert report.notes[0].startswith("entries 0-9 were written before records were bound")
    assert report.home is not None
    assert report.home.size == size + 5


def test_an_unbound_record_after_bound_ones(world: World, ledger_records: MakeRecords) -> None:
    # A version 1 envelope the key signed long ago (for this ledger or another one, before
    # records were bound), slipped in after bound records: not a byte copy of any entry.
    before = world.snapshot()
    size = world.size()
    records, _ = ledger_records(world.key.key_id, 1, tag="old")
    old = records[0].model_copy(update={"schema_version": 1})
    world.attacker.insert_entry(
        size, sign_envelope(old.payload(), RECORD_TYPE, world.key), world.key.key_id
    )
    world.attacker.forge_checkpoint(world.origin, SigningKey.generate())
    world.fails_at(size, f"entry {size}: a record without a ledger binding .payload version 1.")
    world.recovers(before)


def test_a_record_signed_for_another_ledger(world: World, ledger_records: MakeRecords) -> None:
    # The same key also signs another ledger; a record from there is copied in here.
    before = world.snapshot()
    size = world.size()
    records, _ = ledger_records(world.key.key_id, 1, tag="elsewhere")
    other = "example.org/another-ledger"
    envelope = world.attacker.sign(records[0], world.key, ledger=other)
    world.attacker.insert_entry(size, envelope, world.key.key_id)
    world.attacker.forge_checkpoint(world.origin, SigningKey.generate())
    world.fails_at(size, f"entry {size}: the record was signed for ledger {re.escape(repr(other))}")
    world.recovers(before)
