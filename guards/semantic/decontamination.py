"""Semantic decontamination: a sample that restates a protected evaluation item in other words.

The n-gram guard (`synthguard.guards.decontamination`) needs 8 or 13 words in a row in common;
a rephrased benchmark item has none, and fine-tuning on rephrased items inflates scores as much
as on copies (Yang et al. 2023, "Rethinking Benchmark and Contamination for Language Models
with Rephrased Samples"). Here protected items and samples are embedded with all-MiniLM-L6-v2
and compared by cosine.

- Items: every string field of every protected row of 8 words or more (the n-gram guard's
  rule), each text once. The encoder reads an item's first 256 word pieces.
- Samples: each part (instruction, input, output; each chat message) on its own, so a long
  answer does not dilute a restated question; a part over WINDOW_WORDS words is read in
  windows of that many words overlapping by WINDOW_OVERLAP, so text past the encoder's 256
  word pieces is read too (diluted by its window's other words: see below).
- The candidate is the item nearest to any window (exact search, `search`). That paper found
  candidates by embedding top-k and let an LLM judge decide; without an LLM, the decision is a
  calibrated cosine threshold on the top-1 candidate: 0.80 fails the sample (rule
  `semantic-overlap`), and NEAR_MISS (0.70) up to it gives a passing verdict naming the item, so
  an audit can review the near misses.

Threshold 0.80, from `benchmarks/semantic_bench.py` against HumanEval (every field, as
`--protected humaneval` reads it): restated problems (their `def` line over a reworded
docstring) are caught against their own problem at 94.5 %, where the n-gram guard catches none.
Unrelated coding tasks of the same kind match some item at 0.7 % of 2,068 rows (60 tasks written
for the tests: none; MBPP's 974 as signature and docstring: 1.1 %, 11 rows, 4 of them MBPP's own
statements of a HumanEval problem such as the largest prime factor; as prose: 0.3 %). 0.80 is
the lowest cut of the curve under 1 % over those rows; 0.82 keeps each set under 1 % at 90.2 %
recall. Restatements stripped of every identifier (prose only) are caught at 3.7 %: MiniLM puts
them no nearer their item than other tasks of the same kind. A restatement buried in a long
answer is diluted by its window's other words and mostly missed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from synthguard.guards.decontamination import ProtectedItem, normalise_words, protected_items
from synthguard.guards.embedding import SentenceEncoder
from synthguard.guards.semantic.search import nearest
from synthguard.guards.verdict import GuardInfo, Verdict
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import Sample, sample_parts

GUARD_NAME = "semantic-decontamination"
VERSION = "1"
RULE = "semantic-overlap"
THRESHOLD = 0.80
NEAR_MISS = 0.70
"""Cosines from here up to the threshold get a passing verdict naming the nearest item."""
MIN_ITEM_WORDS = 8
"""Shorter items (labels, choices, ids) are not protected, as with the n-gram guard."""
WINDOW_WORDS = 128
"""Words per window of a long part: about 170-250 word pieces, inside the encoder's 256."""
WINDOW_OVERLAP = 32


@dataclass(frozen=True, slots=True)
class SemanticMatch:
    """The protected item nearest to a text, its cosine, and which part and window was nearest."""

    item: ProtectedItem
    cosine: float
    part: int
    window: int


