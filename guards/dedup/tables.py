"""The dedup index in a PostgreSQL ledger database, shared by every machine that writes it.

Why there and not on a shared folder: every writer machine of a PostgreSQL ledger reaches that
database already, so the index needs nothing more to set up (no network file system mounted
alike everywhere), and the database gives what a shared index needs: transactions, so a save is
whole or absent, and locks whose semantics hold across machines (flock over NFS may be local to
one client, or not work at all). A ledger in SQLite lives on one machine, and its index stays a
folder in the home (`segments.SegmentFolder`).

The tables, made on first use: `dedup_index` (one row: format and sketch parameters),
`dedup_segments` (one row per segment: its number, sample and sketch counts, SHA-256) and
`dedup_chunks` (the segment's bytes, in parts under PostgreSQL's 1 GB value limit). A segment's
bytes are those a segment file holds (`segments.encode_segment`), checked against its SHA-256
when read, and a save past `COMPACT_AT` segments merges them into one, as for a folder.

Two screens at once must not both accept copies of each other, and deciding "earlier" needs one
order. So the index is locked for the whole screen: a session advisory lock, taken before the
segments are read and released once the screen has saved what it added (or at `close`). A
second screen waits (and, after `WAIT_NOTE_AFTER` seconds, says who holds the index), then
reads what the first one saved. The lock belongs to the connection: a screen that crashes, is
killed or loses its machine releases it when PostgreSQL sees the connection go; there is no
stale lock to clear by hand. Checking at save instead (optimistic) would come too late: the
screen has signed its verdicts by then. A save still checks that the segments are those it read
and refuses if not (something wrote without the lock, or a second save of one index came after
another screen's).

The digests only catch damage: like the folder, the tables are not signed, and whoever can
write the database can make a later screen miss a copy or name a false original. The verdicts
that screens sign name the original's id, so an audit can recheck one.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    Table,
    Text,
    delete,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError

from synthguard.guards.dedup.segments import (
    COMPACT_AT,
    INDEX_FORMAT,
    Arrays,
    Part,
    concat_segments,
    decode_segment,
    encode_segment,
    params_mismatch,
    params_problem,
)
from synthguard.ledger.log.store import database_failure, engine_for, shown_url
from synthguard.provenance.errors import LedgerError

WaitNote = Callable[[str], None]
"""Takes the line that says a screen is waiting for the index, and who holds it."""

WAIT_NOTE_AFTER = 2.0
"""Seconds of waiting for the index after which the waiting screen says so."""
_POLL = 0.1
"""Seconds between two tries for the lock while another screen holds it."""
LOCK_KEY = 0x5947_4458
"""The advisory lock of the dedup index: any fixed number other than the ledger's append lock
(advisory locks are per database, so each ledger has its own)."""
_CHUNK = 32 << 20
"""Bytes of a segment per row of `dedup_chunks`."""

_metadata = MetaData()
index_table = Table(
    "dedup_index",
    _metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("format", Text, nullable=False),
    Column("params", Text, nullable=False),
)
segment_table = Table(
    "dedup_segments",
    _metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("docs", BigInteger, nullable=False),
    Column("sketches", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
)
chunk_table = Table(
    "dedup_chunks",
    _metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("part", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)


@event.listens_for(chunk_table, "after_create")
def _stored_as_they_are(_table: Table, conn: Connection, **_kw: Any) -> None:
    """Segment bytes are hashes and signatures, which do not compress: PostgreSQL's attempt
    at it only slows a save down."""
    conn.execute(text("ALTER TABLE dedup_chunks ALTER COLUMN data SET STORAGE EXTERNAL"))


def is_postgres_url(url: str) -> bool:
    """Whether a ledger URL names a PostgreSQL database."""
    return url.startswith(("postgres://", "postgresql://", "postgresql+"))


class SegmentTables:
    """The index in the `dedup_` tables of a PostgreSQL database, locked from creation to the
    end of `save` or `close` (see the module)."""

    def __init__(self, url: str, *, on_wait: WaitNote | None = None) -> None:
        self.where = f" in the ledger database {shown_url(url)}"
        self._url = url
        self._on_wait = on_wait
        self._engine = engine_for(url)
        self._seqs: list[int] = []
        self._conn: Connection | None = None
        self._acquire()

    def _acquire(self) -> Connection:
        """Connect, take the index's lock and make the tables if they are not there yet."""
        try:
            conn = self._conn = self._engine.connect()
        except SQLAlchemyError as exc:
            self._engine.dispose()
            raise LedgerError(
                f"cannot reach the ledger database {shown_url(self._url)} for the dedup index: "
                f"{_words(exc)}"
            ) from exc
        try:
            with self._failures("cannot lock"):
                self._lock(conn)
                with conn.begin():
                    _metadata.create_all(conn)
        except BaseException:
            self.close()
            raise
        return conn

    def load(self) -> tuple[dict[str, Any] | None, list[Part]]:
        """The stored parameters and every segment, each checked against its digest."""
        conn = self._conn or self._acquire()
        with self._failures("cannot read"), conn.begin():
            row = conn.execute(select(index_table.c.format, index_table.c.params)).first()
            entries = conn.execute(select(segment_table).order_by(segment_table.c.seq)).all()
            if row is None:
                if entries:
                    raise self._damaged("it has segments but no dedup_index row")
                return None, []
            params = self._params(row.format, row.params)
            parts = [self._read(conn, dict(entry._mapping), params) for entry in entries]
        self._seqs = [entry.seq for entry in entries]
        return params, parts

    def save(self, params: Mapping[str, Any], arrays: Arrays | None) -> None:
        """Append `arrays` as a segment in one transaction, merging past `COMPACT_AT`, then
        release the lock (also on failure): the screen that read the index has decided and
        signed by now.

        A save after that locks again, and refuses if another screen saved in between (what
        this one decided did not see that screen's samples)."""
        conn = self._conn or self._acquire()
        try:
            self._save(conn, params, arrays)
        finally:
            self.close()

    def _save(self, conn: Connection, params: Mapping[str, Any], arrays: Arrays | None) -> None:
        with self._failures("cannot save"), conn.begin():
            row = conn.execute(select(index_table.c.format, index_table.c.params)).first()
            if row is None:
                conn.execute(
                    insert(index_table),
                    {"id": 1, "format": INDEX_FORMAT, "params": json.dumps(params, sort_keys=True)},
                )
            elif (stored := self._params(row.format, row.params)) != params:
                raise params_mismatch(self.where, stored, params)
            seqs = list(
                conn.execute(select(segment_table.c.seq).order_by(segment_table.c.seq)).scalars()
            )
            if seqs != self._seqs:
                raise LedgerError(
                    f"the dedup index{self.where} changed after this screen read it (another "
                    "screen saved in between, or something wrote it without its lock): nothing "
                    "was saved; screen again to deduplicate against both"
                )
            if arrays is not None:
                seqs.append(self._write(conn, max(seqs, default=0) + 1, arrays))
            if len(seqs) > COMPACT_AT:
                entries = conn.execute(select(segment_table).order_by(segment_table.c.seq)).all()
                parts = [self._read(conn, dict(e._mapping), params) for e in entries]
                merged = self._write(conn, seqs[-1] + 1, concat_segments([p[2] for p in parts]))
                conn.execute(delete(chunk_table).where(chunk_table.c.seq.in_(seqs)))
                conn.execute(delete(segment_table).where(segment_table.c.seq.in_(seqs)))
                seqs = [merged]
        self._seqs = seqs

    def close(self) -> None:
        """Release the lock and the connection (closing the connection alone releases both)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.rollback()
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            conn.commit()
        except SQLAlchemyError:
            pass  # a broken connection: PostgreSQL drops its locks with it
        finally:
            conn.close()
            # The pool would keep the session, and with it a lock still held on a failure.
            self._engine.dispose()

    def _lock(self, conn: Connection) -> None:
        """Take the index's lock, polling so that a long wait can be told while it lasts."""
        on_wait = self._on_wait
        name = f"synthguard dedup, {socket.gethostname()} pid {os.getpid()}"
        conn.execute(text("SELECT set_config('application_name', :name, false)"), {"name": name})
        started, told = time.monotonic(), False
        try_lock = text("SELECT pg_try_advisory_lock(:key)")
        while not conn.execute(try_lock, {"key": LOCK_KEY}).scalar_one():
            conn.commit()
            if on_wait is not None and not told and time.monotonic() - started >= WAIT_NOTE_AFTER:
                on_wait(self._holder_note(conn))
                told = True
            time.sleep(_POLL)
        conn.commit()

    def _holder_note(self, conn: Connection) -> str:
        """The line that says this screen waits, and for whom."""
        holder = conn.execute(
            text(
                "SELECT l.pid, a.application_name, a.backend_start FROM pg_locks l "
                "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                "AND l.classid::bigint = :high AND l.objid::bigint = :low AND l.database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"high": LOCK_KEY >> 32, "low": LOCK_KEY & 0xFFFF_FFFF},
        ).first()
        conn.commit()
        who = "another screen"
        if holder is not None:
            who += f" ({holder.application_name or f'server pid {holder.pid}'}"
            if holder.backend_start is not None:
                since = holder.backend_start.astimezone(UTC)
                who += f", connected since {since:%Y-%m-%d %H:%M:%S} UTC"
            who += ")"
        return f"waiting for the dedup index{self.where}: {who} holds it until that screen ends"

    def _params(self, fmt: str, stored: str) -> dict[str, Any]:
        try:
            params = json.loads(stored)
        except ValueError:
            params = None
        if fmt != INDEX_FORMAT or params_problem(params):
            raise self._damaged(f"its dedup_index row is not {INDEX_FORMAT} parameters")
        result: dict[str, Any] = params
        return result

    def _read(self, conn: Connection, entry: dict[str, Any], params: Mapping[str, Any]) -> Part:
        seq = entry["seq"]
        # Through the driver, in binary: bytea as text is hex, twice the bytes to send and
        # decode (a 50,000-sample segment comes in about 3 times faster).
        driver: Any = conn.connection.driver_connection
        with driver.cursor(binary=True) as cursor:
            cursor.execute("SELECT data FROM dedup_chunks WHERE seq = %s ORDER BY part", (seq,))
            data = b"".join(bytes(row[0]) for row in cursor)
        try:
            return decode_segment(data, entry, params)
        except ValueError as exc:
            raise self._damaged(f"segment {seq} {exc}") from exc

    def _write(self, conn: Connection, seq: int, arrays: Arrays) -> int:
        data, entry = encode_segment(arrays)
        conn.execute(insert(segment_table), {"seq": seq, **entry})
        parts = [
            {"seq": seq, "part": i, "data": data[lo : lo + _CHUNK]}
            for i, lo in enumerate(range(0, max(len(data), 1), _CHUNK))
        ]
        for part in parts:  # one statement each: a batch would hold every copy at once
            conn.execute(insert(chunk_table), part)
        return seq

    def _damaged(self, what: str) -> LedgerError:
        return LedgerError(
            f"the dedup index{self.where} is damaged: {what} (restore the database from a "
            "backup, or drop the dedup_ tables to start a new index)"
        )

    @contextmanager
    def _failures(self, doing: str) -> Iterator[None]:
        """Database errors, SQLAlchemy's and the driver's own, as one LedgerError line."""
        dbapi = self._engine.dialect.dbapi
        errors = (SQLAlchemyError, dbapi.Error) if dbapi is not None else (SQLAlchemyError,)
        try:
            yield
        except errors as exc:
            raise LedgerError(f"{doing} the dedup index{self.where}: {_words(exc)}") from exc


def _words(exc: BaseException) -> str:
    return " ".join((database_failure(exc) or str(exc)).split())
