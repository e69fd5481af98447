"""The `synthguard` command: global options, error reporting, and the command list.

Every SynthguardError ends as one line on stderr and its exit code (1: verification failed,
2: usage or input); anything unexpected is one line and exit 2, with the traceback on --debug.
"""

from __future__ import annotations

import errno
import importlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import IO, Any

import click

from synthguard.cli.context import App
from synthguard.cli.errors import PROG, report, single_line
from synthguard.cli.interrupts import interrupts_deferred
from synthguard.ledger.home import DB_ENV, Home
from synthguard.ledger.home_paths import HOME_ENV

COMMANDS = {
    "init": "init:init",
    "join": "init:join",
    "keys": "keys:keys",
    "record": "record:record",
    "ledger": "ledger:ledger",
    "verify": "verify:verify",
    "lineage": "lineage:lineage",
    "schema": "schema:schema",
    "demo": "demo:demo",
    "screen": "screen:screen",
    "quarantine": "screen:quarantine",
    "release": "release:release",
    "review": "review:review",
    "report": "reports:report",
    "audit": "reports:audit",
}
"""Each command and where it lives (`synthguard.cli.<module>:<name>`), imported when it runs: a
command pays for its own imports only (`record` and `verify` never load the guards)."""


class UsageLine(click.UsageError):
    """A usage error (a missing argument, an unknown option or command, a bad value) told as
    one line like every other error, with where the help is, instead of click's usage block."""

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(error.format_message(), error.ctx)

    def show(self, file: IO[Any] | None = None) -> None:
        # The command's path under the program's own name (a test runner calls it otherwise).
        path = self.ctx.command_path.split()[1:] if self.ctx is not None else []
        where = " ".join([PROG, *path])
        message = single_line(self.format_message()).rstrip(".")
        click.echo(f"{PROG}: error: {message} (see '{where} --help')", file=file, err=True)


# A lost database connection: the drivers log what they ignore while they close it (psycopg's
# "error ignored terminating ...", SQLAlchemy's pool "Exception during reset or similar"), with
# tracebacks, before the command's own one line says what went wrong. A handler of their own
# keeps Python's last-resort handler from printing them; --debug shows them (`cli`).
for _driver in ("psycopg", "sqlalchemy.pool"):
    logging.getLogger(_driver).addHandler(logging.NullHandler())

# A group or command given no arguments shows its help (click 8.2 on raises this for it).
_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _one_line(error: click.UsageError) -> click.UsageError:
    return error if isinstance(error, _HELP) else UsageLine(error)


class SynthguardGroup(click.Group):
    """The top-level group; it turns errors from any command into one line and an exit code,
    and imports a command's module only when that command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        module, name = where.split(":")
        # Click would say "Aborted!" and exit 1 on a Ctrl-C here: the deferral says what every
        # command says instead.
        with interrupts_deferred():
            loaded = importlib.import_module(f"synthguard.cli.{module}")
        command = getattr(loaded, name)
        assert isinstance(command, click.Command)
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for arg in args:
            if not arg.isascii():
                try:
                    arg.encode("utf-8")
                except UnicodeEncodeError:
                    # Bytes that are no UTF-8 reach Python as lone surrogates: nothing signed,
                    # written or looked up could hold them.
                    raw = arg.encode("utf-8", "surrogateescape")
                    shown = raw.decode("utf-8", "backslashreplace")[:80]
                    raise UsageLine(
                        click.UsageError(f"argument '{shown}' is not valid UTF-8", ctx)
                    ) from None
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line(exc) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                ctx.exit(_reader_gone())
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

    Exit codes: 0 ok, 1 verification failed, 2 usage or input error (141: stdout's reader
    went away).
    The signing key's passphrase comes from $SYNTHGUARD_PASSPHRASE, else a prompt.
    """
    if debug:
        logging.basicConfig(level=logging.WARNING)
    ctx.obj = App(Home.locate(home), db=db or None)


def _reader_gone() -> int:
    """The reader of stdout went away (`synthguard ledger export | head`): stop quietly with
    the status of a command a SIGPIPE ended (141 in a shell), not 1, which means "verification
    failed"; stdout goes to /dev/null, so that flushing it at exit cannot fail again."""
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, sys.stdout.fileno())
    finally:
        os.close(null)
    return 128 + signal.SIGPIPE


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="synthguard")
