"""The ledger: signed envelopes in an RFC 6962 tree, stored in SQLite or PostgreSQL.

Append is batched: records are signed outside any lock (signing is the expensive part and
parallelises across writers), each bound to this ledger (its origin) and made unique (a random
record id) in the signed payload, so that a copy of an envelope anywhere is a replay that
`verify` names. Then one short transaction takes the writer lock, checks that the database still
holds the tree this writer last signed (`_sync`: no rollback, truncation or rewrite, and every
entry another writer added since is validly signed), numbers and inserts the entries, and signs
a checkpoint of the whole new tree in the same transaction. So the latest checkpoint always
covers every entry: an entry past it is tampering. Older checkpoints are thinned to one every
`checkpoint_interval` entries. A batch is committed whole or not at all, so a killed writer
leaves a verifiable ledger.

The tree the writer last signed lives outside the database, in the home (`KeptCheckpoint`);
a handle opened without one starts from the database on its first write (trust on first use).

The leaf of entry `seq` is `b"<seq>\\n" + envelope`: binding the position into the leaf lets
verification name the exact entry when rows are swapped, deleted or moved.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import socket
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, create_engine, event, func, insert
from sqlalchemy import select as sa_select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError
from sqlmodel import Session, SQLModel, col, select

from synthguard.ledger.log import lineage
from synthguard.ledger.log.checkpoint import (
    Checkpoint,
    parse_checkpoint,
    sign_checkpoint,
    verify_checkpoint,
)
from synthguard.ledger.log.kept import GONE_ADVICE, KEPT_FILES, KeptCheckpoint, KeptTree
from synthguard.ledger.log.keyring import KeyTimeline, build_timeline
from synthguard.ledger.log.lineage import MAKING_EVENTS
from synthguard.ledger.log.merkle import CompactRange
from synthguard.ledger.log.tables import (
    CheckpointRow,
    Entry,
    KeyRow,
    LedgerInfo,
    SampleRow,
    stored_bytes,
    wrong_type,
)
from synthguard.provenance.canonical import canonical_json, digest
from synthguard.provenance.dsse import open_envelope, sign_envelope
from synthguard.provenance.errors import KeyringError, LedgerError, VerificationError
from synthguard.provenance.keys import SigningKey, VerifyingKey
from synthguard.provenance.record import (
    KEY_EVENT_TYPE,
    RECORD_TYPE,
    KeyAction,
    KeyEvent,
    LineageRecord,
    utc_now,
)

DEFAULT_CHECKPOINT_INTERVAL = 1000
# A thread's share of a batch below this is signed faster than it is handed over.
_SIGN_SLICE_MIN = 64
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
"""The cores this process may run on: `append` signs a large batch on a thread per core."""
APPEND_LOCK_KEY = 0x5947_4C44
"""Any fixed number: the PostgreSQL advisory lock that serialises appends to one ledger."""

Statement = LineageRecord | KeyEvent
WaitNote = Callable[[str], None]
"""Takes the line that says a command is waiting for a lock, and who holds it."""
WAIT_NOTE_AFTER = 2.0
"""Seconds of waiting for a lock (the ledger's write lock, the dedup index) after which the
waiting command says so."""
WRITE_LOCK_WAIT = 120.0
"""Seconds a writer waits for the ledger's write lock before it gives up with one line."""
Admit = Callable[[], Sequence[int] | None]
"""Asked inside the write lock, after the other writers' entries are synced and before a batch
is written: the indices of the batch's entries to append (None: all of them); raising appends
nothing. What a writer decided before it took the lock (this sample is not recorded yet, that
quarantine is still held) another writer may have changed since; this is where it is decided
again."""


def leaf_bytes(seq: int, envelope: bytes) -> bytes:
    """Return the exact bytes hashed into the leaf of entry `seq`."""
    return b"%d\n" % seq + envelope


def entry_leaf_hash(seq: int, envelope: bytes) -> bytes:
    """Return the RFC 6962 leaf hash of entry `seq`: SHA-256(0x00 || leaf bytes)."""
    return hashlib.sha256(b"\x00%d\n" % seq + envelope).digest()


@dataclass(frozen=True, slots=True)
class Unsigned:
    """An entry ready to be signed: the exact payload bytes (bound to a ledger and a key,
    with a fresh record id), and the columns stored beside its envelope."""

    payload: bytes
    payload_type: str
    event: str
    sample_id: str | None
    time: str
    ledger: str
    signer: str


def unsigned_entry(record: Statement, origin: str, key_id: str) -> Unsigned:
    """Build the payload that `key_id` signs into the ledger `origin`: the key-free half of
    appending, which any process can do; LedgerError or KeyringError if the record is bound
    elsewhere."""
    if record.signer != key_id:
        raise KeyringError(
            f"record names signer {record.signer} but the ledger signs with {key_id}"
        )
    if isinstance(record, KeyEvent):
        kind, event, sample_id = KEY_EVENT_TYPE, record.action.value, None
    else:
        kind, event, sample_id = RECORD_TYPE, record.event.value, record.sample_id
    if record.ledger not in (None, origin):
        raise LedgerError(f"the record is bound to ledger {record.ledger!r}, not this one")
    # A record may come with its id (so that a later record can name it); else it gets a
    # fresh one here.
    payload = record.payload(origin, record.record_id or secrets.token_hex(16))
    return Unsigned(payload, kind, event, sample_id, record.time, origin, key_id)


@dataclass(frozen=True, slots=True)
class SignedBatch:
    """Entry rows signed by `Ledger.sign` (envelope and index columns; seq and leaf hash come
    with the append), for one ledger and key."""

    rows: list[dict[str, Any]]
    ledger: str
    key_id: str


def _signed_on(
    entries: Sequence[Unsigned], signer: SigningKey, threads: int
) -> list[dict[str, Any]]:
    """`_signed_rows` in slices of at least `_SIGN_SLICE_MIN` entries on up to `threads`
    threads (Ed25519 signing releases the GIL)."""
    threads = min(threads, len(entries) // _SIGN_SLICE_MIN)
    if threads < 2:
        return _signed_rows(entries, signer)
    step = -(-len(entries) // threads)
    slices = [entries[start : start + step] for start in range(0, len(entries), step)]
    with ThreadPoolExecutor(len(slices), thread_name_prefix="synthguard-sign") as pool:
        signed = pool.map(_signed_rows, slices, [signer] * len(slices))
        return [row for part in signed for row in part]


def _signed_rows(entries: Sequence[Unsigned], signer: SigningKey) -> list[dict[str, Any]]:
    return [
        {
            "envelope": sign_envelope(entry.payload, entry.payload_type, signer),
            "key_id": signer.key_id,
            "payload_type": entry.payload_type,
            "event": entry.event,
            "sample_id": entry.sample_id,
            "time": entry.time,
        }
        for entry in entries
    ]


def engine_for(url: str) -> Engine:
    """Create an engine for a ledger URL (a `sqlite:///` path or a PostgreSQL URL).

    Creating one connects to nothing: a SQLite file appears on the first connection only.
    """
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": WRITE_LOCK_WAIT})
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        if url.startswith("postgresql+psycopg://"):
            # Named, so that a writer waiting for the write lock can say who holds it.
            name = f"synthguard, {socket.gethostname()} pid {os.getpid()}"
            return create_engine(
                url, pool_pre_ping=True, connect_args={"application_name": name[:63]}
            )
    except (ArgumentError, ValueError) as exc:
        # ValueError: a URL SQLAlchemy cannot take apart (a port that is no number).
        raise LedgerError(
            f"{shown_url(url)!r} is not a ledger URL: use sqlite:///PATH or postgresql://..."
        ) from exc
    except ImportError as exc:
        raise LedgerError(
            "a PostgreSQL ledger needs the postgres extra: pip install 'synthguard[postgres]'"
        ) from exc
    raise LedgerError(
        f"unsupported ledger URL {shown_url(url)!r}: use sqlite:///PATH or postgresql://..."
    )


def sqlite_file(url: str) -> Path | None:
    """The database file of a `sqlite:///PATH` URL (None for other URLs and in-memory ones)."""
    if not url.startswith("sqlite"):
        return None
    try:
        database = make_url(url).database
    except ArgumentError:
        return None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _empty_file(database: Path) -> bool:
    """Whether a SQLite database file holds nothing, nor its write-ahead log (a WAL database
    has its header in the file from the start)."""
    if database.stat().st_size:
        return False
    wal = database.with_name(database.name + "-wal")
    return not wal.exists() or wal.stat().st_size == 0


def shown_url(url: str) -> str:
    """A ledger URL as errors show it: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        # A URL SQLAlchemy cannot parse may still carry a password.
        return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def database_failure(exc: BaseException) -> str | None:
    """The database's own words for a database error (without SQLAlchemy's statement and link
    to its error pages), None for any other exception."""
    if isinstance(exc, DBAPIError):
        return str(exc.orig)
    if isinstance(exc, SQLAlchemyError):
        return _ERROR_LINK.sub("", str(exc))
    if isinstance(exc, sqlite3.Error) or type(exc).__module__.startswith("psycopg"):
        # The drivers' own errors, from the queries run on their connections directly.
        return str(exc)
    return None


_ERROR_LINK = re.compile(r"\s*\(Background on this error at: \S+\)")


def _open_error(url: str, database: Path | None, exc: DBAPIError) -> LedgerError:
    """The one line for a ledger that cannot be opened: a cause a user can act on."""
    reason = " ".join(str(exc.orig).split())
    where = str(database) if database is not None else shown_url(url)
    # Extended SQLite codes carry the primary code in their low byte.
    code = (getattr(exc.orig, "sqlite_errorcode", None) or 0) & 0xFF
    if reason.startswith("no such table") or getattr(exc.orig, "sqlstate", None) == "42P01":
        return LedgerError(f"no synthguard ledger at {where} (run `synthguard init`)")
    if code == sqlite3.SQLITE_NOTADB:
        return LedgerError(f"{where} is not a synthguard ledger: it is not a SQLite database")
    if database is not None and code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY):
        folder = database.parent
        try:
            read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        except OSError:
            read_only = False
        if read_only:
            return LedgerError(
                f"cannot open the ledger at {where}: it is on a read-only filesystem, and SQLite "
                "writes its -wal and -shm files beside it; copy it somewhere writable"
            )
        if not (os.access(database, os.R_OK | os.W_OK) and os.access(folder, os.W_OK | os.X_OK)):
            return LedgerError(
                f"cannot open the ledger at {where}: permission denied (SQLite needs to read "
                "and write the file, and to write its -wal and -shm files in its folder)"
            )
    return LedgerError(f"cannot open the ledger at {where}: {reason}")


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver, so that the write transaction can say BEGIN IMMEDIATE itself;
    # SQLAlchemy's own reads still get their BEGIN from the "begin" event.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # The sample-id indexes are keyed by digests, so a batch touches index pages all over the
    # file; SQLite's default 2 MiB cache rereads them for every batch (100,000 recorded rows:
    # 16 s with it, 10 s with 64 MiB). The cache fills only as far as a connection needs it.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA wal_autocheckpoint=16384")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")


_NULLABLE = frozenset({"event", "sample_id"})


@dataclass(frozen=True, slots=True)
class EntryView:
    """An entry as read back: position, hashes and the exact envelope bytes."""

    seq: int
    leaf_hash: bytes
    envelope: bytes
    key_id: str
    payload_type: str
    event: str | None
    sample_id: str | None
    time: str

    def __post_init__(self) -> None:
        # SQLite keeps whatever type a hand edit stores in a column: a wrong one is an edit, and
        # said as one (not a TypeError wherever the value is first used).
        if (
            type(self.envelope) is not bytes
            or type(self.leaf_hash) is not bytes
            or type(self.key_id) is not str
            or type(self.payload_type) is not str
            or type(self.time) is not str
            or not isinstance(self.event, str | None)
            or not isinstance(self.sample_id, str | None)
        ):
            object.__setattr__(self, "envelope", stored_bytes(self.envelope, self.seq, "envelope"))
            object.__setattr__(
                self, "leaf_hash", stored_bytes(self.leaf_hash, self.seq, "leaf hash")
            )
            for name in ("key_id", "payload_type", "time", "event", "sample_id"):
                value = getattr(self, name)
                if not isinstance(value, str) and not (value is None and name in _NULLABLE):
                    raise wrong_type(self.seq, name.replace("_", " "), value, "text")

    @property
    def leaf(self) -> bytes:
        """The exact bytes hashed into this entry's leaf."""
        return leaf_bytes(self.seq, self.envelope)


class Ledger:
    """One ledger database; open it with a signing key to append."""

    def __init__(
        self,
        url: str,
        engine: Engine,
        signer: SigningKey | None = None,
        kept: KeptCheckpoint | None = None,
        root_key: str | None = None,
    ) -> None:
        self.url = url
        self.engine = engine
        self.signer = signer
        self.kept = kept
        # The genesis key the writer's home pins: it signs into no ledger founded by another.
        self.root_key = root_key
        # Told when a write waits for the write lock (another writer holds it).
        self.on_wait: WaitNote | None = None
        # The tree this handle last signed or checked, and the keys of entries other writers
        # added (from their signed key events): both loaded on the first write.
        self._tree: KeptTree | None = None
        self._tree_unnoted = False
        self._history_checked = False
        self._timeline: KeyTimeline | None = None
        self._timeline_size = 0
        info = self._info()
        if "origin" not in info:
            if info:
                raise LedgerError(
                    f"the ledger at {url} names no origin in its ledger_info table: the table "
                    "was edited in the database; put back the origin its checkpoints are "
                    "signed for (the first line of each checkpoint note)"
                )
            raise LedgerError(f"no synthguard ledger at {url} (run `synthguard init`)")
        self.origin = info["origin"]
        interval = info.get("checkpoint_interval", "")
        if not interval.isdigit() or int(interval) < 1:
            raise LedgerError(
                f"the ledger at {url} holds no valid checkpoint interval in its ledger_info table "
                f"({interval!r}): the table was edited in the database; put back the value it "
                f"was made with (default {DEFAULT_CHECKPOINT_INTERVAL})"
            )
        self.checkpoint_interval = int(interval)

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str,
        signer: SigningKey | None = None,
        kept: KeptCheckpoint | None = None,
        root_key: str | None = None,
    ) -> Ledger:
        """Open an existing ledger; `kept` is the home's record of what its key last signed,
        `root_key` the genesis key id its home pins (appends refuse a ledger another founded).

        A SQLite path with no file is refused before SQLite would create an empty one there.
        """
        database = sqlite_file(url)
        if database is not None:
            try:
                found = database.is_file()
                # SQLite would take an empty file for an empty database and write to it.
                empty = found and _empty_file(database)
            except OSError as exc:
                reason = (
                    "permission denied (a folder on its path may not be entered)"
                    if isinstance(exc, PermissionError)
                    else exc.strerror or str(exc)
                )
                raise LedgerError(f"cannot open the ledger at {database}: {reason}") from exc
            if not found:
                raise LedgerError(f"no synthguard ledger at {database} (run `synthguard init`)")
            if empty:
                raise LedgerError(
                    f"no synthguard ledger at {database}: the file is empty (run `synthguard init`)"
                )
        engine = engine_for(url)
        try:
            return cls(url, engine, signer, kept, root_key)
        except DBAPIError as exc:
            engine.dispose()
            raise _open_error(url, database, exc) from exc
        except LedgerError:
            engine.dispose()
            raise

    @classmethod
    def create(
        cls,
        url: str,
        signer: SigningKey,
        *,
        origin: str | None = None,
        checkpoint_interval: int = DEFAULT_CHECKPOINT_INTERVAL,
        kept: KeptCheckpoint | None = None,
    ) -> Ledger:
        """Create the tables and the genesis entry (the signer adding itself) of a new ledger."""
        engine = engine_for(url)
        try:
            SQLModel.metadata.create_all(engine, tables=_TABLES)
            with engine.begin() as conn:
                existing = conn.execute(select(func.count()).select_from(LedgerInfo)).scalar_one()
                if existing:
                    raise LedgerError(f"a ledger exists already at {url}")
                conn.execute(
                    insert(LedgerInfo),
                    [
                        {"name": "origin", "value": origin or _new_origin()},
                        {"name": "checkpoint_interval", "value": str(checkpoint_interval)},
                    ],
                )
        except OperationalError as exc:
            engine.dispose()
            raise LedgerError(f"cannot create a ledger at {url}: {exc.orig}") from exc
        ledger = cls(url, engine, signer, kept)
        ledger.append([ledger.key_event(KeyAction.ADDED, signer)], durable=True)
        return ledger

    def close(self) -> None:
        """Write the kept note file, and release the database connections."""
        if self.kept is not None and self._tree is not None and self._tree_unnoted:
            self.kept.save(self._tree, note=True)
            self._tree_unnoted = False
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _info(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(col(LedgerInfo.name), col(LedgerInfo.value))).all()
        return {name: value for name, value in rows}

    # -- writing ----------------------------------------------------------------------------

    @property
    def key_id(self) -> str:
        """The key id records appended through this handle must name as signer."""
        return self._signer().key_id

    def _signer(self) -> SigningKey:
        if self.signer is None:
            raise KeyringError("this ledger was opened without a signing key")
        return self.signer

    def key_event(
        self,
        action: KeyAction,
        key: SigningKey | VerifyingKey | None = None,
        *,
        key_id: str | None = None,
        reason: str | None = None,
    ) -> KeyEvent:
        """Build a key event signed by this handle's key about `key` (or `key_id`); another
        home's key comes as its public half alone (`keys add`)."""
        signer = self._signer()
        public = None
        if key is not None:
            half = key.public if isinstance(key, SigningKey) else key
            public = base64.b64encode(half.raw).decode("ascii")
        return KeyEvent(
            action=action,
            key_id=key.key_id if key is not None else (key_id or signer.key_id),
            public_key=public,
            previous_key_id=signer.key_id if action is KeyAction.ROTATED else None,
            reason=reason,
            time=utc_now(),
            signer=signer.key_id,
        )

    def append(
        self,
        records: Sequence[Statement],
        contents: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        durable: bool = False,
        admit: Admit | None = None,
    ) -> list[int]:
        """Sign and append records as one batch; return their seqs.

        `contents` maps sample ids to the sample rows to store beside the tree; content that
        is already stored is left as it is (ids are content-addressed). A committed batch
        survives a crash of the process; with `durable` it is also flushed to disk before
        this returns. Checkpoints are always flushed, and with them everything before them.
        `admit` decides inside the write lock which of the records go in (see `Admit`).
        """
        if not records:
            return []
        if len(records) > 1 and any(isinstance(r, KeyEvent) for r in records):
            # The signer of the rest of a batch could change under it.
            raise LedgerError("a key event is appended on its own, not inside a batch")
        signer = self._signer()
        prepared = self._prepare(records, signer)
        key_event = records[0] if isinstance(records[0], KeyEvent) else None
        content_rows = [content_row(sample_id, row) for sample_id, row in (contents or {}).items()]
        return self._commit_prepared(
            prepared, content_rows, set(contents or ()), signer, durable, key_event, admit
        )

    def sign(self, entries: Sequence[Unsigned], *, threads: int = 1) -> SignedBatch:
        """Sign lineage records whose payloads were built ahead (`unsigned_entry`, in any
        process: it needs no key), for `append_signed`; on up to `threads` threads (Ed25519
        signing releases the GIL, so they pay when nothing else here keeps the GIL busy).

        Each must have been built for this ledger and this handle's key; a key event goes
        through `append`.
        """
        signer = self._signer()
        for entry in entries:
            if entry.payload_type != RECORD_TYPE:
                raise LedgerError("a key event is appended through append, not signed ahead")
            if entry.ledger != self.origin or entry.signer != signer.key_id:
                raise LedgerError(
                    f"an entry built for ledger {entry.ledger!r} and key {entry.signer} cannot "
                    f"be signed into {self.origin!r} by key {signer.key_id}"
                )
        return SignedBatch(_signed_on(entries, signer, threads), self.origin, signer.key_id)

    def append_signed(
        self,
        batch: SignedBatch,
        contents: Sequence[dict[str, str]] = (),
        *,
        durable: bool = False,
        admit: Admit | None = None,
    ) -> list[int]:
        """`append` for a batch that `sign` signed (here, or in a process forked from this
        one), with its samples' content as `content_row` prepared it; return the seqs of the
        entries `admit` let in (all, without it)."""
        signer = self._signer()
        if batch.ledger != self.origin or batch.key_id != signer.key_id:
            raise LedgerError(
                f"a batch signed for ledger {batch.ledger!r} by key {batch.key_id} cannot be "
                f"appended to {self.origin!r}, which signs with {signer.key_id}"
            )
        if not batch.rows:
            return []
        stored = {row["sample_id"] for row in contents}
        return self._commit_prepared(
            list(batch.rows), list(contents), stored, signer, durable, admit=admit
        )

    def _commit_prepared(
        self,
        prepared: list[dict[str, Any]],
        content_rows: list[dict[str, str]],
        stored: set[str],
        signer: SigningKey,
        durable: bool,
        key_event: KeyEvent | None = None,
        admit: Admit | None = None,
    ) -> list[int]:
        # A record that makes a sample comes with its content (or finds it stored): content
        # missing without a signed `erased` record is what `verify` calls tampering.
        unstored = {row["sample_id"] for row in prepared if row["event"] in MAKING_EVENTS} - stored
        return self._commit(
            signer,
            prepared,
            content_rows,
            durable=durable,
            key_event=key_event,
            unstored=unstored,
            admit=admit,
        )

    def _commit(
        self,
        signer: SigningKey,
        prepared: list[dict[str, Any]],
        content_rows: list[dict[str, str]],
        *,
        durable: bool,
        key_event: KeyEvent | None = None,
        erase: str | None = None,
        unstored: set[str] | None = None,
        admit: Admit | None = None,
    ) -> list[int]:
        """One write transaction: sync, admit, insert, checkpoint; then keep what was signed."""
        try:
            durable = durable or self._interval_due(len(prepared))
            with _Transaction(self.engine, durable=durable, on_wait=self.on_wait) as cur:
                if unstored:
                    _check_stored(cur, unstored)
                synced = self._sync(cur)
                if synced is not None:
                    self._check_signer(cur, signer.key_id, synced.size)
                if admit is not None:
                    prepared, content_rows = _admitted(admit(), prepared, content_rows)
                    if not prepared:
                        if synced is not None:
                            self._keep(synced)
                        return []
                compact = CompactRange(synced.size, synced.compact.hashes) if synced else None
                last_leaf = synced.last_leaf if synced else b""
                seqs, tree = self._write(
                    cur, compact or CompactRange(), last_leaf, prepared, content_rows, signer
                )
                if key_event is not None:
                    self._apply_key_event(cur, seqs[0], key_event)
                if erase is not None:
                    cur.run(f"DELETE FROM samples WHERE sample_id = {cur.mark}", (erase,))
        except self._write_errors as exc:
            raise LedgerError(f"cannot append to the ledger: {getattr(exc, 'orig', exc)}") from exc
        self._keep(tree)
        # The signer check read the key events before this batch; the batch added none unless it
        # is one: the next batch's check need not read them again.
        if key_event is not None:
            self._timeline = None
        elif self._timeline is not None and self._timeline_size >= seqs[0]:
            self._timeline_size = seqs[-1] + 1
        return seqs

    def _interval_due(self, count: int) -> bool:
        # A checkpoint that outlives thinning is flushed to disk, and with it all before it.
        if self._tree is None:
            return True
        size = self._tree.size
        return (size + count) // self.checkpoint_interval > size // self.checkpoint_interval

    def _keep(self, tree: KeptTree, *, note: bool = False) -> None:
        self._tree = tree
        if self.kept is not None:
            self.kept.save(tree, note=note)
            self._tree_unnoted = not note

    @property
    def _write_errors(self) -> tuple[type[Exception], ...]:
        # The write path runs on the driver's connection, so its errors arrive unwrapped.
        dbapi = self.engine.dialect.dbapi
        return (OperationalError, dbapi.Error) if dbapi is not None else (OperationalError,)

    def _prepare(self, records: Sequence[Statement], signer: SigningKey) -> list[dict[str, Any]]:
        """Sign the records (a large batch on a thread per core); return entry rows still
        lacking seq and leaf hash."""
        entries = [unsigned_entry(record, self.origin, signer.key_id) for record in records]
        return _signed_on(entries, signer, _CORES)

    def _check_signer(self, cur: Cursor, key_id: str, size: int) -> None:
        """Check that `key_id` may sign the entry at `size`, as the signed key events of the
        first `size` entries say (not the `keys` table: a database edit there must neither stop
        a key from signing nor let one sign)."""
        span = self._timeline_upto(cur, size).spans.get(key_id)
        if span is None:
            raise KeyringError(f"key {key_id} is not a key of this ledger")
        if span.status != "active":
            raise KeyringError(f"key {key_id} is {span.status}; it may not sign new records")

    def _sync(self, cur: Cursor) -> KeptTree | None:
        """Inside the write lock: the database's tree as far as a ledger key vouches for it,
        checked against the tree this writer last signed (refusing a rollback, truncation or
        rewrite) and extended by the entries other writers appended since, each checked (leaf
        and signature) and all covered by a checkpoint a ledger key signed. None: the ledger
        is still empty."""
        if self.root_key is not None and not self._history_checked:
            self._check_root(cur)
        tree = self._tree
        if tree is None and self.kept is not None:
            tree = self._tree = self._kept_tree(cur, self.kept)
        if tree is None:
            tree = self._bootstrap(cur)
            if tree is not None and self.kept is not None:
                # Kept before this writer's first commit: a crash right after it leaves a kept
                # tree that the entries this key then signed extend, not a home whose key
                # signed with no kept files, which reads as files removed.
                self.kept.save(tree)
            return tree
        if not self._history_checked:
            self._check_history(cur, tree)
        start = tree.size - 1
        rows = cur.all(
            f"SELECT seq, envelope FROM entries WHERE seq >= {cur.mark} ORDER BY seq", (start,)
        )
        if not rows or rows[0][0] != start:
            held = int(cur.one("SELECT count(*) FROM entries")[0])
            raise VerificationError(
                f"refusing to sign: the ledger holds {held} entries, but this home signed a "
                f"checkpoint of {tree.size}: entries were cut off or the database was rolled "
                "back to an older copy (run `synthguard verify`)",
                seq=min(held, start),
            )
        if entry_leaf_hash(start, stored_bytes(rows[0][1], start, "envelope")) != tree.last_leaf:
            raise VerificationError(
                f"refusing to sign: entry {start} is not the entry this home checkpointed "
                "there: history was rewritten (run `synthguard verify`)",
                seq=start,
            )
        if len(rows) == 1:
            return tree
        compact = CompactRange(tree.compact.size, tree.compact.hashes)
        last = tree.last_leaf
        for seq, envelope in rows[1:]:
            last = self._foreign(cur, compact.size, seq, stored_bytes(envelope, seq, "envelope"))
            compact.append(last)
        return KeptTree(self._covering(cur, compact, tree.size), compact, last)

    def _kept_tree(self, cur: Cursor, kept: KeptCheckpoint) -> KeptTree | None:
        """The tree this home kept, its note's signature checked against the keys the ledger's
        signed key events allow at its size: the tree a writer extends is one a key signed,
        not any frontier written into the home's files."""
        tree = kept.load(None)
        if tree is None:
            return None
        keys = self._timeline_upto(cur, tree.size).checkpoint_keys(tree.size)
        try:
            verify_checkpoint(tree.checkpoint.note, keys)
        except VerificationError as exc:
            raise VerificationError(
                f"refusing to sign: the checkpoint this home kept ({kept.folder}) does not "
                f"verify ({exc}): its kept files were written without a key; restore them from "
                "a backup (run `synthguard verify`)"
            ) from exc
        return tree

    def _check_root(self, cur: Cursor) -> None:
        """Before the history checks: the ledger's genesis entry is signed by the key the
        home pins (a self-signed key event no one else can make), else this is another ledger
        (a wrong --db, say) and nothing of it is this home's history. A genesis entry that
        does not verify is left to the history checks."""
        rows = cur.all(f"SELECT seq, envelope FROM entries WHERE seq = {cur.mark}", (0,))
        if not rows:
            return
        try:
            timeline, _ = build_timeline([(0, stored_bytes(rows[0][1], 0, "envelope"))])
        except VerificationError:
            return
        genesis = next(iter(timeline.spans), None)
        if genesis is not None and genesis != self.root_key:
            raise KeyringError(
                f"refusing to sign: the ledger at {shown_url(self.url)} was founded by key "
                f"{genesis}, not by {self.root_key}, the genesis key this home pins "
                "(config.json's root_key): it is not the ledger this home joined (check --db "
                "and SYNTHGUARD_DB)"
            )

    def _check_history(self, cur: Cursor, tree: KeptTree) -> None:
        """Once per handle: the database's first entries still form the tree this home signed
        (their stored leaf hashes, one query; whoever rewrites history must recompute them, and
        whoever does not is caught by `verify`, which recomputes every leaf), under the origin
        this home signed it as: the `ledger_info` table's origin is what the writer binds every
        new record and checkpoint to, and an edited one would have this key sign statements
        for another ledger."""
        if tree.checkpoint.origin != self.origin:
            raise VerificationError(
                f"refusing to sign: the ledger_info table names this ledger {self.origin!r}, "
                f"but this home signed it as {tree.checkpoint.origin!r}: the table was edited "
                f"in the database (put back {tree.checkpoint.origin!r}; run `synthguard verify`)"
            )
        compact = CompactRange()
        while compact.size < tree.size:
            leaves = cur.all(
                f"SELECT leaf_hash FROM entries WHERE seq >= {cur.mark} AND seq < {cur.mark} "
                f"ORDER BY seq LIMIT {_READ_CHUNK}",
                (compact.size, tree.size),
            )
            for at, (leaf,) in enumerate(leaves, compact.size):
                compact.append(stored_bytes(leaf, at, "leaf hash"))
            if len(leaves) < _READ_CHUNK:
                break
        if compact.size == tree.size and compact.hashes == tree.compact.hashes:
            self._history_checked = True
            return
        if compact.size < tree.size:
            raise VerificationError(
                f"refusing to sign: the ledger holds {compact.size} of the {tree.size} entries "
                "this home checkpointed: entries were cut off or deleted, or the database was "
                "rolled back to an older copy (run `synthguard verify`)",
                seq=compact.size,
            )
        raise VerificationError(
            f"refusing to sign: the ledger's first {tree.size} entries are not the tree this "
            "home signed: history was rewritten (run `synthguard verify`)"
        )

    def _bootstrap(self, cur: Cursor, *, rekeep: bool = False) -> KeptTree | None:
        """The database's tree when this writer has none of its own (a new home, a home from
        before kept checkpoints, a bare URL): every entry read and hashed, and the whole tree
        covered by the database's latest checkpoint, signed by a ledger key (trust on first
        use of that key set, from the signed key events). A home whose key signed a bound
        entry kept a checkpoint when it did: with none kept now (and not `rekeep`), its files
        were removed, and it refuses to sign (`kept.GONE_ADVICE`)."""
        compact = CompactRange()
        last = b""
        own = self.kept is not None and not rekeep
        while True:
            rows = cur.all(
                f"SELECT seq, envelope FROM entries WHERE seq >= {cur.mark} ORDER BY seq "
                f"LIMIT {_READ_CHUNK}",
                (compact.size,),
            )
            for seq, envelope in rows:
                if seq != compact.size:
                    raise VerificationError(
                        f"refusing to sign: entry {compact.size} is missing", seq=compact.size
                    )
                stored = stored_bytes(envelope, seq, "envelope")
                if own and self._signed_here(stored):
                    raise VerificationError(
                        f"refusing to sign: this home's key signed entry {seq} of the ledger, but "
                        f"the home keeps no checkpoint of it ({', '.join(KEPT_FILES)}): "
                        f"{GONE_ADVICE}",
                        seq=seq,
                    )
                last = entry_leaf_hash(seq, stored)
                compact.append(last)
            if len(rows) < _READ_CHUNK:
                break
        self._history_checked = True
        if compact.size == 0:
            return None
        return KeptTree(self._covering(cur, compact, 0), compact, last)

    def _signed_here(self, envelope: bytes) -> bool:
        """Whether a key this home holds signed the envelope's bound (version 2) record."""
        assert self.kept is not None
        # A byte search first: this runs over every entry of a ledger a home starts from.
        if not any(stem.encode() in envelope for stem in self.kept.key_stems()):
            return False
        try:
            data = json.loads(envelope)
            signers = [s["keyid"] for s in data["signatures"] if isinstance(s, dict)]
            if not any(isinstance(k, str) and self.kept.holds(k) for k in signers):
                return False
            payload = json.loads(base64.b64decode(data["payload"]))
        except (ValueError, TypeError, KeyError):
            return False  # not an envelope: the history checks name it
        return isinstance(payload, dict) and payload.get("schema_version") != 1

    def check_history(self, *, signing: bool = True) -> None:
        """The checks a writer makes before it signs, made now (VerificationError as a write
        would raise it): the database holds the tree this home signed, and every entry since
        is signed by a ledger key and covered by a checkpoint one signed. For a command that
        decides from the ledger before it signs (a screen reads which samples are held), so
        that it stops before it writes anything, not after; `signing=False` for one that
        signs nothing (its message does not say "refusing to sign")."""
        try:
            with _Transaction(self.engine, durable=False, on_wait=self.on_wait) as cur:
                self._sync(cur)
        except self._write_errors as exc:
            raise LedgerError(f"cannot read the ledger: {getattr(exc, 'orig', exc)}") from exc
        except VerificationError as exc:
            if signing:
                raise
            reason = str(exc).removeprefix("refusing to sign: ")
            raise VerificationError(reason, seq=exc.seq) from exc

    def rekeep(self) -> Checkpoint | None:
        """Keep the database's tree as this home's (its latest checkpoint, checked as a new
        home checks it), whatever the home kept before: after `verify` against a checkpoint
        kept elsewhere, when the kept files were lost. None: the ledger is empty."""
        if self.kept is None:
            raise LedgerError("no home to keep a checkpoint in")
        with _Transaction(self.engine, durable=False, on_wait=self.on_wait) as cur:
            tree = self._bootstrap(cur, rekeep=True)
        if tree is None:
            return None
        self._tree = tree
        # Both slots: the larger tree of the two is the one read, and what this replaces may
        # be larger (a database restored from a backup).
        self.kept.save(tree)
        self.kept.save(tree, note=True)
        return tree.checkpoint

    def _covering(self, cur: Cursor, compact: CompactRange, trusted: int) -> Checkpoint:
        """The database's latest checkpoint, checked: signed by a key the signed key events
        allow at its size, for this ledger, and of exactly this tree. Entries past `trusted`
        that no such checkpoint covers were added without a key."""
        row = cur.one("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")
        try:
            return self._signing(cur, compact, None if row is None else row[0])
        except VerificationError as exc:
            raise VerificationError(
                f"refusing to sign: entries {trusted}-{compact.size - 1} are covered by no "
                f"checkpoint a ledger key signed ({exc}): they were added without a key "
                "(run `synthguard verify`)",
                seq=trusted,
            ) from exc

    def _signing(self, cur: Cursor, compact: CompactRange, note: object) -> Checkpoint:
        """The latest checkpoint's stored `note` (None: there is none), checked as a signature
        of the tree `compact` by a key the signed key events allow at its size, for this
        ledger; VerificationError says what is wrong."""
        if note is None:
            raise VerificationError("no checkpoint")
        if not isinstance(note, str):
            raise VerificationError(f"a checkpoint note stored as {type(note).__name__}")
        timeline = self._timeline_upto(cur, compact.size)
        checkpoint, _ = verify_checkpoint(note, timeline.checkpoint_keys(compact.size))
        if checkpoint.origin != self.origin:
            raise VerificationError(f"a checkpoint of origin {checkpoint.origin!r}")
        if (checkpoint.size, checkpoint.root) != (compact.size, compact.root()):
            raise VerificationError(f"the latest checkpoint is of size {checkpoint.size}")
        return checkpoint

    def _timeline_upto(self, cur: Cursor, size: int) -> KeyTimeline:
        """The key timeline from the signed key events among the first `size` entries."""
        timeline = self._timeline
        if timeline is None or self._timeline_size < size:
            # Through the event index: a handful of rows, not a scan of the ledger (every append
            # asks). An entry whose columns hide that it is a key event is caught by `verify`,
            # and `_foreign` applies each key event appended since this writer's checkpoint from
            # its envelope, whatever its columns say.
            actions = [action.value for action in KeyAction]
            marks = ", ".join([cur.mark] * len(actions))
            rows = cur.all(
                f"SELECT seq, envelope FROM entries WHERE event IN ({marks}) "
                f"AND seq < {cur.mark} ORDER BY seq",
                (*actions, size),
            )
            timeline, error = build_timeline((s, bytes(e)) for s, e in rows)
            if error is not None:
                raise error
            self._timeline, self._timeline_size = timeline, size
        return timeline

    def _foreign(self, cur: Cursor, expected: int, seq: int, envelope: bytes) -> bytes:
        """Check an entry another writer appended; return its leaf hash."""
        if seq != expected:
            raise VerificationError(f"refusing to sign: entry {expected} is missing", seq=expected)
        timeline = self._timeline_upto(cur, seq)
        try:
            kind, payload, signer = open_envelope(envelope, partial(timeline.key_at, seq=seq))
            if kind == KEY_EVENT_TYPE:
                timeline.apply(seq, KeyEvent.from_payload(payload), signer)
            # The timeline now holds every key event before seq + 1: the next entry needs no
            # new read of them.
            self._timeline_size = seq + 1
        except (VerificationError, ValueError) as exc:
            raise VerificationError(
                f"refusing to sign: entry {seq}, appended since this home's last checkpoint, "
                f"does not verify ({exc}) (run `synthguard verify`)",
                seq=seq,
            ) from exc
        return entry_leaf_hash(seq, envelope)

    def _write(
        self,
        cur: Cursor,
        compact: CompactRange,
        last_leaf: bytes,
        prepared: list[dict[str, Any]],
        content_rows: list[dict[str, str]],
        signer: SigningKey,
    ) -> tuple[list[int], KeptTree]:
        """Number and insert a batch and the checkpoints it brings (the whole new tree's, and
        any at a multiple of the interval); return its seqs and the tree now signed."""
        start = compact.size
        due = []
        for seq, row in enumerate(prepared, start):
            last_leaf = entry_leaf_hash(seq, row["envelope"])
            row["seq"] = seq
            row["leaf_hash"] = last_leaf
            compact.append(last_leaf)
            if compact.size % self.checkpoint_interval == 0:
                due.append((compact.size, compact.root()))
        if not due or due[-1][0] != compact.size:
            due.append((compact.size, compact.root()))
        mark = cur.mark
        cur.run_many(
            f"INSERT INTO entries ({', '.join(_ENTRY_FIELDS)}) "
            f"VALUES ({', '.join([mark] * len(_ENTRY_FIELDS))})",
            list(map(_ENTRY_VALUES, prepared)),
        )
        if content_rows:
            _insert_missing_samples(cur, content_rows)
        if start % self.checkpoint_interval:
            # The previous latest checkpoint, thinned out now that a larger one covers it.
            cur.run(f"DELETE FROM checkpoints WHERE size = {mark}", (start,))
        now = utc_now()
        notes = [
            (size, root, sign_checkpoint(self.origin, size, root, signer)) for size, root in due
        ]
        cur.run_many(
            f"INSERT INTO checkpoints (size, root, note, key_id, time) "
            f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})",
            [(size, root, note, signer.key_id, now) for size, root, note in notes],
        )
        latest = parse_checkpoint(notes[-1][2])
        return list(range(start, compact.size)), KeptTree(latest, compact, last_leaf)

    def _apply_key_event(self, cur: Cursor, seq: int, event: KeyEvent) -> None:
        mark = cur.mark
        if event.action in (KeyAction.ADDED, KeyAction.ROTATED):
            cur.run(
                f"INSERT INTO keys (key_id, public_key, status, added_seq) "
                f"VALUES ({mark}, {mark}, {mark}, {mark})",
                (event.key_id, base64.b64decode(event.public_key or ""), "active", seq),
            )
        ended = event.previous_key_id if event.action is KeyAction.ROTATED else None
        if event.action is KeyAction.REVOKED:
            ended = event.key_id
        if ended is not None:
            status = "revoked" if event.action is KeyAction.REVOKED else "retired"
            cur.run(
                f"UPDATE keys SET status = {mark}, ended_seq = {mark} WHERE key_id = {mark}",
                (status, seq, ended),
            )

    def checkpoint(self) -> Checkpoint:
        """The checkpoint of the whole tree, after checking (as before any write) that the
        database holds the tree this writer signed and that a ledger key vouches for every
        entry since; a deleted copy of it is put back."""
        self._signer()
        try:
            with _Transaction(self.engine, durable=True, on_wait=self.on_wait) as cur:
                synced = self._sync(cur)
                if synced is None:
                    raise LedgerError("the ledger is empty: nothing to checkpoint")
                note = synced.checkpoint.note
                mark = cur.mark
                row = cur.one(f"SELECT note FROM checkpoints WHERE size = {mark}", (synced.size,))
                if row is None or row[0] != note:
                    keys = self._timeline_upto(cur, synced.size).checkpoint_keys(synced.size)
                    _, key_id = verify_checkpoint(note, keys)
                    cur.run(f"DELETE FROM checkpoints WHERE size = {mark}", (synced.size,))
                    cur.run(
                        f"INSERT INTO checkpoints (size, root, note, key_id, time) "
                        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})",
                        (synced.size, synced.compact.root(), note, key_id, utc_now()),
                    )
        except self._write_errors as exc:
            raise LedgerError(f"cannot write to the ledger: {getattr(exc, 'orig', exc)}") from exc
        self._keep(synced, note=True)
        return synced.checkpoint

    # -- reading ----------------------------------------------------------------------------

    def size(self) -> int:
        """Number of entries (as the entries table holds them, not as the writer believes)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Entry)).scalar_one())

    def entry(self, seq: int) -> EntryView | None:
        """Return the entry at `seq`, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa_select(*_ENTRY_COLUMNS).where(col(Entry.seq) == seq)).first()
        return EntryView(*row) if row else None

    def entries(
        self, start: int = 0, stop: int | None = None, chunk: int = 5000
    ) -> Iterator[EntryView]:
        """Yield entries with start <= seq < stop in seq order, reading in chunks."""
        position = start
        while stop is None or position < stop:
            end = position + chunk if stop is None else min(position + chunk, stop)
            rows = read_entries(self.engine, position, end)
            if not rows:
                return
            yield from rows
            position = rows[-1].seq + 1

    def read_tree(self) -> ReadTree:
        """A tree to add the leaf hashes of a scan's entries to, and to check once it ends."""
        return ReadTree(self.kept.load(None) if self.kept is not None else None)

    def check_read(self, read: ReadTree) -> None:
        """Check that the entries a scan read (0 to `read.size`) are the tree the ledger's keys
        signed: extended by the stored leaf hashes after them to the database's latest
        checkpoint, the tree that checkpoint signs, and one that extends the tree this home
        kept. The leaf hashes were each recomputed from the envelope read, so no row the
        database answered a scan with can differ from those the signed tree holds: a database
        can answer two queries with different rows (a PostgreSQL view over the entries that
        edits what one query sees), and a decision read that way is a VerificationError."""
        compact = CompactRange(read.compact.size, read.compact.hashes)
        at_kept = read.at_kept
        kept = read.kept
        # A read, not the write lock: a writer asks inside its own append (an override's
        # "still held?"), and the rows below the latest checkpoint never change.
        with _reading(self.engine) as cur:
            row = cur.one("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1")
            latest = int(row[0]) if row is not None else 0
            while compact.size < latest:
                rows = cur.all(
                    f"SELECT seq, leaf_hash FROM entries WHERE seq >= {cur.mark} AND seq < "
                    f"{cur.mark} ORDER BY seq LIMIT {_READ_CHUNK}",
                    (compact.size, latest),
                )
                for seq, leaf in rows:
                    if seq != compact.size:
                        break
                    compact.append(stored_bytes(leaf, seq, "leaf hash"))
                    if kept is not None and compact.size == kept.size:
                        at_kept = compact.hashes
                if len(rows) < _READ_CHUNK or compact.size < rows[-1][0] + 1:
                    break
            if kept is not None and (at_kept is None or at_kept != kept.compact.hashes):
                raise VerificationError(
                    f"the ledger's entries as read here do not extend the tree of {kept.size} "
                    "entries this home last signed: the database was rolled back or rewritten, "
                    "or answers this read with rows other than those it holds (run "
                    "`synthguard verify`)"
                )
            if compact.size == 0 and row is None:
                return
            try:
                self._signing(cur, compact, None if row is None else row[1])
            except VerificationError as exc:
                raise VerificationError(
                    f"the ledger's entries read here (0-{read.size - 1}) are not the tree its "
                    f"latest checkpoint signs ({exc}): the database answered this read with "
                    "entries other than those a ledger key signed, or holds entries added "
                    "without a key (run `synthguard verify`)",
                    seq=read.size,
                ) from exc

    def prefix(self, size: int, chunk: int = 5000) -> Iterator[EntryView]:
        """Yield entries 0..size-1 in order; VerificationError naming the first one missing."""
        position = 0
        for entry in self.entries(0, size, chunk):
            if entry.seq != position:
                break
            yield entry
            position += 1
        if position < size:
            raise VerificationError(f"entry {position} is missing", seq=position)

    def key_timeline(
        self, root_key_id: str | None, size: int
    ) -> tuple[KeyTimeline, VerificationError | None]:
        """Apply the signed key events among the first `size` entries in seq order (the genesis
        key pinned by `root_key_id`), up to the first bad one; return it unraised.

        The timeline built so far is sound for every entry before the bad event.
        """
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(col(Entry.seq), col(Entry.envelope))
                # Through the event index; entries whose payload type disagrees with their
                # event column are caught by `verify`'s pass over every entry.
                .where(col(Entry.event).in_([action.value for action in KeyAction]))
                .where(col(Entry.seq) < size)
                .order_by(col(Entry.seq))
            ).all()
        return build_timeline(
            ((seq, stored_bytes(envelope, seq, "envelope")) for seq, envelope in rows), root_key_id
        )

    def checkpoints(self) -> list[CheckpointRow]:
        """All checkpoint rows, smallest tree first."""
        with Session(self.engine) as session:
            return list(session.exec(select(CheckpointRow).order_by(col(CheckpointRow.size))).all())

    def latest_checkpoint(self) -> Checkpoint | None:
        """The checkpoint of the largest tree, parsed (its signature unchecked)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(col(CheckpointRow.note)).order_by(col(CheckpointRow.size).desc()).limit(1)
            ).first()
        return parse_checkpoint(row[0]) if row else None

    def keys(self) -> list[KeyRow]:
        """The ledger's keys as its signed key events say, oldest first: each one's public key,
        status and the entries it may sign. The `keys` table is the writers' cache of the same,
        and a database edit there changes nothing any command trusts; VerificationError when a
        key event does not verify (run `synthguard verify`)."""
        timeline, error = self.key_timeline(None, self.size())
        if error is not None:
            raise error
        return [
            KeyRow(
                key_id=key_id,
                public_key=span.key.raw,
                status=span.status,
                added_seq=span.added_seq,
                ended_seq=span.ended_seq,
            )
            for key_id, span in sorted(timeline.spans.items(), key=lambda item: item[1].added_seq)
        ]

    def sample(self, sample_id: str) -> dict[str, Any] | None:
        """Return the stored row of a sample, or None (never stored, or erased)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(col(SampleRow.content)).where(col(SampleRow.sample_id) == sample_id)
            ).first()
        return json.loads(row[0]) if row else None

    def contents(self, sample_ids: Sequence[str], chunk: int = 500) -> Iterator[tuple[str, str]]:
        """Yield (sample id, stored content as written) for each of `sample_ids` whose content
        is stored, a query per `chunk` ids; erased and never-stored samples are left out."""
        with self.engine.connect() as conn:
            for start in range(0, len(sample_ids), chunk):
                rows = conn.execute(
                    select(col(SampleRow.sample_id), col(SampleRow.content)).where(
                        col(SampleRow.sample_id).in_(sample_ids[start : start + chunk])
                    )
                )
                yield from ((sample_id, content) for sample_id, content in rows)

    def depth_of(self, sample_id: str) -> int | None:
        """Return the generation depth the ledger records for a sample, or None if it has none.

        The Recorder asks this for parents it did not record itself.
        """
        return lineage.depth_of(self, sample_id)

    def depths_of(self, sample_ids: Iterable[str]) -> dict[str, int]:
        """`depth_of` for many samples at once (ids without records are left out)."""
        return lineage.depths_of(self, sample_ids)

    def erase(self, record: LineageRecord) -> int:
        """Append an `erased` record and delete the sample's content in the same transaction."""
        signer = self._signer()
        prepared = self._prepare([record], signer)
        return self._commit(signer, prepared, [], durable=True, erase=record.sample_id)[0]


