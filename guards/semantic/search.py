"""Exact nearest-neighbour search by cosine over unit vectors, in blocks of bounded memory.

Rows are L2-normalised, so the cosine of two rows is their dot product and a block of queries
against a block of rows is one matrix product. No approximate index: every pair is scored, so
a match is never missed, and ties go to the lowest row (the earliest sample). One block holds
at most QUERY_BLOCK x ROW_BLOCK float32 scores: 1,024 x 16,384 x 4 bytes = 64 MiB.
`EmbeddingBank` keeps the vectors of every sample seen so far (1.5 KiB each, 384 float32),
growing by doubling, so appending n rows costs O(n) copies overall.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]

QUERY_BLOCK = 1024
ROW_BLOCK = 16384


def nearest(
    queries: Vectors,
    rows: Vectors,
    row_block: int = ROW_BLOCK,
    offsets: Vectors | None = None,
    query_groups: Ints | None = None,
    row_groups: Ints | None = None,
) -> tuple[Vectors, Ints]:
    """For each query, the highest cosine over `rows` and which row has it (-1, -inf: none).

    With `offsets`, the highest cosine minus its row's offset (a per-row cut: the row most
    over its cut wins). With groups, a query never scores a row of its own group.
    """
    best = np.full(len(queries), -np.inf, np.float32)
    which = np.full(len(queries), -1, np.int64)
    for q0 in range(0, len(queries), QUERY_BLOCK):
        block = queries[q0 : q0 + QUERY_BLOCK]
        here = np.arange(len(block))
        for r0 in range(0, len(rows), row_block):
            scores = block @ rows[r0 : r0 + row_block].T
            if offsets is not None:
                scores -= offsets[r0 : r0 + row_block]
            if query_groups is not None and row_groups is not None:
                own = (
                    query_groups[q0 : q0 + QUERY_BLOCK, None]
                    == row_groups[None, r0 : r0 + row_block]
                )
                scores[own] = -np.inf
            arg = scores.argmax(axis=1)
            value = scores[here, arg]
            # Strictly better only: on a tie the earlier block (the lower row) keeps it.
            better = value > best[q0 : q0 + len(block)]
            best[q0 : q0 + len(block)][better] = value[better]
            which[q0 : q0 + len(block)][better] = arg[better] + r0
    return best, which


def nearest_earlier(block: Vectors) -> tuple[Vectors, Ints]:
    """For each row of `block`, the highest cosine with a row before it, and which row."""
    count = len(block)
    if count == 0:
        return np.empty(0, np.float32), np.empty(0, np.int64)
    scores = block @ block.T
    scores[np.triu_indices(count)] = -np.inf
    arg = scores.argmax(axis=1)
    best = scores[np.arange(count), arg]
    arg[0] = -1  # the first row has nothing before it
    return best.astype(np.float32, copy=False), arg.astype(np.int64, copy=False)


class EmbeddingBank:
    """Unit vectors appended in order; row i is the i-th vector added."""

    def __init__(self, dimensions: int) -> None:
        self._data = np.empty((0, dimensions), np.float32)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def vectors(self) -> Vectors:
        """The vectors added so far (a view, valid until the next `add`)."""
        return self._data[: self._size]

    def add(self, vectors: Vectors) -> None:
        """Append rows, growing the storage by doubling."""
        needed = self._size + len(vectors)
        if needed > len(self._data):
            rows = max(needed, 2 * len(self._data), 1024)
            grown = np.empty((rows, self._data.shape[1]), np.float32)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : needed] = vectors
        self._size = needed

    def clear(self) -> None:
        """Forget every vector (and release the memory)."""
        self._data = np.empty((0, self._data.shape[1]), np.float32)
        self._size = 0
