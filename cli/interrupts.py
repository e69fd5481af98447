"""Ctrl-C while modules import: held until they are done, then the command's one line and 130.

Python raises KeyboardInterrupt wherever the interpreter is when it checks for signals, and
during an import that can be a weakref callback of the import lock, where an exception is
printed as "Exception ignored" and lost: the command then ran on as if never interrupted (or
pydantic, building a model, turned it into a traceback of its own). The console script
(`synthguard.cli.entry`) and the lazy loading of a command's module import inside
`interrupts_deferred`. Only the standard library here: this runs before anything else loads.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold a Ctrl-C that comes inside the block until it ends, then stop with status 130.

    Where Python's own handler is in place (not where Ctrl-C is ignored, and on the main
    thread), this one only notes the signal; leaving the block puts Python's back and honours
    the note.
    """
    if (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        or threading.current_thread() is not threading.main_thread()
    ):
        # Ignored, or run on a thread (a library caller's), where no handler can be set.
        yield
        return
    noted: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        noted.append(signum)

    signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if noted:
        from synthguard.cli.terminal import interrupted

        raise interrupted()
