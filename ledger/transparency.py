"""The transparency report's figures: one model, laid out as the EU AI Act template for the
public summary of training content, and serialised byte-identically from the same ledger.

Every number here is computed from ledger records (`synthguard.ledger.figures`), never typed in;
the HTML, Markdown and dataset-card renderings are views of one `TransparencyReport`, and
`synthguard audit` recomputes it and compares. Shares are percentages with two decimals, rounded
by largest remainder so that the shares of one breakdown sum to exactly 100.00 (or are all 0.00
when the breakdown is empty).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

REPORT_SCHEMA_VERSION: Literal[1] = 1


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CheckpointRef(_Model):
    """The ledger state the report was computed from."""

    origin: str
    size: int = Field(ge=0, description="Entries covered: the report reads entries 0..size-1.")
    root_hash: str = Field(description="Base64 RFC 6962 root of the first `size` entries.")


class General(_Model):
    """Section 1: general information."""

    tool: str = "synthguard"
    tool_version: str
    report_schema_version: Literal[1] = REPORT_SCHEMA_VERSION
    checkpoint: CheckpointRef
    release: str | None = Field(default=None, description="The release the report covers.")
    samples: int = Field(ge=0, description="Samples in scope (released, or all in the ledger).")
    first_record: str | None = Field(default=None, description="Time of the earliest record.")
    last_record: str | None = Field(default=None, description="Time of the latest record.")
    modalities: list[str] = Field(description="Content kinds in scope: text, chat.")


class Count(_Model):
    """One row of a breakdown: a key, its sample count and its share of the breakdown."""

    key: str
    samples: int = Field(ge=0)
    share: float = Field(ge=0, le=100, description="Percent of the breakdown's total.")


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
    modalities: list[str]


class DataSources(_Model):
    """Section 2: data sources, each category with an explicit yes/no."""

    public_datasets: SourceCategory
    licensed_private: SourceCategory
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


class Screening(_Model):
    """Section 3: processing: the funnel per guard and where samples ended."""

    screened: int = Field(ge=0, description="Samples in scope with a screening record.")
    unscreened: int = Field(ge=0)
    accepted: int = Field(ge=0)
    quarantined: int = Field(ge=0, description="Still held (not released by a reviewer).")
    released_by_override: int = Field(ge=0, description="Quarantined, then released (signed).")
    funnel: list[GuardFunnel]
    decontamination: Decontamination


class LicenceCount(_Model):
    """A licence or generator terms of use, and how many samples it constrains."""

    licence: str
    kind: Literal["open", "copyleft", "non-commercial", "terms-of-use", "proprietary", "unknown"]
    samples: int = Field(ge=0)
    share: float = Field(ge=0, le=100)


class Licences(_Model):
    """Licences and terms that bind the data: the most restrictive wins."""

    licences: list[LicenceCount]
    most_restrictive: str | None
    unknown: list[str] = Field(description="Licence strings the tool could not classify.")
    unlicensed_samples: int = Field(ge=0, description="Samples with no licence or terms at all.")


class ReviewDraw(_Model):
    """One `review sample` draw as the ledger records it."""

    draw: str
    seed: int
    rate: float
    frame: int = Field(ge=0, description="Samples in the sampling frame.")
    selected: int = Field(ge=0)


class Review(_Model):
    """Human review: how much was reviewed and the estimated error rate."""

    draws: list[ReviewDraw]
    reviewed: int = Field(ge=0, description="Samples in scope with a human verdict.")
    ok: int = Field(ge=0)
    bad: int = Field(ge=0)
    review_rate: float = Field(ge=0, le=100, description="Percent of samples reviewed.")
    error_rate: float | None = Field(description="bad / reviewed, in percent; None if none.")
    wilson_low: float | None = Field(description="95 % Wilson interval, percent.")
    wilson_high: float | None


class DepthBin(_Model):
    """Samples at one generation depth (0 = human-written)."""

    depth: int = Field(ge=0)
    samples: int = Field(ge=0)
    share: float = Field(ge=0, le=100)


class Processing(_Model):
    """Section 3: processing of the data."""

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
    schema["$id"] = "https://synthguard.dev/schema/transparency-report-v1.json"
    return schema
