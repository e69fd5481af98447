"""Semantic decontamination: a sample that restates a protected evaluation item in other words.

The n-gram guard (`synthguard.guards.decontamination`) needs 8 or 13 words in a row in common;
a rephrased benchmark item has none, and fine-tuning on rephrased items inflates scores as much
as on copies (Yang et al. 2023, "Rethinking Benchmark and Contamination for Language Models
with Rephrased Samples"). Here protected items and samples are embedded with all-MiniLM-L6-v2
and compared by cosine.

- Items: every string field of every protected row of 8 words or more (the n-gram guard's
  rule), each text once, in up to three views (`views`): `whole` (the string), `prose` (its
  natural language: the docstring without signature, doctests and examples) and `lead` (the
  prose's first sentence); a view of fewer than 8 words, or equal to a larger one, is left out.
  A coding prompt's whole vector is dominated by its `def` line and doctests, so a task told in
  plain words ("write a function that checks whether any two numbers in a list are closer than
  a threshold") sits far from it and near its prose.
- Samples: each part (instruction, input, output; each chat message) on its own, so a long
  answer does not dilute a restated question, and also each part's prose (an answer's
  explanation without its code) and the instruction joined with its input. A text over
  WINDOW_WORDS words is read in windows of that many words overlapping by WINDOW_OVERLAP, so
  text past the encoder's 256 word pieces is read too.
- Cuts: each view has a threshold (THRESHOLDS). In `prose` and `lead` an item's cut is raised
  to its crowding + CROWDING_MARGIN (at most CUT_CAP), crowding being the highest cosine of
  that view with any view of another protected row: an item whose prose sits near another
  problem's ("Return length of given string") is generic, and unrelated tasks of the same
  domain fall as near it. The benchmark itself is the reference: no other data is needed.
- Decision: in each view, the item furthest over (or least under) its cut, over all of the
  sample's queries (exact search, `search`); the view furthest over its cut decides. Over it,
  the sample fails (rule `semantic-overlap`); up to NEAR_MISS_GAP under it, a passing verdict
  names the item for review. The verdict says which view matched, which query (part, window),
  the cosine, the item's cut and the view's threshold. That paper found candidates by
  embedding top-k and let an LLM judge decide; without an LLM, the decision is calibrated cuts.

Thresholds from `benchmarks/semantic_bench.py` against HumanEval (every field, as
`--protected humaneval` reads it), set on the restatements of `tests/guards/semantic/`
(signature form: the `def` line over a reworded docstring; prose form: no identifier) against
the false positives of 60 written coding tasks and MBPP's 987 (each as signature and prose):
whole 0.80 (unchanged), prose 0.78 and lead 0.80 with a crowding margin of 0.05: of a grid
(prose 0.70-0.82, lead 0.76-0.84, margin none or 0.02-0.08), the most prose recall with those
2,094 rows under 1 % (0.9 %) and no loss on the signature form. Measured: signature form
96.3 % (whole view alone: 94.5 %), prose form 42.7 % (3.7 %), and, held out (written after the
cuts were set, never tuned on), 64 instruction-style restatements 73.4 % (14.1 %); the n-gram
guard catches none. False positives: 0.5 % of 5,094 same-domain rows (the single view: 0.5 %):
MBPP 1.3 % as signature and 0.6 % as prose (several are MBPP's own statement of a HumanEval
problem: vowel counting, string concatenation, the second smallest element), written tasks and
library docstrings none, the built-in generator's rows 0.6 % (its Fibonacci, palindrome and
vowel tasks are HumanEval's). Without crowding the same recall costs 0.7 % of rows. MiniLM puts
many reworded problems no nearer their item than other tasks of the same kind: a restatement
that keeps none of the benchmark's words is still missed more often than caught. A
restatement buried in a long answer is diluted by its window's other words and mostly missed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthguard.guards.decontamination import ProtectedItem, normalise_words, protected_items
from synthguard.guards.embedding import SentenceEncoder
from synthguard.guards.semantic.search import Ints, Vectors, nearest
from synthguard.guards.semantic.views import lead_of, prose_of
from synthguard.guards.verdict import GuardInfo, Verdict
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import Sample, sample_parts

GUARD_NAME = "semantic-decontamination"
VERSION = "2"
RULE = "semantic-overlap"
VIEWS = ("whole", "prose", "lead")
"""How a protected item is indexed: the string whole, its prose, its prose's first sentence."""
THRESHOLDS: Mapping[str, float] = {"whole": 0.80, "prose": 0.78, "lead": 0.80}
"""Each view's cut: a sample fails when its cosine with an item's view reaches the item's cut."""
CROWDED_VIEWS = ("prose", "lead")
"""Views whose cut is raised for crowded items (see the module docstring)."""
CROWDING_MARGIN = 0.05
CUT_CAP = 0.95
"""No item's cut is raised past this: a near copy of a crowded item is still caught."""
NEAR_MISS_GAP = 0.10
"""Cosines up to this far under an item's cut get a passing verdict naming the item."""
MIN_ITEM_WORDS = 8
"""Shorter views (labels, choices, ids) are not protected, as with the n-gram guard."""
WINDOW_WORDS = 128
"""Words per window of a long part: about 170-250 word pieces, inside the encoder's 256."""
WINDOW_OVERLAP = 32


