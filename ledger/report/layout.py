"""The transparency report as a document: the sections of the Commission's template for the
public summary of training content (24 July 2025), with its own numbering (1.1-1.3, 2.1-2.6 with
2.2.1 and 2.2.2, 3.1-3.3), each with its explicit Yes, No or N/A where the template asks, its
facts and tables, in words. Nothing is left blank: what the publisher did not state reads "not
stated", what the ledger did not record "not recorded".

This is what the report says; `html` and `markdown` only decide how it looks, so the two
renderings cannot drift apart. Every string here is plain text: values that come from the report
(model names, licences, URIs) are user data and each renderer escapes them for its format.
Numbers are written the same way everywhere: counts with thousands separators, shares and rates
as percentages with two decimals, as the report holds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from synthguard.ledger.report.model import (
    Count,
    GuardFunnel,
    SourceCategory,
    TransparencyReport,
)

TITLE = "Public summary of training content"
SUBTITLE = "Transparency report (EU AI Act, Article 53(1)(d); the Commission's template)"
NONE = "—"
NOT_STATED = "not stated"
NOT_RECORDED = "not recorded"
NOT_APPLICABLE: Final = "N/A"

Answer = Literal["Yes", "No", "N/A"]


class Chart(StrEnum):
    """The charts a section can carry (drawn by `synthguard.ledger.report.charts`)."""

    ORIGIN = "origin"
    GENERATORS = "generators"
    FUNNEL = "funnel"
    DEPTH = "depth"


@dataclass(frozen=True)
class Fact:
    """One labelled figure."""

    label: str
    value: str


@dataclass(frozen=True)
class Table:
    """A table of figures; `numeric` marks the columns that hold numbers, `identifiers` those
    that hold digests or URIs (long unbroken strings)."""

    caption: str
    header: tuple[str, ...]
    numeric: tuple[bool, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str = "None recorded."
    identifiers: tuple[bool, ...] = ()

    def is_identifier(self, column: int) -> bool:
        """Whether the column holds identifiers."""
        return column < len(self.identifiers) and self.identifiers[column]


@dataclass(frozen=True)
class Section:
    """A section of the template: numbered as the template numbers it, or (`number` empty) a
    part of a section that the template leaves free, such as those of 3.3."""

    number: str
    title: str
    anchor: str
    answer: Answer | None = None
    answer_label: str = "Used"
    text: tuple[str, ...] = ()
    facts: tuple[Fact, ...] = ()
    warnings: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    chart: Chart | None = None
    subsections: tuple[Section, ...] = ()

    @property
    def heading(self) -> str:
        """The heading as printed: number and title."""
        return f"{self.number} {self.title}" if self.number else self.title


def count(value: int) -> str:
    """A count with thousands separators."""
    return f"{value:,}"


def percent(value: float) -> str:
    """A percentage with two decimals."""
    return f"{value:.2f} %"


def optional_percent(value: float | None) -> str:
    """A percentage, or a dash when there is none."""
    return NONE if value is None else percent(value)


def yes_no(value: bool) -> Answer:
    """The template's explicit answer."""
    return "Yes" if value else "No"


def stated(value: str | None) -> str:
    """A value the publisher states, or `not stated`."""
    return value if value else NOT_STATED


def plural(value: int, word: str, many: str | None = None) -> str:
    """`1 sample`, `2 samples`."""
    return f"{count(value)} {word}" if value == 1 else f"{count(value)} {many or word + 's'}"


def wilson_interval(low: float | None, high: float | None) -> str:
    """The 95 % Wilson interval, or a dash when nothing was reviewed."""
    if low is None or high is None:
        return NONE
    return f"{percent(low)} – {percent(high)}"


def generator_label(provider: str | None, model: str, version: str | None) -> str:
    """`provider/model@version`, leaving out what is unknown."""
    name = model if provider is None else f"{provider}/{model}"
    return name if version is None else f"{name}@{version}"


def guard_label(funnel: GuardFunnel) -> str:
    """`family/name` of a guard."""
    return f"{funnel.family}/{funnel.name}"


def counts_table(
    caption: str, key: str, counts: Sequence[Count], share_of: str, *, uris: bool = False
) -> Table:
    """A breakdown as a table: key, samples, share."""
    return Table(
        caption=caption,
        header=(key, "Samples", f"Share of {share_of}"),
        numeric=(False, True, True),
        rows=tuple((c.key, count(c.samples), percent(c.share)) for c in counts),
        identifiers=(uris,),
    )


