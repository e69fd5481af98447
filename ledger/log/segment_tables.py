"""The dedup index's tables in a PostgreSQL ledger database: opaque segments under one lock.

Why there and not on a shared folder: every writer machine of a PostgreSQL ledger reaches that
database already, so the index needs nothing more to set up (no network file system mounted
alike everywhere), and the database gives what a shared index needs: transactions, so a save is
whole or absent, and locks whose semantics hold across machines (flock over NFS may be local to
one client, or not work at all). A ledger in SQLite lives on one machine, and its index stays a
folder in the home.

The tables, made on first use: `dedup_index` (one row: a format name and a parameters text),
`dedup_segments` (one row per segment: its number, sample and sketch counts, SHA-256),
`dedup_chunks` (the segment's bytes, in parts under PostgreSQL's 1 GB value limit) and
`dedup_head` (one row: the signed head of the segments, `synthguard.ledger.log.heads`). What the
bytes mean, and whether they match their row, is the caller's to judge (for the dedup index:
`synthguard.guards.dedup.tables`); this module only stores them, and merges them through the
caller when there are too many.

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
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    LargeBinary,
    MetaData,
    Row,
    SmallInteger,
    Table,
    Text,
    delete,
    event,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError

from synthguard.ledger.log.store import (
    WAIT_NOTE_AFTER,
    WaitNote,
    advisory_lock_holder,
    database_failure,
    engine_for,
    shown_url,
)
from synthguard.provenance.errors import LedgerError

T = TypeVar("T")

_POLL = 0.1
"""Seconds between two tries for the lock while another screen holds it."""
DEDUP_LOCK_KEY = 0x5947_4458
"""The advisory lock of the dedup index: any fixed number other than the ledger's append lock
(advisory locks are per database, so each ledger has its own)."""
_CHUNK = 32 << 20
"""Bytes of a segment per row of `dedup_chunks`."""
ENTRY_FIELDS = ("docs", "sketches", "sha256")
"""A segment's entry: its sample and sketch counts and the SHA-256 of its bytes."""


class SegmentFormat(NamedTuple):
    """The index's one row (`dedup_index`): the name of its segments' format and the
    parameters they were made with, as JSON text."""

    format: str
    params: str


@dataclass(frozen=True)
class StoredSegment:
    """A segment as the tables hold it: its number, its entry (`ENTRY_FIELDS`), its bytes."""

    seq: int
    entry: dict[str, Any]
    data: bytes


