"""Shingles: the sets whose Jaccard similarity decides whether two texts are near-duplicates.

Word 3-grams for texts of 16 words or more; for texts under 24 words, the "short" kind: their
distinct words (word 1-grams); both in between, so a copy one word longer or shorter still
shares a kind. An edited word changes at most n of a text's word n-grams, so editing a fraction
e of the words leaves J >= (1 - ne) / (1 + ne): 0.74 at 5 % for n = 3, 0.67 for n = 4; n = 2
tolerates more, but unrelated prose shares its collocations (99.9th percentile J 0.10, against
0.05 for n = 3, on Python's reference manual). Under 20 words one edit is over 5 % and takes
word-3-gram J below the threshold. A text of L distinct words keeps J = (L - 1) / (L + 1) of
its word set after one substituted word, L / (L + 1) after an insertion, (L - 1) / L after a
deletion: at least 0.67 from L = 5 on. On the reference manual's sentences of 5-23 words a
random one-word substitution stays at J >= 0.65 for 99.9 % of them (character 4-grams: 89 %;
25 % at 5 words, 78 % at 8, 98 % at 12), while unrelated sentences stay apart (99.9th
percentile J 0.27; 4-grams 0.20). `benchmarks/dedup_bench.py --sweep`.

Hashing is defined on units (words): a unit hashes to the little-endian 64-bit BLAKE2b digest
of its UTF-8, u, and a shingle of units to h = fmix64(seed ^ (u1 m1 + u2 m2 + ... + un mn
mod 2^64)), with one seed per kind and fixed odd multipliers per position (so order matters).
`shingle_hash` is that definition in plain Python; `Shingler` computes the same values for a
whole batch with numpy, each distinct word hashed once. `hashfunc(kind)` gives the hash as
datasketch's `MinHash(hashfunc=...)` expects it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from itertools import chain
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

Kind = Literal["word", "short"]
KINDS: Final[tuple[Kind, Kind]] = ("word", "short")
"""Shingle kinds; a kind's index in this tuple is its code in arrays (`ShingleBatch.kind`)."""

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

_M64 = (1 << 64) - 1
_FMIX_MUL_1 = 0xFF51AFD7ED558CCD
_FMIX_MUL_2 = 0xC4CEB9FE1A85EC53
_UNIT_CACHE_LIMIT = 1 << 18


def _seed(label: str) -> int:
    return int.from_bytes(hashlib.blake2b(label.encode(), digest_size=8).digest(), "little")


_SEEDS: Final[dict[Kind, int]] = {kind: _seed(f"synthguard.shingle.{kind}.v1") for kind in KINDS}
_MULTIPLIERS: list[int] = []
SHINGLE_HASH = "blake2b64-units/odd-multipliers-fmix64/v2"
"""Names the hash definition above; stored with an index so a changed definition is noticed."""


@dataclass(frozen=True, slots=True)
class ShingleParams:
    """Which shingles a text gets: word n-grams, the short-text kind, or both near the boundary."""

    word_n: int = 3
    short_n: int = 1
    """The word n-grams of short texts (1: their distinct words)."""
    short_below: int = 24
    """Texts with fewer normalised words than this get short-text shingles."""
    word_from: int = 16
    """Texts with at least this many normalised words get word shingles."""

    def __post_init__(self) -> None:
        if self.word_n < 1 or self.short_n < 1:
            raise ValueError("shingle sizes must be positive")
        if self.word_from < self.word_n:
            raise ValueError("word_from must be at least word_n (a text needs one word shingle)")
        if self.short_below < self.word_from:
            raise ValueError("short_below must be at least word_from (every text needs a kind)")

    def kinds(self, words: int) -> tuple[Kind, ...]:
        """The shingle kinds of a text of `words` normalised words (none for an empty text)."""
        if words == 0:
            return ()
        if words < self.word_from:
            return ("short",)
        if words < self.short_below:
            return ("word", "short")
        return ("word",)

    def n(self, kind: Kind) -> int:
        """The n-gram size of a kind."""
        return self.word_n if kind == "word" else self.short_n

    def config(self) -> dict[str, int]:
        """The parameters as a JSON object."""
        return asdict(self)


def unit_hash(unit: str) -> int:
    """The 64-bit hash of one unit (a word)."""
    return int.from_bytes(hashlib.blake2b(unit.encode("utf-8"), digest_size=8).digest(), "little")


def _fmix64_int(h: int) -> int:
    h ^= h >> 33
    h = (h * _FMIX_MUL_1) & _M64
    h ^= h >> 33
    h = (h * _FMIX_MUL_2) & _M64
    return h ^ (h >> 33)


def _multiplier(position: int) -> int:
    """The odd 64-bit multiplier of the unit at `position` (0-based) of a shingle."""
    while len(_MULTIPLIERS) <= position:
        _MULTIPLIERS.append(_seed(f"synthguard.shingle.position.{len(_MULTIPLIERS)}") | 1)
    return _MULTIPLIERS[position]


def shingle_hash(units: Iterable[str], kind: Kind) -> int:
    """The 64-bit hash of one shingle given as its units: the definition, in plain Python."""
    total = 0
    for position, unit in enumerate(units):
        total = (total + unit_hash(unit) * _multiplier(position)) & _M64
    return _fmix64_int(_SEEDS[kind] ^ total)


