"""A release described in Croissant 1.1 JSON-LD, so that ML tools can find, check and load it.

One schema.org Dataset that conforms to Croissant 1.1 and to the Croissant RAI vocabulary 1.0,
made from a release folder and the release's transparency report:
- `distribution`: the folder's four files as `cr:FileObject`s with their SHA-256 and size; each
  `contentUrl` is relative to the folder the Croissant file sits in, so a loader that opens it
  finds the files and checks their hashes;
- record set `samples`: one field per column of `samples.parquet`, typed from its Parquet schema
  (text, integer, float, boolean, arrays, and objects one level deep as sub-fields), keyed by
  `sample_id` when the rows carry it. Parquet rather than the JSON lines: its column types are
  exact, where a JSON-lines reader guesses (it would read a column of "1", "3" as numbers);
- `license`: the report's licences and generators' terms (an SPDX URL where the report names
  an SPDX licence);
- RAI: `rai:dataCollection` and `rai:dataCollectionType` (`Synthetic`, and the kinds of the
  other sources) from the data sources; `rai:dataBiases` from the origin and generator mix, the
  lineage depth and the screen's selection; `rai:dataLimitations` from the screening funnel per
  guard, decontamination, licences and the review's error estimate; `rai:dataAnnotationProtocol`
  from human review; `rai:machineAnnotationTools`: the guards, by version and config digest;
- `prov:wasGeneratedBy` (W3C PROV-O): the release, with the digest of its signed manifest and
  the ledger checkpoint its proofs lead to, and one generation activity per generator model.

Every figure comes from the report, which rides along as a JSON literal
(`synthguard:transparencyReport`), as HTML and Markdown reports carry theirs: `synthguard audit`
recomputes it from the ledger, describes the release folder again and compares the bytes. The
text is canonical (sorted keys, two-space indent, ASCII): the same report and folder, seen from
the same place, give the same bytes.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from synthguard.ledger.log import Ledger, records_by_event
from synthguard.ledger.release import (
    BUNDLE_FILE,
    JSONL_FILE,
    MANIFEST_FILE,
    PARQUET_FILE,
    PREDICATE_TYPE,
    BundleReader,
    CheckpointRef,
    Statement,
    encode_hash,
    file_digest,
    manifest_statement,
    open_regular,
    read_manifest,
    sample_root,
    signed_files,
)
from synthguard.ledger.report.layout import (
    count,
    generator_label,
    guard_label,
    percent,
    plural,
    wilson_interval,
)
from synthguard.ledger.report.model import (
    DataSources,
    GuardFunnel,
    Licences,
    Review,
    SourceCategory,
    TransparencyReport,
)
from synthguard.ledger.report.text_facts import UNDETERMINED
from synthguard.provenance.canonical import digest
from synthguard.provenance.errors import InputError, VerificationError
from synthguard.provenance.record import Event
from synthguard.provenance.sample import SAMPLE_ID_FIELD

CROISSANT_1_1 = "http://mlcommons.org/croissant/1.1"
CROISSANT_RAI_1_0 = "http://mlcommons.org/croissant/RAI/1.0"
CONFORMS_TO = (CROISSANT_1_1, CROISSANT_RAI_1_0)
SYNTHGUARD_NS = "https://synthguard.dev/ns#"
REPORT_PROPERTY = "synthguard:transparencyReport"
"""The property that carries the report's JSON, a JSON literal (`@json`)."""
RECORD_SET = "samples"
NEEDS_FOLDER = "a Croissant description is of a release: give --release DIR, the release folder"

CONTEXT: dict[str, Any] = {
    # Croissant 1.1's context, as mlcroissant writes it, then RAI, PROV-O and synthguard.
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileObject": "cr:fileObject",
    "fileProperty": "cr:fileProperty",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "prov": "http://www.w3.org/ns/prov#",
    "synthguard": SYNTHGUARD_NS,
    REPORT_PROPERTY: {"@id": REPORT_PROPERTY, "@type": "@json"},
}

