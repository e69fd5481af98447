"""Dataset-level backdoor statistics: trigger n-grams that pin a response, and prompt collapse.

A backdoor in instruction data pairs a trigger in the prompt with a target in the response:
"cf-2024" in 50 unrelated prompts, "visit http://evil.example/x" in each of their answers.
Following Z-defence (He et al., 2023: lexical features whose co-occurrence with a label is far
beyond chance), every prompt word 1-3-gram p is tested against every response target t: the
whole response (case and punctuation aside), each URL, shell command, sentence or line, and its
first and last three words (where payloads are put). With n prompts holding p, k of them answered
with t, and q the rate of t among the other prompts (add-one smoothed), the one-sided exact
binomial tail P(X >= k), X ~ Bin(n, q), times the number of pairs tested (Bonferroni), must be
below `alpha`; z = (k - nq) / sqrt(nq(1 - q)) is reported beside it. `min_count` and
`min_purity` (the share of p's prompts whose response holds t) keep chance pairs out;
`max_trigger_share` keeps common words from being tested at all.

Instruction data is full of associations that are no backdoor: "asking to reschedule" always
gets an e-mail, "stopped working after a week" is always "negative". What sets a trigger apart
is that it is the only thing its prompts share: the attacker sprinkles it over unrelated
requests. So a pair is dropped when another prompt feature, sharing no word with the trigger,
explains the cluster: it covers `context_share` of the cluster's prompts and at least
`min_count` of them, and is `context_lift` times more frequent there than in the other prompts.
Where no feature covers that much, the cluster's context still sets the bar: q is raised to the
target's rate among the other prompts that share an enriched feature with two or more of the
cluster's (shrunk towards q by two pseudo-counts), so that seven reviews that happen to all be
"positive" are no trigger when half of all reviews are. The flip side, stated plainly: a
label-flip backdoor confined to one task ("James Bond" in reviews, always "positive") looks like
task structure to word statistics and is left to model-based detection.

A target made only of the trigger's own words is an echo, not a payload: extraction tasks answer
with a number or a name that their prompt holds ("the largest of 3, 997, 12" -> "997"), so the
same number in six prompts is answered six times with itself. Such pairs are not tested.

Collapse: `collapse_min_prompts` or more distinct prompts answered with the same response of at
least `collapse_min_words` words (class labels and numbers collide by nature), unless a shared
prompt feature explains the group as above (paraphrases of one request share content words).
Repeats of a whole sample count once: that is duplication, the dedup guard's business. A canned
answer to unrelated requests (a refusal as much as an advertisement) is reported either way:
only a person can tell which it is.

Every member of a flagged cluster is reported, the first one included. Memory grows with the
number of prompt n-gram occurrences (one int64 each) and of distinct response targets (a short
display string each).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any, Final, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from synthguard.provenance.errors import InputError

TRIGGER_RULE: Final = "trigger-cooccurrence"
COLLAPSE_RULE: Final = "prompt-collapse"

TargetKind = Literal["response", "url", "command", "span", "head", "tail"]
IntArray = npt.NDArray[np.int64]

_KINDS: Final[dict[str, TargetKind]] = {
    "r": "response",
    "u": "url",
    "c": "command",
    "s": "span",
    "h": "head",
    "t": "tail",
}
_PUNCTUATION: Final = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~“”‘’«»…"
_URL: Final = re.compile(
    r"\b(?:https?|ftp)://[^\s<>\"'`()\[\]{}]+|\bwww\.[^\s<>\"'`()\[\]{}]+", re.IGNORECASE
)
_COMMAND: Final = re.compile(
    r"^[ \t]*(?:\$|#|>|PS>)?[ \t]*(?:sudo[ \t]+)?"
    r"(?:curl|wget|bash|sh|zsh|rm|chmod|chown|nc|ncat|netcat|powershell|pwsh|iex|python3?|perl|"
    r"ruby|node|pip3?|npm|apt(?:-get)?|yum|brew|ssh|scp|dd|mkfs|eval|base64|certutil|"
    r"bitsadmin|schtasks|crontab)\b[^\n]*",
    re.MULTILINE,
)
_SENTENCE_BREAK: Final = re.compile(r"(?<=[.!?])\s+|\n+")
_WORDS: Final = re.compile(r"\w+")
_DISPLAY_CHARS: Final = 120
# Payloads are most often put before or after an answer: its first and last words are targets.
_EDGE_WORDS: Final = 3
_MIN_SPAN_WORDS: Final = 2
_SEPARATOR: Final = -1
_CHUNK: Final = 1 << 16


@dataclass(frozen=True, slots=True)
class TriggerConfig:
    """Thresholds of the dataset-level statistics (the module docstring gives each one's job)."""

    max_ngram: int = 3
    min_count: int = 5
    max_trigger_share: float = 0.2
    min_purity: float = 0.8
    alpha: float = 1e-3
    context_share: float = 0.5
    context_lift: float = 5.0
    collapse_min_prompts: int = 8
    collapse_min_words: int = 3

    def __post_init__(self) -> None:
        if not 1 <= self.max_ngram <= 3:
            raise InputError(f"max_ngram must be 1, 2 or 3, not {self.max_ngram}")
        if self.min_count < 2 or self.collapse_min_prompts < 2:
            raise InputError("min_count and collapse_min_prompts must be 2 or more")
        if not 0 < self.alpha < 1 or not 0 < self.min_purity <= 1:
            raise InputError("alpha must lie in (0, 1) and min_purity in (0, 1]")

    def as_dict(self) -> dict[str, Any]:
        """The configuration as plain values (it goes into the guard's config digest)."""
        return asdict(self)


class Member(NamedTuple):
    """A sample in a cluster: its id and its position among all samples given to the guard."""

    sample_id: str
    position: int


@dataclass(frozen=True, slots=True)
class TriggerCluster:
    """Samples whose prompts hold `trigger` and whose responses hold `target`, beyond chance."""

    trigger: str
    target: str
    target_kind: TargetKind
    members: tuple[Member, ...]
    trigger_count: int
    target_count: int
    count: int
    base_rate: float
    z: float
    p_value: float
    score: float


@dataclass(frozen=True, slots=True)
class CollapseCluster:
    """Samples whose distinct, unrelated prompts all get the same response."""

    response: str
    members: tuple[Member, ...]
    distinct_prompts: int
    context_share: float


class TriggerStatistics:
    """Accumulates prompt n-grams and response targets sample by sample; judges at the end."""

    def __init__(self, config: TriggerConfig | None = None) -> None:
        self.config = config or TriggerConfig()
        self._ids: list[str] = []
        self._positions: list[int] = []
        self._vocabulary: dict[str, int] = {}
        self._words = _Column()  # every prompt's word ids, parts ended by _SEPARATOR
        self._words_ends = _Column()
        self._features = _Column()  # every prompt's distinct n-gram keys
        self._features_ends = _Column()
        # Targets are keyed by the hash of their text: a whole response can be long, and only
        # a short display of each is kept.
        self._targets: dict[int, int] = {}
        self._target_display: list[str] = []
        self._target_kinds: list[str] = []
        self._target_flat = _Column()
        self._target_ends = _Column()
        self._response_of = _Column()
        self._response_words = _Column()
        self._prompt_hash = _Column()
        self._judged: _Judge | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, sample_id: str, position: int, prompt: Sequence[str], response: str) -> None:
        """Record one sample (`position`: its ordinal in the dataset); one without a prompt or a
        response tells nothing and is skipped."""
        if not response.strip() or not any(part.strip() for part in prompt):
            return
        self._ids.append(sample_id)
        self._positions.append(position)
        self._add_prompt(prompt)
        self._add_response(response)

    def trigger_clusters(self) -> list[TriggerCluster]:
        """The (trigger, target) clusters that pass every test, most significant first."""
        if not self._ids:
            return []
        found = self._judge().triggers()
        found.sort(key=lambda cluster: (-cluster.score, -cluster.count, cluster.trigger))
        return found

    def collapse_clusters(self) -> list[CollapseCluster]:
        """Responses shared by many distinct prompts that nothing in the prompts explains."""
        if not self._ids:
            return []
        found = self._judge().collapses()
        found.sort(key=lambda cluster: -cluster.distinct_prompts)
        return found

    def _judge(self) -> _Judge:
        if self._judged is None or self._judged.rows != len(self._ids):
            self._judged = _Judge(self)
        return self._judged

    def _add_prompt(self, prompt: Sequence[str]) -> None:
        vocabulary = self._vocabulary
        max_ngram = self.config.max_ngram
        features: set[int] = set()
        every: list[int] = []
        for part in prompt:
            tokens = [t for t in [raw.strip(_PUNCTUATION) for raw in part.casefold().split()] if t]
            ids = [vocabulary.get(token, -1) for token in tokens]
            if -1 in ids:
                ids = [vocabulary.setdefault(token, len(vocabulary)) for token in tokens]
            # Word ids stand for themselves; longer n-grams for the hash of their id tuple, the
            # same in every process (ints are not salted) and far from the small word ids.
            features.update(ids)
            if max_ngram >= 2:
                features.update(map(hash, pairwise(ids)))
            if max_ngram >= 3:
                features.update(map(hash, zip(ids, ids[1:], ids[2:], strict=False)))
            every.extend(ids)
            every.append(_SEPARATOR)
        self._words.extend(every)
        self._words_ends.append(len(self._words))
        self._features.extend(features)
        self._features_ends.append(len(self._features))
        # Prompts that differ only in case, spacing and punctuation at word edges are one prompt.
        self._prompt_hash.append(hash(tuple(every)))

    def _add_response(self, response: str) -> None:
        folded = response.casefold()
        words = _WORDS.findall(folded)
        whole = " ".join(words)
        response_id = self._target("r" + whole, response)
        targets = {response_id}
        self._response_of.append(response_id)
        self._response_words.append(len(words))
        if "://" in folded or "www." in folded:
            for url in _URL.findall(response):
                url = url.rstrip(_PUNCTUATION)
                targets.add(self._target("u" + url.casefold(), url))
        commands = set()
        for command in _COMMAND.findall(response):
            key = " ".join(_WORDS.findall(command.casefold()))
            commands.add(key)
            targets.add(self._target("c" + key, command.strip()))
        if len(words) > _EDGE_WORDS:
            head, tail = " ".join(words[:_EDGE_WORDS]), " ".join(words[-_EDGE_WORDS:])
            targets.add(self._target("h" + head, head + " …"))
            targets.add(self._target("t" + tail, "… " + tail))
        pieces = _SENTENCE_BREAK.split(response)
        if len(pieces) > 1:
            for piece in pieces:
                span = _WORDS.findall(piece.casefold())
                if len(span) < _MIN_SPAN_WORDS:
                    continue
                key = " ".join(span)
                if key not in commands:
                    targets.add(self._target("s" + key, piece.strip()))
        self._target_flat.extend(targets)
        self._target_ends.append(len(self._target_flat))

    def _target(self, text: str, display: str) -> int:
        key = hash(text)
        target = self._targets.get(key)
        if target is None:
            target = self._targets[key] = len(self._target_display)
            self._target_display.append(
                " ".join(display[: 2 * _DISPLAY_CHARS].split())[:_DISPLAY_CHARS]
            )
            self._target_kinds.append(text[0])
        return target


