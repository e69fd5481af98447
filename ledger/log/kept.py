"""What a writer last signed, kept outside the database.

A database alone can be rolled back, cut off or rewritten by anyone who can write to it, and
the tree state it stores (leaf hashes, checkpoints) is public arithmetic that they can redo. So
each home keeps, beside its keys, the last checkpoint its key signed and the tree frontier
(compact range) behind it. Before a writer signs anything it checks that the database still
holds that tree and extends it (`WriterState.check` in `synthguard.ledger.log.store`); `verify` run
in the home checks the whole ledger against it.

Three files, all 0600. `checkpoint.a.json` and `checkpoint.b.json` are two slots, written in
turn and in place (a rename per batch cost a quarter of a millisecond on ext4, more than the
batch itself): each holds the note, the tree's frontier and its last leaf hash, and a checksum,
so that a write torn by a crash leaves the other slot to read; the larger valid tree wins.
`checkpoint.note` is the latest note verbatim (`verify --checkpoint` takes it), written when a
handle checkpoints or closes.

Removing these files must not let a rollback through: a home whose note is there but whose
slots are not, or whose key signed a bound entry of the ledger (payload version 2: written by
code that keeps these files) while none of them is there, refuses to sign and fails `verify`
(`GONE_ADVICE`). Only a home from before kept checkpoints, or one that never signed, starts
from the database's tree (trust on first use of its signed checkpoint).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthguard.ledger.home_paths import key_file
from synthguard.ledger.log.checkpoint import Checkpoint, parse_checkpoint, verify_checkpoint
from synthguard.ledger.log.merkle import CompactRange
from synthguard.ledger.log.private_file import FILE_MODE, write_private
from synthguard.provenance.errors import InputError, VerificationError
from synthguard.provenance.keys import VerifyingKey
from synthguard.provenance.named_file import read_home_file

NOTE_FILE = "checkpoint.note"
SLOT_FILES = ("checkpoint.a.json", "checkpoint.b.json")
KEPT_FILES = (*SLOT_FILES, NOTE_FILE)
SLOT_MAX_BYTES = 1 << 20
"""A slot holds a note, at most 64 hashes of a frontier and a leaf hash: a few KB."""
GONE_ADVICE = (
    "the database may have been rolled back and the files removed to hide it; restore them "
    "from a backup, or check the ledger against a checkpoint kept elsewhere and keep its tree "
    "again (`synthguard ledger rekeep --checkpoint FILE`)"
)


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
        self._next = 0  # the slot the next save writes
        self._stems: frozenset[str] | None = None

    @property
    def note_path(self) -> Path:
        """The signed note file."""
        return self.folder / NOTE_FILE

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file this keeps."""
        return (*(self.folder / name for name in SLOT_FILES), self.note_path)

    def note(self) -> str | None:
        """The kept note, verbatim, or None when this home has signed nothing yet."""
        kept = self.load(None)
        return kept.checkpoint.note if kept else None

    def load(self, keys: list[VerifyingKey] | None) -> KeptTree | None:
        """Read the kept tree, the larger of the two slots that read whole (None when there
        is none); with `keys`, check its note's signature by one of them. InputError when
        slots exist but none reads whole, when a slot is no regular file or too large (no torn
        write makes either), or when the note's path is a folder, which a save could not
        replace (checked here, before a writer signs: the save comes after its appends)."""
        note = self.note_path
        if note.is_dir() and not note.is_symlink():
            raise InputError(
                f"{note} is a folder, not the file where this home keeps the last checkpoint "
                "it signed: move it aside"
            )
        found: list[tuple[int, KeptTree]] = []
        problems: list[str] = []
        for slot, name in enumerate(SLOT_FILES):
            path = self.folder / name
            raw = read_home_file(path, "kept checkpoint", SLOT_MAX_BYTES)
            if raw is None:
                continue
            try:
                found.append((slot, _parse(raw, keys)))
            except (ValueError, KeyError, TypeError, InputError, VerificationError) as exc:
                problems.append(f"{path}: {exc}")
        if not found:
            if problems:
                raise InputError(
                    f"the kept checkpoint of {self.folder} is damaged ({'; '.join(problems)}); "
                    "it holds the last checkpoint this home signed: restore it from a backup"
                )
            if note.is_file():
                # Both are written by every save that writes the note: removed, not unwritten.
                raise VerificationError(
                    f"{self.folder}: the kept checkpoint ({' and '.join(SLOT_FILES)}) is gone "
                    f"while {NOTE_FILE} says this home signed a checkpoint: {GONE_ADVICE}"
                )
            return None
        slot, kept = max(found, key=lambda item: item[1].size)
        self._next = 1 - slot
        return kept

    def holds(self, key_id: str) -> bool:
        """Whether this home keeps the private key of `key_id` (one it signs with)."""
        return key_file(self.folder, key_id).stem in self.key_stems()

    def key_stems(self) -> frozenset[str]:
        """The names (key id prefixes) of the private key files this home keeps, listed once
        per handle."""
        if self._stems is None:
            folder = key_file(self.folder, "").parent
            found = folder.glob("*.key") if folder.is_dir() else ()
            self._stems = frozenset(path.stem for path in found)
        return self._stems

    def save(self, kept: KeptTree, *, note: bool = False) -> None:
        """Write the kept tree into the slot not holding the latest one (and the note file,
        with `note`)."""
        body = json.dumps(
            {
                "note": kept.checkpoint.note,
                "compact": kept.compact.to_dict(),
                "last_leaf": kept.last_leaf.hex(),
            }
        ).encode("utf-8")
        data = body + b"\n" + hashlib.sha256(body).hexdigest().encode("ascii") + b"\n"
        path = self.folder / SLOT_FILES[self._next]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
        finally:
            os.close(fd)
        self._next = 1 - self._next
        if note:
            write_private(self.note_path, kept.checkpoint.note.encode("utf-8"))


def _parse(raw: bytes, keys: list[VerifyingKey] | None) -> KeptTree:
    body, _, rest = raw.partition(b"\n")
    if rest.strip() != hashlib.sha256(body).hexdigest().encode("ascii"):
        raise ValueError("its checksum does not match (a write torn by a crash?)")
    data: Any = json.loads(body)
    note = data["note"]
    compact = CompactRange.from_dict(data["compact"])
    checkpoint = verify_checkpoint(note, keys)[0] if keys is not None else parse_checkpoint(note)
    if checkpoint.size != compact.size or checkpoint.root != compact.root():
        raise ValueError("its frontier does not give its checkpoint's root")
    return KeptTree(checkpoint, compact, bytes.fromhex(data["last_leaf"]))
