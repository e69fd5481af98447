"""`synthguard report` and `synthguard audit`: the transparency report, and its check."""

from __future__ import annotations

from pathlib import Path

import click

from synthguard.cli.context import App, pass_app
from synthguard.cli.progress import progress_bar
from synthguard.ledger.audit import RENDERERS, ReportFormat, run_audit
from synthguard.ledger.dataset_card import render_dataset_card
from synthguard.ledger.figures import compute_report
from synthguard.ledger.release_verify import read_public_keys
from synthguard.ledger.transparency import TransparencyReport
from synthguard.provenance.errors import InputError

FORMATS: dict[str, str] = {
    "html": "one self-contained page with charts",
    "md": "Markdown",
    "json": "the figures as JSON (schema: `synthguard schema report`)",
    "card": "a Hugging Face dataset card (README.md with YAML metadata)",
}


def render(report: TransparencyReport, fmt: str) -> str:
    """The report in one of FORMATS."""
    if fmt == "card":
        return render_dataset_card(report)
    return RENDERERS[_AUDITABLE[fmt]](report)


_AUDITABLE: dict[str, ReportFormat] = {"html": "html", "md": "md", "json": "json"}


@click.command(short_help="Write the transparency report (EU template layout).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default="html",
    show_default=True,
    help="; ".join(f"{name}: {text}" for name, text in FORMATS.items()) + ".",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="The file to write.",
)
@click.option("--release", "release", metavar="NAME", help="Report on one release only.")
@pass_app
def report(app: App, fmt: str, out: Path, release: str | None) -> None:
    """Compute the transparency report from the ledger and write it.

    Every figure comes from the ledger's records up to its current size; the report names
    that checkpoint, so `synthguard audit --report FILE` can recompute it later.
    """
    with app.open_ledger() as ledger, progress_bar(ledger.size, "computing") as tick:
        result = compute_report(ledger, release=release, progress=tick)
    try:
        out.write_text(render(result, fmt), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the report to {out}: {exc.strerror or exc}") from exc
    general = result.general
    scope = f"release {general.release}" if general.release else "the whole ledger"
    click.echo(
        f"wrote {out} ({fmt}): {general.samples} samples of {scope}, "
        f"checkpoint {general.checkpoint.size} entries"
    )


@click.command(short_help="Verify the ledger and check a report and a release against it.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A report written by `synthguard report` (json, html or md): recompute every figure.",
)
@click.option(
    "--release",
    "release_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A release folder: verify it offline and check it against the ledger.",
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The public key (PEM or vkey) that must have signed the release manifest.",
)
@pass_app
def audit(app: App, report_path: Path | None, release_dir: Path | None, key: Path | None) -> None:
    """Run the compliance checks and print a table of them; exit 1 if any fails."""
    trusted = read_public_keys(key) if key is not None else None
    with app.open_ledger() as ledger:
        passes = 2 if report_path is not None else 1
        with progress_bar(lambda: ledger.size() * passes, "auditing") as tick:
            result = run_audit(
                ledger,
                report=report_path,
                release=release_dir,
                trusted=trusted,
                root_key_id=app.root_key(),
                progress=tick,
            )
    width = max(len(check.name) for check in result.checks)
    for check in result.checks:
        mark = "ok  " if check.passed else "FAIL"
        click.echo(f"{mark}  {check.name.ljust(width)}  {check.detail}")
    failed = sum(not check.passed for check in result.checks)
    if failed:
        click.echo(f"audit failed: {failed} of {len(result.checks)} checks", err=True)
        raise click.exceptions.Exit(1)
    click.echo(f"audit passed: {len(result.checks)} checks", err=True)
