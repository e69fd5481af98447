"""Self-Instruct's own filters, as an optional rule set: the seed pipeline's checks in the screen.

Self-Instruct (Wang et al., ACL 2023, §2.3 "Filtering and postprocessing") keeps a generated
instruction only if its ROUGE-L similarity to every instruction already in the task pool is low,
and drops instructions a language model cannot carry out or that are malformed. Its code (and
Stanford Alpaca's `generate_instruction.py`, which extends the keyword list) applies, in order:

- 3 words or fewer, or more than 150 (whitespace-split);
- a keyword, as a whole word, any case: image(s), graph(s), picture(s), file(s), map(s), draw,
  plot, go to (Self-Instruct), video, audio, music, flowchart, diagram (added by Alpaca);
- starting with "Write a program" (the model kept adding it to existing tasks);
- starting with ASCII punctuation, or with a non-ASCII character ("non-English");
- ROUGE-L F-measure above 0.7 against any instruction in the pool (seed tasks plus every
  instruction kept so far), on rouge-score's default tokens (lower-cased, runs of [a-z0-9],
  no stemming). The pool only grows by instructions that pass every rule.

Two guards, because the rules answer two different questions: `SelfInstructSimilarity` (family
`dedup`: a near-copy of an instruction already in the pool is a duplicate, first one kept) and
`SelfInstructFilter` (family `self-instruct`: the instruction is not a usable task; not
`input`, which names rows that could not be read at all). The instruction is
an Alpaca sample's `instruction`, or a chat's first user turn; text samples have none and pass.

The similarity search is exact, not sampled: F = 2L / (m + n) for an LCS of L between token
lists of lengths m and n, and L never exceeds the tokens the two share, so an instruction can
only be too similar to pool entries that share one of its m - floor(0.7 m / 1.3) rarest tokens
(prefix filtering); only those are scored, with a bit-parallel LCS (Hyyrö, 2004).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from synthguard.guards.verdict import GuardInfo, Verdict
from synthguard.provenance.canonical import digest_json
from synthguard.provenance.sample import Sample

VERSION: Final = "1"
ROUGE_THRESHOLD: Final = 0.7
MIN_WORDS: Final = 3
MAX_WORDS: Final = 150
KEYWORDS: Final = (
    "image",
    "images",
    "graph",
    "graphs",
    "picture",
    "pictures",
    "file",
    "files",
    "map",
    "maps",
    "draw",
    "plot",
    "go to",
    "video",
    "audio",
    "music",
    "flowchart",
    "diagram",
)

ROUGE_RULE: Final = "self-instruct-rouge-l"
FILTER_NAME: Final = "self-instruct-filter"
"""The guard name (in verdicts) of the heuristic filters."""
SIMILARITY_NAME: Final = "self-instruct-rouge-l"
"""The guard name of the ROUGE-L filter against the pool."""
LENGTH_RULE: Final = "self-instruct-length"
KEYWORD_RULE: Final = "self-instruct-keyword"
PROGRAM_RULE: Final = "self-instruct-write-a-program"
PUNCTUATION_RULE: Final = "self-instruct-punctuation-start"
NON_ENGLISH_RULE: Final = "self-instruct-non-english-start"

_KEYWORD: Final = re.compile(
    r"\b(" + "|".join(re.escape(word) for word in KEYWORDS) + r")\b", re.IGNORECASE
)
_NOT_TOKEN: Final = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an instruction fails one of the filters: the rule, a score, its limit, and detail."""

    rule: str
    score: float
    threshold: float
    detail: dict[str, object]


def instruction_of(sample: Sample) -> str | None:
    """The instruction Self-Instruct would filter: Alpaca's `instruction`, a chat's first user
    turn, none for text."""
    if sample.kind == "alpaca":
        instruction: str = sample.content["instruction"]
        return instruction
    if sample.kind == "chat":
        for message in sample.content["messages"]:
            if message["role"] == "user":
                text: str = message["content"]
                return text
    return None