class SemanticIndex:
    """The embeddings of protected items, with where each item came from."""

    def __init__(
        self, entries: Iterable[tuple[ProtectedItem, str]], encoder: SentenceEncoder
    ) -> None:
        self.encoder = encoder
        self.items: list[ProtectedItem] = []
        self.sources: list[str] = []
        texts: list[str] = []
        seen: set[str] = set()
        for item, text in entries:
            if item.source not in self.sources:
                self.sources.append(item.source)
            if len(normalise_words(text)) < MIN_ITEM_WORDS or text in seen:
                continue
            seen.add(text)
            self.items.append(item)
            texts.append(text)
        self.vectors = encoder.encode(texts)
        hasher = hashlib.sha256(f"{VERSION}:{MIN_ITEM_WORDS}:".encode())
        for text in sorted(texts):
            hasher.update(text.encode("utf-8", "surrogatepass") + b"\x00")
        self.digest = f"sha256:{hasher.hexdigest()}"

    @classmethod
    def from_files(
        cls, paths: Sequence[Path], encoder: SentenceEncoder, id_field: str = "id"
    ) -> SemanticIndex:
        """Index every string field of every row of JSONL, Parquet or HF dataset files."""
        return cls((entry for path in paths for entry in protected_items(path, id_field)), encoder)

    def match(self, texts: Sequence[Sequence[str]]) -> list[SemanticMatch | None]:
        """For each text (given as its parts), the nearest protected item over all windows."""
        windows: list[str] = []
        owners: list[tuple[int, int, int]] = []
        for t, parts in enumerate(texts):
            for p, part in enumerate(parts):
                for w, window in enumerate(part_windows(part)):
                    windows.append(window)
                    owners.append((t, p, w))
        found: list[SemanticMatch | None] = [None] * len(texts)
        if not self.items or not windows:
            return found
        cosines, rows = nearest(self.encoder.encode(windows), self.vectors)
        for (t, p, w), cosine, row in zip(owners, cosines.tolist(), rows.tolist(), strict=True):
            current = found[t]
            if current is None or cosine > current.cosine:
                found[t] = SemanticMatch(self.items[row], cosine, p, w)
        return found


class SemanticDecontaminationGuard:
    """Fails a sample whose nearest protected item is within `threshold` cosine."""

    def __init__(
        self, index: SemanticIndex, threshold: float = THRESHOLD, near_miss: float = NEAR_MISS
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise InputError(
                f"the semantic decontamination threshold must be in (0, 1], not {threshold}"
            )
        if not 0.0 < near_miss <= threshold:
            raise InputError(f"the near-miss cut must be in (0, {threshold}], not {near_miss}")
        self.index = index
        self.threshold = threshold
        self.near_miss = near_miss
        self.info = GuardInfo.of(
            "decontamination",
            GUARD_NAME,
            VERSION,
            {
                "rule": RULE,
                "threshold": threshold,
                "near_miss": near_miss,
                "min_item_words": MIN_ITEM_WORDS,
                "window_words": WINDOW_WORDS,
                "window_overlap": WINDOW_OVERLAP,
                "protected": sorted(Path(source).name for source in index.sources),
                "index_digest": index.digest,
                "model": index.encoder.card.detail(),
            },
        )

    @classmethod
    def from_files(
        cls,
        paths: Sequence[Path],
        encoder: SentenceEncoder,
        threshold: float = THRESHOLD,
        id_field: str = "id",
    ) -> SemanticDecontaminationGuard:
        """Protect the items of these files (JSONL, Parquet, or Hugging Face dataset folders)."""
        return cls(SemanticIndex.from_files(paths, encoder, id_field), threshold)

    def check(self, samples: Sequence[Sample]) -> list[Verdict]:
        """A verdict for every sample whose nearest item reaches the near-miss cut."""
        # The same content (the same id) is matched once; its verdict applies to every copy.
        unique = list({sample.id: sample for sample in samples}.values())
        matches = self.index.match([sample_parts(sample) for sample in unique])
        card = self.index.encoder.card.detail()
        verdicts = []
        for sample, found in zip(unique, matches, strict=True):
            if found is None:
                continue
            score = round(found.cosine, 6)
            if score < self.near_miss:
                continue
            item = found.item
            detail = {
                "protected": item.source,
                "line": item.line,
                "id": item.id,
                "field": item.field,
                "cosine": score,
                "part": found.part,
                "window": found.window,
                "model": card,
            }
            passed = score < self.threshold
            verdicts.append(
                Verdict(sample.id, self.info, RULE, passed, score, self.threshold, detail)
            )
        return verdicts


def part_windows(text: str) -> list[str]:
    """The text whole when it has at most WINDOW_WORDS words, else overlapping word windows."""
    words = text.split()
    if len(words) <= WINDOW_WORDS:
        return [text] if words else []
    step = WINDOW_WORDS - WINDOW_OVERLAP
    last = max(len(words) - WINDOW_WORDS, 0)
    starts = [*range(0, last, step), last]
    return [" ".join(words[start : start + WINDOW_WORDS]) for start in starts]
