from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.guards.dedup.minhash import (
    BandIndex,
    MinHasher,
    Scheme,
    band_keys,
    candidate_probability,
    lsh_bands,
)
from synthguard.guards.dedup.shingles import (
    KINDS,
    Kind,
    ShingleParams,
    Shingler,
    hashfunc,
    shingle_hash,
    shingle_strings,
)

BITS = {"affine32": 32, "affine64": 64}

words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Z", "C"]))
documents = st.lists(st.lists(words.filter(bool), max_size=40), min_size=1, max_size=12)


def datasketch_signature(
    doc: list[str], kind: Kind, params: ShingleParams, num_perm: int, seed: int, scheme: Scheme
) -> np.ndarray:
    """What datasketch itself computes for a text's shingles of one kind."""
    m = MinHash(num_perm=num_perm, seed=seed, scheme=scheme, hashfunc=hashfunc(kind, BITS[scheme]))
    m.update_batch(shingle_strings(doc, kind, params))
    return m.hashvalues


@pytest.mark.parametrize("scheme", ["affine32", "affine64"])
@pytest.mark.parametrize(("num_perm", "seed"), [(1, 0), (128, 1), (256, 2**32 - 1)])
def test_permutations_are_datasketchs(scheme: Scheme, num_perm: int, seed: int) -> None:
    # Drawn without importing datasketch (its import pulls in scipy); the same numbers.
    hasher = MinHasher(num_perm, seed, scheme)
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme=scheme).permutations
    assert np.array_equal(hasher._a.ravel(), a)
    assert np.array_equal(hasher._b.ravel(), b)
    assert hasher._a.dtype == a.dtype


@settings(max_examples=60, deadline=None)
@given(
    documents,
    st.sampled_from(["affine32", "affine64"]),
    st.integers(min_value=1, max_value=160),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_signatures_are_bit_identical_to_datasketch(
    docs: list[list[str]], scheme: Scheme, num_perm: int, seed: int
) -> None:
    params = ShingleParams()
    batch = Shingler(params).shingle(docs)
    ours = MinHasher(num_perm, seed, scheme).signatures(batch.hashes, batch.offsets)
    assert ours.dtype == (np.uint32 if scheme == "affine32" else np.uint64)
    for i in range(len(batch)):
        kind = KINDS[batch.kind[i]]
        theirs = datasketch_signature(docs[batch.doc[i]], kind, params, num_perm, seed, scheme)
        assert np.array_equal(ours[i], theirs)


def test_many_random_documents_match_datasketch_bulk() -> None:
    rng = random.Random(3)
    vocab = [f"{rng.choice('abcdefgh')}{i}" for i in range(300)]
    docs = [[rng.choice(vocab) for _ in range(rng.randrange(0, 300))] for _ in range(400)]
    params = ShingleParams()
    batch = Shingler(params).shingle(docs)
    ours = MinHasher(128, 1, "affine32").signatures(batch.hashes, batch.offsets)
    for kind_code, kind in enumerate(KINDS):
        rows = np.flatnonzero(batch.kind == kind_code)
        theirs = MinHash.bulk(
            [shingle_strings(docs[batch.doc[i]], kind, params) for i in rows],
            num_perm=128,
            seed=1,
            scheme="affine32",
            hashfunc=hashfunc(kind),
        )
        assert np.array_equal(ours[rows], np.array([m.hashvalues for m in theirs]))


def test_a_set_larger_than_a_block_and_empty_sets() -> None:
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**64, size=30_000, dtype=np.uint64)
    offsets = np.array([0, 0, 5, 25_005, 25_005, 30_000], dtype=np.int64)
    hasher = MinHasher(64, 9, "affine32")
    ours = hasher.signatures(hashes, offsets)
    for i in range(len(offsets) - 1):
        m = MinHash(num_perm=64, seed=9, scheme="affine32", hashfunc=int)
        m.update_batch(hashes[offsets[i] : offsets[i + 1]] & np.uint64(0xFFFFFFFF))
        assert np.array_equal(ours[i], m.hashvalues)
    assert np.all(ours[0] == np.iinfo(np.uint32).max)


@settings(max_examples=200, deadline=None)
@given(
    documents,
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=1, max_value=6),
    st.integers(min_value=0, max_value=12),
)
def test_the_vectorised_shingle_hashes_are_the_definition(
    docs: list[list[str]], word_n: int, short_n: int, band: int
) -> None:
    word_from = max(word_n, 3)
    params = ShingleParams(word_n, short_n, short_below=word_from + band, word_from=word_from)
    batch = Shingler(params).shingle(docs)
    for i in range(len(batch)):
        kind = KINDS[batch.kind[i]]
        doc = docs[batch.doc[i]]
        n = word_n if kind == "word" else short_n
        windows = [doc[j : j + n] for j in range(max(len(doc) - n + 1, 1))]
        assert batch.shingles(i).tolist() == [shingle_hash(w, kind) for w in windows]
    assert sorted(batch.doc.tolist()) == [
        i for i, doc in enumerate(docs) for _ in params.kinds(len(doc))
    ]


def test_shingle_order_and_kind_matter() -> None:
    assert shingle_hash(["a", "b", "c"], "word") != shingle_hash(["b", "a", "c"], "word")
    assert shingle_hash(["a", "b"], "word") != shingle_hash(["a", "b"], "short")
    assert shingle_hash(["ab"], "word") != shingle_hash(["a", "b"], "word")


def test_lsh_bands_for_the_defaults() -> None:
    bands, rows = lsh_bands(128, 0.65, max_miss=2e-3)
    assert (bands, rows) == (32, 4)
    assert 1 - candidate_probability(0.65, bands, rows) <= 2e-3
    assert candidate_probability(0.38, bands, rows) == pytest.approx(0.5, abs=0.01)
    assert candidate_probability(0.1, bands, rows) < 0.01
    assert lsh_bands(4, 0.99, max_miss=1e-9) == (4, 1)


def test_band_index_finds_exactly_the_sets_that_share_a_band() -> None:
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2**32, size=(300, 16), dtype=np.uint32)
    # Every third signature copies one band of an earlier one.
    for i in range(3, 300, 3):
        j = int(rng.integers(0, i))
        band = int(rng.integers(0, 4))
        base[i, band * 4 : band * 4 + 4] = base[j, band * 4 : band * 4 + 4]
    salts = np.zeros(300, dtype=np.uint64)
    keys = band_keys(base, salts, 4, 4)
    index = BandIndex()
    for start in range(0, 200, 17):  # many small runs, merged as they come
        stop = min(start + 17, 200)
        index.add(keys[start:stop], np.arange(start, stop, dtype=np.int64))
    queries, owners = index.query(keys[200:])
    found = sorted(zip((queries + 200).tolist(), owners.tolist(), strict=True))
    # Each pair once per band it shares.
    expected = sorted(
        (q, o)
        for q in range(200, 300)
        for o in range(200)
        for b in range(4)
        if np.array_equal(base[q, b * 4 : b * 4 + 4], base[o, b * 4 : b * 4 + 4])
    )
    assert found == expected
    assert len(index) == 200 * 4