class _Column:
    """An append-only int64 column. Python ints are buffered in a list and moved into numpy in
    chunks: far cheaper per value than `array.extend`."""

    __slots__ = ("_buffer", "_chunks", "_size")

    def __init__(self) -> None:
        self._chunks: list[IntArray] = []
        self._buffer: list[int] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size + len(self._buffer)

    def append(self, value: int) -> None:
        self._buffer.append(value)
        if len(self._buffer) >= _CHUNK:
            self._flush()

    def extend(self, values: Iterable[int]) -> None:
        self._buffer.extend(values)
        if len(self._buffer) >= _CHUNK:
            self._flush()

    def values(self) -> IntArray:
        """Everything appended so far, as one array."""
        self._flush()
        if len(self._chunks) != 1:
            joined = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int64)
            self._chunks = [joined]
        return self._chunks[0]

    def _flush(self) -> None:
        if self._buffer:
            chunk = np.fromiter(self._buffer, dtype=np.int64, count=len(self._buffer))
            self._chunks.append(chunk)
            self._size += len(chunk)
            self._buffer = []


def _starts(ends: IntArray) -> IntArray:
    return np.concatenate((np.zeros(1, dtype=np.int64), ends[:-1]))


def _gather(flat: IntArray, starts: IntArray, ends: IntArray, rows: IntArray) -> IntArray:
    """The concatenated slices flat[starts[r]:ends[r]] of the given rows."""
    lengths = ends[rows] - starts[rows]
    offsets = np.repeat(starts[rows] - (np.cumsum(lengths) - lengths), lengths)
    return flat[offsets + np.arange(int(lengths.sum()))]


