"""A Hugging Face dataset card (README.md) computed from the transparency report.

The YAML front matter uses the Hub's vocabularies:
- `language_creators`: `machine-generated` when synthetic or hybrid samples exist; `found` for
  data taken from public, licensed, crawled or user sources; `expert-generated` when people wrote
  or edited samples for this dataset (hybrid samples, or more human samples than samples with any
  outside source could account for); `other` for other sources.
- `annotations_creators`: the same, plus `expert-generated` when people reviewed samples that a
  review draw selected (a signed quarantine override is not a review).
- `language`: the languages detected in the text (ISO 639 codes), when there are any.
- `license`: Hub ids for SPDX licences the Hub lists; `other` for licences or terms it does not
  (with `license_name`, and `license_link` for a URL, when there is just one); `unknown` for
  licences the report could not classify and for samples with no licence at all.
- `source_datasets`: `original` when samples did not all come from public datasets, and each
  public dataset (Hub datasets by their id), as `extended|<id>` next to original data.
- `size_categories`: the Hub's bucket for the number of samples.
- `pretty_name`: the dataset's name as the report states it.

The body states the headline figures in prose, then the report's sections (the template's
1.1-1.3, the data sources, 3.1 as licensing, 3.2 and 3.3 as screening, review and lineage).
Front matter values are plain YAML scalars when they cannot be misread, double-quoted (with
escapes) otherwise. The report's JSON follows in a trailing comment, as in the Markdown report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from synthguard.ledger.report.embed import markdown_data_comment
from synthguard.ledger.report.layout import (
    Section,
    dataset_languages,
    document,
    generator_label,
    optional_percent,
    percent,
    plural,
    wilson_interval,
)
from synthguard.ledger.report.markdown import markdown_section, markdown_table, markdown_text
from synthguard.ledger.report.model import TransparencyReport

HUB_LICENCES = frozenset(
    [
        "apache-2.0",
        "mit",
        "openrail",
        "bigscience-openrail-m",
        "creativeml-openrail-m",
        "bigscience-bloom-rail-1.0",
        "bigcode-openrail-m",
        "afl-3.0",
        "artistic-2.0",
        "bsl-1.0",
        "bsd",
        "bsd-2-clause",
        "bsd-3-clause",
        "bsd-3-clause-clear",
        "c-uda",
        "cc",
        "cc0-1.0",
        "cc-by-2.0",
        "cc-by-2.5",
        "cc-by-3.0",
        "cc-by-4.0",
        "cc-by-sa-3.0",
        "cc-by-sa-4.0",
        "cc-by-nc-2.0",
        "cc-by-nc-3.0",
        "cc-by-nc-4.0",
        "cc-by-nd-4.0",
        "cc-by-nc-nd-3.0",
        "cc-by-nc-nd-4.0",
        "cc-by-nc-sa-2.0",
        "cc-by-nc-sa-3.0",
        "cc-by-nc-sa-4.0",
        "cdla-sharing-1.0",
        "cdla-permissive-1.0",
        "cdla-permissive-2.0",
        "wtfpl",
        "ecl-2.0",
        "epl-1.0",
        "epl-2.0",
        "etalab-2.0",
        "eupl-1.1",
        "eupl-1.2",
        "agpl-3.0",
        "gfdl",
        "gpl",
        "gpl-2.0",
        "gpl-3.0",
        "lgpl",
        "lgpl-2.1",
        "lgpl-3.0",
        "isc",
        "h-research",
        "intel-research",
        "lppl-1.3c",
        "ms-pl",
        "apple-ascl",
        "apple-amlr",
        "mpl-2.0",
        "odc-by",
        "odbl",
        "openmdw-1.0",
        "openrail++",
        "osl-3.0",
        "postgresql",
        "ofl-1.1",
        "ncsa",
        "unlicense",
        "zlib",
        "pddl",
        "lgpl-lr",
        "deepfloyd-if-license",
        "fair-noncommercial-research-license",
        "llama2",
        "llama3",
        "llama3.1",
        "llama3.2",
        "llama3.3",
        "llama4",
        "grok2-community",
        "gemma",
    ]
)
"""Licence ids the Hub knows (https://huggingface.co/docs/hub/repositories-licenses)."""

_SPDX_TO_HUB = {
    "odbl-1.0": "odbl",
    "odc-by-1.0": "odc-by",
    "pddl-1.0": "pddl",
    "c-uda-1.0": "c-uda",
}
_SPDX_SUFFIX = re.compile(r"(-only|-or-later|\+)$")
_HUB_DATASET = re.compile(
    r"^(?:hf://datasets/|https?://huggingface\.co/datasets/)"
    r"(?P<id>[A-Za-z0-9][\w.-]*(?:/[A-Za-z0-9][\w.-]*)?)(?:[@/?#].*)?$"
)
_SIZES = (
    (10**3, "n<1K"),
    (10**4, "1K<n<10K"),
    (10**5, "10K<n<100K"),
    (10**6, "100K<n<1M"),
    (10**7, "1M<n<10M"),
    (10**8, "10M<n<100M"),
    (10**9, "100M<n<1B"),
    (10**10, "1B<n<10B"),
    (10**11, "10B<n<100B"),
    (10**12, "100B<n<1T"),
)
_CREATORS = ("machine-generated", "expert-generated", "found", "other")
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9._/<>|+-]*")
_YAML_WORDS = frozenset(["y", "n", "yes", "no", "true", "false", "on", "off", "null"])


