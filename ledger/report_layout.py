"""The transparency report as a document: sections in the EU AI Act template's order, each with
its explicit Yes/No where the template asks for one, its facts and tables, in words.

This is what the report says; `report_html` and `report_md` only decide how it looks, so the two
renderings cannot drift apart. Every string here is plain text: values that come from the report
(model names, licences, URIs) are user data and each renderer escapes them for its format.
Numbers are written the same way everywhere: counts with thousands separators, shares and rates
as percentages with two decimals, as the report holds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from synthguard.ledger.transparency import (
    Count,
    GuardFunnel,
    SourceCategory,
    TransparencyReport,
)

TITLE = "Public summary of training content"
SUBTITLE = "Transparency report (EU AI Act, Article 53(1)(d) template)"
NONE = "—"


class Chart(StrEnum):
    """The charts a section can carry (drawn by `synthguard.ledger.charts`)."""

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
    """A numbered section of the template."""

    number: str
    title: str
    anchor: str
    answer: bool | None = None
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
        return f"{self.number} {self.title}"


def count(value: int) -> str:
    """A count with thousands separators."""
    return f"{value:,}"


def percent(value: float) -> str:
    """A percentage with two decimals."""
    return f"{value:.2f} %"


def optional_percent(value: float | None) -> str:
    """A percentage, or a dash when there is none."""
    return NONE if value is None else percent(value)


def yes_no(value: bool) -> str:
    """The template's explicit answer."""
    return "Yes" if value else "No"


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


def document(report: TransparencyReport) -> tuple[Section, ...]:
    """The report's sections, in the template's order."""
    return (_general(report), _sources(report), _processing(report))


def headline(report: TransparencyReport) -> tuple[Fact, ...]:
    """The figures a reader wants first."""
    synthetic = report.sources.synthetic
    screening = report.processing.screening
    review = report.processing.review
    error = optional_percent(review.error_rate)
    if review.wilson_low is not None and review.wilson_high is not None:
        error += f" (95 % interval {wilson_interval(review.wilson_low, review.wilson_high)})"
    return (
        Fact("Samples", count(report.general.samples)),
        Fact("Synthetic", f"{count(synthetic.samples)} ({percent(synthetic.share)})"),
        Fact("Generator models", count(len(synthetic.generators))),
        Fact("Screened", count(screening.screened)),
        Fact("Quarantined", count(screening.quarantined)),
        Fact("Most restrictive licence", report.processing.licences.most_restrictive or NONE),
        Fact("Human review error rate", error),
    )


def _general(report: TransparencyReport) -> Section:
    general = report.general
    checkpoint = general.checkpoint
    return Section(
        number="1",
        title="General information",
        anchor="s1",
        text=(
            "Every figure in this summary was computed by synthguard from the signed records of "
            "the ledger at the checkpoint below; none was typed in.",
        ),
        facts=(
            Fact("Release", general.release if general.release is not None else "all samples"),
            Fact("Samples in scope", count(general.samples)),
            Fact("Modalities", ", ".join(general.modalities) or NONE),
            Fact("Earliest record", general.first_record or NONE),
            Fact("Latest record", general.last_record or NONE),
            Fact("Ledger origin", checkpoint.origin),
            Fact("Ledger size (entries)", count(checkpoint.size)),
            Fact("Ledger root hash", checkpoint.root_hash),
            Fact("Computed by", f"{general.tool} {general.tool_version}"),
            Fact("Report schema version", str(general.report_schema_version)),
        ),
    )


def _category(number: str, title: str, category: SourceCategory, text: str) -> Section:
    return Section(
        number=number,
        title=title,
        anchor="s" + number.replace(".", "-"),
        answer=category.used,
        text=(text,) if text else (),
        facts=(Fact("Samples with such a source", count(category.samples)),),
        tables=(counts_table("Sources", "Source", category.sources, "these samples", uris=True),),
    )


