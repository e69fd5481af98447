"""The ledger: signed envelopes in an RFC 6962 tree, stored in SQLite or PostgreSQL.

Append is batched: records are signed outside any lock (signing is the expensive part and
parallelises across writers), then one short transaction takes the writer lock, numbers the
entries, inserts them, advances the compact range and writes any checkpoint that falls due. A
batch is committed whole or not at all, so a killed writer leaves a verifiable ledger.

The leaf of entry `seq` is `b"<seq>\\n" + envelope`: binding the position into the leaf lets
verification name the exact entry when rows are swapped, deleted or moved.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert
from sqlalchemy import select as sa_select
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, col, select

from synthguard.ledger import lineage
from synthguard.ledger.checkpoint import Checkpoint, parse_checkpoint, sign_checkpoint
from synthguard.ledger.merkle import CompactRange
from synthguard.ledger.tables import CheckpointRow, Entry, KeyRow, LedgerInfo, SampleRow, TreeHead
from synthguard.provenance.canonical import canonical_json, digest
from synthguard.provenance.dsse import sign_envelope
from synthguard.provenance.errors import KeyringError, LedgerError
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.record import (
    KEY_EVENT_TYPE,
    RECORD_TYPE,
    KeyAction,
    KeyEvent,
    LineageRecord,
    utc_now,
)

DEFAULT_CHECKPOINT_INTERVAL = 1000
# Any fixed number: the PostgreSQL advisory lock that serialises appends to one ledger.
_PG_APPEND_LOCK = 0x5947_4C44

Statement = LineageRecord | KeyEvent


def leaf_bytes(seq: int, envelope: bytes) -> bytes:
    """Return the exact bytes hashed into the leaf of entry `seq`."""
    return b"%d\n" % seq + envelope


def entry_leaf_hash(seq: int, envelope: bytes) -> bytes:
    """Return the RFC 6962 leaf hash of entry `seq`: SHA-256(0x00 || leaf bytes)."""
    return hashlib.sha256(b"\x00%d\n" % seq + envelope).digest()


def engine_for(url: str) -> Engine:
    """Create an engine for a ledger URL (a `sqlite:///` path or a PostgreSQL URL)."""
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 120})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql+psycopg://"):
        return create_engine(url, pool_pre_ping=True)
    raise LedgerError(f"unsupported ledger URL {url!r}: use sqlite:///PATH or postgresql://...")


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver, so that the write transaction can say BEGIN IMMEDIATE itself;
    # SQLAlchemy's own reads still get their BEGIN from the "begin" event.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")


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
    ) -> None:
        self.url = url
        self.engine = engine
        self.signer = signer
        info = self._info()
        if "origin" not in info:
            raise LedgerError(f"no synthguard ledger at {url} (run `synthguard init`)")
        self.origin = info["origin"]
        self.checkpoint_interval = int(info["checkpoint_interval"])

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str, signer: SigningKey | None = None) -> Ledger:
        """Open an existing ledger."""
        engine = engine_for(url)
        try:
            return cls(url, engine, signer)
        except OperationalError as exc:
            engine.dispose()
            raise LedgerError(f"cannot open the ledger at {url}: {exc.orig}") from exc
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
        ledger = cls(url, engine, signer)
        ledger.append([ledger.key_event(KeyAction.ADDED, signer)])
        ledger.checkpoint()
        return ledger

    def close(self) -> None:
        """Stop signing workers and release the database connections."""
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
        key: SigningKey | None = None,
        *,
        key_id: str | None = None,
        reason: str | None = None,
    ) -> KeyEvent:
        """Build a key event signed by this handle's key about `key` (or `key_id`)."""
        signer = self._signer()
        public = None
        if key is not None:
            public = base64.b64encode(key.public.raw).decode("ascii")
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
    ) -> list[int]:
        """Sign and append records as one batch; return their seqs.

        `contents` maps sample ids to the sample rows to store beside the tree; content that
        is already stored is left as it is (ids are content-addressed). A committed batch
        survives a crash of the process; with `durable` it is also flushed to disk before
        this returns. Checkpoints are always flushed, and with them everything before them.
        """
        if not records:
            return []
        if len(records) > 1 and any(isinstance(r, KeyEvent) for r in records):
            # The signer of the rest of a batch could change under it.
            raise LedgerError("a key event is appended on its own, not inside a batch")
        signer = self._signer()
        prepared = self._prepare(records, signer)
        content_rows = [_content_row(sample_id, row) for sample_id, row in (contents or {}).items()]
        try:
            with _Transaction(self.engine, durable=durable) as cur:
                head = self._check_signer(cur, signer.key_id)
                seqs, due = self._write(cur, head, prepared, content_rows)
                if isinstance(records[0], KeyEvent):
                    self._apply_key_event(cur, seqs[0], records[0])
            if due:
                self._publish(due, signer)
        except self._write_errors as exc:
            raise LedgerError(f"cannot append to the ledger: {getattr(exc, 'orig', exc)}") from exc
        return seqs

    @property
    def _write_errors(self) -> tuple[type[Exception], ...]:
        # The write path runs on the driver's connection, so its errors arrive unwrapped.
        dbapi = self.engine.dialect.dbapi
        return (OperationalError, dbapi.Error) if dbapi is not None else (OperationalError,)

    def _prepare(self, records: Sequence[Statement], signer: SigningKey) -> list[dict[str, Any]]:
        """Sign the records; return entry rows still lacking seq and leaf hash."""
        rows = []
        for record in records:
            if record.signer != signer.key_id:
                raise KeyringError(
                    f"record names signer {record.signer} but the ledger signs with {signer.key_id}"
                )
            if isinstance(record, KeyEvent):
                kind, event, sample_id = KEY_EVENT_TYPE, record.action.value, None
            else:
                kind, event, sample_id = RECORD_TYPE, record.event.value, record.sample_id
            rows.append(
                {
                    "envelope": sign_envelope(record.payload(), kind, signer),
                    "key_id": signer.key_id,
                    "payload_type": kind,
                    "event": event,
                    "sample_id": sample_id,
                    "time": record.time,
                }
            )
        return rows

    def _check_signer(self, cur: Cursor, key_id: str) -> tuple[int, str] | None:
        """Check that `key_id` may sign now; return the tree head (size, compact range)."""
        # One round trip: the key's status (None: not a key here) and the tree head, if any.
        status, size, compact = cur.one(
            f"SELECT (SELECT status FROM keys WHERE key_id = {cur.mark}), "
            "(SELECT size FROM tree_head WHERE id = 1), "
            "(SELECT compact FROM tree_head WHERE id = 1)",
            (key_id,),
        )
        if status is None and size is not None:
            raise KeyringError(f"key {key_id} is not a key of this ledger")
        if status is not None and status != "active":
            raise KeyringError(f"key {key_id} is {status}; it may not sign new records")
        return (int(size), str(compact)) if size is not None else None

    def _write(
        self,
        cur: Cursor,
        head: tuple[int, str] | None,
        prepared: list[dict[str, Any]],
        content_rows: list[dict[str, str]],
    ) -> tuple[list[int], list[tuple[int, bytes]]]:
        """Number and insert a batch; return its seqs and the (size, root) checkpoints due."""
        compact = CompactRange.from_dict(json.loads(head[1])) if head else CompactRange()
        start = compact.size
        due = []
        for seq, row in enumerate(prepared, start):
            leaf = entry_leaf_hash(seq, row["envelope"])
            row["seq"] = seq
            row["leaf_hash"] = leaf
            compact.append(leaf)
            if compact.size % self.checkpoint_interval == 0:
                due.append((compact.size, compact.root()))
        mark = cur.mark
        cur.run_many(
            f"INSERT INTO entries ({', '.join(_ENTRY_FIELDS)}) "
            f"VALUES ({', '.join([mark] * len(_ENTRY_FIELDS))})",
            [tuple(row[name] for name in _ENTRY_FIELDS) for row in prepared],
        )
        if content_rows:
            _insert_missing_samples(cur, content_rows)
        state = (compact.size, json.dumps(compact.to_dict()))
        if head is None:
            cur.run(f"INSERT INTO tree_head (id, size, compact) VALUES (1, {mark}, {mark})", state)
        else:
            cur.run(f"UPDATE tree_head SET size = {mark}, compact = {mark} WHERE id = 1", state)
        return list(range(start, start + len(prepared))), due

    def _publish(self, due: list[tuple[int, bytes]], signer: SigningKey) -> None:
        """Sign and store checkpoints in a durable transaction.

        Its flush also makes every batch before it durable, so a checkpoint that anyone may
        have copied never refers to entries a power cut could take back.
        """
        with _Transaction(self.engine, durable=True) as cur:
            mark = cur.mark
            for size, root in due:
                if cur.one(f"SELECT size FROM checkpoints WHERE size = {mark}", (size,)) is None:
                    cur.run(
                        f"INSERT INTO checkpoints (size, root, note, key_id, time) "
                        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})",
                        (
                            size,
                            root,
                            sign_checkpoint(self.origin, size, root, signer),
                            signer.key_id,
                            utc_now(),
                        ),
                    )

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
        """Make sure the latest checkpoint covers the whole tree; return it."""
        signer = self._signer()
        with self.engine.connect() as conn:
            head = conn.execute(select(col(TreeHead.size), col(TreeHead.compact))).first()
        if head is None:
            raise LedgerError("the ledger is empty: nothing to checkpoint")
        latest = self.latest_checkpoint()
        if latest is None or latest.size < head[0]:
            compact = CompactRange.from_dict(json.loads(head[1]))
            self._publish([(compact.size, compact.root())], signer)
        result = self.latest_checkpoint()
        assert result is not None
        return result

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
        """The writer's view of the ledger's keys, oldest first."""
        with Session(self.engine) as session:
            return list(session.exec(select(KeyRow).order_by(col(KeyRow.added_seq))).all())

    def sample(self, sample_id: str) -> dict[str, Any] | None:
        """Return the stored row of a sample, or None (never stored, or erased)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(col(SampleRow.content)).where(col(SampleRow.sample_id) == sample_id)
            ).first()
        return json.loads(row[0]) if row else None

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
        try:
            with _Transaction(self.engine, durable=True) as cur:
                head = self._check_signer(cur, signer.key_id)
                seqs, due = self._write(cur, head, prepared, [])
                cur.run(f"DELETE FROM samples WHERE sample_id = {cur.mark}", (record.sample_id,))
            if due:
                self._publish(due, signer)
        except self._write_errors as exc:
            raise LedgerError(f"cannot append to the ledger: {getattr(exc, 'orig', exc)}") from exc
        return seqs[0]


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
_TABLES = [
    SQLModel.metadata.tables[name]
    for name in ("entries", "checkpoints", "tree_head", "samples", "keys", "ledger_info")
]


class _Transaction:
    """A write transaction holding the ledger's one writer lock, on either backend.

    It runs on the driver's own connection (checked out of the engine's pool): the append
    path is a handful of statements, and SQLAlchemy's per-statement machinery would cost more
    than the statements themselves. Not `durable`: the commit survives a crash of this process
    but may be lost to a power cut (SQLite WAL with synchronous=NORMAL; PostgreSQL
    synchronous_commit off), which keeps an fsync off every batch. `durable`: flushed to disk
    before the commit returns, and with it everything committed before.
    """

    def __init__(self, engine: Engine, *, durable: bool) -> None:
        self.engine = engine
        self.durable = durable
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
                cursor.execute("BEGIN IMMEDIATE")
            else:
                if not self.durable:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
                cursor.execute(f"SELECT pg_advisory_xact_lock({_PG_APPEND_LOCK})")
        except BaseException:
            self.raw.close()
            raise
        return Cursor(cursor, "?" if self.sqlite else "%s")

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


@dataclass(frozen=True, slots=True)
class Cursor:
    """A driver cursor inside a write transaction, with its parameter marker."""

    cursor: Any
    mark: str

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run a query; return its first row or None."""
        self.cursor.execute(sql, params)
        return self.cursor.fetchone()

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement."""
        self.cursor.execute(sql, params)

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters."""
        self.cursor.executemany(sql, rows)


def _insert_missing_samples(cur: Cursor, rows: list[dict[str, str]]) -> None:
    # Content is addressed by id: a row already stored is the same content, so it stays.
    mark = cur.mark
    cur.run_many(
        f"INSERT INTO samples (sample_id, digest, content) VALUES ({mark}, {mark}, {mark}) "
        "ON CONFLICT (sample_id) DO NOTHING",
        [(row["sample_id"], row["digest"], row["content"]) for row in rows],
    )


def _content_row(sample_id: str, row: Mapping[str, Any]) -> dict[str, str]:
    text = canonical_json(row)
    return {"sample_id": sample_id, "digest": digest(text), "content": text.decode("utf-8")}


def _new_origin() -> str:
    return f"synthguard.local/ledger/{secrets.token_hex(8)}"
