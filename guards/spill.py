"""A screen's rows on disk while it runs: appended a block at a time, read back in order.

The screen keeps a block of rows in memory, never the input: each screened block is pickled
to a private file and read back, block by block, by the passes that follow (the dataset-level
verdicts, the outputs, the signed records). The file is the process's own scratch space, in a
folder only its user may enter (`mkdtemp`'s mode 0700: the rows may hold personal data, and a
pickle is code to whoever can write it), written and read by this process alone, and deleted
when the screen ends. Should the process die first, its folder (named
`.synthguard-spill-HOST-PID-*`) is removed by the next spill made in the same place on the same
host, once no process of that number runs any more.

It goes beside the outputs rather than in the system's temporary folder, which is often a
RAM-backed tmpfs: there it would hold the whole input in memory after all.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from synthguard.guards.errors import GuardError
from synthguard.provenance.gc_pause import collection_paused
from synthguard.provenance.named_file import writing

PICKLED_TOGETHER = 4096
"""Items pickled as one block: few enough to hold, many enough that pickle's per-call costs
and its memo (a guard's description, shared by its verdicts, is written once) pay."""


class Spill:
    """An append-only file of pickled items: `add` them, `seal`, then iterate them (as often
    as needed, each iteration reading the file from its start, a block in memory at a time)."""

    def __init__(self, folder: Path | None = None) -> None:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            _sweep(folder)
        self._dir = tempfile.TemporaryDirectory(prefix=_prefix(os.getpid()), dir=folder)
        self.path = Path(self._dir.name) / "blocks.pickle"
        self._out = self.path.open("wb")
        self._block: list[Any] = []
        self._deleted = False
        self.items = 0

    @classmethod
    def of(cls, items: Iterable[Any], folder: Path | None = None) -> Spill:
        """A sealed spill of `items`; nothing is left on disk if reading them fails."""
        spill = cls(folder)
        try:
            for item in items:
                spill.add(item)
            spill.seal()
        except BaseException:
            spill.close()
            raise
        return spill

    def add(self, item: Any) -> None:
        """Add an item after those already added."""
        self._block.append(item)
        self.items += 1
        if len(self._block) == PICKLED_TOGETHER:
            self._write()

    def seal(self) -> None:
        """No more items: the file is complete and can be read."""
        self._write()
        with writing(self.path):
            self._out.close()

    def _write(self) -> None:
        if self._block:
            with writing(self.path):
                pickle.dump(self._block, self._out, protocol=pickle.HIGHEST_PROTOCOL)
            self._block = []

    def __iter__(self) -> Iterator[Any]:
        if self._deleted:
            raise GuardError("these rows were deleted when their screen was closed")
        if not self._out.closed:
            raise GuardError("a spill is read only once it is sealed")
        with self.path.open("rb") as source:
            while True:
                try:
                    with collection_paused():
                        block = pickle.load(source)
                except EOFError:
                    return
                yield from block

    def close(self) -> None:
        """Delete the file."""
        self._out.close()
        self._dir.cleanup()
        self._deleted = True


def _prefix(pid: int) -> str:
    return f"{_SPILL}{_host()}-{pid}-"


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


_SPILL = ".synthguard-spill-"


def _sweep(folder: Path) -> None:
    """Remove the spill folders in `folder` that dead processes of this host left: this
    user's own, named by a process number that no longer runs. A folder of another host, of a
    process still running (or of a new one that took its number), or of another user stays."""
    mine = re.compile(re.escape(f"{_SPILL}{_host()}-") + r"([0-9]+)-.*")
    for entry in folder.glob(f"{_SPILL}*"):
        found = mine.fullmatch(entry.name)
        if found is None or int(found[1]) == os.getpid():
            continue
        try:
            status = entry.lstat()
            if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid():
                continue
            os.kill(int(found[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue  # gone already, or a live process of another user
