"""DedupGuard's contract: exact and near copies of earlier samples fail, naming the first
occurrence, with the recall and the false-positive rate the threshold promises."""

from __future__ import annotations

import random

import pytest
from dedup_texts import VOCAB, chain, edited, failures, sample, words
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.cli.demo.models import BuiltinGenerator
from synthguard.guards.dedup.guard import DEFAULT_THRESHOLD, DedupGuard
from synthguard.guards.dedup.normalise import normalised_words
from synthguard.guards.dedup.shingles import Shingler
from synthguard.guards.verdict import DatasetGuard
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import Sample, sample_from_row, sample_text


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


def test_a_copy_of_a_quarantined_copy_is_a_copy() -> None:
    a, b, c = chain(random.Random(11))
    verdicts = DedupGuard().check([sample(a), sample(b), sample(c)])
    assert [(v.position, v.rule, v.detail["duplicate_of"]) for v in verdicts] == [
        (1, "near", sample(a).id),
        (2, "near", sample(b).id),
    ]
    assert verdicts[1].detail["jaccard"] == pytest.approx(32 / 44)


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