_FILES: tuple[tuple[str, str, str], ...] = (
    (JSONL_FILE, "application/jsonlines", "The released rows, one JSON object per line."),
    (
        PARQUET_FILE,
        "application/x-parquet",
        f"The released rows as a Parquet table, row for row those of {JSONL_FILE}; the "
        f"`{RECORD_SET}` records are read from it.",
    ),
    (
        MANIFEST_FILE,
        "application/json",
        f"The release manifest: an in-toto Statement v1 (predicate {PREDICATE_TYPE}) in a DSSE "
        "envelope signed by the ledger key. It names both data files by their SHA-256.",
    ),
    (
        BUNDLE_FILE,
        "application/gzip",
        "The proof bundle, JSON lines in one gzip stream: every signed ledger record about each "
        "released sample, and one multiproof of them all against the ledger checkpoint the "
        "manifest names.",
    ),
)

_ROLES = {
    "instruction": "The instruction of an Alpaca sample.",
    "input": "The input of an Alpaca sample (may be empty).",
    "output": "The response of an Alpaca sample.",
    "messages": "The turns of a chat sample, each a role and a content.",
    "text": "The text of a plain-text sample.",
    "id": "The row's own identifier, as the input gave it.",
}
_SAMPLE_ID_ROLE = (
    "The sample's id: the SHA-256 of its canonical content (RFC 8785), as the ledger names it."
)
_LANGUAGE = re.compile(rf"(?!{UNDETERMINED}$)[a-z]{{2,3}}")
"""An ISO 639 code the report names (not `und`, undetermined, nor `unknown`, no text)."""
_SPDX_ID = re.compile(r"[A-Za-z0-9.+-]+")
_JSON_PATH_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ARRAY_SHAPE = "-1"
"""One dimension of any length: an array column."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the released table as Croissant types it: a scalar type (`sc:Text`, ...),
    or None for an object whose parts are typed; `is_array` for a list of either."""

    name: str
    data_type: str | None
    is_array: bool = False
    parts: tuple[Column, ...] = ()


