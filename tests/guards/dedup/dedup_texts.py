"""Made-up texts for the dedup tests: a vocabulary, random texts, edited and exact copies."""

from __future__ import annotations

import random

from synthguard.guards.verdict import Verdict
from synthguard.provenance.sample import Sample, as_sample

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
