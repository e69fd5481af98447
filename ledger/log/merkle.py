"""RFC 9162 (RFC 6962) Merkle tree hashing, proofs and proof checking over SHA-256.

Leaves hash as SHA-256(0x00 || entry), interior nodes as SHA-256(0x01 || left || right), and a
tree of n leaves splits at the largest power of two below n (left-balanced). Everything here is a
pure function of bytes and ints; storing leaves and frontiers is the ledger's job.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any

from synthguard.provenance.errors import InputError, VerificationError

HASH_SIZE = 32
"""Length in bytes of every leaf, node and root hash."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root of the tree with no leaves (RFC 9162 2.1.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256
_EDGE_CACHE_SIZE = 4096


def leaf_hash(entry: bytes) -> bytes:
    """Return the leaf hash SHA-256(0x00 || entry)."""
    return _sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the interior node hash SHA-256(0x01 || left || right)."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _check_hashes(hashes: Iterable[bytes], what: str) -> None:
    for i, h in enumerate(hashes):
        if len(h) != HASH_SIZE:
            raise InputError(f"{what}[{i}] is {len(h)} bytes, want {HASH_SIZE}")


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash (RFC 9162 2.1.1) of a list of leaf hashes.

    Hashes level by level; a level's odd last node moves up unchanged, which gives exactly the
    left-balanced tree of the RFC. Raises InputError if a leaf hash is not 32 bytes.
    """
    _check_hashes(leaf_hashes, "leaf_hashes")
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        pairs = iter(level)
        # An odd last node has no partner here; it is carried up unchanged just below.
        upper = [_sha256(_NODE_PREFIX + a + b).digest() for a, b in zip(pairs, pairs, strict=False)]
        if len(level) % 2:
            upper.append(level[-1])
        level = upper
    return level[0]


def _fold_right(hashes: Sequence[bytes]) -> bytes:
    # Perfect subtrees listed left to right, largest first, join right to left: that is the
    # left-balanced tree over their leaves.
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


class CompactRange:
    """The frontier of a tree: the roots of the perfect subtrees along its right edge.

    A tree of `size` leaves has one perfect subtree per set bit of `size`, largest (leftmost)
    first. That is all that is needed to append a leaf in O(log n) and to compute the current
    root without rereading the leaves.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        """Start from a stored frontier; InputError if `hashes` does not fit `size`."""
        if size < 0:
            raise InputError(f"compact range size {size} is negative")
        if len(hashes) != size.bit_count():
            raise InputError(
                f"compact range of size {size} needs {size.bit_count()} hashes, got {len(hashes)}"
            )
        _check_hashes(hashes, "hashes")
        self._size = size
        self._hashes = list(hashes)

    @property
    def size(self) -> int:
        """Number of leaves covered."""
        return self._size

    @property
    def hashes(self) -> list[bytes]:
        """Roots of the perfect subtrees, leftmost (largest) first; a copy."""
        return list(self._hashes)

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf hash on the right, merging the perfect subtrees it completes."""
        if len(leaf_hash) != HASH_SIZE:
            raise InputError(f"leaf hash is {len(leaf_hash)} bytes, want {HASH_SIZE}")
        hashes = self._hashes
        hashes.append(leaf_hash)
        # Each trailing one bit of the old size is a same-sized subtree that the new one completes.
        carry = self._size
        while carry & 1:
            right = hashes.pop()
            hashes[-1] = node_hash(hashes[-1], right)
            carry >>= 1
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes in order."""
        for h in leaf_hashes:
            self.append(h)

    def root(self) -> bytes:
        """Return the root of the tree covered so far (EMPTY_ROOT when empty)."""
        if not self._hashes:
            return EMPTY_ROOT
        return _fold_right(self._hashes)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready form: `{"size": n, "hashes": [hex, ...]}`."""
        return {"size": self._size, "hashes": [h.hex() for h in self._hashes]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CompactRange:
        """Rebuild from `to_dict` output; InputError if it is malformed."""
        size = data.get("size")
        hashes = data.get("hashes")
        if not isinstance(size, int) or isinstance(size, bool):
            raise InputError("compact range 'size' must be an integer")
        if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
            raise InputError("compact range 'hashes' must be a list of hex strings")
        try:
            raw = [bytes.fromhex(h) for h in hashes]
        except ValueError as exc:
            raise InputError("compact range 'hashes' must be a list of hex strings") from exc
        return cls(size, raw)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    def __hash__(self) -> int:
        return hash((self._size, tuple(self._hashes)))

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"


class Tree:
    """All complete subtree hashes of a fixed list of leaves, for roots and proofs of any prefix.

    Level k holds the hashes of the n >> k perfect subtrees of 2**k leaves, each level packed in
    one bytes object (32 bytes a node) to keep a million-leaf tree near 64 MB. Building costs
    n - 1 hashes; `root`, `inclusion_proof` and `consistency_proof` then cost O(log n) each,
    because only the one partial subtree on the right edge of a prefix needs hashing.
    """

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        """Hash every complete subtree of the leaves; InputError if a hash is not 32 bytes."""
        _check_hashes(leaf_hashes, "leaf_hashes")
        self._size = len(leaf_hashes)
        level = b"".join(leaf_hashes)
        self._levels = [level]
        while len(level) >= 2 * HASH_SIZE:
            view = memoryview(level)
            last = len(level) - 2 * HASH_SIZE
            level = b"".join(
                [
                    _sha256(_NODE_PREFIX + view[i : i + 2 * HASH_SIZE]).digest()
                    for i in range(0, last + 1, 2 * HASH_SIZE)
                ]
            )
            self._levels.append(level)
        self._edges: dict[tuple[int, int], bytes] = {}

    @property
    def size(self) -> int:
        """Number of leaves."""
        return self._size

    def _node(self, level: int, index: int) -> bytes:
        start = index * HASH_SIZE
        return self._levels[level][start : start + HASH_SIZE]

    def _range_hash(self, start: int, end: int) -> bytes:
        # Hash of leaves [start, end), where start is a multiple of the largest power of two
        # <= end - start: the range splits into stored perfect subtrees, largest first.
        parts: list[bytes] = []
        pos = start
        for level in range((end - start).bit_length() - 1, -1, -1):
            if (end - start) >> level & 1:
                parts.append(self._node(level, pos >> level))
                pos += 1 << level
        return _fold_right(parts)

    def _edge_hash(self, start: int, end: int) -> bytes:
        key = (start, end)
        cached = self._edges.get(key)
        if cached is None:
            if len(self._edges) >= _EDGE_CACHE_SIZE:
                self._edges.clear()
            cached = self._edges[key] = self._range_hash(start, end)
        return cached

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self._size:
            raise InputError(f"tree size {size} is outside 0..{self._size}")

    def root(self, size: int | None = None) -> bytes:
        """Return the root of the first `size` leaves (all of them by default)."""
        if size is None:
            size = self._size
        self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        return self._range_hash(0, size)

    def _path(self, index: int, level: int, size: int) -> list[bytes]:
        # Audit path of node (level, index) in the tree of `size` leaves, bottom up: the sibling
        # at each level, skipping levels where the node is a lone last node carried up unchanged.
        proof: list[bytes] = []
        levels = self._levels
        while (last := (size - 1) >> level) > 0:
            sibling = index ^ 1
            if sibling <= last:
                if (sibling + 1) << level <= size:
                    start = sibling * HASH_SIZE
                    proof.append(levels[level][start : start + HASH_SIZE])
                else:
                    # The partial subtree on the right edge: at most one per path, and the same
                    # few for every proof into one tree size, so worth remembering.
                    proof.append(self._edge_hash(sibling << level, size))
            index >>= 1
            level += 1
        return proof

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """Return the audit path (RFC 9162 2.1.3.1) of leaf `index` in the first `size` leaves."""
        self._check_size(size)
        if not 0 <= index < size:
            raise InputError(f"leaf index {index} is outside 0..{size - 1}")
        return self._path(index, 0, size)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """Return the consistency proof (RFC 9162 2.1.4.1) from `old_size` to `new_size` leaves.

        Empty when the sizes are equal or `old_size` is 0.
        """
        self._check_size(new_size)
        if not 0 <= old_size <= new_size:
            raise InputError(f"old size {old_size} is outside 0..{new_size}")
        if old_size in (0, new_size):
            return []
        # The old tree's rightmost perfect subtree, proven into the new tree; the verifier
        # already holds it when it is the whole old tree (old_size a power of two).
        level = (old_size & -old_size).bit_length() - 1
        index = (old_size - 1) >> level
        path = self._path(index, level, new_size)
        if index == 0:
            return path
        return [self._node(level, index), *path]

    def multiproof(self, indices: Sequence[int], size: int) -> list[bytes]:
        """Return the nodes that, with the leaves at `indices` (sorted, distinct), rebuild the
        root of the first `size` leaves: `verify_multiproof` explains their order."""
        self._check_size(size)
        if any(not 0 <= i < size for i in indices) or any(a >= b for a, b in pairwise(indices)):
            raise InputError(f"leaf indexes must be sorted, distinct and inside 0..{size - 1}")
        nodes: list[bytes] = []
        level, width, known = 0, size, list(indices)
        while width > 1:
            upper: list[int] = []
            for i, index in enumerate(known):
                if index & 1 and i and known[i - 1] == index - 1:
                    continue  # the right half of a pair already taken with its left half
                sibling = index ^ 1
                if sibling < width and not (i + 1 < len(known) and known[i + 1] == sibling):
                    nodes.append(self._level_node(level, sibling, size))
                upper.append(index >> 1)
            level, width, known = level + 1, (width + 1) >> 1, upper
        return nodes

    def _level_node(self, level: int, index: int, size: int) -> bytes:
        # Node `index` of `level` in the tree of `size` leaves: its leaves are
        # [index << level, (index + 1) << level) cut at `size`.
        if (index + 1) << level <= size:
            return self._node(level, index)
        return self._edge_hash(index << level, size)


def verify_multiproof(
    leaves: Sequence[tuple[int, bytes]], size: int, nodes: Iterable[bytes], root: bytes
) -> None:
    """Check that `leaves`, (index, leaf hash) sorted by distinct index, are leaves of the tree
    of `size` leaves with `root`, given the other `nodes` needed to rebuild that root.

    The tree is rebuilt level by level, bottom up: level k has ceil(size / 2**k) nodes, node j
    over leaves [j * 2**k, (j + 1) * 2**k) cut at `size`, and a level's odd last node moves up
    unchanged (RFC 9162's left-balanced tree). At each level, left to right, every node that is
    the sibling of a node known so far and cannot itself be computed is the next of `nodes`:
    that order is the only one accepted, and every node must be used, so a bundle has exactly
    one valid node list. Returns None on success, raises VerificationError otherwise.
    """
    if not leaves:
        raise VerificationError("a multiproof needs at least one leaf")
    supply = iter(nodes)
    used = 0
    known: list[tuple[int, bytes]] = []
    for index, leaf in leaves:
        if not 0 <= index < size:
            raise VerificationError(f"leaf index {index} is not inside a tree of size {size}")
        if known and index <= known[-1][0]:
            raise VerificationError(f"leaf index {index} is out of order or repeated")
        if len(leaf) != HASH_SIZE:
            raise VerificationError(f"leaf hash is {len(leaf)} bytes, want {HASH_SIZE}")
        known.append((index, leaf))
    width = size
    while width > 1:
        upper: list[tuple[int, bytes]] = []
        i = 0
        while i < len(known):
            index, value = known[i]
            i += 1
            if index & 1:
                used += 1
                value = node_hash(_proof_node(next(supply, None), used), value)
            elif index + 1 < width:
                if i < len(known) and known[i][0] == index + 1:
                    value = node_hash(value, known[i][1])
                    i += 1
                else:
                    used += 1
                    value = node_hash(value, _proof_node(next(supply, None), used))
            upper.append((index >> 1, value))
        known, width = upper, (width + 1) >> 1
    if next(supply, None) is not None:
        raise VerificationError(f"the multiproof has more than the {used} nodes it needs")
    if known[0][1] != root:
        raise VerificationError(
            f"the multiproof of {len(leaves)} leaves of {size} leads to root "
            f"{known[0][1].hex()}, not the expected {root.hex()}"
        )


def _proof_node(node: bytes | None, number: int) -> bytes:
    """Node `number` (from 1) of a multiproof, checked: there, and a hash."""
    if node is None:
        raise VerificationError(f"the multiproof ends after {number - 1} nodes, too few")
    if len(node) != HASH_SIZE:
        raise VerificationError(f"multiproof node {number} is {len(node)} bytes, want {HASH_SIZE}")
    return node


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for i, h in enumerate(proof):
        if len(h) != HASH_SIZE:
            raise VerificationError(f"proof[{i}] is {len(h)} bytes, want {HASH_SIZE}")


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `leaf_hash` is leaf `index` of the tree of `size` leaves with `root`.

    RFC 9162 2.1.3.2. Returns None on success, raises VerificationError otherwise.
    """
    if not 0 <= index < size:
        raise VerificationError(f"leaf index {index} is not inside a tree of size {size}")
    if len(leaf_hash) != HASH_SIZE:
        raise VerificationError(f"leaf hash is {len(leaf_hash)} bytes, want {HASH_SIZE}")
    _check_proof_hashes(proof)
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise VerificationError(
                f"inclusion proof for leaf {index} of {size} is too long ({len(proof)} hashes)"
            )
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # Skip the levels where this node is a lone last node carried up unchanged.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(
            f"inclusion proof for leaf {index} of {size} is too short ({len(proof)} hashes)"
        )
    if r != root:
        raise VerificationError(
            f"inclusion proof for leaf {index} of {size} leads to root {r.hex()}, "
            f"not the expected {root.hex()}"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of `new_size` leaves with `new_root` extends the one with `old_root`.

    RFC 9162 2.1.4.2. Equal sizes need an empty proof and equal roots (EMPTY_ROOT for size 0).
    A proof from the empty tree (old_size 0 < new_size) is rejected, as in transparency-dev:
    it would prove nothing, so a caller starting from nothing should check `new_root` itself.
    Returns None on success, raises VerificationError otherwise.
    """
    if old_size < 0 or new_size < 0:
        raise VerificationError(f"tree sizes {old_size} and {new_size} must not be negative")
    if old_size > new_size:
        raise VerificationError(f"old tree size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if proof:
            raise VerificationError(
                f"consistency proof between equal sizes {old_size} must be empty, "
                f"got {len(proof)} hashes"
            )
        if old_size == 0 and (old_root != EMPTY_ROOT or new_root != EMPTY_ROOT):
            raise VerificationError("the root of an empty tree must be SHA-256 of nothing")
        if old_root != new_root:
            raise VerificationError(
                f"roots of the same tree size {old_size} differ: "
                f"{old_root.hex()} and {new_root.hex()}"
            )
        return
    if old_size == 0:
        raise VerificationError("a consistency proof from the empty tree proves nothing")
    if not proof:
        raise VerificationError(f"consistency proof from {old_size} to {new_size} is empty")
    _check_proof_hashes(proof)
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is itself the perfect subtree the proof starts from.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError(
                f"consistency proof from {old_size} to {new_size} is too long ({len(proof)} hashes)"
            )
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(
            f"consistency proof from {old_size} to {new_size} is too short ({len(proof)} hashes)"
        )
    if fr != old_root:
        raise VerificationError(
            f"consistency proof leads to old root {fr.hex()}, not the expected {old_root.hex()}"
        )
    if sr != new_root:
        raise VerificationError(
            f"consistency proof leads to new root {sr.hex()}, not the expected {new_root.hex()}"
        )