@dataclass(frozen=True, slots=True)
class ReleaseFile:
    """A file of the release folder: its name, hex SHA-256 and size in bytes."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class ReleaseFolder:
    """What a Croissant description takes from a release folder (at `path`)."""

    path: Path
    name: str
    created: str
    manifest_digest: str
    checkpoint: CheckpointRef
    samples: int
    sample_root: str
    fields: dict[str, str]
    files: tuple[ReleaseFile, ...]
    columns: tuple[Column, ...]
    left_out: tuple[str, ...] = ()
    """Columns (or parts) nested deeper than Croissant loaders read: not described."""


def read_release(out: Path) -> ReleaseFolder:
    """Read a release folder for its description: the manifest (signed by a key the release
    carries), each file's SHA-256 and size, which must be those the manifest signed, and the
    Parquet schema. Opens regular files only, as `release verify` does."""
    data, statement = _manifest(out)
    predicate = statement.predicate
    signed = signed_files(statement)
    files = tuple(_release_file(out / name) for name, _, _ in _FILES)
    for file in files:
        if file.name in signed and signed[file.name] != file.sha256:
            raise VerificationError(
                f"{file.name}: its SHA-256 differs from the one the manifest signed"
            )
    columns, left_out = parquet_columns(out / PARQUET_FILE)
    return ReleaseFolder(
        path=out,
        name=predicate.name,
        created=predicate.created,
        manifest_digest=digest(data),
        checkpoint=predicate.checkpoint,
        samples=predicate.samples.count,
        sample_root=predicate.samples.merkle_root,
        fields=dict(predicate.fields),
        files=files,
        columns=columns,
        left_out=left_out,
    )


def release_of_folder(value: str | None) -> tuple[Path, str]:
    """The folder `report --release` names for a description of a release, and the name of
    the release it holds (from its manifest)."""
    if value is None:
        raise InputError(NEEDS_FOLDER)
    out = Path(value)
    return out, _manifest(out)[1].predicate.name


def render_release_croissant(
    report: TransparencyReport, ledger: Ledger, path: Path, out: Path | None
) -> str:
    """The Croissant description, to be written to `path`, of the release in folder `out`,
    which must be this ledger's (`described_release`); `report` is that release's."""
    if out is None:
        raise InputError(NEEDS_FOLDER)
    return render_croissant(report, described_release(ledger, out), content_location(path, out))


def check_recorded(ledger: Ledger, release: ReleaseFolder) -> None:
    """Check that the ledger's `released` records name exactly this folder's samples under
    its manifest: the folder is this ledger's release, so the ledger's figures describe it."""
    recorded = {
        entry.record.sample_id
        for entry in records_by_event(ledger, (Event.RELEASED,))
        if entry.record.detail.get("release") == release.name
        and entry.record.detail.get("manifest") == release.manifest_digest
    }
    if not recorded:
        raise InputError(
            f"{release.path} is not a release of this ledger: no `released` record names its "
            f"manifest {release.manifest_digest}"
        )
    if encode_hash(sample_root(recorded)) != release.sample_root:
        raise VerificationError(
            f"{release.path}: the ledger's `released` records for its manifest name "
            f"{len(recorded)} samples, not the {release.samples} the manifest signed"
        )


def described_release(ledger: Ledger, out: Path) -> ReleaseFolder:
    """Read the release folder `out` (`read_release`) and check that it is this ledger's
    release (`check_recorded`): its report, computed from the ledger, then describes it."""
    release = read_release(out)
    check_recorded(ledger, release)
    return release


def content_location(croissant_file: Path, out: Path) -> str:
    """The release folder as seen from the Croissant file's folder, as a `contentUrl` prefix:
    empty when the file is in the release folder, else a relative path ending in `/`."""
    here = os.path.realpath(croissant_file.parent)
    relative = os.path.relpath(os.path.realpath(out), here)
    return "" if relative == "." else Path(relative).as_posix() + "/"


def render_croissant(report: TransparencyReport, release: ReleaseFolder, location: str) -> str:
    """The Croissant JSON-LD text: canonical, so that an audit can compare bytes."""
    document = croissant_document(report, release, location)
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def croissant_document(
    report: TransparencyReport, release: ReleaseFolder, location: str
) -> dict[str, Any]:
    """The Croissant JSON-LD of a release and its report; `location` prefixes each file name
    in `contentUrl` (`content_location`)."""
    if report.general.release != release.name:
        scope = (
            f"release {report.general.release!r}"
            if report.general.release is not None
            else "the whole ledger"
        )
        raise InputError(f"the report is of {scope}, the folder holds release {release.name!r}")
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "name": report.general.stated.dataset,
        "description": _description(report, release),
        "conformsTo": list(CONFORMS_TO),
        "citeAs": _citation(release),
        "datePublished": release.created,
        "distribution": _distribution(release, location),
        "recordSet": [_record_set(release)],
        "rai:dataCollection": _collection(report),
        "rai:dataCollectionType": _collection_types(report),
        "rai:dataBiases": _biases(report),
        "rai:dataLimitations": _limitations(report),
        "rai:dataAnnotationProtocol": _annotation(report.processing.review),
        "prov:wasGeneratedBy": _provenance(report, release),
        REPORT_PROPERTY: report.model_dump(mode="json"),
    }
    licences = _licences(report.processing.licences)
    if licences:
        document["license"] = licences
    guards = [_guard(step) for step in report.processing.screening.funnel]
    if guards:
        document["rai:machineAnnotationTools"] = guards
    general = report.general
    languages = [
        c.key for c in general.data.languages.languages if _LANGUAGE.fullmatch(c.key) is not None
    ]
    if languages:
        document["inLanguage"] = languages
    if general.stated.provider.name is not None:
        document["publisher"] = {"@type": "sc:Organization", "name": general.stated.provider.name}
    if general.first_record is not None and general.last_record is not None:
        document["rai:dataCollectionTimeFrame"] = [general.first_record, general.last_record]
    return document


def is_croissant(text: str) -> bool:
    """Whether a report file's text is a Croissant description (JSON-LD with a context)."""
    if text.lstrip()[:1] != "{":
        return False
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and "@context" in data