@dataclass(frozen=True, slots=True)
class Query:
    """One text a sample is read as: `part` (a part whole or one window of it), `prose` (a
    part's prose) or `instruction+input`; which part (0-based) and which window."""

    kind: str
    part: int
    window: int


@dataclass(frozen=True, slots=True)
class SemanticMatch:
    """The protected item that a sample comes nearest to (or furthest over its cut) in one
    view: its cosine, the item's cut in that view (0 when matched by cosine alone), and the
    sample's query that matched."""

    item: ProtectedItem
    view: str
    cosine: float
    cut: float
    query: Query


@dataclass(frozen=True, slots=True)
class View:
    """One view of the index: for each vector, its item (a row of `items`) and, in
    CROWDED_VIEWS, its crowding (the highest cosine with any vector of another protected row;
    -1 when there is none or the view is not crowded)."""

    rows: Ints
    vectors: Vectors
    crowding: Vectors


class SemanticIndex:
    """The embeddings of protected items in each view, with where each item came from.

    `items` are the distinct protected strings; `views[name]` holds every item in `whole`, and
    in `prose` and `lead` those whose prose or lead sentence is a text of its own
    (MIN_ITEM_WORDS or more, not already indexed for that item).
    """

    def __init__(
        self, entries: Iterable[tuple[ProtectedItem, str]], encoder: SentenceEncoder
    ) -> None:
        self.encoder = encoder
        self.items: list[ProtectedItem] = []
        self.sources: list[str] = []
        texts: dict[str, list[str]] = {view: [] for view in VIEWS}
        rows: dict[str, list[int]] = {view: [] for view in VIEWS}
        seen: set[str] = set()
        for item, text in entries:
            if item.source not in self.sources:
                self.sources.append(item.source)
            if len(normalise_words(text)) < MIN_ITEM_WORDS or text in seen:
                continue
            seen.add(text)
            prose = prose_of(text)
            said: set[str] = set()
            for view, value in zip(VIEWS, (text, prose, lead_of(prose)), strict=True):
                if value in said or len(normalise_words(value)) < MIN_ITEM_WORDS:
                    continue
                said.add(value)
                texts[view].append(value)
                rows[view].append(len(self.items))
            self.items.append(item)
        self.views = self._views(rows, {view: encoder.encode(texts[view]) for view in VIEWS})
        hasher = hashlib.sha256(f"{VERSION}:{MIN_ITEM_WORDS}:".encode())
        for view in VIEWS:
            hasher.update(f"{view}:".encode())
            for text in sorted(texts[view]):
                hasher.update(text.encode("utf-8", "surrogatepass") + b"\x00")
        self.digest = f"sha256:{hasher.hexdigest()}"

    def _views(self, rows: dict[str, list[int]], vectors: dict[str, Vectors]) -> dict[str, View]:
        # A protected row (file and line) is one problem: its fields are not each other's
        # neighbours.
        problem: dict[tuple[str, int], int] = {}
        groups = np.array(
            [problem.setdefault((i.source, i.line), len(problem)) for i in self.items], np.int64
        )
        every = np.concatenate([vectors[view] for view in VIEWS])
        every_group = np.concatenate([groups[np.array(rows[view], np.int64)] for view in VIEWS])
        views = {}
        for view in VIEWS:
            item_rows = np.array(rows[view], np.int64)
            crowding = np.full(len(item_rows), -1.0, np.float32)
            if view in CROWDED_VIEWS:
                nearest_other, _ = nearest(
                    vectors[view], every, query_groups=groups[item_rows], row_groups=every_group
                )
                crowding = np.maximum(nearest_other, crowding)
            views[view] = View(item_rows, vectors[view], crowding)
        return views

    @property
    def vectors(self) -> Vectors:
        """The `whole` view's vectors: one per item."""
        return self.views["whole"].vectors

    @classmethod
    def from_files(
        cls, paths: Sequence[Path], encoder: SentenceEncoder, id_field: str = "id"
    ) -> SemanticIndex:
        """Index every string field of every row of JSONL, Parquet or HF dataset files."""
        return cls((entry for path in paths for entry in protected_items(path, id_field)), encoder)

    def cuts(
        self,
        thresholds: Mapping[str, float] = THRESHOLDS,
        margin: float | None = CROWDING_MARGIN,
        cap: float = CUT_CAP,
    ) -> dict[str, Vectors]:
        """Each view vector's cut: the view's threshold, raised in CROWDED_VIEWS to the item's
        crowding plus `margin` (never past `cap`, nor lowered; not raised when None)."""
        cuts = {}
        for view, found in self.views.items():
            floor = np.full(len(found.rows), thresholds[view], np.float32)
            if view in CROWDED_VIEWS and margin is not None:
                raised = np.minimum(found.crowding + margin, max(cap, thresholds[view]))
                floor = np.maximum(floor, raised.astype(np.float32))
            cuts[view] = floor
        return cuts

    def queries(self, texts: Sequence[Sequence[str]]) -> Queries:
        """Embed what each text (given as its parts) is read as (see `sample_queries`)."""
        strings: list[str] = []
        owners: list[tuple[int, Query]] = []
        for t, parts in enumerate(texts):
            for text, query in sample_queries(parts):
                strings.append(text)
                owners.append((t, query))
        return Queries(len(texts), owners, self.encoder.encode(strings))

    def best(
        self, queries: Queries, cuts: Mapping[str, Vectors] | None = None
    ) -> list[dict[str, SemanticMatch]]:
        """For each text, in each view, the item nearest to any of its queries; with `cuts`,
        the item furthest over (or least under) its cut."""
        found: list[dict[str, SemanticMatch]] = [{} for _ in range(queries.texts)]
        if not self.items or not queries.owners:
            return found
        for view, indexed in self.views.items():
            if not len(indexed.rows):
                continue
            offsets = None if cuts is None else cuts[view]
            values, hits = nearest(queries.vectors, indexed.vectors, offsets=offsets)
            pairs = zip(queries.owners, values.tolist(), hits.tolist(), strict=True)
            for (t, query), value, hit in pairs:
                cut = 0.0 if offsets is None else float(offsets[hit])
                current = found[t].get(view)
                if current is None or value > current.cosine - current.cut:
                    item = self.items[int(indexed.rows[hit])]
                    found[t][view] = SemanticMatch(item, view, value + cut, cut, query)
        return found

    def match(
        self, texts: Sequence[Sequence[str]], cuts: Mapping[str, Vectors] | None = None
    ) -> list[dict[str, SemanticMatch]]:
        """`best` over the `queries` of these texts."""
        return self.best(self.queries(texts), cuts)


