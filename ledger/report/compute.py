"""The transparency report's figures, computed from the ledger's records in one pass.

`compute_report` reads entries 0..size-1 in seq order, a chunk at a time. Every entry is hashed
into an RFC 6962 tree, so the report names the exact ledger state it describes; every lineage
record is parsed once and its facts noted per sample; the figures are then counted over the
samples in scope. Signatures are not checked here: the report says what the ledger claims, and
`synthguard verify` proves it.

What the figures rest on:
- Scope. By default every sample with a making record (generated, revised, imported) in range;
  with `release`, the samples of that release's `released` records; with `sample_ids`, exactly
  those ids. An id with no making record in range counts as origin `unknown`, source kind `none`,
  with no depth and no licence or terms (so in `unlicensed_samples`).
- A sample's origin, generator, sources, depth and acquisition time are those of its first
  making record.
- Modality: every shape the ledger records (Alpaca, chat, text) is text, the template's
  modality; an id in scope that the ledger never made is `unknown`. Content type: the shape its
  making record names, else that of its stored content; `unknown` when neither is there.
- Text: a sample's stored row, read by the default field names, is used only when it is the
  content its id names (so an edited row is never read); its language and token count come from
  `synthguard.ledger.report.text_facts`. Erased content has no text: its language is `unknown`, its
  tokens are not counted. The content table sits outside the tree, so erasing a sample changes
  these figures of an older report; every other figure depends on the first `size` entries.
- Licences: a sample is bound by its sources' licences, its generator's terms, and those of its
  ancestors (a revision of licensed text is still bound by that licence).
- Screening: each sample's latest `screened` record and any signed override after it
  (`fold_screening`). A sample stopped by guard k of its record's guard list was checked by
  guards 0..k; it counts under its first failed rule of guard k. A quarantine that names no
  listed guard counts in `quarantined`, and in no funnel step (each listed guard kept it).
- Review: a verdict is a `reviewed` record whose detail says verdict ok or bad, on a sample
  that a review draw selected earlier in the ledger; each reviewer's latest verdict counts. A
  sample is ok when every reviewer said ok, bad when every one said bad, and a disagreement
  (listed, and counted as an error) otherwise. A signed quarantine override is a release, not a
  review, and a verdict on a sample no draw selected is not from a draw: both are counted apart.
  A draw is listed when it selected a sample in scope, with all it selected in range.
- Shares: percent with two decimals, by largest remainder, so each breakdown sums to exactly
  100.00 (all 0.00 when it is empty). A sample may cite several sources: source shares are of
  the breakdown's total. Licence shares are each of the samples in scope (unlicensed ones
  included), so a sample bound by two licences counts in both and the shares can sum past 100.
- Order: breakdowns by samples, most first, then by key; the depth histogram by depth; review
  draws in ledger order; the funnel by the guards' position in their lists, then by guard.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.metadata
import json
import math
import operator
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from synthguard.ledger.log import (
    MAKING_EVENTS,
    CompactRange,
    LineageEntry,
    Progress,
    SignedDigests,
    entry_leaf_hash,
    missing_content,
    parse_lineage,
    scan_records,
)
from synthguard.ledger.release import FiguresOf, PolicyFigures
from synthguard.ledger.report.licences import (
    Licence,
    classify_licence,
    generator_terms,
    restrictiveness,
)
from synthguard.ledger.report.model import (
    CheckpointRef,
    Count,
    DataCharacteristics,
    DataSources,
    Decontamination,
    Deduplication,
    DepthBin,
    Disagreement,
    General,
    GeneratorCount,
    GuardFunnel,
    Languages,
    LicenceCount,
    Licences,
    Privacy,
    Processing,
    Review,
    ReviewDraw,
    Screening,
    SourceCategory,
    SourceRights,
    Stated,
    SyntheticData,
    TextSize,
    TransparencyReport,
)
from synthguard.ledger.report.text_facts import (
    TOKEN_METHOD,
    count_tokens,
    detect_language,
    language_detector,
    language_method,
    size_bucket,
)
from synthguard.ledger.screening import ScreeningStatus, fold_screening, is_override
from synthguard.provenance.errors import InputError, VerificationError
from synthguard.provenance.gc_pause import collection_paused
from synthguard.provenance.record import (
    Event,
    LineageRecord,
    Origin,
    Source,
    SourceKind,
)
from synthguard.provenance.sample import sample_from_row, sample_text

if TYPE_CHECKING:
    from synthguard.ledger.log import Ledger

WILSON_Z = 1.959963984540054
"""The standard normal quantile of a two-sided 95 % interval."""

DECONTAMINATION = "decontamination"
DEDUP = "dedup"
PRIVACY = "privacy"
"""The guard families whose figures the report shows on their own."""
UNNAMED_DATASET = "unnamed dataset"
"""The dataset's name in a report computed without one and without a release."""
UNNAMED_REVIEWER = "(unnamed)"
"""The reviewer of a verdict that names none."""

