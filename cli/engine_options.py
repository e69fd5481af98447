"""`--workers N` and `--scheduler ADDRESS`, the options of every command that can run its work on
an engine (`synthguard.provenance.engine`), and the engine they ask for."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import click

from synthguard.provenance.engine import Engine, open_engine

F = TypeVar("F", bound=Callable[..., object])

MAX_WORKERS = 1024
"""More local worker processes than any one machine runs well: a larger number is a typo (Dask
would build its cluster's tables for every one asked for, out of memory)."""


def engine_options(work: str, default: str, scheduler_note: str = "") -> Callable[[F], F]:
    """The two options, saying what `work` runs where ("Check the entries"), what runs without
    them (`default`), and what a remote cluster's workers need (`scheduler_note`)."""

    def decorate(command: F) -> F:
        command = click.option(
            "--scheduler",
            metavar="ADDRESS",
            help=f"{work} on the Dask cluster whose scheduler listens at ADDRESS "
            f"(tcp://host:8786){scheduler_note}.",
        )(command)
        return click.option(
            "--workers",
            type=click.IntRange(min=1, max=MAX_WORKERS),
            metavar="N",
            help=f"{work} on a local Dask cluster of N worker processes (the `dask` extra) "
            f"[default: {default}].",
        )(command)

    return decorate


@contextmanager
def engine_for(
    workers: int | None,
    scheduler: str | None,
    default: Callable[[], Engine | None] = lambda: None,
) -> Iterator[Engine | None]:
    """The engine the options ask for (neither given: `default()`, None for this process),
    closed when the block ends."""
    asked = workers is not None or scheduler is not None
    engine = open_engine(workers, scheduler) if asked else default()
    if engine is None:
        yield None
        return
    try:
        yield engine
    finally:
        engine.close()
