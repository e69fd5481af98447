"""The append-only log: signed entries in SQL tables, the RFC 6962 tree over them, signed
checkpoints, the key timeline, the readers of lineage records, and offline verification.

    from synthguard.ledger.log import Ledger, verify_ledger

    with Ledger.open("sqlite:///ledger.db", signer=key, kept=home.kept_checkpoint()) as ledger:
        ledger.append(records)
        checkpoint = ledger.checkpoint()
    print(verify_ledger(Ledger.open("sqlite:///ledger.db")).ok)

Every SQL statement of the project is in this folder (`store`, `lineage`, `verify`, and
`segment_tables` for the dedup index that screens share through a PostgreSQL ledger); everything
else reads the ledger through the names below.
"""

from synthguard.ledger.log.checkpoint import Checkpoint, check_origin, verify_checkpoint
from synthguard.ledger.log.heads import HEAD_TYPE, Head, HeadSeal
from synthguard.ledger.log.kept import KeptCheckpoint
from synthguard.ledger.log.lineage import (
    MAKING_EVENTS,
    LineageEntry,
    LineageNode,
    ancestry,
    ancestry_json,
    check_key_events,
    making_record_ids,
    parse_lineage,
    parse_record,
    records_by_event,
    records_for,
    resolve_sample_id,
    scan_records,
    signed_subject,
)
from synthguard.ledger.log.merkle import (
    HASH_SIZE,
    CompactRange,
    Tree,
    leaf_hash,
    root,
    verify_inclusion,
    verify_multiproof,
)
from synthguard.ledger.log.private_file import FILE_MODE, make_private_dir, write_private
from synthguard.ledger.log.segment_tables import (
    DEDUP_LOCK_KEY,
    LockedSegments,
    NewSegment,
    SegmentFormat,
    StoredSegment,
    is_postgres_url,
)
from synthguard.ledger.log.store import (
    DEFAULT_CHECKPOINT_INTERVAL,
    WAIT_NOTE_AFTER,
    EntryView,
    Ledger,
    SignedBatch,
    Unsigned,
    WaitNote,
    content_row,
    database_failure,
    entry_leaf_hash,
    shown_url,
    sqlite_file,
    unsigned_entry,
)
from synthguard.ledger.log.tables import KeyRow
from synthguard.ledger.log.verify import (
    Progress,
    SignedDigests,
    VerifyReport,
    missing_content,
    verify_ledger,
)

__all__ = [
    "DEDUP_LOCK_KEY",
    "DEFAULT_CHECKPOINT_INTERVAL",
    "FILE_MODE",
    "HASH_SIZE",
    "HEAD_TYPE",
    "MAKING_EVENTS",
    "WAIT_NOTE_AFTER",
    "Checkpoint",
    "CompactRange",
    "EntryView",
    "Head",
    "HeadSeal",
    "KeptCheckpoint",
    "KeyRow",
    "Ledger",
    "LineageEntry",
    "LineageNode",
    "LockedSegments",
    "NewSegment",
    "Progress",
    "SegmentFormat",
    "SignedBatch",
    "SignedDigests",
    "StoredSegment",
    "Tree",
    "Unsigned",
    "VerifyReport",
    "WaitNote",
    "ancestry",
    "ancestry_json",
    "check_key_events",
    "check_origin",
    "content_row",
    "database_failure",
    "entry_leaf_hash",
    "is_postgres_url",
    "leaf_hash",
    "make_private_dir",
    "making_record_ids",
    "missing_content",
    "parse_lineage",
    "parse_record",
    "records_by_event",
    "records_for",
    "resolve_sample_id",
    "root",
    "scan_records",
    "shown_url",
    "signed_subject",
    "sqlite_file",
    "unsigned_entry",
    "verify_checkpoint",
    "verify_inclusion",
    "verify_ledger",
    "verify_multiproof",
    "write_private",
]
