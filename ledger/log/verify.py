"""Offline verification of a whole ledger.

Order of checks, so that the first error names the first bad entry:
1. entries are numbered 0..n-1 without gaps, and the latest checkpoint covers all of them
   (writers commit it with every batch, so an entry past it was put there without a key);
2. the key timeline is rebuilt from the key events (entry 0 must be the genesis key);
3. every entry: its leaf hash matches `<seq>\\n<envelope>`, its envelope verifies under a key
   that may sign at that seq, its payload is bound to this ledger (origin) and carries a record
   id no earlier entry carries (a copy of an envelope anywhere is a replay), its index
   columns agree with the signed payload, and a key event is one the timeline applied (it is
   read through the event index) (in parallel over every core for large ledgers);
4. every checkpoint: signed by a key valid for its size, its root equals the tree's root at
   that size, and each is consistent with the one before (RFC 6962 consistency proof);
5. on SQLite, the file's own check that the tables and their indexes agree; stored content:
   every row hashes to its digest, which a record of that sample signs; a sample made in the
   ledger has content unless a signed `erased` record removed it;
6. checkpoints kept outside the ledger (the one the home's writer last signed, and one given
   with `--checkpoint`): same origin, not larger than the tree, and the tree at its size has
   its root (else history was rewritten, rolled back or cut off).

The `keys` table, the writers' cache of the key events, is trusted by no command (the key
timeline comes from the signed events); a cache that disagrees with them was edited in the
database, and the report's notes say how.

Ledgers written before records were bound (payload schema version 1) still verify: version 1
records may only form the ledger's first entries, and a byte-identical copy of one is still a
replay, but they name no ledger, so the report's notes say so.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import get_context
from typing import Any

from sqlalchemy import Connection, func
from sqlalchemy import Engine as SqlEngine
from sqlmodel import Session, col, select

from synthguard.ledger.log.checkpoint import Checkpoint, parse_checkpoint, verify_checkpoint
from synthguard.ledger.log.kept import GONE_ADVICE, KEPT_FILES, KeptCheckpoint
from synthguard.ledger.log.keyring import KeyTimeline
from synthguard.ledger.log.merkle import Tree, verify_consistency
from synthguard.ledger.log.store import EntryView, Ledger, engine_for, entry_leaf_hash, read_entries
from synthguard.ledger.log.tables import CheckpointRow, Entry, KeyRow
from synthguard.provenance.dsse import json_value, open_envelope
from synthguard.provenance.engine import Engine, die_with, once_per_worker
from synthguard.provenance.errors import InputError, VerificationError
from synthguard.provenance.gc_pause import collection_paused
from synthguard.provenance.record import KEY_EVENT_TYPE, RECORD_TYPE

# Below this many entries a process pool costs more than it saves.
_PARALLEL_FROM = 4000
_CHUNK = 2000

Progress = Callable[[int], None]


@dataclass
class VerifyReport:
    """What a successful verification checked."""

    size: int
    checkpoints: int
    keys: int
    latest: Checkpoint | None
    root_key: str = ""
    kept: Checkpoint | None = None
    home: Checkpoint | None = None
    notes: list[str] = field(default_factory=list)
    tree: Tree | None = field(default=None, repr=False, compare=False)
    """The verified entries' tree: the root of any prefix, for what reads the ledger again (an
    audit's recomputation) to check that it read the entries verified here."""


