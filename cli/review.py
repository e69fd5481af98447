"""`synthguard review`: draw a recorded, reproducible sample for human review; sign verdicts."""

from __future__ import annotations

from typing import TextIO

import click

from synthguard.cli.context import App, pass_app
from synthguard.cli.terminal import echo
from synthguard.ledger.log import resolve_sample_id
from synthguard.ledger.review import Draw, draw_review_sample, record_review
from synthguard.provenance.errors import InputError
from synthguard.provenance.recorder import Recorder


@click.group()
def review() -> None:
    """Human review: a stratified sample to read, and the reviewers' signed verdicts."""


@review.command("sample")
@click.option(
    "--rate",
    type=float,
    required=True,
    help="The fraction of each stratum to draw, in (0, 1], e.g. 0.02 (at least one each).",
)
@click.option(
    "--seed",
    type=int,
    required=True,
    help="The random seed, 0 to 2**53 - 1; with the same ledger it gives the same samples.",
)
@click.option(
    "--ids",
    "ids_file",
    type=click.File("r", encoding="utf-8"),
    help="Draw only from these sample ids, one per line (- for stdin) "
    "[default: every sample generated, revised or imported].",
)
@pass_app
def sample_command(app: App, rate: float, seed: int, ids_file: TextIO | None) -> None:
    """Draw samples for review, stratified by generator and guard outcome, and record them.

    The selected ids go to stdout, one per line; the draw (its id, frame and strata) to stderr.
    Each selection is a signed `reviewed` record naming the draw, seed, rate and frame, so the
    draw can be repeated and checked. Drawing again with the same seed over an unchanged
    ledger gives the same draw and records nothing new.
    """
    ids = _read_ids(ids_file) if ids_file is not None else None
    with app.open_ledger(signing=True) as ledger:
        with Recorder(ledger) as recorder:
            draw = draw_review_sample(ledger, recorder, rate=rate, seed=seed, sample_ids=ids)
        if draw.recorded:
            ledger.checkpoint()
    for sample_id in draw.selected:
        echo(sample_id)
    echo(_summary(draw), err=True)


@review.command("record")
@click.argument("sample_id", metavar="ID")
@click.option("--verdict", type=click.Choice(["ok", "bad"]), required=True)
@click.option("--reviewer", required=True, metavar="NAME", help="Who reviewed the sample.")
@click.option("--note", default=None, help="What the reviewer saw (kept in the signed record).")
@pass_app
def record_command(app: App, sample_id: str, verdict: str, reviewer: str, note: str | None) -> None:
    """Sign a reviewer's verdict on sample ID (a full id or a unique prefix)."""
    with app.open_ledger(signing=True) as ledger:
        full_id = resolve_sample_id(ledger, sample_id)
        with Recorder(ledger) as recorder:
            record = record_review(ledger, recorder, full_id, verdict, reviewer, note)
        ledger.checkpoint()
    echo(f"{verdict}: {record.sample_id} by {reviewer} (signed by {record.signer})")


def _summary(draw: Draw) -> str:
    selected = sum(len(stratum.selected) for stratum in draw.strata)
    width = max(len("STRATUM"), *(len(stratum.name) for stratum in draw.strata))
    lines = [
        f"draw {draw.draw}",
        f"seed {draw.seed}, rate {draw.rate:g}: {selected} of {draw.frame} samples "
        f"in {len(draw.strata)} {'stratum' if len(draw.strata) == 1 else 'strata'}",
        f"  {'STRATUM':<{width}}  {'SAMPLES':>8}  {'SELECTED':>8}",
    ]
    lines.extend(
        f"  {stratum.name:<{width}}  {stratum.samples:>8}  {len(stratum.selected):>8}"
        for stratum in draw.strata
    )
    if draw.recorded == selected:
        lines.append(f"recorded {selected} signed selection records")
    elif draw.recorded:
        lines.append(
            f"recorded {draw.recorded} signed selection records (the ledger held the rest "
            "of this draw already)"
        )
    else:
        lines.append("the ledger holds this draw already: nothing new recorded")
    return "\n".join(lines)


_ID_LINE = 256
"""Longer than any sample id (`sha256:` and 64 hex digits): a line this long is no id, and
reading on would let a file with no newline (/dev/zero) fill the memory."""


def _read_ids(ids_file: TextIO) -> list[str]:
    """The non-blank lines of an ids file, stripped; InputError at one that cannot be an id."""
    ids: list[str] = []
    number = 0
    try:
        while line := ids_file.readline(_ID_LINE):
            number += 1
            if len(line) >= _ID_LINE and not line.endswith("\n"):
                raise InputError(
                    f"{ids_file.name}: line {number} is longer than {_ID_LINE} characters: "
                    "not a sample id"
                )
            if line.strip():
                ids.append(line.strip())
    except UnicodeDecodeError as exc:
        raise InputError(f"{ids_file.name}: not UTF-8 text: {exc.reason}") from None
    return ids
