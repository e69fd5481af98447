"""Decontamination guard: how much of a protected evaluation item a sample contains.

Rule `ngram-overlap`, after GPT-3's 13-gram overlap and the 0.5 cut of Phi-1 / Cosmopedia:

- Text is normalised (Unicode NFKC, case-folded, invisible characters dropped, a Latin word
  spelled with Cyrillic or Greek look-alikes read as the word it imitates, every other
  non-alphanumeric character a word break), so re-casing, re-punctuation, spacing, a zero-width
  space or soft hyphen inside a word, and "clіps" with a Cyrillic і hide nothing.
- Each string field of each protected row is an item. Items of 27 words or more are cut into
  word 13-grams; shorter ones into 8-grams, since a single edit in the middle of an item
  shorter than 2n+1 words breaks every n-gram it has. Items under 8 words (answer letters,
  choices, labels) are too short to tell a leak from a coincidence and are not protected.
- An n-gram found in more than 10 distinct items is benchmark template ("read the passage
  below and answer ..."), not item content: it is dropped, or every sample reusing a common
  instruction would be flagged.
- A sample sharing any n-gram with an item is a candidate; its score is the item's coverage:
  the fraction of the item's words lying inside an n-gram the sample also has (Llama 2's
  token-level measure, which a one-word edit barely dents). The sample fails when the best
  item's coverage is >= 0.5, wherever the item sits in a longer sample. Candidates below the
  threshold get a passing verdict, so an audit sees near misses.

Rule `aligned-overlap`, for copies edited to break every n-gram (a word dropped, swapped or
inserted every few words): an item of 27 words or more (one cut into 13-grams: a shorter
question is mostly in order in a sentence that answers it) and 8 distinct words or more is a
candidate when the sample holds 5 of its 8 rarest words (the ones the fewest items hold). Its
score is the fraction of the item's words the sample holds in the item's order, gaps allowed:
the longest common subsequence of the two word sequences, within a stretch of the sample at
most three times the item's length. The sample fails at >= 0.8 (a word in five changed, or any
number inserted); `benchmarks/decontamination_bench.py` reads the cut off the clean rows' curve
(against HumanEval, no clean row of 17,388 library docstrings, coding tasks and generated rows
holds an item 0.5 in order). Near misses down to 0.6 get a passing verdict when no n-gram is
shared.

N-grams are hashed to 64-bit integers (a fixed multilinear hash of per-word digests, so the same
n-gram has the same hash in every run) and looked up in one sorted numpy array behind a
presence filter: a batch of samples is a handful of vectorised numpy calls.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from synthguard.guards.backdoor import find_mixed_script
from synthguard.guards.dedup import INVISIBLE
from synthguard.guards.verdict import GuardInfo, Verdict
from synthguard.provenance.errors import InputError
from synthguard.provenance.reader import read_samples
from synthguard.provenance.sample import Sample, sample_text

VERSION = "3"
RULE = "ngram-overlap"
ALIGNED_RULE = "aligned-overlap"

NGRAM = 13
SHORT_NGRAM = 8
SHORT_ITEM_WORDS = 2 * NGRAM + 1
"""Items with fewer words use SHORT_NGRAM: below 2n+1, one edit mid-item breaks every n-gram."""
THRESHOLD = 0.5
MAX_ITEM_FREQUENCY = 10
ALIGNED_THRESHOLD = 0.8
ALIGNED_NEAR_MISS = 0.6
RAREST = 8
"""An item is an alignment candidate by its rarest distinct words: the ones fewest items hold."""
RARE_SHARE = 0.625
"""It is one when the sample holds this share of them, the item has RAREST distinct words at
least (an item of few distinct words, `while b: a, b = b, a % b`, is in order in much code) and
is cut into NGRAM-grams (a shorter question is mostly in order in a sentence answering it)."""
ALIGN_SPAN = 3
"""The stretch of the sample an item is aligned within, in item lengths."""

_FILTER_MAX_BITS = 27  # 128 MiB: enough for 8M distinct protected n-grams at 1/16 load

Hashes = npt.NDArray[np.uint64]
Ints = npt.NDArray[np.int64]

_WORD = re.compile(r"[^\W_]+")
# ASCII bytes that are no letter or digit, as spaces: bytes.translate is several times faster
# than str.translate.
_ASCII_BREAKS = bytes(c if chr(c).isalnum() and c < 128 else 32 for c in range(256))
_FIELDS = (("owner", np.int64), ("start", np.int64), ("hashes", np.uint64))


def _constant(name: str) -> int:
    # Derived from their names, so they never change between runs or versions.
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little") | 1


_COEFFICIENTS = np.array([_constant(f"synthguard-ngram-{j}") for j in range(NGRAM)], np.uint64)
_OFFSETS = {n: np.uint64(_constant(f"synthguard-ngram-length-{n}")) for n in (SHORT_NGRAM, NGRAM)}


def normalise_words(text: str) -> list[str]:
    """NFKC, case-fold, drop invisible characters, and split on every other character that is
    not a letter or digit."""
    if text.isascii():
        # The same words, three times faster: NFKC leaves ASCII alone, casefold is lower, and
        # ASCII's only invisible characters are controls, word breaks here as any blank is.
        return text.encode().lower().translate(_ASCII_BREAKS).decode().split()
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_VISIBLE)
    # A Latin word spelled with a Cyrillic or Greek look-alike reads as the word it imitates
    # (the words come in order of start; joined once, not respliced per word: quadratic).
    pieces: list[str] = []
    done = 0
    for mixed in find_mixed_script(folded):
        pieces += (folded[done : mixed.start], mixed.skeleton)
        done = mixed.start + len(mixed.word)
    if pieces:
        folded = "".join(pieces) + folded[done:]
    return _WORD.findall(unicodedata.normalize("NFKC", folded))


class _Visible(dict[int, int | None]):
    """The `str.translate` table that drops format characters (Cf: zero-width spaces and
    joiners, soft hyphens, byte-order marks) and the other invisible ones; filled per code point
    on first sight."""

    def __missing__(self, code: int) -> int | None:
        value = None if code in INVISIBLE or unicodedata.category(chr(code)) == "Cf" else code
        self[code] = value
        return value


_VISIBLE = _Visible()


def ngram_size(words: int) -> int | None:
    """The n-gram size for an item of this many words, or None if it is too short."""
    if words >= SHORT_ITEM_WORDS:
        return NGRAM
    return SHORT_NGRAM if words >= SHORT_NGRAM else None


@dataclass(frozen=True, slots=True)
class ProtectedItem:
    """Where a protected item comes from: file, 1-based line or row, row id, field path (None
    for a line that is not JSON)."""

    source: str
    line: int
    id: str | int | None
    field: str | None

    def detail(self) -> dict[str, Any]:
        """How a verdict names the item: `protected` (the file), `line`, `id`, `field`."""
        return {"protected": self.source, "line": self.line, "id": self.id, "field": self.field}


@dataclass(frozen=True, slots=True)
class Match:
    """The protected item a text contains most of."""

    item: ProtectedItem
    ngram: int
    shared_ngrams: int
    coverage: float


@dataclass(frozen=True, slots=True)
class Aligned:
    """The protected item whose words a text holds most of in order."""

    item: ProtectedItem
    rare_words: int
    """How many of the item's rare words the text holds."""
    rare_share: float
    coverage: float
    """The item's words found in the text in the item's order, as a fraction of them all."""