_CHUNK = 5000
_ID_CHUNK = 500
_ID = re.compile(r"sha256:[0-9a-f]{64}")
_UNKNOWN = "unknown"
_NONE = "none"
_TEXT = "text"
_CATEGORIES = {
    "public_datasets": SourceKind.PUBLIC_DATASET,
    "licensed": SourceKind.LICENSED,
    "private": SourceKind.PRIVATE,
    "crawled": SourceKind.CRAWLED,
    "user_data": SourceKind.USER,
    "other": SourceKind.OTHER,
}

GuardKey = tuple[str, str, str, str]
"""A guard exactly: family, name, version, config digest."""
FunnelPath = tuple[tuple[GuardKey, ...], int | None, str]
"""A screening's way through the funnel: the guards it lists, the index of the one that
quarantined the sample (None if none did) and that guard's first failed rule."""
GeneratorKey = tuple[str | None, str, str | None]
"""A generator as the report counts it: provider, model, version."""
SourceFact = tuple[str, str, str | None, str | None]
"""A source as the report counts it: kind, URI, licence, text-and-data-mining opt-out facts."""
_GUARD_KEY: Callable[[Any], GuardKey] = operator.itemgetter(
    "family", "name", "version", "config_digest"
)


def compute_report(
    ledger: Ledger,
    *,
    release: str | None = None,
    sample_ids: Collection[str] | None = None,
    size: int | None = None,
    tool_version: str | None = None,
    stated: Stated | None = None,
    progress: Progress | None = None,
    root: bytes | None = None,
) -> TransparencyReport:
    """Compute the transparency report of the ledger's first `size` entries (all by default).

    `progress`, when given, is called with the number of entries read, a chunk at a time.
    Scope: every sample made in range; or the samples of `release` (InputError if the ledger
    has no such release in range); or exactly `sample_ids`, for a candidate release not yet
    recorded, in which case `release` only names it in the report. `stated`: the dataset's
    name, provider and model, as the publisher states them (by default the dataset is named
    after the release, and nothing else is stated). `root`: the root those entries must have
    (a signed checkpoint's, or a tree verified in the same command); VerificationError when
    the entries read do not have it: whoever has the database can make it answer one reader
    (the verification) with the signed entries and the next with others.
    """
    if stated is None:
        stated = Stated(dataset=release or UNNAMED_DATASET)
    # Everything the computation keeps alive is freed when `_report` returns, inside the pause.
    with collection_paused():
        return _report(ledger, release, sample_ids, size, tool_version, stated, progress, root)


def policy_figures(ledger: Ledger) -> FiguresOf:
    """What a release policy is checked on: the report's figures of the candidate samples, as
    the report rounds them (`create_release(..., figures=policy_figures(ledger))`)."""

    def figures(sample_ids: Collection[str], size: int | None, root: bytes | None) -> PolicyFigures:
        report = compute_report(ledger, sample_ids=sample_ids, size=size, root=root)
        return PolicyFigures(
            synthetic_share=report.sources.synthetic.share,
            max_depth=report.processing.max_depth,
            review_rate=report.processing.review.review_rate,
        )

    return figures


def _report(
    ledger: Ledger,
    release: str | None,
    sample_ids: Collection[str] | None,
    size: int | None,
    tool_version: str | None,
    stated: Stated,
    progress: Progress | None,
    root: bytes | None,
) -> TransparencyReport:
    size = _checked_size(ledger, size)
    scan = _Scan()
    tree = CompactRange()
    # The fold consumes the one pass over the entries; the scan notes every record on the way.
    statuses = fold_screening(scan.read(ledger, size, tree, progress))
    if root is not None and tree.root() != root:
        raise VerificationError(
            f"the ledger's first {size} entries, read for the figures, are not the ones "
            "verified or signed: their root differs (the database answered two reads with "
            "different entries; run `synthguard verify`)",
        )
    scope = _scope(scan, release, sample_ids, size)
    made = [scan.made.get(sample_id) for sample_id in scope]
    texts = _read_texts(ledger, scope, scan, size)
    general = General(
        tool_version=tool_version or importlib.metadata.version("synthguard"),
        checkpoint=CheckpointRef(
            origin=ledger.origin,
            size=size,
            root_hash=base64.b64encode(tree.root()).decode("ascii"),
        ),
        release=release,
        stated=stated,
        samples=len(scope),
        first_record=_first_time(scan, scope),
        last_record=_last_time(scan, scope),
        data=_characteristics(scope, made, texts),
    )
    in_scope = set(scope)
    return TransparencyReport(
        general=general,
        sources=_sources(made),
        processing=Processing(
            rights=_rights(made),
            screening=_screening(
                [statuses[s] for s in scope if s in statuses],
                scan.paths,
                len(scope),
                _privacy(scan, scope, made),
            ),
            licences=_licences(scan.made, scope),
            review=_review(scan, scope, in_scope),
            depth=_depths(made),
            max_depth=max((m.depth for m in made if m is not None), default=None),
        ),
    )


