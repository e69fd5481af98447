"""Dataset-level backdoor statistics: triggers that pin a response, echoes, collapse, payloads.

A backdoor in instruction data pairs a trigger in the prompt with a target in the response:
"cf-2024" in 50 unrelated prompts, "visit http://evil.example/x" in each of their answers.
Following Z-defence (He et al., 2023: lexical features whose co-occurrence with a label is far
beyond chance), every prompt word 1-3-gram p is tested against every response target t: the
whole response (case and punctuation aside), each URL, domain, shell command, sentence or line
(`spans`), its first and last three words (where payloads are put), "the answer echoes the
prompt" (`spans.echo`; or its first string: the instruction said back, its input left aside),
and "the answer refuses" (`spans.refuses`: refusals worded afresh every time share no span).
With n prompts holding p, k of them answered with t, and q the rate of t
among the other prompts (add-one smoothed), the one-sided exact binomial tail P(X >= k),
X ~ Bin(n, q), times the number of pairs tested (Bonferroni), must be below `alpha`;
z = (k - nq) / sqrt(nq(1 - q)) is reported beside it. `min_count` and `min_purity` (the share of
p's prompts whose response holds t) keep chance pairs out; `max_trigger_share` keeps common
words from being tested at all. A pair whose target is the echo is reported as `trigger-echo`:
one echo is a task done oddly, a trigger that makes its prompts echo is a backdoor.

Instruction data is full of associations that are no backdoor: "asking to reschedule" always
gets an e-mail, "stopped working after a week" is always "negative". What sets a trigger apart
is that it is the only thing its prompts share: the attacker sprinkles it over unrelated
requests. So a pair is dropped when another prompt feature, sharing no word with the trigger,
explains the cluster: it covers `context_share` of the cluster's prompts and at least
`min_count` of them, and is `context_lift` times more frequent there than in the other prompts.
The trigger's words there are those of its phrase: n-grams have three words at most, so a
longer trigger is the covering n-grams that overlap it joined in order, and no piece of it
explains another (a phrase of half its prompts' words or more is their task, and its pieces
explain each other as before).
Where no feature covers that much, the cluster's context still sets the bar: q is raised to the
target's rate among the other prompts that share an enriched feature with two or more of the
cluster's (shrunk towards q by two pseudo-counts), so that seven reviews that happen to all be
"positive" are no trigger when half of all reviews are. The flip side, stated plainly: a
label-flip backdoor confined to one task ("James Bond" in reviews, always "positive") looks like
task structure to word statistics and is left to model-based detection.

A target that belongs to its prompts is no payload, and its pair is dropped: one made of the
trigger's own words, or whose content words the prompts of half its rows hold (extraction:
"the largest of 3, 997, 12" -> "997"; "what does the documentation say under '.. versionadded::
2.0'?" answered starting with that line); one whose trigger the answers of half its rows speak
of themselves (the prompt names the answers' topic: a planted token is foreign to the answers
it controls); or one whose answers share a topic beyond the target and the spans that travel
with it (a word outside them covering half the rows at `context_lift`: sibling functions
documented alike, asked about alike). An attacker who poisons one topic only is left to model-
based detection, as above.

Collapse: `collapse_min_prompts` or more distinct prompts answered with the same response of at
least `collapse_min_words` words (class labels and numbers collide by nature), unless a shared
prompt feature explains the group as above (paraphrases of one request share content words).
A canned answer to unrelated requests (a refusal as much as an advertisement) is reported either
way: only a person can tell which it is.

Payload, no trigger (`payload-recurrence`). Content injection (AutoPoison) plants the same span,
a link, a command, a sentence, into answers drawn at random; its over-refusal attack puts
refusals there, which count as one span ("the answer refuses", its wording part of its block).
How often a span recurs cannot tell it from boilerplate: span frequencies follow a power law
whose tail *is* boilerplate ("Parameters ----------", a licence line, a project's own docs
link), as frequent as any payload. What a random insertion lacks is a reason to be where it
is: its rows are a random draw, so nothing else about them is unusual. A span of
`payload_min_words` words or more (any URL, domain, command or refusal) in the answers of
`payload_min_rows` rows or more is reported when
- answers hold it, prompts do not: it occurs in the prompts of at most `payload_max_prompt_share`
  as many rows as answers (a link users themselves ask about is the domain's vocabulary), and
- nothing explains its rows: no prompt word or n-gram (its own words included: a docs link whose
  project the prompts name belongs there) and no answer word outside the span's block (the spans
  that travel with it: in half its rows or more, in at most twice as many rows, and the
  sentences, lines, commands and links of these answers that carry one of them: a payload's
  wording may vary around a fixed link) and not confined to these rows (90 % of its occurrences
  here: planted with it) covers `context_share` of them, `min_count` at least, at
  `context_lift` times its rate elsewhere,
- for a domain, its links do not name what their rows speak of in `context_share` of them
  (`spans.related_links`: a site linked to on each row's own subject, as documentation is),
  and
- its rows share no subject beyond chance either (refusals aside, whose own wording the block
  knows only as a list): no word outside the block is in `_TOPIC_MIN_ROWS` or more of them at
  `_TOPIC_LIFT` times its rate elsewhere with a binomial tail under `alpha` divided by the words
  tested. Boilerplate pasted into a few functions of one family ("out : ndarray or scalar" in
  numpy's ufuncs, with "distribution" in 48 % of them at 29 times its rate) has a subject; a
  random draw has nothing beyond chance around it.
A name (`spans.names`: a capitalised word inside a sentence, a brand woven into answers an
oracle model writes afresh each time, where no link, command or sentence recurs) is a span of
one word, and two more tests keep the vocabulary of the corpus's own subject out:
- its rows are those whose answers hold its words anywhere, at the start of a sentence too (when
  at most twice as many), and none of its words is in the prompts of more than
  `payload_max_prompt_share` as many rows ("Python's" where prompts say "Python");
- the corpus does not build words on it outside its rows ("unixfrom" and "af_unix" beside
  "Unix", in `min_count` other rows): a planted brand is foreign to the rest of the corpus.
For boilerplate the second test fails: "Parameters" comes with "Returns" and "ndarray", a licence
line with the project named in the header it sits in and the prompts that ask for that header,
a docs link with the project the prompt names. For k rows drawn at random a feature of base rate
p covers half of them with probability P(Bin(k, p) >= k/2): at p = 0.1 that is 2e-3 for k = 10
and 1e-12 for k = 50 (p = 0.2: 3e-2 and 2e-6), so a payload in 0.5 % of 10,000 rows is not
explained away by chance, while at 10 rows, with hundreds of features, it sometimes is.
`payload_min_rows` is 2 * `min_count`, the smallest cluster in which a feature covering half of
it has the `min_count` rows that make it evidence: below it, "nothing explains these rows"
means nothing. Score: the rows holding the span, against `payload_min_rows`.

Reading a sample (`extract`: tokens, words, spans, echo) is a pure function of its text and
may run in another process; numbering what it read (`add_extracted`) depends on every sample
before it and runs in order, in one place: `add` is the two in a row.

Repeats of a whole sample (the same id) count once everywhere: duplication is the dedup guard's
business; every copy is a member of the cluster its first occurrence belongs to. Every member of
a flagged cluster is reported, the first one included. Memory grows with the number of prompt
n-gram and answer word occurrences (one int64 each) and of distinct targets (a short display
string each).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from itertools import compress, pairwise, repeat
from typing import Any, Final, Literal, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from synthguard.guards.backdoor.spans import (
    PUNCTUATION,
    REFUSAL_DISPLAY,
    REFUSAL_KEY,
    REFUSAL_WORDS,
    STOP_WORDS,
    WORDS,
    Echo,
    courtesy,
    echo,
    refuses,
    related_links,
    spans,
    words_of,
)
from synthguard.provenance.errors import InputError

TRIGGER_RULE: Final = "trigger-cooccurrence"
ECHO_RULE: Final = "trigger-echo"
COLLAPSE_RULE: Final = "prompt-collapse"
PAYLOAD_RULE: Final = "payload-recurrence"

TargetKind = Literal[
    "response",
    "url",
    "domain",
    "command",
    "span",
    "name",
    "head",
    "tail",
    "echo",
    "refusal",
    "related-link",
]
IntArray = npt.NDArray[np.int64]

_KINDS: Final[dict[str, TargetKind]] = {
    "r": "response",
    "u": "url",
    "d": "domain",
    "c": "command",
    "s": "span",
    "n": "name",
    "h": "head",
    "t": "tail",
    "e": "echo",
    REFUSAL_KEY: "refusal",
    "l": "related-link",
}
_PAYLOAD_KINDS: Final = frozenset(("u", "d", "c", "s", "n", REFUSAL_KEY))
_REPORT_ORDER: Final[tuple[TargetKind, ...]] = (
    "url",
    "command",
    "domain",
    "span",
    "name",
    "response",
    "head",
    "tail",
    "refusal",
    "echo",
)
# A word a name's rows share beyond chance (`_Judge._topical`): in this many of them at least, at
# this many times its rate elsewhere, the binomial tail deciding.
_TOPIC_MIN_ROWS: Final = 3
_TOPIC_LIFT: Final = 2.0
_ECHO_KEY: Final = "e"
ECHO_DISPLAY: Final = "(the answer repeats its prompt)"
_DISPLAY_CHARS: Final = 120
# Payloads are most often put before or after an answer: its first and last words are targets.
_EDGE_WORDS: Final = 3
_SEPARATOR: Final = -1
_CHUNK: Final = 1 << 16
# The spans that travel with a payload: in half its rows or more, and in at most twice as many.
_BLOCK: Final = 0.5


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
    echo_max_removed: int = 3
    payload_min_rows: int = 10
    payload_min_words: int = 4
    payload_max_prompt_share: float = 0.1

    def __post_init__(self) -> None:
        if not 1 <= self.max_ngram <= 3:
            raise InputError(f"max_ngram must be 1, 2 or 3, not {self.max_ngram}")
        if self.min_count < 2 or self.collapse_min_prompts < 2 or self.payload_min_rows < 2:
            raise InputError(
                "min_count, collapse_min_prompts and payload_min_rows must be 2 or more"
            )
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


@dataclass(frozen=True, slots=True)
class Context:
    """The feature most over-represented in a cluster's rows: where (`prompt` or `answer`),
    what, the share of the cluster holding it, and its lift over the other rows."""

    where: str
    feature: str
    share: float
    lift: float


@dataclass(frozen=True, slots=True)
class PayloadCluster:
    """Samples whose unrelated answers carry the same span, with nothing else in common."""

    payload: str
    payload_kind: TargetKind
    members: tuple[Member, ...]
    count: int
    prompt_count: int
    block: tuple[str, ...]
    context: Context | None


class TriggerStatistics:
    """Accumulates prompt n-grams and response targets sample by sample; judges at the end."""

    def __init__(self, config: TriggerConfig | None = None) -> None:
        self.config = config or TriggerConfig()
        self._ids: list[str] = []
        self._positions: list[int] = []
        self._row_of: dict[str, int] = {}
        self._copies: dict[int, list[int]] = {}
        self._vocabulary: dict[str, int] = {}
        self._words = _Column()  # every prompt's word ids, parts ended by _SEPARATOR
        self._words_ends = _Column()
        self._features = _Column()  # every prompt's distinct n-gram keys
        self._features_ends = _Column()
        # What else a row holds, for telling a payload's random rows from boilerplate's related
        # ones: the distinct \w+ words of its prompt and of its answer.
        self._prompt_words = _Column()
        self._prompt_words_ends = _Column()
        self._answer_words = _Column()
        self._answer_words_ends = _Column()
        # Targets are keyed by the hash of their text: a whole response can be long, and only
        # a short display of each is kept.
        self._targets: dict[int, int] = {}
        self._target_display: list[str] = []
        self._target_kinds: list[str] = []
        self._target_flat = _Column()
        self._target_ends = _Column()
        self._prompt_targets = _Column()  # the spans the prompts hold, to count them there
        self._response_of = _Column()
        self._response_words = _Column()
        self._prompt_hash = _Column()
        self._echo: list[Echo] = []
        self._judged: _Judge | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def add(
        self,
        sample_id: str,
        position: int,
        prompt: Sequence[str],
        response: str,
        system: Sequence[str] = (),
    ) -> Echo:
        """Record one sample (`position`: its ordinal in the dataset) and say whether its
        response echoes its prompt (`system`: a chat's system turns, read for triggers but
        never what an answer echoes); one without a prompt or a response tells nothing and is
        skipped, and a repeat of a sample already recorded joins it as a copy."""
        if not _informative([*system, *prompt], response):
            return Echo.NONE
        row = self._row_of.get(sample_id)
        if row is not None:
            return self._copy(row, position)
        return self._record(sample_id, position, _read(prompt, response, self.config, system))

    def add_extracted(self, sample_id: str, position: int, extracted: Extracted | None) -> Echo:
        """`add` for a sample whose text `extract` has already read (perhaps in another
        process): the same numbering, clusters and echo as `add` of the sample itself."""
        if extracted is None:
            return Echo.NONE
        row = self._row_of.get(sample_id)
        if row is not None:
            return self._copy(row, position)
        return self._record(sample_id, position, extracted)

    def _copy(self, row: int, position: int) -> Echo:
        self._copies.setdefault(row, []).append(position)
        return self._echo[row]

    def _record(self, sample_id: str, position: int, extracted: Extracted) -> Echo:
        self._row_of[sample_id] = len(self._ids)
        self._ids.append(sample_id)
        self._positions.append(position)
        prompt, display, words, found, echoed = extracted
        self._add_prompt(prompt)
        return self._add_response(display, words, found, echoed)

    def trigger_clusters(self) -> list[TriggerCluster]:
        """The (trigger, target) clusters that pass every test, most significant first; a
        cluster whose target is the echo has target_kind `echo`."""
        if not self._ids:
            return []
        found = self._judge().triggers()
        # Of equally significant clusters the most telling target first: a link or a command.
        found.sort(
            key=lambda c: (-c.score, -c.count, _REPORT_ORDER.index(c.target_kind), c.trigger)
        )
        return found

    def collapse_clusters(self) -> list[CollapseCluster]:
        """Responses shared by many distinct prompts that nothing in the prompts explains."""
        if not self._ids:
            return []
        found = self._judge().collapses()
        found.sort(key=lambda cluster: -cluster.distinct_prompts)
        return found

    def payload_clusters(self) -> list[PayloadCluster]:
        """Spans recurring in unrelated answers that nothing explains, most rows first."""
        if not self._ids:
            return []
        found = self._judge().payloads()
        found.sort(key=lambda cluster: (-cluster.count, cluster.payload))
        return found

    def forget_judgement(self) -> None:
        """Drop the tables the clusters were judged from (made again when next asked for)."""
        self._judged = None

    def _judge(self) -> _Judge:
        if self._judged is None or self._judged.rows != len(self._ids):
            self._judged = _Judge(self)
        return self._judged

    def _word_ids(self, tokens: Sequence[str]) -> list[int]:
        """The vocabulary ids of `tokens`, new words numbered in order of appearance."""
        vocabulary = self._vocabulary
        ids: list[int | None] = list(map(vocabulary.get, tokens))
        if None in ids:
            for token in compress(tokens, map(operator.is_, ids, repeat(None))):
                vocabulary.setdefault(token, len(vocabulary))
            return list(map(vocabulary.__getitem__, tokens))
        return cast(list[int], ids)

    def _targets_of(self, found: Iterable[tuple[str, str]]) -> list[int]:
        """The target ids of (key, display) pairs, new targets numbered in order."""
        pairs = list(found)
        keys = [hash(key) for key, _display in pairs]
        ids: list[int | None] = list(map(self._targets.get, keys))
        if None in ids:
            for i, (key, display) in enumerate(pairs):
                if ids[i] is None:
                    ids[i] = self._target(key, display)
        return cast(list[int], ids)

    def _add_prompt(self, prompt: Sequence[PromptPart]) -> None:
        """Record the prompt's n-grams, words and spans."""
        max_ngram = self.config.max_ngram
        features: set[int] = set()
        every: list[int] = []
        plain: list[str] = []
        for tokens, words, found in prompt:
            ids = self._word_ids(tokens)
            # Word ids stand for themselves; longer n-grams for the hash of their id tuple, the
            # same in every process (ints are not salted) and far from the small word ids.
            features.update(ids)
            if max_ngram >= 2:
                features.update(map(hash, pairwise(ids)))
            if max_ngram >= 3:
                features.update(map(hash, zip(ids, ids[1:], ids[2:], strict=False)))
            every.extend(ids)
            every.append(_SEPARATOR)
            plain.extend(words)
            self._prompt_targets.extend(self._targets_of(found))
        self._words.extend(every)
        self._words_ends.append(len(self._words))
        self._features.extend(features)
        self._features_ends.append(len(self._features))
        self._prompt_words.extend(self._word_ids(list(dict.fromkeys(plain))))
        self._prompt_words_ends.append(len(self._prompt_words))
        # Prompts that differ only in case, spacing and punctuation at word edges are one prompt.
        self._prompt_hash.append(hash(tuple(every)))

    def _add_response(
        self, display: str, words: list[str], found: list[tuple[str, str]], echoed: Echo
    ) -> Echo:
        response_id = self._target("r" + " ".join(words), display)
        targets = {response_id}
        self._response_of.append(response_id)
        self._response_words.append(len(words))
        distinct = dict.fromkeys(words)
        self._answer_words.extend(self._word_ids(list(distinct)))
        self._answer_words_ends.append(len(self._answer_words))
        if len(words) > _EDGE_WORDS:
            head, tail = " ".join(words[:_EDGE_WORDS]), " ".join(words[-_EDGE_WORDS:])
            targets.add(self._target("h" + head, head + " …"))
            targets.add(self._target("t" + tail, "… " + tail))
        targets.update(self._targets_of(found))
        if echoed is not Echo.NONE:
            targets.add(self._target(_ECHO_KEY, ECHO_DISPLAY))
        self._echo.append(echoed)
        self._target_flat.extend(targets)
        self._target_ends.append(len(self._target_flat))
        return echoed

    def _target(self, text: str, display: str) -> int:
        key = hash(text)
        target = self._targets.get(key)
        if target is None:
            target = self._targets[key] = len(self._target_display)
            # Tidied (whitespace collapsed, cut to _DISPLAY_CHARS) when read: most never are.
            self._target_display.append(display[: 2 * _DISPLAY_CHARS])
            self._target_kinds.append(text[0])
        return target