def verify_ledger(
    ledger: Ledger,
    *,
    kept_checkpoint: str | None = None,
    root_key_id: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    engine: Engine | None = None,
) -> VerifyReport:
    """Verify everything the ledger holds; raise VerificationError at the first problem.

    `root_key_id` pins the genesis key (from the ledger home's config); `kept_checkpoint` is a
    signed note saved earlier, which the ledger of today must extend. A ledger opened through
    its home is also checked against the checkpoint the home's writer last signed.

    Entries are checked a range at a time: on `engine` when given (each worker reads its
    ranges through its own connection to the ledger's URL), else on `workers` processes
    forked from this one (default: one per core) for a large ledger.
    """
    # The home's checkpoint is read before the snapshot: its writer keeps it only after the
    # entries it covers are committed, so read first it covers no entry the snapshot lacks
    # (read after, a commit in between would look like entries cut off).
    home_note = ledger.kept.note() if ledger.kept is not None else None
    # Verification makes an object or more per entry, and no reference cycles.
    with collection_paused(), _Snapshot(ledger) as snapshot:
        size = snapshot.size
        timeline, key_error = ledger.key_timeline(root_key_id, size)
        if key_error is not None:
            # An ordinary entry before the bad key event may be bad too, and would be the first.
            _verify_entries(
                ledger, key_error.seq or 0, timeline, progress, workers=workers, engine=engine
            )
            raise key_error
        facts = _Facts(ledger.origin)
        leaves = _verify_entries(
            ledger,
            size,
            timeline,
            progress,
            workers=workers,
            engine=engine,
            facts=facts,
            meanwhile=snapshot.read_content,
        )
    tree = Tree(leaves)
    checkpoints, latest = _verify_checkpoints(ledger, tree, timeline, snapshot.checkpoints)
    _verify_content(snapshot, facts)
    report = VerifyReport(
        size=size,
        checkpoints=checkpoints,
        keys=len(timeline.spans),
        latest=latest,
        root_key=next(iter(timeline.spans)),
        tree=tree,
    )
    if facts.unbound:
        report.notes.append(
            f"entries 0-{facts.unbound - 1} were written before records were bound to their "
            "ledger (payload version 1): a copy of one of them is still caught, but they name "
            "no ledger, so only this ledger's checkpoints tie them to it"
        )
    report.notes += _cache_disagreements(snapshot.key_rows, timeline)
    if home_note is not None:
        report.home = _verify_kept(ledger, tree, timeline, home_note, "the home's checkpoint")
    elif ledger.kept is not None and ledger.kept.note() is None:
        # (A checkpoint there now and not before was kept by a writer meanwhile.)
        _check_nothing_kept(ledger.kept, facts)
    if kept_checkpoint is not None:
        report.kept = _verify_kept(ledger, tree, timeline, kept_checkpoint, "the kept checkpoint")
    return report


def _check_nothing_kept(kept: KeptCheckpoint, facts: _Facts) -> None:
    """A home that keeps no checkpoint has signed no bound record: the code that writes them
    keeps one with each, so its files were removed (with a rollback behind, perhaps)."""
    for key_id, seq in sorted(facts.bound_signers.items(), key=lambda item: item[1]):
        if kept.holds(key_id):
            raise VerificationError(
                f"this home's key {key_id} signed entry {seq}, but the home keeps no "
                f"checkpoint of the ledger ({', '.join(KEPT_FILES)}): {GONE_ADVICE}",
                seq=seq,
            )


