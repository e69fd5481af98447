from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.cli.demo.models import BuiltinGenerator
from synthguard.guards.dedup.guard import (
    DEFAULT_THRESHOLD,
    DedupGuard,
    DedupIndex,
    index_path,
)
from synthguard.guards.dedup.normalise import normalised_words
from synthguard.guards.dedup.shingles import Shingler
from synthguard.guards.verdict import DatasetGuard, Verdict
from synthguard.ledger.home import Home
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import Sample, as_sample, sample_from_row, sample_text

ONSETS = ["b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "v", "w", "st", "tr"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou"]
CODAS = ["", "", "n", "r", "s", "t", "l", "nd", "st", "ng"]


def vocabulary(size: int, seed: int = 7) -> list[str]:
    """Pronounceable made-up words of one to four syllables."""
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < size:
        syllables = rng.choice([1, 1, 1, 2, 2, 2, 2, 3, 3, 4])
        words.add(
            "".join(
                rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)
                for _ in range(syllables)
            )
        )
    return sorted(words)


VOCAB = vocabulary(5000)


def words(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(VOCAB) for _ in range(n)]


def edited(rng: random.Random, text: list[str], rate: float, op: str) -> list[str]:
    """A copy with `rate` of its words (at least one) substituted, inserted or deleted."""
    copy = list(text)
    for _ in range(max(1, int(rate * len(text)))):
        i = rng.randrange(len(copy))
        if op == "sub":
            copy[i] = rng.choice([w for w in rng.sample(VOCAB, 2) if w != copy[i]])
        elif op == "ins":
            copy.insert(i, rng.choice(VOCAB))
        else:
            del copy[i]
    return copy


def sample(text: list[str] | str) -> Sample:
    return as_sample(text if isinstance(text, str) else " ".join(text))


def shouted(text: list[str]) -> list[str]:
    """Another sample (another id) with the same normalised text: an exact copy."""
    return [word.upper() for word in text[:-1]] + [text[-1].upper() + "!"]


def failures(verdicts: list[Verdict]) -> dict[int, Verdict]:
    assert all(not v.passed for v in verdicts)
    assert all(v.position is not None for v in verdicts)
    return {v.position: v for v in verdicts if v.position is not None}


def test_the_guard_is_a_dataset_guard() -> None:
    guard: DatasetGuard = DedupGuard()
    assert guard.info.family == "dedup"
    assert guard.finish() == []
    assert DedupGuard().info == guard.info
    assert DedupGuard(threshold=0.8).info.config_digest != guard.info.config_digest


def test_an_exact_copy_fails_with_the_id_it_duplicates() -> None:
    rng = random.Random(1)
    original = sample(words(rng, 30))
    other = sample(words(rng, 30))
    copy = sample(original.content["text"].upper().replace(" ", "\u200b  ", 3) + "!")
    verdicts = DedupGuard().check([original, other, copy])
    assert len(verdicts) == 1
    (verdict,) = verdicts
    assert verdict.sample_id == copy.id
    assert verdict.position == 2
    assert verdict.rule == "exact"
    assert verdict.detail == {"duplicate_of": original.id, "jaccard": 1.0}
    assert verdict.reason()["guard"] == "dedup"


def test_identical_rows_keep_the_first() -> None:
    text = sample("the same row twice")
    verdicts = DedupGuard().check([text, text])
    assert [(v.position, v.sample_id, v.detail["duplicate_of"]) for v in verdicts] == [
        (1, text.id, text.id)
    ]


def test_a_near_copy_fails_with_the_id_and_jaccard() -> None:
    rng = random.Random(2)
    original = words(rng, 200)
    copy = edited(rng, original, 0.05, "sub")
    guard = DedupGuard()
    (verdict,) = guard.check([sample(original), sample(words(rng, 200)), sample(copy)])
    assert verdict.rule == "near"
    assert verdict.position == 2
    assert verdict.detail["duplicate_of"] == sample(original).id
    assert DEFAULT_THRESHOLD <= verdict.detail["jaccard"] < 1
    assert verdict.score == pytest.approx(verdict.detail["jaccard"])
    assert verdict.threshold == DEFAULT_THRESHOLD


