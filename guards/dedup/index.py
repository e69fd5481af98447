"""The dedup index: every sample seen so far, and a fast search for an earlier near copy.

For each sample the index keeps its id, its exact-duplicate key and one MinHash sketch per
shingle kind it gets (`shingles`); `matches` finds, for given samples, an earlier one whose
sketch of the same kind reaches a Jaccard threshold. The LSH band index (`minhash`) gives the
candidates, and exact Jaccard decides. Template data (thousands of rows "Is 27 a prime
number? ...") has hundreds of candidates per row at J 0.4-0.6, so the decision must be cheap.
Each sketch keeps a 1,024-bit map of its shingles (bit = top 10 bits of the shingle hash), a
128-bit one folded from it, and for each the number of its shingles that share a bit with
another of its own, `lost`. The shingles two sets share set bits in both maps, and only a
collision within a set can hide one of them, so |A & B| <= popcount(mA & mB) + min(lostA,
lostB): an upper bound on J, computed for all candidates at once (the 128-bit maps first, the
1,024-bit ones for what is left), that drops a pair only when its Jaccard is below the
threshold. The survivors are checked by exact Jaccard in the order of their bound, and a
sample's first confirmed match ends its search.

An index with a store is saved there (`segments`: the segment format, and the folder with its
lock and atomic writes; `tables`: the same segments in a PostgreSQL ledger database); one
without lives in memory. `DedupIndex.at(home)` picks the place: the ledger database when the
home's ledger is PostgreSQL, so that every machine writing that ledger deduplicates against the
others, else the folder `<home>/dedup/`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from synthguard.guards.dedup.minhash import BandIndex, Scheme, Signatures, band_keys
from synthguard.guards.dedup.normalise import NORMALISATION_VERSION
from synthguard.guards.dedup.segments import (
    Arrays,
    Part,
    SegmentFolder,
    SegmentStore,
    empty_segment,
    id_rows,
    key_rows,
    params_mismatch,
)
from synthguard.guards.dedup.shingles import KINDS, SHINGLE_HASH, ShingleParams, shingle_hash
from synthguard.provenance.errors import InputError, VerificationError

if TYPE_CHECKING:
    from synthguard.guards.dedup.tables import WaitNote
    from synthguard.ledger.home import Home
    from synthguard.ledger.log import Head, HeadSeal, Ledger

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

INDEX_DIR = "dedup"
INDEX_KIND = "dedup-index"
"""The kind of state the index's signed heads name."""
BITMAP_BITS = 1024
"""Bits of a sketch's shingle map (a power of two): wider is a tighter bound, and costs more."""
_KIND_SALTS = np.array([shingle_hash((), kind) for kind in KINDS], dtype=np.uint64)
_WORDS = BITMAP_BITS // 64
_BIT_SHIFT = np.uint64(64 - (BITMAP_BITS.bit_length() - 1))
_LEVELS = (2, _WORDS)
"""Map widths in 64-bit words, cheapest first: each narrower map folds the full one (bit
b & (64 w - 1)), and each cut only sees the pairs that the one before let through."""
_PAIR_BUDGET = 1 << 18
"""Candidate pairs gathered at once (a pass's memory is about 100 bytes a pair): template data
gives each sample thousands of candidates, more the larger the index, so the samples a pass
confirms are cut by their candidates, not by their number."""
_BUILD_CHUNK = 1 << 16
"""Sketches whose band keys are computed at once when the band index is built."""


def index_path(home: Home) -> Path:
    """Where the dedup index of a ledger home lives."""
    return home.path / INDEX_DIR


@dataclass(frozen=True)
class IndexCheck:
    """A dedup index that `DedupIndex.check` found as its signed head lists."""

    where: str
    """Where it is kept, for messages (" at PATH", " in the ledger database URL")."""
    samples: int
    segments: int
    version: int | None
    """Its head's version; None: saved before heads were signed (the next screen signs it)."""
    kept: int | None
    """The version this home accepted last; None: it has seen no head of this index, so an
    older signed head (a rollback) would pass here."""


def _store_of(
    home: Home, db: str | None, on_wait: WaitNote | None, *, snapshot: bool = False
) -> SegmentStore:
    # Here, not at the top: the database side pulls in the ledger's log and SQLAlchemy, which
    # an index in memory or in a folder never needs (`import_bench.py`).
    from synthguard.guards.dedup.tables import SegmentTables, is_postgres_url

    url = home.db_url(db)
    if is_postgres_url(url):
        return SegmentTables(url, on_wait=on_wait, snapshot=snapshot)
    return SegmentFolder(index_path(home), on_wait=on_wait, exclusive=not snapshot)


