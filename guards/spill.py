"""A screen's rows on disk while it runs: appended a block at a time, read back in order.

The screen keeps a block of rows in memory, never the input: each screened block is pickled
to a private file and read back, block by block, by the passes that follow (the dataset-level
verdicts, the outputs, the signed records). The file is the process's own scratch space,
written and read by this process alone, and deleted when the screen ends (or, should the
process die, left in a folder named `.synthguard-spill-*` that nothing reads again).

It goes beside the outputs rather than in the system's temporary folder, which is often a
RAM-backed tmpfs: there it would hold the whole input in memory after all.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from synthguard.guards.errors import GuardError


class Spill:
    """An append-only file of pickled blocks: `append` blocks, `seal`, then iterate the items
    (as often as needed, each iteration reading the file from its start)."""

    def __init__(self, folder: Path | None = None) -> None:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self._dir = tempfile.TemporaryDirectory(prefix=".synthguard-spill-", dir=folder)
        self.path = Path(self._dir.name) / "blocks.pickle"
        self._out = self.path.open("wb")
        self._deleted = False
        self.items = 0

    def append(self, block: list[Any]) -> None:
        """Add a block of items after those already written."""
        pickle.dump(block, self._out, protocol=pickle.HIGHEST_PROTOCOL)
        self.items += len(block)

    def seal(self) -> None:
        """No more blocks: the file is complete and can be read."""
        self._out.close()

    def __iter__(self) -> Iterator[Any]:
        if self._deleted:
            raise GuardError("these rows were deleted when their screen was closed")
        if not self._out.closed:
            raise GuardError("a spill is read only once it is sealed")
        with self.path.open("rb") as source:
            while True:
                try:
                    block = pickle.load(source)
                except EOFError:
                    return
                yield from block

    def close(self) -> None:
        """Delete the file."""
        self._out.close()
        self._dir.cleanup()
        self._deleted = True
