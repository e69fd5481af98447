"""A writer that finds the ledger's write lock held by another (stopped, or left idle in its
transaction) says so after WAIT_NOTE_AFTER seconds, naming the holder where the database can,
and gives up after WRITE_LOCK_WAIT with one error, having written nothing. It waited in
silence before: for ever on PostgreSQL, 120 s on SQLite."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from synthguard.ledger.log import store
from synthguard.ledger.log.store import APPEND_LOCK_KEY, WAIT_NOTE_AFTER, Ledger
from synthguard.ledger.log.verify import verify_ledger
from synthguard.provenance.errors import LedgerError


@contextmanager
def lock_held(url: str) -> Iterator[Any]:
    """The ledger's write lock, held by another connection (as another writer holds it)
    until the block ends or `release` is called on what it yields."""
    if url.startswith("sqlite:///"):
        connection: Any = sqlite3.connect(
            url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
        )
        connection.execute("BEGIN IMMEDIATE")
    else:
        psycopg = pytest.importorskip("psycopg")
        connection = psycopg.connect(url, application_name="a stalled writer")
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK_KEY,))
    try:
        yield connection
    finally:
        connection.rollback()
        connection.close()


def test_a_write_waiting_for_the_lock_says_so_then_goes_on(ledger_db: Ledger, ledger_records):
    records, contents = ledger_records(ledger_db.key_id, 3)
    notes: list[str] = []
    ledger_db.on_wait = notes.append
    with lock_held(ledger_db.url) as holder:
        # Released a second and a half after the note is due.
        timer = threading.Timer(WAIT_NOTE_AFTER + 1.5, holder.rollback)
        timer.start()
        try:
            assert ledger_db.append(records, contents) == [1, 2, 3]
        finally:
            timer.join()
    assert len(notes) == 1, notes
    assert notes[0].startswith("waiting for the ledger's write lock: ")
    if ledger_db.engine.dialect.name == "postgresql":
        assert "another writer (a stalled writer, server pid " in notes[0]
        assert "idle in transaction" in notes[0]
    else:
        assert "another process writing to this SQLite file" in notes[0]
    assert verify_ledger(ledger_db, workers=1).size == 4


def test_a_write_gives_up_after_the_wait_and_writes_nothing(
    ledger_db: Ledger, ledger_records, monkeypatch: pytest.MonkeyPatch
) -> None:
    records, contents = ledger_records(ledger_db.key_id, 3)
    monkeypatch.setattr(store, "WRITE_LOCK_WAIT", WAIT_NOTE_AFTER + 2)
    notes: list[str] = []
    ledger_db.on_wait = notes.append
    with lock_held(ledger_db.url), pytest.raises(LedgerError) as caught:
        ledger_db.append(records, contents)
    said = str(caught.value)
    assert said.startswith("cannot append to the ledger: another ")
    assert f"has held its write lock for {WAIT_NOTE_AFTER + 2:.0f} s; nothing was written" in said
    assert len(notes) == 1
    # Nothing went in; the next write, the lock free, does.
    assert ledger_db.size() == 1
    assert ledger_db.append(records, contents) == [1, 2, 3]
    assert verify_ledger(ledger_db, workers=1).size == 4


def test_a_write_that_finds_the_lock_free_says_nothing(ledger_db: Ledger, ledger_records):
    notes: list[str] = []
    ledger_db.on_wait = notes.append
    for tag in "abc":
        ledger_db.append(*ledger_records(ledger_db.key_id, 2, tag=tag))
    assert notes == []