CONTENT_TYPES = {
    "alpaca": "instruction–response pairs (Alpaca: instruction, input, output)",
    "chat": "conversations (chat messages)",
    "text": "plain text",
    "unknown": "unknown (content erased, shape not recorded)",
}
"""The report's content types in words."""

_TEMPLATE_MODALITIES = ("text", "image", "audio", "video", "other")


def document(report: TransparencyReport) -> tuple[Section, ...]:
    """The report's sections, in the template's order."""
    return (_general(report), _sources(report), _processing(report))


def headline(report: TransparencyReport) -> tuple[Fact, ...]:
    """The figures a reader wants first."""
    synthetic = report.sources.synthetic
    screening = report.processing.screening
    review = report.processing.review
    data = report.general.data
    error = optional_percent(review.error_rate)
    if review.wilson_low is not None and review.wilson_high is not None:
        error += f" (95 % interval {wilson_interval(review.wilson_low, review.wilson_high)})"
    return (
        Fact("Samples", count(report.general.samples)),
        Fact("Synthetic", f"{count(synthetic.samples)} ({percent(synthetic.share)})"),
        Fact("Generator models", count(len(synthetic.generators))),
        Fact("Text size", f"{count(data.text_size.tokens)} tokens (estimated)"),
        Fact("Languages", ", ".join(dataset_languages(report)[:3]) or NONE),
        Fact("Screened", count(screening.screened)),
        Fact("Quarantined", count(screening.quarantined)),
        Fact("Most restrictive licence", report.processing.licences.most_restrictive or NONE),
        Fact("Human review error rate", error),
    )


def dataset_languages(report: TransparencyReport) -> list[str]:
    """The languages detected in the text (ISO 639 codes), most samples first, without the
    undetermined, the unknown and `zxx` (no linguistic content)."""
    skip = {"und", "unknown", "zxx"}
    return [c.key for c in report.general.data.languages.languages if c.key not in skip]


def _general(report: TransparencyReport) -> Section:
    general = report.general
    checkpoint = general.checkpoint
    return Section(
        number="1",
        title="General information",
        anchor="s1",
        text=(
            "Every figure in this summary was computed by synthguard from the signed records of "
            "the ledger at the checkpoint named below (section 3.3); none was typed in. The "
            "dataset's name, the provider and the model are stated by the publisher.",
        ),
        facts=(
            Fact("Dataset", general.stated.dataset),
            Fact(
                "Release",
                general.release if general.release is not None else "all samples in the ledger",
            ),
            Fact("Samples in scope", count(general.samples)),
            Fact("Earliest record", general.first_record or NOT_APPLICABLE),
            Fact("Latest record", general.last_record or NOT_APPLICABLE),
            Fact(
                "Computed from",
                f"ledger {checkpoint.origin} at {plural(checkpoint.size, 'entry', 'entries')}",
            ),
            Fact("Computed by", f"{general.tool} {general.tool_version}"),
            Fact("Report schema version", str(general.report_schema_version)),
        ),
        subsections=(_provider(report), _model(report), _characteristics(report)),
    )


def _provider(report: TransparencyReport) -> Section:
    provider = report.general.stated.provider
    return Section(
        number="1.1",
        title="Provider identification",
        anchor="s1-1",
        facts=(
            Fact("Provider name", stated(provider.name)),
            Fact("Contact details", stated(provider.contact)),
        ),
    )


def _model(report: TransparencyReport) -> Section:
    model = report.general.stated.model
    return Section(
        number="1.2",
        title="Model identification",
        anchor="s1-2",
        text=("The model trained on this data, as the publisher states it.",),
        facts=(
            Fact("Model name", stated(model.name)),
            Fact("Model version", stated(model.version)),
            Fact("Model dependencies", "; ".join(model.dependencies) or NOT_STATED),
        ),
    )


