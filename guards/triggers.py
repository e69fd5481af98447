"""Dataset-level backdoor statistics: trigger n-grams that pin a response, and prompt collapse.

A backdoor in instruction data pairs a trigger in the prompt with a target in the response:
"cf-2024" in 50 unrelated prompts, "visit http://evil.example/x" in each of their answers.
Following Z-defence (He et al., 2023: lexical features whose co-occurrence with a label is far
beyond chance), every prompt word 1-3-gram p is tested against every response target t (the
whole response, a URL, a shell command, a sentence or line): with n prompts holding p, k of them
answered with t, and q the rate of t among the prompts without p (add-one smoothed), the one-sided
exact binomial tail P(X >= k), X ~ Bin(n, q), Bonferroni-corrected over every pair tested, must
be below `alpha`; z = (k - nq) / sqrt(nq(1-q)) is reported beside it.

Instruction data is full of such associations that are not backdoors: "asking to reschedule"
always gets an e-mail, "stopped working after a week" is always "negative". What separates a
trigger is that it is the only thing its prompts share: the attacker sprinkles it over unrelated
requests. So a pair is flagged only when no other prompt feature, one sharing no word with the
trigger, covers at least `context_share` of the cluster while being `context_lift` times more
frequent there than in the dataset; a cluster of one task's prompts always has such a feature.
The flip side, stated plainly: a label-flip backdoor confined to one task ("James Bond" reviews
always "positive") looks like task structure to word statistics and is left to model-based
detection. `min_purity` (share of the trigger's prompts whose response carries the target) and
`min_count` keep chance pairs out; `max_trigger_share` keeps common words from being tested.

Collapse: `collapse_min_prompts` or more distinct prompts answered with the same response (of
at least `collapse_min_words` words, so class labels and numbers, which collide by nature, are
not counted), when no shared prompt feature explains the group (paraphrases of one request share
their content words). Exact repeats of a whole sample count once: that is duplication, which
the dedup guard handles. A canned answer to unrelated requests (a refusal, an advertisement) is
reported either way: only a person can tell which.

Every member of a flagged cluster is reported, the first included.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

TRIGGER_RULE: Final = "trigger-cooccurrence"
COLLAPSE_RULE: Final = "prompt-collapse"

TargetKind = Literal["response", "url", "command", "span"]
IntArray = npt.NDArray[np.int64]

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
_DISPLAY_CHARS: Final = 200
_MIN_SPAN_WORDS: Final = 2


@dataclass(frozen=True, slots=True)
class TriggerConfig:
    """Thresholds of the dataset-level statistics (see the module docstring for each one's job)."""

    max_ngram: int = 3
    min_count: int = 5
    max_trigger_share: float = 0.2
    min_purity: float = 0.8
    alpha: float = 1e-3
    context_share: float = 0.5
    context_lift: float = 5.0
    collapse_min_prompts: int = 8
    collapse_min_words: int = 3

    def as_dict(self) -> dict[str, Any]:
        """The configuration as plain values (it goes into the guard's config digest)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class TriggerCluster:
    """Samples whose prompts hold `trigger` and whose responses hold `target`, beyond chance."""

    trigger: str
    target: str
    target_kind: TargetKind
    members: tuple[str, ...]
    trigger_count: int
    target_count: int
    count: int
    z: float
    p_value: float
    score: float


@dataclass(frozen=True, slots=True)
class CollapseCluster:
    """Samples whose distinct, unrelated prompts all get the same response."""

    response: str
    members: tuple[str, ...]
    distinct_prompts: int
    context_share: float


class TriggerStatistics:
    """Accumulates prompt n-grams and response targets sample by sample; judges at the end.

    Memory grows with the number of distinct prompt n-grams and response targets, plus a few
    integers per n-gram occurrence.
    """

    def __init__(self, config: TriggerConfig | None = None) -> None:
        self.config = config or TriggerConfig()
        self._ids: list[str] = []
        self._features: dict[str | tuple[int, ...], int] = {}
        self._feature_words: list[tuple[int, ...]] = []
        self._targets: dict[tuple[TargetKind, str], int] = {}
        self._target_display: list[str] = []
        self._prompt_flat = array("q")
        self._prompt_ends = array("q")
        self._target_flat = array("q")
        self._target_ends = array("q")
        self._responses: dict[str, int] = {}
        self._response_display: list[str] = []
        self._response_words: list[int] = []
        self._response_of = array("q")
        self._prompt_hash = array("q")

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, sample_id: str, prompt: Sequence[str], response: str) -> None:
        """Record one sample; samples without a prompt or a response tell nothing and are
        skipped."""
        if not any(part.strip() for part in prompt) or not response.strip():
            return
        self._ids.append(sample_id)
        self._prompt_flat.extend(self._prompt_features(prompt))
        self._prompt_ends.append(len(self._prompt_flat))
        whole = " ".join(response.split())
        self._target_flat.extend(self._response_targets(response, whole))
        self._target_ends.append(len(self._target_flat))
        words = _WORDS.findall(whole.casefold())
        key = " ".join(words)
        response_id = self._responses.get(key)
        if response_id is None:
            response_id = self._responses[key] = len(self._responses)
            self._response_display.append(whole[:_DISPLAY_CHARS])
            self._response_words.append(len(words))
        self._response_of.append(response_id)
        self._prompt_hash.append(hash(" ".join(" ".join(prompt).casefold().split())))

    def trigger_clusters(self) -> list[TriggerCluster]:
        """The (trigger, target) clusters that pass every test, most significant first."""
        table = self._table()
        if table is None:
            return []
        found = _Pairs(self, table).flagged()
        found.sort(key=lambda cluster: (-cluster.score, -cluster.count, cluster.trigger))
        return found

    def collapse_clusters(self) -> list[CollapseCluster]:
        """Responses shared by many distinct prompts that nothing in the prompts explains."""
        table = self._table()
        if table is None:
            return []
        config = self.config
        response_of = np.frombuffer(self._response_of, dtype=np.int64)
        prompt_hash = np.frombuffer(self._prompt_hash, dtype=np.int64)
        words = np.asarray(self._response_words, dtype=np.int64)
        order = np.argsort(response_of, kind="stable")
        groups = np.split(order, np.flatnonzero(np.diff(response_of[order])) + 1)
        found = []
        for rows in groups:
            if len(rows) < config.collapse_min_prompts:
                continue
            response = int(response_of[rows[0]])
            if words[response] < config.collapse_min_words:
                continue
            distinct = len(np.unique(prompt_hash[rows]))
            if distinct < config.collapse_min_prompts:
                continue
            share = table.context_share(rows, exclude=())
            if share >= config.context_share:
                continue
            found.append(
                CollapseCluster(
                    response=self._response_display[response],
                    members=tuple(self._ids[int(row)] for row in rows),
                    distinct_prompts=distinct,
                    context_share=round(share, 4),
                )
            )
        found.sort(key=lambda cluster: -cluster.distinct_prompts)
        return found

    def _prompt_features(self, prompt: Sequence[str]) -> set[int]:
        features = self._features
        words_of = self._feature_words
        found: set[int] = set()
        for part in prompt:
            ids: list[int] = []
            for raw in part.casefold().split():
                token = raw.strip(_PUNCTUATION)
                if not token:
                    continue
                feature = features.get(token)
                if feature is None:
                    feature = features[token] = len(words_of)
                    words_of.append((feature,))
                ids.append(feature)
            found.update(ids)
            for n in range(2, self.config.max_ngram + 1):
                for i in range(len(ids) - n + 1):
                    gram = tuple(ids[i : i + n])
                    feature = features.get(gram)
                    if feature is None:
                        feature = features[gram] = len(words_of)
                        words_of.append(gram)
                    found.add(feature)
        return found

    def _response_targets(self, response: str, whole: str) -> set[int]:
        found = {self._target("response", whole.casefold(), whole)}
        for url in _URL.findall(response):
            url = url.rstrip(_PUNCTUATION)
            found.add(self._target("url", url.casefold(), url))
        commands = set()
        for command in _COMMAND.findall(response):
            command = " ".join(command.split())
            commands.add(command.casefold())
            found.add(self._target("command", command.casefold(), command))
        for piece in _SENTENCE_BREAK.split(response):
            span = " ".join(piece.split()).rstrip(".!?,;:")
            key = span.casefold()
            if key in commands or key == whole.casefold() or span.count(" ") < _MIN_SPAN_WORDS - 1:
                continue
            found.add(self._target("span", key, span))
        return found

    def _target(self, kind: TargetKind, key: str, display: str) -> int:
        target = self._targets.get((kind, key))
        if target is None:
            target = self._targets[(kind, key)] = len(self._target_display)
            self._target_display.append(display[:_DISPLAY_CHARS])
        return target

    def _table(self) -> _Table | None:
        if not self._ids:
            return None
        return _Table(
            prompt_ends=np.frombuffer(self._prompt_ends, dtype=np.int64),
            prompt_flat=np.frombuffer(self._prompt_flat, dtype=np.int64),
            target_ends=np.frombuffer(self._target_ends, dtype=np.int64),
            target_flat=np.frombuffer(self._target_flat, dtype=np.int64),
            feature_count=len(self._feature_words),
            target_count=len(self._target_display),
            config=self.config,
        )

    def _feature_text(self, feature: int) -> str:
        words = self._feature_words[feature]
        if len(words) == 1 and self._feature_words[words[0]] == words:
            pass
        return " ".join(self._word_text(word) for word in words)

    def _word_text(self, word: int) -> str:
        if not hasattr(self, "_word_names"):
            self._word_names = {
                feature: key for key, feature in self._features.items() if isinstance(key, str)
            }
        return self._word_names[word]


class _Table:
    """The accumulated samples as flat integer arrays: prompt features and targets per row."""

    def __init__(
        self,
        *,
        prompt_ends: IntArray,
        prompt_flat: IntArray,
        target_ends: IntArray,
        target_flat: IntArray,
        feature_count: int,
        target_count: int,
        config: TriggerConfig,
    ) -> None:
        self.rows = len(prompt_ends)
        self.prompt_starts = np.concatenate(([0], prompt_ends[:-1]))
        self.prompt_ends = prompt_ends
        self.prompt_flat = prompt_flat
        self.prompt_row = np.repeat(np.arange(self.rows), prompt_ends - self.prompt_starts)
        self.target_starts = np.concatenate(([0], target_ends[:-1]))
        self.target_flat = target_flat
        self.target_row = np.repeat(np.arange(self.rows), target_ends - self.target_starts)
        self.feature_df = np.bincount(prompt_flat, minlength=feature_count)
        self.target_df = np.bincount(target_flat, minlength=target_count)
        self.config = config
        self.words: npt.NDArray[np.int64] | None = None

    def features_of(self, rows: IntArray) -> IntArray:
        """Every prompt feature occurrence of the given rows, concatenated."""
        starts = self.prompt_starts[rows]
        lengths = self.prompt_ends[rows] - starts
        total = int(lengths.sum())
        offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        return self.prompt_flat[offsets + np.arange(total)]

    def context_share(self, rows: IntArray, exclude: Sequence[int]) -> float:
        """The largest share of `rows` covered by one enriched prompt feature that contains
        none of the words in `exclude`."""
        features, counts = np.unique(self.features_of(rows), return_counts=True)
        share = counts / len(rows)
        rate = self.feature_df[features] / self.rows
        enriched = (share >= self.config.context_share) & (share >= self.config.context_lift * rate)
        if exclude and self.words is not None:
            enriched &= ~np.isin(self.words[features], np.asarray(exclude)).any(axis=1)
        return float(share[enriched].max()) if enriched.any() else 0.0


class _Pairs:
    """Every (trigger, target) pair that co-occurs often enough, with its test statistics."""

    def __init__(self, stats: TriggerStatistics, table: _Table) -> None:
        self.stats = stats
        self.table = table
        self.config = stats.config

    def flagged(self) -> list[TriggerCluster]:
        config, table = self.config, self.table
        min_count = config.min_count
        keep_feature = (table.feature_df >= min_count) & (
            table.feature_df <= config.max_trigger_share * table.rows
        )
        keep_target = table.target_df >= min_count
        p_mask = keep_feature[table.prompt_flat]
        t_mask = keep_target[table.target_flat]
        p_row, p_feature = table.prompt_row[p_mask], table.prompt_flat[p_mask]
        t_row, t_target = table.target_row[t_mask], table.target_flat[t_mask]
        if not len(p_row) or not len(t_row):
            return []
        per_row = np.bincount(t_row, minlength=table.rows)
        row_start = np.cumsum(per_row) - per_row
        repeats = per_row[p_row]
        total = int(repeats.sum())
        if not total:
            return []
        occurrence = np.repeat(np.arange(len(p_row)), repeats)
        within = np.arange(total) - np.repeat(np.cumsum(repeats) - repeats, repeats)
        rows = p_row[occurrence]
        targets = t_target[row_start[rows] + within]
        keys = p_feature[occurrence] * np.int64(len(table.target_df)) + targets
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        rows = rows[order]
        starts = np.concatenate(([0], np.flatnonzero(np.diff(keys)) + 1))
        counts = np.diff(np.concatenate((starts, [len(keys)])))
        tested = int((counts >= min_count).sum())
        candidates = np.flatnonzero(counts >= min_count)
        features = keys[starts[candidates]] // len(table.target_df)
        targets_c = keys[starts[candidates]] % len(table.target_df)
        k = counts[candidates]
        n = table.feature_df[features]
        pure = k >= config.min_purity * n
        candidates, features, targets_c, k, n = (
            a[pure] for a in (candidates, features, targets_c, k, n)
        )
        if not len(candidates):
            return []
        table.words = _padded(self.stats._feature_words, config.max_ngram)
        found: list[TriggerCluster] = []
        explained: dict[tuple[bytes, tuple[int, ...]], bool] = {}
        limit = -math.log10(config.alpha)
        for index, feature, target, hits, trials in zip(
            candidates.tolist(),
            features.tolist(),
            targets_c.tolist(),
            k.tolist(),
            n.tolist(),
            strict=True,
        ):
            target_df = int(table.target_df[target])
            q = (target_df - hits + 1) / (table.rows - trials + 2)
            log10_p = _log10_binomial_tail(hits, trials, q)
            score = -(log10_p + math.log10(tested))
            if score < limit:
                continue
            start = int(starts[index])
            members = np.sort(rows[start : start + hits])
            words = self.stats._feature_words[feature]
            cache_key = (members.tobytes(), words)
            if cache_key not in explained:
                share = table.context_share(members, exclude=words)
                explained[cache_key] = share >= config.context_share
            if explained[cache_key]:
                continue
            found.append(
                TriggerCluster(
                    trigger=self.stats._feature_text(feature),
                    target=self.stats._target_display[target],
                    target_kind=self._kind(target),
                    members=tuple(self.stats._ids[int(row)] for row in members),
                    trigger_count=trials,
                    target_count=target_df,
                    count=hits,
                    z=round((hits - trials * q) / math.sqrt(trials * q * (1 - q)), 2),
                    p_value=min(1.0, 10 ** (log10_p) * tested),
                    score=round(score, 2),
                )
            )
        return found

    def _kind(self, target: int) -> TargetKind:
        if not hasattr(self, "_kinds"):
            self._kinds = {t: kind for (kind, _key), t in self.stats._targets.items()}
        return self._kinds[target]


def _padded(words: list[tuple[int, ...]], width: int) -> npt.NDArray[np.int64]:
    table = np.full((len(words), width), -1, dtype=np.int64)
    for i, gram in enumerate(words):
        table[i, : len(gram)] = gram
    return table


def _log10_binomial_tail(k: int, n: int, q: float) -> float:
    """log10 P(X >= k) for X ~ Binomial(n, q), summed from the k-th term outwards."""
    if k <= 0:
        return 0.0
    log_q, log_not_q = math.log(q), math.log1p(-q)
    log_first = (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * log_q
        + (n - k) * log_not_q
    )
    total, term = 1.0, 1.0
    ratio = q / (1 - q)
    for j in range(k, n):
        term *= (n - j) / (j + 1) * ratio
        total += term
        if term < 1e-17 * total:
            break
    return min(0.0, (log_first + math.log(total)) / math.log(10))