class _Snapshot:
    """One consistent view of the ledger (SQLite: one read transaction; PostgreSQL: repeatable
    read), so that a writer committing a batch and its checkpoint meanwhile is seen whole or not
    at all: the checkpoints and the entry count on entry (VerificationError when an entry lies
    past the latest checkpoint), the stored content when asked (`read_content`, which runs while
    the workers verify entries)."""

    def __init__(self, ledger: Ledger) -> None:
        engine = ledger.engine
        if engine.dialect.name != "sqlite":
            engine = engine.execution_options(isolation_level="REPEATABLE READ")
        self.ledger = ledger
        self.session = Session(engine)
        self.checkpoints: list[CheckpointRow] = []
        self.size = 0
        self.content: dict[str, bytes] = {}
        self.content_error: VerificationError | None = None
        self.file_error: VerificationError | None = None
        self.key_rows: list[KeyRow] = []

    def __enter__(self) -> _Snapshot:
        try:
            self._read()
        except BaseException:
            self.session.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.session.close()

    def _read(self) -> None:
        rows = list(
            self.session.exec(select(CheckpointRow).order_by(col(CheckpointRow.size))).all()
        )
        count, low, top = self.session.exec(
            select(func.count(), func.min(col(Entry.seq)), func.max(col(Entry.seq)))
        ).one()
        size = _check_numbering(self.ledger, count, low, top)
        covered = rows[-1].size if rows else 0
        if covered < size:
            where = (
                "no checkpoint covers any entry"
                if not rows
                else f"the latest checkpoint covers {covered} entries"
            )
            raise VerificationError(
                f"entry {covered}: {where}, but the ledger holds {size}: entries from {covered} "
                "on were added without a key (writers sign a checkpoint with every batch)",
                seq=covered,
            )
        self.checkpoints, self.size = rows, size
        self.key_rows = list(self.session.exec(select(KeyRow)).all())

    def read_content(self) -> None:
        """Each stored sample's id and the SHA-256 of its content, which must be its digest
        (a mismatch is kept in `content_error`, reported after the entries)."""
        # Plain SQL in the snapshot's transaction, without SQLAlchemy's row processing: this
        # runs on the process the workers share the cores with.
        connection = self.session.connection()
        self._check_catalog(connection)
        if connection.dialect.name == "sqlite" and self.file_error is None:
            self._check_file(connection)
        rows = connection.exec_driver_sql("SELECT sample_id, digest, content FROM samples")
        for sample_id, stored_digest, content in rows:
            if type(content) is not str:
                # No writer stores anything but text here: a hand edit did.
                if self.content_error is None:
                    self.content_error = VerificationError(
                        f"sample {sample_id}: the stored content is {type(content).__name__}, "
                        "not text: it was changed in the database"
                    )
                continue
            actual = hashlib.sha256(content.encode("utf-8")).digest()
            if stored_digest != "sha256:" + actual.hex() and self.content_error is None:
                self.content_error = VerificationError(
                    f"sample {sample_id}: the stored content does not hash to its digest: it "
                    "was changed in the database"
                )
            if sample_id in self.content and self.content_error is None:
                # The table's key forbids it: rebuilt without one, a reader may take either.
                self.content_error = VerificationError(
                    f"sample {sample_id}: two content rows are stored for it: the samples "
                    "table was changed in the database"
                )
            self.content[sample_id] = actual

    def _check_file(self, connection: Connection) -> None:
        """SQLite's own check of the tables the checks read and of their indexes: an index
        rebuilt around an edit (the row put back afterwards) answers the queries that go
        through it with other rows than a scan sees, which the other checks meet only where a
        scan and an indexed read are compared."""
        for table in _CHECKED_TABLES:
            found = connection.exec_driver_sql(f"PRAGMA integrity_check({table})").scalars().all()
            if found != ["ok"]:
                self.file_error = VerificationError(
                    f"the SQLite file's table {table} disagrees with itself ({found[0]}): it was "
                    "changed outside SQLite's own writing (an index edited apart from its rows) "
                    "or the file is damaged"
                )
                return

    def _check_catalog(self, connection: Connection) -> None:
        """Each table the checks read is, as the queries resolve its name, a plain table (of
        the ledger's schema, PostgreSQL's search path considered) with no triggers, rules or
        row security. A view put in its place (or ahead of it on the search path) can answer
        each query with other rows, and a trigger or rule can change what is written: none of
        it is a ledger's, so any of it was added in the database."""
        sqlite = connection.dialect.name == "sqlite"
        for table in _CHECKED_TABLES:
            if sqlite:
                row = connection.exec_driver_sql(_SQLITE_CATALOG_QUERY, (table,)).one_or_none()
                problem = _catalog_problem(row and (row[0], True, False, 0, row[1]))
            else:
                row = connection.exec_driver_sql(_CATALOG_QUERY, (table,)).one_or_none()
                problem = _catalog_problem(row)
            if problem:
                self.file_error = VerificationError(
                    f"the ledger's table {table} {problem}, as no synthguard writer leaves it: "
                    "it was changed in the database, and may answer queries with rows other "
                    "than those it holds"
                )
                return


_CHECKED_TABLES = ("entries", "checkpoints", "samples", "ledger_info")
_CATALOG_QUERY = """
SELECT c.relkind::text, n.nspname = current_schema(), c.relrowsecurity,
       (SELECT count(*) FROM pg_rewrite r WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN'),
       (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass(%s)
"""
_SQLITE_CATALOG_QUERY = """
SELECT CASE m.type WHEN 'table' THEN 'r' WHEN 'view' THEN 'v' ELSE m.type END,
       (SELECT count(*) FROM sqlite_master t WHERE t.type = 'trigger' AND t.tbl_name = m.name)
FROM sqlite_master m WHERE m.name = ?
"""
_RELATION_KINDS = {"v": "view", "m": "materialized view", "f": "foreign table"}


def _catalog_problem(row: Any) -> str:
    """What `_CATALOG_QUERY`'s row says is wrong with a ledger table ("" when nothing)."""
    if row is None:
        return "is missing"
    kind, here, secured, rules, triggers = row
    if kind not in ("r", "p"):
        return f"is a {_RELATION_KINDS.get(kind, f'relation of kind {kind!r}')}"
    if not here:
        return "is resolved outside the ledger's schema"
    if rules:
        return f"has {rules} rule(s)"
    if triggers:
        return f"has {triggers} trigger(s)"
    return "has row-level security" if secured else ""