def _characteristics(report: TransparencyReport) -> Section:
    data = report.general.data
    size = data.text_size
    languages = data.languages
    by_modality = {c.key: c.samples for c in data.modalities}
    modality_rows = [
        (name.capitalize(), yes_no(by_modality.get(name, 0) > 0), count(by_modality.get(name, 0)))
        for name in _TEMPLATE_MODALITIES
    ]
    if by_modality.get("unknown"):
        modality_rows.append(
            ("Unknown (ids the ledger never made)", "Yes", count(by_modality["unknown"]))
        )
    text_used = by_modality.get("text", 0) > 0
    latest = data.latest_acquisition
    without_text = []
    if languages.erased:
        without_text.append(
            f"{plural(languages.erased, 'sample')} without stored content (erased) have no "
            "text: their language is unknown and their tokens are not counted."
        )
    if languages.unreadable:
        without_text.append(
            f"{plural(languages.unreadable, 'sample')} whose stored row is not in the default "
            "field names (or is not the content its id names) were not read: language unknown, "
            "tokens not counted."
        )
    return Section(
        number="1.3",
        title="Modality, overall training data size and other characteristics",
        anchor="s1-3",
        text=(
            "Every sample synthguard records is text: an instruction with its response, a "
            "conversation, or plain text.",
        ),
        facts=(
            Fact(
                "Training data size (text)",
                f"{size.bucket.capitalize()} (an estimated {plural(size.tokens, 'token')} "
                f"over {plural(size.samples_counted, 'sample')})"
                if text_used
                else NOT_APPLICABLE,
            ),
            Fact("How tokens are counted", size.method),
            Fact(
                "Latest data acquisition",
                f"{latest[5:7]}/{latest[:4]} ({latest})" if latest else NOT_APPLICABLE,
            ),
            Fact("Languages", ", ".join(dataset_languages(report)) or NONE),
            Fact("How languages are detected", languages.method),
        ),
        warnings=tuple(without_text),
        tables=(
            Table(
                caption="Modalities",
                header=("Modality", "Used", "Samples"),
                numeric=(False, False, True),
                rows=tuple(modality_rows),
            ),
            Table(
                caption="Types of content",
                header=("Type", "Samples", "Share of all samples"),
                numeric=(False, True, True),
                rows=tuple(
                    (CONTENT_TYPES.get(c.key, c.key), count(c.samples), percent(c.share))
                    for c in data.content_types
                ),
            ),
            counts_table(
                "Languages (ISO 639; und: undetermined; unknown: no text)",
                "Language",
                languages.languages,
                "all samples",
            ),
        ),
    )


def _category(
    number: str, title: str, category: SourceCategory, text: str, modality: str
) -> Section:
    return Section(
        number=number,
        title=title,
        anchor="s" + number.replace(".", "-"),
        answer=yes_no(category.used),
        text=(text,) if text else (),
        facts=(
            Fact("Samples with such a source", count(category.samples)),
            Fact("Modality", modality if category.used else NOT_APPLICABLE),
        ),
        tables=(counts_table("Sources", "Source", category.sources, "these samples", uris=True),),
    )