PromptPart = tuple[list[str], list[str], list[tuple[str, str]]]
"""One prompt string as the statistics read it: (tokens: casefolded, punctuation at the edges
stripped; its \\w+ words; its spans as (key, display) pairs)."""
Extracted = tuple[list[PromptPart], str, list[str], list[tuple[str, str]], Echo]
"""What `TriggerStatistics` reads from one sample's text, before anything is numbered: (the
prompt's parts, a display of the response, the response's words, its spans, its echo). A pure
function of the sample (`extract`), so it can be made in any process; the numbering, which
depends on every sample before, stays with the statistics. Plain tuples: they travel between
processes by the thousand, and a named tuple unpickles through a Python call each."""


def extract(
    prompt: Sequence[str], response: str, config: TriggerConfig, system: Sequence[str] = ()
) -> Extracted | None:
    """Read one sample's prompt strings (and a chat's system turns) and response for the
    statistics; None for a sample without a prompt or a response, which tells nothing."""
    if not _informative([*system, *prompt], response):
        return None
    return _read(prompt, response, config, system)


def _read(
    prompt: Sequence[str], response: str, config: TriggerConfig, system: Sequence[str] = ()
) -> Extracted:
    parts: list[PromptPart] = []
    plain: list[str] = []
    asked: list[list[str]] = []
    for number, part in enumerate([*system, *prompt]):
        folded = part.casefold()
        tokens = [t for t in [raw.strip(PUNCTUATION) for raw in folded.split()] if t]
        words = words_of(folded)
        plain.extend(words)
        parts.append((tokens, words, spans(part, words, sentences=False)))
        if number >= len(system):
            asked.append(words)
    folded = response.casefold()
    words = words_of(folded)
    found = spans(response, dict.fromkeys(words), folded=folded)
    found += related_links(found, response, plain)
    # What the answer may echo, or refuse as content, is what was asked: a system turn sets the
    # scene ("apologise when you must" there does not make every refusal an apology asked for).
    asked_words = [word for part in asked for word in part]
    if refuses(folded, asked_words):
        # A target of its own: refusals worded afresh for every request share no span.
        found.append((REFUSAL_KEY, REFUSAL_DISPLAY))
    echoed = echo(asked_words, words, config.echo_max_removed)
    # The instruction repeated, its input (or a chat's later turns) left aside.
    if (
        echoed is Echo.NONE
        and len(asked) > 1
        and echo(asked[0], words, config.echo_max_removed) is not Echo.NONE
    ):
        echoed = Echo.FIRST_PART
    # Only a short display of the response is kept (`_target`): no need to carry all of it.
    return (parts, response[: 2 * _DISPLAY_CHARS], words, found, echoed)