def _cache_disagreements(rows: list[KeyRow], timeline: KeyTimeline) -> list[str]:
    """How the `keys` table differs from the signed key events, one line a key (none when it
    agrees): nothing trusts the table, but an edit there is an edit without a key."""
    signed: dict[str, tuple[Any, ...]] = {
        key_id: (span.key.raw, span.status, span.added_seq)
        for key_id, span in timeline.spans.items()
    }
    # A key stored as anything but bytes (a hand edit) stays as it is: it differs from the
    # signed key, and is reported as such.
    cached: dict[str, tuple[Any, ...]] = {
        row.key_id: (
            bytes(row.public_key)
            if isinstance(row.public_key, bytes | bytearray | memoryview)
            else row.public_key,
            row.status,
            row.added_seq,
        )
        for row in rows
    }
    # The entry a key's signing ended at may be any event that ended it: writers before this
    # one cached the revocation's for a key revoked after it was rotated out.
    ended = {row.key_id: row.ended_seq for row in rows}
    for key_id, span in timeline.spans.items():
        if key_id in cached and not _ended_as_signed(ended[key_id], span.ends):
            cached[key_id] = (*cached[key_id], ended[key_id])
            signed[key_id] = (*signed[key_id], span.ended_seq)
    found = []
    for key_id in sorted(signed.keys() | cached.keys()):
        mine, theirs = signed.get(key_id), cached.get(key_id)
        if mine == theirs:
            continue
        if theirs is None:
            what = "is missing from it"
        elif mine is None:
            what = "is in it, but no signed key event adds it"
        else:
            fields = ("public key", "status", "added at", "end")
            what = (
                "has another "
                + ", ".join(
                    name
                    for name, a, b in zip(fields[: len(mine)], mine, theirs, strict=True)
                    if a != b
                )
                + " there than the signed key events give"
            )
        found.append(
            f"key {key_id} {what}: the keys table (the writers' cache of the key events, "
            "which no command trusts) was edited in the database"
        )
    return found


def _ended_as_signed(cached: int | None, ends: list[int]) -> bool:
    return cached in ends if ends else cached is None


def _check_numbering(ledger: Ledger, count: int, low: int | None, top: int | None) -> int:
    with ledger.engine.connect() as conn:
        if count == 0:
            raise VerificationError("the ledger has no entries", seq=0)
        # Count and maximum alone miss an entry moved below 0: the minimum must be 0 too.
        if low != 0 or top != count - 1:
            seqs = conn.execute(
                select(col(Entry.seq)).where(col(Entry.seq) >= 0).order_by(col(Entry.seq))
            ).scalars()
            for expected, seq in enumerate(seqs):
                if seq != expected:
                    raise VerificationError(f"entry {expected} is missing", seq=expected)
            raise VerificationError(f"an entry is numbered {low}, outside the tree")
    return int(count)


def _verify_entries(
    ledger: Ledger,
    size: int,
    timeline: KeyTimeline,
    progress: Progress | None,
    *,
    workers: int | None,
    engine: Engine | None,
    facts: _Facts | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> list[bytes]:
    """Verify entries 0..size-1 on `engine`, else on `workers` forked processes; `meanwhile`
    runs while worker processes do (or first)."""
    ranges = [(start, min(start + _CHUNK, size)) for start in range(0, size, _CHUNK)]
    workers = workers or os.cpu_count() or 1
    origin = ledger.origin
    if engine is not None:
        if meanwhile is not None:
            meanwhile()
        parts = (EntryRange(ledger.url, a, b, timeline, origin) for a, b in ranges)
        return _collect(engine.map(verify_entry_range, parts), ranges, progress, facts)
    if size < _PARALLEL_FROM or workers == 1:
        if meanwhile is not None:
            meanwhile()
        results: Iterator[_RangeResult] = (
            _verify_range(ledger.engine, a, b, timeline, origin) for a, b in ranges
        )
        return _collect(results, ranges, progress, facts)
    # fork: workers inherit the imported modules; each opens its own database connection. They
    # die with this process, even when it is killed (SIGKILL leaves them waiting otherwise).
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("fork"),
        initializer=die_with,
        initargs=(os.getpid(),),
    ) as pool:
        futures = [
            pool.submit(_verify_range_in_worker, ledger.url, a, b, timeline, origin)
            for a, b in ranges
        ]
        try:
            if meanwhile is not None:
                meanwhile()
            return _collect((f.result() for f in futures), ranges, progress, facts)
        finally:
            for future in futures:
                future.cancel()