NewSegment = tuple[bytes, Mapping[str, Any]]
"""A segment to store: its bytes and its entry (`ENTRY_FIELDS`)."""

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
head_table = Table(
    "dedup_head",
    _metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("envelope", LargeBinary, nullable=False),
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


class LockedSegments:
    """The `dedup_` tables of a PostgreSQL database, locked from creation to the end of `save`
    or `close` (see the module). `where` names them in messages (" in the ledger database
    URL")."""

    def __init__(
        self, url: str, *, on_wait: WaitNote | None = None, snapshot: bool = False
    ) -> None:
        """`snapshot`: for a reader that decides nothing from the index (`verify`): no lock
        and no tables made; `load` reads one consistent snapshot (a screen that holds the lock
        does not keep it waiting, and a save commits whole or not at all), and `save` is
        refused."""
        self.where = f" in the ledger database {shown_url(url)}"
        self._url = url
        self._on_wait = on_wait
        self._snapshot = snapshot
        self._engine = engine_for(url)
        self._seqs: list[int] = []
        self._conn: Connection | None = None
        self._acquire()

    def load(
        self, read: Callable[[SegmentFormat | None, Iterator[StoredSegment], bytes | None], T]
    ) -> T:
        """What `read` makes of the index's format (None: no index yet), its segments, in
        order, and its signed head (None: none).

        `read` runs inside the reading transaction and gets each segment's bytes as it asks
        for them, so that only one segment's bytes are held at a time.
        """
        conn = self._conn or self._acquire()
        with self._failures("cannot read"), conn.begin():
            if self._snapshot and not inspect(conn).has_table(index_table.name):
                return read(None, iter(()), None)
            row = conn.execute(select(index_table.c.format, index_table.c.params)).first()
            entries = conn.execute(select(segment_table).order_by(segment_table.c.seq)).all()
            head = (
                conn.execute(select(head_table.c.envelope)).scalar()
                if not self._snapshot or inspect(conn).has_table(head_table.name)
                else None  # tables an older synthguard made, which no screen has opened since
            )
            if row is None and entries:
                raise self.damaged("it has segments but no dedup_index row")
            stored = None if row is None else SegmentFormat(row.format, row.params)
            result = read(
                stored, self._segments(conn, entries), None if head is None else bytes(head)
            )
        self._seqs = [entry.seq for entry in entries]
        return result

    def save(
        self,
        fmt: SegmentFormat,
        segment: NewSegment | None,
        *,
        check: Callable[[SegmentFormat], None],
        compact_at: int,
        merge: Callable[[Iterator[StoredSegment]], NewSegment],
        head: Callable[[list[dict[str, Any]], bytes | None], bytes] | None = None,
    ) -> None:
        """Append `segment` (None: only make sure the index exists) in one transaction, with
        the head that `head` signs for the entries of the segments the index then has (given
        the head it replaces); then
        release the lock (also on failure): the screen that read the index has decided and
        signed by now.

        An index without its `dedup_index` row gets `fmt`; the row of one that has it is judged
        by `check`, which raises if the caller cannot add to it. Past `compact_at` segments,
        `merge` makes one of them all, which replaces them. A save after the lock was let go
        locks again, and refuses if another screen saved in between (what this one decided did
        not see that screen's samples).
        """
        if self._snapshot:
            raise LedgerError(f"the dedup index{self.where} was opened to be read only")
        conn = self._conn or self._acquire()
        try:
            with self._failures("cannot save"), conn.begin():
                seqs = self._save(conn, fmt, segment, check, compact_at, merge)
                if head is not None:
                    previous = conn.execute(select(head_table.c.envelope)).scalar()
                    envelope = head(
                        self._entries(conn), None if previous is None else bytes(previous)
                    )
                    conn.execute(delete(head_table))
                    conn.execute(insert(head_table), {"id": 1, "envelope": envelope})
            self._seqs = seqs
        finally:
            self.close()

    def damaged(self, what: str) -> LedgerError:
        """The error for tables whose content is not an index (`what` says how)."""
        return LedgerError(
            f"the dedup index{self.where} is damaged: {what} (restore the database from a "
            "backup, or drop the dedup_ tables to start a new index)"
        )

    def close(self) -> None:
        """Release the lock and the connection (closing the connection alone releases both)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.rollback()
            if not self._snapshot:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": DEDUP_LOCK_KEY})
                conn.commit()
        except SQLAlchemyError:
            pass  # a broken connection: PostgreSQL drops its locks with it
        finally:
            conn.close()
            # The pool would keep the session, and with it a lock still held on a failure.
            self._engine.dispose()

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
        if self._snapshot:
            conn.execution_options(isolation_level="REPEATABLE READ")
            return conn
        try:
            with self._failures("cannot lock"):
                self._lock(conn)
                with conn.begin():
                    _metadata.create_all(conn)
        except BaseException:
            self.close()
            raise
        return conn

    def _save(
        self,
        conn: Connection,
        fmt: SegmentFormat,
        segment: NewSegment | None,
        check: Callable[[SegmentFormat], None],
        compact_at: int,
        merge: Callable[[Iterator[StoredSegment]], NewSegment],
    ) -> list[int]:
        """Write in the open transaction; the segment numbers the index has after it."""
        stored = conn.execute(select(index_table.c.format, index_table.c.params)).first()
        if stored is None:
            conn.execute(insert(index_table), {"id": 1, **fmt._asdict()})
        else:
            check(SegmentFormat(stored.format, stored.params))
        seqs = list(
            conn.execute(select(segment_table.c.seq).order_by(segment_table.c.seq)).scalars()
        )
        if seqs != self._seqs:
            raise LedgerError(
                f"the dedup index{self.where} changed after this screen read it (another "
                "screen saved in between, or something wrote it without its lock): nothing "
                "was saved; screen again to deduplicate against both"
            )
        if segment is not None:
            seqs.append(_write(conn, max(seqs, default=0) + 1, segment))
        if len(seqs) > compact_at:
            entries = conn.execute(select(segment_table).order_by(segment_table.c.seq)).all()
            merged = _write(conn, seqs[-1] + 1, merge(self._segments(conn, entries)))
            conn.execute(delete(chunk_table).where(chunk_table.c.seq.in_(seqs)))
            conn.execute(delete(segment_table).where(segment_table.c.seq.in_(seqs)))
            seqs = [merged]
        return seqs

    def _lock(self, conn: Connection) -> None:
        """Take the index's lock, polling so that a long wait can be told while it lasts."""
        on_wait = self._on_wait
        name = f"synthguard dedup, {socket.gethostname()} pid {os.getpid()}"
        conn.execute(text("SELECT set_config('application_name', :name, false)"), {"name": name})
        started, told = time.monotonic(), False
        try_lock = text("SELECT pg_try_advisory_lock(:key)")
        while not conn.execute(try_lock, {"key": DEDUP_LOCK_KEY}).scalar_one():
            conn.commit()
            if on_wait is not None and not told and time.monotonic() - started >= WAIT_NOTE_AFTER:
                on_wait(self._holder_note(conn))
                told = True
            time.sleep(_POLL)
        conn.commit()

    def _holder_note(self, conn: Connection) -> str:
        """The line that says this screen waits, and for whom."""
        holder = advisory_lock_holder(conn.connection.cursor(), DEDUP_LOCK_KEY)
        conn.commit()
        who = "another screen"
        if holder is not None:
            who += f" ({holder.application_name or f'server pid {holder.pid}'}"
            if holder.connected is not None:
                since = holder.connected.astimezone(UTC)
                who += f", connected since {since:%Y-%m-%d %H:%M:%S} UTC"
            who += ")"
        return f"waiting for the dedup index{self.where}: {who} holds it until that screen ends"

    def _entries(self, conn: Connection) -> list[dict[str, Any]]:
        """Each segment's entry, in order."""
        rows = conn.execute(select(segment_table).order_by(segment_table.c.seq)).all()
        return [{field: row._mapping[field] for field in ENTRY_FIELDS} for row in rows]

    def _segments(self, conn: Connection, entries: Sequence[Row[Any]]) -> Iterator[StoredSegment]:
        """The segments of `entries` with their bytes, read one at a time as they are asked for."""
        # Through the driver, in binary: bytea as text is hex, twice the bytes to send and
        # decode (a 50,000-sample segment comes in about 3 times faster).
        driver: Any = conn.connection.driver_connection
        for row in entries:
            with driver.cursor(binary=True) as cursor:
                cursor.execute(
                    "SELECT data FROM dedup_chunks WHERE seq = %s ORDER BY part", (row.seq,)
                )
                data = b"".join(bytes(chunk[0]) for chunk in cursor)
            entry = {field: row._mapping[field] for field in ENTRY_FIELDS}
            yield StoredSegment(row.seq, entry, data)

    @contextmanager
    def _failures(self, doing: str) -> Iterator[None]:
        """Database errors, SQLAlchemy's and the driver's own, as one LedgerError line."""
        dbapi = self._engine.dialect.dbapi
        errors = (SQLAlchemyError, dbapi.Error) if dbapi is not None else (SQLAlchemyError,)
        try:
            yield
        except errors as exc:
            raise LedgerError(f"{doing} the dedup index{self.where}: {_words(exc)}") from exc


def _write(conn: Connection, seq: int, segment: NewSegment) -> int:
    """Store a segment as number `seq`; return that number."""
    data, entry = segment
    conn.execute(insert(segment_table), {"seq": seq, **{f: entry[f] for f in ENTRY_FIELDS}})
    # One statement per part, each sliced when it is sent: a batch would hold every copy at once.
    for part, lo in enumerate(range(0, max(len(data), 1), _CHUNK)):
        conn.execute(
            insert(chunk_table), {"seq": seq, "part": part, "data": data[lo : lo + _CHUNK]}
        )
    return seq


def _words(exc: BaseException) -> str:
    return " ".join((database_failure(exc) or str(exc)).split())