def _seal(ledger: Ledger, home: Home, root_key: str | None) -> HeadSeal:
    from synthguard.ledger.log import HeadSeal

    return HeadSeal(ledger, home.path, INDEX_KIND, root_key)


def head_state(params: Mapping[str, Any] | None, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """What an index's signed head says about it: its sketch parameters and each segment's
    counts and SHA-256, in order."""
    return {"params": None if params is None else dict(params), "segments": entries}


def sketch_params(
    shingles: ShingleParams, *, num_perm: int, seed: int, scheme: Scheme
) -> dict[str, Any]:
    """Everything a stored sketch depends on: an index only accepts sketches made the same way."""
    return {
        "normalisation": NORMALISATION_VERSION,
        "shingles": shingles.config(),
        "shingle_hash": SHINGLE_HASH,
        "scheme": scheme,
        "seed": seed,
        "num_perm": num_perm,
    }


def unique_sets(hashes: U64, offsets: I64, order: I64 | None = None) -> tuple[U64, I64]:
    """Each set's distinct values, sorted: set i is `hashes[offsets[i]:offsets[i + 1]]`.

    With `order`, the sets come out in that order (set k of the result is set order[k]).
    """
    sets = len(offsets) - 1
    counts = np.diff(offsets)
    rank = np.arange(sets, dtype=np.int64)
    if order is not None:
        rank[order] = np.arange(sets, dtype=np.int64)
    owner = np.repeat(rank, counts)
    values, owner = _sorted_pairs(hashes, owner, sets)
    distinct = np.ones(len(values), dtype=bool)
    distinct[1:] = (values[1:] != values[:-1]) | (owner[1:] != owner[:-1])
    values, owner = values[distinct], owner[distinct]
    out = np.zeros(sets + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=sets), out=out[1:])
    return values, out


def _sorted_pairs(values: U64, owner: I64, owners: int) -> tuple[U64, I64]:
    """(value, owner) pairs sorted by owner, then value, as `np.lexsort((values, owner))` sorts
    them but about three times faster: one sort of a 64-bit key, the owner's bits over the
    value's top bits, then checked; should a tie in those bits leave two values of an owner out
    of order (rare at these widths), lexsort sorts them."""
    shift = np.uint64(max(owners - 1, 1).bit_length())
    by = np.argsort((owner.astype(np.uint64) << (np.uint64(64) - shift)) | (values >> shift))
    sorted_values, sorted_owner = values[by], owner[by]
    if np.any((sorted_owner[1:] == sorted_owner[:-1]) & (sorted_values[1:] < sorted_values[:-1])):
        by = np.lexsort((values, owner))
        sorted_values, sorted_owner = values[by], owner[by]
    return sorted_values, sorted_owner


def shingle_maps(values: U64, offsets: I64) -> U64:
    """The bit maps of sets of distinct values, (BITMAP_BITS / 64, sets): value v sets bit
    v >> (64 - log2 BITMAP_BITS)."""
    sets = len(offsets) - 1
    owner = np.repeat(np.arange(sets, dtype=np.int64), np.diff(offsets))
    bits = (values >> _BIT_SHIFT).astype(np.int64)
    maps = np.zeros(_WORDS * sets, dtype=np.uint64)
    np.bitwise_or.at(
        maps, (bits >> 6) * sets + owner, np.uint64(1) << (bits & 63).astype(np.uint64)
    )
    return maps.reshape(_WORDS, sets)


def _band_keys(signatures: Signatures, kinds: npt.NDArray[np.uint8], shape: tuple[int, int]) -> U64:
    return band_keys(signatures, _KIND_SALTS[kinds], *shape)


class _Column:
    """A numpy array that grows along its last axis, doubling its room (amortised O(1) appends)."""

    def __init__(self, dtype: npt.DTypeLike, head: tuple[int, ...] = ()) -> None:
        self._data: np.ndarray = np.empty((*head, 64), dtype=dtype)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def values(self) -> np.ndarray:
        """The array so far (a view)."""
        return self._data[..., : self._size]

    def extend(self, more: npt.ArrayLike) -> None:
        """Append values along the last axis."""
        more = np.asarray(more, dtype=self._data.dtype)
        need = self._size + more.shape[-1]
        if need > self._data.shape[-1]:
            room = max(need, 2 * self._data.shape[-1])
            grown = np.empty((*self._data.shape[:-1], room), dtype=self._data.dtype)
            grown[..., : self._size] = self.values
            self._data = grown
        self._data[..., self._size : need] = more
        self._size = need


