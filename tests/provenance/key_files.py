"""Key files written by hand, not by `SigningKey.save`, so that their scrypt cost can be chosen."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from synthguard.provenance.keys import key_id_of


def seal_by_hand(seed: bytes, passphrase: str, *, n: int, r: int, p: int = 1) -> dict[str, Any]:
    """A key file's JSON sealing `seed` under scrypt(n, r, p).

    The header (everything but the ciphertext) is the associated data, as sorted compact JSON.
    """
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    header = {
        "format": "synthguard-key/v1",
        "key_id": key_id_of(raw),
        "public_key": base64.b64encode(raw).decode(),
        "kdf": {"name": "scrypt", "n": n, "r": r, "p": p, "salt": base64.b64encode(salt).decode()},
        "cipher": "chacha20-poly1305",
        "nonce": base64.b64encode(nonce).decode(),
    }
    secret = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())
    associated = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    sealed = ChaCha20Poly1305(secret).encrypt(nonce, seed, associated)
    return {**header, "ciphertext": base64.b64encode(sealed).decode()}
