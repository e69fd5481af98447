"""Exact and near-duplicate screening against every sample seen before.

Exact: two samples whose normalised texts (`normalise`) are equal. Near: Jaccard similarity of
their shingle sets (`shingles`) at least `threshold`. A sample is a duplicate when an earlier
sample is its exact or near copy, whether that earlier one was kept or was itself quarantined
(a copy of a copy is still a copy); the first occurrence stays. "Earlier" is the order in which
samples first reached the index: a sample already in the index from an earlier run (the same
content, so the same id) is the same sample screened again, judged against what came before its
first screening, never against itself; a different sample with the same normalised text is an
exact copy.

The default threshold, 0.65, comes from the requirement that a copy with up to 5 % of its words
edited is caught: k = eL edits touch at most 3k of the S = L - 2 word 3-grams, so
J >= (S - 3k) / (S + 3k): 0.71 at L = 20 (one edit), 0.74 for long texts. Phrases repeated
within a text lower it a little (the 1st percentile over 5 %-edited paragraphs of Python's
reference manual: `benchmarks/dedup_bench.py --sweep`). Under 24 words 5 % is at most one word,
and one edited word leaves a text of L >= 5 distinct words at J >= (L - 1) / (L + 1) = 0.67 of
its word set (`shingles`). Unrelated texts sharing a 20-word preamble have J = 18 / (18 + 2C)
with C other words: under 0.65 from C = 5 on.

Finding the near copies: MinHash LSH (`minhash`), 32 bands of 4 rows of 128 permutations, makes
every pair sharing a band a candidate (probability 0.998 at J = 0.65, 0.9998 at 0.7), and exact
Jaccard decides. Template data (thousands of rows "Is 27 a prime number? ...") has hundreds of
candidates per row at J 0.4-0.6, so the decision must be cheap. Each sketch keeps a 1,024-bit
map of its shingles (bit = top 10 bits of the shingle hash), a 128-bit one folded from it, and
for each the number of its shingles that share a bit with another of its own, `lost`. The
shingles two sets share set bits in both maps, and only a collision within a set can hide one
of them, so |A & B| <= popcount(mA & mB) + min(lostA, lostB): an upper bound on J, computed for
all candidates at once (the 128-bit maps first, the 1,024-bit ones for what is left), that
drops a pair only when its Jaccard is below the threshold. The survivors are checked by exact
Jaccard in the order of their bound, and a sample's first confirmed match ends its search: a
duplicate's verdict names that match.

The index lives in a folder (by default `<home>/dedup/`): `manifest.json` names the sketch
parameters and the segment files, each an `.npz` of one save's new samples (ids, exact digests,
signatures, shingle hashes) with its SHA-256 in the manifest. A save writes a new segment and
then a new manifest, each to a temporary file that is synced and renamed, under a file lock, so
a crash leaves the previous index intact and concurrent saves do not lose each other's segments.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from synthguard.guards.dedup.minhash import (
    BandIndex,
    MinHasher,
    Scheme,
    Signatures,
    band_keys,
    lsh_bands,
)
from synthguard.guards.dedup.normalise import NORMALISATION_VERSION, normalised_words
from synthguard.guards.dedup.shingles import (
    KINDS,
    SHINGLE_HASH,
    ShingleBatch,
    ShingleParams,
    Shingler,
    shingle_hash,
)
from synthguard.guards.verdict import GuardInfo, Verdict
from synthguard.ledger.home import Home
from synthguard.provenance.canonical import DIGEST_PREFIX
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import Sample, sample_text

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

GUARD_NAME = "minhash-dedup"
GUARD_VERSION = "2"
DEFAULT_THRESHOLD = 0.65
DEFAULT_NUM_PERM = 128
DEFAULT_SEED = 1
DEFAULT_SCHEME: Scheme = "affine32"
MAX_LSH_MISS = 2e-3
"""The largest probability that a pair exactly at the threshold is not even a candidate."""
BITMAP_BITS = 1024
"""Bits of a sketch's shingle map (a power of two): wider is a tighter bound, and costs more."""