def filter_problems(instruction: str) -> list[Problem]:
    """Every Self-Instruct heuristic filter that `instruction` fails (empty: it passes)."""
    text = " ".join(instruction.split())
    problems: list[Problem] = []
    words = len(text.split())
    if words <= MIN_WORDS:
        problems.append(Problem(LENGTH_RULE, words, MIN_WORDS, {"words": words, "limit": "min"}))
    elif words > MAX_WORDS:
        problems.append(Problem(LENGTH_RULE, words, MAX_WORDS, {"words": words, "limit": "max"}))
    found = sorted({match.lower() for match in _KEYWORD.findall(text)})
    if found:
        problems.append(Problem(KEYWORD_RULE, len(found), 1, {"keywords": found}))
    if text.lower().startswith("write a program"):
        problems.append(Problem(PROGRAM_RULE, 1, 1, {}))
    if text and text[0] in string.punctuation:
        problems.append(Problem(PUNCTUATION_RULE, 1, 1, {"first": text[0]}))
    elif text and not text[0].isascii():
        problems.append(
            Problem(
                NON_ENGLISH_RULE, 1, 1, {"first": text[0], "code_point": f"U+{ord(text[0]):04X}"}
            )
        )
    return problems


def rouge_tokens(text: str) -> list[str]:
    """rouge-score's default tokens: lower-cased, split on anything but [a-z0-9], no stemming."""
    return _NOT_TOKEN.sub(" ", text.lower()).split()