class ReadTree:
    """The tree of the entries a scan read from the first on: each entry's leaf hash, which
    the scan recomputed from the envelope it read, added in order; `Ledger.check_read` checks
    it against the trees the ledger's keys signed once the scan is done."""

    def __init__(self, kept: KeptTree | None) -> None:
        self.kept = kept
        self.compact = CompactRange()
        # The frontier at the kept tree's size, once the scan has passed it.
        self.at_kept: list[bytes] | None = [] if kept is not None and kept.size == 0 else None

    @property
    def size(self) -> int:
        """Entries added."""
        return self.compact.size

    def add(self, seq: int, leaf: bytes) -> None:
        """Add entry `seq`'s leaf hash; VerificationError when an entry before it is missing."""
        if seq != self.compact.size:
            raise VerificationError(
                f"entry {self.compact.size} is missing (run `synthguard verify`)",
                seq=self.compact.size,
            )
        self.compact.append(leaf)
        if self.kept is not None and self.compact.size == self.kept.size:
            self.at_kept = self.compact.hashes


def read_entries(engine: Engine, start: int, stop: int) -> list[EntryView]:
    """Return the stored entries with start <= seq < stop, in seq order."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa_select(*_ENTRY_COLUMNS)
            .where(col(Entry.seq) >= start, col(Entry.seq) < stop)
            .order_by(col(Entry.seq))
        ).all()
    return [EntryView(*row) for row in rows]


_ENTRY_COLUMNS = (
    col(Entry.seq),
    col(Entry.leaf_hash),
    col(Entry.envelope),
    col(Entry.key_id),
    col(Entry.payload_type),
    col(Entry.event),
    col(Entry.sample_id),
    col(Entry.time),
)
_ENTRY_FIELDS = (
    "seq",
    "leaf_hash",
    "envelope",
    "key_id",
    "payload_type",
    "event",
    "sample_id",
    "time",
)
_ENTRY_VALUES = itemgetter(*_ENTRY_FIELDS)
_SAMPLE_VALUES = itemgetter("sample_id", "digest", "content")
_TABLES = [
    SQLModel.metadata.tables[name]
    for name in ("entries", "checkpoints", "samples", "keys", "ledger_info")
]
# Entries read per query when a writer without a kept tree reads the whole ledger.
_READ_CHUNK = 20_000


class _Transaction:
    """A write transaction holding the ledger's one writer lock, on either backend.

    It runs on the driver's own connection (checked out of the engine's pool): the append
    path is a handful of statements, and SQLAlchemy's per-statement machinery would cost more
    than the statements themselves. Not `durable`: the commit survives a crash of this process
    but may be lost to a power cut (SQLite WAL with synchronous=NORMAL; PostgreSQL
    synchronous_commit off), which keeps an fsync off every batch. `durable`: flushed to disk
    before the commit returns, and with it everything committed before.
    """

    def __init__(self, engine: Engine, *, durable: bool, on_wait: WaitNote | None) -> None:
        self.engine = engine
        self.durable = durable
        self.on_wait = on_wait
        self.sqlite = engine.dialect.name == "sqlite"
        self.raw: Any = None

    def __enter__(self) -> Cursor:
        self.raw = self.engine.raw_connection()
        cursor: Any = self.raw.cursor()
        try:
            if self.sqlite:
                # The safety level is fixed per transaction, so it is set just before BEGIN
                # (when this pooled connection's last transaction had the other one).
                level = "FULL" if self.durable else "NORMAL"
                if self.raw.info.get("synchronous") != level:
                    cursor.execute(f"PRAGMA synchronous={level}")
                    self.raw.info["synchronous"] = level
                self._begin_sqlite(cursor)
            else:
                self._begin_postgres(cursor)
        except BaseException:
            self.raw.close()
            raise
        return Cursor(cursor, "?" if self.sqlite else "%s")

    def _begin_sqlite(self, cursor: Any) -> None:
        """BEGIN IMMEDIATE: the write lock, waited for as the connection's busy timeout says
        (WRITE_LOCK_WAIT), with a note after WAIT_NOTE_AFTER seconds."""
        cursor.execute(f"PRAGMA busy_timeout={int(WAIT_NOTE_AFTER * 1000)}")
        try:
            cursor.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            who = "another process writing to this SQLite file (it takes one writer at a time)"
            self._waiting(who)
            cursor.execute(f"PRAGMA busy_timeout={int((WRITE_LOCK_WAIT - WAIT_NOTE_AFTER) * 1000)}")
            try:
                cursor.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as again:
                if again.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
                raise _held_too_long(who) from again
        finally:
            cursor.execute(f"PRAGMA busy_timeout={int(WRITE_LOCK_WAIT * 1000)}")

    def _begin_postgres(self, cursor: Any) -> None:
        """The ledger's advisory lock, for this transaction: taken at once when it is free (one
        statement, as before), else waited for, with a note after WAIT_NOTE_AFTER seconds that
        names its holder, and given up after WRITE_LOCK_WAIT (a writer stopped, or a session
        left idle in its transaction, holds it until it ends)."""
        self._settings(cursor)
        cursor.execute(f"SELECT pg_try_advisory_xact_lock({APPEND_LOCK_KEY})")
        if cursor.fetchone()[0] or self._locked_within(cursor, WAIT_NOTE_AFTER):
            return
        self._waiting(_pg_lock_holder(cursor))
        if not self._locked_within(cursor, WRITE_LOCK_WAIT - WAIT_NOTE_AFTER):
            raise _held_too_long(_pg_lock_holder(cursor))

    def _settings(self, cursor: Any) -> None:
        if not self.durable:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")

    def _locked_within(self, cursor: Any, seconds: float) -> bool:
        """Wait up to `seconds` for the advisory lock: False, the transaction begun anew, when
        it is still held then."""
        cursor.execute(f"SET LOCAL lock_timeout = {int(seconds * 1000)}")
        try:
            cursor.execute(f"SELECT pg_advisory_xact_lock({APPEND_LOCK_KEY})")
        except Exception as exc:
            if getattr(exc, "sqlstate", None) != _PG_LOCK_NOT_AVAILABLE:
                raise
            # The timeout ended the transaction.
            self.raw.rollback()
            self._settings(cursor)
            return False
        cursor.execute("SET LOCAL lock_timeout = 0")
        return True

    def _waiting(self, who: str) -> None:
        if self.on_wait is not None:
            self.on_wait(f"waiting for the ledger's write lock: {who} holds it")

    def __exit__(self, exc_type: object, *_rest: object) -> None:
        try:
            if exc_type is None:
                if self.sqlite:
                    self.raw.cursor().execute("COMMIT")
                else:
                    self.raw.commit()
            else:
                self.raw.rollback()
        finally:
            self.raw.close()


_PG_LOCK_NOT_AVAILABLE = "55P03"


@contextmanager
def _reading(engine: Engine) -> Iterator[Cursor]:
    """A read transaction on the driver's own connection (SQLite's a snapshot from its first
    read), rolled back at the end."""
    raw: Any = engine.raw_connection()
    try:
        cursor = raw.cursor()
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            cursor.execute("BEGIN")
        yield Cursor(cursor, "?" if sqlite else "%s")
    finally:
        try:
            raw.rollback()
        finally:
            raw.close()


def _held_too_long(who: str) -> LedgerError:
    return LedgerError(
        f"cannot append to the ledger: {who} has held its write lock for "
        f"{WRITE_LOCK_WAIT:.0f} s; nothing was written (let that writer finish, or end it, "
        "and run the command again)"
    )


class LockHolder(NamedTuple):
    """The PostgreSQL session that holds an advisory lock, as the server's activity view shows
    it: what a command waiting for the lock tells the user."""

    pid: int
    application_name: str | None
    state: str | None
    transaction_start: datetime | None
    connected: datetime | None


def advisory_lock_holder(cursor: Any, key: int) -> LockHolder | None:
    """The session holding the advisory lock `key` (of this database), on a driver cursor;
    None when no one holds it now."""
    cursor.execute(
        "SELECT l.pid, a.application_name, a.state, a.xact_start, a.backend_start "
        "FROM pg_locks l "
        "LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
        "AND l.granted "
        "AND l.objsubid = 1 AND l.classid::bigint = %s AND l.objid::bigint = %s "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (key >> 32, key & 0xFFFF_FFFF),
    )
    row = cursor.fetchone()
    return None if row is None else LockHolder(*row)


def _pg_lock_holder(cursor: Any) -> str:
    """Who holds the ledger's append lock, in the words of a waiting writer's line."""
    holder = advisory_lock_holder(cursor, APPEND_LOCK_KEY)
    if holder is None:
        return "another writer"
    said = [holder.application_name or "a session", f"server pid {holder.pid}"]
    if holder.transaction_start is not None:
        since = holder.transaction_start.astimezone(UTC)
        said.append(f"in a transaction since {since:%Y-%m-%d %H:%M:%S} UTC")
    if holder.state:
        said.append(holder.state)
    return f"another writer ({', '.join(said)})"


@dataclass(frozen=True, slots=True)
class Cursor:
    """A driver cursor inside a write transaction, with its parameter marker."""

    cursor: Any
    mark: str

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run a query; return its first row or None."""
        self.cursor.execute(sql, params)
        return self.cursor.fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run a query; return all its rows."""
        self.cursor.execute(sql, params)
        return list(self.cursor.fetchall())

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement."""
        self.cursor.execute(sql, params)

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters."""
        self.cursor.executemany(sql, rows)


def _admitted(
    kept: Sequence[int] | None, prepared: list[dict[str, Any]], content_rows: list[dict[str, str]]
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The entries an `Admit` kept, and the content rows of their samples."""
    if kept is None or len(kept) == len(prepared):
        return prepared, content_rows
    entries = [prepared[index] for index in kept]
    samples = {entry["sample_id"] for entry in entries}
    return entries, [row for row in content_rows if row["sample_id"] in samples]


