"""The persisted dedup index: later runs see earlier ones, saves are compacted, and a damaged
folder, other parameters or a crash while saving are each one clear error or a clean state. The
shingle sets it keeps are each sketch's distinct shingles, sorted."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from dedup_texts import chain, edited, failures, sample, shouted, words
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.guards.dedup.guard import DedupGuard
from synthguard.guards.dedup.index import DedupIndex, index_path, unique_sets
from synthguard.guards.verdict import Verdict
from synthguard.ledger.home import Home
from synthguard.provenance.errors import InputError


def screen(path: Path, texts: list[list[str]], **params: object) -> dict[int, Verdict]:
    """One screen run over an index folder: open, check, save."""
    guard = DedupGuard(DedupIndex.open(path), **params)  # type: ignore[arg-type]
    found = failures(guard.check([sample(t) for t in texts]))
    guard.save()
    return found


def test_a_copy_of_a_copy_quarantined_in_an_earlier_run_is_a_copy(tmp_path: Path) -> None:
    a, b, c = chain(random.Random(12))
    path = tmp_path / "dedup"
    assert set(screen(path, [a, b])) == {1}
    (verdict,) = screen(path, [c]).values()
    assert verdict.detail["duplicate_of"] == sample(b).id


def test_a_later_run_deduplicates_against_the_saved_index(tmp_path: Path) -> None:
    rng = random.Random(6)
    path = tmp_path / "dedup"
    first = [words(rng, rng.randrange(5, 250)) for _ in range(100)]
    assert screen(path, first) == {}
    later = [
        edited(rng, first[10], 0.05, "sub"),
        words(rng, 80),
        shouted(first[20]),
        edited(rng, first[30], 0.02, "ins"),
    ]
    found = screen(path, later)
    assert {p: (v.rule, v.detail["duplicate_of"]) for p, v in found.items()} == {
        0: ("near", sample(first[10]).id),
        2: ("exact", sample(first[20]).id),
        3: ("near", sample(first[30]).id),
    }
    # The third run sees both earlier ones: run two's new text and its near copies are indexed
    # too (a copy of a quarantined copy is a copy), its exact copy is not (it adds nothing).
    assert len(DedupIndex.open(path)) == 103
    found = screen(path, [shouted(later[1]), shouted(first[0]), edited(rng, later[0], 0.02, "sub")])
    assert {p: (v.rule, v.detail["duplicate_of"]) for p, v in found.items() if p < 2} == {
        0: ("exact", sample(later[1]).id),
        1: ("exact", sample(first[0]).id),
    }
    assert found[2].rule == "near"


def test_the_index_lives_in_the_home(tmp_path: Path) -> None:
    home = Home(tmp_path / ".synthguard")
    guard = DedupGuard(DedupIndex.at(home))
    guard.check([sample("a text that is remembered across runs of the screen")])
    guard.save()
    assert (index_path(home) / "manifest.json").exists()
    again = DedupGuard(DedupIndex.at(home))
    assert len(again.check([sample("A text that is remembered across runs of the screen.")])) == 1


def test_many_saves_are_compacted(tmp_path: Path) -> None:
    rng = random.Random(7)
    path = tmp_path / "dedup"
    texts = [words(rng, 40) for _ in range(20)]
    for text in texts:
        assert screen(path, [text]) == {}
    manifest = json.loads((path / "manifest.json").read_text())
    assert len(manifest["segments"]) < 5
    assert sorted(p.name for p in path.glob("segment-*")) == sorted(
        s["file"] for s in manifest["segments"]
    )
    assert set(screen(path, [edited(rng, t, 0.05, "sub") for t in texts])) == set(range(20))


def test_an_in_memory_index_saves_nothing(tmp_path: Path) -> None:
    guard = DedupGuard()
    guard.check([sample("nothing to see")])
    guard.save()
    assert guard.index.path is None


def test_other_parameters_are_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "dedup"
    screen(path, [["some", "words"]])
    with pytest.raises(InputError, match=r"num_perm=128 \(asked 64\)") as caught:
        DedupGuard(DedupIndex.open(path), num_perm=64)
    assert "\n" not in str(caught.value)
    # The decision threshold is not part of the sketches: changing it is fine.
    DedupGuard(DedupIndex.open(path), threshold=0.8)


def damage_segment(path: Path) -> None:
    segment = next(path.glob("segment-*.npz"))
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF
    segment.write_bytes(bytes(data))


def damage_manifest(path: Path) -> None:
    (path / "manifest.json").write_text('{"format": "synthguard-dedup-index/1", "params"')


def lose_segment(path: Path) -> None:
    next(path.glob("segment-*.npz")).unlink()


def foreign_manifest(path: Path) -> None:
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["segments"][0]["file"] = "../../etc/passwd"
    (path / "manifest.json").write_text(json.dumps(manifest))


def wrong_counts(path: Path) -> None:
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["segments"][0]["docs"] += 1
    (path / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "damage", [damage_segment, damage_manifest, lose_segment, foreign_manifest, wrong_counts]
)
def test_a_damaged_index_is_one_clear_error(tmp_path: Path, damage: Callable[[Path], None]) -> None:
    path = tmp_path / "dedup"
    screen(path, [words(random.Random(8), 30)])
    damage(path)
    with pytest.raises(InputError, match=r"the dedup index at .* is damaged") as caught:
        DedupIndex.open(path)
    assert "\n" not in str(caught.value)


def test_a_crash_while_saving_leaves_the_previous_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(9)
    path = tmp_path / "dedup"
    kept = words(rng, 50)
    screen(path, [kept])
    real_replace = os.replace

    def crash_at_manifest(src: str | Path, dst: str | Path) -> None:
        if Path(dst).name == "manifest.json":
            raise OSError(5, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_at_manifest)
    guard = DedupGuard(DedupIndex.open(path))
    lost = words(rng, 50)
    guard.check([sample(lost)])
    with pytest.raises(InputError, match="cannot write"):
        guard.save()
    monkeypatch.undo()
    # The new segment was written, but the manifest that would name it was not.
    assert len(list(path.glob("segment-*.npz"))) == 2
    assert not list(path.glob(".*.tmp"))
    reopened = DedupIndex.open(path)
    assert len(reopened) == 1
    # Only the first run is remembered: a copy of its text is a duplicate, one of the lost not.
    assert screen(path, [shouted(kept), shouted(lost)]).keys() == {0}


# Values that differ only in their low bits, or not at all: sorting on the top bits ties.
close_values = st.integers(min_value=0, max_value=7).map(lambda low: (0xABCD << 48) | low)
any_values = st.integers(min_value=0, max_value=2**64 - 1)


@settings(max_examples=300)
@given(st.lists(st.lists(st.one_of(close_values, any_values), max_size=12), max_size=40))
def test_unique_sets_are_each_set_s_distinct_values_sorted(sets: list[list[int]]) -> None:
    offsets = np.cumsum([0] + [len(values) for values in sets]).astype(np.int64)
    flat = np.array([v for values in sets for v in values], dtype=np.uint64)
    for order in (None, np.arange(len(sets), dtype=np.int64)[::-1].copy()):
        values, out = unique_sets(flat, offsets, order)
        wanted = sets if order is None else [sets[i] for i in order]
        got = [values[out[i] : out[i + 1]].tolist() for i in range(len(sets))]
        assert got == [sorted(set(values)) for values in wanted]
