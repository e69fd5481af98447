"""MinHash signatures for many sets at once, bit-identical to datasketch, and their LSH bands.

`MinHasher` draws its permutations as datasketch's `MinHash(num_perm, seed, scheme)` does (the
tests compare them, and the signatures, with datasketch's own) and applies them as datasketch's
`update_batch` does (affine schemes: fmix pre-mix, then
a * h + b mod 2^w, minimum per permutation), but over every set of a batch in one pass of numpy
on a (permutation x shingle) block, which is where datasketch spends a Python call per set.

LSH (the maths of datasketch's `MinHashLSH`): b bands of r rows; two sets of Jaccard s share at
least one band with probability 1 - (1 - s^r)^b. `lsh_bands` picks the largest r whose miss
probability at the decision threshold is small enough, with as many bands as fit: for 128
permutations and threshold 0.65 that is 32 bands of 4 (miss 1.9e-3 at 0.65, 1.5e-4 at 0.7,
the 50 % point at s = 0.38), so candidates are gathered well below the threshold and each is
then confirmed by exact Jaccard. `BandIndex` keeps the band keys in sorted numpy runs (16 bytes
per band per set) and answers a whole batch of queries with searchsorted, where datasketch's
dict storage holds a Python set and a bytes key per band per set.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from synthguard.guards.dedup.shingles import fmix64

Scheme = Literal["affine32", "affine64"]
SCHEMES: Final[tuple[Scheme, Scheme]] = ("affine32", "affine64")
Signatures = npt.NDArray[np.unsignedinteger]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

_CHUNK = 8192
"""Shingles per block: the (permutations x shingles) block stays in the L2/L3 cache."""

_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))


def _fmix32(h: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    s1, m1, s2, m2 = _FMIX32
    h = h ^ (h >> s1)
    h *= m1
    h ^= h >> s2
    h *= m2
    h ^= h >> s1
    return h


def _permutations(
    num_perm: int, seed: int, dtype: type[np.unsignedinteger]
) -> tuple[Signatures, Signatures]:
    """datasketch 2's affine permutations h -> a * h + b (mod 2^w, w the dtype's width):
    from `numpy.random.RandomState(seed)`, first every odd multiplier a, then every offset b.
    Drawn here, not taken from a datasketch `MinHash`: importing datasketch imports scipy, half
    a second of every screen's start-up."""
    width = np.iinfo(dtype).bits
    draw = np.random.RandomState(seed)
    a = draw.randint(0, 1 << (width - 1), num_perm, dtype=dtype) * dtype(2) + dtype(1)
    b = draw.randint(0, 1 << width, num_perm, dtype=dtype)
    return a, b


class MinHasher:
    """Signatures equal to datasketch's `MinHash(num_perm, seed, scheme=...).hashvalues`."""

    def __init__(self, num_perm: int = 128, seed: int = 1, scheme: Scheme = "affine32") -> None:
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}, not {scheme!r}")
        if num_perm < 1:
            raise ValueError("num_perm must be positive")
        self.num_perm = num_perm
        self.seed = seed
        self.scheme = scheme
        self.dtype: type[np.unsignedinteger] = np.uint32 if scheme == "affine32" else np.uint64
        a, b = _permutations(num_perm, seed, self.dtype)
        # (permutations, 1) columns: a block is (permutations, shingles), so the minimum over a
        # set's shingles runs along contiguous rows (reduceat along axis 0 is ~10x slower).
        self._a = np.ascontiguousarray(a, dtype=self.dtype).reshape(-1, 1)
        self._b = np.ascontiguousarray(b, dtype=self.dtype).reshape(-1, 1)
        self.empty_value = np.iinfo(self.dtype).max

    def input_hashes(self, hashes: U64) -> Signatures:
        """The scheme's input hash of 64-bit shingle hashes: the low 32 bits for affine32."""
        if self.scheme == "affine32":
            return hashes.astype(np.uint32)
        return hashes

    def signatures(self, hashes: U64, offsets: I64) -> Signatures:
        """One signature per set; set i is `hashes[offsets[i]:offsets[i + 1]]` (64-bit hashes).

        An empty set gets datasketch's empty signature (every value the scheme's maximum).
        """
        sets = len(offsets) - 1
        result = np.full((self.num_perm, sets), self.empty_value, dtype=self.dtype)
        counts = np.diff(offsets)
        nonempty = np.flatnonzero(counts > 0)
        if len(nonempty) == 0:
            return np.ascontiguousarray(result.T)
        if self.scheme == "affine32":
            mixed: Signatures = _fmix32(self.input_hashes(hashes))
        else:
            mixed = fmix64(hashes)
        starts = offsets[nonempty]
        end = int(offsets[-1])
        block = np.empty((self.num_perm, min(_CHUNK, end)), dtype=self.dtype)
        lo = int(starts[0])
        while lo < end:
            hi = min(lo + _CHUNK, end)
            # The sets overlapping [lo, hi): the first may have begun in the block before.
            first = int(np.searchsorted(starts, lo, side="right")) - 1
            last = int(np.searchsorted(starts, hi, side="left"))
            local = starts[first:last] - lo
            local[0] = 0
            part = block[:, : hi - lo]
            np.multiply(self._a, mixed[lo:hi], out=part)
            np.add(part, self._b, out=part)
            minima = np.minimum.reduceat(part, local, axis=1)
            columns = nonempty[first:last]
            result[:, columns] = np.minimum(result[:, columns], minima)
            lo = hi
        return np.ascontiguousarray(result.T)


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """The probability that two sets of Jaccard `similarity` share at least one band."""
    return 1.0 - (1.0 - similarity**rows) ** bands


