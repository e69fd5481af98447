"""Exact and near-duplicate screening: MinHash LSH over normalised word shingles, candidates
confirmed by exact Jaccard, against a persistent index so later batches are deduplicated
against earlier ones.

    from synthguard.guards.dedup import DedupGuard, DedupIndex

    guard = DedupGuard(index=DedupIndex.open(index_path(home)))
    verdicts = guard.check(samples)
"""

from synthguard.guards.dedup.guard import DedupGuard, DedupIndex, index_path

__all__ = [
    "index_path",
    "DedupGuard",
    "DedupIndex",
]
