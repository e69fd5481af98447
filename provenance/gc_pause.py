"""Pausing Python's cyclic garbage collector while a bulk step makes many objects.

Parsing a chunk of rows, reading a block of pickled rows or folding a ledger's records makes
tens of thousands of new objects and no reference cycles. With the collector on, every
allocation threshold it passes starts a collection that walks the young objects again, and
now and then the whole heap, work that frees nothing (measured: a tenth of parsing a chunk,
a third of reading a spilled block). Reference counting still frees everything as it goes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause the cyclic collector, if it runs, for the duration; nesting is harmless."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