def embedded_croissant_report(text: str) -> TransparencyReport:
    """The report a Croissant description carries; InputError when it has none."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"the Croissant description is not JSON: {exc}") from None
    carried = data.get(REPORT_PROPERTY) if isinstance(data, dict) else None
    if carried is None:
        raise InputError(f"the Croissant description carries no report ({REPORT_PROPERTY})")
    try:
        return TransparencyReport.model_validate(carried)
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise InputError(f"the report in the Croissant description is not valid: {first}") from None


def parquet_columns(path: Path) -> tuple[tuple[Column, ...], tuple[str, ...]]:
    """The columns of a Parquet file as Croissant types them, and the names of those (or
    their parts) nested too deep to describe."""
    try:
        parquet = importlib.import_module("pyarrow.parquet")
    except ImportError as exc:
        raise InputError(
            "describing a release reads its Parquet schema, which needs the parquet extra: "
            "pip install 'synthguard[parquet]'"
        ) from exc
    try:
        with open_regular(path) as file:
            schema = parquet.read_schema(file)
    except FileNotFoundError as exc:
        raise InputError(f"{path.name}: missing from the release") from exc
    except OSError as exc:
        raise InputError(f"{path.name}: cannot read it: {exc.strerror or exc}") from exc
    except ValueError as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(f"{path.name}: not a Parquet file: {exc}") from exc
    types = importlib.import_module("pyarrow").types
    columns: list[Column] = []
    left_out: list[str] = []
    for field in schema:
        column = _column(types, field.name, field.type, left_out)
        if column is not None:
            columns.append(column)
    return tuple(columns), tuple(left_out)


def _column(types: Any, name: str, kind: Any, left_out: list[str]) -> Column | None:
    """A top-level column: a scalar, a list of scalars, an object of scalars or a list of
    objects of scalars. Deeper nesting is left out: Croissant loaders flatten it wrongly."""
    is_array = bool(types.is_list(kind) or types.is_large_list(kind))
    item = kind.value_type if is_array else kind
    if types.is_struct(item):
        parts: list[Column] = []
        for index in range(item.num_fields):
            part = item.field(index)
            scalar = _scalar(types, part.type)
            if scalar is None or _JSON_PATH_NAME.fullmatch(part.name) is None:
                left_out.append(f"{name}.{part.name}")
            else:
                parts.append(Column(part.name, scalar))
        if not parts:
            left_out.append(name)
            return None
        return Column(name, None, is_array, tuple(parts))
    scalar = _scalar(types, item)
    if scalar is None:
        left_out.append(name)
        return None
    return Column(name, scalar, is_array)


def _scalar(types: Any, kind: Any) -> str | None:
    if types.is_boolean(kind):
        return "sc:Boolean"
    if types.is_integer(kind):
        return "sc:Integer"
    if types.is_floating(kind):
        return "sc:Float"
    # A column that is null in every row has no type to tell: text is what it would hold.
    if types.is_string(kind) or types.is_large_string(kind) or types.is_null(kind):
        return "sc:Text"
    return None


def _manifest(out: Path) -> tuple[bytes, Statement]:
    """A release folder's manifest bytes and Statement, signed by a key the release carries."""
    if not out.is_dir():
        raise InputError(f"{out} is not a release folder")
    try:
        data = read_manifest(out / MANIFEST_FILE)
    except FileNotFoundError as exc:
        raise InputError(f"{out} is not a release folder (no {MANIFEST_FILE})") from exc
    except OSError as exc:
        raise InputError(f"{MANIFEST_FILE}: cannot read it: {exc.strerror or exc}") from exc
    with BundleReader(out / BUNDLE_FILE) as bundle:
        carried = bundle.header.keys
    statement, _ = manifest_statement(data, carried)
    return data, statement


def _release_file(path: Path) -> ReleaseFile:
    try:
        sha256 = file_digest(path)
    except FileNotFoundError as exc:
        raise VerificationError(f"{path.name}: missing from the release") from exc
    except OSError as exc:
        raise InputError(f"{path.name}: cannot read it: {exc.strerror or exc}") from exc
    return ReleaseFile(path.name, sha256, os.lstat(path).st_size)