@dataclass(frozen=True, slots=True)
class _Windows:
    """Window hashes of one batch of token sequences: which sequence, where it starts, hash."""

    owner: Ints
    start: Ints
    hashes: Hashes


class ProtectedIndex:
    """The n-grams of protected items, hashed, sorted, and mapped back to their items."""

    def __init__(self, entries: Iterable[tuple[ProtectedItem, str]]) -> None:
        self.items: list[ProtectedItem] = []
        self.sources: list[str] = []
        texts: list[list[str]] = []
        seen: set[str] = set()
        for item, text in entries:
            if item.source not in self.sources:
                self.sources.append(item.source)
            words = normalise_words(text)
            key = " ".join(words)
            # Too short to protect; or the same text in many rows (a shared passage): one item.
            if ngram_size(len(words)) is None or key in seen:
                continue
            seen.add(key)
            self.items.append(item)
            texts.append(words)
        # Each word's id is a digest of the word itself, so an n-gram hashes the same whatever
        # else is protected; 0 stands for a word no item has.
        self.vocabulary = {word: _word_id(word) for word in set(chain.from_iterable(texts))}
        lookup = self.vocabulary.__getitem__
        self._tokens = [np.fromiter(map(lookup, words), np.uint64, len(words)) for words in texts]
        self._sizes = np.array([ngram_size(len(t)) for t in self._tokens], np.int64)
        self._build()

    @classmethod
    def from_files(cls, paths: Sequence[Path], id_field: str = "id") -> ProtectedIndex:
        """Index every string field of every row of JSONL, Parquet or HF dataset files."""
        return cls(item for path in paths for item in protected_items(path, id_field))

    def _build(self) -> None:
        count = len(self._tokens)
        self.sizes_used = sorted({int(n) for n in self._sizes})
        parts = []
        for n in self.sizes_used:
            chosen = np.flatnonzero(self._sizes == n)
            found = _window_hashes([self._tokens[i] for i in chosen], n)
            parts.append(_Windows(chosen[found.owner], found.start, found.hashes))
        windows = _Windows(
            *(_concat([getattr(w, name) for w in parts], dtype) for name, dtype in _FIELDS)
        )
        # How many distinct items hold each n-gram: more than MAX_ITEM_FREQUENCY is template.
        by_pair = np.lexsort((windows.owner, windows.hashes))
        pair_hash, pair_item = windows.hashes[by_pair], windows.owner[by_pair]
        first = np.ones(len(by_pair), np.bool_)
        first[1:] = (pair_hash[1:] != pair_hash[:-1]) | (pair_item[1:] != pair_item[:-1])
        pair_hash, pair_item = pair_hash[first], pair_item[first]  # sorted by hash, then item
        runs = np.flatnonzero(np.diff(pair_hash, prepend=~pair_hash[:1], append=~pair_hash[-1:]))
        holders = np.diff(runs)
        self.template: Hashes = pair_hash[runs[:-1][holders > MAX_ITEM_FREQUENCY]]
        kept = ~np.isin(windows.hashes, self.template)
        # Item windows, grouped by item (they were made item by item within each size).
        order = np.argsort(windows.owner[kept], kind="stable")
        self._windows = _Windows(
            windows.owner[kept][order], windows.start[kept][order], windows.hashes[kept][order]
        )
        self._window_bounds = np.searchsorted(self._windows.owner, np.arange(count + 1))
        protected = ~np.isin(pair_hash, self.template)
        self._hashes: Hashes = pair_hash[protected]
        self._hash_items: Ints = pair_item[protected]
        # A one-byte-per-slot presence filter on the hashes' top bits (the best-mixed ones)
        # answers most lookups of unprotected n-grams with one memory access, not a binary search.
        bits = min(max((16 * len(self._hashes)).bit_length(), 16), _FILTER_MAX_BITS)
        self._filter_shift = np.uint64(64 - bits)
        self._filter = np.zeros(1 << bits, np.bool_)
        self._filter[self._hashes >> self._filter_shift] = True
        # Words inside at least one protected window, per item: the coverage denominator.
        lengths = np.array([len(t) for t in self._tokens], np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        begins = offsets[self._windows.owner] + self._windows.start
        ends = begins + self._sizes[self._windows.owner]
        total = int(offsets[-1])
        depth = np.cumsum(
            np.bincount(begins, minlength=total + 1) - np.bincount(ends, minlength=total + 1)
        )[:total]
        inside = np.concatenate([[0], np.cumsum(depth > 0)])
        self._distinct_words = inside[offsets[1:]] - inside[offsets[:-1]]
        # Each item's RAREST distinct words (the fewest other items hold; ties by word id): what
        # a copy keeps however finely its runs of words are broken up.
        owner = np.repeat(np.arange(count, dtype=np.int64), lengths)
        words = _concat(self._tokens, np.uint64)
        by_word = np.lexsort((owner, words))
        words, owner = words[by_word], owner[by_word]
        first = np.ones(len(words), np.bool_)
        first[1:] = (words[1:] != words[:-1]) | (owner[1:] != owner[:-1])
        words, owner = words[first], owner[first]
        runs = np.flatnonzero(np.diff(words, prepend=~words[:1], append=~words[-1:]))
        holders = np.repeat(np.diff(runs), np.diff(runs))
        # Each item's distinct words in order of value, for the alignment's look-ups.
        by_value = np.lexsort((words, owner))
        self._distinct_by_item: Hashes = words[by_value]
        self._distinct_bounds = np.searchsorted(owner[by_value], np.arange(count + 1))
        by_item = np.lexsort((words, holders, owner))
        words, owner = words[by_item], owner[by_item]
        rank = np.arange(len(owner)) - np.searchsorted(owner, owner, "left")
        words, owner = words[rank < RAREST], owner[rank < RAREST]
        by_value = np.lexsort((words, owner))
        self._rare_by_item: Hashes = words[by_value]
        self._rare_bounds = np.searchsorted(owner[by_value], np.arange(count + 1))
        # The same pairs by word, for the look-up; a run's end for each place in it.
        by_word = np.argsort(words, kind="stable")
        self._rare_words: Hashes = words[by_word]
        self._rare_items: Ints = owner[by_word]
        self._rare_ends = np.searchsorted(self._rare_words, self._rare_words, "right")
        bits = min(max((16 * len(self._rare_words)).bit_length(), 16), _FILTER_MAX_BITS)
        self._rare_shift = np.uint64(64 - bits)
        self._rare_filter = np.zeros(1 << bits, np.bool_)
        self._rare_filter[self._rare_words >> self._rare_shift] = True

    @property
    def digest(self) -> str:
        """`sha256:` of the indexed n-gram hashes: what is protected, whatever the file format."""
        hasher = hashlib.sha256(f"{VERSION}:{NGRAM}:{SHORT_NGRAM}:".encode())
        hasher.update(np.unique(self._hashes).tobytes())
        return f"sha256:{hasher.hexdigest()}"

    def match(self, texts: Sequence[str]) -> list[Match | None]:
        """The item each text covers most of (any shared n-gram), or None."""
        return self._match(self._token_lists(texts))

    def align(self, texts: Sequence[str]) -> list[Aligned | None]:
        """The item each text holds most of in order (an alignment candidate), or None."""
        return self._align(self._token_lists(texts))

    def screen(self, texts: Sequence[str]) -> list[tuple[Match | None, Aligned | None]]:
        """`match` and `align` of each text, its words read once."""
        token_lists = self._token_lists(texts)
        return list(zip(self._match(token_lists), self._align(token_lists), strict=True))

    def _token_lists(self, texts: Sequence[str]) -> list[Hashes]:
        return [
            np.fromiter(map(self.vocabulary.get, words, repeat(0)), np.uint64, len(words))
            for words in map(normalise_words, texts)
        ]

    def _match(self, token_lists: Sequence[Hashes]) -> list[Match | None]:
        best: list[Match | None] = [None] * len(token_lists)
        for n in self.sizes_used:
            windows = _window_hashes(token_lists, n)
            maybe = np.flatnonzero(self._filter[windows.hashes >> self._filter_shift])
            queries = windows.hashes[maybe]
            lo = np.searchsorted(self._hashes, queries, "left")
            hit = self._hashes[np.minimum(lo, len(self._hashes) - 1)] == queries
            if not hit.any():
                continue
            lo, queries = lo[hit], queries[hit]
            hi = np.searchsorted(self._hashes, queries, "right")
            items = self._hash_items[_expand(lo, hi)]
            owners = np.repeat(windows.owner[maybe[hit]], hi - lo)
            keep = self._sizes[items] == n
            pairs = np.unique(np.stack([owners[keep], items[keep]], axis=1), axis=0)
            # Windows come out in text order, so each text's hashes are one slice.
            bounds = np.searchsorted(windows.owner, np.arange(len(token_lists) + 1))
            for owner, item in pairs.tolist():
                mine = windows.hashes[bounds[owner] : bounds[owner + 1]]
                candidate = self._coverage(item, mine)
                current = best[owner]
                if current is None or candidate.coverage > current.coverage:
                    best[owner] = candidate
        return best

    def _align(self, token_lists: Sequence[Hashes]) -> list[Aligned | None]:
        best: list[Aligned | None] = [None] * len(token_lists)
        ids = _concat(token_lists, np.uint64)
        owners = np.repeat(
            np.arange(len(token_lists), dtype=np.int64), [len(t) for t in token_lists]
        )
        maybe = self._rare_filter[ids >> self._rare_shift]
        ids, owners = ids[maybe], owners[maybe]
        size = len(self._rare_words)
        lo = np.searchsorted(self._rare_words, ids, "left")
        hit = self._rare_words[np.minimum(lo, size - 1)] == ids
        if not hit.any():
            return best
        # Each text's distinct rare words (a word is its first place in `_rare_words`), then
        # how many of each item's rarest words each text holds.
        seen = np.unique(owners[hit] * size + lo[hit])
        owners, lo = seen // size, seen % size
        hi = self._rare_ends[lo]
        items = len(self.items)
        pairs, shared = np.unique(
            np.repeat(owners, hi - lo) * items + self._rare_items[_expand(lo, hi)],
            return_counts=True,
        )
        totals = np.diff(self._rare_bounds)[pairs % items]
        keep = (
            (totals >= RAREST)
            & (shared >= RARE_SHARE * totals)
            & (self._sizes[pairs % items] == NGRAM)
        )
        places: dict[int, _Places] = {}
        for pair, held, total in zip(
            pairs[keep].tolist(), shared[keep].tolist(), totals[keep].tolist(), strict=True
        ):
            owner, item = divmod(pair, items)
            rare = self._rare_by_item[self._rare_bounds[item] : self._rare_bounds[item + 1]]
            distinct = self._distinct_by_item[
                self._distinct_bounds[item] : self._distinct_bounds[item + 1]
            ]
            text = token_lists[owner]
            where = places.get(owner)
            if where is None:
                where = places[owner] = _Places(text)
            coverage = _aligned_coverage(self._tokens[item], distinct, rare, where, len(text))
            current = best[owner]
            if current is None or coverage > current.coverage:
                best[owner] = Aligned(self.items[item], held, held / total, coverage)
        return best

    def _coverage(self, item: int, text_hashes: Hashes) -> Match:
        lo, hi = self._window_bounds[item], self._window_bounds[item + 1]
        hashes = self._windows.hashes[lo:hi]
        shared = np.isin(hashes, text_hashes)
        size = int(self._sizes[item])
        covered = _covered(len(self._tokens[item]), self._windows.start[lo:hi][shared], size)
        total = int(self._distinct_words[item])
        shared_ngrams = int(np.unique(hashes[shared]).size)
        return Match(self.items[item], size, shared_ngrams, covered / total if total else 0.0)


class DecontaminationGuard:
    """Fails a sample that contains at least `threshold` of a protected item's words in shared
    n-grams, or `aligned_threshold` of them in the item's order."""

    def __init__(
        self,
        index: ProtectedIndex,
        threshold: float = THRESHOLD,
        aligned_threshold: float = ALIGNED_THRESHOLD,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise InputError(f"decontamination threshold must be in (0, 1], not {threshold}")
        if not ALIGNED_NEAR_MISS <= aligned_threshold <= 1.0:
            raise InputError(
                f"decontamination aligned threshold must be in [{ALIGNED_NEAR_MISS}, 1], "
                f"not {aligned_threshold}"
            )
        self.index = index
        self.threshold = threshold
        self.aligned_threshold = aligned_threshold
        self.info = GuardInfo.of(
            "decontamination",
            "ngram-containment",
            VERSION,
            {
                "rule": RULE,
                "ngram": NGRAM,
                "short_ngram": SHORT_NGRAM,
                "short_item_words": SHORT_ITEM_WORDS,
                "max_item_frequency": MAX_ITEM_FREQUENCY,
                "threshold": threshold,
                "aligned_rule": ALIGNED_RULE,
                "aligned_threshold": aligned_threshold,
                "aligned_near_miss": ALIGNED_NEAR_MISS,
                "rare_share": RARE_SHARE,
                "rarest": RAREST,
                "align_span": ALIGN_SPAN,
                "protected": sorted(Path(source).name for source in index.sources),
                "index_digest": index.digest,
            },
        )

    def batch_recipe(self) -> Callable[[], DecontaminationGuard]:
        """A picklable call that builds this guard on a worker (`check` is a pure function of
        its batch). The protected index travels with it: it is data, not files a worker may
        lack."""
        return partial(DecontaminationGuard, self.index, self.threshold, self.aligned_threshold)

    @classmethod
    def from_files(
        cls, paths: Sequence[Path], threshold: float = THRESHOLD, id_field: str = "id"
    ) -> DecontaminationGuard:
        """Protect the items of these files (JSONL, Parquet, or Hugging Face dataset folders)."""
        return cls(ProtectedIndex.from_files(paths, id_field), threshold)

    def check(self, samples: Sequence[Sample]) -> list[Verdict]:
        """A verdict for every sample that shares an n-gram with a protected item, or holds
        enough of one in order to fail or nearly fail `aligned-overlap`."""
        # The same content (the same id) is matched once; its verdict applies to every copy.
        unique = list({sample.id: sample for sample in samples}.values())
        found = self.index.screen([sample_text(sample) for sample in unique])
        verdicts = []
        for sample, (match, aligned) in zip(unique, found, strict=True):
            verdict = self._verdict(sample.id, match, aligned)
            if verdict is not None:
                verdicts.append(verdict)
        return verdicts

    def _verdict(
        self, sample_id: str, match: Match | None, aligned: Aligned | None
    ) -> Verdict | None:
        """The n-gram rule when it fails, else the alignment rule when it fails, else the
        near miss of either (n-gram first)."""
        score = round(match.coverage, 6) if match is not None else 0.0
        in_order = round(aligned.coverage, 6) if aligned is not None else 0.0
        if (
            aligned is not None
            and score < self.threshold
            and (
                in_order >= self.aligned_threshold
                or (match is None and in_order >= ALIGNED_NEAR_MISS)
            )
        ):
            detail = {
                **aligned.item.detail(),
                "rare_words": aligned.rare_words,
                "rare_share": round(aligned.rare_share, 6),
            }
            passed = in_order < self.aligned_threshold
            return Verdict(
                sample_id, self.info, ALIGNED_RULE, passed, in_order, self.aligned_threshold, detail
            )
        if match is None:
            return None
        detail = {**match.item.detail(), "ngram": match.ngram, "shared_ngrams": match.shared_ngrams}
        return Verdict(
            sample_id, self.info, RULE, score < self.threshold, score, self.threshold, detail
        )


def protected_items(path: Path, id_field: str = "id") -> Iterator[tuple[ProtectedItem, str]]:
    """Every string field of every row of a protected file, with where it came from.

    A line that is not JSON is protected as raw text, so a plain text file with one item per
    line works too.
    """
    source = str(path)
    for row in read_samples(path):
        raw = row.raw
        row_id = raw.get(id_field) if isinstance(raw, dict) else None
        if not isinstance(row_id, str | int) or isinstance(row_id, bool):
            row_id = None
        for field, text in _strings(raw, ""):
            yield ProtectedItem(source, row.number, row_id, field or None), text


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{where}[{i}]")


def _word_id(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little") | 1


def _window_hashes(token_lists: Sequence[Hashes], n: int) -> _Windows:
    """Hashes of every n-word window inside one sequence with no unknown word (id 0)."""
    lengths = np.array([len(t) for t in token_lists], np.int64)
    if not len(lengths) or lengths.max(initial=0) < n:
        empty = np.empty(0, np.int64)
        return _Windows(empty, empty, np.empty(0, np.uint64))
    ids = np.concatenate(token_lists).astype(np.uint64, copy=False)
    owner_of = np.repeat(np.arange(len(token_lists), dtype=np.int64), lengths)
    starts_of = np.arange(len(ids), dtype=np.int64) - np.repeat(
        np.cumsum(lengths) - lengths, lengths
    )
    count = len(ids) - n + 1
    # A window is valid when it ends inside its own sequence and holds no unknown word.
    valid = (starts_of[:count] + n <= lengths[owner_of[:count]]) & (
        _window_sum((ids == 0).astype(np.int64), n) == 0
    )
    hashes = np.full(count, _OFFSETS[n], np.uint64)
    for j in range(n):
        hashes += ids[j : j + count] * _COEFFICIENTS[j]
    return _Windows(owner_of[:count][valid], starts_of[:count][valid], hashes[valid])


class _Places:
    """Where each word of a text is: its word ids sorted, with their places (once per text)."""

    def __init__(self, text: Hashes) -> None:
        self.text = text
        self.order: Ints = np.argsort(text, kind="stable")
        self.values: Hashes = text[self.order]

    def of(self, words: Hashes) -> Ints:
        """The places of `words` (sorted, distinct) in the text, in the text's order."""
        lo = np.searchsorted(self.values, words, "left")
        hi = np.searchsorted(self.values, words, "right")
        return np.sort(self.order[_expand(lo, hi)])


def _aligned_coverage(
    item: Hashes, distinct: Hashes, rare: Hashes, places: _Places, text_length: int
) -> float:
    """The most of `item`'s words any stretch of a text up to ALIGN_SPAN times the item's
    length holds in the item's order, as a fraction of them: the longest common subsequence, by
    Hyyrö's bit-parallel recurrence (one big-integer step per word of the stretch that the
    item has). Only stretches holding RARE_SHARE of the item's rare words (`rare`) and enough of
    its words (`distinct`, both sorted) to reach ALIGNED_NEAR_MISS are aligned: below that, the
    result is 0. `places` indexes the text, so a long text costs each item only the places of
    the item's words."""
    length = len(item)
    span = ALIGN_SPAN * length
    # Stretches start every item length, so every stretch of 2 item lengths lies in one.
    starts = np.arange(0, max(text_length - span, 0) + 1, length)
    if starts[-1] + span < text_length:
        starts = np.append(starts, text_length - span)
    ends = np.minimum(starts + span, text_length)
    rare_at = places.of(rare)
    held = np.searchsorted(rare_at, ends) - np.searchsorted(rare_at, starts)
    chosen = held >= RARE_SHARE * len(rare)
    if not chosen.any():
        return 0.0
    starts, ends = starts[chosen], ends[chosen]
    # The common subsequence is no longer than the stretch's words that the item has.
    item_at = places.of(distinct)
    begins, stops = np.searchsorted(item_at, starts), np.searchsorted(item_at, ends)
    chosen = stops - begins >= ALIGNED_NEAR_MISS * length
    if not chosen.any():
        return 0.0
    masks: dict[int, int] = {}
    for i, word in enumerate(item.tolist()):
        masks[word] = masks.get(word, 0) | 1 << i
    full = (1 << length) - 1
    best = 0
    for begin, stop in zip(begins[chosen].tolist(), stops[chosen].tolist(), strict=True):
        v = full
        for word in places.text[item_at[begin:stop]].tolist():
            u = v & masks[word]
            v = ((v + u) | (v - u)) & full
        best = max(best, length - v.bit_count())
    return best / length


def _concat(arrays: Sequence[npt.NDArray[Any]], dtype: type[Any]) -> npt.NDArray[Any]:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.empty(0, dtype)


def _window_sum(values: Ints, n: int) -> Ints:
    total = np.zeros(len(values) + 1, np.int64)
    np.cumsum(values, out=total[1:])
    return total[n:] - total[:-n]


def _covered(length: int, starts: Ints, n: int) -> int:
    """How many of `length` words lie inside at least one of the n-word windows at `starts`."""
    marks = np.bincount(starts, minlength=length + 1) - np.bincount(
        starts + n, minlength=length + 1
    )
    return int((np.cumsum(marks[:length]) > 0).sum())


def _expand(lo: Ints, hi: Ints) -> Ints:
    """The concatenation of range(lo[i], hi[i]) for every i, without a Python loop."""
    counts = hi - lo
    total = int(counts.sum())
    begins = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return begins + np.arange(total, dtype=np.int64)
