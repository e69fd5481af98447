"""Transparency reports built by hand for the rendering tests: a mixed synthetic/human report, a
human-only one, an empty ledger's, and one whose user strings try to break out of their markup."""

from __future__ import annotations

from typing import Any

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
    Provider,
    Review,
    ReviewDraw,
    Screening,
    SourceCategory,
    SourceRights,
    Stated,
    SyntheticData,
    TextSize,
    TrainedModel,
    TransparencyReport,
)
from synthguard.ledger.report.text_facts import TOKEN_METHOD, size_bucket

ROOT = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
ORIGIN = "synthguard.example/ledger/demo"
HOSTILE = '<script>alert("x")</script> </script><!-- -->|*_`[x](javascript:1)&amp;\n"'


def _none() -> SourceCategory:
    return SourceCategory(used=False, samples=0, sources=[])


def _category(*sources: tuple[str, int, float]) -> SourceCategory:
    counts = [Count(key=uri, samples=n, share=share) for uri, n, share in sources]
    return SourceCategory(used=True, samples=sum(c.samples for c in counts), sources=counts)


def _data(
    samples: int,
    tokens: int,
    languages: list[Count],
    content_types: list[Count],
    latest: str | None,
    erased: int = 0,
) -> DataCharacteristics:
    return DataCharacteristics(
        modalities=[Count(key="text", samples=samples, share=100.0)] if samples else [],
        content_types=content_types,
        text_size=TextSize(
            tokens=tokens,
            bucket=size_bucket(tokens),
            samples_counted=samples - erased,
            method=TOKEN_METHOD,
        ),
        languages=Languages(
            detector="py3langid 0.4.0",
            method="detected by py3langid 0.4.0 on the first 1,000 characters of each text",
            languages=languages,
            erased=erased,
            unreadable=0,
        ),
        latest_acquisition=latest,
    )


def _no_review() -> Review:
    return Review(
        draws=[],
        reviewed=0,
        ok=0,
        bad=0,
        disagreements=[],
        review_rate=0.0,
        error_rate=None,
        wilson_low=None,
        wilson_high=None,
        outside_draws=0,
        overrides=0,
    )


def _no_dedup() -> Deduplication:
    return Deduplication(checked=0, duplicates=0, by_rule=[])


def _funnel(family: str, name: str, checked: int, *rules: tuple[str, int, float]) -> GuardFunnel:
    quarantined = sum(n for _, n, _ in rules)
    return GuardFunnel(
        family=family,
        name=name,
        version="1.0.0",
        config_digest="sha256:" + f"{checked:064x}",
        checked=checked,
        kept=checked - quarantined,
        quarantined=quarantined,
        by_rule=[Count(key=rule, samples=n, share=share) for rule, n, share in rules],
    )