INDEX_DIR = "dedup"
INDEX_FORMAT = "synthguard-dedup-index/1"
_MANIFEST = "manifest.json"
_LOCK = "lock"
_COMPACT_AT = 16
"""Segments beyond which a save merges them all into one."""
_SEGMENT_NAME = re.compile(r"segment-\d{6,}\.npz")
_SEGMENT_ARRAYS = ("ids", "exact", "doc", "kind", "signatures", "offsets", "shingles")
_KIND_SALTS = np.array([shingle_hash((), kind) for kind in KINDS], dtype=np.uint64)
_WORDS = BITMAP_BITS // 64
_BIT_SHIFT = np.uint64(64 - (BITMAP_BITS.bit_length() - 1))
_LEVELS = (2, _WORDS)
"""Map widths in 64-bit words, cheapest first: each narrower map folds the full one (bit
b & (64 w - 1)), and each cut only sees the pairs that the one before let through."""
_QUERY_CHUNK = 2048
"""Query sketches whose candidates are gathered at once (bounds the memory of one pass)."""
_BUILD_CHUNK = 1 << 16
"""Sketches whose band keys are computed at once when the band index is built."""


def index_path(home: Home) -> Path:
    """Where the dedup index of a ledger home lives."""
    return home.path / INDEX_DIR


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


def jaccard(a: U64, b: U64) -> float:
    """Jaccard similarity of two sorted arrays of distinct values (1.0 for two empty ones)."""
    shared = np.intersect1d(a, b, assume_unique=True).size
    union = a.size + b.size - shared
    return shared / union if union else 1.0


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
    by = np.lexsort((hashes, owner))
    values, owner = hashes[by], owner[by]
    distinct = np.ones(len(values), dtype=bool)
    distinct[1:] = (values[1:] != values[:-1]) | (owner[1:] != owner[:-1])
    values, owner = values[distinct], owner[distinct]
    out = np.zeros(sets + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=sets), out=out[1:])
    return values, out


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


Arrays = dict[str, np.ndarray]
"""One segment: ids and exact keys (docs, 32) uint8; per sketch its doc (numbered within the
segment), kind, signature and shingle hashes (`offsets` into `shingles`)."""


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

    In memory unless it has a path; `open` reads a saved index, `save` writes what is new.
    Samples are numbered in the order they were added (their "doc"); a sample has one sketch
    per shingle kind it gets.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
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
        """
        index = cls(path)
        if not (path / _MANIFEST).exists():
            return index
        with _locked(path, shared=True):
            manifest = _read_manifest(path)
            if manifest is not None:
                index.params = manifest["params"]
                for segment in manifest["segments"]:
                    index._append(_read_segment(path, segment, manifest["params"]))
        index._saved = (len(index._ids), index._sketch_count())
        return index

    @classmethod
    def at(cls, home: Home) -> DedupIndex:
        """The index of a ledger home, `<home>/dedup/`."""
        return cls.open(index_path(home))

    def __len__(self) -> int:
        return len(self._ids)

    def bind(self, params: Mapping[str, Any]) -> None:
        """Adopt a guard's sketch parameters, or raise InputError if the index has others."""
        wanted: dict[str, Any] = json.loads(json.dumps(dict(params)))
        if self.params is None:
            self.params = wanted
        elif self.params != wanted:
            raise InputError(_mismatch(self.path, self.params, wanted))

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
        for lo in range(0, len(rows), _QUERY_CHUNK):
            self._confirm(rows[lo : lo + _QUERY_CHUNK], threshold, found, sets)
        return found

    def save(self) -> None:
        """Write the samples added since the last save (an in-memory index has nothing to do)."""
        if self.path is None or self.params is None:
            return
        docs, sketches = self._saved
        if docs == len(self._ids) and (self.path / _MANIFEST).exists():
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the dedup index at {self.path}: {exc}") from exc
        with _locked(self.path, shared=False):
            manifest = _read_manifest(self.path) or {
                "format": INDEX_FORMAT,
                "params": self.params,
                "segments": [],
            }
            if manifest["params"] != self.params:
                raise InputError(_mismatch(self.path, manifest["params"], self.params))
            segments: list[dict[str, Any]] = manifest["segments"]
            if docs < len(self._ids):
                segments.append(_write_segment(self.path, segments, self._arrays(docs, sketches)))
            obsolete: list[str] = []
            if len(segments) > _COMPACT_AT:
                parts = [_read_segment(self.path, s, self.params) for s in segments]
                obsolete = [s["file"] for s in segments]
                merged = _concat([arrays for _, _, arrays in parts])
                segments[:] = [_write_segment(self.path, segments, merged)]
            _write_atomic(self.path / _MANIFEST, _manifest_bytes(manifest))
            for name in obsolete:
                (self.path / name).unlink(missing_ok=True)
        self._saved = (len(self._ids), self._sketch_count())

    def _sketch_count(self) -> int:
        return 0 if self._sketches is None else len(self._sketches)

    def _append(self, part: tuple[list[str], list[bytes], Arrays]) -> None:
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
        threshold: float,
        found: dict[int, tuple[int, float]],
        sets: dict[int, frozenset[int]],
    ) -> None:
        """Find the matches of sketch rows `rows` (see `matches`) and record them in `found`."""
        sketches = self._sketches
        assert sketches is not None
        query, owner = self._band_index().query(self._keys(rows))
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
        arrays = _empty_sketches(self.params)
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
        arrays["ids"] = _raw(_id_bytes(i) for i in self._ids[first_doc:])
        arrays["exact"] = _raw(self._exact_keys[first_doc:])
        return arrays


