"""Exact and near-duplicate screening against everything screened before.

Exact: two samples whose normalised texts (`normalise`) are equal. Near: Jaccard similarity of
their shingle sets (`shingles`) at least `threshold`, found by MinHash LSH (`minhash`) queried
well below the threshold and confirmed by exact Jaccard over the stored shingle hashes. The
first occurrence stays; a later copy fails with the id of the sample it duplicates. Only
samples that pass are indexed, so a chain of small edits cannot walk away from its original
one accepted step at a time.

The default threshold, 0.65, comes from the requirement that a copy with up to 5 % of its words
edited is caught: k = eL edits touch at most 3k of the S = L - 2 word 3-grams, so
J >= (S - 3k) / (S + 3k): 0.71 at L = 20 (one edit), 0.74 for long texts. Phrases repeated
within a text lower it (on Python's reference manual 1 % of 5 %-edited paragraphs fall under
0.75, 0.1 % under 0.68), and one substituted word in a 12-word sentence leaves character-4-gram
J under 0.7 for 4.5 % of sentences, under 0.65 for 1 %. Unrelated texts sharing a 20-word
preamble have J = 18 / (18 + 2C) with C other words: under 0.65 from C = 5 on. LSH uses 32
bands of 4 rows of 128 permutations: a pair at J = 0.65 is a candidate with probability 0.998,
at 0.7 with 0.9998; the candidate, not the estimate, is what exact Jaccard then decides.

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
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from synthguard.guards.minhash import BandIndex, MinHasher, Scheme, Signatures, band_keys, lsh_bands
from synthguard.guards.normalise import NORMALISATION_VERSION, normalised_words
from synthguard.guards.shingles import (
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
GUARD_VERSION = "1"
DEFAULT_THRESHOLD = 0.65
DEFAULT_NUM_PERM = 128
DEFAULT_SEED = 1
DEFAULT_SCHEME: Scheme = "affine32"
MAX_LSH_MISS = 2e-3
"""The largest probability that a pair exactly at the threshold is not even a candidate."""

INDEX_DIR = "dedup"
INDEX_FORMAT = "synthguard-dedup-index/1"
_MANIFEST = "manifest.json"
_LOCK = "lock"
_COMPACT_AT = 16
"""Segments beyond which a save merges them all into one."""
_SEGMENT_NAME = re.compile(r"segment-\d{6,}\.npz")
_SEGMENT_ARRAYS = ("ids", "exact", "doc", "kind", "signatures", "offsets", "shingles")
_KIND_SALTS = np.array([shingle_hash((), kind) for kind in KINDS], dtype=np.uint64)


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


def _band_keys(signatures: Signatures, kinds: npt.NDArray[np.uint8], shape: tuple[int, int]) -> U64:
    return band_keys(signatures, _KIND_SALTS[kinds], *shape)


Arrays = dict[str, np.ndarray]
"""One segment: ids and exact keys (docs, 32) uint8; per sketch its doc (numbered within the
segment), kind, signature and shingle hashes (`offsets` into `shingles`)."""


@dataclass(frozen=True, slots=True)
class _Block:
    """Indexed sketches added together: global sketch rows first .. first + len(doc) - 1."""

    first: int
    doc: I64
    kind: npt.NDArray[np.uint8]
    signatures: Signatures
    offsets: I64
    shingles: U64


class DedupIndex:
    """The samples that passed deduplication: ids, exact keys, MinHash sketches, shingles.

    In memory unless it has a path; `open` reads a saved index, `save` writes what is new.
    A sample has one sketch per shingle kind it gets; sketches are numbered in insertion order.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.params: dict[str, Any] | None = None
        self._ids: list[str] = []
        self._exact_keys: list[bytes] = []
        self._exact: dict[bytes, int] = {}
        self._blocks: list[_Block] = []
        self._block_firsts: list[int] = []
        self._sketches = 0
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
        index._saved = (len(index._ids), index._sketches)
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

    def exact(self, key: bytes) -> str | None:
        """The id of the indexed sample with this exact-duplicate key, if any."""
        row = self._exact.get(key)
        return None if row is None else self._ids[row]

    def doc_id(self, sketch: int) -> str:
        """The id of the sample a sketch belongs to."""
        block = self._block(sketch)
        return self._ids[int(block.doc[sketch - block.first])]

    def kind(self, sketch: int) -> int:
        """The kind code of a sketch (its index in `shingles.KINDS`)."""
        block = self._block(sketch)
        return int(block.kind[sketch - block.first])

    def signature(self, sketch: int) -> npt.NDArray[Any]:
        """The MinHash signature of a sketch."""
        block = self._block(sketch)
        row: npt.NDArray[Any] = block.signatures[sketch - block.first]
        return row

    def shingle_set(self, sketch: int) -> U64:
        """The distinct shingle hashes of a sketch, sorted."""
        block = self._block(sketch)
        i = sketch - block.first
        return np.unique(block.shingles[block.offsets[i] : block.offsets[i + 1]])

    def use_bands(self, bands: int, rows: int) -> None:
        """Look sketches up by band keys of this shape (rebuilt from the signatures on change)."""
        if self._shape != (bands, rows):
            self._shape = (bands, rows)
            self._bands = None

    def candidates(self, keys: U64) -> tuple[I64, I64]:
        """Pairs (query, indexed sketch) sharing a band, for band keys (queries, bands)."""
        return self._band_index().query(keys)

    def add(self, ids: Sequence[str], exact_keys: Sequence[bytes], arrays: Arrays) -> None:
        """Index samples that passed: `arrays` is a segment holding their sketches."""
        if not ids:
            return
        first = self._sketches
        block = self._append((list(ids), list(exact_keys), arrays))
        if self._bands is not None and block is not None:
            rows = np.arange(first, self._sketches, dtype=np.int64)
            assert self._shape is not None
            self._bands.add(_band_keys(block.signatures, block.kind, self._shape), rows)

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
        self._saved = (len(self._ids), self._sketches)

    def _append(self, part: tuple[list[str], list[bytes], Arrays]) -> _Block | None:
        ids, exact_keys, arrays = part
        base = len(self._ids)
        self._ids.extend(ids)
        self._exact_keys.extend(exact_keys)
        for i, key in enumerate(exact_keys):
            self._exact.setdefault(key, base + i)
        if len(arrays["doc"]) == 0:
            return None
        block = _Block(
            first=self._sketches,
            doc=arrays["doc"] + base,
            kind=arrays["kind"],
            signatures=arrays["signatures"],
            offsets=arrays["offsets"],
            shingles=arrays["shingles"],
        )
        self._blocks.append(block)
        self._block_firsts.append(block.first)
        self._sketches += len(block.doc)
        return block

    def _block(self, sketch: int) -> _Block:
        return self._blocks[bisect_right(self._block_firsts, sketch) - 1]

    def _band_index(self) -> BandIndex:
        if self._shape is None:
            raise ValueError("call use_bands() before looking sketches up")
        if self._bands is None:
            bands = BandIndex()
            for block in self._blocks:
                rows = np.arange(block.first, block.first + len(block.doc), dtype=np.int64)
                bands.add(_band_keys(block.signatures, block.kind, self._shape), rows)
            self._bands = bands
        return self._bands

    def _arrays(self, first_doc: int, first_sketch: int) -> Arrays:
        """The segment of the samples from `first_doc` and sketches from `first_sketch` on."""
        assert self.params is not None
        blocks = [block for block in self._blocks if block.first >= first_sketch]
        sketches = _empty_sketches(self.params)
        if blocks:
            sketches = _concat(
                [
                    {
                        "ids": _EMPTY_KEYS,
                        "exact": _EMPTY_KEYS,
                        "doc": block.doc - first_doc,
                        "kind": block.kind,
                        "signatures": block.signatures,
                        "offsets": block.offsets,
                        "shingles": block.shingles,
                    }
                    for block in blocks
                ]
            )
        sketches["ids"] = _raw(_id_bytes(i) for i in self._ids[first_doc:])
        sketches["exact"] = _raw(self._exact_keys[first_doc:])
        return sketches


