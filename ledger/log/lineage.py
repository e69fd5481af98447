"""A sample's lineage as the ledger records it: its records, its depth, its ancestry tree.

Reads go through the entries table's `sample_id` and `event` indexes, but what a record says is
taken from its signed payload: an entry whose index columns differ from its payload is refused
(anyone with the database can edit a column). Signatures are not checked here: this is what the
ledger claims, and `synthguard verify` is what proves it.

In the tree, a sample's parents are the union of the parents named by the records that made it
(`generated`, `revised`, `imported`), in ledger order; every other record about it (`critiqued`,
`reviewed`, `screened`, ...) is a note on the node, not an edge. A sample reached twice through a
DAG is expanded once and marked `repeated` after that.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement
from sqlmodel import col, select

from synthguard.ledger.log.tables import Entry, stored_bytes
from synthguard.provenance.dsse import open_envelope
from synthguard.provenance.errors import InputError, VerificationError
from synthguard.provenance.record import RECORD_TYPE, Event, LineageRecord

if TYPE_CHECKING:
    from synthguard.ledger.log.keyring import KeyTimeline
    from synthguard.ledger.log.store import EntryView, Ledger

MAKING_EVENTS = frozenset({Event.GENERATED, Event.REVISED, Event.IMPORTED})
"""Events whose record says how a sample came to be (and so names its parents)."""

_PREFIX = "sha256:"
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class LineageEntry:
    """One lineage record and where it sits in the ledger."""

    seq: int
    record: LineageRecord


@dataclass
class LineageNode:
    """A sample in an ancestry tree: the records that made it, notes on it, and its parents."""

    sample_id: str
    made: list[LineageEntry] = field(default_factory=list)
    notes: list[LineageEntry] = field(default_factory=list)
    parents: list[LineageNode] = field(default_factory=list)
    repeated: bool = False

    @property
    def missing(self) -> bool:
        """True when the ledger holds no record of this sample."""
        return not self.made and not self.notes

    @property
    def depth(self) -> int | None:
        """The depth of the first record that made it (or of any record, failing that)."""
        entries = self.made or self.notes
        return entries[0].record.depth if entries else None

    def parent_ids(self) -> list[str]:
        """The parents the making records name, first mention first."""
        ids: dict[str, None] = {}
        for entry in self.made:
            for parent in entry.record.parents:
                if parent != self.sample_id:
                    ids.setdefault(parent)
        return list(ids)


def records_for(ledger: Ledger, sample_id: str) -> list[LineageEntry]:
    """Return every lineage record about `sample_id`, in ledger order."""
    return records_of(ledger, [sample_id])


def records_of(ledger: Ledger, sample_ids: Iterable[str], chunk: int = 500) -> list[LineageEntry]:
    """Every lineage record about any of `sample_ids`, in ledger order, a chunk of ids per
    query."""
    found = [checked_record(*row) for row in _record_rows(ledger, sample_ids, chunk)]
    found.sort(key=lambda entry: entry.seq)
    return found


def _record_rows(
    ledger: Ledger, sample_ids: Iterable[str], chunk: int
) -> Iterator[tuple[int, str | None, str | None, bytes]]:
    """(seq, sample id, event, envelope) of every lineage record about `sample_ids`: in ledger
    order within each chunk of ids, one query a chunk (an id's records are all in its chunk)."""
    ids = list(dict.fromkeys(sample_ids))
    # In plain SQL on the driver's connection: `record` and the screen ask this of every batch,
    # and through a SQLAlchemy select with an expanding IN it took 16 % of `record`'s appending
    # thread (py-spy, 100,000 rows; 6 % like this).
    mark = "?" if ledger.engine.dialect.name == "sqlite" else "%s"
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        raw = ledger.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(
                f"SELECT seq, sample_id, event, envelope FROM entries WHERE payload_type = {mark} "
                f"AND sample_id IN ({', '.join([mark] * len(part))}) ORDER BY seq",
                [RECORD_TYPE, *part],
            )
            rows = cursor.fetchall()
        finally:
            raw.close()
        for seq, sample_id, event, envelope in rows:
            yield seq, sample_id, event, stored_bytes(envelope, seq, "envelope")


def records_by_event(
    ledger: Ledger, events: Iterable[Event], chunk: int = 5000
) -> Iterator[LineageEntry]:
    """Yield every lineage record of the given events, in ledger order (through the event
    index, a chunk at a time)."""
    names = [Event(event).value for event in events]
    position = 0
    while True:
        with ledger.engine.connect() as conn:
            rows = conn.execute(
                select(col(Entry.seq), col(Entry.sample_id), col(Entry.event), col(Entry.envelope))
                .where(
                    col(Entry.event).in_(names),
                    col(Entry.payload_type) == RECORD_TYPE,
                    col(Entry.seq) >= position,
                )
                .order_by(col(Entry.seq))
                .limit(chunk)
            ).all()
        if not rows:
            return
        for row in rows:
            yield checked_record(*row)
        position = rows[-1][0] + 1


def scan_records(
    ledger: Ledger,
    events: Iterable[Event],
    stop: int | None = None,
    *,
    holding: Mapping[Event, bytes] | None = None,
    signed: Iterable[Event] = (),
) -> Iterator[LineageEntry]:
    """Yield every lineage record of the given events among the first `stop` entries (all
    when None), in ledger order, found by reading every entry's signed payload rather than
    through the index columns: what a decision that must not miss a record reads.

    `holding` narrows an event to the records whose payload holds some bytes: the caller's
    necessary condition for a record that can matter to it (a quarantining screening holds
    `"quarantined"`), checked before the record is parsed. Every record yielded is the one its
    stored leaf hash commits to (the hashes a writer's history checks bind to the tree its home
    signed), and so is every entry passed over: an envelope edited in the database, its leaf
    hash left alone, is a VerificationError, not a decision. A record of an event in `signed`
    (one that lifts what others decided: an override) must carry a valid signature by a key
    the ledger's signed key events allow at its place, checked on the envelope read here:
    VerificationError names one written into the database without a key. Once the last entry
    is read, the leaf hashes recomputed from the envelopes must form the tree the ledger's
    latest checkpoint signs, one that extends the tree the home kept (`Ledger.check_read`):
    a database that answers this scan with rows other than those its other queries see (a
    PostgreSQL view over the entries) is a VerificationError, raised before the generator
    ends; read it to the end before acting on what it yielded.
    """
    # Here, not at the top: the store builds on this module.
    from synthguard.ledger.log.store import entry_leaf_hash

    names = {Event(event).value for event in events}
    checked = {Event(event).value for event in signed}
    timeline: KeyTimeline | None = None
    timeline_size = 0
    markers = [
        (b'"event":"%s"' % name.encode(), (holding or {}).get(Event(name))) for name in names
    ]
    # The entries that are no lineage record (key events): each one before a signed record
    # must be in the key timeline its signature is checked against.
    others: list[int] = []
    read = ledger.read_tree()
    for entry in ledger.entries(0, stop):
        # Every entry, not only those that match: a quarantine edited into an acceptance would
        # otherwise just not be found.
        leaf = entry_leaf_hash(entry.seq, entry.envelope)
        if leaf != entry.leaf_hash:
            raise VerificationError(
                f"entry {entry.seq}: its envelope is not the one its leaf hash commits to: it "
                "was edited in the database (run `synthguard verify`)",
                seq=entry.seq,
            )
        read.add(entry.seq, leaf)
        payload = record_payload(entry.seq, entry.envelope)
        if payload is None:
            others.append(entry.seq)
            continue
        # Most entries are ruled out by a byte search; a hit inside a nested detail is
        # settled by the parsed record.
        if not any(
            marker in payload and (needed is None or needed in payload)
            for marker, needed in markers
        ):
            continue
        record = _record(entry.seq, payload)
        if record.event.value not in names:
            continue
        if record.event.value in checked:
            if timeline is None or entry.seq >= timeline_size:
                # Once per scan (again only for an entry appended meanwhile).
                timeline_size = max(entry.seq + 1, ledger.size())
                timeline, _problem = ledger.key_timeline(ledger.root_key, timeline_size)
            check_key_events(others, timeline)
            _check_signed(entry, timeline)
        yield LineageEntry(entry.seq, record)
    ledger.check_read(read)


def check_key_events(key_events: Iterable[int], timeline: KeyTimeline) -> None:
    """Every key event a scan of the entries met is one the timeline applied. The timeline is
    read through the event index: one the database was made to disagree with its table hides a
    revocation, and the revoked key's entries would pass."""
    for seq in key_events:
        if seq not in timeline.events:
            raise VerificationError(
                f"entry {seq}: a key event that the key timeline, read through the event index, "
                "does not hold: the database's index disagrees with its entries, or the event "
                "does not verify (run `synthguard verify`)",
                seq=seq,
            )


def _check_signed(entry: EntryView, timeline: KeyTimeline) -> None:
    try:
        open_envelope(entry.envelope, partial(timeline.key_at, seq=entry.seq))
    except VerificationError as exc:
        raise VerificationError(
            f"entry {entry.seq}: a review (an override) without a valid signature by a ledger "
            f"key ({exc}): it was written into the database without a key (run `synthguard "
            "verify`)",
            seq=entry.seq,
        ) from None


def depth_of(ledger: Ledger, sample_id: str) -> int | None:
    """Return the depth the ledger gives `sample_id` (its first making record's), or None."""
    return depths_of(ledger, [sample_id]).get(sample_id)


def depths_of(ledger: Ledger, sample_ids: Iterable[str], chunk: int = 500) -> dict[str, int]:
    """`depth_of` for many samples, a few queries in all; ids the ledger lacks are left out."""
    made: dict[str, int] = {}
    noted: dict[str, int] = {}
    for _seq, sample_id, event, depth in _facts_of(ledger, sample_ids, chunk):
        (made if event in _MAKING else noted).setdefault(sample_id, depth)
    return {**noted, **made}


def making_record_ids(ledger: Ledger, sample_ids: Iterable[str], chunk: int = 500) -> set[str]:
    """The ids among `sample_ids` that a making record (generated, revised, imported) names."""
    return {
        sample_id
        for _seq, sample_id, event, _depth in _facts_of(ledger, sample_ids, chunk)
        if event in _MAKING
    }


_MAKING = frozenset(event.value for event in MAKING_EVENTS)


def _facts_of(
    ledger: Ledger, sample_ids: Iterable[str], chunk: int
) -> Iterator[tuple[int, str, str, int]]:
    """(seq, sample id, event, depth) of every lineage record about `sample_ids`, in ledger
    order within a chunk of ids: what depths and making records need, read from the signed
    payload (a VerificationError when it disagrees with the index columns, as
    `checked_record`) without building each record, which costs six times as much."""
    for seq, sample_id, event, envelope in _record_rows(ledger, sample_ids, chunk):
        payload = record_payload(seq, envelope)
        try:
            fields: Any = json.loads(payload or b"null")
            signed = (fields["sample_id"], fields["event"], fields["depth"])
        except (ValueError, KeyError, TypeError) as exc:
            raise VerificationError(
                f"entry {seq}: the lineage record cannot be read (run `synthguard verify`)",
                seq=seq,
            ) from exc
        if (
            signed[:2] != (sample_id, event)
            or sample_id is None
            or event is None
            or type(signed[2]) is not int
        ):
            raise VerificationError(
                f"entry {seq}: its index columns differ from its signed record (the database "
                "was edited; run `synthguard verify`)",
                seq=seq,
            )
        yield seq, sample_id, event, signed[2]


def resolve_sample_id(ledger: Ledger, text: str) -> str:
    """Return the one sample id that `text` (a full id or a unique prefix, `sha256:` optional)
    names in the ledger; raise InputError when it names none or several."""
    wanted = text.strip().lower()
    if not wanted.startswith(_PREFIX):
        wanted = _PREFIX + wanted
    digits = wanted[len(_PREFIX) :]
    if not digits or not set(digits) <= _HEX or len(digits) > 64:
        raise InputError(f"{text!r} is not a sample id or a prefix of one (sha256:<hex>)")
    column = col(Entry.sample_id)
    match: ColumnElement[bool]
    if ledger.engine.dialect.name == "sqlite":
        # A range on the indexed column (binary order: hex digits sort below "g"); SQLite would
        # not use the index for LIKE.
        match = (column >= wanted) & (column < wanted + "g")
    else:
        match = column.startswith(wanted, autoescape=True)
    with ledger.engine.connect() as conn:
        found = list(conn.execute(select(column).where(match).group_by(column).limit(2)).scalars())
    if not found:
        raise InputError(f"no sample {text} in the ledger")
    if len(found) > 1:
        shown = ", ".join(str(sample_id) for sample_id in found)
        raise InputError(f"{text} is the start of several sample ids ({shown}, ...): give more")
    return str(found[0])


def ancestry(ledger: Ledger, sample_id: str) -> LineageNode:
    """Return the tree of `sample_id` and its ancestors up to the roots, with their notes."""
    expanded: set[str] = set()

    def build(current: str, path: frozenset[str]) -> LineageNode:
        if current in expanded or current in path:
            node = LineageNode(current, repeated=True)
            entries = records_for(ledger, current)
            node.made = [e for e in entries if e.record.event in MAKING_EVENTS]
            return node
        expanded.add(current)
        node = LineageNode(current)
        for entry in records_for(ledger, current):
            (node.made if entry.record.event in MAKING_EVENTS else node.notes).append(entry)
        inner = path | {current}
        node.parents = [build(parent, inner) for parent in node.parent_ids()]
        return node

    return build(sample_id, frozenset())


def ancestry_json(node: LineageNode) -> dict[str, Any]:
    """The tree as JSON: each node's id, depth, records, notes and parents."""
    return {
        "sample_id": node.sample_id,
        "depth": node.depth,
        "missing": node.missing,
        "repeated": node.repeated,
        "records": [_entry_json(entry) for entry in node.made],
        "notes": [] if node.repeated else [_entry_json(entry) for entry in node.notes],
        "parents": [ancestry_json(parent) for parent in node.parents],
    }


def _entry_json(entry: LineageEntry) -> dict[str, Any]:
    return {"seq": entry.seq, **entry.record.model_dump(mode="json", exclude_none=True)}


def checked_record(
    seq: int, sample_id: str | None, event: str | None, envelope: bytes
) -> LineageEntry:
    """The record of a stored entry, refused (VerificationError naming the entry) when the
    entry's index columns do not say what its signed payload says."""
    record = parse_record(seq, envelope)
    if record.sample_id != sample_id or record.event.value != event:
        raise VerificationError(
            f"entry {seq}: its index columns differ from its signed record (the database was "
            "edited; run `synthguard verify`)",
            seq=seq,
        )
    return LineageEntry(seq, record)


def record_payload(seq: int, envelope: bytes) -> bytes | None:
    """The signed payload of a stored entry when it is a lineage record (None for another
    kind, a key event); VerificationError naming the entry when it cannot be read. The
    envelope's JSON is read directly: a pydantic Envelope costs twice as much per entry."""
    try:
        outer = json.loads(envelope)
        if outer["payloadType"] != RECORD_TYPE:
            return None
        return base64.b64decode(outer["payload"], validate=True)
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(
            f"entry {seq}: the entry cannot be read (run `synthguard verify`)", seq=seq
        ) from exc


def signed_subject(seq: int, envelope: bytes) -> tuple[str, str | None] | None:
    """The sample id a stored entry's signed payload names and, for a `released` record, the
    release it names (None for a key event), read without building the record."""
    payload = record_payload(seq, envelope)
    if payload is None:
        return None
    try:
        fields = json.loads(payload)
        sample_id = fields["sample_id"]
    except (ValueError, KeyError, TypeError):
        sample_id = None
    if not isinstance(sample_id, str):
        raise VerificationError(f"entry {seq}: the record names no sample", seq=seq)
    release = None
    if fields.get("event") == Event.RELEASED.value:
        detail = fields.get("detail")
        named = detail.get("release") if isinstance(detail, dict) else None
        release = named if isinstance(named, str) else None
    return sample_id, release


def parse_lineage(seq: int, envelope: bytes) -> LineageRecord | None:
    """The lineage record inside a stored envelope, or None when the envelope signs another
    kind of payload (a key event); VerificationError naming the entry when unreadable."""
    payload = record_payload(seq, envelope)
    return None if payload is None else _record(seq, payload)


def parse_record(seq: int, envelope: bytes) -> LineageRecord:
    """The lineage record inside a stored envelope (its signature unchecked); VerificationError
    naming the entry when it cannot be read or is no lineage record."""
    record = parse_lineage(seq, envelope)
    if record is None:
        raise VerificationError(f"entry {seq}: the entry is no lineage record", seq=seq)
    return record


def _record(seq: int, payload: bytes) -> LineageRecord:
    try:
        return LineageRecord.from_payload(payload)
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(
            f"entry {seq}: the lineage record cannot be read (run `synthguard verify`)", seq=seq
        ) from exc