def size_category(samples: int) -> str:
    """The Hub's size bucket for a number of samples."""
    for bound, name in _SIZES:
        if samples < bound:
            return name
    return "n>1T"


def hub_licence(licence: str) -> str | None:
    """The Hub's id for an SPDX licence id it lists, or None."""
    key = licence.strip().lower()
    if key in HUB_LICENCES:
        return key
    key = _SPDX_SUFFIX.sub("", key)
    if key.startswith("gfdl-"):
        return "gfdl"
    key = _SPDX_TO_HUB.get(key, key)
    return key if key in HUB_LICENCES else None


def source_dataset_id(uri: str) -> str:
    """A Hub dataset's id from its `hf://` or huggingface.co URI; any other URI as it is."""
    match = _HUB_DATASET.match(uri)
    return match.group("id") if match else uri


def render_dataset_card(report: TransparencyReport) -> str:
    """The dataset card: YAML front matter, prose, tables, embedded report (same report, same
    bytes)."""
    front = _front_matter(report)
    lines = ["---"]
    for key, value in front:
        if isinstance(value, str):
            lines.append(f"{key}: {_scalar(value)}")
        elif value:
            lines.append(f"{key}:")
            lines.extend(f"- {_scalar(item)}" for item in value)
        else:
            lines.append(f"{key}: []")
    lines += ["---", "", f"# {markdown_text(_pretty_name(report))}", ""]
    lines += _prose(report)
    sections = _sections_by_anchor(document(report))
    lines += ["## Dataset details", ""]
    for anchor in ("s1-1", "s1-2", "s1-3"):
        lines += markdown_section(sections[anchor], 3)
    lines += ["## Source data", ""]
    for table in sections["s2"].tables:
        lines += [*markdown_table(table), ""]
    for section in sections["s2"].subsections:
        if section.answer == "Yes":
            lines += markdown_section(section, 3)
    lines += ["## Licensing information", ""]
    lines += markdown_section(sections["s3-1"], 3)
    lines += ["## Screening and review", ""]
    for anchor in ("s3-2", "s3-3-dedup", "s3-3-decontamination", "s3-3-review"):
        lines += markdown_section(sections[anchor], 3)
    lines += ["## Lineage and provenance", ""]
    for anchor in ("s3-3-depth", "s3-3-ledger"):
        lines += markdown_section(sections[anchor], 3)
    lines.append(markdown_data_comment(report))
    return "\n".join(lines) + "\n"


def _front_matter(report: TransparencyReport) -> list[tuple[str, str | list[str]]]:
    licences, licence_name, licence_link = _licences(report)
    language = _language_creators(report)
    annotations = set(language)
    if report.processing.review.reviewed:
        annotations.add("expert-generated")
    tags = ["synthetic"] if report.sources.synthetic.used else []
    front: list[tuple[str, str | list[str]]] = [
        ("pretty_name", _pretty_name(report)),
        ("license", licences),
    ]
    languages = dataset_languages(report)
    if languages:
        front.append(("language", languages))
    if licence_name is not None:
        front.append(("license_name", licence_name))
    if licence_link is not None:
        front.append(("license_link", licence_link))
    front += [
        ("annotations_creators", [c for c in _CREATORS if c in annotations]),
        ("language_creators", language),
        ("source_datasets", _source_datasets(report)),
        ("size_categories", [size_category(report.general.samples)]),
        ("tags", [*tags, "synthguard"]),
    ]
    return front


def _pretty_name(report: TransparencyReport) -> str:
    return report.general.stated.dataset


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _licences(report: TransparencyReport) -> tuple[list[str], str | None, str | None]:
    licences = report.processing.licences
    unknown = set(licences.unknown)
    ids: list[str] = []
    others: list[str] = []
    for entry in licences.licences:
        hub = hub_licence(entry.licence)
        if entry.kind == "unknown" or entry.licence in unknown:
            ids.append("unknown")
        elif hub is not None:
            ids.append(hub)
        else:
            ids.append("other")
            others.append(entry.licence)
    if unknown or licences.unlicensed_samples or not ids:
        ids.append("unknown")
    others = _unique(others)
    if len(others) != 1:
        return _unique(ids), None, None
    (other,) = others
    name = re.sub(r"[^a-z0-9.]+", "-", other.lower()).strip("-.") or "other"
    link = other if re.match(r"https?://", other) else None
    return _unique(ids), name, link