def mixed_report(**general: Any) -> TransparencyReport:
    """1,200 samples: synthetic from three generators, human seeds from a public dataset."""
    fields: dict[str, Any] = {
        "tool_version": "0.1.0",
        "checkpoint": CheckpointRef(origin=ORIGIN, size=4321, root_hash=ROOT),
        "release": "instruct-v1",
        "stated": Stated(
            dataset="instruct-v1",
            provider=Provider(name="Example Labs", contact="ai-office@example.org"),
            model=TrainedModel(name="example-7b", version="2026.02", dependencies=["llama-3.1-8b"]),
        ),
        "samples": 1200,
        "first_record": "2026-01-02T03:04:05.000000Z",
        "last_record": "2026-02-03T04:05:06.000000Z",
        "data": _data(
            1200,
            183_456,
            [
                Count(key="en", samples=1100, share=91.67),
                Count(key="de", samples=80, share=6.67),
                Count(key="und", samples=15, share=1.25),
                Count(key="unknown", samples=5, share=0.41),
            ],
            [
                Count(key="chat", samples=700, share=58.33),
                Count(key="alpaca", samples=500, share=41.67),
            ],
            "2026-02-01T00:00:00.000000Z",
            erased=5,
        ),
    }
    fields.update(general)
    return TransparencyReport(
        general=General(**fields),
        sources=DataSources(
            public_datasets=_category(
                ("hf://datasets/tatsu-lab/alpaca", 150, 75.0),
                ("https://huggingface.co/datasets/databricks/databricks-dolly-15k", 50, 25.0),
            ),
            licensed=_category(("s3://acme/licensed-corpus", 10, 100.0)),
            private=_none(),
            crawled=_category(("https://example.org/forum", 20, 100.0)),
            user_data=_none(),
            synthetic=SyntheticData(
                used=True,
                samples=1000,
                share=83.33,
                generators=[
                    GeneratorCount(
                        provider="openai",
                        model="gpt-4o-mini",
                        version="2024-07-18",
                        samples=700,
                        share=70.0,
                    ),
                    GeneratorCount(
                        provider="meta", model="llama-3.1-8b", version=None, samples=250, share=25.0
                    ),
                    GeneratorCount(
                        provider=None, model="local-reviser", version="3", samples=50, share=5.0
                    ),
                ],
                modalities=["text"],
            ),
            other=_none(),
            by_origin=[
                Count(key="synthetic", samples=950, share=79.17),
                Count(key="hybrid", samples=50, share=4.17),
                Count(key="human", samples=200, share=16.66),
            ],
            by_source_kind=[
                Count(key="none", samples=980, share=81.67),
                Count(key="public-dataset", samples=200, share=16.67),
                Count(key="crawled", samples=20, share=1.66),
            ],
        ),
        processing=Processing(
            rights=[
                SourceRights(
                    uri="hf://datasets/tatsu-lab/alpaca",
                    kind="public-dataset",
                    licence="CC-BY-NC-4.0",
                    licence_kind="non-commercial",
                    tdm_opt_out=None,
                    samples=150,
                ),
                SourceRights(
                    uri="https://huggingface.co/datasets/databricks/databricks-dolly-15k",
                    kind="public-dataset",
                    licence="CC-BY-SA-3.0",
                    licence_kind="copyleft",
                    tdm_opt_out=None,
                    samples=50,
                ),
                SourceRights(
                    uri="https://example.org/forum",
                    kind="crawled",
                    licence="see forum rules",
                    licence_kind="unknown",
                    tdm_opt_out="robots.txt allows all agents; no TDMRep header (2026-01-01)",
                    samples=20,
                ),
                SourceRights(
                    uri="s3://acme/licensed-corpus",
                    kind="licensed",
                    licence=None,
                    licence_kind=None,
                    tdm_opt_out=None,
                    samples=10,
                ),
            ],
            screening=Screening(
                screened=1260,
                unscreened=0,
                accepted=1200,
                quarantined=55,
                released_by_override=5,
                funnel=[
                    _funnel("input", "unicode", 1260, ("bidi-control", 4, 100.0)),
                    _funnel("dedup", "exact", 1256, ("exact-duplicate", 30, 100.0)),
                    _funnel("dedup", "minhash", 1226, ("near-duplicate", 12, 100.0)),
                    _funnel(
                        "decontamination",
                        "ngram",
                        1214,
                        ("13-gram", 4, 66.67),
                        ("8-gram", 2, 33.33),
                    ),
                    _funnel("backdoor", "statistics", 1208, ("trigger-ngram", 3, 100.0)),
                    _funnel("toxicity", "detoxify", 1205),
                ],
                deduplication=Deduplication(
                    checked=1256,
                    duplicates=42,
                    by_rule=[
                        Count(key="exact-duplicate", samples=30, share=71.43),
                        Count(key="near-duplicate", samples=12, share=28.57),
                    ],
                ),
                decontamination=Decontamination(
                    checked=1214,
                    contaminated=6,
                    by_rule=[
                        Count(key="13-gram", samples=4, share=66.67),
                        Count(key="8-gram", samples=2, share=33.33),
                    ],
                ),
                privacy=Privacy(
                    checked=1205,
                    quarantined=3,
                    quarantined_by_kind=[
                        Count(key="email", samples=2, share=66.67),
                        Count(key="phone", samples=1, share=33.33),
                    ],
                    redacted=2,
                    redacted_by_kind=[Count(key="email", samples=2, share=100.0)],
                ),
            ),
            licences=Licences(
                licences=[
                    LicenceCount(
                        licence="OpenAI Terms of Use", kind="terms-of-use", samples=700, share=58.33
                    ),
                    LicenceCount(licence="llama3.1", kind="terms-of-use", samples=250, share=20.83),
                    LicenceCount(
                        licence="CC-BY-NC-4.0", kind="non-commercial", samples=50, share=4.17
                    ),
                    LicenceCount(licence="Apache-2.0", kind="open", samples=150, share=12.5),
                    LicenceCount(licence="see forum rules", kind="unknown", samples=20, share=1.67),
                ],
                most_restrictive="CC-BY-NC-4.0",
                unknown=["see forum rules"],
                unlicensed_samples=30,
                unlicensed_share=2.5,
            ),
            review=Review(
                draws=[ReviewDraw(draw="draw-1", seed=7, rate=0.05, frame=1200, selected=60)],
                reviewed=60,
                ok=57,
                bad=2,
                disagreements=[
                    Disagreement(sample_id="sha256:" + "ab" * 32, ok=["alice"], bad=["bob"])
                ],
                review_rate=5.0,
                error_rate=5.0,
                wilson_low=1.71,
                wilson_high=13.7,
                outside_draws=2,
                overrides=5,
            ),
            depth=[
                DepthBin(depth=0, samples=200, share=16.67),
                DepthBin(depth=1, samples=800, share=66.67),
                DepthBin(depth=2, samples=150, share=12.5),
                DepthBin(depth=3, samples=50, share=4.16),
            ],
            max_depth=3,
        ),
    )


