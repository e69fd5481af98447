from __future__ import annotations

import base64
import hashlib
import json
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import example, given
from hypothesis import strategies as st
from key_files import seal_by_hand

from synthguard.provenance.errors import KeyringError
from synthguard.provenance.keys import SCRYPT_N, SigningKey, VerifyingKey, key_id_of, unlock_ahead

PASSPHRASE = "correct horse battery staple \u00e9"
MESSAGE = b"a message to sign"


@dataclass(frozen=True)
class SavedKey:
    key: SigningKey
    seed: bytes
    path: Path
    text: str


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> SavedKey:
    # One scrypt save for the whole module: each save or load costs a few tenths of a second.
    seed = secrets.token_bytes(32)
    key = SigningKey(Ed25519PrivateKey.from_private_bytes(seed))
    path = tmp_path_factory.mktemp("keys") / "nested" / "signing.key"
    key.save(path, PASSPHRASE)
    return SavedKey(key, seed, path, path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def loaded(saved: SavedKey) -> SigningKey:
    return SigningKey.load(saved.path, PASSPHRASE)


def _write(path: Path, document: Any) -> Path:
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def test_saved_file_is_private_json_with_a_strong_scrypt_cost(saved: SavedKey) -> None:
    assert stat.S_IMODE(saved.path.stat().st_mode) == 0o600
    document = json.loads(saved.text)
    assert document["format"] == "synthguard-key/v1"
    assert document["key_id"] == saved.key.key_id
    assert base64.b64decode(document["public_key"]) == saved.key.public.raw
    assert document["kdf"]["name"] == "scrypt"
    assert document["kdf"]["n"] >= 2**17
    assert document["kdf"]["r"] >= 8
    assert document["cipher"] == "chacha20-poly1305"


def test_saved_file_does_not_hold_the_seed_in_the_clear(saved: SavedKey) -> None:
    for encoded in (saved.seed.hex(), base64.b64encode(saved.seed).decode()):
        assert encoded not in saved.text
    assert saved.seed not in saved.path.read_bytes()


def test_load_returns_the_same_key(saved: SavedKey, loaded: SigningKey) -> None:
    assert loaded.key_id == saved.key.key_id
    assert loaded.public.raw == saved.key.public.raw
    # Ed25519 is deterministic: the same seed gives the same signature.
    assert loaded.sign(MESSAGE) == saved.key.sign(MESSAGE)
    assert saved.key.public.verify(loaded.sign(MESSAGE), MESSAGE)


def test_save_refuses_to_overwrite(saved: SavedKey) -> None:
    with pytest.raises(KeyringError, match="not overwriting"):
        SigningKey.generate().save(saved.path, PASSPHRASE)

    assert saved.path.read_text(encoding="utf-8") == saved.text


def test_save_refuses_an_empty_passphrase(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="empty passphrase"):
        SigningKey.generate().save(tmp_path / "k.key", "")
    assert not (tmp_path / "k.key").exists()


def test_wrong_passphrase_is_a_one_line_keyring_error(saved: SavedKey) -> None:
    with pytest.raises(KeyringError, match="wrong passphrase") as caught:
        SigningKey.load(saved.path, PASSPHRASE + "!")

    assert "\n" not in str(caught.value)
    assert str(saved.path) in str(caught.value)


def test_missing_file_is_a_keyring_error(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="no key file"):
        SigningKey.load(tmp_path / "absent.key", PASSPHRASE)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: text[: len(text) // 2], id="truncated JSON"),
        pytest.param(lambda text: "", id="empty"),
        pytest.param(lambda text: "[]", id="array"),
        pytest.param(lambda text: "null", id="null"),
        pytest.param(lambda text: json.dumps({"format": "other/v1"}), id="other format"),
        pytest.param(
            lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "nonce"}),
            id="no nonce",
        ),
        pytest.param(
            lambda text: json.dumps({**json.loads(text), "ciphertext": "%%%"}),
            id="ciphertext not base64",
        ),
        pytest.param(
            lambda text: json.dumps(
                {**json.loads(text), "kdf": {**json.loads(text)["kdf"], "n": 3 * 2**16}}
            ),
            id="n not a power of two",
        ),
        pytest.param(
            lambda text: json.dumps(
                {**json.loads(text), "kdf": {**json.loads(text)["kdf"], "name": "pbkdf2"}}
            ),
            id="other kdf",
        ),
    ],
)
def test_unreadable_file_is_a_keyring_error(saved: SavedKey, tmp_path: Path, damage: Any) -> None:
    path = _write(tmp_path / "damaged.key", damage(saved.text))

    with pytest.raises(KeyringError) as caught:
        SigningKey.load(path, PASSPHRASE)
    assert "\n" not in str(caught.value)


