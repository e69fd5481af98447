"""RFC 9162 Merkle hashing and proofs, pinned by the transparency-dev vectors and properties."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.ledger.log.merkle import (
    EMPTY_ROOT,
    CompactRange,
    Tree,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
    verify_multiproof,
)
from synthguard.provenance.errors import InputError, VerificationError

# The RFC 6962 proof vectors (transparency-dev's testdata) sit beside the repository, in
# ../shared/testdata/rfc6962, or wherever SYNTHGUARD_RFC6962_VECTORS points.
VECTORS = Path(
    os.environ.get("SYNTHGUARD_RFC6962_VECTORS")
    or Path(__file__).parents[4] / "shared" / "testdata" / "rfc6962"
)

# Files that the naming rule (only `happy-path*` verifies) would get wrong: the data marks them
# `wantErr: false` because they are genuinely valid (a one-leaf tree whose root is its leaf hash;
# equal sizes with equal roots and an empty proof).
VALID_WITHOUT_HAPPY_NAME = frozenset(
    {
        "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json",
        "inclusion/single-entry/matching-root-and-leaf.json",
    }
)

# The standard RFC 6962 test tree used by the Go and C++ implementations, and the roots of its
# prefixes of 1..8 leaves.
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]


def _vector_files(kind: str) -> list[Path]:
    folder = VECTORS / kind
    return sorted(folder.rglob("*.json")) if folder.is_dir() else []


def _rel(path: Path) -> str:
    return path.relative_to(VECTORS).as_posix()


def _cases(files: list[Path]) -> list[Any]:
    """The vector files as parameters; without any, one case that skips and says why."""
    if files:
        return [pytest.param(path, id=_rel(path)) for path in files]
    reason = f"RFC 6962 vectors not found at {VECTORS} (set SYNTHGUARD_RFC6962_VECTORS)"
    return [pytest.param(None, id="no-vectors", marks=pytest.mark.skip(reason=reason))]


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _proof(data: dict[str, Any]) -> list[bytes]:
    # The Go generator writes a nil slice as null.
    return [_b64(p) for p in data["proof"] or []]


def _should_verify(path: Path) -> bool:
    return path.name.startswith("happy-path") or _rel(path) in VALID_WITHOUT_HAPPY_NAME


INCLUSION_FILES = _vector_files("inclusion")
CONSISTENCY_FILES = _vector_files("consistency")


def _leaf_hashes(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def _flip(data: bytes, position: int) -> bytes:
    position %= len(data)
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


# Straight transcriptions of RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1, slow but obviously right.
def _mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def _rfc_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*_rfc_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_rfc_path(m - k, leaves[k:]), _mth(leaves[:k])]


def _rfc_subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [_mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*_rfc_subproof(m, leaves[:k], complete), _mth(leaves[k:])]
    return [*_rfc_subproof(m - k, leaves[k:], False), _mth(leaves[:k])]


def test_vector_folders_are_present() -> None:
    if not VECTORS.is_dir() and not os.environ.get("CI"):
        # On a clone outside the workplace; CI always has them, and there this test fails.
        pytest.skip(f"RFC 6962 vectors not found at {VECTORS} (set SYNTHGUARD_RFC6962_VECTORS)")
    assert INCLUSION_FILES, f"no inclusion vectors under {VECTORS}"
    assert CONSISTENCY_FILES, f"no consistency vectors under {VECTORS}"


@pytest.mark.parametrize("path", _cases(INCLUSION_FILES + CONSISTENCY_FILES))
def test_vector_expectation_matches_its_want_err(path: Path) -> None:
    assert _load(path)["wantErr"] is not _should_verify(path)


@pytest.mark.parametrize("path", _cases(INCLUSION_FILES))
def test_inclusion_vector(path: Path) -> None:
    data = _load(path)
    args = (
        _b64(data["leafHash"]),
        data["leafIdx"],
        data["treeSize"],
        _proof(data),
        _b64(data["root"]),
    )
    if _should_verify(path):
        verify_inclusion(*args)
    else:
        with pytest.raises(VerificationError):
            verify_inclusion(*args)


@pytest.mark.parametrize("path", _cases(CONSISTENCY_FILES))
def test_consistency_vector(path: Path) -> None:
    data = _load(path)
    args = (
        data["size1"],
        data["size2"],
        _b64(data["root1"]),
        _b64(data["root2"]),
        _proof(data),
    )
    if _should_verify(path):
        verify_consistency(*args)
    else:
        with pytest.raises(VerificationError):
            verify_consistency(*args)


def test_reference_roots_of_the_standard_tree() -> None:
    hashes = [leaf_hash(entry) for entry in LEAVES]
    tree = Tree(hashes)
    frontier = CompactRange()
    for size in range(1, len(LEAVES) + 1):
        frontier.append(hashes[size - 1])
        assert root(hashes[:size]) == ROOTS[size - 1]
        assert tree.root(size) == ROOTS[size - 1]
        assert frontier.root() == ROOTS[size - 1]
    assert root([]) == tree.root(0) == CompactRange().root() == EMPTY_ROOT


@pytest.mark.parametrize(
    "path", _cases([p for p in INCLUSION_FILES + CONSISTENCY_FILES if p.name == "happy-path.json"])
)
def test_tree_generates_the_happy_path_proofs(path: Path) -> None:
    data = _load(path)
    tree = Tree([leaf_hash(entry) for entry in LEAVES])
    if "leafIdx" in data:
        assert _b64(data["leafHash"]) == leaf_hash(LEAVES[data["leafIdx"]])
        assert _b64(data["root"]) == ROOTS[data["treeSize"] - 1]
        assert tree.inclusion_proof(data["leafIdx"], data["treeSize"]) == _proof(data)
    else:
        assert _b64(data["root1"]) == ROOTS[data["size1"] - 1]
        assert _b64(data["root2"]) == ROOTS[data["size2"] - 1]
        assert tree.consistency_proof(data["size1"], data["size2"]) == _proof(data)


def test_proofs_match_the_rfc_definitions_exhaustively() -> None:
    hashes = _leaf_hashes(40)
    tree = Tree(hashes)
    for size in range(1, len(hashes) + 1):
        assert tree.root(size) == _mth(hashes[:size])
        for index in range(size):
            assert tree.inclusion_proof(index, size) == _rfc_path(index, hashes[:size])
        for old_size in range(1, size):
            assert tree.consistency_proof(old_size, size) == _rfc_subproof(
                old_size, hashes[:size], True
            )


@st.composite
def _size_and_index(draw: st.DrawFn) -> tuple[int, int, int]:
    built = draw(st.integers(1, 300))
    size = draw(st.integers(1, built))
    index = draw(st.integers(0, size - 1))
    return built, size, index


@st.composite
def _two_sizes(draw: st.DrawFn) -> tuple[int, int, int]:
    built = draw(st.integers(1, 300))
    new_size = draw(st.integers(1, built))
    old_size = draw(st.integers(1, new_size))
    return built, old_size, new_size


@given(_size_and_index(), st.integers(0, 10_000))
def test_inclusion_proofs_verify_and_any_flipped_byte_fails(
    case: tuple[int, int, int], where: int
) -> None:
    built, size, index = case
    hashes = _leaf_hashes(built)
    tree = Tree(hashes)
    expected_root = root(hashes[:size])
    proof = tree.inclusion_proof(index, size)
    verify_inclusion(hashes[index], index, size, proof, expected_root)

    with pytest.raises(VerificationError):
        verify_inclusion(hashes[index], index, size, proof, _flip(expected_root, where))
    with pytest.raises(VerificationError):
        verify_inclusion(_flip(hashes[index], where), index, size, proof, expected_root)
    if proof:
        bad = list(proof)
        bad[where % len(bad)] = _flip(bad[where % len(bad)], where // len(bad))
        with pytest.raises(VerificationError):
            verify_inclusion(hashes[index], index, size, bad, expected_root)


@given(_two_sizes(), st.integers(0, 10_000))
def test_consistency_proofs_verify_and_any_flipped_byte_fails(
    case: tuple[int, int, int], where: int
) -> None:
    built, old_size, new_size = case
    hashes = _leaf_hashes(built)
    tree = Tree(hashes)
    old_root, new_root = root(hashes[:old_size]), root(hashes[:new_size])
    proof = tree.consistency_proof(old_size, new_size)
    verify_consistency(old_size, new_size, old_root, new_root, proof)

    with pytest.raises(VerificationError):
        verify_consistency(old_size, new_size, _flip(old_root, where), new_root, proof)
    with pytest.raises(VerificationError):
        verify_consistency(old_size, new_size, old_root, _flip(new_root, where), proof)
    if proof:
        bad = list(proof)
        bad[where % len(bad)] = _flip(bad[where % len(bad)], where // len(bad))
        with pytest.raises(VerificationError):
            verify_consistency(old_size, new_size, old_root, new_root, bad)


@settings(max_examples=50)
@given(st.integers(0, 300))
def test_compact_range_root_matches_every_prefix(n: int) -> None:
    hashes = _leaf_hashes(n)
    frontier = CompactRange()
    assert frontier.root() == root([])
    for size in range(1, n + 1):
        frontier.append(hashes[size - 1])
        assert frontier.size == size
        assert len(frontier.hashes) == size.bit_count()
        assert frontier.root() == root(hashes[:size])


@given(st.integers(0, 300), st.integers(0, 20))
def test_compact_range_round_trips_through_json(n: int, more: int) -> None:
    hashes = _leaf_hashes(n + more)
    frontier = CompactRange()
    frontier.extend(hashes[:n])
    restored = CompactRange.from_dict(json.loads(json.dumps(frontier.to_dict())))
    assert restored == frontier
    assert restored.root() == frontier.root()
    # A restored frontier keeps growing like the original one.
    restored.extend(hashes[n:])
    assert restored.root() == root(hashes)
    rebuilt = CompactRange(frontier.size, frontier.hashes)
    assert rebuilt == frontier


@pytest.mark.parametrize(
    ("size", "hashes"),
    [(-1, []), (0, [EMPTY_ROOT]), (3, [EMPTY_ROOT]), (1, [b"short"])],
    ids=["negative-size", "hash-too-many", "hash-too-few", "short-hash"],
)
def test_compact_range_rejects_a_frontier_that_does_not_fit(size: int, hashes: list[bytes]) -> None:
    with pytest.raises(InputError):
        CompactRange(size, hashes)


@pytest.mark.parametrize(
    "data",
    [{}, {"size": "1", "hashes": []}, {"size": 1, "hashes": ["zz"]}, {"size": True, "hashes": []}],
    ids=["empty", "size-not-int", "not-hex", "size-bool"],
)
def test_compact_range_from_dict_rejects_malformed_data(data: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        CompactRange.from_dict(data)


def test_hashes_must_be_32_bytes() -> None:
    with pytest.raises(InputError):
        root([EMPTY_ROOT, b"short"])
    with pytest.raises(InputError):
        Tree([b"short"])
    with pytest.raises(InputError):
        CompactRange().append(b"short")


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("root", (6,)),
        ("root", (-1,)),
        ("inclusion_proof", (0, 6)),
        ("inclusion_proof", (5, 5)),
        ("inclusion_proof", (-1, 5)),
        ("inclusion_proof", (0, 0)),
        ("consistency_proof", (3, 6)),
        ("consistency_proof", (4, 3)),
        ("consistency_proof", (-1, 3)),
    ],
)
def test_tree_rejects_sizes_and_indexes_out_of_range(method: str, args: tuple[int, ...]) -> None:
    tree = Tree(_leaf_hashes(5))
    with pytest.raises(InputError):
        getattr(tree, method)(*args)


def test_trivial_consistency_proofs_are_empty() -> None:
    tree = Tree(_leaf_hashes(5))
    assert tree.consistency_proof(0, 5) == []
    assert tree.consistency_proof(3, 3) == []
    assert tree.consistency_proof(0, 0) == []


def test_inclusion_edge_cases_are_rejected() -> None:
    h = leaf_hash(b"x")
    for index, size in ((0, 0), (1, 1), (-1, 1)):
        with pytest.raises(VerificationError, match="not inside"):
            verify_inclusion(h, index, size, [], h)
    with pytest.raises(VerificationError, match="too short"):
        verify_inclusion(h, 0, 2, [], h)
    with pytest.raises(VerificationError, match="too long"):
        verify_inclusion(h, 0, 1, [h], h)


def test_consistency_edge_cases() -> None:
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(3, 3, a, a, [])
    with pytest.raises(VerificationError, match="larger"):
        verify_consistency(2, 1, a, b, [])
    with pytest.raises(VerificationError, match="must be empty"):
        verify_consistency(3, 3, a, a, [a])
    with pytest.raises(VerificationError, match="differ"):
        verify_consistency(3, 3, a, b, [])
    with pytest.raises(VerificationError, match="empty tree"):
        verify_consistency(0, 0, a, a, [])
    with pytest.raises(VerificationError, match="proves nothing"):
        verify_consistency(0, 1, EMPTY_ROOT, a, [])
    with pytest.raises(VerificationError, match="is empty"):
        verify_consistency(1, 2, a, node_hash(a, b), [])
    verify_consistency(1, 2, a, node_hash(a, b), [b])


@st.composite
def _size_and_indices(draw: st.DrawFn) -> tuple[int, int, list[int]]:
    built = draw(st.integers(1, 300))
    size = draw(st.integers(1, built))
    indices = draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=size, unique=True))
    return built, size, sorted(indices)


@given(_size_and_indices(), st.integers(0, 10_000))
def test_multiproofs_verify_and_every_change_fails(
    case: tuple[int, int, list[int]], where: int
) -> None:
    built, size, indices = case
    hashes = _leaf_hashes(built)
    tree = Tree(hashes)
    expected_root = root(hashes[:size])
    leaves = [(i, hashes[i]) for i in indices]
    nodes = tree.multiproof(indices, size)
    verify_multiproof(leaves, size, nodes, expected_root)

    with pytest.raises(VerificationError, match="leads to root"):
        verify_multiproof(leaves, size, nodes, _flip(expected_root, where))
    pick = where % len(leaves)
    flipped = [
        *leaves[:pick],
        (leaves[pick][0], _flip(leaves[pick][1], where)),
        *leaves[pick + 1 :],
    ]
    with pytest.raises(VerificationError, match="leads to root"):
        verify_multiproof(flipped, size, nodes, expected_root)
    with pytest.raises(VerificationError, match="more than"):
        verify_multiproof(leaves, size, [*nodes, expected_root], expected_root)
    if nodes:
        spot = where % len(nodes)
        changed = [*nodes[:spot], _flip(nodes[spot], where), *nodes[spot + 1 :]]
        with pytest.raises(VerificationError, match="leads to root"):
            verify_multiproof(leaves, size, changed, expected_root)
        with pytest.raises(VerificationError, match="too few"):
            verify_multiproof(leaves, size, nodes[:spot], expected_root)
    free = [i for i in range(size) if i not in indices]
    if free:
        # A leaf moved to an index it does not hold: the root, or the node count, says so.
        moved = sorted(
            [*leaves[:pick], (free[where % len(free)], leaves[pick][1]), *leaves[pick + 1 :]]
        )
        with pytest.raises(VerificationError):
            verify_multiproof(moved, size, nodes, expected_root)


@given(_size_and_index())
def test_a_one_leaf_multiproof_is_its_inclusion_proof(case: tuple[int, int, int]) -> None:
    built, size, index = case
    tree = Tree(_leaf_hashes(built))
    assert tree.multiproof([index], size) == tree.inclusion_proof(index, size)


def test_a_multiproof_of_every_leaf_is_empty_and_shares_nodes_otherwise() -> None:
    tree = Tree(_leaf_hashes(1000))
    assert tree.multiproof(list(range(1000)), 1000) == []
    pair = tree.multiproof([0, 1], 1000)
    assert pair == tree.inclusion_proof(0, 1000)[1:]  # the pair's sibling hashes are shared


@pytest.mark.parametrize(
    ("leaves", "size", "message"),
    [
        ([], 4, "at least one leaf"),
        ([(4, leaf_hash(b"x"))], 4, "not inside"),
        ([(-1, leaf_hash(b"x"))], 4, "not inside"),
        ([(2, leaf_hash(b"x")), (1, leaf_hash(b"y"))], 4, "out of order or repeated"),
        ([(1, leaf_hash(b"x")), (1, leaf_hash(b"x"))], 4, "out of order or repeated"),
        ([(1, b"short")], 4, "leaf hash is 5 bytes"),
    ],
)
def test_multiproof_leaves_must_be_sorted_distinct_hashes_in_range(
    leaves: list[tuple[int, bytes]], size: int, message: str
) -> None:
    with pytest.raises(VerificationError, match=message):
        verify_multiproof(leaves, size, [], EMPTY_ROOT)


def test_multiproof_nodes_must_be_hashes() -> None:
    tree = Tree(_leaf_hashes(4))
    with pytest.raises(VerificationError, match="node 1 is 3 bytes"):
        verify_multiproof([(0, _leaf_hashes(4)[0])], 4, [b"abc", b"x" * 32], tree.root())


@pytest.mark.parametrize("indices", [[3, 1], [1, 1], [5], [-1]])
def test_tree_refuses_a_multiproof_of_bad_indices(indices: list[int]) -> None:
    with pytest.raises(InputError):
        Tree(_leaf_hashes(5)).multiproof(indices, 5)
