"""The exact cosine search: blocked products give the brute-force answer, ties go to the
earliest row, and the bank of vectors grows without losing any."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.guards.semantic.search import EmbeddingBank, nearest, nearest_earlier


def _unit(rng: np.random.Generator, n: int, d: int = 8) -> np.ndarray:
    vectors = rng.normal(size=(n, d)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    queries=st.integers(0, 30),
    rows=st.integers(0, 40),
    block=st.integers(1, 9),
)
def test_blocked_search_is_brute_force(seed: int, queries: int, rows: int, block: int) -> None:
    rng = np.random.default_rng(seed)
    q, r = _unit(rng, queries), _unit(rng, rows)

    best, which = nearest(q, r, row_block=block)

    if rows == 0:
        assert (which == -1).all()
        assert np.isneginf(best).all()
        return
    scores = q @ r.T
    np.testing.assert_array_equal(which, scores.argmax(axis=1))
    # float32 dot products in another order: equal to a few ulps of 1 (unit vectors)
    np.testing.assert_allclose(best, scores.max(axis=1), rtol=1e-6, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 40), block=st.integers(1, 9))
def test_offsets_and_groups_are_brute_force(seed: int, rows: int, block: int) -> None:
    rng = np.random.default_rng(seed)
    q, r = _unit(rng, 12), _unit(rng, rows)
    offsets = rng.uniform(0.0, 0.5, rows).astype(np.float32)
    q_groups = rng.integers(0, 3, 12).astype(np.int64)
    r_groups = rng.integers(0, 3, rows).astype(np.int64)

    best, which = nearest(
        q, r, row_block=block, offsets=offsets, query_groups=q_groups, row_groups=r_groups
    )

    scores = q @ r.T - offsets
    scores[q_groups[:, None] == r_groups[None, :]] = -np.inf
    alone = np.isneginf(scores).all(axis=1)  # every row is of the query's own group
    assert (which[alone] == -1).all()
    np.testing.assert_array_equal(which[~alone], scores[~alone].argmax(axis=1))
    np.testing.assert_allclose(best[~alone], scores[~alone].max(axis=1), rtol=1e-6, atol=1e-6)


def test_a_tie_goes_to_the_earliest_row() -> None:
    rows = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]], np.float32)

    _, which = nearest(np.array([[1.0, 0.0]], np.float32), rows, row_block=2)
    _, earlier = nearest_earlier(rows)

    assert which.tolist() == [1]
    assert earlier.tolist() == [-1, 0, 1, 1]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30))
def test_nearest_earlier_looks_only_back(seed: int, n: int) -> None:
    vectors = _unit(np.random.default_rng(seed), n)

    best, which = nearest_earlier(vectors)

    assert which[0] == -1
    assert np.isneginf(best[0])
    for i in range(1, n):
        scores = vectors[:i] @ vectors[i]
        # The nearest earlier vector, or one tied with it within float32 rounding (the blocked
        # product and this one add in another order: 0.5825893 against 0.5825894 happened).
        assert 0 <= which[i] < i
        assert float(scores[which[i]]) == pytest.approx(float(scores.max()), abs=1e-6)
        assert best[i] == pytest.approx(float(scores.max()), abs=1e-6)


def test_the_bank_keeps_every_vector_in_order() -> None:
    bank = EmbeddingBank(8)
    parts = [_unit(np.random.default_rng(i), n) for i, n in enumerate([3, 1500, 0, 700])]

    for part in parts:
        bank.add(part)

    assert len(bank) == 2203
    np.testing.assert_array_equal(bank.vectors, np.concatenate(parts))
    bank.clear()
    assert len(bank) == 0
    assert bank.vectors.shape == (0, 8)
