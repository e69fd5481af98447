"""The audit: the ledger verifies, a report's figures are what the ledger gives, a release
agrees with the ledger.

A report, in any format `synthguard report` writes (`report_formats`), carries its own figures;
the audit recomputes them from the same ledger state (the report's checkpoint size, its release,
with what the report states of the dataset, provider and model taken as it is) and compares
figure by figure, then renders the recomputed report in the same format and compares the bytes,
so an edit to a displayed number is caught even when the embedded figures were left alone. A
release is verified offline as a recipient would, its checkpoint must be one the ledger of today
extends, and the ledger's `released` records must name exactly the release's samples.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthguard.ledger.log import (
    Ledger,
    Progress,
    Tree,
    VerifyReport,
    records_by_event,
    verify_ledger,
)
from synthguard.ledger.release import (
    BUNDLE_FILE,
    MANIFEST_FILE,
    BundleReader,
    ReleaseReport,
    encode_hash,
    sample_root,
    verify_release,
)
from synthguard.ledger.report import RenderContext, TransparencyReport, compute_report, detect
from synthguard.provenance.canonical import digest
from synthguard.provenance.errors import InputError, SynthguardError
from synthguard.provenance.keys import VerifyingKey
from synthguard.provenance.named_file import read_named_text
from synthguard.provenance.record import Event

MAX_LISTED = 5
"""Mismatched figures named one by one in a check's detail; the rest are counted."""


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the audit table."""

    name: str
    passed: bool
    detail: str


@dataclass
class Audit:
    """Every check the audit ran, in order."""

    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """The ledger's verification notes (`VerifyReport.notes`): what verifies but an auditor
    should know, such as a cache table edited in the database."""

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(check.passed for check in self.checks)

    def add(self, name: str, passed: bool, detail: str) -> None:
        """Append a check."""
        self.checks.append(Check(name, passed, detail))


def run_audit(
    ledger: Ledger,
    *,
    report: Path | None = None,
    release: Path | None = None,
    trusted: list[VerifyingKey] | None = None,
    root_key_id: str | None = None,
    progress: Progress | None = None,
) -> Audit:
    """Verify the ledger, then recompute `report` and check `release` against it.

    The release is verified offline first, so that the one pass over the ledger also proves
    that the ledger extends the release's checkpoint. `progress` is called with entries done:
    each entry once when verified and, with a report, once more when its figures are
    recomputed.
    """
    audit = Audit()
    offline: ReleaseReport | SynthguardError | None = None
    if release is not None:
        try:
            offline = verify_release(release, trusted=trusted)
        except SynthguardError as exc:
            offline = exc
    note = offline.checkpoint_note if isinstance(offline, ReleaseReport) else None
    verified, kept_error = _verify(ledger, note, root_key_id, progress)
    audit.add(
        "ledger verifies",
        isinstance(verified, VerifyReport),
        f"{verified.size} entries, signatures and tree"
        if isinstance(verified, VerifyReport)
        else verified,
    )
    if isinstance(verified, VerifyReport):
        audit.notes = list(verified.notes)
    if isinstance(offline, ReleaseReport) and release is not None:
        # The report this audit checks may sit in the release folder (a Croissant description
        # must): it is checked here, so it is not noted as unchecked.
        audited = report.resolve() if report is not None else None
        unsigned = [n for n in offline.unsigned if (release / n).resolve() != audited]
        if unsigned:
            audit.notes.append(
                f"the release folder also holds {', '.join(unsigned)}, which its signed "
                "manifest does not list: no part of the release"
            )
    if report is not None:
        tree = verified.tree if isinstance(verified, VerifyReport) else None
        claimed = audit_report(ledger, report, audit, progress, release_dir=release, verified=tree)
        if claimed is not None and isinstance(offline, ReleaseReport):
            _check_report_of_release(claimed, offline, audit)
    if release is not None and offline is not None:
        audit_release(ledger, release, offline, kept_error, audit)
    return audit


def _verify(
    ledger: Ledger, note: str | None, root_key_id: str | None, progress: Progress | None
) -> tuple[VerifyReport | str, str | None]:
    """Verify the ledger, extending `note` when given: (the report or the ledger's error, the
    note's error or None)."""
    try:
        return (
            verify_ledger(ledger, kept_checkpoint=note, root_key_id=root_key_id, progress=progress),
            None,
        )
    except SynthguardError as exc:
        if note is None:
            return str(exc), None
        # Which of the two failed: only on this failure path is the ledger read again.
        try:
            return verify_ledger(ledger, root_key_id=root_key_id), str(exc)
        except SynthguardError as bare:
            return str(bare), "not checked: the ledger itself does not verify"


def audit_report(
    ledger: Ledger,
    path: Path,
    audit: Audit,
    progress: Progress | None = None,
    *,
    release_dir: Path | None = None,
    verified: Tree | None = None,
) -> TransparencyReport | None:
    """Recompute the figures of the report at `path` and compare them, then its rendering
    (`release_dir`: the release folder the audit names, for a format that describes one);
    return the report as it claims, once it is read and of this ledger.
    `verified`: the tree the audit's verification checked; the entries recomputed from must
    have its root (the database could show the verification the signed entries and the
    recomputation others: both the report's root and the recomputed one would be theirs)."""
    text = read_named_text(path, "report")
    fmt = detect(path, text)
    try:
        claimed = fmt.read(text)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from exc
    if fmt.describes_release and release_dir is None:
        raise InputError(f"{path} describes a release ({fmt.name}): give its folder, --release DIR")
    general = claimed.general
    if general.checkpoint.origin != ledger.origin:
        audit.add(
            "report is of this ledger",
            False,
            f"the report is of ledger {general.checkpoint.origin}, not {ledger.origin}",
        )
        return None
    size = general.checkpoint.size
    root = verified.root(size) if verified is not None and 0 <= size <= verified.size else None
    try:
        recomputed = compute_report(
            ledger,
            release=general.release,
            size=size,
            tool_version=general.tool_version,
            stated=general.stated,
            progress=progress,
            root=root,
        )
    except SynthguardError as exc:
        audit.add("report figures recompute", False, str(exc))
        return claimed
    mismatches = list(differences(_plain(claimed), _plain(recomputed)))
    audit.add(
        "report checkpoint",
        claimed.general.checkpoint == recomputed.general.checkpoint,
        f"size {general.checkpoint.size}, root {general.checkpoint.root_hash}"
        if claimed.general.checkpoint == recomputed.general.checkpoint
        else f"the ledger's first {general.checkpoint.size} entries have root "
        f"{recomputed.general.checkpoint.root_hash}, not {general.checkpoint.root_hash}",
    )
    audit.add("report figures", not mismatches, _figures_detail(mismatches))
    held = ledger.size()
    if general.checkpoint.size < held:
        audit.notes.append(
            f"the report covers the ledger's first {general.checkpoint.size} entries; it holds "
            f"{held} now: what was added since is in no figure of this report"
        )
    try:
        rendered = fmt.render(recomputed, RenderContext(ledger, path, release_dir))
    except SynthguardError as exc:  # a release folder it describes that does not check out
        audit.add(f"report text ({fmt.name})", False, str(exc))
        return claimed
    line = _first_different_line(text, rendered)
    audit.add(
        f"report text ({fmt.name})",
        line is None,
        "identical to a fresh rendering of the recomputed figures"
        if line is None
        else f"line {line} differs from a fresh rendering of the recomputed figures",
    )
    return claimed


def _check_report_of_release(
    claimed: TransparencyReport, offline: ReleaseReport, audit: Audit
) -> None:
    """A report that names a release, audited beside a release folder, is of that release."""
    general = claimed.general
    if general.release is None:
        return
    same = general.release == offline.name and general.samples == offline.samples
    audit.add(
        "report is of this release",
        same,
        f"release {offline.name!r}, {offline.samples} samples"
        if same
        else f"the report is of release {general.release!r} ({general.samples} samples), the "
        f"folder holds release {offline.name!r} ({offline.samples} samples)",
    )


def audit_release(
    ledger: Ledger,
    out: Path,
    offline: ReleaseReport | SynthguardError,
    kept_error: str | None,
    audit: Audit,
) -> None:
    """Add the release's checks: its offline verification, its checkpoint in the ledger (as
    `_verify` found it), and the ledger's `released` records against its signed id root."""
    if isinstance(offline, SynthguardError):
        audit.add("release verifies offline", False, str(offline))
        return
    pinned = "" if offline.pinned else " (manifest key not pinned: pass --key)"
    audit.add(
        "release verifies offline",
        True,
        f"{offline.samples} samples, {offline.records} records{pinned}",
    )
    audit.add(
        "release checkpoint in ledger",
        kept_error is None,
        f"the ledger extends the release's checkpoint at size {offline.checkpoint.size}"
        if kept_error is None
        else kept_error,
    )
    recorded = _released_ids(ledger, offline.name, digest((out / MANIFEST_FILE).read_bytes()))
    # The id root was checked against the released rows offline; equal roots, equal sets.
    if encode_hash(sample_root(recorded)) == offline.sample_root:
        audit.add(
            "release recorded in ledger",
            True,
            f"{len(recorded)} `released` records name this manifest",
        )
        return
    with BundleReader(out / BUNDLE_FILE) as bundle:
        released = {proofs.sample_id for _, proofs in bundle.samples()}
    extra, missing = recorded - released, released - recorded
    audit.add(
        "release recorded in ledger",
        False,
        f"{len(missing)} released samples lack a `released` record, {len(extra)} recorded "
        f"samples are not in the release (first: {sorted(missing or extra)[0]})",
    )


def differences(claimed: Any, actual: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Yield (path, claimed, actual) for every leaf value that differs between two JSON trees."""
    if isinstance(claimed, dict) and isinstance(actual, dict):
        for key in sorted(set(claimed) | set(actual)):
            yield from differences(
                claimed.get(key), actual.get(key), f"{path}.{key}" if path else key
            )
    elif isinstance(claimed, list) and isinstance(actual, list) and len(claimed) == len(actual):
        for index, (left, right) in enumerate(zip(claimed, actual, strict=True)):
            yield from differences(left, right, f"{path}[{index}]")
    elif claimed != actual:
        yield path, claimed, actual


def _plain(report: TransparencyReport) -> Any:
    return report.model_dump(mode="json")


def _figures_detail(mismatches: list[tuple[str, Any, Any]]) -> str:
    if not mismatches:
        return (
            "every figure equals its recomputation from the ledger (the dataset, provider and "
            "model as the report states them)"
        )
    named = "; ".join(
        f"{path}: report {json.dumps(claimed)}, ledger {json.dumps(actual)}"
        for path, claimed, actual in mismatches[:MAX_LISTED]
    )
    more = len(mismatches) - MAX_LISTED
    return named + (f"; and {more} more" if more > 0 else "")


def _first_different_line(text: str, rendered: str) -> int | None:
    if text == rendered:
        return None
    for number, (left, right) in enumerate(
        zip(text.splitlines(), rendered.splitlines(), strict=False), 1
    ):
        if left != right:
            return number
    return min(len(text.splitlines()), len(rendered.splitlines())) + 1


def _released_ids(ledger: Ledger, name: str, manifest_digest: str) -> set[str]:
    return {
        entry.record.sample_id
        for entry in records_by_event(ledger, (Event.RELEASED,))
        if entry.record.detail.get("release") == name
        and entry.record.detail.get("manifest") == manifest_digest
    }