@dataclass(frozen=True, slots=True)
class Queries:
    """The embedded queries of `texts` texts: which text and query each vector is."""

    texts: int
    owners: list[tuple[int, Query]]
    vectors: Vectors


class SemanticDecontaminationGuard:
    """Fails a sample whose cosine with some protected item's view reaches the item's cut."""

    def __init__(
        self,
        index: SemanticIndex,
        thresholds: Mapping[str, float] = THRESHOLDS,
        near_miss_gap: float = NEAR_MISS_GAP,
        crowding_margin: float | None = CROWDING_MARGIN,
    ) -> None:
        if set(thresholds) != set(VIEWS):
            raise InputError(f"give a threshold for each view ({', '.join(VIEWS)})")
        for view, threshold in thresholds.items():
            if not 0.0 < threshold <= 1.0:
                raise InputError(
                    f"the semantic decontamination threshold of view {view!r} must be in "
                    f"(0, 1], not {threshold}"
                )
        if not 0.0 <= near_miss_gap < min(thresholds.values()):
            raise InputError(
                f"the near-miss gap must be in [0, {min(thresholds.values())}), not {near_miss_gap}"
            )
        self.index = index
        self.thresholds = dict(thresholds)
        self.near_miss_gap = near_miss_gap
        self.cuts = index.cuts(self.thresholds, crowding_margin)
        self.info = GuardInfo.of(
            "decontamination",
            GUARD_NAME,
            VERSION,
            {
                "rule": RULE,
                "thresholds": self.thresholds,
                "crowded_views": list(CROWDED_VIEWS),
                "crowding_margin": crowding_margin,
                "cut_cap": CUT_CAP,
                "near_miss_gap": near_miss_gap,
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
        thresholds: Mapping[str, float] = THRESHOLDS,
        id_field: str = "id",
    ) -> SemanticDecontaminationGuard:
        """Protect the items of these files (JSONL, Parquet, or Hugging Face dataset folders)."""
        return cls(SemanticIndex.from_files(paths, encoder, id_field), thresholds)

    def check(self, samples: Sequence[Sample]) -> list[Verdict]:
        """A verdict for every sample that comes within the near-miss gap of some item's cut."""
        # The same content (the same id) is matched once; its verdict applies to every copy.
        unique = list({sample.id: sample for sample in samples}.values())
        matches = self.index.match([sample_parts(sample) for sample in unique], self.cuts)
        return [
            verdict
            for sample, views in zip(unique, matches, strict=True)
            if (verdict := self.verdict(sample.id, views)) is not None
        ]

    def verdict(self, sample_id: str, views: Mapping[str, SemanticMatch]) -> Verdict | None:
        """The verdict on a sample's best match per view (from `SemanticIndex.match` with this
        guard's cuts): the view furthest over its cut decides; None when every view is more than
        the near-miss gap under."""
        if not views:
            return None
        found = max(views.values(), key=lambda match: match.cosine - match.cut)
        score = round(found.cosine, 6)
        cut = round(found.cut, 6)
        if score < cut - self.near_miss_gap:
            return None
        detail = {
            **found.item.detail(),
            "view": found.view,
            "cosine": score,
            "threshold": cut,
            "view_threshold": self.thresholds[found.view],
            "query": found.query.kind,
            "part": found.query.part,
            "window": found.query.window,
            "model": self.index.encoder.card.detail(),
        }
        return Verdict(sample_id, self.info, RULE, score < cut, score, cut, detail)


def sample_queries(parts: Sequence[str]) -> list[tuple[str, Query]]:
    """The texts a sample is read as, each with what it is (see `SemanticIndex.match`)."""
    queries: list[tuple[str, Query]] = []
    for p, part in enumerate(parts):
        for w, window in enumerate(part_windows(part)):
            queries.append((window, Query("part", p, w)))
        prose = prose_of(part)
        if prose and prose != part.strip():
            queries.extend((w, Query("prose", p, i)) for i, w in enumerate(part_windows(prose)))
    if len(parts) >= 3:
        joined = f"{parts[0]}\n{parts[1]}"
        queries.extend(
            (w, Query("instruction+input", 0, i)) for i, w in enumerate(part_windows(joined))
        )
    return queries


def part_windows(text: str) -> list[str]:
    """The text whole when it has at most WINDOW_WORDS words, else overlapping word windows."""
    words = text.split()
    if len(words) <= WINDOW_WORDS:
        return [text] if words else []
    step = WINDOW_WORDS - WINDOW_OVERLAP
    last = max(len(words) - WINDOW_WORDS, 0)
    starts = [*range(0, last, step), last]
    return [" ".join(words[start : start + WINDOW_WORDS]) for start in starts]