def test_the_first_occurrence_stays_whichever_it_is() -> None:
    rng = random.Random(3)
    original = words(rng, 120)
    copy = edited(rng, original, 0.02, "ins")
    (verdict,) = DedupGuard().check([sample(copy), sample(original)])
    assert (verdict.position, verdict.detail["duplicate_of"]) == (1, sample(copy).id)


def test_positions_count_across_batches() -> None:
    rng = random.Random(4)
    original = words(rng, 60)
    guard = DedupGuard()
    assert guard.check([sample(original), sample(words(rng, 60))]) == []
    verdicts = guard.check([sample(words(rng, 60)), sample(edited(rng, original, 0.02, "del"))])
    assert [v.position for v in verdicts] == [3]
    assert guard.finish() == []
    # The next pass counts from 0; the same sample again is itself, an upper-case copy a copy.
    (again,) = guard.check([sample(original), sample(" ".join(original).upper())])
    assert (again.position, again.rule) == (1, "exact")


@pytest.mark.parametrize("length", [12, 200])
@pytest.mark.parametrize("rate", [0.01, 0.02, 0.05])
@pytest.mark.parametrize("op", ["sub", "ins", "del"])
def test_recall_on_edited_copies(length: int, rate: float, op: str) -> None:
    rng = random.Random(f"{length}-{rate}-{op}")
    originals = [words(rng, length) for _ in range(150)]
    copies = [edited(rng, text, rate, op) for text in originals]
    guard = DedupGuard()
    assert guard.check([sample(t) for t in originals]) == []
    found = failures(guard.check([sample(t) for t in copies]))
    recall = len(found) / len(copies)
    assert recall >= 0.98, f"recall {recall:.3f} at {rate:.0%} {op} on {length} words"
    for position, verdict in found.items():
        assert verdict.detail["duplicate_of"] == sample(originals[position - 150]).id


@pytest.mark.parametrize("content", [12, 50, 200])
def test_unrelated_texts_sharing_a_preamble_pass(content: int) -> None:
    rng = random.Random(content)
    preamble = words(rng, 20)
    texts = [sample(preamble + words(rng, content)) for _ in range(200)]
    assert DedupGuard().check(texts) == []


def test_unrelated_short_and_long_texts_pass() -> None:
    rng = random.Random(5)
    texts = [sample(words(rng, rng.randrange(1, 300))) for _ in range(500)]
    assert DedupGuard().check(texts) == []


@pytest.mark.parametrize(("length", "op"), [(15, "ins"), (16, "del"), (23, "ins"), (24, "del")])
def test_a_copy_crossing_the_shingle_kind_boundary_is_caught(length: int, op: str) -> None:
    # Texts under 24 words get short-text shingles, from 16 words word shingles: a copy one word
    # longer or shorter still shares a kind with its original.
    rng = random.Random(length)
    found = 0
    for _ in range(50):
        original = words(rng, length)
        guard = DedupGuard()
        found += len(guard.check([sample(original), sample(edited(rng, original, 0.0, op))]))
    assert found >= 49


def test_texts_without_words_are_only_exact_copies_of_themselves() -> None:
    verdicts = DedupGuard().check([sample("!!!"), sample("???"), sample("!!!"), sample("...")])
    assert [v.position for v in verdicts] == [2]


