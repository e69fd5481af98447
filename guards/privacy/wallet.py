"""Cryptocurrency addresses: a pseudonym that a chain's public ledger ties to every payment its
owner made, so personal data once anyone knows whose it is.

- Bitcoin legacy addresses (`1...` pay-to-public-key-hash, `3...` pay-to-script-hash): Base58Check,
  valid when the last four bytes are the double SHA-256 of the version byte and hash before
  them (`crypto_wallet/bitcoin-base58check`).
- Bitcoin SegWit addresses (`bc1...`): Bech32 (BIP 173, witness version 0) or Bech32m (BIP 350,
  versions 1 to 16), valid by the checksum each defines, one case throughout, with the witness
  program lengths the BIPs allow (`crypto_wallet/bitcoin-bech32`).
- Ethereum addresses: `0x` and 40 hex digits. Their EIP-55 checksum needs Keccak-256, which
  the standard library lacks (its SHA3-256 pads differently), and a bare 160-bit hex value is as
  often a hash or a contract in code; so they count only after a word that names a wallet or a
  payment ("wallet", "address", "ETH", "Ethereum", "send", "pay", "deposit", "USDT", ...) in
  the same sentence (`crypto_wallet/ethereum+keyword`).

Test networks' addresses (`tb1`, `m`, `n`, `2`) are no one's money and are not read. Look-alikes:
the addresses every explainer quotes (the genesis block's coinbase address, the well-known burn
addresses, BIP 173's examples, Ethereum's zero and dead addresses).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import Final

from synthguard.guards.privacy.finding import Hit, judged, mask
from synthguard.guards.privacy.lookalikes import PUBLIC_WALLETS, Inert, covering

BASE58_RULE: Final = "crypto_wallet/bitcoin-base58check"
BECH32_RULE: Final = "crypto_wallet/bitcoin-bech32"
ETHEREUM_RULE: Final = "crypto_wallet/ethereum+keyword"
WALLET_LONGEST: Final = 26
"""The shortest run without whitespace that holds an address (a Base58Check address has 26 to
35 characters, a Bech32 one 14 to 74 (42 or 62 in use), an Ethereum one 42)."""

_BASE58_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_VALUE: Final = {c: i for i, c in enumerate(_BASE58_ALPHABET)}
_BASE58 = re.compile(r"[13][1-9A-HJ-NP-Za-km-z]{25,34}(?![0-9A-Za-z])")
_BECH32_CHARSET: Final = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32 = re.compile(
    r"(?i:bc1)[02-9ac-hj-np-z]{8,87}(?![0-9A-Za-z])|BC1[02-9AC-HJ-NP-Z]{8,87}(?![0-9A-Za-z])"
)
_BECH32_CONST: Final = 1
_BECH32M_CONST: Final = 0x2BC830A3
_ETHEREUM = re.compile(r"0x[0-9a-fA-F]{40}(?![0-9A-Za-z])")
_WALLET_WORDS = re.compile(
    r"(?i:\b(?:wallet|address|addr|eth|ether|ethereum|erc-?20|usdt|usdc|metamask|send|sent|pay"
    r"|paid|payment|deposit|withdraw|transfer|tip|donate|donations?)\b)"
)
_SENTENCE_WINDOW: Final = 120


def find_wallets(text: str, inert: Sequence[Inert]) -> Iterator[Hit]:
    """Every Bitcoin address with a valid checksum in `text`, and every Ethereum address after
    a wallet or payment word; the addresses explainers quote as look-alikes."""
    for match in _BASE58.finditer(text):
        start, end = match.span()
        if start and (text[start - 1].isalnum() or text[start - 1] in "_/"):
            continue
        if _base58check(match.group()):
            yield _hit(text, start, end, BASE58_RULE, inert)
    if "bc1" in text or "BC1" in text:
        for match in _BECH32.finditer(text):
            start, end = match.span()
            if start and (text[start - 1].isalnum() or text[start - 1] in "_/"):
                continue
            if _segwit(match.group().lower()):
                yield _hit(text, start, end, BECH32_RULE, inert)
    if "0x" in text:
        for match in _ETHEREUM.finditer(text):
            start, end = match.span()
            if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
                continue
            floor = max(0, start - _SENTENCE_WINDOW, text.rfind(". ", 0, start) + 1)
            if _WALLET_WORDS.search(text, floor, start):
                yield _hit(text, start, end, ETHEREUM_RULE, inert)


def _hit(text: str, start: int, end: int, rule: str, inert: Sequence[Inert]) -> Hit:
    value = text[start:end]
    why = covering(inert, start, end)
    if why is None and value.lower() in PUBLIC_WALLETS:
        why = "public"
    return judged(start, end, "crypto_wallet", rule, mask(value, 2, 2), why)


def _base58check(address: str) -> bool:
    number = 0
    for char in address:
        number = number * 58 + _BASE58_VALUE[char]
    leading = len(address) - len(address.lstrip("1"))
    raw = b"\0" * leading + number.to_bytes((number.bit_length() + 7) // 8, "big")
    if len(raw) != 25 or raw[0] not in (0x00, 0x05):
        return False
    body, check = raw[:21], raw[21:]
    return hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4] == check


def _segwit(address: str) -> bool:
    """BIP 173 / BIP 350: the checksum, then the witness version and program length."""
    data = [_BECH32_CHARSET.index(c) for c in address[3:]]
    if len(data) < 7:
        return False
    polymod = _polymod([3, 3, 0, 2, 3, *data])  # "bc" expanded: high bits, 0, low bits
    version = data[0]
    if version > 16 or polymod != (_BECH32_CONST if version == 0 else _BECH32M_CONST):
        return False
    program = _regrouped(data[1:-6])
    if program is None or not 2 <= len(program) <= 40:
        return False
    return version != 0 or len(program) in (20, 32)


def _polymod(values: list[int]) -> int:
    generators = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(generators):
            if (top >> i) & 1:
                check ^= generator
    return check


def _regrouped(data: list[int]) -> bytes | None:
    """5-bit groups as bytes; None when the padding is not BIP 173's (under 5 zero bits)."""
    accumulator, bits, out = 0, 0, bytearray()
    for value in data:
        accumulator = (accumulator << 5) | value
        bits += 5
        while bits >= 8:
            bits -= 8
            out.append((accumulator >> bits) & 0xFF)
    if bits >= 5 or accumulator & ((1 << bits) - 1):
        return None
    return bytes(out)
