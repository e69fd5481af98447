"""The dedup index in a PostgreSQL ledger database, shared by every machine that writes it.

The database holds it because every writer machine of a PostgreSQL ledger reaches that database
already, and its transactions and locks hold across machines; the index is locked from open to
save, so two screens never decide at once. How, and why so, is the ledger's part
(`synthguard.ledger.log.segment_tables`, where every SQL statement lives); this module is the
index's: a segment's bytes are those a segment file holds (`segments.encode_segment`), checked
against their SHA-256 and the sketch parameters when read, and a save past `COMPACT_AT`
segments merges them into one, as for a folder. A ledger in SQLite lives on one machine, and
its index stays a folder in the home (`segments.SegmentFolder`).

The digests catch damage; the signed head (`synthguard.ledger.log.heads`, in `dedup_head`,
written in the save's transaction) catches a change made without a key: a screen with its
ledger refuses an index whose head does not verify, list its segments, or is older than the
last one its home saw.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

from synthguard.guards.dedup.segments import (
    COMPACT_AT,
    INDEX_FORMAT,
    Arrays,
    HeadMaker,
    Loaded,
    Part,
    concat_segments,
    decode_segment,
    encode_segment,
    params_mismatch,
    params_problem,
    sealed_error,
)
from synthguard.ledger.log import DEDUP_LOCK_KEY as LOCK_KEY
from synthguard.ledger.log import (
    WAIT_NOTE_AFTER,
    LockedSegments,
    NewSegment,
    SegmentFormat,
    StoredSegment,
    WaitNote,
    is_postgres_url,
)

__all__ = ["LOCK_KEY", "WAIT_NOTE_AFTER", "SegmentTables", "WaitNote", "is_postgres_url"]


class SegmentTables:
    """The index in the `dedup_` tables of a PostgreSQL database, locked from creation to the
    end of `save` or `close` (see the module); with `snapshot`, read in one snapshot without
    the lock, and never saved (`LockedSegments`)."""

    def __init__(
        self, url: str, *, on_wait: WaitNote | None = None, snapshot: bool = False
    ) -> None:
        self._tables = LockedSegments(url, on_wait=on_wait, snapshot=snapshot)
        self.where = self._tables.where
        self._sealed = False

    def load(self) -> Loaded:
        """The stored index, every segment checked against its digest."""
        return self._tables.load(self._parts)

    def save(
        self, params: Mapping[str, Any], arrays: Arrays | None, head: HeadMaker | None
    ) -> None:
        """Append `arrays` as a segment in one transaction, merging past `COMPACT_AT`, with
        the head `head` signs, then release the lock (also on failure): the screen that read
        the index has decided and signed by now.

        A save after that locks again, and refuses if another screen saved in between (what
        this one decided did not see that screen's samples)."""

        if head is None and self._sealed:
            self.close()  # a save lets go of the lock whatever happens
            raise sealed_error(self.where)

        def check(stored: SegmentFormat) -> None:
            if (had := self._params(stored)) != params:
                raise params_mismatch(self.where, had, params)

        def merge(segments: Iterator[StoredSegment]) -> NewSegment:
            return encode_segment(concat_segments([self._part(s, params)[2] for s in segments]))

        try:
            segment = None if arrays is None else encode_segment(arrays)
        except BaseException:
            self.close()  # a save lets go of the lock whatever happens
            raise
        self._tables.save(
            SegmentFormat(INDEX_FORMAT, json.dumps(params, sort_keys=True)),
            segment,
            check=check,
            compact_at=COMPACT_AT,
            merge=merge,
            head=None if head is None else partial(head, params),
        )

    def close(self) -> None:
        """Release the lock and the connection."""
        self._tables.close()

    def _parts(
        self, row: SegmentFormat | None, segments: Iterator[StoredSegment], head: bytes | None
    ) -> Loaded:
        self._sealed = head is not None
        if row is None:
            return None, [], [], head
        params = self._params(row)
        parts, entries = [], []
        for segment in segments:
            parts.append(self._part(segment, params))
            entries.append(segment.entry)
        return params, parts, entries, head

    def _params(self, row: SegmentFormat) -> dict[str, Any]:
        try:
            params = json.loads(row.params)
        except ValueError:
            params = None
        if row.format != INDEX_FORMAT or params_problem(params):
            raise self._tables.damaged(f"its dedup_index row is not {INDEX_FORMAT} parameters")
        result: dict[str, Any] = params
        return result

    def _part(self, segment: StoredSegment, params: Mapping[str, Any]) -> Part:
        try:
            return decode_segment(segment.data, segment.entry, params)
        except ValueError as exc:
            raise self._tables.damaged(f"segment {segment.seq} {exc}") from exc
