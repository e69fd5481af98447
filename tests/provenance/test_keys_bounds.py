"""A key file's scrypt cost is bounded above as well as below, and checked before scrypt runs."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from key_files import seal_by_hand

from synthguard.provenance.errors import KeyringError
from synthguard.provenance.keys import SigningKey

PASSPHRASE = "correct horse battery staple"
# Any of the refused costs would run for minutes or exhaust memory; a refusal is instant.
AT_ONCE = 1.0


def _with_kdf(key_file: Path, **kdf: Any) -> Path:
    document = json.loads(key_file.read_text(encoding="utf-8"))
    document["kdf"].update(kdf)
    key_file.write_text(json.dumps(document), encoding="utf-8")
    return key_file


def _seal_by_hand(path: Path, *, n: int, r: int, p: int) -> Path:
    """A key file written without `save`, so that its whole scrypt cost can be chosen."""
    document = seal_by_hand(secrets.token_bytes(32), PASSPHRASE, n=n, r=r, p=p)
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("kdf", "says"),
    [
        pytest.param({"p": 10**6}, r"scrypt p=1000000, outside the accepted range 1 to 16", id="p"),
        pytest.param({"p": 17}, r"p=17, outside the accepted range 1 to 16", id="p just above"),
        pytest.param({"p": 0}, r"p=0, outside the accepted range", id="p zero"),
        pytest.param({"p": -1}, r"p=-1, outside the accepted range", id="p negative"),
        pytest.param({"n": 2**24}, r"scrypt n=16777216, above the accepted ceiling", id="n"),
        pytest.param({"n": 2**21}, r"n=2097152, above the accepted ceiling n=1048576", id="n+1"),
        pytest.param({"r": 1024}, r"r=1024, n=131072: 16 GiB of memory, above", id="16 GiB"),
        pytest.param({"n": 2**20, "r": 9}, r"1.125 GiB of memory, above .* 1 GiB", id="1 GiB+"),
        pytest.param({"n": 2**64}, r"n=18446744073709551616, above", id="n 2**64"),
        pytest.param({"n": 2**17 + 1}, r"n=131073 is not a power of two", id="n odd"),
    ],
)
def test_a_cost_above_the_ceiling_is_refused_at_once(
    key_file: Path, kdf: dict[str, int], says: str
) -> None:
    path = _with_kdf(key_file, **kdf)

    started = time.monotonic()
    with pytest.raises(KeyringError, match=says) as caught:
        SigningKey.load(path, PASSPHRASE)

    assert time.monotonic() - started < AT_ONCE
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("kdf", "says"),
    [
        pytest.param({"n": 2**16}, r"n=65536, r=8\) below the accepted floor", id="n"),
        pytest.param({"r": 4}, r"n=131072, r=4\) below the accepted floor", id="r"),
    ],
)
def test_a_cost_below_the_floor_is_still_refused(
    key_file: Path, kdf: dict[str, int], says: str
) -> None:
    with pytest.raises(KeyringError, match=says):
        SigningKey.load(_with_kdf(key_file, **kdf), PASSPHRASE)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("1000000", id="string"),
        pytest.param(1.5, id="float"),
        pytest.param(True, id="bool"),
        pytest.param(None, id="null"),
    ],
)
def test_a_cost_that_is_not_an_integer_is_refused(key_file: Path, value: Any) -> None:
    with pytest.raises(KeyringError, match=r"damaged: its scrypt p is not an integer"):
        SigningKey.load(_with_kdf(key_file, p=value), PASSPHRASE)


def test_the_bounds_are_checked_before_the_passphrase(key_file: Path) -> None:
    # A wrong passphrase would need scrypt to find out: the cost refusal comes first.
    path = _with_kdf(key_file, p=10**6)

    with pytest.raises(KeyringError, match="p=1000000"):
        SigningKey.load(path, "not the passphrase")


def test_a_cost_within_the_bounds_but_above_the_default_loads(tmp_path: Path) -> None:
    # The control: the ceiling is not the default, a costlier file from elsewhere still loads.
    path = _seal_by_hand(tmp_path / "costlier.key", n=2**17, r=8, p=2)

    key = SigningKey.load(path, PASSPHRASE)

    assert key.key_id == json.loads(path.read_text())["key_id"]
