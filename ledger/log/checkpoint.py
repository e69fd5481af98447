"""Checkpoints as C2SP signed notes (c2sp.org/tlog-checkpoint, c2sp.org/signed-note).

Body: `<origin>\\n<size>\\n<base64 root>\\n`; then a blank line and one signature line per
signer: `— <key name> <base64(4-byte key hash || Ed25519 signature)>`. The signature covers the
body bytes exactly. The key name is the ledger origin.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from synthguard.provenance.errors import InputError, VerificationError
from synthguard.provenance.keys import SigningKey, VerifyingKey

_DASH = "\u2014"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A parsed checkpoint: what the tree looked like, and the note it came from."""

    origin: str
    size: int
    root: bytes
    note: str

    @property
    def body(self) -> str:
        """The signed part of the note."""
        return format_body(self.origin, self.size, self.root)


def check_origin(origin: str) -> None:
    """Refuse an origin a signed note cannot carry: it is the note's first line and key name.

    C2SP asks for a non-empty name with no Unicode space and no '+' (the vkey separator); a
    control or other non-printable character would not survive the note's text form either.
    """
    if not origin:
        raise InputError("the ledger origin is empty; a signed note needs a name")
    for char in origin:
        if char in "\n\r\v\f\x85\u2028\u2029":
            problem = "a line break"
        elif char.isspace():
            problem = "a space" if char == " " else f"the whitespace character U+{ord(char):04X}"
        elif char == "+":
            problem = "a '+'"
        elif not char.isprintable():
            problem = f"the non-printable character U+{ord(char):04X}"
        else:
            continue
        raise InputError(
            f"the ledger origin {origin!r} contains {problem}, which a C2SP signed note "
            "cannot carry (use a name like example.com/ledger)"
        )


def format_body(origin: str, size: int, root: bytes) -> str:
    """Return the checkpoint body that gets signed."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"


def sign_checkpoint(origin: str, size: int, root: bytes, key: SigningKey) -> str:
    """Return a signed note for the tree of `size` leaves with `root`."""
    body = format_body(origin, size, root)
    blob = key.public.note_key_hash(origin) + key.sign(body.encode("utf-8"))
    return f"{body}\n{_DASH} {origin} {base64.b64encode(blob).decode('ascii')}\n"


_SIZE = re.compile("[0-9]+")
_SIZE_DIGITS = 20


def parse_checkpoint(note: str) -> Checkpoint:
    """Parse a signed note into a Checkpoint (signatures are checked by `verify_checkpoint`)."""
    body, sep, _ = note.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) < 3:
        raise VerificationError("not a checkpoint: expected origin, size, root and signatures")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    # ASCII digits, at most 20 (a 64-bit count): `isdigit` takes "²", and `int` refuses it
    # and numbers of thousands of digits with a ValueError no reader expects.
    if (
        not _SIZE.fullmatch(size_text)
        or len(size_text) > _SIZE_DIGITS
        or (size_text != "0" and size_text.startswith("0"))
    ):
        shown = (
            size_text if len(size_text) <= 2 * _SIZE_DIGITS else size_text[:_SIZE_DIGITS] + "..."
        )
        raise VerificationError(f"checkpoint size {shown!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as exc:
        raise VerificationError("checkpoint root is not base64") from exc
    if len(root) != 32:
        raise VerificationError("checkpoint root is not a SHA-256 hash")
    return Checkpoint(origin=origin, size=int(size_text), root=root, note=note)


def verify_checkpoint(note: str, keys: Iterable[VerifyingKey]) -> tuple[Checkpoint, str]:
    """Check a note's signature by one of `keys`; return it parsed and the signing key id."""
    checkpoint = parse_checkpoint(note)
    body, _, signatures = note.partition("\n\n")
    try:
        message = (body + "\n").encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate: read from bytes that were no UTF-8, so no key signed this text.
        raise VerificationError("the checkpoint note is not UTF-8 text") from None
    by_hash = {key.note_key_hash(checkpoint.origin): key for key in keys}
    for line in signatures.split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _DASH or parts[1] != checkpoint.origin:
            continue
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            continue
        key = by_hash.get(blob[:4])
        if key is not None and len(blob) == 68 and key.verify(blob[4:], message):
            return checkpoint, key.key_id
    raise VerificationError(
        f"checkpoint at size {checkpoint.size} has no valid signature by a known ledger key"
    )