class _Sketches:
    """Every indexed sketch, in insertion order (a sample's sketches next to each other): its
    sample, kind, signature, distinct shingles, and its shingle map at each width in `_LEVELS`
    with how many of its shingles that map loses to collisions."""

    def __init__(self, num_perm: int, dtype: npt.DTypeLike) -> None:
        self.doc = _Column(np.int64)
        self.kind = _Column(np.uint8)
        self.signatures = _Column(dtype, (num_perm,))
        self.size = _Column(np.int64)
        self.maps = [_Column(np.uint64, (words,)) for words in _LEVELS]
        self.lost = [_Column(np.int64) for _ in _LEVELS]
        self.set_offsets = _Column(np.int64)
        self.set_offsets.extend([0])
        self.set_values = _Column(np.uint64)

    def __len__(self) -> int:
        return len(self.doc)

    def extend(
        self,
        doc: I64,
        kind: npt.NDArray[np.uint8],
        signatures: Signatures,
        values: U64,
        offsets: I64,
    ) -> None:
        """Append sketches (their sets as distinct values, `offsets` from 0)."""
        full = shingle_maps(values, offsets)
        size = np.diff(offsets)
        self.doc.extend(doc)
        self.kind.extend(kind)
        self.signatures.extend(signatures.T)
        self.size.extend(size)
        for words, maps, lost in zip(_LEVELS, self.maps, self.lost, strict=True):
            folded = np.bitwise_or.reduce(full.reshape(-1, words, full.shape[1]), axis=0)
            maps.extend(folded)
            lost.extend(size - _popcount(folded))
        self.set_offsets.extend(offsets[1:] + len(self.set_values))
        self.set_values.extend(values)

    def overlap_bound(self, rows: I64, query: I64, owner: I64, level: int) -> I64:
        """For pairs (rows[query[i]], owner[i]) of sketches, an upper bound on the shingles they
        share, from the maps of width `_LEVELS[level]`."""
        maps = self.maps[level].values
        shared = np.zeros(len(query), dtype=np.uint16)
        for word in range(len(maps)):
            column = maps[word]
            # The query side is a few thousand rows: gathered once, then read from the cache.
            shared += np.bitwise_count(column[rows][query] & column[owner])
        lost = self.lost[level].values
        overlap: I64 = shared + np.minimum(lost[rows][query], lost[owner])
        return overlap


def _popcount(maps: U64) -> I64:
    counts: I64 = np.bitwise_count(maps).sum(axis=0, dtype=np.int64)
    return counts