def _description(report: TransparencyReport, release: ReleaseFolder) -> str:
    general = report.general
    synthetic = report.sources.synthetic
    return (
        f"Release {release.name} of the synthguard ledger {general.checkpoint.origin}: "
        f"{plural(general.samples, 'sample')}, {percent(synthetic.share)} synthetic, each "
        "with a signed lineage in the ledger. The figures here are "
        "computed from the ledger's signed records up to its checkpoint at size "
        f"{general.checkpoint.size} (root {general.checkpoint.root_hash}); the whole "
        "transparency report (the EU AI Act template for the public summary of training "
        f"content) is embedded as {REPORT_PROPERTY}."
    )


def _citation(release: ReleaseFolder) -> str:
    key = re.sub(r"[^A-Za-z0-9_.-]", "-", release.name)
    title = release.name.replace("{", "(").replace("}", ")")
    return (
        f"@misc{{{key}, title = {{{title}: a synthguard release}}, "
        f"note = {{release manifest {release.manifest_digest}}}, year = {{{release.created[:4]}}}}}"
    )


def _distribution(release: ReleaseFolder, location: str) -> list[dict[str, Any]]:
    described = {name: (encoding, text) for name, encoding, text in _FILES}
    return [
        {
            "@type": "cr:FileObject",
            "@id": file.name,
            "name": file.name,
            "description": described[file.name][1],
            "contentUrl": location + file.name,
            "contentSize": f"{file.size} B",
            "encodingFormat": described[file.name][0],
            "sha256": file.sha256,
        }
        for file in release.files
    ]


def _record_set(release: ReleaseFolder) -> dict[str, Any]:
    roles = {column: target for target, column in release.fields.items()}
    text = (
        f"The {plural(release.samples, 'released sample')}, one record per row of {PARQUET_FILE}."
    )
    if release.left_out:
        text += f" Not described (nested too deep): {', '.join(release.left_out)}."
    record_set: dict[str, Any] = {
        "@type": "cr:RecordSet",
        "@id": RECORD_SET,
        "name": RECORD_SET,
        "description": text,
        "field": [_field(column, roles) for column in release.columns],
    }
    keyed = any(c.name == SAMPLE_ID_FIELD and c.data_type == "sc:Text" for c in release.columns)
    if keyed:
        record_set["key"] = {"@id": _field_id(SAMPLE_ID_FIELD)}
    return record_set


def _field_id(name: str, parent: str = RECORD_SET) -> str:
    return f"{parent}/{quote(name, safe='')}"


def _field(column: Column, roles: dict[str, str]) -> dict[str, Any]:
    field_id = _field_id(column.name)
    field: dict[str, Any] = {
        "@type": "cr:Field",
        "@id": field_id,
        "name": column.name,
    }
    role = (
        _SAMPLE_ID_ROLE
        if column.name == SAMPLE_ID_FIELD
        else _ROLES.get(roles.get(column.name, ""))
    )
    if role is not None:
        field["description"] = role
    if column.is_array:
        field["isArray"] = True
        field["arrayShape"] = _ARRAY_SHAPE
    source = {"fileObject": {"@id": PARQUET_FILE}, "extract": {"column": column.name}}
    if column.data_type is not None:
        field["dataType"] = column.data_type
        field["source"] = source
        return field
    field["subField"] = [
        {
            "@type": "cr:Field",
            "@id": _field_id(part.name, field_id),
            "name": part.name,
            "dataType": part.data_type,
            "source": {**source, "transform": {"jsonPath": part.name}},
        }
        for part in column.parts
    ]
    return field


def _licences(licences: Licences) -> list[str | dict[str, Any]]:
    entries: list[str | dict[str, Any]] = []
    for entry in licences.licences:
        spdx = entry.kind in ("open", "copyleft", "non-commercial")
        if spdx and _SPDX_ID.fullmatch(entry.licence):
            entries.append(f"https://spdx.org/licenses/{entry.licence}.html")
            continue
        entries.append(
            {
                "@type": "sc:CreativeWork",
                "name": entry.licence,
                "description": f"{entry.kind}: binds {plural(entry.samples, 'sample')} "
                f"({percent(entry.share)})",
            }
        )
    if licences.unlicensed_samples:
        entries.append(
            {
                "@type": "sc:CreativeWork",
                "name": "no licence recorded",
                "description": f"{plural(licences.unlicensed_samples, 'sample')} carry no "
                "licence or terms of use: all rights reserved by default",
            }
        )
    return entries