def lsh_bands(num_perm: int, threshold: float, max_miss: float = 1e-3) -> tuple[int, int]:
    """(bands, rows): the largest band size whose miss probability at `threshold` is at most
    `max_miss`, with as many bands as the permutations allow."""
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if 1.0 - candidate_probability(threshold, bands, rows) <= max_miss:
            return bands, rows
    return num_perm, 1


def band_keys(signatures: Signatures, salts: U64, bands: int, rows: int) -> U64:
    """A 64-bit key per band per signature, (sets, bands); `salts` (per set) separates domains.

    Two sets get the same key in band j when their r values there are equal (and otherwise only
    by a 2^-64 accident, which adds a candidate that exact Jaccard then rejects).
    """
    sets = len(signatures)
    values = signatures[:, : bands * rows].reshape(sets, bands, rows).astype(np.uint64)
    band_salt = fmix64(np.arange(1, bands + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    keys = fmix64(salts.reshape(-1, 1) ^ band_salt.reshape(1, -1))
    for row in range(rows):
        keys = fmix64(keys ^ values[:, :, row])
    return keys


class BandIndex:
    """Band keys of indexed sets, answering "which sets share a band with these?" in batches.

    The keys live in sorted runs (key, owner) merged like a binary counter, so adding a batch
    costs O(batch) amortised O(log n) merges and a query is a searchsorted per run.
    """

    def __init__(self) -> None:
        self._runs: list[tuple[U64, I64]] = []

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self._runs)

    def add(self, keys: U64, owners: I64) -> None:
        """Index sets by their band keys, (sets, bands), each set under its owner number."""
        if keys.size == 0:
            return
        flat = keys.reshape(-1)
        who = np.repeat(owners.astype(np.int64), keys.shape[1])
        order = np.argsort(flat, kind="stable")
        self._runs.append((flat[order], who[order]))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            (k2, o2), (k1, o1) = self._runs.pop(), self._runs.pop()
            self._runs.append(_merge(k1, o1, k2, o2))

    def hits(self, keys: U64) -> I64:
        """For query sets' keys (sets, bands): how many pairs `query` would give each set."""
        distinct, where = np.unique(keys.reshape(-1), return_inverse=True)
        found = np.zeros(len(distinct), dtype=np.int64)
        for run_keys, _ in self._runs:
            found += np.searchsorted(run_keys, distinct, side="right")
            found -= np.searchsorted(run_keys, distinct, side="left")
        per_set: I64 = found[where].reshape(keys.shape).sum(axis=1)
        return per_set

    def query(self, keys: U64) -> tuple[I64, I64]:
        """For query sets' keys (sets, bands): the pairs (query set, owner) sharing a band, once
        per band they share, in no particular order (a pair sharing three bands comes three
        times: deduplicating is left to the caller, who can often drop most pairs first)."""
        # Sets of one batch share many keys: look each distinct key up once, in sorted order
        # (searchsorted is much faster on sorted needles).
        distinct, where = np.unique(keys.reshape(-1), return_inverse=True)
        which = np.repeat(np.arange(len(keys), dtype=np.int64), keys.shape[1])
        found_q: list[I64] = []
        found_o: list[I64] = []
        for run_keys, run_owners in self._runs:
            lo = np.searchsorted(run_keys, distinct, side="left")
            counts = np.searchsorted(run_keys, distinct, side="right") - lo
            hit = np.flatnonzero(counts[where])
            if len(hit) == 0:
                continue
            hit_lo, hit_counts = lo[where[hit]], counts[where[hit]]
            first = np.repeat(hit_lo - np.cumsum(hit_counts) + hit_counts, hit_counts)
            found_o.append(run_owners[first + np.arange(int(hit_counts.sum()))])
            found_q.append(np.repeat(which[hit], hit_counts))
        if not found_q:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        return np.concatenate(found_q), np.concatenate(found_o)


def _merge(k1: U64, o1: I64, k2: U64, o2: I64) -> tuple[U64, I64]:
    """Two sorted runs as one, the first run's entries before the second's on equal keys."""
    at = np.searchsorted(k1, k2, side="right") + np.arange(len(k2), dtype=np.int64)
    from_first = np.ones(len(k1) + len(k2), dtype=bool)
    from_first[at] = False
    keys = np.empty(len(from_first), dtype=np.uint64)
    owners = np.empty(len(from_first), dtype=np.int64)
    keys[at], owners[at] = k2, o2
    keys[from_first], owners[from_first] = k1, o1
    return keys, owners
