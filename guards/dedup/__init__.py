"""Exact and near-duplicate screening: MinHash LSH over normalised word shingles, candidates
confirmed by exact Jaccard, against a persistent index so later batches are deduplicated
against earlier ones.

    from synthguard.guards.dedup import DedupGuard, DedupIndex, index_path

    guard = DedupGuard(DedupIndex.open(index_path(home)))
    verdicts = guard.check(samples)
    guard.save()

Inside: `guard` (the guard and its defaults), `index` (the samples seen and the near-copy
search), `segments` (the index folder on disk), `minhash`, `shingles`, `normalise`.
"""

from synthguard.guards.dedup.guard import DedupGuard
from synthguard.guards.dedup.index import DedupIndex, IndexCheck, index_path
from synthguard.guards.dedup.normalise import INVISIBLE

__all__ = [
    "INVISIBLE",
    "DedupGuard",
    "DedupIndex",
    "IndexCheck",
    "index_path",
]
