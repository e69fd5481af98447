"""What a writer last signed, kept outside the database.

A database alone can be rolled back, cut off or rewritten by anyone who can write to it, and
the tree state it stores (leaf hashes, checkpoints) is public arithmetic that they can redo. So
each home keeps, beside its keys, the last checkpoint its key signed and the tree frontier
(compact range) behind it. Before a writer signs anything it checks that the database still
holds that tree and extends it (`WriterState.check` in `synthguard.ledger.store`); `verify` run
in the home checks the whole ledger against it.

Two files, both 0600: `checkpoint.note` (the signed note, verbatim: `verify --checkpoint` takes
it) and `checkpoint.json` (the note again, the frontier and the last leaf hash, which the writer
loads). The JSON is the one read back; the note file is for people and other tools.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthguard.ledger.checkpoint import Checkpoint, parse_checkpoint, verify_checkpoint
from synthguard.ledger.merkle import CompactRange
from synthguard.ledger.private_file import write_private
from synthguard.provenance.errors import InputError, VerificationError
from synthguard.provenance.keys import VerifyingKey

NOTE_FILE = "checkpoint.note"
STATE_FILE = "checkpoint.json"


@dataclass(frozen=True, slots=True)
class KeptTree:
    """A tree this writer signed: its checkpoint, its frontier and its last leaf hash."""

    checkpoint: Checkpoint
    compact: CompactRange
    last_leaf: bytes

    @property
    def size(self) -> int:
        """Number of leaves."""
        return self.compact.size


class KeptCheckpoint:
    """The kept checkpoint files of one home."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def note_path(self) -> Path:
        """The signed note file."""
        return self.folder / NOTE_FILE

    @property
    def state_path(self) -> Path:
        """The JSON state file."""
        return self.folder / STATE_FILE

    def note(self) -> str | None:
        """The kept note, verbatim, or None when this home has signed nothing yet."""
        kept = self.load(None)
        return kept.checkpoint.note if kept else None

    def load(self, keys: list[VerifyingKey] | None) -> KeptTree | None:
        """Read the kept tree (None when there is none); with `keys`, check its note's
        signature by one of them. InputError when the files are unreadable or do not agree."""
        try:
            text = self.state_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InputError(f"cannot read {self.state_path}: {exc.strerror or exc}") from exc
        try:
            data: Any = json.loads(text)
            note = data["note"]
            compact = CompactRange.from_dict(data["compact"])
            last_leaf = bytes.fromhex(data["last_leaf"])
            checkpoint = (
                verify_checkpoint(note, keys)[0] if keys is not None else parse_checkpoint(note)
            )
        except (ValueError, KeyError, TypeError, InputError, VerificationError) as exc:
            raise InputError(
                f"{self.state_path} is damaged ({exc}); it holds the last checkpoint this home "
                "signed: restore it from a backup"
            ) from exc
        if checkpoint.size != compact.size or checkpoint.root != compact.root():
            raise InputError(
                f"{self.state_path} is damaged: its frontier does not give its checkpoint's root"
            )
        return KeptTree(checkpoint, compact, last_leaf)

    def save(self, kept: KeptTree) -> None:
        """Replace the kept tree, unless the files already hold a larger one (another process
        of the same home got there first: its tree extends ours)."""
        current = self._size_on_disk()
        if current is not None and current > kept.size:
            return
        state = {
            "note": kept.checkpoint.note,
            "compact": kept.compact.to_dict(),
            "last_leaf": kept.last_leaf.hex(),
        }
        write_private(self.state_path, json.dumps(state).encode("utf-8"))
        write_private(self.note_path, kept.checkpoint.note.encode("utf-8"))

    def _size_on_disk(self) -> int | None:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
            return int(data["compact"]["size"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