def _sources(report: TransparencyReport) -> Section:
    sources = report.sources
    synthetic = sources.synthetic
    modality = ", ".join(c.key for c in report.general.data.modalities) or NOT_APPLICABLE
    public = ("2.1", "Publicly available datasets", sources.public_datasets, "")
    licensed = (
        "2.2.1",
        "Datasets commercially licensed by rightsholders or their representatives",
        sources.licensed,
        'Sources of kind "licensed".',
    )
    private = (
        "2.2.2",
        "Private datasets obtained from other third parties",
        sources.private,
        'Sources of kind "private".',
    )
    crawled = (
        "2.3",
        "Data crawled and scraped from online sources",
        sources.crawled,
        'Sources of kind "crawled", or web addresses without a recorded kind.',
    )
    user = ("2.4", "User data", sources.user_data, "")
    other = ("2.6", "Other sources of data", sources.other, "")
    generators = Table(
        caption="Generator models",
        header=("Provider", "Model", "Version", "Samples", "Share of synthetic"),
        numeric=(False, False, False, True, True),
        rows=tuple(
            (g.provider or NONE, g.model, g.version or NONE, count(g.samples), percent(g.share))
            for g in synthetic.generators
        ),
    )
    synthetic_section = Section(
        number="2.5",
        title="Synthetic data",
        anchor="s2-5",
        answer=yes_no(synthetic.used),
        text=("The models that generated samples, with their versions, as the ledger records.",),
        facts=(
            Fact("Synthetic samples", count(synthetic.samples)),
            Fact("Share of all samples", percent(synthetic.share)),
            Fact("Modality", ", ".join(synthetic.modalities) or NOT_APPLICABLE),
            Fact("Generator models", count(len(synthetic.generators))),
        ),
        tables=(generators,),
        chart=Chart.GENERATORS if synthetic.generators else None,
    )
    either = sources.licensed.used or sources.private.used
    private_section = Section(
        number="2.2",
        title="Private non-publicly available datasets obtained from third parties",
        anchor="s2-2",
        answer=yes_no(either),
        subsections=(_category(*licensed, modality), _category(*private, modality)),
    )
    glance = [
        (number, title, yes_no(category.used), count(category.samples))
        for number, title, category, _ in (public, licensed, private, crawled, user)
    ]
    glance.append(("2.5", "Synthetic data", yes_no(synthetic.used), count(synthetic.samples)))
    glance.append((other[0], other[1], yes_no(other[2].used), count(other[2].samples)))
    return Section(
        number="2",
        title="List of data sources",
        anchor="s2",
        text=(
            "A source's kind is the one its record names, else it is inferred from its address "
            "(Hugging Face datasets are public datasets, other web addresses crawled data).",
        ),
        tables=(
            Table(
                caption="Data sources at a glance",
                header=("Section", "Kind of data", "Used", "Samples"),
                numeric=(False, False, False, True),
                rows=tuple(glance),
            ),
            counts_table("Samples by origin", "Origin", sources.by_origin, "all samples"),
            counts_table(
                "Samples by the kind of their first source",
                "Source kind",
                sources.by_source_kind,
                "all samples",
            ),
        ),
        chart=Chart.ORIGIN,
        subsections=(
            _category(*public, modality),
            private_section,
            _category(*crawled, modality),
            _category(*user, modality),
            synthetic_section,
            _category(*other, modality),
        ),
    )


def _funnel_tables(funnel: Sequence[GuardFunnel]) -> tuple[Table, ...]:
    steps = Table(
        caption="Screening funnel per guard (latest screening of each sample)",
        header=("Guard", "Version", "Config digest", "In", "Kept", "Quarantined"),
        numeric=(False, False, False, True, True, True),
        rows=tuple(
            (
                guard_label(f),
                f.version,
                f.config_digest,
                count(f.checked),
                count(f.kept),
                count(f.quarantined),
            )
            for f in funnel
        ),
        empty="No screening recorded.",
        identifiers=(False, False, True),
    )
    by_rule = tuple(
        counts_table(f"Quarantined by rule: {guard_label(f)}", "Rule", f.by_rule, "quarantined")
        for f in funnel
        if f.by_rule
    )
    return (steps, *by_rule)


def _processing(report: TransparencyReport) -> Section:
    return Section(
        number="3",
        title="Data processing aspects",
        anchor="s3",
        subsections=(_rights(report), _illegal_content(report), _other(report)),
    )


def _rights(report: TransparencyReport) -> Section:
    rights = report.processing.rights
    licences = report.processing.licences
    samples = report.general.samples
    warnings: list[str] = []
    if licences.unknown:
        warnings.append(
            "Unclassified licences (check their terms by hand): "
            + ", ".join(licences.unknown)
            + "."
        )
    if licences.unlicensed_samples:
        warnings.append(
            f"{plural(licences.unlicensed_samples, 'sample')} "
            f"{'carries' if licences.unlicensed_samples == 1 else 'carry'} no licence or terms "
            "of use."
        )
    opt_outs = sum(1 for r in rights if r.tdm_opt_out)
    answer: Answer = NOT_APPLICABLE if not rights else yes_no(opt_outs == len(rights))
    return Section(
        number="3.1",
        title="Respect of reservation of rights from the text and data mining exception or "
        "limitation",
        anchor="s3-1",
        answer=answer,
        answer_label="Opt-out facts recorded for every source",
        text=(
            "What the ledger records of each source: its licence, and the facts of a "
            "rightsholder's reservation of text and data mining (an opt-out) where they were "
            f"recorded; {NOT_RECORDED} otherwise. The ledger does not check the web for "
            "opt-outs itself. A generator model's terms of use bind what it made, and the most "
            "restrictive licence or terms binds the whole dataset.",
        ),
        facts=(
            Fact("Sources cited", count(len(rights))),
            Fact("Sources with a licence recorded", count(sum(1 for r in rights if r.licence))),
            Fact("Sources with opt-out facts recorded", count(opt_outs)),
            Fact("Most restrictive licence or terms", licences.most_restrictive or NONE),
            Fact(
                "Samples with no licence or terms",
                f"{count(licences.unlicensed_samples)} ({percent(licences.unlicensed_share)})",
            ),
        ),
        warnings=tuple(warnings),
        tables=(
            Table(
                caption="Sources and what the ledger records of their rights",
                header=("Source", "Kind", "Licence", "Licence kind", "Opt-out facts", "Samples"),
                numeric=(False, False, False, False, False, True),
                rows=tuple(
                    (
                        r.uri,
                        r.kind,
                        r.licence or NOT_RECORDED,
                        r.licence_kind or NOT_APPLICABLE,
                        r.tdm_opt_out or NOT_RECORDED,
                        count(r.samples),
                    )
                    for r in rights
                ),
                empty="No sample cites a source.",
                identifiers=(True,),
            ),
            Table(
                caption=f"Licences and terms binding the samples (share of the "
                f"{plural(samples, 'sample')} in scope; a sample bound by several counts in "
                "each, so the shares can sum past 100 %)",
                header=("Licence or terms", "Kind", "Samples", "Share of all samples"),
                numeric=(False, False, True, True),
                rows=tuple(
                    (lc.licence, lc.kind, count(lc.samples), percent(lc.share))
                    for lc in licences.licences
                ),
            ),
        ),
    )