def _sources(report: TransparencyReport) -> Section:
    sources = report.sources
    synthetic = sources.synthetic
    categories = (
        ("2.1", "Publicly available datasets", sources.public_datasets, ""),
        (
            "2.2",
            "Private non-publicly available datasets obtained from third parties",
            sources.licensed_private,
            "Datasets licensed from rightsholders or obtained from other third parties.",
        ),
        ("2.3", "Data crawled and scraped from online sources", sources.crawled, ""),
        ("2.4", "User data", sources.user_data, ""),
    )
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
        answer=synthetic.used,
        facts=(
            Fact("Synthetic samples", count(synthetic.samples)),
            Fact("Share of all samples", percent(synthetic.share)),
            Fact("Modalities", ", ".join(synthetic.modalities) or NONE),
            Fact("Generator models", count(len(synthetic.generators))),
        ),
        tables=(generators,),
        chart=Chart.GENERATORS if synthetic.generators else None,
    )
    glance = [(n, t, yes_no(c.used), count(c.samples)) for n, t, c, _ in categories]
    glance.append(("2.5", "Synthetic data", yes_no(synthetic.used), count(synthetic.samples)))
    glance.append((other[0], other[1], yes_no(other[2].used), count(other[2].samples)))
    return Section(
        number="2",
        title="List of data sources",
        anchor="s2",
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
            *(_category(*category) for category in categories),
            synthetic_section,
            _category(*other),
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
    processing = report.processing
    screening = processing.screening
    decontamination = screening.decontamination
    licences = processing.licences
    review = processing.review
    general = report.general
    licence_warnings: list[str] = []
    if licences.unknown:
        licence_warnings.append(
            "Unclassified licences (check their terms by hand): "
            + ", ".join(licences.unknown)
            + "."
        )
    if licences.unlicensed_samples:
        licence_warnings.append(
            f"{plural(licences.unlicensed_samples, 'sample')} carry no licence or terms of use."
        )
    return Section(
        number="3",
        title="Data processing aspects",
        anchor="s3",
        subsections=(
            Section(
                number="3.1",
                title="Screening",
                anchor="s3-1",
                answer=screening.screened > 0,
                answer_label="Screened",
                text=(
                    "Each guard sees the samples the guards before it kept; a sample with any "
                    "failed verdict is quarantined, never deleted.",
                ),
                facts=(
                    Fact("Screened", count(screening.screened)),
                    Fact("Not screened", count(screening.unscreened)),
                    Fact("Accepted", count(screening.accepted)),
                    Fact("Quarantined (still held)", count(screening.quarantined)),
                    Fact("Released by a signed override", count(screening.released_by_override)),
                ),
                tables=_funnel_tables(screening.funnel),
                chart=Chart.FUNNEL if screening.funnel else None,
            ),
            Section(
                number="3.2",
                title="Decontamination",
                anchor="s3-2",
                answer=decontamination.checked > 0,
                answer_label="Checked against protected evaluation sets",
                facts=(
                    Fact("Checked", count(decontamination.checked)),
                    Fact("Contaminated", count(decontamination.contaminated)),
                ),
                tables=(
                    counts_table(
                        "Contaminated by rule", "Rule", decontamination.by_rule, "contaminated"
                    ),
                ),
            ),
            Section(
                number="3.3",
                title="Licences and terms of use",
                anchor="s3-3",
                text=(
                    "The most restrictive licence or terms bind the whole dataset; a generator "
                    "model's terms of use count as a licence.",
                ),
                facts=(
                    Fact("Most restrictive", licences.most_restrictive or NONE),
                    Fact("Samples with no licence or terms", count(licences.unlicensed_samples)),
                ),
                warnings=tuple(licence_warnings),
                tables=(
                    Table(
                        caption="Licences and terms",
                        header=("Licence or terms", "Kind", "Samples", "Share"),
                        numeric=(False, False, True, True),
                        rows=tuple(
                            (lc.licence, lc.kind, count(lc.samples), percent(lc.share))
                            for lc in licences.licences
                        ),
                    ),
                ),
            ),
            Section(
                number="3.4",
                title="Human review",
                anchor="s3-4",
                answer=review.reviewed > 0,
                answer_label="Reviewed",
                facts=(
                    Fact("Samples reviewed", count(review.reviewed)),
                    Fact("Review rate", percent(review.review_rate)),
                    Fact("Judged ok", count(review.ok)),
                    Fact("Judged bad", count(review.bad)),
                    Fact("Error rate", optional_percent(review.error_rate)),
                    Fact(
                        "Error rate, 95 % Wilson interval",
                        wilson_interval(review.wilson_low, review.wilson_high),
                    ),
                ),
                tables=(
                    Table(
                        caption="Review draws",
                        header=("Draw", "Seed", "Rate", "Frame", "Selected"),
                        numeric=(False, True, True, True, True),
                        rows=tuple(
                            (d.draw, str(d.seed), repr(d.rate), count(d.frame), count(d.selected))
                            for d in review.draws
                        ),
                    ),
                ),
            ),
            Section(
                number="3.5",
                title="Lineage depth",
                anchor="s3-5",
                text=(
                    "Depth 0 is content a person wrote; a sample generated or revised from "
                    "parents is one deeper than its deepest parent.",
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
                            (str(b.depth), count(b.samples), percent(b.share))
                            for b in processing.depth
                        ),
                    ),
                ),
                chart=Chart.DEPTH if processing.depth else None,
            ),
            Section(
                number="3.6",
                title="Ledger checkpoint and tool",
                anchor="s3-6",
                text=(
                    "Anyone holding the ledger can recompute this report from the entries the "
                    "checkpoint covers and compare it byte for byte (synthguard audit); the "
                    "figures are also embedded in this file as JSON.",
                ),
                facts=(
                    Fact("Origin", general.checkpoint.origin),
                    Fact("Size (entries)", count(general.checkpoint.size)),
                    Fact("Root hash", general.checkpoint.root_hash),
                    Fact("Tool", general.tool),
                    Fact("Tool version", general.tool_version),
                ),
            ),
        ),
    )