def rouge_l(target: Sequence[str], prediction: Sequence[str]) -> float:
    """ROUGE-L F-measure of two token lists, computed as rouge-score computes it."""
    if not target or not prediction:
        return 0.0
    lcs = lcs_length(target, prediction)
    precision, recall = lcs / len(prediction), lcs / len(target)
    return 0.0 if lcs == 0 else 2 * precision * recall / (precision + recall)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence, bit-parallel over `a` (Hyyrö's recurrence)."""
    return _lcs(_masks(a), len(a), b)


def _masks(tokens: Sequence[str]) -> dict[str, int]:
    masks: dict[str, int] = {}
    for i, token in enumerate(tokens):
        masks[token] = masks.get(token, 0) | (1 << i)
    return masks


def _lcs(masks: dict[str, int], length: int, other: Sequence[str]) -> int:
    full = (1 << length) - 1
    v = full
    for token in other:
        u = v & masks.get(token, 0)
        v = ((v + u) | (v - u)) & full
    return length - v.bit_count()


class InstructionPool:
    """Instructions to compare against, indexed by token for the exact ROUGE-L search."""

    def __init__(self, instructions: Iterable[str] = ()) -> None:
        self._texts: list[str] = []
        self._tokens: list[list[str]] = []
        self._masks: list[dict[str, int]] = []
        self._postings: dict[tuple[str, int], list[int]] = {}
        for instruction in instructions:
            self.add(instruction)

    def __len__(self) -> int:
        return len(self._texts)

    def add(self, instruction: str) -> None:
        """Put an instruction in the pool."""
        tokens = rouge_tokens(instruction)
        index = len(self._texts)
        self._texts.append(instruction)
        self._tokens.append(tokens)
        self._masks.append(_masks(tokens))
        for element in _elements(tokens):
            self._postings.setdefault(element, []).append(index)

    def most_similar(self, instruction: str) -> tuple[float, str | None]:
        """The highest ROUGE-L F-measure of `instruction` against the pool entries that could
        exceed the threshold, and that entry; (0.0, None) when none could."""
        tokens = rouge_tokens(instruction)
        if not tokens:
            return 0.0, None
        elements = _elements(tokens)
        # An entry scoring above the threshold shares more than 0.7 m / 1.3 tokens with it
        # (rounded down, so that float error can only widen the search).
        needed = int(ROUGE_THRESHOLD * len(tokens) / (2 - ROUGE_THRESHOLD) - 1e-9) + 1
        elements.sort(key=lambda element: len(self._postings.get(element, ())))
        candidates: set[int] = set()
        for element in elements[: max(1, len(elements) - needed + 1)]:
            candidates.update(self._postings.get(element, ()))
        best, best_index = 0.0, -1
        length = len(tokens)
        for index in sorted(candidates):
            other = self._tokens[index]
            if 2 * min(length, len(other)) <= ROUGE_THRESHOLD * (length + len(other)) - 1e-9:
                continue
            lcs = _lcs(self._masks[index], len(other), tokens)
            score = 0.0
            if lcs:
                precision, recall = lcs / len(other), lcs / length
                score = 2 * precision * recall / (precision + recall)
            if score > best:
                best, best_index = score, index
        return best, (self._texts[best_index] if best_index >= 0 else None)


def _elements(tokens: list[str]) -> list[tuple[str, int]]:
    """Tokens as set elements: the k-th occurrence of a token is its own element."""
    seen: dict[str, int] = {}
    elements = []
    for token in tokens:
        count = seen.get(token, 0)
        seen[token] = count + 1
        elements.append((token, count))
    return elements


class SelfInstructFilter:
    """Self-Instruct's heuristic instruction filters (length, keywords, first character)."""

    def __init__(self) -> None:
        config = {
            "min_words": MIN_WORDS,
            "max_words": MAX_WORDS,
            "keywords": list(KEYWORDS),
            "rules": [LENGTH_RULE, KEYWORD_RULE, PROGRAM_RULE, PUNCTUATION_RULE, NON_ENGLISH_RULE],
        }
        self.info = GuardInfo.of("self-instruct", FILTER_NAME, VERSION, config)

    def batch_recipe(self) -> Callable[[], SelfInstructFilter]:
        """A picklable call that builds this guard on a worker (`check` is a pure function of
        its batch)."""
        return SelfInstructFilter

    def check(self, samples: Sequence[Sample]) -> list[Verdict]:
        """One failed verdict per filter an instruction fails; the same content (the same id)
        is judged once, its verdicts apply to every copy."""
        verdicts = []
        for sample in {sample.id: sample for sample in samples}.values():
            instruction = instruction_of(sample)
            if instruction is None:
                continue
            for problem in filter_problems(instruction):
                verdicts.append(
                    Verdict(
                        sample_id=sample.id,
                        guard=self.info,
                        rule=problem.rule,
                        passed=False,
                        score=float(problem.score),
                        threshold=float(problem.threshold),
                        detail=problem.detail,
                    )
                )
        return verdicts


class SelfInstructSimilarity:
    """Self-Instruct's ROUGE-L > 0.7 filter against a growing pool of instructions.

    `seed` is the pool to start from (Self-Instruct's 175 seed tasks, say). As in Self-Instruct,
    the heuristic filters run first: an instruction they reject is neither compared nor added
    (`SelfInstructFilter` reports it); one that passes both joins the pool. One instance
    screens one dataset, in order.
    """

    def __init__(self, seed: Iterable[str] = ()) -> None:
        seed = list(seed)
        self.pool = InstructionPool(seed)
        config = {
            "threshold": ROUGE_THRESHOLD,
            "tokens": "rouge-score default, no stemmer",
            "seed_pool": digest_json(seed),
        }
        self.info = GuardInfo.of("dedup", SIMILARITY_NAME, VERSION, config)

    def check(self, samples: Sequence[Sample]) -> list[Verdict]:
        """A failed verdict for each instruction too similar to one already in the pool."""
        verdicts = []
        for sample in samples:
            instruction = instruction_of(sample)
            if instruction is None or filter_problems(instruction):
                continue
            score, similar = self.pool.most_similar(instruction)
            if score > ROUGE_THRESHOLD:
                verdicts.append(
                    Verdict(
                        sample_id=sample.id,
                        guard=self.info,
                        rule=ROUGE_RULE,
                        passed=False,
                        score=round(score, 6),
                        threshold=ROUGE_THRESHOLD,
                        detail={"most_similar": similar},
                    )
                )
            else:
                self.pool.add(instruction)
        return verdicts