class DedupGuard:
    """Exact, then near-duplicate screening; the first occurrence stays (family `dedup`).

    Rules `exact` and `near`. A failing verdict's detail is `{"duplicate_of": <sample id>,
    "jaccard": j}`, and its `position` says which sample it is (identical content has one id,
    so the id alone cannot tell a copy from its original).
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

    def check(self, samples: Sequence[Sample]) -> list[Verdict]:
        """Judge a batch against the index and its own earlier samples; index those that pass."""
        if not samples:
            return []
        texts = [sample_text(sample) for sample in samples]
        words = [normalised_words(text) for text in texts]
        exact_keys = [_exact_key(w, t) for w, t in zip(words, texts, strict=True)]
        batch = self._shingler.shingle(words)
        signatures = self._hasher.signatures(batch.hashes, batch.offsets)
        keys = _band_keys(signatures, batch.kind, self.shape)
        judge = _Judge(self.index, samples, batch, keys, signatures, self.threshold)
        verdicts: list[Verdict] = []
        kept: list[int] = []
        seen: dict[bytes, int] = {}
        for i, sample in enumerate(samples):
            key = exact_keys[i]
            original = self.index.exact(key)
            if original is None and key in seen:
                original = samples[seen[key]].id
            if original is not None:
                verdicts.append(self._verdict(sample, i, "exact", original, 1.0))
                continue
            best = judge.best_match(i)
            if best is not None and best[1] >= self.threshold:
                verdicts.append(self._verdict(sample, i, "near", *best))
                continue
            seen[key] = i
            kept.append(i)
            judge.keep(i)
        if kept:
            arrays = _kept_arrays(batch, signatures, kept, len(samples))
            ids = [samples[i].id for i in kept]
            self.index.add(ids, [exact_keys[i] for i in kept], arrays)
        self._checked += len(samples)
        return verdicts

    def finish(self) -> list[Verdict]:
        """Nothing waits for the end: each copy is judged when it arrives.

        Positions count from 0 again after `finish`, for the next pass over another dataset.
        """
        self._checked = 0
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


PREFILTER_MARGIN = 0.2


class _Judge:
    """Near-duplicate candidates of one batch, from the index and from the batch's kept samples,
    each confirmed by exact Jaccard."""

    def __init__(
        self,
        index: DedupIndex,
        samples: Sequence[Sample],
        batch: ShingleBatch,
        keys: U64,
        signatures: Signatures,
        threshold: float,
    ) -> None:
        self.index = index
        self.signatures = signatures
        # Exact Jaccard is only computed for candidates whose MinHash estimate comes within
        # PREFILTER_MARGIN of the threshold: with 128 permutations the estimate's standard
        # error at J = 0.65 is 0.042, so a true pair falls below the cut with odds ~1e-6,
        # while template siblings (J 0.3-0.5, many per sample) skip the costly exact check.
        self.floor = threshold - PREFILTER_MARGIN
        self.samples = samples
        self.batch = batch
        self.kinds: list[int] = batch.kind.tolist()
        self.docs: list[int] = batch.doc.tolist()
        queries, owners = index.candidates(keys)
        self.indexed = _group(queries, owners, len(batch))
        # Within the batch only a band key held by two sketches or more can make a candidate:
        # those are few, so only they go through Python dictionaries.
        _, where, counts = np.unique(keys, return_inverse=True, return_counts=True)
        sketch, band = np.nonzero(counts[where.reshape(keys.shape)] > 1)
        self.shared = _group(sketch, keys[sketch, band].astype(np.int64), len(batch))
        self.sketches: list[list[int]] = [[] for _ in samples]
        for s, doc in enumerate(self.docs):
            self.sketches[doc].append(s)
        self.buckets: dict[int, list[int]] = {}
        self.sets: dict[int, U64] = {}

    def best_match(self, doc: int) -> tuple[str, float] | None:
        """The most similar earlier sample (id, Jaccard): highest Jaccard, earliest on ties."""
        best: tuple[str, float] | None = None
        for s in self.sketches[doc]:
            kind = self.kinds[s]
            signature = self.signatures[s]
            for row in self.indexed[s]:
                if self.index.kind(row) == kind and self._close(
                    signature, self.index.signature(row)
                ):
                    j = jaccard(self._set(s), self.index.shingle_set(row))
                    if best is None or j > best[1]:
                        best = (self.index.doc_id(row), j)
            local: set[int] = set()
            for key in self.shared[s]:
                local.update(self.buckets.get(key, ()))
            for t in sorted(local):
                if self.kinds[t] == kind and self._close(signature, self.signatures[t]):
                    j = jaccard(self._set(s), self._set(t))
                    if best is None or j > best[1]:
                        best = (self.samples[self.docs[t]].id, j)
        return best

    def _close(self, a: npt.NDArray[Any], b: npt.NDArray[Any]) -> bool:
        return float(np.count_nonzero(a == b)) / a.size >= self.floor

    def keep(self, doc: int) -> None:
        """Make a sample's sketches candidates for the rest of the batch."""
        for s in self.sketches[doc]:
            for key in self.shared[s]:
                self.buckets.setdefault(key, []).append(s)

    def _set(self, sketch: int) -> U64:
        found = self.sets.get(sketch)
        if found is None:
            found = self.sets[sketch] = np.unique(self.batch.shingles(sketch))
        return found


