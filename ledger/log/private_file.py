"""Files only the home's owner may read: written whole, mode 0600 whatever the umask.

The home (config, keys, the kept checkpoint, the SQLite ledger) is nobody else's business: a
umask of 000 must not make any of it world-readable, and a reader must never see half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

from synthguard.provenance.named_file import writing

FILE_MODE = 0o600
DIR_MODE = 0o700


def make_private_dir(path: Path) -> None:
    """Create `path` (and missing parents) if needed; the folder itself ends up 0700."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` atomically with `data`, mode 0600 (a temporary file renamed over it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        # The mode given to open is masked by the umask, and an old temporary file keeps its own.
        os.fchmod(fd, FILE_MODE)
        view = memoryview(data)
        with writing(path):
            while view:
                view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
