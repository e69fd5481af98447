"""`synthguard report` and `synthguard audit`: the transparency report, and its check."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from synthguard.cli.context import App, pass_app
from synthguard.cli.progress import progress_bar
from synthguard.cli.terminal import echo
from synthguard.cli.verify import checked_index, index_state
from synthguard.ledger.audit import run_audit
from synthguard.ledger.release import read_public_keys
from synthguard.ledger.report import (
    FORMATS,
    RenderContext,
    compute_report,
    release_of_folder,
    stated_by,
)
from synthguard.provenance.errors import InputError, SynthguardError


@click.command(short_help="Write the transparency report (EU template layout).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default="html",
    show_default=True,
    help="; ".join(f"{f.name}: {f.description}" for f in FORMATS.values()) + ".",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
    required=True,
    help="The file to write; `-` writes the report to standard output (not croissant, whose "
    "file names are relative to where it lies).",
)
@click.option(
    "--release",
    "release",
    metavar="NAME|DIR",
    help="Report on one release only: its name, or for croissant its folder.",
)
@click.option(
    "--name",
    metavar="NAME",
    help="The dataset's name [default: the release's name, else the home's folder name].",
)
@click.option("--provider-name", metavar="NAME", help="1.1: the provider [config: provider.name].")
@click.option(
    "--provider-contact", metavar="TEXT", help="1.1: how to reach it [config: provider.contact]."
)
@click.option(
    "--model-name", metavar="NAME", help="1.2: the model trained on the data [config: model.name]."
)
@click.option("--model-version", metavar="TEXT", help="1.2: its version [config: model.version].")
@click.option(
    "--model-dependency",
    "model_dependencies",
    metavar="MODEL",
    multiple=True,
    help="1.2: a model it modifies or fine-tunes; repeat for several [config: model.dependencies].",
)
@pass_app
def report(
    app: App,
    fmt: str,
    out: Path,
    release: str | None,
    name: str | None,
    provider_name: str | None,
    provider_contact: str | None,
    model_name: str | None,
    model_version: str | None,
    model_dependencies: tuple[str, ...],
) -> None:
    """Compute the transparency report from the ledger and write it.

    Every figure comes from the ledger's records up to its current size; the report names
    that checkpoint, so `synthguard audit --report FILE` can recompute it later. The dataset's
    name, the provider and the model are stated, not computed: from the options, else the
    home's config.json (`provider`, `model`).
    """
    _check_stated(
        {
            "--name": name,
            "--provider-name": provider_name,
            "--provider-contact": provider_contact,
            "--model-name": model_name,
            "--model-version": model_version,
        },
        model_dependencies,
    )
    to_stdout = str(out) == "-"
    release_dir = None
    if FORMATS[fmt].describes_release:
        if to_stdout:
            raise InputError(
                f"--format {fmt} needs a file for --out: its file names are relative to it"
            )
        release_dir, release = release_of_folder(release)
    stated = stated_by(
        app.home,
        name or release,
        provider={"name": provider_name, "contact": provider_contact},
        model={
            "name": model_name,
            "version": model_version,
            "dependencies": list(model_dependencies) or None,
        },
    )
    with app.open_ledger() as ledger:
        with progress_bar(ledger.size, "computing") as tick:
            result = compute_report(ledger, release=release, stated=stated, progress=tick)
        text = FORMATS[fmt].render(result, RenderContext(ledger, out, release_dir))
    if to_stdout:
        _write_stdout(text)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write the report to {out}: {exc.strerror or exc}") from exc
    general = result.general
    scope = f"release {general.release}" if general.release else "the whole ledger"
    echo(
        f"wrote {'standard output' if to_stdout else out} ({fmt}): {general.samples} samples "
        f"of {scope}, checkpoint {general.checkpoint.size} entries",
        err=to_stdout,
    )


def _check_stated(options: dict[str, str | None], dependencies: tuple[str, ...]) -> None:
    """A stated field given as an option says something: an empty or blank value (a shell
    variable that was never set) is an error, not a report with a blank provider."""
    named = [*options.items(), *(("--model-dependency", d) for d in dependencies)]
    for option, value in named:
        if value is not None and not value.strip():
            raise InputError(f"{option} is empty: leave it out, or say what it states")


def _write_stdout(text: str) -> None:
    """The report's text on standard output as written to a file, byte for byte, so that it
    can be redirected and audited; to a terminal, escaped as every line the CLI writes."""
    if sys.stdout.isatty():
        echo(text, nl=False)
        return
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()


@click.command(short_help="Verify the ledger and check a report and a release against it.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"A report written by `synthguard report` ({', '.join(FORMATS)}): recompute every figure.",
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
        try:
            index = checked_index(app, ledger, app.root_key())
        except SynthguardError as exc:
            result.add("dedup index", False, str(exc))
        else:
            if index is not None:
                result.add("dedup index", True, f"{index.where.strip()}: {index_state(index)}")
    width = max(len(check.name) for check in result.checks)
    for check in result.checks:
        mark = "ok  " if check.passed else "FAIL"
        # The detail may quote a release's own text, lone surrogates and all (`echo` escapes).
        echo(f"{mark}  {check.name.ljust(width)}  {check.detail}")
    for note in result.notes:
        echo(f"note: {note}")
    failed = sum(not check.passed for check in result.checks)
    if failed:
        echo(f"audit failed: {failed} of {len(result.checks)} checks", err=True)
        raise click.exceptions.Exit(1)
    echo(f"audit passed: {len(result.checks)} checks", err=True)