def _illegal_content(report: TransparencyReport) -> Section:
    screening = report.processing.screening
    privacy = screening.privacy
    return Section(
        number="3.2",
        title="Removal of illegal content",
        anchor="s3-2",
        answer=yes_no(screening.screened > 0),
        answer_label="Screened",
        text=(
            "The guards below screened the samples before release. Each guard sees the samples "
            "the guards before it kept; a sample with any failed verdict is quarantined: kept "
            "out of every release until a key holder signs an override, and never deleted. "
            "They look for toxic text, backdoor triggers and poisoning, hidden Unicode and "
            "prompt injection, personal data and secrets, copies and evaluation-set "
            "contamination; none of them is a detector of every kind of illegal content.",
            "Personal data and secrets (e-mail addresses, phone numbers, IP addresses, IBANs, "
            "payment cards, US social security numbers, keys and tokens) are either kept in "
            "quarantine or, when the screen was asked to redact, released as a redacted copy: "
            "each span replaced by a placeholder naming its kind, signed as a revision whose "
            "parent is the original, which stays in quarantine. A sample with several kinds "
            "counts under each.",
        ),
        facts=(
            Fact("Screened", count(screening.screened)),
            Fact("Not screened", count(screening.unscreened)),
            Fact("Accepted", count(screening.accepted)),
            Fact("Quarantined (still held)", count(screening.quarantined)),
            Fact("Released by a signed override", count(screening.released_by_override)),
            Fact("Checked for personal data and secrets", count(privacy.checked)),
            Fact("Quarantined for personal data or secrets", count(privacy.quarantined)),
            Fact("Released redacted (revisions)", count(privacy.redacted)),
        ),
        tables=(
            *_funnel_tables(screening.funnel),
            counts_table(
                "Quarantined for personal data, by kind",
                "Kind",
                privacy.quarantined_by_kind,
                "quarantined samples",
            ),
            counts_table(
                "Released redacted, by kind removed",
                "Kind",
                privacy.redacted_by_kind,
                "redacted samples",
            ),
        ),
        chart=Chart.FUNNEL if screening.funnel else None,
    )


def _other(report: TransparencyReport) -> Section:
    return Section(
        number="3.3",
        title="Other information",
        anchor="s3-3",
        text=(
            "Deduplication, decontamination, human review, lineage, and the ledger state this "
            "summary was computed from.",
        ),
        subsections=(
            _deduplication(report),
            _decontamination(report),
            _review(report),
            _depth(report),
            _ledger(report),
        ),
    )


def _deduplication(report: TransparencyReport) -> Section:
    dedup = report.processing.screening.deduplication
    return Section(
        number="",
        title="Deduplication",
        anchor="s3-3-dedup",
        answer=yes_no(dedup.checked > 0),
        answer_label="Checked for copies",
        text=(
            "A later copy of a sample (exact, or near by MinHash and confirmed by Jaccard "
            "similarity) is quarantined; the first occurrence stays.",
        ),
        facts=(
            Fact("Checked", count(dedup.checked)),
            Fact("Quarantined as copies", count(dedup.duplicates)),
        ),
        tables=(counts_table("Copies by rule", "Rule", dedup.by_rule, "copies"),),
    )