def _flip_ciphertext(document: dict[str, Any]) -> dict[str, Any]:
    sealed = bytearray(base64.b64decode(document["ciphertext"]))
    sealed[0] ^= 0x01
    return {**document, "ciphertext": base64.b64encode(bytes(sealed)).decode()}


def _swap_in(*fields: str) -> Any:
    other = SigningKey.generate().public
    values = {"public_key": base64.b64encode(other.raw).decode(), "key_id": other.key_id}
    return lambda document: {**document, **{f: values[f] for f in fields}}


@pytest.mark.parametrize(
    "alter",
    [
        pytest.param(_flip_ciphertext, id="flipped ciphertext byte"),
        pytest.param(_swap_in("public_key"), id="swapped public key"),
        pytest.param(_swap_in("key_id"), id="swapped key id"),
        pytest.param(_swap_in("public_key", "key_id"), id="swapped public key and key id"),
        pytest.param(lambda d: {**d, "cipher": "chacha20-poly1305 "}, id="altered header"),
    ],
)
def test_altered_file_is_a_keyring_error(saved: SavedKey, tmp_path: Path, alter: Any) -> None:
    path = _write(tmp_path / "altered.key", alter(json.loads(saved.text)))

    with pytest.raises(KeyringError, match="altered"):
        SigningKey.load(path, PASSPHRASE)


def test_a_hand_sealed_file_at_the_standard_cost_loads(tmp_path: Path) -> None:
    # The control for the floor test below: the hand-sealed format is a real key file.
    seed = secrets.token_bytes(32)
    path = _write(tmp_path / "hand.key", seal_by_hand(seed, PASSPHRASE, n=SCRYPT_N, r=8))

    key = SigningKey.load(path, PASSPHRASE)

    assert key.public.raw == SigningKey(Ed25519PrivateKey.from_private_bytes(seed)).public.raw


@pytest.mark.parametrize(("n", "r"), [(2**13, 8), (2**10, 8), (SCRYPT_N, 4)])
def test_scrypt_cost_below_the_floor_is_refused_on_load(tmp_path: Path, n: int, r: int) -> None:
    seed = secrets.token_bytes(32)
    path = _write(tmp_path / "cheap.key", seal_by_hand(seed, PASSPHRASE, n=n, r=r))

    with pytest.raises(KeyringError, match="floor"):
        SigningKey.load(path, PASSPHRASE)


def test_key_id_is_sha256_of_the_raw_public_key(saved: SavedKey) -> None:
    raw = (
        Ed25519PrivateKey.from_private_bytes(saved.seed)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )

    assert saved.key.key_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert saved.key.public.key_id == saved.key.key_id
    assert key_id_of(raw) == saved.key.key_id


def test_pem_export_loads_with_cryptography_and_verifies(saved: SavedKey) -> None:
    public = serialization.load_pem_public_key(saved.key.public.pem().encode())

    assert isinstance(public, Ed25519PublicKey)
    assert (
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        == saved.key.public.raw
    )
    public.verify(saved.key.sign(MESSAGE), MESSAGE)
    assert VerifyingKey.from_pem(saved.key.public.pem().encode()).raw == saved.key.public.raw