# What each entry tells the whole-ledger checks: seq, record id (for a version 1 payload, the
# envelope's digest), payload version, for lineage records the sample id, the signed content
# digest and the event, and the key that signed it.
_Fact = tuple[int, str, int, str | None, str | None, str | None, str]
_RangeResult = tuple[list[bytes], list[_Fact], tuple[int, str] | None]


class _Facts:
    """The checks across entries: unique record ids, version 1 only as a prefix, and what
    the records sign about each sample's content."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.seen: dict[str, int] = {}
        self.unbound = 0
        self.bound = False
        self.digests = SignedDigests()
        self.made: set[str] = set()
        self.erased: set[str] = set()
        # The keys that signed a bound record, each with the first entry it signed.
        self.bound_signers: dict[str, int] = {}

    def add(self, facts: list[_Fact]) -> None:
        """Take a range's facts, in seq order; VerificationError at the first replay."""
        seen, note_digest = self.seen, self.digests.add
        for seq, record_id, version, sample_id, signed_digest, event, signer in facts:
            first = seen.setdefault(record_id, seq)
            if first != seq:
                raise VerificationError(
                    f"entry {seq}: repeats the signed record of entry {first} (a replayed "
                    "envelope: every record is signed for one place)",
                    seq=seq,
                )
            if version == 1:
                if self.bound:
                    raise VerificationError(
                        f"entry {seq}: a record without a ledger binding (payload version 1) "
                        "after bound ones: an old envelope replayed",
                        seq=seq,
                    )
                self.unbound = seq + 1
            else:
                self.bound = True
                self.bound_signers.setdefault(signer, seq)
            if sample_id is None or signed_digest is None:
                continue
            note_digest(sample_id, signed_digest)
            # Erased is the state after the last of these: a sample made again after its
            # erasure has content again.
            if event in _MAKING:
                self.made.add(sample_id)
                self.erased.discard(sample_id)
            elif event == "erased":
                self.erased.add(sample_id)

    def signs(self, sample_id: str, digest: str) -> bool | None:
        """Whether a record of the sample signs `digest` (None: no record names the sample)."""
        return self.digests.signs(sample_id, digest)


class SignedDigests(dict[str, str | set[str]]):
    """The content digests the records sign, by sample: one string, a set once a second one
    comes (it is kept for every record of the ledger, and most samples have one digest)."""

    def add(self, sample_id: str, digest: str) -> None:
        """Note that a record of the sample signs `digest`."""
        known = self.setdefault(sample_id, digest)
        if known != digest:
            if isinstance(known, str):
                self[sample_id] = {known, digest}
            else:
                known.add(digest)

    def signs(self, sample_id: str, digest: str | None) -> bool | None:
        """Whether a record of the sample signs `digest` (None: no record names the sample)."""
        known = self.get(sample_id)
        if known is None:
            return None
        return known == digest if isinstance(known, str) else digest in known


_MAKING = frozenset({"generated", "revised", "imported"})


def _collect(
    results: Iterator[_RangeResult],
    ranges: list[tuple[int, int]],
    progress: Progress | None,
    facts: _Facts | None,
) -> list[bytes]:
    leaves: list[bytes] = []
    for (start, stop), (chunk_leaves, chunk_facts, error) in zip(ranges, results, strict=False):
        # The facts before the error come first: a replay before a bad entry is the first.
        if facts is not None:
            facts.add(chunk_facts)
        if error is not None:
            raise VerificationError(error[1], seq=error[0])
        leaves.extend(chunk_leaves)
        if progress:
            progress(stop - start)
    return leaves


@dataclass(frozen=True)
class EntryRange:
    """An engine part of `verify`: entries start <= seq < stop of the ledger at `url`, with
    what checking them needs (the key timeline, the ledger's origin)."""

    url: str
    start: int
    stop: int
    timeline: KeyTimeline
    origin: str


def verify_entry_range(part: EntryRange) -> _RangeResult:
    """Check a range of entries on an engine's worker, through the worker's own connection to
    the ledger (opened once per worker process)."""
    url = part.url
    engine = once_per_worker(f"synthguard.ledger:{url}", lambda: engine_for(url))
    return _verify_range(engine, part.start, part.stop, part.timeline, part.origin)