class DedupIndex:
    """Every sample deduplication has seen: ids, exact keys, MinHash sketches, shingles.

    In memory unless it has a store (a folder `path`, or `store`); `open` and `at` read a saved
    index, `save` writes what is new, `close` lets go of the store (for the ledger database:
    the lock that keeps another screen from deciding at the same time). Samples are
    numbered in the order they were added (their "doc"); a sample has one sketch per shingle
    kind it gets.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        store: SegmentStore | None = None,
        seal: HeadSeal | None = None,
    ) -> None:
        self.path = path
        self._store = store if store is not None or path is None else SegmentFolder(path)
        self._seal = seal
        self._head: Head | None = None
        self.unsigned = False
        """Whether the stored index came without a signed head (saved before heads were)."""
        self.params: dict[str, Any] | None = None
        self._ids: list[str] = []
        self._position: dict[str, int] = {}
        self._exact_keys: list[bytes] = []
        self._exact: dict[bytes, int] = {}
        self._doc_sketches = _Column(np.int64)
        self._doc_sketches.extend([0])
        self._sketches: _Sketches | None = None
        self._saved = (0, 0)
        self._shape: tuple[int, int] | None = None
        self._bands: BandIndex | None = None

    @classmethod
    def open(cls, path: Path) -> DedupIndex:
        """The index saved in folder `path`; empty if there is none yet (created on save).

        A damaged index (unreadable manifest, missing or altered segment) is an InputError.
        Opened so, its signed head is not checked, and it cannot be saved over a sealed one:
        `at(home, ledger=...)` opens a home's index sealed.
        """
        return cls(path)._load()

    @classmethod
    def at(
        cls,
        home: Home,
        *,
        db: str | None = None,
        on_wait: WaitNote | None = None,
        ledger: Ledger | None = None,
    ) -> DedupIndex:
        """The index of a ledger home: in the ledger database if it is PostgreSQL (shared by
        every machine that writes that ledger), else the folder `<home>/dedup/`.

        `db` overrides the home's ledger URL as `Home.db_url` does. The index (in the database
        or the folder) is locked from here until `save` has written it, or `close`: another
        screen waits for it (after a few seconds, `on_wait` gets one line saying who holds it),
        so two screens never decide at once. An unreachable database or a damaged index is a
        LedgerError.

        With `ledger` (open with the home's key to save), the index is sealed: it is used
        only if its signed head checks out (`synthguard.ledger.log.heads`; VerificationError
        if not), and each save signs a new head.
        """
        seal = None if ledger is None else _seal(ledger, home, home.root_key())
        store = _store_of(home, db, on_wait)
        path = store.path if isinstance(store, SegmentFolder) else None
        try:
            return cls(path, store=store, seal=seal)._load()
        except BaseException:
            store.close()
            raise

    @staticmethod
    def check(
        home: Home,
        ledger: Ledger,
        *,
        root_key: str | None,
        db: str | None = None,
    ) -> IndexCheck | None:
        """Check a home's index against its signed head as a screen does before deciding from
        it (every segment against its entry, the head against the ledger's keys as of the
        genesis key `root_key`, and against the head this home accepted last), without using
        or changing it: for `synthguard verify`. In the database it is read in one snapshot,
        without the lock, so a screen running meanwhile does not hold the check up. None: the
        home has no index yet.

        VerificationError: the index was changed without a key, or is damaged; LedgerError: its
        database cannot be reached.
        """
        store = _store_of(home, db, None, snapshot=True)
        try:
            params, parts, entries, envelope = store.load()
        except InputError as exc:
            # A screen stops on it as damaged; for verify it does not check out.
            raise VerificationError(str(exc)) from exc
        finally:
            store.close()
        seal = _seal(ledger, home, root_key)
        if params is None:
            # No index, which is fine only if this home never accepted one: removing it must
            # not pass where a screen refuses it.
            seal.open(None, head_state(None, []), store.where)
            return None
        head = seal.open(envelope, head_state(params, entries), store.where)
        return IndexCheck(
            where=store.where,
            samples=sum(len(ids) for ids, _, _ in parts),
            segments=len(parts),
            version=None if head is None else head.version,
            kept=seal.kept_version(),
        )

    def _load(self) -> DedupIndex:
        assert self._store is not None
        self.params, parts, entries, head = self._store.load()
        if self._seal is not None:
            self._head = self._seal.open(head, head_state(self.params, entries), self.where)
            self.unsigned = self._head is None and bool(entries)
            if self._head is not None:
                self._seal.keep(self._head)
        for part in parts:
            self._append(part)
        self._saved = (len(self._ids), self._sketch_count())
        return self

    def close(self) -> None:
        """Let go of the store: the database lock and connection (nothing for a folder).

        `save` does this too; call it (or use the index as a context manager) where a screen
        can end without saving. The index stays usable in memory.
        """
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> DedupIndex:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._ids)

    def bind(self, params: Mapping[str, Any]) -> None:
        """Adopt a guard's sketch parameters, or raise InputError if the index has others."""
        wanted: dict[str, Any] = json.loads(json.dumps(dict(params)))
        if self.params is None:
            self.params = wanted
        elif self.params != wanted:
            raise params_mismatch(self.where, self.params, wanted)

    def position(self, sample_id: str) -> int | None:
        """The number of the sample with this id, if it is indexed."""
        return self._position.get(sample_id)

    def exact(self, key: bytes) -> int | None:
        """The number of the first indexed sample with this exact-duplicate key, if any."""
        return self._exact.get(key)

    def exact_key(self, doc: int) -> bytes:
        """The exact-duplicate key of sample number `doc`."""
        return self._exact_keys[doc]

    def doc_id(self, doc: int) -> str:
        """The id of sample number `doc`."""
        return self._ids[doc]

    def use_bands(self, bands: int, rows: int) -> None:
        """Look sketches up by band keys of this shape (rebuilt from the signatures on change)."""
        if self._shape != (bands, rows):
            self._shape = (bands, rows)
            self._bands = None

    def add(self, ids: Sequence[str], exact_keys: Sequence[bytes], arrays: Arrays) -> None:
        """Index new samples: `arrays` is a segment holding their sketches."""
        if not ids:
            return
        first = self._sketch_count()
        self._append((list(ids), list(exact_keys), arrays))
        if self._bands is not None and self._sketches is not None:
            rows = np.arange(first, len(self._sketches), dtype=np.int64)
            self._bands.add(self._keys(rows), rows)

    def matches(self, docs: Sequence[int], threshold: float) -> dict[int, tuple[int, float]]:
        """For each of the samples numbered `docs` that has one: an earlier sample whose sketch
        of the same kind has Jaccard >= `threshold` with one of its own, as (number, Jaccard).

        Candidates are the LSH pairs; their shingle-map bound drops those that cannot reach
        the threshold, and the rest are checked by exact Jaccard, highest bound first, until
        one is confirmed.
        """
        sketches = self._sketches
        if not docs or sketches is None or len(sketches) == 0:
            return {}
        wanted = np.asarray(docs, dtype=np.int64)
        bounds = self._doc_sketches.values
        starts, counts = bounds[wanted], bounds[wanted + 1] - bounds[wanted]
        rows = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(
            int(counts.sum()), dtype=np.int64
        )
        found: dict[int, tuple[int, float]] = {}
        sets: dict[int, frozenset[int]] = {}
        keys = self._keys(rows)
        # Passes end between samples (a sample's sketches are confirmed together, in the order
        # of their bounds), each with about `_PAIR_BUDGET` candidate pairs at most, unless one
        # sample alone has more.
        hits = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(self._band_index().hits(keys), out=hits[1:])
        ends = np.cumsum(counts)
        per_doc = hits[ends] - hits[ends - counts]
        lo = end = taken = 0
        for doc_rows, pairs in zip(counts.tolist(), per_doc.tolist(), strict=True):
            if taken and taken + pairs > _PAIR_BUDGET:
                self._confirm(rows[lo:end], keys[lo:end], threshold, found, sets)
                lo, taken = end, 0
            end += doc_rows
            taken += pairs
        if end > lo:
            self._confirm(rows[lo:end], keys[lo:end], threshold, found, sets)
        return found

    def save(self) -> None:
        """Write the samples added since the last save (an in-memory index has nothing to do)."""
        if self._store is None or self.params is None:
            return
        docs, sketches = self._saved
        new = self._arrays(docs, sketches) if docs < len(self._ids) else None
        seal, signed = self._seal, []
        sign = None
        if seal is not None:
            loaded = 0 if self._head is None else self._head.version

            def sign(
                params: Mapping[str, Any], entries: list[dict[str, Any]], previous: bytes | None
            ) -> bytes:
                envelope, head = seal.sign(head_state(params, entries), loaded, previous)
                signed.append(head)
                return envelope

        self._store.save(self.params, new, sign)
        self._saved = (len(self._ids), self._sketch_count())
        if seal is not None and signed:
            self._head, self.unsigned = signed[-1], False
            seal.keep(signed[-1])

    @property
    def where(self) -> str:
        """Where the index is kept, for messages (" at PATH"; "" in memory)."""
        return self._store.where if self._store is not None else ""

    def _sketch_count(self) -> int:
        return 0 if self._sketches is None else len(self._sketches)

    def _append(self, part: Part) -> None:
        ids, exact_keys, arrays = part
        base = len(self._ids)
        self._ids.extend(ids)
        self._exact_keys.extend(exact_keys)
        for i, (sample_id, key) in enumerate(zip(ids, exact_keys, strict=True)):
            self._position.setdefault(sample_id, base + i)
            self._exact.setdefault(key, base + i)
        # A sample's sketches sit next to each other, so its rows are one range.
        order = np.argsort(arrays["doc"], kind="stable")
        doc = arrays["doc"][order]
        first = self._sketch_count()
        per_doc = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(np.bincount(doc, minlength=len(ids)), out=per_doc[1:])
        self._doc_sketches.extend(first + per_doc[1:])
        if len(doc) == 0:
            return
        if self._sketches is None:
            signatures = arrays["signatures"]
            self._sketches = _Sketches(signatures.shape[1], signatures.dtype)
        values, offsets = unique_sets(arrays["shingles"], arrays["offsets"], order)
        self._sketches.extend(
            doc + base, arrays["kind"][order], arrays["signatures"][order], values, offsets
        )

    def _keys(self, rows: I64) -> U64:
        assert self._sketches is not None
        assert self._shape is not None
        signatures = self._sketches.signatures.values[:, rows].T
        return _band_keys(signatures, self._sketches.kind.values[rows], self._shape)

    def _band_index(self) -> BandIndex:
        if self._shape is None:
            raise ValueError("call use_bands() before looking sketches up")
        if self._bands is None:
            bands = BandIndex()
            total = self._sketch_count()
            # In slices: the keys of a large index at once would need gigabytes of temporaries.
            for lo in range(0, total, _BUILD_CHUNK):
                rows = np.arange(lo, min(lo + _BUILD_CHUNK, total), dtype=np.int64)
                bands.add(self._keys(rows), rows)
            self._bands = bands
        return self._bands

    def _confirm(
        self,
        rows: I64,
        keys: U64,
        threshold: float,
        found: dict[int, tuple[int, float]],
        sets: dict[int, frozenset[int]],
    ) -> None:
        """Find the matches of sketch rows `rows` (see `matches`) and record them in `found`."""
        sketches = self._sketches
        assert sketches is not None
        query, owner = self._band_index().query(keys)
        doc = sketches.doc.values
        size = sketches.size.values
        query_doc = doc[rows]
        # Sketch rows follow sample numbers, so the earlier samples' sketches are the rows
        # before the query's sample's first one.
        earlier = owner < self._doc_sketches.values[query_doc][query]
        query, owner = query[earlier], owner[earlier]
        mine_size = size[rows]
        # J >= t exactly when the overlap is at least t / (1 + t) of |A| + |B|; the slack only
        # keeps more pairs, so float rounding never drops one whose exact Jaccard reaches t.
        need = threshold / (1.0 + threshold) * (1.0 - 1e-9) * (mine_size[query] + size[owner])
        overlap = np.zeros(0, dtype=np.int64)
        for level in range(len(_LEVELS)):
            overlap = sketches.overlap_bound(rows, query, owner, level)
            close = overlap >= need
            query, owner, overlap, need = query[close], owner[close], overlap[close], need[close]
        # A pair sharing several bands came once per band: keep one.
        _, once = np.unique(query * len(sketches) + owner, return_index=True)
        query, owner, overlap = query[once], owner[once], overlap[once]
        bound = overlap / (mine_size[query] + size[owner] - overlap)
        ranked = np.lexsort((doc[owner], -bound, query_doc[query]))
        offsets = sketches.set_offsets.values
        values = sketches.set_values.values

        def shingle_set(sketch: int) -> frozenset[int]:
            cached = sets.get(sketch)
            if cached is None:
                part = values[int(offsets[sketch]) : int(offsets[sketch + 1])]
                cached = sets[sketch] = frozenset(part.tolist())
            return cached

        for q, o in zip(query[ranked].tolist(), owner[ranked].tolist(), strict=True):
            at = int(query_doc[q])
            if at in found:
                continue
            mine, other = shingle_set(int(rows[q])), shingle_set(o)
            shared = len(mine & other)
            j = shared / (len(mine) + len(other) - shared)
            if j >= threshold:
                found[at] = (int(doc[o]), j)

    def _arrays(self, first_doc: int, first_sketch: int) -> Arrays:
        """The segment of the samples from `first_doc` and sketches from `first_sketch` on."""
        assert self.params is not None
        arrays = empty_segment(self.params)
        sketches = self._sketches
        if sketches is not None and first_sketch < len(sketches):
            offsets = sketches.set_offsets.values[first_sketch:]
            arrays.update(
                doc=sketches.doc.values[first_sketch:] - first_doc,
                kind=sketches.kind.values[first_sketch:].copy(),
                signatures=np.ascontiguousarray(sketches.signatures.values[:, first_sketch:].T),
                offsets=offsets - offsets[0],
                shingles=sketches.set_values.values[int(offsets[0]) :].copy(),
            )
        arrays["ids"] = id_rows(self._ids[first_doc:])
        arrays["exact"] = key_rows(self._exact_keys[first_doc:])
        return arrays
