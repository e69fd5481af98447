"""Fixtures for the ledger tests: a fresh ledger on SQLite and on PostgreSQL, records to append,
direct SQL access for the tamper tests and writer processes for the crash and concurrency tests.

PostgreSQL databases come from `postgres_url` in tests/conftest.py (skipped without a server,
unless SYNTHGUARD_REQUIRE_POSTGRES=1).
"""

from __future__ import annotations

import json
import os
import secrets
import select
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import text

from synthguard.ledger.log.checkpoint import sign_checkpoint
from synthguard.ledger.log.merkle import leaf_hash
from synthguard.ledger.log.merkle import root as merkle_root
from synthguard.ledger.log.store import Ledger, engine_for, leaf_bytes
from synthguard.provenance.canonical import digest_json
from synthguard.provenance.dsse import Envelope, sign_envelope
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.record import RECORD_TYPE, Event, LineageRecord, utc_now

Batch = tuple[list[LineageRecord], dict[str, dict[str, Any]]]
MakeRecords = Callable[..., Batch]


@pytest.fixture
def ledger_sqlite_url(tmp_path: Path) -> str:
    """The URL of a SQLite ledger file that does not exist yet."""
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend in turn."""
    if request.param == "sqlite":
        url: str = request.getfixturevalue("ledger_sqlite_url")
    else:
        url = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def ledger_key() -> SigningKey:
    """A fresh signing key (in memory: saving one costs a scrypt derivation)."""
    return SigningKey.generate()


@pytest.fixture
def ledger_db(ledger_url: str, ledger_key: SigningKey) -> Iterator[Ledger]:
    """A new ledger holding only its genesis entry, checkpointed every 10 entries."""
    ledger = Ledger.create(ledger_url, ledger_key, checkpoint_interval=10)
    try:
        yield ledger
    finally:
        ledger.close()


def _make_records(signer: str, count: int, tag: str = "t", event: Event = Event.GENERATED) -> Batch:
    """Build `count` lineage records about distinct samples, and those samples' contents."""
    records: list[LineageRecord] = []
    contents: dict[str, dict[str, Any]] = {}
    for i in range(count):
        content = {"text": f"{tag} sample {i}"}
        sample_id = digest_json(content)
        contents[sample_id] = content
        records.append(
            LineageRecord(
                event=event,
                sample_id=sample_id,
                digest=sample_id,
                run_id=tag,
                time=utc_now(),
                signer=signer,
                detail={"i": i},
            )
        )
    return records, contents


@pytest.fixture
def ledger_records() -> MakeRecords:
    """`make(signer, count, tag="t", event=GENERATED)` -> (records, contents by sample id)."""
    return _make_records