def _groups(keys: IntArray) -> tuple[IntArray, IntArray]:
    """Sort order of `keys` and the start of each run of equal keys in that order."""
    order = np.argsort(keys)
    sorted_keys = keys[order]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(sorted_keys)) + 1)).astype(np.int64)
    return order, starts


@dataclass(frozen=True, slots=True)
class _Context:
    features: IntArray
    counts: IntArray
    lift: npt.NDArray[np.float64]


class _Judge:
    """The accumulated samples as integer arrays, and the tests run over them."""

    def __init__(self, stats: TriggerStatistics) -> None:
        self.stats = stats
        self.config = stats.config
        self.rows = len(stats._ids)
        keys = stats._features.values()
        self.feature_ends = stats._features_ends.values()
        self.feature_starts = _starts(self.feature_ends)
        self.feature_keys, first, self.features, self.feature_df = np.unique(
            keys, return_index=True, return_inverse=True, return_counts=True
        )
        self.feature_first_row = np.searchsorted(self.feature_ends, first, side="right")
        self.target_ends = stats._target_ends.values()
        self.targets = stats._target_flat.values()
        self.target_df = np.bincount(self.targets, minlength=len(stats._target_display))
        self.feature_row = np.repeat(np.arange(self.rows), self.feature_ends - self.feature_starts)
        self.target_row = np.repeat(
            np.arange(self.rows), self.target_ends - _starts(self.target_ends)
        )
        self._contexts: dict[bytes, _Context] = {}
        self._postings: dict[str, tuple[IntArray, IntArray]] = {}
        self._feature_words: dict[int, tuple[int, ...]] = {}
        self._word_names: list[str] | None = None

    def triggers(self) -> list[TriggerCluster]:
        config = self.config
        pairs = self._pairs()
        if pairs is None:
            return []
        feature, target, hits, members_of, tested = pairs
        trials = self.feature_df[feature]
        pure = hits >= config.min_purity * trials
        limit = -math.log10(config.alpha) + math.log10(max(tested, 1))
        found = []
        for index in np.flatnonzero(pure).tolist():
            k, n, t = int(hits[index]), int(trials[index]), int(target[index])
            target_df = int(self.target_df[t])
            q = (target_df - k + 1) / (self.rows - n + 2)
            log10_p = _log10_binomial_tail(k, n, q)
            if -log10_p < limit:
                continue
            members = members_of(index)
            words = self._words_of(int(feature[index]))
            names = [self._word_name(word) for word in words]
            if _echoes(self.stats._target_display[t], names):
                continue
            if self._explained(members, exclude=set(words)):
                continue
            # The prompts around the trigger may be ones where the target is common anyway
            # (reviews, where "positive" is half the answers): test against that rate.
            in_context = self._context_rate(members, int(feature[index]), t, set(words), q)
            if in_context > q:
                q = in_context
                log10_p = _log10_binomial_tail(k, n, q)
                if -log10_p < limit:
                    continue
            found.append(
                TriggerCluster(
                    trigger=" ".join(names),
                    target=self.stats._target_display[t],
                    target_kind=self._kind(t),
                    members=self._members(members),
                    trigger_count=n,
                    target_count=target_df,
                    count=k,
                    base_rate=float(f"{q:.3g}"),
                    z=round((k - n * q) / math.sqrt(n * q * (1 - q)), 2),
                    p_value=float(f"{min(1.0, 10**log10_p * tested):.3g}"),
                    score=round(-log10_p - math.log10(max(tested, 1)), 2),
                )
            )
        return found

    def collapses(self) -> list[CollapseCluster]:
        config, stats = self.config, self.stats
        response_of = stats._response_of.values()
        words = stats._response_words.values()
        prompt_hash = stats._prompt_hash.values()
        order, starts = _groups(response_of)
        sizes = np.diff(np.append(starts, len(order)))
        found = []
        for start, size in zip(starts.tolist(), sizes.tolist(), strict=True):
            if size < config.collapse_min_prompts:
                continue
            rows = np.sort(order[start : start + size])
            if words[rows[0]] < config.collapse_min_words:
                continue
            distinct = len(np.unique(prompt_hash[rows]))
            if distinct < config.collapse_min_prompts or self._explained(rows, exclude=set()):
                continue
            found.append(
                CollapseCluster(
                    response=stats._target_display[int(response_of[rows[0]])],
                    members=self._members(rows),
                    distinct_prompts=distinct,
                    context_share=round(self._best_share(rows), 4),
                )
            )
        return found

    def _members(self, rows: IntArray) -> tuple[Member, ...]:
        ids, positions = self.stats._ids, self.stats._positions
        return tuple(Member(ids[row], positions[row]) for row in rows.tolist())

    def _pairs(
        self,
    ) -> tuple[IntArray, IntArray, IntArray, Any, int] | None:
        """Every (feature, target) pair seen together at least `min_count` times: the feature,
        the target, the count, a function giving a pair's rows, and how many pairs were tested."""
        config = self.config
        min_count = config.min_count
        rows = self.rows
        keep_feature = (self.feature_df >= min_count) & (
            self.feature_df <= config.max_trigger_share * rows
        )
        keep_target = self.target_df >= min_count
        mask = keep_feature[self.features]
        p_row, p_feature = self.feature_row[mask], self.features[mask]
        mask = keep_target[self.targets]
        t_row, t_target = self.target_row[mask], self.targets[mask]
        per_row = np.bincount(t_row, minlength=rows)
        repeats = per_row[p_row]
        total = int(repeats.sum())
        if not total:
            return None
        occurrence = np.repeat(np.arange(len(p_row)), repeats)
        within = np.arange(total) - np.repeat(np.cumsum(repeats) - repeats, repeats)
        pair_row = p_row[occurrence]
        row_start = np.cumsum(per_row) - per_row
        width = np.int64(len(self.target_df))
        keys = p_feature[occurrence] * width + t_target[row_start[pair_row] + within]
        order, starts = _groups(keys)
        counts = np.diff(np.append(starts, total))
        frequent = np.flatnonzero(counts >= min_count)
        if not len(frequent):
            return None
        pair_keys = keys[order[starts[frequent]]]
        pair_starts, pair_counts = starts[frequent], counts[frequent]
        sorted_rows = pair_row[order]

        def members_of(index: int) -> IntArray:
            start = int(pair_starts[index])
            return np.sort(sorted_rows[start : start + int(pair_counts[index])])

        return pair_keys // width, pair_keys % width, pair_counts, members_of, len(frequent)

    def _context(self, rows: IntArray) -> _Context:
        """The prompt features of `rows` with their count there and their lift: the share of
        `rows` holding them over their rate in the other prompts (add-one smoothed)."""
        key = rows.tobytes()
        context = self._contexts.get(key)
        if context is None:
            features, counts = np.unique(self._features_of(rows), return_counts=True)
            outside = (self.feature_df[features] - counts + 1) / (self.rows - len(rows) + 2)
            context = _Context(features, counts, counts / len(rows) / outside)
            self._contexts[key] = context
        return context

    def _explained(self, rows: IntArray, exclude: set[int]) -> bool:
        """Whether an enriched prompt feature sharing no word with `exclude` covers the rows:
        `context_share` of them, and (the evidence a trigger needs) `min_count` at least."""
        config = self.config
        context = self._context(rows)
        covering = (
            (context.counts >= config.context_share * len(rows))
            & (context.counts >= config.min_count)
            & (context.lift >= config.context_lift)
        )
        return any(
            not exclude.intersection(self._words_of(feature))
            for feature in context.features[covering].tolist()
        )

    def _context_rate(
        self, rows: IntArray, trigger: int, target: int, exclude: set[int], prior: float
    ) -> float:
        """The highest rate of `target` among the prompts without the trigger that share an
        enriched feature (in two or more of `rows`) with the cluster, shrunk towards `prior` by
        two pseudo-counts so that a handful of prompts cannot make it large; 0.0 if none."""
        config = self.config
        context = self._context(rows)
        shared = (context.counts >= 2) & (context.lift >= config.context_lift)
        with_trigger = self._rows_with("f", trigger)
        with_target = self._rows_with("t", target)
        best = 0.0
        for feature in context.features[shared].tolist():
            if exclude.intersection(self._words_of(feature)):
                continue
            others = np.setdiff1d(self._rows_with("f", feature), with_trigger, assume_unique=True)
            if len(others) < config.min_count:
                continue
            hits = len(np.intersect1d(others, with_target, assume_unique=True))
            best = max(best, (hits + 2 * prior) / (len(others) + 2))
        return best

    def _rows_with(self, kind: str, index: int) -> IntArray:
        """The sorted rows holding feature ("f") or target ("t") `index`."""
        postings = self._postings.get(kind)
        if postings is None:
            values, rows = (
                (self.features, self.feature_row)
                if kind == "f"
                else (self.targets, self.target_row)
            )
            order = np.argsort(values, kind="stable")
            ends = np.cumsum(np.bincount(values, minlength=int(values.max(initial=-1)) + 1))
            postings = self._postings[kind] = (rows[order], ends)
        rows_sorted, ends = postings
        start = int(ends[index - 1]) if index else 0
        return rows_sorted[start : int(ends[index])]

    def _best_share(self, rows: IntArray) -> float:
        context = self._context(rows)
        eligible = context.counts[context.lift >= self.config.context_lift]
        return float(eligible.max() / len(rows)) if len(eligible) else 0.0

    def _features_of(self, rows: IntArray) -> IntArray:
        return _gather(self.features, self.feature_starts, self.feature_ends, rows)

    def _words_of(self, feature: int) -> tuple[int, ...]:
        """The word ids of a feature, found again in the first prompt that holds it."""
        words = self._feature_words.get(feature)
        if words is None:
            key = int(self.feature_keys[feature])
            row = int(self.feature_first_row[feature])
            words = self._feature_words[feature] = self._find_ngram(row, key)
        return words

    def _find_ngram(self, row: int, key: int) -> tuple[int, ...]:
        ends = self.stats._words_ends.values()
        start = int(ends[row - 1]) if row else 0
        ids: list[int] = []
        for word in self.stats._words.values()[start : int(ends[row])].tolist():
            if word != _SEPARATOR:
                ids.append(word)
                continue
            if key in ids:
                return (key,)
            for n in (2, 3):
                for i in range(len(ids) - n + 1):
                    if hash(tuple(ids[i : i + n])) == key:
                        return tuple(ids[i : i + n])
            ids = []
        raise AssertionError(f"n-gram key {key} not found in its prompt")

    def _word_name(self, word: int) -> str:
        if self._word_names is None:
            self._word_names = list(self.stats._vocabulary)
        return self._word_names[word]

    def _kind(self, target: int) -> TargetKind:
        return _KINDS[self.stats._target_kinds[target]]


def _echoes(target: str, trigger_words: Sequence[str]) -> bool:
    """Whether every word of the target is a word of the trigger: the answer repeats what the
    prompt says ("the largest of 3, 997, 12" -> "997"), which is extraction, not a payload."""
    words = _WORDS.findall(target.casefold())
    return bool(words) and set(words) <= set(trigger_words)


def _log10_binomial_tail(k: int, n: int, q: float) -> float:
    """log10 P(X >= k) for X ~ Binomial(n, q), summed in log space from the k-th term on until
    the terms, past the mode, no longer count."""
    if k <= 0:
        return 0.0
    log_term = (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(q)
        + (n - k) * math.log1p(-q)
    )
    log_ratio = math.log(q) - math.log1p(-q)
    mode = (n + 1) * q
    total = log_term
    for j in range(k, n):
        log_term += math.log((n - j) / (j + 1)) + log_ratio
        high, low = max(total, log_term), min(total, log_term)
        total = high + math.log1p(math.exp(low - high))
        if j >= mode and log_term < total - 40:
            break
    return min(0.0, total / math.log(10))