_worker_engines: dict[str, SqlEngine] = {}


def _verify_range_in_worker(
    url: str, start: int, stop: int, timeline: KeyTimeline, origin: str
) -> _RangeResult:
    engine = _worker_engines.get(url)
    if engine is None:
        engine = _worker_engines[url] = engine_for(url)
    return _verify_range(engine, start, stop, timeline, origin)


def _verify_range(
    engine: SqlEngine, start: int, stop: int, timeline: KeyTimeline, origin: str
) -> _RangeResult:
    """Check entries start <= seq < stop; return their leaf hashes, facts and first error."""
    with collection_paused():
        return _check_range(read_entries(engine, start, stop), timeline, origin)


def _check_range(rows: list[EntryView], timeline: KeyTimeline, origin: str) -> _RangeResult:
    """`_verify_range` of the rows read."""
    leaves: list[bytes] = []
    facts: list[_Fact] = []
    for entry in rows:
        seq, key_id = entry.seq, entry.key_id
        leaf = entry_leaf_hash(seq, entry.envelope)
        if leaf != entry.leaf_hash:
            return leaves, facts, (seq, f"entry {seq}: leaf hash does not match its envelope")
        try:
            kind, payload, signer = open_envelope(entry.envelope, partial(timeline.key_at, seq=seq))
        except VerificationError as exc:
            reason = str(exc)
            if "unknown key" in reason and key_id in timeline.spans:
                reason = f"signed by key {key_id}, which may not sign here (revoked or retired)"
            return leaves, facts, (seq, f"entry {seq}: {reason}")
        body = json_value(payload)
        problem = _binding_problem(body, origin) or _index_problem(kind, body, signer, entry)
        if problem:
            return leaves, facts, (seq, f"entry {seq}: {problem}")
        if kind == KEY_EVENT_TYPE and seq not in timeline.events:
            # The timeline is read through the event index; an index that the database was
            # made to disagree with its table (SQLite's, rebuilt around an edit) hides a
            # revocation from it, and the revoked key would pass everywhere after.
            return (
                leaves,
                facts,
                (
                    seq,
                    f"entry {seq}: a signed key event that the key timeline, read through the "
                    "event index, does not hold: the database's index disagrees with its "
                    "entries (changed without a key)",
                ),
            )
        version = body.get("schema_version")
        record_id = (
            body["record_id"] if version != 1 else hashlib.sha256(entry.envelope).hexdigest()
        )
        if kind == RECORD_TYPE:
            facts.append(
                (seq, record_id, version, body["sample_id"], body["digest"], body["event"], signer)
            )
        else:
            facts.append((seq, record_id, version, None, None, None, signer))
        leaves.append(leaf)
    return leaves, facts, None


def _binding_problem(body: Any, origin: str) -> str | None:
    if not isinstance(body, dict):
        return "the payload is not a JSON object"
    version = body.get("schema_version")
    if version == 1:
        return None
    if version != 2:
        return f"unknown payload schema version {version!r}"
    if body.get("ledger") != origin:
        return f"the record was signed for ledger {body.get('ledger')!r}, not this one ({origin!r})"
    record_id = body.get("record_id")
    if not isinstance(record_id, str) or not _RECORD_ID.fullmatch(record_id):
        return "the record carries no record id"
    return None


_RECORD_ID = re.compile("[0-9a-f]{32}")


def _index_problem(kind: str, body: dict[str, Any], signer: str, entry: EntryView) -> str | None:
    if kind != entry.payload_type:
        return f"stored payload type {entry.payload_type!r} differs from the signed {kind!r}"
    if entry.key_id != signer:
        return "stored key id differs from the signing key"
    if body.get("signer") != signer:
        return "the payload names a different signer than the signature"
    if body.get("time") != entry.time:
        return "stored time differs from the signed one"
    if kind == RECORD_TYPE:
        if body.get("event") != entry.event or body.get("sample_id") != entry.sample_id:
            return "stored event or sample id differs from the signed record"
        if not isinstance(body.get("digest"), str) or not isinstance(body.get("sample_id"), str):
            return "the record names no sample id or digest"
    elif kind == KEY_EVENT_TYPE:
        if body.get("action") != entry.event:
            return "stored event differs from the signed key event"
        if entry.sample_id is not None:
            return "a sample id is stored beside a key event, which names none"
    else:
        return f"unknown payload type {kind!r}"
    return None