def chain(rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    """A, B = A with words 5 and 15 replaced, C = B with words 25 and 35 replaced: each step
    changes 6 of 38 word 3-grams (J = 32/44 = 0.73), A to C 12 (J = 26/50 = 0.52)."""
    a = words(rng, 40)
    b, c = list(a), list(a)
    for i in (5, 15):
        b[i] = c[i] = f"fresh{i}"
    for i in (25, 35):
        c[i] = f"fresh{i}"
    return a, b, c


def test_a_copy_of_a_quarantined_copy_is_a_copy() -> None:
    a, b, c = chain(random.Random(11))
    verdicts = DedupGuard().check([sample(a), sample(b), sample(c)])
    assert [(v.position, v.rule, v.detail["duplicate_of"]) for v in verdicts] == [
        (1, "near", sample(a).id),
        (2, "near", sample(b).id),
    ]
    assert verdicts[1].detail["jaccard"] == pytest.approx(32 / 44)


def test_a_copy_of_a_copy_quarantined_in_an_earlier_run_is_a_copy(tmp_path: Path) -> None:
    a, b, c = chain(random.Random(12))
    path = tmp_path / "dedup"
    assert set(screen(path, [a, b])) == {1}
    (verdict,) = screen(path, [c]).values()
    assert verdict.detail["duplicate_of"] == sample(b).id


def exact_truth(samples: list[Sample], threshold: float) -> set[int]:
    """Positions with an earlier sample at Jaccard >= threshold on a shared shingle kind, by
    brute force over every pair (the guard's contract, without LSH or bounds)."""
    shingler = Shingler()
    batch = shingler.shingle([normalised_words(sample_text(s)) for s in samples])
    sets: list[dict[int, frozenset[int]]] = [{} for _ in samples]
    for sketch in range(len(batch)):
        kind = int(batch.kind[sketch])
        sets[int(batch.doc[sketch])][kind] = frozenset(batch.shingles(sketch).tolist())
    flagged = set()
    for i, mine in enumerate(sets):
        for j in range(i):
            for kind, own in mine.items():
                other = sets[j].get(kind)
                if other is None:
                    continue
                shared = len(own & other)
                if shared / (len(own) + len(other) - shared) >= threshold:
                    flagged.add(i)
    return flagged


def test_the_guard_flags_exactly_what_exact_jaccard_flags_on_template_data() -> None:
    # Template rows ("Is 27 a prime number? ...") have hundreds of candidates at J 0.4-0.6;
    # with single-row bands every pair at J >= 0.65 is a candidate (miss 0.35^128), so what
    # the guard flags is decided by the shingle-map bound and exact Jaccard alone.
    samples = [sample_from_row(row) for row in BuiltinGenerator(3).generate(1500)]
    truth = exact_truth(samples, DEFAULT_THRESHOLD)
    assert 200 < len(truth) < 1300
    every_pair = DedupGuard(bands=(128, 1))
    found = {
        v.position
        for start in range(0, 1500, 400)
        for v in every_pair.check(samples[start : start + 400])
    }
    assert found == truth
    # The default bands miss a pair at the threshold with probability 2e-3, and flag nothing
    # that exact Jaccard does not.
    default = set(failures(DedupGuard().check(samples)))
    assert default <= truth
    assert len(truth - default) <= 0.005 * len(truth)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**32), min_size=2, max_size=40))
def test_the_shingle_map_bound_never_drops_a_near_copy(seeds: list[int]) -> None:
    # Texts of 5 to 600 words over a small vocabulary: many pairs near the threshold, and sets
    # large enough to fill the 1,024-bit maps, where the bound is loosest.
    texts = []
    for seed in seeds:
        rng = random.Random(seed)
        base = random.Random(seed % 3)
        text = [base.choice(VOCAB[:40]) for _ in range(rng.choice([5, 12, 20, 60, 600]))]
        texts.append(sample(edited(rng, text, rng.choice([0.0, 0.05, 0.2]), "sub")))
    found = set(failures(DedupGuard(bands=(128, 1)).check(texts)))
    exact = {i for i, t in enumerate(texts) if t.id in {u.id for u in texts[:i]}}
    assert found == exact_truth(texts, DEFAULT_THRESHOLD) | exact


def test_parameters_are_checked() -> None:
    with pytest.raises(InputError, match="threshold"):
        DedupGuard(threshold=1.5)
    with pytest.raises(InputError, match="scheme"):
        DedupGuard(scheme="legacy")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="bands"):
        DedupGuard(num_perm=16, bands=(8, 4))


# ---- the persisted index ----


def screen(path: Path, texts: list[list[str]], **params: object) -> dict[int, Verdict]:
    """One screen run over an index folder: open, check, save."""
    guard = DedupGuard(DedupIndex.open(path), **params)  # type: ignore[arg-type]
    found = failures(guard.check([sample(t) for t in texts]))
    guard.save()
    return found


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