class DedupGuard:
    """Exact, then near-duplicate screening; the first occurrence stays (family `dedup`).

    Rules `exact` and `near`. A failing verdict's detail is `{"duplicate_of": <sample id>,
    "jaccard": j}`, and its `position` says which sample it is (identical content has one id,
    so the id alone cannot tell a copy from its original). A pass over a dataset ends with
    `finish`: samples indexed before it are earlier runs, and one of them screened again is
    judged as it was the first time, not as a copy of itself.
    """

    def __init__(
        self,
        index: DedupIndex | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        num_perm: int = DEFAULT_NUM_PERM,
        seed: int = DEFAULT_SEED,
        scheme: Scheme = DEFAULT_SCHEME,
        shingles: ShingleParams | None = None,
        bands: tuple[int, int] | None = None,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise InputError(f"the dedup threshold must be in (0, 1], not {threshold}")
        if num_perm < 2:
            raise InputError(f"num_perm must be at least 2, not {num_perm}")
        try:
            self._hasher = MinHasher(num_perm, seed, scheme)
            self._shingler = Shingler(shingles)
        except ValueError as exc:
            raise InputError(f"dedup parameters: {exc}") from exc
        self.threshold = threshold
        self.shape = bands or lsh_bands(num_perm, threshold, MAX_LSH_MISS)
        if min(self.shape) < 1 or self.shape[0] * self.shape[1] > num_perm:
            raise InputError(
                f"{self.shape[0]} bands of {self.shape[1]} rows need more permutations"
            )
        params = sketch_params(self._shingler.params, num_perm=num_perm, seed=seed, scheme=scheme)
        self.index = index if index is not None else DedupIndex()
        self.index.bind(params)
        self.index.use_bands(*self.shape)
        config = {**params, "threshold": threshold, "bands": self.shape[0], "rows": self.shape[1]}
        self.info = GuardInfo.of("dedup", GUARD_NAME, GUARD_VERSION, config)
        self._checked = 0
        self._run_start = len(self.index)
        self._screened_again: set[str] = set()

    def check(self, samples: Sequence[Sample]) -> list[Verdict]:
        """Judge a batch against every sample seen before it; index the new ones."""
        if not samples:
            return []
        index = self.index
        verdicts: list[Verdict] = []
        fresh: list[int] = []
        fresh_words: list[list[str]] = []
        fresh_keys: list[bytes] = []
        fresh_ids: set[str] = set()
        first_with: dict[bytes, int] = {}
        asked: dict[int, int] = {}  # sample number -> position in the batch, for near copies
        for i, sample in enumerate(samples):
            doc = index.position(sample.id)
            seen = sample.id in fresh_ids or sample.id in self._screened_again
            if seen or (doc is not None and doc >= self._run_start):
                # The same content earlier in this pass: a copy of that row.
                verdicts.append(self._verdict(sample, i, "exact", sample.id, 1.0))
                continue
            if doc is not None:
                # Indexed by an earlier run: this sample again, judged as it was then.
                self._screened_again.add(sample.id)
                original = index.exact(index.exact_key(doc))
                if original is not None and original < doc:
                    verdicts.append(self._verdict(sample, i, "exact", index.doc_id(original), 1.0))
                else:
                    asked[doc] = i
                continue
            text = sample_text(sample)
            words = normalised_words(text)
            key = _exact_key(words, text)
            original = index.exact(key)
            if original is not None:
                verdicts.append(self._verdict(sample, i, "exact", index.doc_id(original), 1.0))
                continue
            if key in first_with:
                verdicts.append(self._verdict(sample, i, "exact", samples[first_with[key]].id, 1.0))
                continue
            first_with[key] = i
            asked[len(index) + len(fresh)] = i
            fresh.append(i)
            fresh_ids.add(sample.id)
            fresh_words.append(words)
            fresh_keys.append(key)
        if fresh:
            batch = self._shingler.shingle(fresh_words)
            signatures = self._hasher.signatures(batch.hashes, batch.offsets)
            index.add([samples[i].id for i in fresh], fresh_keys, _segment(batch, signatures))
        for doc, (original, j) in index.matches(list(asked), self.threshold).items():
            i = asked[doc]
            verdicts.append(self._verdict(samples[i], i, "near", index.doc_id(original), j))
        verdicts.sort(key=lambda verdict: verdict.position or 0)
        self._checked += len(samples)
        return verdicts

    def finish(self) -> list[Verdict]:
        """Nothing waits for the end: each copy is judged when it arrives.

        Positions count from 0 again after `finish`, for the next pass over another dataset,
        and what this pass indexed counts as an earlier run from then on.
        """
        self._checked = 0
        self._run_start = len(self.index)
        self._screened_again.clear()
        return []

    def save(self) -> None:
        """Persist the index (nothing to do for an in-memory one)."""
        self.index.save()

    def _verdict(
        self, sample: Sample, position: int, rule: str, original: str, j: float
    ) -> Verdict:
        return Verdict(
            sample_id=sample.id,
            guard=self.info,
            rule=rule,
            passed=False,
            score=j,
            threshold=None if rule == "exact" else self.threshold,
            detail={"duplicate_of": original, "jaccard": round(j, 6)},
            position=self._checked + position,
        )


def _exact_key(words: list[str], text: str) -> bytes:
    if words:
        return hashlib.sha256(" ".join(words).encode("utf-8")).digest()
    # Nothing survives normalisation (only punctuation or invisibles): only the same raw text
    # is the same sample, or every such sample would be a copy of the first.
    return hashlib.sha256(b"\x00raw\x00" + text.encode("utf-8")).digest()


def _segment(batch: ShingleBatch, signatures: Signatures) -> Arrays:
    """A batch's sketches as segment arrays (ids and exact keys are added by the index)."""
    return {
        "ids": _EMPTY_KEYS,
        "exact": _EMPTY_KEYS,
        "doc": batch.doc,
        "kind": batch.kind,
        "signatures": signatures,
        "offsets": batch.offsets,
        "shingles": batch.hashes,
    }


_EMPTY_KEYS = np.zeros((0, 32), dtype=np.uint8)


def _empty_sketches(params: Mapping[str, Any]) -> Arrays:
    dtype = np.uint32 if params["scheme"] == "affine32" else np.uint64
    return {
        "ids": _EMPTY_KEYS,
        "exact": _EMPTY_KEYS,
        "doc": np.zeros(0, dtype=np.int64),
        "kind": np.zeros(0, dtype=np.uint8),
        "signatures": np.zeros((0, int(params["num_perm"])), dtype=dtype),
        "offsets": np.zeros(1, dtype=np.int64),
        "shingles": np.zeros(0, dtype=np.uint64),
    }


def _concat(parts: Sequence[Arrays]) -> Arrays:
    """Segments one after the other, as one."""
    doc_base = np.cumsum([0] + [len(p["ids"]) for p in parts])
    shingle_base = np.cumsum([0] + [len(p["shingles"]) for p in parts])
    return {
        "ids": np.concatenate([p["ids"] for p in parts]),
        "exact": np.concatenate([p["exact"] for p in parts]),
        "doc": np.concatenate([p["doc"] + doc_base[i] for i, p in enumerate(parts)]),
        "kind": np.concatenate([p["kind"] for p in parts]),
        "signatures": np.concatenate([p["signatures"] for p in parts]),
        "offsets": np.concatenate(
            [np.zeros(1, dtype=np.int64)]
            + [p["offsets"][1:] + shingle_base[i] for i, p in enumerate(parts)]
        ),
        "shingles": np.concatenate([p["shingles"] for p in parts]),
    }


def _id_bytes(sample_id: str) -> bytes:
    return bytes.fromhex(sample_id.removeprefix(DIGEST_PREFIX))


def _raw(keys: Iterable[bytes]) -> npt.NDArray[np.uint8]:
    data = b"".join(keys)
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, 32).copy()