def test_from_pem_rejects_garbage_and_other_key_types() -> None:
    ec_pem = (
        generate_private_key(SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    with pytest.raises(KeyringError, match="not a PEM"):
        VerifyingKey.from_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(KeyringError, match="not an Ed25519"):
        VerifyingKey.from_pem(ec_pem)


def test_verifying_key_must_be_32_bytes() -> None:
    with pytest.raises(KeyringError, match="32 bytes"):
        VerifyingKey(b"\x00" * 31)


def test_vkey_matches_the_go_sumdb_note_vector() -> None:
    # golang.org/x/mod/sumdb/note: the signer key PRIVATE+KEY+PeterNeumann+c74f20a3+AYEK...
    # holds the seed after its algorithm byte; its verifier key line is fixed.
    skey = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
    key = SigningKey(Ed25519PrivateKey.from_private_bytes(skey[1:]))

    line = key.public.vkey("PeterNeumann")

    assert line == "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    assert key.public.note_key_hash("PeterNeumann") == bytes.fromhex("c74f20a3")


# A C2SP key name is non-empty and holds no "+" and no white space.
note_names = st.text(
    st.characters(codec="utf-8", exclude_categories=["Zs", "Zl", "Zp", "Cc"]).filter(
        lambda c: c != "+"
    ),
    min_size=1,
)


@given(st.binary(min_size=32, max_size=32), note_names)
# A key whose base64 holds a "+" (and a "/"): the line has more than two "+".
@example(bytes([8]) * 32, "log.example.org/synthguard")
def test_vkey_round_trips(seed: bytes, name: str) -> None:
    public = SigningKey(Ed25519PrivateKey.from_private_bytes(seed)).public
    line = public.vkey(name)

    parsed_name, key = VerifyingKey.from_vkey(line + "\n")

    assert parsed_name == name
    assert key.raw == public.raw
    assert key.key_id == public.key_id


def _tamper_vkey(line: str, part: str) -> str:
    name, hash_hex, encoded = line.split("+", 2)
    blob = bytearray(base64.b64decode(encoded))
    if part == "hash":
        hash_hex = f"{int(hash_hex, 16) ^ 1:08x}"
    elif part == "name":
        name = name + "x"
    elif part == "key":
        blob[-1] ^= 0x01
    elif part == "algorithm":
        blob[0] = 0x02
    elif part == "short key":
        blob = blob[:-1]
    return f"{name}+{hash_hex}+{base64.b64encode(bytes(blob)).decode()}"


@pytest.mark.parametrize("part", ["hash", "name", "key", "algorithm", "short key"])
@pytest.mark.parametrize("seed", [bytes([7]) * 32, bytes([8]) * 32], ids=["no plus", "plus"])
def test_tampered_vkey_is_rejected(seed: bytes, part: str) -> None:
    public = SigningKey(Ed25519PrivateKey.from_private_bytes(seed)).public
    line = _tamper_vkey(public.vkey("example"), part)

    with pytest.raises(KeyringError):
        VerifyingKey.from_vkey(line)


@pytest.mark.parametrize("line", ["", "example", "example+c74f20a3", "a+b+not base64!"])
def test_malformed_vkey_is_rejected(line: str) -> None:
    with pytest.raises(KeyringError, match="not a signed-note verifier key"):
        VerifyingKey.from_vkey(line)


def test_a_key_unlocked_ahead_is_the_key_load_gives(saved: SavedKey) -> None:
    unlock_ahead(saved.path, PASSPHRASE)
    assert SigningKey.load(saved.path, PASSPHRASE).key_id == saved.key.key_id
    # Taken once: the next load unlocks the file itself.
    assert SigningKey.load(saved.path, PASSPHRASE).key_id == saved.key.key_id


def test_an_unlock_ahead_with_a_wrong_passphrase_fails_the_load_as_load_would(
    saved: SavedKey,
) -> None:
    unlock_ahead(saved.path, "not the passphrase")
    with pytest.raises(KeyringError, match="wrong passphrase"):
        SigningKey.load(saved.path, "not the passphrase")


def test_an_unlock_ahead_serves_only_the_same_file_and_passphrase(saved: SavedKey) -> None:
    # Another passphrase: the load decides for itself, and the unlock ahead stays unused.
    unlock_ahead(saved.path, "not the passphrase")
    assert SigningKey.load(saved.path, PASSPHRASE).key_id == saved.key.key_id
    with pytest.raises(KeyringError, match="wrong passphrase"):
        SigningKey.load(saved.path, "not the passphrase")