def shingle_strings(words: Sequence[str], kind: Kind, params: ShingleParams) -> list[str]:
    """The shingles of a normalised text as strings: its word n-grams, words joined by a space.

    A text shorter than n words has one shingle, the whole text.
    """
    n = params.n(kind)
    if len(words) <= n:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


def hashfunc(kind: Kind, bits: Literal[32, 64] = 32) -> Callable[[str], int]:
    """The hash of a shingle string from `shingle_strings`, for datasketch's `MinHash(hashfunc=)`.

    32 bits (the low half of the 64-bit hash) for the affine32 scheme, 64 bits for affine64.
    """
    mask = (1 << bits) - 1

    def hash_shingle(shingle: str) -> int:
        return shingle_hash(shingle.split(" "), kind) & mask

    return hash_shingle


def fmix64(h: U64) -> U64:
    """MurmurHash3's 64-bit finaliser over an array (a bijection; multiplication wraps)."""
    h = h ^ (h >> np.uint64(33))
    h *= np.uint64(_FMIX_MUL_1)
    h ^= h >> np.uint64(33)
    h *= np.uint64(_FMIX_MUL_2)
    h ^= h >> np.uint64(33)
    return h


@dataclass(frozen=True, slots=True)
class ShingleBatch:
    """The shingle hashes of many sketches (one sketch = one text's shingles of one kind).

    Sketch i owns `hashes[offsets[i]:offsets[i + 1]]`, belongs to text `doc[i]` and has kind
    `KINDS[kind[i]]`. Hashes keep the text's order and may repeat (a set is what they form).
    """

    hashes: U64
    offsets: I64
    doc: I64
    kind: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.doc)

    def shingles(self, sketch: int) -> U64:
        """The hashes of one sketch."""
        return self.hashes[self.offsets[sketch] : self.offsets[sketch + 1]]


class _UnitHashes(dict[str, int]):
    """Unit hashes by unit, computed on first sight; cleared when it grows past its limit."""

    def __missing__(self, unit: str) -> int:
        if len(self) >= _UNIT_CACHE_LIMIT:
            self.clear()
        value = self[unit] = unit_hash(unit)
        return value


class Shingler:
    """Shingle hashes for batches of normalised texts, vectorised with numpy."""

    def __init__(self, params: ShingleParams | None = None) -> None:
        self.params = params or ShingleParams()
        # Words repeat across texts far more than they are new: hash each once.
        self._units = _UnitHashes()

    def shingle(self, texts: Sequence[Sequence[str]]) -> ShingleBatch:
        """Shingle texts given as their normalised words; sketches come grouped by kind."""
        params = self.params
        docs: dict[Kind, list[int]] = {kind: [] for kind in KINDS}
        for i, words in enumerate(texts):
            for kind in params.kinds(len(words)):
                docs[kind].append(i)
        parts = [
            self._chains([texts[i] for i in docs[kind]], kind, params.n(kind)) for kind in KINDS
        ]
        counts = np.concatenate([p[1] for p in parts])
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return ShingleBatch(
            hashes=np.concatenate([p[0] for p in parts]),
            offsets=offsets,
            doc=np.array([i for kind in KINDS for i in docs[kind]], dtype=np.int64),
            kind=np.repeat(
                np.arange(len(KINDS), dtype=np.uint8), [len(docs[kind]) for kind in KINDS]
            ),
        )

    def _unit_hashes(self, units: Iterable[str], total: int) -> U64:
        return np.fromiter(map(self._units.__getitem__, units), dtype=np.uint64, count=total)

    def _chains(self, sketches: Sequence[Sequence[str]], kind: Kind, n: int) -> tuple[U64, I64]:
        """Hash every n-unit window of each sequence (the whole sequence if shorter)."""
        lengths = np.fromiter(map(len, sketches), dtype=np.int64, count=len(sketches))
        units = self._unit_hashes(chain.from_iterable(sketches), int(lengths.sum()))
        counts = np.maximum(lengths - n + 1, 1)
        counts[lengths == 0] = 0
        unit_starts = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=unit_starts[1:])
        window_first = np.zeros(len(counts), dtype=np.int64)
        np.cumsum(counts[:-1], out=window_first[1:])
        total = int(counts.sum())
        starts = np.repeat(unit_starts - window_first, counts) + np.arange(total, dtype=np.int64)
        seed = np.uint64(_SEEDS[kind])
        full = lengths >= n
        if full.all():
            return fmix64(_window_sums(units, n)[starts] ^ seed), counts
        # A sequence shorter than n is one window of its own length.
        sums = np.zeros(total, dtype=np.uint64)
        in_full = np.repeat(full, counts)
        if in_full.any():
            sums[in_full] = _window_sums(units, n)[starts[in_full]]
        width = np.repeat(np.minimum(lengths, n), counts)[~in_full]
        first = starts[~in_full]
        partial = np.zeros(len(first), dtype=np.uint64)
        for k in range(n):
            inside = k < width
            partial[inside] += units[first[inside] + k] * np.uint64(_multiplier(k))
        sums[~in_full] = partial
        return fmix64(sums ^ seed), counts


def _window_sums(units: U64, n: int) -> U64:
    """u[i] m1 + ... + u[i + n - 1] mn (mod 2^64) for every i where the window fits."""
    windows = len(units) - n + 1
    if windows <= 0:
        return np.zeros(0, dtype=np.uint64)
    sums = units[:windows] * np.uint64(_multiplier(0))
    for k in range(1, n):
        sums += units[k : k + windows] * np.uint64(_multiplier(k))
    return sums
