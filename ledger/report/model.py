"""The transparency report's figures: one model, laid out as the EU AI Act template for the
public summary of training content, and serialised byte-identically from the same ledger.

Every number here is computed from ledger records (`compute`), never typed in;
the HTML, Markdown and dataset-card renderings are views of one `TransparencyReport`, and
`synthguard audit` recomputes it and compares. Three things are stated by the publisher instead
(`Stated`: the dataset's name, the provider, the model trained on the data); the audit takes
them from the report as they are. Shares are percentages with two decimals, rounded by largest
remainder so that the shares of one breakdown sum to exactly 100.00 (or are all 0.00 when the
breakdown is empty); licence shares are each of the samples in scope, and can sum past 100.

Schema version 2 follows the Commission's template (24 July 2025) section by section: 1.1
provider, 1.2 model, 1.3 data characteristics (modalities, size, content types, languages), 2.2
split into 2.2.1 licensed and 2.2.2 other private data, 3.1 rights reservations per source, and
human review counting only verdicts from review draws, with disagreements.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthguard.ledger.report.licences import LicenceKind
from synthguard.ledger.report.text_facts import SizeBucket
from synthguard.provenance.errors import InputError

if TYPE_CHECKING:
    from synthguard.ledger.home import Home

REPORT_SCHEMA_VERSION: Literal[2] = 2


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CheckpointRef(_Model):
    """The ledger state the report was computed from."""

    origin: str
    size: int = Field(ge=0, description="Entries covered: the report reads entries 0..size-1.")
    root_hash: str = Field(description="Base64 RFC 6962 root of the first `size` entries.")


class Provider(_Model):
    """Section 1.1: the provider (stated, from the home's config or `report` flags)."""

    name: str | None = None
    contact: str | None = None


class TrainedModel(_Model):
    """Section 1.2: the model trained on this data (stated)."""

    name: str | None = None
    version: str | None = None
    dependencies: list[str] = Field(
        default_factory=list,
        description="Models this one modifies or fine-tunes (the template's model dependencies).",
    )


class Stated(_Model):
    """What the publisher states and the ledger cannot know; the audit does not recompute it."""

    dataset: str = Field(min_length=1, description="The dataset's name.")
    provider: Provider = Field(default_factory=Provider)
    model: TrainedModel = Field(default_factory=TrainedModel)


class Count(_Model):
    """One row of a breakdown: a key, its sample count and its share of the breakdown."""

    key: str
    samples: int = Field(ge=0)
    share: float = Field(ge=0, le=100, description="Percent of the breakdown's total.")


class TextSize(_Model):
    """Section 1.3: the size of the text, in the template's buckets."""

    tokens: int = Field(ge=0, description="Estimated tokens over the samples with readable text.")
    bucket: SizeBucket
    samples_counted: int = Field(ge=0, description="Samples whose text was counted.")
    method: str = Field(description="How tokens are counted.")


class Languages(_Model):
    """Section 1.3: the languages of the text, detected per sample."""

    detector: str = Field(description="The detection library and its version.")
    method: str
    languages: list[Count] = Field(
        description="ISO 639 codes (`und`: undetermined; `unknown`: no readable text), share of "
        "samples in scope."
    )
    erased: int = Field(
        ge=0,
        description="Samples with no stored content (erased, or an id the ledger never made): "
        "no text.",
    )
    unreadable: int = Field(
        ge=0,
        description="Samples whose stored row is not in the default field names, or is not the "
        "content its id names: not read.",
    )


class DataCharacteristics(_Model):
    """Section 1.3: modality, size and other characteristics of the data."""

    modalities: list[Count] = Field(
        description="The template's modalities (every synthguard shape is text); `unknown` for "
        "ids in scope that the ledger neither made nor holds readable content of."
    )
    content_types: list[Count] = Field(
        description="alpaca (instruction, input, output), chat (messages), text, or unknown."
    )
    text_size: TextSize
    languages: Languages
    latest_acquisition: str | None = Field(
        description="The latest time a sample in scope was first made (generated, revised, "
        "imported)."
    )


class General(_Model):
    """Section 1: general information."""

    tool: str = "synthguard"
    tool_version: str
    report_schema_version: Literal[2] = REPORT_SCHEMA_VERSION
    checkpoint: CheckpointRef
    release: str | None = Field(default=None, description="The release the report covers.")
    stated: Stated
    samples: int = Field(ge=0, description="Samples in scope (released, or all in the ledger).")
    first_record: str | None = Field(default=None, description="Time of the earliest record.")
    last_record: str | None = Field(default=None, description="Time of the latest record.")
    data: DataCharacteristics


class SourceCategory(_Model):
    """One of sections 2.1-2.4 and 2.6: whether such data was used, and which."""

    used: bool
    samples: int = Field(ge=0, description="Samples with at least one source of this kind.")
    sources: list[Count] = Field(description="By source URI, most samples first.")


class GeneratorCount(_Model):
    """A generator model and how many samples it made (section 2.5)."""

    provider: str | None
    model: str
    version: str | None
    samples: int = Field(ge=0)
    share: float = Field(ge=0, le=100, description="Percent of synthetic samples.")


class SyntheticData(_Model):
    """Section 2.5: synthetic data."""

    used: bool
    samples: int = Field(ge=0)
    share: float = Field(ge=0, le=100, description="Percent of all samples in scope.")
    generators: list[GeneratorCount]
    modalities: list[str] = Field(description="The template's modalities of synthetic samples.")


class DataSources(_Model):
    """Section 2: data sources, each category with an explicit yes/no."""

    public_datasets: SourceCategory
    licensed: SourceCategory = Field(description="2.2.1: licensed from rightsholders.")
    private: SourceCategory = Field(description="2.2.2: other private third-party data.")
    crawled: SourceCategory
    user_data: SourceCategory
    synthetic: SyntheticData
    other: SourceCategory
    by_origin: list[Count] = Field(description="synthetic / human / hybrid.")
    by_source_kind: list[Count] = Field(
        description="Samples by kind of their first source (or 'none'); sums to the total."
    )


class GuardFunnel(_Model):
    """One guard's step of the screening funnel (from the latest screening of each sample)."""

    family: str
    name: str
    version: str
    config_digest: str
    checked: int = Field(ge=0)
    kept: int = Field(ge=0)
    quarantined: int = Field(ge=0)
    by_rule: list[Count] = Field(description="Quarantined samples by their first failed rule.")


class Decontamination(_Model):
    """Decontamination against the protected evaluation sets."""

    checked: int = Field(ge=0)
    contaminated: int = Field(ge=0)
    by_rule: list[Count]


class Deduplication(_Model):
    """Deduplication: samples a dedup guard checked, and those it quarantined as copies."""

    checked: int = Field(ge=0)
    duplicates: int = Field(ge=0)
    by_rule: list[Count]


class Privacy(_Model):
    """Personal data and secrets (template 3.2): samples held for them, and samples that went
    out as redacted revisions, each by kind (a sample with several kinds counts under each)."""

    checked: int = Field(ge=0, description="Samples whose latest screening ran a privacy guard.")
    quarantined: int = Field(
        ge=0, description="Samples whose latest quarantine names personal data or a secret."
    )
    quarantined_by_kind: list[Count]
    redacted: int = Field(
        ge=0, description="Samples made as the redacted revision of another (`screen --redact`)."
    )
    redacted_by_kind: list[Count] = Field(description="Redacted samples by the kinds removed.")


class Screening(_Model):
    """Section 3: processing: the funnel per guard and where samples ended."""

    screened: int = Field(ge=0, description="Samples in scope with a screening record.")
    unscreened: int = Field(ge=0)
    accepted: int = Field(ge=0)
    quarantined: int = Field(ge=0, description="Still held (not released by a reviewer).")
    released_by_override: int = Field(ge=0, description="Quarantined, then released (signed).")
    funnel: list[GuardFunnel]
    deduplication: Deduplication
    decontamination: Decontamination
    privacy: Privacy


class LicenceCount(_Model):
    """A licence or generator terms of use, and how many samples it constrains."""

    licence: str
    kind: LicenceKind
    samples: int = Field(ge=0)
    share: float = Field(
        ge=0,
        le=100,
        description="Percent of the samples in scope it binds (a sample bound by several "
        "licences counts in each, so shares can sum past 100).",
    )


class SourceRights(_Model):
    """Section 3.1: what the ledger knows of one source's rights, and the samples citing it."""

    uri: str
    kind: str = Field(description="The source's kind (section 2), recorded or inferred.")
    licence: str | None = Field(description="The licence as recorded; None: not recorded.")
    licence_kind: LicenceKind | None
    tdm_opt_out: str | None = Field(
        description="The text-and-data-mining reservation facts as recorded; None: not recorded."
    )
    samples: int = Field(ge=0, description="Samples in scope whose making record cites it.")


class Licences(_Model):
    """Licences and terms that bind the data: the most restrictive wins."""

    licences: list[LicenceCount]
    most_restrictive: str | None
    unknown: list[str] = Field(description="Licence strings the tool could not classify.")
    unlicensed_samples: int = Field(ge=0, description="Samples with no licence or terms at all.")
    unlicensed_share: float = Field(ge=0, le=100, description="Percent of samples in scope.")


class ReviewDraw(_Model):
    """One `review sample` draw as the ledger records it."""

    draw: str
    seed: int
    rate: float
    frame: int = Field(ge=0, description="Samples in the sampling frame.")
    selected: int = Field(ge=0)


class Disagreement(_Model):
    """A sample its reviewers judged differently (each reviewer's latest verdict)."""

    sample_id: str
    ok: list[str] = Field(description="Reviewers who judged it ok.")
    bad: list[str] = Field(description="Reviewers who judged it bad.")


class Review(_Model):
    """Human review: verdicts on samples a review draw selected; the estimated error rate.

    A signed quarantine override is not a review, nor is a verdict on a sample no draw had
    selected: both are counted apart and left out of the rates.
    """

    draws: list[ReviewDraw]
    reviewed: int = Field(ge=0, description="Samples in scope with a verdict from a draw.")
    ok: int = Field(ge=0, description="Every reviewer judged it ok.")
    bad: int = Field(ge=0, description="Every reviewer judged it bad.")
    disagreements: list[Disagreement] = Field(
        description="Judged ok by one reviewer and bad by another; counted as errors."
    )
    review_rate: float = Field(ge=0, le=100, description="Percent of samples reviewed.")
    error_rate: float | None = Field(
        description="(bad + disagreements) / reviewed, in percent; None if none."
    )
    wilson_low: float | None = Field(description="95 % Wilson interval, percent.")
    wilson_high: float | None
    outside_draws: int = Field(
        ge=0,
        description="Samples judged only where no draw had selected them: not counted.",
    )
    overrides: int = Field(
        ge=0, description="Samples with a signed quarantine override: a release, not a review."
    )


class DepthBin(_Model):
    """Samples at one generation depth (0 = human-written)."""

    depth: int = Field(ge=0)
    samples: int = Field(ge=0)
    share: float = Field(ge=0, le=100)


class Processing(_Model):
    """Section 3: processing of the data."""

    rights: list[SourceRights] = Field(description="Section 3.1: per source, most samples first.")
    screening: Screening
    licences: Licences
    review: Review
    depth: list[DepthBin]
    max_depth: int | None


class TransparencyReport(_Model):
    """The whole report."""

    general: General
    sources: DataSources
    processing: Processing

    def to_json(self) -> str:
        """The report as stable JSON (sorted keys, two-space indent, trailing newline)."""
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema of the JSON report."""
    schema = TransparencyReport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://synthguard.dev/schema/transparency-report-v2.json"
    return schema


def stated_by(
    home: Home,
    dataset: str | None = None,
    *,
    provider: Mapping[str, Any] | None = None,
    model: Mapping[str, Any] | None = None,
) -> Stated:
    """What a report states that the ledger cannot know: the dataset's name (`dataset`, else
    the home's folder name), the provider and the model (the home's config.json `provider` and
    `model`, each field replaced by one given here that is not None)."""
    config = home.config() if home.config_path.exists() else {}
    key = "provider"
    try:
        stated_provider = Provider.model_validate(_merged(home, config, key, provider))
        key = "model"
        stated_model = TrainedModel.model_validate(_merged(home, config, key, model))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join((key, *(str(part) for part in first["loc"])))
        raise InputError(
            f"{home.config_path} or the report's options: {where}: {first['msg']}"
        ) from None
    return Stated(dataset=dataset or home.folder_name, provider=stated_provider, model=stated_model)


def _merged(
    home: Home, config: Mapping[str, Any], key: str, given: Mapping[str, Any] | None
) -> dict[str, Any]:
    """config[key] (an object, or absent) with the fields `given` sets (not None) laid over."""
    found = config.get(key, {})
    if not isinstance(found, dict):
        raise InputError(f"{home.config_path}: {key} must be an object, not {found!r}")
    overrides = {name: value for name, value in (given or {}).items() if value is not None}
    return {**found, **overrides}