def _decontamination(report: TransparencyReport) -> Section:
    decontamination = report.processing.screening.decontamination
    return Section(
        number="",
        title="Decontamination",
        anchor="s3-3-decontamination",
        answer=yes_no(decontamination.checked > 0),
        answer_label="Checked against protected evaluation sets",
        facts=(
            Fact("Checked", count(decontamination.checked)),
            Fact("Contaminated", count(decontamination.contaminated)),
        ),
        tables=(
            counts_table("Contaminated by rule", "Rule", decontamination.by_rule, "contaminated"),
        ),
    )


def _review(report: TransparencyReport) -> Section:
    review = report.processing.review
    warnings: tuple[str, ...] = ()
    if review.disagreements:
        warnings = (
            f"Reviewers disagree on {plural(len(review.disagreements), 'sample')}: each is "
            "counted as an error and named below.",
        )
    return Section(
        number="",
        title="Human review",
        anchor="s3-3-review",
        answer=yes_no(review.reviewed > 0),
        answer_label="Reviewed",
        text=(
            "Only verdicts on samples that a recorded review draw selected count, each "
            "reviewer's latest. A signed quarantine override releases a sample; it is not a "
            "review. A sample judged ok by one reviewer and bad by another is a disagreement, "
            "counted as an error.",
        ),
        facts=(
            Fact("Samples reviewed", count(review.reviewed)),
            Fact("Review rate", percent(review.review_rate)),
            Fact("Judged ok", count(review.ok)),
            Fact("Judged bad", count(review.bad)),
            Fact("Reviewers disagree", count(len(review.disagreements))),
            Fact("Error rate (bad and disagreements)", optional_percent(review.error_rate)),
            Fact(
                "Error rate, 95 % Wilson interval",
                wilson_interval(review.wilson_low, review.wilson_high),
            ),
            Fact("Judged outside a review draw (not counted)", count(review.outside_draws)),
            Fact("Quarantine overrides (not counted)", count(review.overrides)),
        ),
        warnings=warnings,
        tables=(
            Table(
                caption="Review draws",
                header=("Draw", "Seed", "Rate", "Frame", "Selected"),
                numeric=(False, True, True, True, True),
                rows=tuple(
                    (d.draw, str(d.seed), repr(d.rate), count(d.frame), count(d.selected))
                    for d in review.draws
                ),
                identifiers=(True,),
            ),
            Table(
                caption="Disagreements between reviewers",
                header=("Sample", "Judged ok by", "Judged bad by"),
                numeric=(False, False, False),
                rows=tuple(
                    (d.sample_id, ", ".join(d.ok), ", ".join(d.bad)) for d in review.disagreements
                ),
                identifiers=(True,),
            ),
        ),
    )


def _depth(report: TransparencyReport) -> Section:
    processing = report.processing
    return Section(
        number="",
        title="Lineage depth",
        anchor="s3-3-depth",
        text=(
            "Depth 0 is content a person wrote; a sample generated or revised from parents is "
            "one deeper than its deepest parent.",
        ),
        facts=(
            Fact(
                "Deepest lineage",
                NONE if processing.max_depth is None else str(processing.max_depth),
            ),
        ),
        tables=(
            Table(
                caption="Samples by generation depth",
                header=("Depth", "Samples", "Share"),
                numeric=(True, True, True),
                rows=tuple(
                    (str(b.depth), count(b.samples), percent(b.share)) for b in processing.depth
                ),
            ),
        ),
        chart=Chart.DEPTH if processing.depth else None,
    )


def _ledger(report: TransparencyReport) -> Section:
    general = report.general
    return Section(
        number="",
        title="Ledger checkpoint and tool",
        anchor="s3-3-ledger",
        text=(
            "Anyone holding the ledger can recompute this summary from the entries the "
            "checkpoint covers and compare it byte for byte (synthguard audit); the figures "
            "are also embedded in this file as JSON.",
        ),
        facts=(
            Fact("Origin", general.checkpoint.origin),
            Fact("Size (entries)", count(general.checkpoint.size)),
            Fact("Root hash", general.checkpoint.root_hash),
            Fact("Tool", general.tool),
            Fact("Tool version", general.tool_version),
        ),
    )