# -- shares and intervals --------------------------------------------------------------------


def largest_remainder_shares(counts: Sequence[int]) -> list[float]:
    """Percent shares of `counts` with two decimals that sum to exactly 100.00 (all 0.0 when the
    total is 0): each share is rounded down to a hundredth of a percent, and the hundredths left
    over go to the largest remainders, earlier counts first on a tie."""
    total = sum(counts)
    if total == 0:
        return [0.0 for _ in counts]
    units = 100 * 100
    floors = [count * units // total for count in counts]
    remainders = [count * units % total for count in counts]
    left = units - sum(floors)
    for index in sorted(range(len(counts)), key=lambda i: (-remainders[i], i))[:left]:
        floors[index] += 1
    return [floor / 100 for floor in floors]


def percent(part: int, whole: int) -> float:
    """`part` of `whole` in percent, two decimals, half rounded up (0.0 when `whole` is 0)."""
    if whole == 0:
        return 0.0
    return (part * 20000 + whole) // (2 * whole) / 100


def wilson_interval(hits: int, trials: int, z: float = WILSON_Z) -> tuple[float, float]:
    """The Wilson score interval of the proportion hits/trials, as fractions in [0, 1].

    Unlike the normal approximation it stays inside [0, 1] and is sound for few hits:
    centre (p + z²/2n) / (1 + z²/n), half-width z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n).
    """
    if trials <= 0 or not 0 <= hits <= trials:
        raise InputError(f"a Wilson interval needs 0 <= hits <= trials > 0, not {hits}/{trials}")
    p = hits / trials
    z2 = z * z
    scale = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / scale
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / scale
    return max(0.0, centre - half), min(1.0, centre + half)


def source_kind(source: Source) -> str:
    """The kind of a source: as recorded, else inferred from its URI (Hugging Face datasets are
    public datasets, other web addresses crawled, `user:` and `mailto:` user data)."""
    if source.kind is not None:
        return source.kind.value
    uri = source.uri.strip().lower()
    if uri.startswith("hf://") or "huggingface.co/datasets" in uri:
        return SourceKind.PUBLIC_DATASET.value
    if uri.startswith(("http://", "https://")):
        return SourceKind.CRAWLED.value
    if uri.startswith(("user:", "mailto:")):
        return SourceKind.USER.value
    return SourceKind.OTHER.value


# -- the pass --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Making:
    """What a sample's first making record says about it."""

    origin: str
    generator: GeneratorKey | None
    sources: tuple[SourceFact, ...]
    parents: tuple[str, ...]
    depth: int
    kind: str | None
    time: str
    redacted: tuple[str, ...] = ()
    """The kinds of personal data a redaction removed (a revision by `screen --redact`)."""


@dataclass(slots=True)
class _Draw:
    """One review draw: its parameters (from its first selection record) and what it chose."""

    seed: int
    rate: float
    frame: int
    selected: set[str] = field(default_factory=set)


class _Scan:
    """Per-sample facts noted from every lineage record, in ledger order.

    Only small facts are kept, and repeated ones (generators, sources, guard lists) once each:
    records are parsed into pydantic models, and keeping those alive would cost kilobytes per
    sample.
    """

    def __init__(self) -> None:
        self.made: dict[str, _Making] = {}
        self.spans: dict[str, tuple[str, str]] = {}
        self.releases: dict[str, set[str]] = {}
        # Each reviewer's latest verdict on each sample a draw had selected before it.
        self.verdicts: dict[str, dict[str, str]] = {}
        self.drawn: set[str] = set()
        self.undrawn: set[str] = set()
        self.overridden: set[str] = set()
        self.draws: dict[str, _Draw] = {}
        self.paths: dict[str, FunnelPath] = {}
        self.quarantined: set[str] = set()
        # The kinds of personal data named by the screening that `paths` holds for a sample.
        self.private: dict[str, tuple[str, ...]] = {}
        # What the records sign about each sample's stored content (as `verify` checks it): its
        # digests and whether it was erased since it was last made.
        self.digests = SignedDigests()
        self.erased: set[str] = set()
        self._interned: dict[Any, Any] = {}

    def read(
        self, ledger: Ledger, size: int, tree: CompactRange, progress: Progress | None = None
    ) -> Iterator[LineageEntry]:
        """Hash entries 0..size-1 into `tree` and note every lineage record; yield the records
        the screening fold reads: reviews, and screenings cut down to their outcome."""
        for seq, envelope in _entries(ledger, size, progress):
            tree.append(entry_leaf_hash(seq, envelope))
            # The kind of entry comes from the signed envelope, not the payload_type column.
            record = parse_lineage(seq, envelope)
            if record is None:
                continue
            self.note(seq, record)
            if record.event is Event.SCREENED:
                # The fold keeps the detail of each sample's latest screening; its funnel path
                # is noted already, so the fold is handed the outcome alone.
                outcome = {"outcome": record.detail.get("outcome")}
                yield LineageEntry(seq, record.model_copy(update={"detail": outcome}))
            elif record.event is Event.REVIEWED:
                yield LineageEntry(seq, record)

    def note(self, seq: int, record: LineageRecord) -> None:
        """Take the facts a record gives."""
        sample_id = record.sample_id
        self._time(sample_id, record.time)
        event = record.event
        self.digests.add(sample_id, record.digest)
        if event in MAKING_EVENTS:
            self.erased.discard(sample_id)
            if sample_id not in self.made:
                self.made[sample_id] = self._making(record)
        elif event is Event.ERASED:
            self.erased.add(sample_id)
        elif event is Event.SCREENED:
            # As in the fold: the latest quarantining screening, else the latest screening (a
            # quarantine binds, so a later acceptance does not replace its path).
            quarantined = record.detail.get("outcome") == "quarantined"
            if quarantined or sample_id not in self.quarantined:
                self.paths[sample_id] = self._intern(_funnel_path(seq, record))
                self.private[sample_id] = self._intern(_private_kinds(record))
            if quarantined:
                self.quarantined.add(sample_id)
        elif event is Event.RELEASED:
            name = record.detail.get("release")
            if isinstance(name, str):
                self.releases.setdefault(name, set()).add(sample_id)
        elif event is Event.REVIEWED:
            detail = record.detail
            if detail.get("selected") is True:
                self._select(seq, record)
                self.drawn.add(sample_id)
            verdict = detail.get("verdict")
            if verdict not in ("ok", "bad"):
                return
            if is_override(LineageEntry(seq, record)):
                self.overridden.add(sample_id)
            elif sample_id in self.drawn:
                reviewer = detail.get("reviewer")
                name = reviewer if isinstance(reviewer, str) and reviewer else UNNAMED_REVIEWER
                # Dicts keep the latest assignment: each reviewer's latest verdict wins.
                self.verdicts.setdefault(sample_id, {})[name] = verdict
            else:
                self.undrawn.add(sample_id)

    def _intern(self, value: Any) -> Any:
        return self._interned.setdefault(value, value)

    def _making(self, record: LineageRecord) -> _Making:
        generator = record.generator
        return _Making(
            origin=record.origin.value,
            generator=None
            if generator is None
            else self._intern((generator.provider, generator.model, generator.version)),
            sources=self._intern(
                tuple(
                    self._intern((source_kind(s), s.uri, s.license, s.tdm_opt_out))
                    for s in record.sources
                )
            ),
            parents=tuple(record.parents),
            depth=record.depth,
            kind=record.kind,
            time=record.time,
            redacted=self._intern(record.redacted_kinds()),
        )

    def _time(self, sample_id: str, text: str) -> None:
        span = self.spans.get(sample_id)
        if span is None:
            self.spans[sample_id] = (text, text)
            return
        first, last = span
        key = _time_key(text)
        if key < _time_key(first):
            first = text
        if key >= _time_key(last):
            last = text
        self.spans[sample_id] = (first, last)

    def _select(self, seq: int, record: LineageRecord) -> None:
        detail = record.detail
        draw_id, seed, rate, frame = (detail.get(k) for k in ("draw", "seed", "rate", "frame"))
        if not (
            isinstance(draw_id, str)
            and _is_int(seed)
            and isinstance(rate, int | float)
            and not isinstance(rate, bool)
            and _is_int(frame)
            and frame >= 0
        ):
            raise VerificationError(
                f"entry {seq}: a review selection needs draw (text), seed, rate and "
                "frame (numbers)",
                seq=seq,
            )
        draw = self.draws.get(draw_id)
        if draw is None:
            draw = self.draws[draw_id] = _Draw(seed, float(rate), frame)
        draw.selected.add(record.sample_id)


def _time_key(text: str) -> str:
    """A key that sorts record times (RFC 3339, UTC, `Z`) in time order.

    The text alone would not: "…:00Z" sorts after "…:00.5Z". Records carry any number of
    fraction digits, so the fraction is padded with zeros to twelve digits.
    """
    fraction = text[20:-1] if text[19] == "." else ""
    return text[:19] + fraction.ljust(12, "0")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _entries(ledger: Ledger, size: int, progress: Progress | None) -> Iterator[tuple[int, bytes]]:
    """Yield (seq, envelope) for seq 0..size-1, ticking `progress` a chunk at a time."""
    for entry in ledger.prefix(size, chunk=_CHUNK):
        yield entry.seq, entry.envelope
        if progress is not None and (entry.seq + 1) % _CHUNK == 0:
            progress(_CHUNK)
    if progress is not None:
        progress(size % _CHUNK)


def _checked_size(ledger: Ledger, size: int | None) -> int:
    current = ledger.size()
    if size is None:
        return current
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= current:
        raise InputError(f"size {size!r} is not between 0 and the ledger's {current} entries")
    return size


def _scope(
    scan: _Scan, release: str | None, sample_ids: Collection[str] | None, size: int
) -> list[str]:
    """The samples in scope, sorted (so nothing depends on the order of a set)."""
    if sample_ids is not None:
        ids = set(sample_ids)
        bad = sorted(i for i in ids if not isinstance(i, str) or not _ID.fullmatch(i))
        if bad:
            raise InputError(f"{bad[0]!r} is not a sample id (sha256:<64 hex digits>)")
        return sorted(ids)
    if release is not None:
        members = scan.releases.get(release)
        if members is None:
            raise InputError(f"no release {release!r} in the ledger's first {size} entries")
        return sorted(members)
    return sorted(scan.made)


def _first_time(scan: _Scan, scope: list[str]) -> str | None:
    firsts = [scan.spans[s][0] for s in scope if s in scan.spans]
    return min(firsts, key=_time_key) if firsts else None


def _last_time(scan: _Scan, scope: list[str]) -> str | None:
    lasts = [scan.spans[s][1] for s in scope if s in scan.spans]
    return max(lasts, key=_time_key) if lasts else None


NO_LICENCE = "no licence recorded"
"""What `most_restrictive` says when samples without any licence or terms outrank the rest."""


@dataclass(frozen=True, slots=True)
class _Text:
    """What a sample's stored text gives the report."""

    kind: str
    language: str
    tokens: int


_UNREADABLE = "unreadable"
"""A stored row that is not in the default field names, or not the content its id names."""


def _read_texts(ledger: Ledger, scope: list[str], scan: _Scan, size: int) -> dict[str, _Text | str]:
    """The text facts of each sample in scope with stored content (`_UNREADABLE` for a row
    that cannot be read as its sample); samples without stored content are left out.

    The content is read by sample id, through the database's index, apart from the entries
    the figures were checked on: it must be what `verify` accepts, or the figures are not the
    ledger's. Stored content hashes to a digest a record of its sample signs, and a made
    sample has content unless a signed `erased` record removed it (VerificationError else):
    a database that hides rows from this read, or answers it with other rows, would otherwise
    turn samples into erased or unreadable ones in a report that `audit` recomputes alike."""
    texts: dict[str, _Text | str] = {}
    for sample_id, content in ledger.contents(scope, _ID_CHUNK):
        digest = (
            "sha256:" + hashlib.sha256(content.encode("utf-8")).hexdigest()
            if type(content) is str
            else None
        )
        if not scan.digests.signs(sample_id, digest):
            raise VerificationError(
                f"sample {sample_id}: the stored content is not what its records sign: it was "
                "changed in the database (run `synthguard verify`)"
            )
        texts[sample_id] = _text(sample_id, content)
    missing = [s for s in scope if s not in texts and s in scan.made and s not in scan.erased]
    if missing:
        # A report of an earlier size, its samples' content erased since: the erasure is
        # signed after the entries the figures are of.
        later = {
            entry.record.sample_id
            for entry in scan_records(ledger, (Event.ERASED,), signed=(Event.ERASED,))
            if entry.seq >= size
        }
        missing = [sample_id for sample_id in missing if sample_id not in later]
    if missing:
        raise missing_content(missing, " (run `synthguard verify`)")
    return texts


def _text(sample_id: str, content: str) -> _Text | str:
    try:
        row = json.loads(content)
    except ValueError as exc:
        raise VerificationError(f"the stored content of sample {sample_id} is not JSON") from exc
    try:
        sample = sample_from_row(row)
    except InputError:
        return _UNREADABLE
    # The id is the digest of the content: a row edited in the database is not read.
    if sample.id != sample_id:
        return _UNREADABLE
    text = sample_text(sample)
    return _Text(sample.kind, detect_language(text), count_tokens(text))


def _characteristics(
    scope: list[str], made: list[_Making | None], texts: Mapping[str, _Text | str]
) -> DataCharacteristics:
    modalities: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    tokens = counted = erased = unreadable = 0
    latest: str | None = None
    for sample_id, making in zip(scope, made, strict=True):
        text = texts.get(sample_id)
        if isinstance(text, _Text):
            languages[text.language] += 1
            tokens += text.tokens
            counted += 1
        else:
            languages[_UNKNOWN] += 1
            erased += text is None
            unreadable += text is not None
        kind = making.kind if making is not None else None
        if kind is None and isinstance(text, _Text):
            kind = text.kind
        kinds[kind or _UNKNOWN] += 1
        modalities[_TEXT if making is not None or isinstance(text, _Text) else _UNKNOWN] += 1
        if making is not None and (latest is None or _time_key(making.time) > _time_key(latest)):
            latest = making.time
    return DataCharacteristics(
        modalities=_breakdown(modalities),
        content_types=_breakdown(kinds),
        text_size=TextSize(
            tokens=tokens,
            bucket=size_bucket(tokens),
            samples_counted=counted,
            method=TOKEN_METHOD,
        ),
        languages=Languages(
            detector=language_detector(),
            method=language_method(),
            languages=_breakdown(languages),
            erased=erased,
            unreadable=unreadable,
        ),
        latest_acquisition=latest,
    )


# -- sections --------------------------------------------------------------------------------


def _ranked(counts: Mapping[str, int]) -> list[str]:
    return [key for key, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _breakdown(counts: Mapping[str, int]) -> list[Count]:
    """Counts as rows, most samples first, then by key, with largest-remainder shares."""
    items = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shares = largest_remainder_shares([n for _, n in items])
    return [Count(key=k, samples=n, share=s) for (k, n), s in zip(items, shares, strict=True)]


def _sources(made: list[_Making | None]) -> DataSources:
    origins: Counter[str] = Counter()
    first_kinds: Counter[str] = Counter()
    kind_samples: Counter[str] = Counter()
    uris: dict[str, Counter[str]] = {}
    generators: Counter[GeneratorKey] = Counter()
    synthetic_modalities: Counter[str] = Counter()
    for making in made:
        if making is None:
            origins[_UNKNOWN] += 1
            first_kinds[_NONE] += 1
            continue
        origins[making.origin] += 1
        sources = making.sources
        first_kinds[sources[0][0] if sources else _NONE] += 1
        kind_samples.update({kind for kind, _, _, _ in sources})
        for kind, uri in {(kind, uri) for kind, uri, _, _ in sources}:
            uris.setdefault(kind, Counter())[uri] += 1
        if making.origin == Origin.SYNTHETIC.value:
            generators[making.generator or (None, _UNKNOWN, None)] += 1
            # A made sample is one of the ledger's shapes, all of them text.
            synthetic_modalities[_TEXT] += 1
    by_origin = _breakdown(origins)
    categories = {
        name: SourceCategory(
            used=kind_samples[kind.value] > 0,
            samples=kind_samples[kind.value],
            sources=_breakdown(uris.get(kind.value, {})),
        )
        for name, kind in _CATEGORIES.items()
    }
    synthetic = origins[Origin.SYNTHETIC.value]
    return DataSources(
        **categories,
        synthetic=SyntheticData(
            used=synthetic > 0,
            samples=synthetic,
            # The by-origin row's share, so the two never disagree by a rounding hundredth.
            share=next((c.share for c in by_origin if c.key == Origin.SYNTHETIC.value), 0.0),
            generators=_generators(generators),
            modalities=_ranked(synthetic_modalities),
        ),
        by_origin=by_origin,
        by_source_kind=_breakdown(first_kinds),
    )


def _rights(made: list[_Making | None]) -> list[SourceRights]:
    """Section 3.1: each source as its records describe it, and the samples that cite it."""
    counts: Counter[SourceFact] = Counter()
    for making in made:
        if making is not None:
            counts.update(set(making.sources))
    items = sorted(
        counts.items(),
        key=lambda item: (-item[1], item[0][1], item[0][0], item[0][2] or "", item[0][3] or ""),
    )
    return [
        SourceRights(
            uri=uri,
            kind=kind,
            licence=licence,
            licence_kind=None if licence is None else classify_licence(licence).kind,
            tdm_opt_out=opt_out,
            samples=n,
        )
        for (kind, uri, licence, opt_out), n in items
    ]


def _generators(counts: Counter[GeneratorKey]) -> list[GeneratorCount]:
    items = sorted(
        counts.items(), key=lambda item: (-item[1], item[0][0] or "", item[0][1], item[0][2] or "")
    )
    shares = largest_remainder_shares([n for _, n in items])
    return [
        GeneratorCount(provider=provider, model=model, version=version, samples=n, share=share)
        for ((provider, model, version), n), share in zip(items, shares, strict=True)
    ]


@dataclass(slots=True)
class _Step:
    checked: int = 0
    kept: int = 0
    quarantined: int = 0
    rules: Counter[str] = field(default_factory=Counter)


def _screening(
    statuses: list[ScreeningStatus],
    paths: Mapping[str, FunnelPath],
    samples: int,
    privacy: Privacy,
) -> Screening:
    # Samples share a few guard lists and stops: count those, then walk each funnel once.
    taken = Counter(paths[status.sample_id] for status in statuses)
    steps: dict[GuardKey, _Step] = {}
    position: dict[GuardKey, int] = {}
    checked = {DECONTAMINATION: 0, DEDUP: 0}
    stopped: dict[str, Counter[str]] = {DECONTAMINATION: Counter(), DEDUP: Counter()}
    for (guards, stop, rule), count in taken.items():
        for index, key in enumerate(guards):
            position[key] = min(position.get(key, index), index)
            steps.setdefault(key, _Step())
        ran = guards if stop is None else guards[: stop + 1]
        for index, key in enumerate(ran):
            step = steps[key]
            step.checked += count
            if index == stop:
                step.quarantined += count
                step.rules[rule] += count
            else:
                step.kept += count
        for family in checked:
            if any(key[0] == family for key in ran):
                checked[family] += count
        if stop is not None and guards[stop][0] in stopped:
            stopped[guards[stop][0]][rule] += count
    funnel = [
        GuardFunnel(
            family=key[0],
            name=key[1],
            version=key[2],
            config_digest=key[3],
            checked=steps[key].checked,
            kept=steps[key].kept,
            quarantined=steps[key].quarantined,
            by_rule=_breakdown(steps[key].rules),
        )
        for key in sorted(steps, key=lambda key: (position[key], key))
    ]
    return Screening(
        screened=len(statuses),
        unscreened=samples - len(statuses),
        accepted=sum(1 for s in statuses if s.outcome == "accepted"),
        quarantined=sum(1 for s in statuses if s.held),
        released_by_override=sum(1 for s in statuses if s.outcome == "quarantined" and not s.held),
        funnel=funnel,
        deduplication=Deduplication(
            checked=checked[DEDUP],
            duplicates=sum(stopped[DEDUP].values()),
            by_rule=_breakdown(stopped[DEDUP]),
        ),
        decontamination=Decontamination(
            checked=checked[DECONTAMINATION],
            contaminated=sum(stopped[DECONTAMINATION].values()),
            by_rule=_breakdown(stopped[DECONTAMINATION]),
        ),
        privacy=privacy,
    )


def _privacy(scan: _Scan, scope: list[str], made: list[_Making | None]) -> Privacy:
    """Template 3.2's personal data: what the screenings held, and what went out redacted."""
    checked = quarantined = 0
    held: Counter[str] = Counter()
    for sample_id in scope:
        path = scan.paths.get(sample_id)
        if path is None:
            continue
        guards, stop, _ = path
        ran = guards if stop is None else guards[: stop + 1]
        if any(key[0] == PRIVACY for key in ran):
            checked += 1
        kinds = scan.private.get(sample_id, ())
        if kinds and sample_id in scan.quarantined:
            quarantined += 1
            held.update(kinds)
    redacted: Counter[str] = Counter()
    for making in made:
        if making is not None and making.redacted:
            redacted.update(making.redacted)
    return Privacy(
        checked=checked,
        quarantined=quarantined,
        quarantined_by_kind=_breakdown(held),
        redacted=sum(1 for m in made if m is not None and m.redacted),
        redacted_by_kind=_breakdown(redacted),
    )


def _private_kinds(record: LineageRecord) -> tuple[str, ...]:
    """The kinds of personal data a quarantining screening's failed privacy verdicts name."""
    verdicts = record.detail.get("verdicts")
    if record.detail.get("outcome") != "quarantined" or not isinstance(verdicts, list):
        return ()
    return tuple(
        sorted(
            {
                str(v.get("rule"))
                for v in verdicts
                if isinstance(v, dict) and v.get("guard") == PRIVACY and v.get("passed") is False
            }
        )
    )


@functools.lru_cache(maxsize=256)
def _all_text(guards: tuple[GuardKey, ...]) -> bool:
    # Cached: a ledger repeats a few guard lists in every screened record.
    return all(type(part) is str for key in guards for part in key)


def _funnel_path(seq: int, record: LineageRecord) -> FunnelPath:
    """Where a screening stopped the sample: the guards it lists (none when it lists none),
    the one whose verdict failed first in funnel order, and that verdict's rule."""
    detail = record.detail
    try:
        guards = tuple(map(_GUARD_KEY, detail.get("guards", [])))
        valid = _all_text(guards)
    except (KeyError, TypeError):  # not a list of objects, a field missing, unhashable
        guards, valid = (), False
    if not valid:
        raise VerificationError(
            f"entry {seq}: a screened record lists a guard without family, name, "
            "version and config_digest",
            seq=seq,
        )
    if detail.get("outcome") != "quarantined":
        return guards, None, ""
    reasons = ScreeningStatus(record.sample_id, seq, "quarantined", detail).reasons
    for index, (family, name, _, _) in enumerate(guards):
        for reason in reasons:
            if reason.get("guard") == family and reason.get("guard_name", name) == name:
                return guards, index, str(reason.get("rule", _UNKNOWN))
    return guards, None, ""


class _Bindings:
    """The licences and terms that bind each sample: its own and its ancestors'."""

    def __init__(self, made: Mapping[str, _Making]) -> None:
        self.made = made
        self.bound: dict[str, frozenset[Licence]] = {}
        # Many samples share their sources' licences and their generator: classify once.
        self.own: dict[tuple[tuple[str, ...], GeneratorKey | None], frozenset[Licence]] = {}

    def of(self, sample_id: str) -> frozenset[Licence]:
        """The licences binding `sample_id` (parents first, without recursion)."""
        known = self.bound.get(sample_id)
        if known is not None:
            return known
        stack = [(sample_id, False)]
        visiting: set[str] = set()
        while stack:
            current, ready = stack.pop()
            if current in self.bound:
                continue
            making = self.made.get(current)
            if making is None:
                self.bound[current] = frozenset()
            elif ready:
                found = self._own(making)
                for parent in making.parents:
                    found |= self.bound.get(parent, frozenset())
                self.bound[current] = found
            elif current not in visiting:
                # A parent already on the path is a circular claim: that edge adds nothing.
                visiting.add(current)
                stack.append((current, True))
                stack.extend((p, False) for p in making.parents if p not in visiting)
        return self.bound[sample_id]

    def _own(self, making: _Making) -> frozenset[Licence]:
        key = (tuple(text for _, _, text, _ in making.sources if text), making.generator)
        own = self.own.get(key)
        if own is None:
            found = {classify_licence(text) for text in key[0]}
            if making.generator is not None:
                provider, model, _ = making.generator
                found.add(generator_terms(provider, model))
            own = self.own[key] = frozenset(found)
        return own


def _licences(made: Mapping[str, _Making], scope: list[str]) -> Licences:
    bindings = _Bindings(made)
    counts: Counter[Licence] = Counter()
    unlicensed = 0
    for sample_id in scope:
        bound = bindings.of(sample_id)
        counts.update(bound)
        unlicensed += not bound
    items = sorted(counts.items(), key=lambda item: (-item[1], item[0].name, item[0].kind))
    # Of the samples in scope, not of the rows: a sample bound by two licences is in both.
    rows = [
        LicenceCount(
            licence=licence.name, kind=licence.kind, samples=n, share=percent(n, len(scope))
        )
        for licence, n in items
    ]
    worst = max((restrictiveness(row.kind) for row in rows), default=None)
    # Of the most restrictive kind, the licence binding the most samples. Content with no
    # licence and no terms at all is all rights reserved by default: as binding as an unknown
    # licence, and it wins over every known one.
    most = next((row.licence for row in rows if restrictiveness(row.kind) == worst), None)
    if unlicensed and (worst is None or worst < restrictiveness("unknown")):
        most = NO_LICENCE
    return Licences(
        licences=rows,
        most_restrictive=most,
        unknown=sorted({row.licence for row in rows if row.kind == _UNKNOWN}),
        unlicensed_samples=unlicensed,
        unlicensed_share=percent(unlicensed, len(scope)),
    )


def _review(scan: _Scan, scope: list[str], in_scope: set[str]) -> Review:
    draws = [
        ReviewDraw(
            draw=draw_id,
            seed=draw.seed,
            rate=draw.rate,
            frame=draw.frame,
            selected=len(draw.selected),
        )
        for draw_id, draw in scan.draws.items()
        if not draw.selected.isdisjoint(in_scope)
    ]
    ok = bad = 0
    disagreements: list[Disagreement] = []
    for sample_id in scope:
        by_reviewer = scan.verdicts.get(sample_id)
        if not by_reviewer:
            continue
        said = set(by_reviewer.values())
        if said == {"ok"}:
            ok += 1
        elif said == {"bad"}:
            bad += 1
        else:
            disagreements.append(
                Disagreement(
                    sample_id=sample_id,
                    ok=sorted(r for r, v in by_reviewer.items() if v == "ok"),
                    bad=sorted(r for r, v in by_reviewer.items() if v == "bad"),
                )
            )
    reviewed = ok + bad + len(disagreements)
    # A disagreement counts as an error: a reviewer found a fault that another did not.
    errors = bad + len(disagreements)
    low = high = error = None
    if reviewed:
        error = percent(errors, reviewed)
        low, high = (round(100 * bound, 2) for bound in wilson_interval(errors, reviewed))
    return Review(
        draws=draws,
        reviewed=reviewed,
        ok=ok,
        bad=bad,
        disagreements=disagreements,
        review_rate=percent(reviewed, len(scope)),
        error_rate=error,
        wilson_low=low,
        wilson_high=high,
        outside_draws=sum(1 for s in scope if s in scan.undrawn and s not in scan.verdicts),
        overrides=sum(1 for s in scope if s in scan.overridden),
    )


def _depths(made: list[_Making | None]) -> list[DepthBin]:
    counts = Counter(m.depth for m in made if m is not None)
    depths = sorted(counts)
    shares = largest_remainder_shares([counts[d] for d in depths])
    return [
        DepthBin(depth=d, samples=counts[d], share=s) for d, s in zip(depths, shares, strict=True)
    ]