class Attacker:
    """Direct SQL on a ledger's database, bypassing the library, as someone with write access."""

    def __init__(self, url: str) -> None:
        self.engine = engine_for(url)

    def execute(self, statement: str, **params: Any) -> list[Any]:
        """Run one statement in its own transaction; return the rows it produced, if any."""
        with self.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []

    def entry(self, seq: int) -> dict[str, Any]:
        """The stored row of entry `seq`."""
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT * FROM entries WHERE seq = :seq"), {"seq": seq})
            mapping = dict(row.mappings().one())
        mapping["envelope"] = bytes(mapping["envelope"])
        mapping["leaf_hash"] = bytes(mapping["leaf_hash"])
        return mapping

    def set_envelope(self, seq: int, envelope: bytes, *, rehash: bool) -> None:
        """Overwrite entry `seq`'s envelope, recomputing its leaf hash when `rehash`, and then
        its time column too when the payload names one (a self-consistent forgery)."""
        if rehash:
            try:
                payload = json.loads(Envelope.from_bytes(envelope).payload_bytes())
            except ValueError:  # a corrupted payload: the column stays
                payload = {}
            self.execute(
                "UPDATE entries SET envelope = :e, leaf_hash = :h, time = COALESCE(:t, time) "
                "WHERE seq = :seq",
                e=envelope,
                h=self.leaf_hash(seq, envelope),
                t=payload.get("time") if isinstance(payload, dict) else None,
                seq=seq,
            )
        else:
            self.execute("UPDATE entries SET envelope = :e WHERE seq = :seq", e=envelope, seq=seq)

    def insert_entry(
        self, seq: int, envelope: bytes, key_id: str, *, event: str = "generated"
    ) -> None:
        """Insert a lineage-record entry at `seq` with a correct leaf hash and the index columns
        its payload gives (as a writer stores them)."""
        payload = json.loads(Envelope.from_bytes(envelope).payload_bytes())
        self.execute(
            "INSERT INTO entries (seq, leaf_hash, envelope, key_id, payload_type, event, "
            "sample_id, time) VALUES (:seq, :h, :e, :k, :t, :ev, :sid, :time)",
            seq=seq,
            h=self.leaf_hash(seq, envelope),
            e=envelope,
            k=key_id,
            t=RECORD_TYPE,
            ev=event,
            sid=payload["sample_id"],
            time=payload["time"],
        )

    def close(self) -> None:
        """Drop the connections."""
        self.engine.dispose()

    @staticmethod
    def leaf_hash(seq: int, envelope: bytes) -> bytes:
        """The leaf hash of `envelope` at `seq`, computed from the published leaf format."""
        return leaf_hash(leaf_bytes(seq, envelope))

    def forge_checkpoint(self, origin: str, key: SigningKey) -> None:
        """Add a checkpoint over the whole entries table, signed by `key` (whichever key that
        is): what an attacker appending entries must do so that they are not plainly uncovered."""
        leaves = [bytes(h) for (h,) in self.execute("SELECT leaf_hash FROM entries ORDER BY seq")]
        tree_root = merkle_root(leaves)
        self.execute(
            "INSERT INTO checkpoints (size, root, note, key_id, time) "
            "VALUES (:s, :r, :n, :k, 'forged')",
            s=len(leaves),
            r=tree_root,
            n=sign_checkpoint(origin, len(leaves), tree_root, key),
            k=key.key_id,
        )

    @staticmethod
    def sign(record: LineageRecord, key: SigningKey, ledger: str | None = None) -> bytes:
        """A valid envelope of `record` signed by `key` (whichever key that is), bound to
        `ledger` with a fresh record id when given."""
        record_id = secrets.token_hex(16) if ledger is not None else None
        return sign_envelope(record.payload(ledger, record_id), RECORD_TYPE, key)


@pytest.fixture
def ledger_attacker() -> Iterator[Callable[[str], Attacker]]:
    """`attack(url)` -> an Attacker on that database (closed after the test)."""
    opened: list[Attacker] = []

    def attack(url: str) -> Attacker:
        attacker = Attacker(url)
        opened.append(attacker)
        return attacker

    yield attack
    for attacker in opened:
        attacker.close()


WRITER = Path(__file__).with_name("ledger_writer.py")


class Writers:
    """Child processes running ledger_writer.py with one shared signing key."""

    def __init__(self) -> None:
        private = Ed25519PrivateKey.generate()
        self.key = SigningKey(private)
        seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        self.env = {**os.environ, "SYNTHGUARD_TEST_SEED": seed.hex()}
        self.running: list[subprocess.Popen[str]] = []

    def spawn(self, url: str, tag: str, *options: str) -> subprocess.Popen[str]:
        """Start a writer and wait (up to a minute) until it has the ledger open."""
        process = subprocess.Popen(
            [sys.executable, str(WRITER), url, tag, *options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=self.env,
        )
        self.running.append(process)
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 60)
        line = process.stdout.readline() if ready else ""
        assert line == "started\n", f"writer {tag} did not start (got {line!r})"
        return process

    def stop_all(self) -> None:
        """Kill whatever is still running."""
        for process in self.running:
            if process.poll() is None:
                process.kill()
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()


@pytest.fixture
def ledger_writers() -> Iterator[Writers]:
    """Spawn ledger_writer.py processes signing with `.key`; all are killed after the test."""
    writers = Writers()
    yield writers
    writers.stop_all()