def human_report() -> TransparencyReport:
    """300 human-written samples from one public dataset, no generator, no review."""
    return TransparencyReport(
        general=General(
            tool_version="0.1.0",
            checkpoint=CheckpointRef(origin=ORIGIN, size=301, root_hash=ROOT),
            release=None,
            stated=Stated(dataset="squad-notes"),
            samples=300,
            first_record="2026-01-02T03:04:05.000000Z",
            last_record="2026-01-02T03:04:06.000000Z",
            data=_data(
                300,
                24_000,
                [Count(key="en", samples=300, share=100.0)],
                [Count(key="text", samples=300, share=100.0)],
                "2026-01-02T03:04:05.000000Z",
            ),
        ),
        sources=DataSources(
            public_datasets=_category(("hf://datasets/squad@main/train", 300, 100.0)),
            licensed=_none(),
            private=_none(),
            crawled=_none(),
            user_data=_none(),
            synthetic=SyntheticData(used=False, samples=0, share=0.0, generators=[], modalities=[]),
            other=_none(),
            by_origin=[Count(key="human", samples=300, share=100.0)],
            by_source_kind=[Count(key="public-dataset", samples=300, share=100.0)],
        ),
        processing=Processing(
            rights=[
                SourceRights(
                    uri="hf://datasets/squad@main/train",
                    kind="public-dataset",
                    licence="CC-BY-SA-4.0",
                    licence_kind="copyleft",
                    tdm_opt_out="no reservation: published for machine learning",
                    samples=300,
                )
            ],
            screening=Screening(
                screened=300,
                unscreened=0,
                accepted=298,
                quarantined=2,
                released_by_override=0,
                funnel=[_funnel("dedup", "exact", 300, ("exact-duplicate", 2, 100.0))],
                deduplication=Deduplication(
                    checked=300,
                    duplicates=2,
                    by_rule=[Count(key="exact-duplicate", samples=2, share=100.0)],
                ),
                decontamination=Decontamination(checked=0, contaminated=0, by_rule=[]),
                privacy=no_privacy(),
            ),
            licences=Licences(
                licences=[
                    LicenceCount(licence="CC-BY-SA-4.0", kind="copyleft", samples=300, share=100.0)
                ],
                most_restrictive="CC-BY-SA-4.0",
                unknown=[],
                unlicensed_samples=0,
                unlicensed_share=0.0,
            ),
            review=_no_review(),
            depth=[DepthBin(depth=0, samples=300, share=100.0)],
            max_depth=0,
        ),
    )


