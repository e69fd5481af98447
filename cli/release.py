"""`synthguard release`: write a signed release of screened samples, and verify one offline."""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path
from typing import Any

import click

from synthguard.cli.context import App, pass_app
from synthguard.cli.engine_options import engine_for, engine_options
from synthguard.cli.progress import progress_bar
from synthguard.cli.terminal import echo
from synthguard.ledger.release import (
    MANIFEST_FILE,
    SCREEN_QUARANTINED,
    Breach,
    BreachRef,
    ReleaseReport,
    ReleaseResult,
    count_bundle_lines,
    create_release,
    read_public_keys,
    verify_release,
)
from synthguard.ledger.report import policy_figures
from synthguard.provenance.errors import InputError
from synthguard.provenance.reader import FORMATS
from synthguard.provenance.sample import FieldMapping


@click.group()
def release() -> None:
    """Signed releases of screened samples that anyone can verify offline."""


@release.command("create", short_help="Release screened samples with a signed manifest.")
@click.argument("name")
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="A `synthguard screen` output folder (its accepted.jsonl), or a JSONL, Parquet or "
    "Hugging Face dataset of the samples to release.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The new folder to write the release into.",
)
@click.option(
    "--justify",
    metavar="TEXT",
    help="Release even though the policy is breached; the breaches and TEXT are signed into "
    "the manifest and the ledger.",
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="TARGET=SOURCE",
    help="Read a sample field from another column, e.g. instruction=prompt.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Input format of a file.")
@pass_app
def create(
    app: App,
    name: str,
    source: Path,
    out: Path,
    justify: str | None,
    fields: tuple[str, ...],
    fmt: str | None,
) -> None:
    """Release the samples of --from as NAME into --out: samples.jsonl, samples.parquet, a
    signed in-toto manifest and the proofs of every sample's records.

    Only samples the ledger shows as screened and accepted (or released from quarantine by a
    signed override) may go out; anything else is refused with its ids, and so is a release
    that breaks the home's policy, unless --justify says why. Each released sample gets a
    signed `released` record.
    """
    policy = _policy(app)
    with app.open_ledger(signing=True) as ledger, progress_bar(ledger.size, "proving") as tick:
        result = create_release(
            ledger,
            name,
            source,
            out,
            policy_config=policy,
            figures=policy_figures(ledger),
            justification=justify,
            mapping=FieldMapping.parse(fields),
            fmt=fmt,
            progress=tick,
        )
    echo(_created(result))


def _policy(app: App) -> dict[str, Any]:
    """The home's policy limits (none without a home: a bare --db)."""
    if not app.home.config_path.exists():
        return {}
    policy = app.home.config().get("policy", {})
    if not isinstance(policy, dict):
        raise InputError(f'{app.home.config_path}: "policy" must be a JSON object')
    return policy


@release.command("verify", short_help="Verify a release offline.")
@click.argument("out", metavar="OUT", type=click.Path(path_type=Path))
@click.option(
    "--key",
    "key_file",
    metavar="PUBKEY",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The publisher's public key (`synthguard keys export`: PEM or vkey line). Without it "
    "the key the release carries is trusted on first use.",
)
@engine_options("Check the samples", "processes forked from this one, one per core")
def verify(out: Path, key_file: Path | None, workers: int | None, scheduler: str | None) -> None:
    """Check a release in OUT offline: the manifest's signature, every file's digest, every
    sample against the proofs and the checkpoint's signature.

    Exit 1 naming the first discrepancy (file, line, sample, entry).
    """
    trusted = read_public_keys(key_file) if key_file is not None else None

    # Counted only as regular files are read: a FIFO or /dev/zero in a hostile folder must
    # fail in verify_release, not hang the progress bar.
    with contextlib.ExitStack() as stack:
        engine = stack.enter_context(engine_for(workers, scheduler))
        tick = stack.enter_context(progress_bar(lambda: count_bundle_lines(out), "verifying"))
        report = verify_release(out, trusted=trusted, progress=tick, engine=engine)
    if not report.pinned:
        echo(
            f"synthguard: warning: signed by {report.signer}, trusted on first use: "
            "pass --key to pin",
            err=True,
        )
    if report.unsigned:
        echo(
            f"synthguard: warning: {out} also holds {', '.join(report.unsigned)}, which the "
            f"signed manifest does not list: do not take {_them(report.unsigned)} for part of "
            "the release",
            err=True,
        )
    echo(_verified(report))


def _created(result: ReleaseResult) -> str:
    predicate = result.statement.predicate
    checkpoint = predicate.checkpoint
    lines = [
        f"released {predicate.name!r}: {predicate.samples.count} samples from {result.source} "
        f"to {result.out}",
        f"  manifest    {result.out / MANIFEST_FILE}  {result.manifest_digest}",
        f"              signed by {result.signer}",
        f"  proven at   {checkpoint.origin} size {checkpoint.size}, root {checkpoint.root_hash}",
        f"  samples     root {predicate.samples.merkle_root} ({predicate.samples.tree})",
        f"  outcomes    {_pairs(predicate.counts.by_outcome)}",
        f"  origins     {_pairs(predicate.counts.by_origin)}",
        f"  ledger      {result.released} released records; checkpoint at {result.checkpoint.size}"
        f", root {base64.b64encode(result.checkpoint.root).decode('ascii')}",
    ]
    if result.overridden:
        lines.append(
            f"  overridden  {result.overridden} of them from {SCREEN_QUARANTINED}, released from "
            "quarantine by a signed override"
        )
    lines.extend(f"  policy      {_describe(breach)} (justified)" for breach in result.breaches)
    return "\n".join(lines)


def _verified(report: ReleaseReport) -> str:
    checkpoint = report.checkpoint
    trust = "pinned key" if report.pinned else "key carried by the release, not pinned"
    # Without --key anyone could have made the folder: the first line, which a reader or a
    # script's log keeps, says so before it says anything checked out.
    verdict = "verified" if report.pinned else "consistent, but with a key nothing pins"
    lines = [
        f"ok: release {report.name!r} {verdict}: {report.samples} samples, {report.records} "
        f"signed records proven into checkpoint {checkpoint.origin} at size {checkpoint.size}",
        f"  manifest    signed by {report.signer} ({trust})",
        f"  files       {', '.join(report.files)}: digests match",
    ]
    if report.revisions:
        line = (
            f"  revisions   {report.revisions} "
            + (
                "sample is a signed revision"
                if report.revisions == 1
                else "samples are signed revisions"
            )
            + " of another sample"
        )
        if report.redactions:
            kinds = ", ".join(f"{kind} {n}" for kind, n in report.redacted.items())
            copies = "copy" if report.redactions == 1 else "copies"
            line += f"; {report.redactions} redacted {copies} ({kinds}), their originals held back"
        lines.append(line)
    lines.extend(
        f"  policy      {_describe(breach)}; justified: {report.justification}"
        for breach in report.breaches
    )
    if report.unsigned:
        lines.append(
            f"  unsigned    {', '.join(report.unsigned)}: in the folder, but not in the signed "
            f"manifest; nothing vouches for {_them(report.unsigned)}"
        )
    return "\n".join(lines)


def _them(names: list[str]) -> str:
    return "it" if len(names) == 1 else "them"


def _describe(breach: BreachRef) -> str:
    return Breach(breach.rule, breach.limit, breach.actual).describe()


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {count}" for key, count in counts.items())
