"""Semantic screening: near-duplicates and contamination that survive rewording, judged by the
cosine of sentence embeddings (all-MiniLM-L6-v2, shipped in a wheel, loaded offline; the
`semantic` extra).

    from synthguard.guards.embedding import SentenceEncoder
    from synthguard.guards.protected_sets import resolve_protected
    from synthguard.guards.semantic import SemanticDecontaminationGuard, SemanticDedupGuard

    encoder = SentenceEncoder.load()
    humaneval = resolve_protected("humaneval")
    guards = [
        SemanticDedupGuard(encoder),
        SemanticDecontaminationGuard.from_files([humaneval.path], encoder, id_field="task_id"),
    ]
    verdicts = [verdict for guard in guards for verdict in guard.check(samples)]

Inside: `dedup` (a paraphrase of an earlier sample), `decontamination` (a paraphrase of a
protected item, matched against each item's views), `views` (a text whole, its prose, its lead
sentence), `search` (exact cosine search in blocks of bounded memory). Each module's
docstring says how its threshold was measured.
"""

from synthguard.guards.semantic.decontamination import (
    SemanticDecontaminationGuard,
    SemanticIndex,
    SemanticMatch,
)
from synthguard.guards.semantic.dedup import SemanticDedupGuard

__all__ = [
    "SemanticDecontaminationGuard",
    "SemanticDedupGuard",
    "SemanticIndex",
    "SemanticMatch",
]
