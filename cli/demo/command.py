"""The `synthguard demo` command, and what it prints: where everything is, what to try next."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import click

from synthguard.cli import render
from synthguard.cli.demo.run import (
    DEFAULT_DIR,
    DEFAULT_SAMPLES,
    DEMO_PASSPHRASE,
    DemoResult,
    run_demo,
)
from synthguard.cli.passphrase import PASSPHRASE_ENV
from synthguard.cli.terminal import echo
from synthguard.guards.pipeline import Screening
from synthguard.ledger.log import shown_url


@click.command(short_help="Init, record and verify a demo ledger.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DIR,
    show_default=True,
    help="Where to build the demo. A folder from an earlier demo is wiped and rebuilt; any "
    "other non-empty folder is refused.",
)
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=DEFAULT_SAMPLES,
    show_default=True,
    help="How many samples to generate and record.",
)
def demo(directory: Path, samples: int) -> None:
    """Run init, record and verify in a fresh folder, with nothing to configure.

    The key is encrypted under $SYNTHGUARD_PASSPHRASE, else a fixed demo passphrase (printed;
    not a secret). The demo always uses its own SQLite ledger, whatever --db says.
    """
    echo(demo_summary(run_demo(directory, samples)))


def program() -> str:
    """How to call synthguard from here: the plain name when it is on PATH."""
    if shutil.which("synthguard"):
        return "synthguard"
    argv0 = Path(sys.argv[0])
    return str(argv0) if argv0.name == "synthguard" else "synthguard"


def demo_summary(result: DemoResult) -> str:
    """What `synthguard demo` prints: where everything is, and what to try next."""
    prog = program()
    home = shlex.quote(str(result.home))
    kept = shlex.quote(str(result.checkpoint_path))
    secret = (
        f"the demo passphrase {DEMO_PASSPHRASE!r} (not a secret: demo only)"
        if result.demo_passphrase
        else f"${PASSPHRASE_ENV}"
    )
    report = result.report
    tries = [
        (f"{prog} ledger show", "the last entries"),
        (f"{prog} ledger show 1", "one signed record, decoded"),
        (f"{prog} ledger prove 1", "its inclusion proof"),
        (f"{prog} verify --checkpoint {kept}", "and that history before it is intact"),
        (f"{prog} keys export", "the public key: PEM and signed-note vkey"),
        (f"{prog} ledger export > ledger.jsonl", "every entry, one JSON line each"),
        (f"{prog} quarantine list", "what the guards held back, and why"),
        (
            f"{prog} release verify {shlex.quote(str(result.release.out))} "
            f"--key {shlex.quote(str(result.public_key_path))}",
            "check the release as a recipient would",
        ),
        (
            f"{prog} audit --report {shlex.quote(str(result.report_path))} "
            f"--release {shlex.quote(str(result.release.out))}",
            "recompute every figure of the report",
        ),
    ]
    # Comments line up beside the short commands; a long one gets its comment on the next line.
    width = max(len(command) for command, _ in tries if len(command) <= _SHORT_COMMAND)
    events = ", ".join(f"{event} {count}" for event, count in result.events.items())
    lines = [
        f"synthguard demo: recorded {result.samples} samples from the built-in generator "
        "(wrapped with @track) and a critic/reviser pass over a few of them, signed and "
        f"verified: {render.verify_summary(report).splitlines()[0].removeprefix('ok: ')}",
        "",
        f"  records      {result.recorded}: {events}",
        f"  folder       {result.directory}",
        f"  home         {result.home}  (config.json, keys/, the ledger)",
        f"  ledger       {shown_url(result.db_url)}",
        f"  signing key  {result.key_path}",
        f"               {result.key_id}",
        f"               encrypted with {secret}",
        f"  samples      {result.samples_path}  (the generated rows, JSONL)",
        f"  checkpoint   {result.checkpoint_path}  (the latest signed checkpoint, kept outside)",
        f"  screened     {result.screening.accepted_path.parent}  "
        f"({result.screening.result.accepted_count} accepted, "
        f"{result.screening.result.quarantined_count} quarantined, "
        f"{result.screening.recorded} signed verdicts)",
        "               quarantined by rule: "
        + ", ".join(
            f"{count.info.family}/{rule} {n}"
            for count in result.screening.result.funnel
            for rule, n in sorted(count.by_rule.items())
        ),
        "               (dedup/near: the built-in generator's own template rows, where "
        '"capital of Japan" and "capital of Norway" really are near copies)',
        *_redacted(result.screening),
        f"  review       {len(result.draw.selected)} of {result.draw.frame} samples drawn "
        f"(rate {result.draw.rate:g}, seed {result.draw.seed}, stratified); "
        f"{result.reviewed_bad} judged bad by the demo's stand-in reviewer",
        f"  release      {result.release.out}  ({result.release_check.samples} samples, "
        f"manifest signed by the ledger key; verified offline against {result.public_key_path})",
        f"  report       {result.report_path}  (transparency report, EU template layout; "
        "open it in a browser)",
        "",
        "Planted attacks and the guard that caught each:",
        *(
            f"  {name:<24} {', '.join(rules) if rules else 'NOT CAUGHT'}"
            for name, rules in result.planted.items()
        ),
        "",
        "Next, try:",
        f"  export SYNTHGUARD_HOME={home}",
        *(line for command, what in tries for line in _command_lines(command, what, width)),
        *_command_lines(
            f"{prog} lineage {result.lineage_id}",
            "a revision's ancestry: chosen candidate, then its task",
            width,
        ),
    ]
    if result.demo_passphrase:
        lines.append(
            "Commands that sign (record, screen, review, release create, quarantine release, "
            "keys generate|rotate|revoke) need "
            f"{PASSPHRASE_ENV}={shlex.quote(DEMO_PASSPHRASE)}."
        )
    return "\n".join(lines)


_SHORT_COMMAND = 60


def _redacted(screening: Screening) -> list[str]:
    """The line on redacted copies, if the screen made any."""
    redaction = screening.redaction
    if redaction is None or not redaction.made:
        return []
    kinds = ", ".join(f"{kind} {n}" for kind, n in redaction.kinds().items())
    made = redaction.made
    return [
        f"  redacted     {made} {'sample' if made == 1 else 'samples'} held for personal data "
        f"({kinds}) also went out as a redacted copy, signed as a revision of the original"
    ]


def _command_lines(command: str, what: str, width: int) -> list[str]:
    if len(command) <= width:
        return [f"  {command:<{width}}  # {what}"]
    return [f"  {command}", f"  {'':<{width}}  # {what}"]
