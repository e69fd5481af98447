"""The `synthguard` command: global options, error reporting, and the command list.

Every SynthguardError ends as one line on stderr and its exit code (1: verification failed,
2: usage or input); anything unexpected is one line and exit 2, with the traceback on --debug.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import click

from synthguard.cli import (
    demo,
    init,
    keys,
    ledger,
    lineage,
    record,
    release,
    reports,
    review,
    schema,
    screen,
    verify,
)
from synthguard.cli.context import App
from synthguard.cli.errors import report
from synthguard.ledger.home import DB_ENV, HOME_ENV, Home


class SynthguardGroup(click.Group):
    """The top-level group; it turns errors from any command into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # click quiets a closed pipe (`synthguard ledger export | head`)
            ctx.exit(report(exc, debug=bool(ctx.params.get("debug"))))
        except (Exception, KeyboardInterrupt) as exc:
            ctx.exit(report(exc, debug=bool(ctx.params.get("debug"))))


@click.group(cls=SynthguardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"The ledger home folder [default: ${HOME_ENV}, else ./.synthguard].",
)
@click.option(
    "--db",
    envvar=DB_ENV,
    metavar="URL",
    default=None,
    help=f"Ledger database: sqlite:///PATH or postgresql://... [default: ${DB_ENV}, else the "
    "home's config, else a SQLite file in the home].",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="synthguard")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, db: str | None, debug: bool) -> None:
    """Signed lineage for synthetic training data, in an append-only, verifiable ledger.

    Exit codes: 0 ok, 1 verification failed, 2 usage or input error.
    The signing key's passphrase comes from $SYNTHGUARD_PASSPHRASE, else a prompt.
    """
    ctx.obj = App(Home.locate(home), db=db or None)


cli.add_command(init.init)
cli.add_command(keys.keys)
cli.add_command(record.record)
cli.add_command(ledger.ledger)
cli.add_command(verify.verify)
cli.add_command(lineage.lineage)
cli.add_command(schema.schema)
cli.add_command(demo.demo)
cli.add_command(screen.screen)
cli.add_command(screen.quarantine)
cli.add_command(release.release)
cli.add_command(review.review)
cli.add_command(reports.report)
cli.add_command(reports.audit)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="synthguard")