def no_privacy() -> Privacy:
    """No privacy guard ran."""
    return Privacy(
        checked=0, quarantined=0, quarantined_by_kind=[], redacted=0, redacted_by_kind=[]
    )


def empty_report() -> TransparencyReport:
    """A ledger holding nothing but its genesis entry."""
    zero = Screening(
        screened=0,
        unscreened=0,
        accepted=0,
        quarantined=0,
        released_by_override=0,
        funnel=[],
        deduplication=_no_dedup(),
        decontamination=Decontamination(checked=0, contaminated=0, by_rule=[]),
        privacy=no_privacy(),
    )
    return TransparencyReport(
        general=General(
            tool_version="0.1.0",
            checkpoint=CheckpointRef(origin=ORIGIN, size=1, root_hash=ROOT),
            stated=Stated(dataset="empty"),
            samples=0,
            data=_data(0, 0, [], [], None),
        ),
        sources=DataSources(
            public_datasets=_none(),
            licensed=_none(),
            private=_none(),
            crawled=_none(),
            user_data=_none(),
            synthetic=SyntheticData(used=False, samples=0, share=0.0, generators=[], modalities=[]),
            other=_none(),
            by_origin=[],
            by_source_kind=[],
        ),
        processing=Processing(
            rights=[],
            screening=zero,
            licences=Licences(
                licences=[],
                most_restrictive=None,
                unknown=[],
                unlicensed_samples=0,
                unlicensed_share=0.0,
            ),
            review=_no_review(),
            depth=[],
            max_depth=None,
        ),
    )


def hostile_report() -> TransparencyReport:
    """The mixed report with markup-breaking text in every kind of user string."""
    report = mixed_report(
        release=HOSTILE,
        checkpoint=CheckpointRef(origin=HOSTILE, size=4321, root_hash=ROOT),
        stated=Stated(
            dataset=HOSTILE,
            provider=Provider(name=HOSTILE, contact=HOSTILE),
            model=TrainedModel(name=HOSTILE, version=HOSTILE, dependencies=[HOSTILE]),
        ),
    )
    synthetic = report.sources.synthetic.model_copy(
        update={
            "generators": [
                GeneratorCount(
                    provider=HOSTILE, model=HOSTILE, version=HOSTILE, samples=1000, share=100.0
                )
            ]
        }
    )
    licences = report.processing.licences.model_copy(
        update={
            "licences": [LicenceCount(licence=HOSTILE, kind="unknown", samples=1200, share=100.0)],
            "most_restrictive": HOSTILE,
            "unknown": [HOSTILE],
        }
    )
    funnel = [
        f.model_copy(
            update={
                "name": HOSTILE,
                "by_rule": [Count(key=HOSTILE, samples=f.quarantined, share=100.0)],
            }
        )
        for f in report.processing.screening.funnel
    ]
    return report.model_copy(
        update={
            "sources": report.sources.model_copy(
                update={
                    "synthetic": synthetic,
                    "crawled": _category((HOSTILE, 20, 100.0)),
                    "by_origin": [Count(key=HOSTILE, samples=1200, share=100.0)],
                }
            ),
            "processing": report.processing.model_copy(
                update={
                    "rights": [
                        r.model_copy(update={"uri": HOSTILE, "tdm_opt_out": HOSTILE})
                        for r in report.processing.rights
                    ],
                    "review": report.processing.review.model_copy(
                        update={
                            "disagreements": [
                                Disagreement(sample_id=HOSTILE, ok=[HOSTILE], bad=[HOSTILE])
                            ]
                        }
                    ),
                    "licences": licences,
                    "screening": report.processing.screening.model_copy(update={"funnel": funnel}),
                }
            ),
        }
    )
