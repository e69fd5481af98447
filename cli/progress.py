"""A progress bar on stderr for long runs; silent in pipes and for small jobs."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

Tick = Callable[[int], None]

# Below this many items a run takes a second or two: a bar would only flicker.
SHOW_FROM = 5000


def _ignore(_advance: int) -> None:
    return None


@contextmanager
def progress_bar(count: Callable[[], int | None], label: str) -> Iterator[Tick]:
    """Yield a function that advances a bar by its argument; `count()` gives the total.

    `count` is only called when a bar could be shown, so a costly count is skipped in pipes.
    """
    total = count() if sys.stderr.isatty() else None
    if total is None or total < SHOW_FROM:
        yield _ignore
        return
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)

        def tick(advance: int) -> None:
            bar.advance(task, advance)

        yield tick
