"""Ed25519 signing keys: generation, encrypted storage, key ids and public export forms.

A private key file is JSON: the raw 32-byte seed sealed with ChaCha20-Poly1305 under a key
derived from the passphrase by scrypt (N=2**17, r=8, p=1: 128 MiB and a few tenths of a second,
the OWASP floor; PKCS#8's 2,048 PBKDF2 rounds are far too cheap against a guessing attack). The
public key and key id ride in the clear as associated data, so they cannot be swapped silently.

The scrypt cost is read from the file, so it is bounded both ways before scrypt runs: below, so
that an altered file cannot make guessing cheap; above (N <= 2**20, 128*r*N <= 1 GiB, p <= 16),
so that an altered file cannot make loading take hours or exhaust memory. The ceiling is the
scrypt paper's file-encryption setting (N=2**20, r=8: 1 GiB, a few seconds), 8x today's cost.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from synthguard.provenance.errors import InputError, KeyringError
from synthguard.provenance.named_file import read_home_file, writing

KEY_FILE_FORMAT = "synthguard-key/v1"
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_MAX_N = 2**20
SCRYPT_MAX_MEMORY = 2**30  # bytes: scrypt holds 128*r*N of them at once
SCRYPT_MAX_P = 16
# C2SP signed-note algorithm byte for Ed25519.
_NOTE_ALG_ED25519 = b"\x01"
KEY_FILE_MAX_BYTES = 1 << 16
"""A key file is some 600 bytes: anything past 64 KiB is no key file."""


def key_id_of(public_raw: bytes) -> str:
    """Return the key id: `sha256:` of the raw 32-byte public key."""
    return "sha256:" + hashlib.sha256(public_raw).hexdigest()


class VerifyingKey:
    """An Ed25519 public key with its key id."""

    __slots__ = ("_key", "key_id", "raw")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != 32:
            raise KeyringError(f"an Ed25519 public key is 32 bytes, not {len(raw)}")
        self.raw = raw
        self._key = Ed25519PublicKey.from_public_bytes(raw)
        self.key_id = key_id_of(raw)

    def __reduce__(self) -> tuple[type[VerifyingKey], tuple[bytes]]:
        # Picklable by its raw bytes, so verification can fan out to worker processes.
        return (VerifyingKey, (self.raw,))

    def verify(self, signature: bytes, message: bytes) -> bool:
        """Return whether `signature` is this key's signature of `message`."""
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def pem(self) -> str:
        """Return the key as a SubjectPublicKeyInfo PEM block."""
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def note_key_hash(self, name: str) -> bytes:
        """Return the 4-byte C2SP signed-note key hash of this key under `name`."""
        return hashlib.sha256(name.encode() + b"\n" + _NOTE_ALG_ED25519 + self.raw).digest()[:4]

    def vkey(self, name: str) -> str:
        """Return the C2SP signed-note verifier key line `<name>+<hash>+<base64 key>`."""
        if not name or "+" in name or any(c.isspace() for c in name):
            raise KeyringError(f"a signed-note key name has no '+' or spaces: {name!r}")
        encoded = base64.b64encode(_NOTE_ALG_ED25519 + self.raw).decode("ascii")
        return f"{name}+{self.note_key_hash(name).hex()}+{encoded}"

    @classmethod
    def from_pem(cls, data: bytes) -> VerifyingKey:
        """Load a SubjectPublicKeyInfo PEM Ed25519 public key."""
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError as exc:
            raise KeyringError("not a PEM public key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise KeyringError("the PEM public key is not an Ed25519 key")
        return cls(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    @classmethod
    def from_vkey(cls, line: str) -> tuple[str, VerifyingKey]:
        """Parse a C2SP vkey line into (name, key), checking its key hash."""
        try:
            # Split from the left: a name has no "+", but base64 may.
            name, hash_hex, encoded = line.strip().split("+", 2)
            blob = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise KeyringError("not a signed-note verifier key line") from exc
        if blob[:1] != _NOTE_ALG_ED25519:
            raise KeyringError("the verifier key is not an Ed25519 key")
        key = cls(blob[1:])
        if key.note_key_hash(name).hex() != hash_hex:
            raise KeyringError("the verifier key line's hash does not match its key")
        return name, key


class SigningKey:
    """An Ed25519 private key."""

    __slots__ = ("_key", "public")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public = VerifyingKey(
            key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        )

    @property
    def key_id(self) -> str:
        """The key id of the public half."""
        return self.public.key_id

    @classmethod
    def generate(cls) -> SigningKey:
        """Make a new random key."""
        return cls(Ed25519PrivateKey.generate())

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of `message`."""
        return self._key.sign(message)

    def save(self, path: Path, passphrase: str) -> None:
        """Write the key encrypted under `passphrase` to a new file with mode 0600."""
        if not passphrase:
            raise KeyringError("an empty passphrase cannot protect a signing key")
        seed = self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        salt = secrets.token_bytes(16)
        nonce = secrets.token_bytes(12)
        header = {
            "format": KEY_FILE_FORMAT,
            "key_id": self.key_id,
            "public_key": base64.b64encode(self.public.raw).decode("ascii"),
            "kdf": {
                "name": "scrypt",
                "n": SCRYPT_N,
                "r": SCRYPT_R,
                "p": SCRYPT_P,
                "salt": base64.b64encode(salt).decode("ascii"),
            },
            "cipher": "chacha20-poly1305",
            "nonce": base64.b64encode(nonce).decode("ascii"),
        }
        secret = _derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        sealed = ChaCha20Poly1305(secret).encrypt(nonce, seed, _associated_data(header))
        document = {**header, "ciphertext": base64.b64encode(sealed).decode("ascii")}
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise KeyringError(f"{path} exists already; not overwriting a key") from exc
        with writing(path), os.fdopen(fd, "w", encoding="utf-8") as handle:
            # The mode given to open passes through the umask; say it again, whatever the umask.
            os.fchmod(handle.fileno(), 0o600)
            json.dump(document, handle, indent=2)
            handle.write("\n")

    @classmethod
    def load(cls, path: Path, passphrase: str) -> SigningKey:
        """Read and decrypt a key file; a wrong passphrase or a damaged file is a KeyringError.

        When `unlock_ahead` started on the same file and passphrase, its result (or its error)
        is taken instead of unlocking again."""
        with _AHEAD_LOCK:
            ahead = _AHEAD.pop((str(path.absolute()), passphrase), None)
        if ahead is not None:
            return ahead.result()
        return cls._read(path, passphrase)

    @classmethod
    def _read(cls, path: Path, passphrase: str) -> SigningKey:
        try:
            # A key file is synthguard's own, in the home: a regular file (a FIFO or a link to
            # /dev/zero in its place would hang the command or fill its memory).
            data = read_home_file(path, "key file", KEY_FILE_MAX_BYTES)
        except InputError as exc:
            raise KeyringError(str(exc)) from exc
        if data is None:
            raise KeyringError(f"no key file at {path}")
        try:
            document: Any = json.loads(data.decode("utf-8"))
        except ValueError as exc:
            raise KeyringError(f"{path} is not a synthguard key file") from exc
        try:
            if document["format"] != KEY_FILE_FORMAT or document["kdf"]["name"] != "scrypt":
                raise KeyringError(f"{path} is not a {KEY_FILE_FORMAT} key file")
            kdf = document["kdf"]
            n, r, p = (_cost(path, kdf, name) for name in ("n", "r", "p"))
            _check_cost(path, n, r, p)
            secret = _derive(passphrase, base64.b64decode(kdf["salt"], validate=True), n, r, p)
            header = {k: v for k, v in document.items() if k != "ciphertext"}
            seed = ChaCha20Poly1305(secret).decrypt(
                base64.b64decode(document["nonce"], validate=True),
                base64.b64decode(document["ciphertext"], validate=True),
                _associated_data(header),
            )
        except InvalidTag as exc:
            raise KeyringError(f"wrong passphrase for {path} (or the file was altered)") from exc
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise KeyringError(f"{path} is damaged: not a readable key file") from exc
        key = cls(Ed25519PrivateKey.from_private_bytes(seed))
        if key.key_id != document["key_id"]:
            raise KeyringError(f"{path} is damaged: its key id does not match its key")
        return key


_AHEAD: dict[tuple[str, str], Future[SigningKey]] = {}
_AHEAD_LOCK = threading.Lock()


def unlock_ahead(path: Path, passphrase: str) -> None:
    """Start unlocking the key file at `path` on a background thread, for a later
    `SigningKey.load` of the same file with the same passphrase to take. scrypt releases the
    interpreter's lock, so the unlock (a few tenths of a second) runs beside whatever this
    thread does meanwhile, such as a command's imports. Nothing is checked sooner or later
    than by `load`: its errors are raised by that `load`."""
    future: Future[SigningKey] = Future()

    def unlock() -> None:
        try:
            future.set_result(SigningKey._read(path, passphrase))
        except BaseException as exc:
            future.set_exception(exc)

    with _AHEAD_LOCK:
        _AHEAD[(str(path.absolute()), passphrase)] = future
    # A daemon: a command that ends before it needs the key does not wait for the unlock.
    threading.Thread(target=unlock, name="synthguard-unlock", daemon=True).start()


def _cost(path: Path, kdf: Any, name: str) -> int:
    value = kdf[name]
    # bool is an int to Python, and int() would quietly accept "131072" or truncate 1.5.
    if type(value) is not int:
        raise KeyringError(f"{path} is damaged: its scrypt {name} is not an integer: {value!r}")
    return value


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _check_cost(path: Path, n: int, r: int, p: int) -> None:
    """Refuse scrypt parameters below the floor or above the ceiling, naming the one at fault."""
    if n < SCRYPT_N or r < SCRYPT_R:
        raise KeyringError(
            f"{path} asks for a scrypt cost (n={n}, r={r}) below the accepted floor "
            f"(n={SCRYPT_N}, r={SCRYPT_R})"
        )
    if n & (n - 1):
        raise KeyringError(f"{path} is damaged: its scrypt n={n} is not a power of two")
    if n > SCRYPT_MAX_N:
        raise KeyringError(
            f"{path} asks for scrypt n={n}, above the accepted ceiling n={SCRYPT_MAX_N}"
        )
    memory = 128 * r * n
    if memory > SCRYPT_MAX_MEMORY:
        raise KeyringError(
            f"{path} asks for scrypt r={r}, n={n}: {memory / 2**30:g} GiB of memory, "
            f"above the accepted ceiling of {SCRYPT_MAX_MEMORY // 2**30} GiB"
        )
    if not 1 <= p <= SCRYPT_MAX_P:
        raise KeyringError(
            f"{path} asks for scrypt p={p}, outside the accepted range 1 to {SCRYPT_MAX_P}"
        )


def _associated_data(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
