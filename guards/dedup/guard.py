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
every pair sharing a band a candidate (probability 0.998 at J = 0.65, 0.9998 at 0.7), and the
index (`index`) confirms candidates by exact Jaccard; a duplicate's verdict names the first
confirmed match.

The costly part, normalising, shingling and MinHash signatures, is a pure function of each
sample (`DedupGuard.prepare`, run by any worker process); the decisions (exact-key look-ups,
`index.add`, `index.matches`: "earlier" needs every earlier sample indexed first) are taken in
input order by `check_prepared`, which reaches exactly `check`'s verdicts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import numpy as np

from synthguard.guards.dedup.index import DedupIndex, sketch_params
from synthguard.guards.dedup.minhash import MinHasher, Scheme, lsh_bands
from synthguard.guards.dedup.normalise import normalised_words
from synthguard.guards.dedup.segments import Arrays, batch_segment
from synthguard.guards.dedup.shingles import ShingleParams, Shingler
from synthguard.guards.verdict import GuardInfo, Verdict
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import Sample, sample_text

GUARD_NAME = "minhash-dedup"
GUARD_VERSION = "2"
DEFAULT_THRESHOLD = 0.65
DEFAULT_NUM_PERM = 128
DEFAULT_SEED = 1
DEFAULT_SCHEME: Scheme = "affine32"
MAX_LSH_MISS = 2e-3
"""The largest probability that a pair exactly at the threshold is not even a candidate."""


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
        return self._check(samples, _Here(self._shingler, self._hasher, samples))

    def prepare(self, samples: Sequence[Sample]) -> Prepared:
        """The costly per-sample part of `check`, a pure function of each sample (run it
        anywhere): exact keys, shingles and MinHash signatures of every sample."""
        texts = [sample_text(sample) for sample in samples]
        words = [normalised_words(text) for text in texts]
        batch = self._shingler.shingle(words)
        signatures = self._hasher.signatures(batch.hashes, batch.offsets)
        keys = [_exact_key(w, text) for w, text in zip(words, texts, strict=True)]
        return Prepared(keys, batch_segment(batch, signatures))

    def check_prepared(self, samples: Sequence[Sample], prepared: Prepared) -> list[Verdict]:
        """`check` of a batch whose `prepare` ran elsewhere: the same verdicts, in order (the
        decisions, which depend on every sample before, are taken here)."""
        return self._check(samples, prepared)

    def recipe(self) -> Callable[[], DedupGuard]:
        """A picklable call that builds a guard preparing samples exactly as this one does (with
        an index of its own in memory: `prepare` never reads it)."""
        return partial(
            DedupGuard,
            None,
            threshold=self.threshold,
            num_perm=self._hasher.num_perm,
            seed=self._hasher.seed,
            scheme=self._hasher.scheme,
            shingles=self._shingler.params,
            bands=self.shape,
        )

    def _check(self, samples: Sequence[Sample], work: _Work) -> list[Verdict]:
        if not samples:
            return []
        index = self.index
        verdicts: list[Verdict] = []
        fresh: list[int] = []
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
            key = work.key(i)
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
            fresh_keys.append(key)
        if fresh:
            index.add([samples[i].id for i in fresh], fresh_keys, work.segment(fresh))
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


class _Work(Protocol):
    """Where `_check` gets a batch's per-sample work: made on demand, or made elsewhere."""

    def key(self, i: int) -> bytes:
        """The exact-duplicate key of sample `i` of the batch."""
        ...

    def segment(self, rows: list[int]) -> Arrays:
        """The sketches of samples `rows` (ascending) of the batch, numbered 0, 1, ... in
        that order, as `index.add` takes them."""
        ...


class _Here:
    """The work of one process: keys as asked for, sketches only of the samples indexed."""

    def __init__(self, shingler: Shingler, hasher: MinHasher, samples: Sequence[Sample]) -> None:
        self._shingler = shingler
        self._hasher = hasher
        self._samples = samples
        self._words: dict[int, list[str]] = {}

    def key(self, i: int) -> bytes:
        text = sample_text(self._samples[i])
        words = self._words[i] = normalised_words(text)
        return _exact_key(words, text)

    def segment(self, rows: list[int]) -> Arrays:
        batch = self._shingler.shingle([self._words[i] for i in rows])
        return batch_segment(batch, self._hasher.signatures(batch.hashes, batch.offsets))


@dataclass(frozen=True, slots=True)
class Prepared:
    """`DedupGuard.prepare` of a batch: every sample's exact key, and every sample's sketches
    as a segment (its `doc` numbers the samples of the batch)."""

    keys: list[bytes]
    arrays: Arrays

    def key(self, i: int) -> bytes:
        """The exact-duplicate key of sample `i`."""
        return self.keys[i]

    def segment(self, rows: list[int]) -> Arrays:
        """The sketches of samples `rows`, renumbered from 0 in that order. The sketches keep
        their order (grouped by kind, by sample within a kind), which is the order shingling
        only those samples gives: the index receives the same arrays either way."""
        arrays = self.arrays
        renumber = np.full(len(self.keys), -1, dtype=np.int64)
        renumber[rows] = np.arange(len(rows), dtype=np.int64)
        doc = renumber[arrays["doc"]]
        keep = np.flatnonzero(doc >= 0)
        offsets = arrays["offsets"]
        starts, counts = offsets[keep], offsets[keep + 1] - offsets[keep]
        total = int(counts.sum())
        picked = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(
            total, dtype=np.int64
        )
        new_offsets = np.zeros(len(keep) + 1, dtype=np.int64)
        np.cumsum(counts, out=new_offsets[1:])
        return {
            **arrays,
            "doc": doc[keep],
            "kind": arrays["kind"][keep],
            "signatures": arrays["signatures"][keep],
            "offsets": new_offsets,
            "shingles": arrays["shingles"][picked],
        }