def _insert_missing_samples(cur: Cursor, rows: list[dict[str, str]]) -> None:
    # Content is addressed by id: a row already stored is the same content, so it stays.
    mark = cur.mark
    cur.run_many(
        f"INSERT INTO samples (sample_id, digest, content) VALUES ({mark}, {mark}, {mark}) "
        "ON CONFLICT (sample_id) DO NOTHING",
        list(map(_SAMPLE_VALUES, rows)),
    )


def _check_stored(cur: Cursor, sample_ids: set[str]) -> None:
    ids = sorted(sample_ids)
    stored: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join([cur.mark] * len(chunk))
        rows = cur.all(f"SELECT sample_id FROM samples WHERE sample_id IN ({marks})", chunk)
        stored.update(row[0] for row in rows)
    missing = [sample_id for sample_id in ids if sample_id not in stored]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise LedgerError(
            f"a record that makes sample {missing[0]}{more} comes without its content: append "
            "it with the sample's row (`contents`), as the Recorder does"
        )


def content_row(
    sample_id: str, row: Mapping[str, Any], row_digest: str | None = None
) -> dict[str, str]:
    """A sample's row as the ledger stores it (canonical JSON and its digest, which a caller
    that has it, a Sample's `digest`, may pass): prepared ahead for `Ledger.append_signed`, in
    any process."""
    text = canonical_json(row)
    return {
        "sample_id": sample_id,
        "digest": row_digest or digest(text),
        "content": text.decode("utf-8"),
    }


def _new_origin() -> str:
    return f"synthguard.local/ledger/{secrets.token_hex(8)}"