def _verify_content(snapshot: _Snapshot, facts: _Facts) -> None:
    """Every stored content row hashes to its digest, which a record of its sample signs; no
    made sample lacks content unless a signed `erased` record removed it, and none a signed
    `erased` record removed (and nothing made again since) has content."""
    if snapshot.file_error is not None:
        raise snapshot.file_error
    if snapshot.content_error is not None:
        raise snapshot.content_error
    content = snapshot.content
    for sample_id, actual in content.items():
        if sample_id in facts.erased:
            raise VerificationError(
                f"sample {sample_id}: content is stored although a signed `erased` record "
                "removed it: it was put back in the database"
            )
        signed = facts.signs(sample_id, "sha256:" + actual.hex())
        if signed is None:
            raise VerificationError(
                f"sample {sample_id}: content is stored but no record of the ledger names it"
            )
        if not signed:
            raise VerificationError(
                f"sample {sample_id}: the stored content is not what its records sign: it was "
                "changed in the database"
            )
    missing = sorted(facts.made - facts.erased - content.keys())
    if missing:
        raise missing_content(missing)


def missing_content(missing: Sequence[str], hint: str = "") -> VerificationError:
    """The error for made samples without content that no signed `erased` record removed."""
    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    return VerificationError(
        f"sample {missing[0]}{more}: its content is missing from the ledger and no signed "
        f"`erased` record removed it{hint}"
    )


def _verify_checkpoints(
    ledger: Ledger, tree: Tree, timeline: KeyTimeline, rows: list[CheckpointRow]
) -> tuple[int, Checkpoint | None]:
    previous: Checkpoint | None = None
    for row in rows:
        if not isinstance(row.note, str) or not isinstance(row.root, bytes | memoryview):
            raise VerificationError(
                f"checkpoint row {row.size}: its note or root is stored as another type "
                f"({type(row.note).__name__}, {type(row.root).__name__}): edited in the database",
                seq=max(row.size - 1, 0),
            )
        checkpoint, signer = _check_note(ledger, tree, timeline, row.note, "checkpoint")
        if checkpoint.size != row.size:
            raise VerificationError(
                f"checkpoint row {row.size} holds a note of size {checkpoint.size}"
            )
        if bytes(row.root) != checkpoint.root or row.key_id != signer:
            raise VerificationError(
                f"checkpoint row {row.size}: its stored root or key id differs from its signed "
                "note (edited in the database)",
                seq=max(row.size - 1, 0),
            )
        if previous is not None:
            proof = tree.consistency_proof(previous.size, checkpoint.size)
            verify_consistency(
                previous.size, checkpoint.size, previous.root, checkpoint.root, proof
            )
        previous = checkpoint
    return len(rows), previous


def _check_note(
    ledger: Ledger, tree: Tree, timeline: KeyTimeline, note: str, what: str
) -> tuple[Checkpoint, str]:
    """A checkpoint note checked against the tree and the key timeline; it and its signer."""
    all_keys = [span.key for span in timeline.spans.values()]
    checkpoint, key_id = verify_checkpoint(note, all_keys)
    if checkpoint.origin != ledger.origin:
        raise VerificationError(
            f"{what} is for origin {checkpoint.origin!r}, not {ledger.origin!r}"
        )
    span = timeline.spans[key_id]
    if not span.may_sign_checkpoint(checkpoint.size):
        raise VerificationError(
            f"{what} at size {checkpoint.size} is signed by a key not valid at that size",
            seq=max(checkpoint.size - 1, 0),
        )
    if checkpoint.size > tree.size:
        raise VerificationError(
            f"{what} covers {checkpoint.size} entries but the ledger holds {tree.size}: "
            f"entries from {tree.size} on were cut off or rolled back",
            seq=tree.size,
        )
    if tree.root(checkpoint.size) != checkpoint.root:
        raise VerificationError(
            f"the tree of the first {checkpoint.size} entries does not have the root its "
            f"{what} signed: history before it was rewritten"
        )
    return checkpoint, key_id


def _verify_kept(
    ledger: Ledger, tree: Tree, timeline: KeyTimeline, note: str, what: str
) -> Checkpoint:
    try:
        parse_checkpoint(note)
    except VerificationError as exc:
        reason = str(exc).removeprefix("not a checkpoint: ")
        raise InputError(f"{what} is not a checkpoint: {reason}") from exc
    return _check_note(ledger, tree, timeline, note, what)[0]
