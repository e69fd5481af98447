"""The ledger's SQLModel tables.

Only `entries` is covered by the Merkle tree. `checkpoints` are signed on their own; `samples`
holds content outside the tree so it can be erased; `keys` is the writers' cache of what the
key events say, which no command trusts (`Ledger.keys` reads the signed key events). (Ledgers
from before kept checkpoints also hold a `tree_head` table, which nothing reads any more.)
"""

from __future__ import annotations

from sqlalchemy import Column, LargeBinary, Text
from sqlmodel import Field, SQLModel

from synthguard.provenance.errors import VerificationError


class Entry(SQLModel, table=True):
    """One signed envelope at one position of the tree (seq = leaf index)."""

    __tablename__ = "entries"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    envelope: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Only the columns that queries select on are indexed: every index costs each append.
    key_id: str
    payload_type: str
    event: str | None = Field(default=None, index=True)
    sample_id: str | None = Field(default=None, index=True)
    time: str


class CheckpointRow(SQLModel, table=True):
    """A signed checkpoint (C2SP signed note) of the tree at one size."""

    __tablename__ = "checkpoints"

    size: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    root: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    key_id: str
    time: str


class SampleRow(SQLModel, table=True):
    """Sample content by id; deleting a row erases content without touching the tree."""

    __tablename__ = "samples"

    sample_id: str = Field(primary_key=True)
    digest: str
    content: str = Field(sa_column=Column(Text, nullable=False))


class KeyRow(SQLModel, table=True):
    """A public key the ledger has seen, and its status as of the latest key event."""

    __tablename__ = "keys"

    key_id: str = Field(primary_key=True)
    public_key: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    status: str
    added_seq: int
    ended_seq: int | None = None


class LedgerInfo(SQLModel, table=True):
    """Ledger-wide settings fixed at creation (origin, checkpoint interval)."""

    __tablename__ = "ledger_info"

    name: str = Field(primary_key=True)
    value: str


def stored_bytes(value: object, seq: int, column: str) -> bytes:
    """A bytes column of entry `seq` as read back; VerificationError when the database holds
    another type there (no writer stores one: the database was edited)."""
    if type(value) is bytes:
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise wrong_type(seq, column, value, "bytes")


def wrong_type(seq: int, column: str, value: object, expected: str) -> VerificationError:
    """The error for a column of entry `seq` that holds a value of another type."""
    return VerificationError(
        f"entry {seq}: its {column} is stored as {type(value).__name__}, not {expected}: the "
        "database was changed",
        seq=seq,
    )