def _group(keys: I64, values: I64, groups: int) -> list[list[int]]:
    """values[i] listed under keys[i] (keys sorted, in range(groups))."""
    bounds = np.searchsorted(keys, np.arange(groups + 1)).tolist()
    flat = values.tolist()
    return [flat[bounds[g] : bounds[g + 1]] for g in range(groups)]


def _exact_key(words: list[str], text: str) -> bytes:
    if words:
        return hashlib.sha256(" ".join(words).encode("utf-8")).digest()
    # Nothing survives normalisation (only punctuation or invisibles): only the same raw text
    # is the same sample, or every such sample would be a copy of the first.
    return hashlib.sha256(b"\x00raw\x00" + text.encode("utf-8")).digest()


def _kept_arrays(batch: ShingleBatch, signatures: Signatures, kept: list[int], docs: int) -> Arrays:
    renumber = np.full(docs, -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept))
    chosen = np.flatnonzero(renumber[batch.doc] >= 0)
    counts = np.diff(batch.offsets)[chosen]
    offsets = np.zeros(len(chosen) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    starts = np.repeat(batch.offsets[chosen] - offsets[:-1], counts)
    return {
        "ids": _EMPTY_KEYS,
        "exact": _EMPTY_KEYS,
        "doc": renumber[batch.doc[chosen]],
        "kind": batch.kind[chosen],
        "signatures": signatures[chosen],
        "offsets": offsets,
        "shingles": batch.hashes[starts + np.arange(int(offsets[-1]), dtype=np.int64)],
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