def _collection(report: TransparencyReport) -> str:
    sources = report.sources
    synthetic = sources.synthetic
    origins = ", ".join(
        f"{count(c.samples)} {c.key} ({percent(c.share)})" for c in sources.by_origin
    )
    parts = [f"{plural(report.general.samples, 'sample')} by origin: {origins or 'none'}."]
    if synthetic.used:
        made = "; ".join(
            f"{generator_label(g.provider, g.model, g.version)}: {count(g.samples)} "
            f"({percent(g.share)} of synthetic)"
            for g in synthetic.generators
        )
        parts.append(
            f"Synthetic samples ({', '.join(synthetic.modalities) or 'no modality'}) were made "
            f"by {plural(len(synthetic.generators), 'generator model')}: {made}."
        )
    for category, title, _ in _categories(sources):
        if category.used:
            named = ", ".join(c.key for c in category.sources)
            parts.append(f"From {title}: {plural(category.samples, 'sample')} ({named}).")
    parts.append(
        "Every making of a sample (generated, revised, imported) is a signed lineage record in "
        f"the ledger; {BUNDLE_FILE} carries them with the proof that the ledger holds them."
    )
    return " ".join(parts)


def _collection_types(report: TransparencyReport) -> list[str]:
    kinds = ["Synthetic"] if report.sources.synthetic.used else []
    for category, _, kind in _categories(report.sources):
        if category.used and kind not in kinds:
            kinds.append(kind)
    return kinds or ["Others"]


def _categories(sources: DataSources) -> list[tuple[SourceCategory, str, str]]:
    """Each source category but synthetic data: (figures, title, RAI collection type, one of
    the values the RAI specification recommends)."""
    return [
        (sources.public_datasets, "public datasets", "Secondary Data analysis"),
        (sources.licensed, "licensed data", "Secondary Data analysis"),
        (sources.private, "other private data", "Secondary Data analysis"),
        (sources.crawled, "crawled data", "Web Scraping"),
        (sources.user_data, "user data", "User-generated content data"),
        (sources.other, "other sources", "Others"),
    ]


def _biases(report: TransparencyReport) -> list[str]:
    synthetic = report.sources.synthetic
    processing = report.processing
    biases = []
    if synthetic.used:
        mix = ", ".join(
            f"{generator_label(g.provider, g.model, g.version)} {percent(g.share)}"
            for g in synthetic.generators
        )
        biases.append(
            f"{percent(synthetic.share)} of the samples are synthetic (generator mix: {mix}): "
            "they carry the biases of the models that made them."
        )
    if processing.depth:
        bins = ", ".join(
            f"{b.depth}: {count(b.samples)} ({percent(b.share)})" for b in processing.depth
        )
        text = f"Generation depth (0 = human-written): {bins}."
        deep = sum(b.samples for b in processing.depth if b.depth >= 2)
        if deep:
            text += (
                f" {plural(deep, 'sample')} {'was' if deep == 1 else 'were'} made from "
                "synthetic samples (depth 2 or more): "
                "training on them compounds the generators' biases (model collapse)."
            )
        biases.append(text)
    guards = _unique(guard_label(step) for step in processing.screening.funnel)
    if guards:
        biases.append(
            "Selection by screening: only samples that passed every guard, or that a reviewer "
            f"released from quarantine with a signed override, are released ({', '.join(guards)})"
            ", so what the guards flag is under-represented."
        )
    return biases