# ---- the folder: manifest, segments, lock, atomic writes ----


@contextmanager
def _locked(path: Path, *, shared: bool) -> Iterator[None]:
    try:
        handle = open(path / _LOCK, "a+b")  # noqa: SIM115 -- held for the whole block
    except OSError as exc:
        if shared:  # no lock file can be made here: a read-only folder, read it as it is
            yield
            return
        raise InputError(f"cannot lock the dedup index at {path}: {exc.strerror}") from exc
    with handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield


def _damaged(path: Path, what: str) -> InputError:
    return InputError(
        f"the dedup index at {path} is damaged: {what} (restore it from a backup, or move the "
        "folder away to start a new index)"
    )


def _mismatch(path: Path | None, stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> str:
    differ = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
    told = ", ".join(f"{k}={stored.get(k)!r} (asked {wanted.get(k)!r})" for k in differ)
    where = f" at {path}" if path else ""
    return (
        f"the dedup index{where} was built with other parameters: {told}; use the same "
        "parameters or a new index folder"
    )


def _read_manifest(path: Path) -> dict[str, Any] | None:
    file = path / _MANIFEST
    try:
        manifest = json.loads(file.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise _damaged(path, f"{_MANIFEST} is not readable JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != INDEX_FORMAT:
        raise _damaged(path, f"{_MANIFEST} is not a {INDEX_FORMAT} manifest")
    params, segments = manifest.get("params"), manifest.get("segments")
    if not isinstance(params, dict) or not isinstance(segments, list):
        raise _damaged(path, f"{_MANIFEST} lacks its params or segments")
    for segment in segments:
        if not (
            isinstance(segment, dict)
            and isinstance(segment.get("file"), str)
            and _SEGMENT_NAME.fullmatch(segment["file"])
            and isinstance(segment.get("sha256"), str)
            and all(isinstance(segment.get(k), int) for k in ("docs", "sketches"))
        ):
            raise _damaged(path, f"{_MANIFEST} lists a malformed segment {segment!r}")
    try:
        num_perm = int(params["num_perm"])
        if num_perm < 1 or params["scheme"] not in ("affine32", "affine64"):
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise _damaged(path, f"{_MANIFEST} has malformed params") from None
    return manifest


def _manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _next_name(segments: Sequence[Mapping[str, Any]]) -> str:
    taken = [int(s["file"][len("segment-") : -len(".npz")]) for s in segments]
    return f"segment-{max(taken, default=0) + 1:06d}.npz"


def _write_segment(
    path: Path, segments: Sequence[Mapping[str, Any]], arrays: Arrays
) -> dict[str, Any]:
    buffer = io.BytesIO()
    save: Callable[..., None] = np.savez  # its stub types **arrays as its keyword flags
    save(buffer, **arrays)
    data = buffer.getvalue()
    name = _next_name(segments)
    _write_atomic(path / name, data)
    return {
        "file": name,
        "docs": len(arrays["ids"]),
        "sketches": len(arrays["doc"]),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def _read_segment(
    path: Path, segment: Mapping[str, Any], params: Mapping[str, Any]
) -> tuple[list[str], list[bytes], Arrays]:
    name = segment["file"]
    try:
        data = (path / name).read_bytes()
    except OSError as exc:
        raise _damaged(path, f"segment {name} cannot be read ({exc.strerror})") from exc
    if hashlib.sha256(data).hexdigest() != segment["sha256"]:
        raise _damaged(path, f"segment {name} does not match its SHA-256 in {_MANIFEST}")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in _SEGMENT_ARRAYS}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise _damaged(path, f"segment {name} is not a segment file ({exc})") from exc
    problem = _segment_problem(arrays, segment, params)
    if problem:
        raise _damaged(path, f"segment {name} {problem}")
    ids = [DIGEST_PREFIX + row.tobytes().hex() for row in arrays["ids"]]
    exact = [row.tobytes() for row in arrays["exact"]]
    return ids, exact, arrays


def _segment_problem(
    arrays: Arrays, segment: Mapping[str, Any], params: Mapping[str, Any]
) -> str | None:
    docs, sketches = segment["docs"], segment["sketches"]
    dtype = np.uint32 if params["scheme"] == "affine32" else np.uint64
    expected = {
        "ids": (np.uint8, (docs, 32)),
        "exact": (np.uint8, (docs, 32)),
        "doc": (np.int64, (sketches,)),
        "kind": (np.uint8, (sketches,)),
        "signatures": (dtype, (sketches, int(params["num_perm"]))),
        "offsets": (np.int64, (sketches + 1,)),
    }
    for key, (kind, shape) in expected.items():
        if arrays[key].dtype != kind or arrays[key].shape != shape:
            return f"has {key} of {arrays[key].dtype} {arrays[key].shape}, not {shape}"
    shingles, offsets, doc = arrays["shingles"], arrays["offsets"], arrays["doc"]
    if shingles.dtype != np.uint64 or shingles.ndim != 1:
        return "has malformed shingles"
    if offsets[0] != 0 or offsets[-1] != len(shingles) or np.any(np.diff(offsets) < 0):
        return "has offsets that do not cover its shingles"
    if sketches and (doc.min() < 0 or doc.max() >= docs or arrays["kind"].max() >= len(KINDS)):
        return "has sketches of unknown samples or kinds"
    return None


def _write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that it is either the old one or the new one, also after a crash."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc.strerror}") from exc
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