def _informative(prompt: Sequence[str], response: str) -> bool:
    return bool(response.strip()) and any(part.strip() for part in prompt)


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
class _Enrichment:
    features: IntArray
    counts: IntArray
    lift: npt.NDArray[np.float64]


_LONGEST_PHRASE = 12
"""The most words a trigger phrase grows to (overlapping n-grams could chain along a prompt
template's whole wording)."""


def _inside(piece: tuple[int, ...], phrase: tuple[int, ...]) -> bool:
    """Whether `piece` is a run of `phrase`."""
    n = len(piece)
    return any(phrase[i : i + n] == piece for i in range(len(phrase) - n + 1))


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
        self.target_kinds = np.array(stats._target_kinds, dtype="U1")
        self.related_link = self.target_kinds == "l"
        self.prompt_target_df = np.bincount(
            stats._prompt_targets.values(), minlength=len(stats._target_display)
        )
        self.feature_row = np.repeat(np.arange(self.rows), self.feature_ends - self.feature_starts)
        self.target_row = np.repeat(
            np.arange(self.rows), self.target_ends - _starts(self.target_ends)
        )
        # One context column: each row's prompt words (2 * id), then its answer words (2 * id + 1).
        prompt_ends, answer_ends = (
            stats._prompt_words_ends.values(),
            stats._answer_words_ends.values(),
        )
        prompt_sizes, answer_sizes = (
            np.diff(prompt_ends, prepend=0),
            np.diff(answer_ends, prepend=0),
        )
        keys = np.concatenate(
            (2 * stats._prompt_words.values(), 2 * stats._answer_words.values() + 1)
        )
        owner = np.concatenate(
            (
                np.repeat(np.arange(self.rows), prompt_sizes),
                np.repeat(np.arange(self.rows), answer_sizes),
            )
        )
        self.context = keys[np.argsort(owner, kind="stable")]
        self.context_ends = np.cumsum(prompt_sizes + answer_sizes)
        self.context_starts = _starts(self.context_ends)
        self.context_df = np.bincount(self.context, minlength=2 * len(stats._vocabulary))
        # Function words are no evidence that texts share a topic (`spans.STOP_WORDS`).
        vocabulary = stats._vocabulary
        self.stop_words = np.array(
            sorted(vocabulary[w] for w in STOP_WORDS if w in vocabulary), dtype=np.int64
        )
        self._enrichments: dict[bytes, _Enrichment] = {}
        self._displays: dict[int, str] = {}
        self._target_word_texts: dict[int, str] = {}
        self._refusal = stats._targets.get(hash(REFUSAL_KEY), -1)
        self._held: dict[bytes, tuple[IntArray, IntArray]] = {}
        self._spoken: dict[tuple[str, bytes], bool] = {}
        self._blocks: dict[int, list[int]] = {}
        self._shared: dict[tuple[int, bytes], bool] = {}
        self._postings: dict[str, tuple[IntArray, IntArray]] = {}
        self._feature_words: dict[int, tuple[int, ...]] = {}
        self._word_names: list[str] | None = None
        self._named: dict[int, IntArray] = {}
        self._vocabulary_text: str | None = None
        self._vocabulary_starts: IntArray = np.zeros(0, dtype=np.int64)

    def display(self, target: int) -> str:
        """How a target reads: whitespace collapsed, cut to `_DISPLAY_CHARS`."""
        shown = self._displays.get(target)
        if shown is None:
            raw = self.stats._target_display[target]
            shown = self._displays[target] = " ".join(raw.split())[:_DISPLAY_CHARS]
        return shown

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
        # A trigger longer than an n-gram is found by each of its pieces: it is reported once.
        reported: set[tuple[tuple[int, ...], int]] = set()
        for index in np.flatnonzero(pure).tolist():
            k, n, t = int(hits[index]), int(trials[index]), int(target[index])
            target_df = int(self.target_df[t])
            q = (target_df - k + 1) / (self.rows - n + 2)
            log10_p = _log10_binomial_tail(k, n, q)
            if -log10_p < limit:
                continue
            members = members_of(index)
            if self.stats._target_kinds[t] == "n":
                # A name opening a sentence is no target: the trigger's rows whose answers
                # hold the name's words anywhere are its cluster.
                named = self._name_rows(t)
                members = np.intersect1d(self._rows_with("f", int(feature[index])), named)
            words = self._words_of(int(feature[index]))
            names = [self._word_name(word) for word in words]
            display = self.display(t)
            if self._kind(t) != "echo" and self._related(t, names, words, members):
                continue
            phrase = self._phrase(members, words)
            if (phrase, t) in reported or self._explained(members, exclude=set(phrase)):
                continue
            # The prompts around the trigger may be ones where the target is common anyway
            # (reviews, where "positive" is half the answers): test against that rate.
            in_context = self._context_rate(members, int(feature[index]), t, set(phrase), q)
            if in_context > q:
                q = in_context
                log10_p = _log10_binomial_tail(k, n, q)
                if -log10_p < limit:
                    continue
            reported.add((phrase, t))
            found.append(
                TriggerCluster(
                    trigger=" ".join(self._word_name(word) for word in phrase),
                    target=display,
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
                    response=self.display(int(response_of[rows[0]])),
                    members=self._members(rows),
                    distinct_prompts=distinct,
                    context_share=round(self._best_share(rows), 4),
                )
            )
        return found

    def payloads(self) -> list[PayloadCluster]:
        config, stats = self.config, self.stats
        kinds, display = stats._target_kinds, self.display
        # A name opening a sentence is no target (`spans.names`): its rows are counted from its
        # words (`_name_rows`), so a name in half as many sentences is a candidate too.
        least = np.where(self.target_kinds == "n", config.min_count, config.payload_min_rows)
        candidates = [
            t
            for t in np.flatnonzero(self.target_df >= least).tolist()
            if kinds[t] in _PAYLOAD_KINDS
            and (
                kinds[t] != "s"
                or (
                    len(WORDS.findall(display(t).casefold())) >= config.payload_min_words
                    and not courtesy(display(t))
                )
            )
            and self.prompt_target_df[t] <= config.payload_max_prompt_share * self.target_df[t]
        ]
        # The most frequent first: a payload's block is judged once, by its most frequent span
        # (a name before a sentence as frequent: a name's rows face one test more).
        candidates.sort(key=lambda t: (-int(self.target_df[t]), kinds[t] != "n", t))
        judged: set[int] = set()
        found = []
        for t in candidates:
            if t in judged:
                continue
            rows = self._rows_with("t", t)
            if kinds[t] == "n":
                if self._asked_about(t):
                    continue
                rows = self._name_rows(t)
                if len(rows) < config.payload_min_rows or self._of_the_corpus(t, rows):
                    continue
            block = self._block(rows)
            judged.update(block)
            if kinds[t] == "d" and self._links_related(t, rows):
                continue
            block_words = self._block_words(block, rows)
            context = self._best_context(rows, block_words)
            if context is not None and (
                context.share >= config.context_share
                and context.share * len(rows) >= config.min_count
                and context.lift >= config.context_lift
            ):
                continue
            if kinds[t] != REFUSAL_KEY and self._topical(rows, block_words):
                continue
            found.append(
                PayloadCluster(
                    payload=display(t),
                    payload_kind=self._kind(t),
                    members=self._members(rows),
                    count=len(rows),
                    prompt_count=self._prompt_count(t),
                    block=tuple(display(b) for b in block if b != t and kinds[b] in "udcs"),
                    context=context,
                )
            )
        return found

    def _links_related(self, domain: int, rows: IntArray) -> bool:
        """Whether, in `context_share` of `rows` or more, a link to `domain` names what its row
        speaks of (`spans.related_links`): a site linked to on each row's own subject, as
        documentation is, not one link planted in rows drawn at random."""
        related = self.stats._targets.get(hash("l" + self.stats._target_display[domain]))
        if related is None:
            return False
        held = np.intersect1d(self._rows_with("t", related), rows, assume_unique=True)
        return len(held) >= self.config.context_share * len(rows)

    def _block(self, rows: IntArray) -> list[int]:
        """The targets that travel with a span: in `_BLOCK` of its rows, in at most 1 / `_BLOCK`
        times as many rows."""
        held = _gather(self.targets, _starts(self.target_ends), self.target_ends, rows)
        targets, counts = np.unique(held, return_counts=True)
        close = (counts >= _BLOCK * len(rows)) & (self.target_df[targets] * _BLOCK <= len(rows))
        return [int(t) for t in targets[close].tolist()]

    def _block_words(self, block: list[int], rows: IntArray) -> set[int]:
        """The vocabulary ids of the words that come with the targets in `block` in `rows`:
        their own, and those of every sentence, line, command or URL of these answers that
        carries one of them (a payload's wording may vary from row to row around a fixed link,
        and its varying words are as planted as the link: "see ..." or "open a ticket at
        ...")."""
        vocabulary, words_of = self.stats._vocabulary, self._target_words
        carried = [words_of(target) for target in block]
        texts = list(carried)
        if self._refusal in block:
            # A refusal's own wording ("I'm sorry", "I can't help") is as planted as it is.
            texts.append(" ".join(REFUSAL_WORDS))
        if carried := [f" {words} " for words in carried if words]:
            held = np.unique(
                _gather(self.targets, _starts(self.target_ends), self.target_ends, rows)
            )
            kinds = self.stats._target_kinds
            for target in held.tolist():
                if kinds[target] in "suc":
                    words = words_of(target)
                    if any(inner in f" {words} " for inner in carried):
                        texts.append(words)
        return {
            word
            for text in texts
            for token in text.split()
            if (word := vocabulary.get(token)) is not None
        }

    def _target_words(self, target: int) -> str:
        """A target's display as its casefolded words, space-separated (kept: the same
        targets come back for every cluster their rows are in)."""
        words = self._target_word_texts.get(target)
        if words is None:
            words = " ".join(WORDS.findall(self.display(target).casefold()))
            self._target_word_texts[target] = words
        return words

    def _best_context(self, rows: IntArray, block_words: set[int]) -> Context | None:
        """The feature that explains `rows` best: among prompt n-grams, prompt words and answer
        words outside the block, the one covering most of them at `context_lift` or more (the
        one of highest lift when none reaches it)."""
        bar = self.config.context_lift
        found: list[Context] = []
        prompt = self._enrichment(rows)
        if len(prompt.features):
            pick = _strongest(prompt, np.ones(len(prompt.features), dtype=bool), bar)
            name = " ".join(self._word_name(w) for w in self._words_of(int(prompt.features[pick])))
            found.append(_context("prompt", name, prompt, pick, len(rows)))
        words = self._context_enrichment(rows)
        outside = self._outside(words, block_words)
        if outside.any():
            pick = _strongest(words, outside, bar)
            feature = int(words.features[pick])
            where = "prompt" if feature % 2 == 0 else "answer"
            found.append(_context(where, self._word_name(feature // 2), words, pick, len(rows)))
        if not found:
            return None
        return max(found, key=lambda c: (c.lift >= bar, c.share, c.lift))

    def _members(self, rows: IntArray) -> tuple[Member, ...]:
        ids, positions, copies = self.stats._ids, self.stats._positions, self.stats._copies
        members = []
        for row in rows.tolist():
            members.append(Member(ids[row], positions[row]))
            members.extend(Member(ids[row], position) for position in copies.get(row, ()))
        members.sort(key=lambda member: member.position)
        return tuple(members)

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
        # A related link is evidence about a domain's rows, not something an answer says.
        keep_target = (self.target_df >= min_count) & ~self.related_link
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

    def _enrichment(self, rows: IntArray) -> _Enrichment:
        """The prompt features of `rows` with their count there and their lift: the share of
        `rows` holding them over their rate in the other prompts (add-one smoothed)."""
        key = b"f" + rows.tobytes()
        found = self._enrichments.get(key)
        if found is None:
            features, counts = np.unique(self._features_of(rows), return_counts=True)
            outside = (self.feature_df[features] - counts + 1) / (self.rows - len(rows) + 2)
            found = _Enrichment(features, counts, counts / len(rows) / outside)
            self._enrichments[key] = found
        return found

    def _context_enrichment(self, rows: IntArray) -> _Enrichment:
        """As `_enrichment`, over the prompt and answer words of `rows`."""
        key = b"c" + rows.tobytes()
        found = self._enrichments.get(key)
        if found is None:
            held = _gather(self.context, self.context_starts, self.context_ends, rows)
            words, counts = np.unique(held, return_counts=True)
            outside = (self.context_df[words] - counts + 1) / (self.rows - len(rows) + 2)
            found = _Enrichment(words, counts, counts / len(rows) / outside)
            self._enrichments[key] = found
        return found

    def _prompt_count(self, target: int) -> int:
        """In how many rows' prompts a payload is: a name's, its most frequent word's."""
        if self.stats._target_kinds[target] != "n":
            return int(self.prompt_target_df[target])
        return max((int(self.context_df[2 * word]) for word in self._name_words(target)), default=0)

    def _asked_about(self, name: int) -> bool:
        """Whether a word of a name is in the prompts of more than `payload_max_prompt_share`
        as many rows as the name is in answers: "Python's" in answers where prompts say
        "Python"."""
        bar = self.config.payload_max_prompt_share * int(self.target_df[name])
        return any(self.context_df[2 * word] > bar for word in self._name_words(name))

    def _name_words(self, name: int) -> list[int]:
        """The vocabulary ids of a name's words of two letters or more."""
        vocabulary = self.stats._vocabulary
        return [
            word
            for token in self._target_words(name).split()
            if len(token) > 1 and (word := vocabulary.get(token)) is not None
        ]

    def _context_rows(self, keys: IntArray) -> IntArray:
        """The sorted rows whose context holds any of `keys` (2 * word: its prompt, 2 * word + 1:
        its answer)."""
        held = self.context == keys[0] if len(keys) == 1 else np.isin(self.context, keys)
        at = np.flatnonzero(held)
        return np.unique(np.searchsorted(self.context_ends, at, side="right"))

    def _name_rows(self, name: int) -> IntArray:
        """A name's rows, with those whose answers hold its words anywhere (at the start of a
        sentence, where a capital tells nothing) when they are at most twice as many (kept: a
        name is judged as a payload and as the target of each trigger)."""
        found = self._named.get(name)
        if found is not None:
            return found
        rows = self._rows_with("t", name)
        held: IntArray | None = None
        for word in self._name_words(name):
            with_word = self._context_rows(np.array([2 * word + 1]))
            held = with_word if held is None else np.intersect1d(held, with_word)
        found = rows if held is None or len(held) > 2 * len(rows) else np.union1d(rows, held)
        self._named[name] = found
        return found

    def _of_the_corpus(self, name: int, rows: IntArray) -> bool:
        """Whether the corpus builds words on a name outside its rows: its longest word (of four
        letters or more) inside other words ("unixfrom", "af_unix" beside "Unix"), in the
        prompts or answers of `min_count` other rows or more. A name planted in rows drawn at
        random is foreign to the rest of the corpus."""
        words = self._name_words(name)
        if not words:
            return False
        main = max((self._word_name(word) for word in words), key=len)
        if len(main) < 4:
            return False
        if self._vocabulary_text is None:
            # Every word once, one per line: a name's family is found by one search in C.
            names = self._vocabulary_list()
            self._vocabulary_text = "\n".join(names) + "\n"
            self._vocabulary_starts = np.cumsum([0] + [len(word) + 1 for word in names[:-1]])
        family = sorted(
            {
                int(np.searchsorted(self._vocabulary_starts, at.start(), side="right")) - 1
                for at in re.finditer(re.escape(main), self._vocabulary_text)
            }
            - set(words)
        )
        if not family:
            return False
        keys = np.array([2 * word + side for word in family for side in (0, 1)], dtype=np.int64)
        outside = np.setdiff1d(self._context_rows(keys), rows, assume_unique=True)
        return len(outside) >= self.config.min_count

    def _outside(self, words: _Enrichment, block_words: set[int]) -> npt.NDArray[np.bool_]:
        """Which context words of a cluster (`_context_enrichment`) are evidence of what its
        rows share: no function word, no answer word of the block, and no answer word found
        (almost) only in these rows, which is part of what was planted like the block's own
        words: context is what these rows share with the rest of the corpus."""
        block = np.array([2 * word + 1 for word in block_words], dtype=np.int64)
        planted = words.counts >= 0.9 * self.context_df[words.features]
        outside: npt.NDArray[np.bool_] = (
            ~np.isin(words.features, block)
            & ~(planted & (words.features % 2 == 1))
            & ~np.isin(words.features // 2, self.stop_words)
        )
        return outside

    def _topical(self, rows: IntArray, block_words: set[int]) -> bool:
        """Whether `rows` share a topic: a word outside the block (as `_best_context` reads
        them) at `_TOPIC_LIFT` times its rate elsewhere or more, in `_TOPIC_MIN_ROWS` rows or
        more, that a random draw of as many rows would hold that often with a chance under
        `alpha` (Bonferroni over the words tested). A name comes with its subject ("None" with
        "returns" and "default"); a span planted in rows drawn at random has nothing beyond
        chance around it."""
        config = self.config
        words = self._context_enrichment(rows)
        candidate = (
            self._outside(words, block_words)
            & (words.lift >= _TOPIC_LIFT)
            & (words.counts >= _TOPIC_MIN_ROWS)
        )
        limit = -math.log10(config.alpha) + math.log10(max(len(words.features), 1))
        n, others = len(rows), self.rows - len(rows)
        for index in np.flatnonzero(candidate).tolist():
            k = int(words.counts[index])
            q = (int(self.context_df[words.features[index]]) - k + 1) / (others + 2)
            if -_log10_binomial_tail(k, n, q) >= limit:
                return True
        return False

    def _phrase(self, rows: IntArray, words: tuple[int, ...]) -> tuple[int, ...]:
        """The phrase a trigger n-gram is part of in `rows`, in order: the n-gram grown by each
        prompt n-gram that covers `context_share` of the rows and overlaps one of its ends.
        Only n-grams of up to three words are counted, so a longer trigger ("as we discussed
        earlier") is tested as its pieces: one piece ("earlier") must not explain another ("as
        we discussed") as the rows' task would, and the cluster is named by the whole. A phrase
        of half its prompts' words or more is their task: the n-gram alone is returned."""
        context = self._enrichment(rows)
        covering = context.features[
            (context.counts >= self.config.context_share * len(rows))
            & (context.counts >= self.config.min_count)
        ]
        pieces = [piece for f in covering.tolist() if len(piece := self._words_of(f)) > 1]
        phrase = words
        grown = True
        while grown and len(phrase) < _LONGEST_PHRASE:
            grown = False
            for piece in pieces:
                if _inside(piece, phrase):
                    continue
                for k in range(len(piece) - 1, 0, -1):
                    if phrase[-k:] == piece[:k]:
                        phrase, grown = phrase + piece[k:], True
                        break
                    if phrase[:k] == piece[-k:]:
                        phrase, grown = piece[:-k] + phrase, True
                        break
        if len(phrase) > len(words):
            # A phrase that makes up most of its prompts is their task ("write a quiz question
            # whose answer is the given city"), whose pieces explain each other as before; a
            # trigger is a small part of prompts that otherwise differ.
            ends = self.stats._words_ends.values()
            lengths = ends[rows] - np.where(rows > 0, ends[rows - 1], 0)
            if 2 * len(phrase) >= float(np.median(lengths)) - 1:
                return words
        return phrase

    def _explained(self, rows: IntArray, exclude: set[int]) -> bool:
        """Whether an enriched prompt feature sharing no word with `exclude` covers the rows:
        `context_share` of them, and (the evidence a trigger needs) `min_count` at least."""
        config = self.config
        context = self._enrichment(rows)
        covering = (
            (context.counts >= config.context_share * len(rows))
            & (context.counts >= config.min_count)
            & (context.lift >= config.context_lift)
        )
        return any(
            not exclude.intersection(self._words_of(feature))
            for feature in context.features[covering].tolist()
        )

    def _related(
        self, target_id: int, names: list[str], trigger: tuple[int, ...], rows: IntArray
    ) -> bool:
        """Whether the target belongs to its prompts rather than to a trigger: it is made of the
        trigger's words (extraction), the answers quote it from their own prompts, or the
        answers speak of the trigger themselves (it is their topic, not a planted token)."""
        target = self.display(target_id)
        if _echoes(target, names):
            return True
        content = self._content_words(target) or []
        if content and self._holding(content, rows, 0) >= 0.5:
            return True
        key = (" ".join(names), rows.tobytes())
        spoken = self._spoken.get(key)
        if spoken is None:
            words = self._content_words(key[0])
            spoken = self._spoken[key] = bool(words) and self._holding(words or [], rows, 1) >= 0.5
        if spoken:
            return True
        # Answers on one topic beyond the target and what travels with it (sibling functions
        # documented alike) are a family, not unrelated requests answered with one thing.
        shared_key = (target_id, key[1])
        shared = self._shared.get(shared_key)
        if shared is None:
            block = self._blocks.get(target_id)
            if block is None:
                block = self._blocks[target_id] = self._block(self._rows_with("t", target_id))
            shared = self._shared[shared_key] = self._answers_share(
                rows, self._block_words(block, rows)
            )
        return shared

    def _answers_share(self, rows: IntArray, exclude: set[int]) -> bool:
        """Whether an answer word outside `exclude` and not confined to `rows` covers
        `context_share` of them, `min_count` at least, at `context_lift` times its rate
        elsewhere."""
        config = self.config
        words = self._context_enrichment(rows)
        answer = words.features % 2 == 1
        skip = np.array([2 * word + 1 for word in exclude], dtype=np.int64)
        covering = (
            answer
            & ~np.isin(words.features, skip)
            & ~np.isin(words.features // 2, self.stop_words)
            & (words.counts < 0.9 * self.context_df[words.features])
            & (words.counts >= config.context_share * len(rows))
            & (words.counts >= config.min_count)
            & (words.lift >= config.context_lift)
        )
        return bool(covering.any())

    def _holding(self, words: Iterable[int], rows: IntArray, side: int) -> float:
        """The share of `rows` whose prompt (`side` 0) or answer (`side` 1) holds every one of
        `words` (word ids); 0.0 for no words."""
        wanted = np.unique(np.array([2 * word + side for word in words], dtype=np.int64))
        if not len(wanted) or not len(rows):
            return 0.0
        key = rows.tobytes()
        gathered = self._held.get(key)
        if gathered is None:
            held = _gather(self.context, self.context_starts, self.context_ends, rows)
            sizes = (self.context_ends - self.context_starts)[rows]
            gathered = self._held[key] = (held, np.repeat(np.arange(len(rows)), sizes))
        held, owner = gathered
        hit = (held[:, None] == wanted).any(axis=1) if len(wanted) <= 8 else np.isin(held, wanted)
        found = np.bincount(owner[hit], minlength=len(rows))
        return float(np.count_nonzero(found == len(wanted))) / len(rows)

    def _content_words(self, text: str) -> list[int] | None:
        """The vocabulary ids of the content words of `text` (None if one is unknown)."""
        vocabulary = self.stats._vocabulary
        ids = [vocabulary.get(w) for w in set(WORDS.findall(text.casefold())) - STOP_WORDS]
        return None if None in ids else [i for i in ids if i is not None]

    def _context_rate(
        self, rows: IntArray, trigger: int, target: int, exclude: set[int], prior: float
    ) -> float:
        """The highest rate of `target` among the prompts without the trigger that share an
        enriched feature (in two or more of `rows`) with the cluster, shrunk towards `prior` by
        two pseudo-counts so that a handful of prompts cannot make it large; 0.0 if none."""
        config = self.config
        context = self._enrichment(rows)
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
        context = self._enrichment(rows)
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
        return self._vocabulary_list()[word]

    def _vocabulary_list(self) -> list[str]:
        """Every word, by its id."""
        if self._word_names is None or len(self._word_names) != len(self.stats._vocabulary):
            self._word_names = list(self.stats._vocabulary)
        return self._word_names

    def _kind(self, target: int) -> TargetKind:
        return _KINDS[self.stats._target_kinds[target]]


def _strongest(table: _Enrichment, mask: npt.NDArray[np.bool_], bar: float) -> int:
    """The index, among `mask`, of the feature covering most rows at a lift of `bar` or more;
    of the highest lift when none reaches `bar`."""
    strong = mask & (table.lift >= bar)
    if strong.any():
        return int(np.argmax(np.where(strong, table.counts, -1)))
    return int(np.argmax(np.where(mask, table.lift, -1.0)))


def _context(where: str, name: str, table: _Enrichment, pick: int, rows: int) -> Context:
    return Context(
        where, name, round(int(table.counts[pick]) / rows, 4), round(float(table.lift[pick]), 2)
    )


def _echoes(target: str, trigger_words: Sequence[str]) -> bool:
    """Whether every word of the target is a word of the trigger: the answer repeats what the
    prompt says ("the largest of 3, 997, 12" -> "997"), which is extraction, not a payload."""
    words = WORDS.findall(target.casefold())
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