def _language_creators(report: TransparencyReport) -> list[str]:
    sources = report.sources
    origin = {c.key: c.samples for c in sources.by_origin}
    human, hybrid = origin.get("human", 0), origin.get("hybrid", 0)
    found = (
        sources.public_datasets,
        sources.licensed,
        sources.private,
        sources.crawled,
        sources.user_data,
    )
    creators: list[str] = []
    if sources.synthetic.samples or origin.get("synthetic", 0) or hybrid:
        creators.append("machine-generated")
    # Samples with any outside source bound how many human samples could have been found rather
    # than written here; beyond that bound, people wrote some for this dataset.
    sourced = sum(category.samples for category in (*found, sources.other))
    if hybrid or human > sourced:
        creators.append("expert-generated")
    if any(category.used for category in found):
        creators.append("found")
    if sources.other.used:
        creators.append("other")
    return creators


def _source_datasets(report: TransparencyReport) -> list[str]:
    public = report.sources.public_datasets
    ids = _unique(source_dataset_id(source.key) for source in public.sources)
    if not ids:
        return ["original"]
    if report.general.samples > public.samples:
        return ["original", *(f"extended|{dataset}" for dataset in ids)]
    return ids


def _scalar(value: str) -> str:
    if _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS:
        return value
    out = ['"']
    for char in value:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif code < 0x20 or 0x7F <= code <= 0x9F or char == "<":
            out.append(f"\\x{code:02x}")
        elif code in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF) or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _sections_by_anchor(sections: Sequence[Section]) -> dict[str, Section]:
    found: dict[str, Section] = {}
    for section in sections:
        found[section.anchor] = section
        found.update(_sections_by_anchor(section.subsections))
    return found


def _prose(report: TransparencyReport) -> list[str]:
    general = report.general
    sources = report.sources
    synthetic = sources.synthetic
    screening = report.processing.screening
    licences = report.processing.licences
    review = report.processing.review
    paragraphs: list[str] = []

    origins = ", ".join(
        f"{plural(c.samples, c.key + ' sample')} ({percent(c.share)})"
        for c in sources.by_origin
        if c.samples
    )
    summary = f"This dataset holds {plural(general.samples, 'sample')}"
    summary += f": {origins}." if origins else "."
    if synthetic.generators:
        top = synthetic.generators[0]
        summary += (
            " The synthetic samples come from "
            f"{plural(len(synthetic.generators), 'generator model')}"
            f"; the largest share ({percent(top.share)}) from "
            f"{generator_label(top.provider, top.model, top.version)}."
        )
    paragraphs.append(summary)

    if screening.screened:
        paragraphs.append(
            f"{plural(screening.screened, 'sample was', 'samples were')} screened by "
            f"{plural(len(screening.funnel), 'guard')}: {plural(screening.accepted, 'sample')} "
            f"accepted, {plural(screening.quarantined, 'sample')} still quarantined and "
            f"{plural(screening.released_by_override, 'sample')} released by a signed override; "
            f"{plural(screening.decontamination.contaminated, 'sample')} matched a protected "
            "evaluation set."
        )
    else:
        paragraphs.append("No sample was screened.")

    if licences.most_restrictive is not None:
        licence = f"The most restrictive licence or terms of use is {licences.most_restrictive}."
    else:
        licence = "No licence or terms of use is recorded."
    if licences.unknown:
        licence += " Unclassified licences: " + ", ".join(licences.unknown) + "."
    if licences.unlicensed_samples:
        unlicensed = licences.unlicensed_samples
        carry = "carries" if unlicensed == 1 else "carry"
        licence += f" {plural(unlicensed, 'sample')} {carry} no licence at all."
    paragraphs.append(licence)

    if review.reviewed:
        disagreements = len(review.disagreements)
        disputed = (
            f"; reviewers disagree on {plural(disagreements, 'sample')}, counted as errors"
            if disagreements
            else ""
        )
        paragraphs.append(
            f"People reviewed {plural(review.reviewed, 'sample')} drawn for review "
            f"({percent(review.review_rate)} of the samples){disputed}; the error rate is "
            f"{optional_percent(review.error_rate)}, 95 % Wilson interval "
            f"{wilson_interval(review.wilson_low, review.wilson_high)}."
        )
    else:
        paragraphs.append("No sample drawn for review was reviewed by a person.")

    checkpoint = general.checkpoint
    paragraphs.append(
        f"Computed by {general.tool} {general.tool_version} from ledger {checkpoint.origin} at "
        f"{plural(checkpoint.size, 'entry', 'entries')} (root {checkpoint.root_hash}); "
        "synthguard audit recomputes these figures from the ledger and compares."
    )
    lines: list[str] = []
    for paragraph in paragraphs:
        lines += [markdown_text(paragraph), ""]
    return lines