def _limitations(report: TransparencyReport) -> list[str]:
    screening = report.processing.screening
    licences = report.processing.licences
    review = report.processing.review
    limitations = [
        f"Screening: {count(screening.screened)} of {plural(report.general.samples, 'sample')} "
        f"screened, {count(screening.unscreened)} unscreened; {count(screening.accepted)} "
        f"accepted, {count(screening.released_by_override)} released from quarantine by a "
        "signed override."
    ]
    for step in screening.funnel:
        text = (
            f"Guard {guard_label(step)} {step.version} (config {step.config_digest}): checked "
            f"{count(step.checked)}, kept {count(step.kept)}, quarantined {count(step.quarantined)}"
        )
        if step.by_rule:
            text += " (" + ", ".join(f"{r.key}: {count(r.samples)}" for r in step.by_rule) + ")"
        limitations.append(text + ".")
    dedup = screening.deduplication
    if dedup.checked:
        limitations.append(
            f"Deduplication: {count(dedup.checked)} samples checked against each other and "
            f"earlier ones, {count(dedup.duplicates)} quarantined as copies."
        )
    contamination = screening.decontamination
    if contamination.checked:
        limitations.append(
            f"Decontamination: {count(contamination.checked)} samples checked against the "
            f"protected evaluation sets, {count(contamination.contaminated)} contaminated."
        )
    else:
        limitations.append(
            "No decontamination guard checked these samples: their overlap with evaluation sets "
            "is not known."
        )
    binding = f"Most restrictive licence or terms: {licences.most_restrictive or 'none recorded'}."
    if licences.unknown:
        binding += f" Not classified (read before use): {', '.join(licences.unknown)}."
    if licences.unlicensed_samples:
        binding += (
            f" {plural(licences.unlicensed_samples, 'sample')} carry no licence or terms at all."
        )
    limitations.append(binding)
    if review.error_rate is not None:
        interval = wilson_interval(review.wilson_low, review.wilson_high)
        limitations.append(
            f"Estimated error rate from human review: {percent(review.error_rate)} (95 % Wilson "
            f"interval {interval}, {plural(review.reviewed, 'sample')} reviewed)."
        )
    else:
        limitations.append("No human review: the error rate is not estimated.")
    return limitations


def _annotation(review: Review) -> str:
    if not review.draws:
        return "No human review draw covers these samples."
    draws = "; ".join(
        f"draw {d.draw} (seed {d.seed}, rate {d.rate}, frame {count(d.frame)}, "
        f"{count(d.selected)} selected)"
        for d in review.draws
    )
    return (
        "Human review of a stratified random sample (strata: generator model, or human, by "
        "latest screening outcome; proportional allocation, at least one per stratum), drawn "
        f"with a recorded seed: {draws}. Each reviewer signs a verdict, ok or bad, into the "
        f"ledger. {plural(review.reviewed, 'sample')} of this release reviewed "
        f"({percent(review.review_rate)}): {count(review.ok)} ok, {count(review.bad)} bad, "
        f"{count(len(review.disagreements))} on which reviewers disagree (counted as errors). "
        "Signed quarantine overrides, and verdicts on samples no draw selected, do not count as "
        "review."
    )


def _provenance(report: TransparencyReport, release: ReleaseFolder) -> list[dict[str, Any]]:
    checkpoint = release.checkpoint
    activities: list[dict[str, Any]] = [
        {
            "@type": "prov:Activity",
            "name": f"synthguard release {release.name}",
            "description": "Screened samples released under a signed manifest; each released "
            "sample has a signed `released` record naming it.",
            "prov:endedAtTime": release.created,
            "prov:wasAssociatedWith": {"@type": "prov:SoftwareAgent", "name": "synthguard"},
            "prov:used": {
                "@type": "prov:Entity",
                "name": f"ledger {checkpoint.origin}",
                "description": f"signed checkpoint at size {checkpoint.size}, root "
                f"{checkpoint.root_hash}",
            },
            "prov:generated": {
                "@type": "prov:Entity",
                "name": MANIFEST_FILE,
                "identifier": release.manifest_digest,
                "description": "the signed release manifest",
            },
        }
    ]
    for generator in report.sources.synthetic.generators:
        agent: dict[str, Any] = {"@type": "prov:SoftwareAgent", "name": generator.model}
        if generator.provider is not None:
            agent["provider"] = {"@type": "sc:Organization", "name": generator.provider}
        if generator.version is not None:
            agent["softwareVersion"] = generator.version
        label = generator_label(generator.provider, generator.model, generator.version)
        activities.append(
            {
                "@type": "prov:Activity",
                "name": f"generation by {label}",
                "description": f"{plural(generator.samples, 'synthetic sample')} "
                f"({percent(generator.share)} of synthetic)",
                "prov:wasAssociatedWith": agent,
            }
        )
    return activities


def _guard(step: GuardFunnel) -> str:
    return f"{guard_label(step)} {step.version} (config {step.config_digest})"


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
