"""Cryptocurrency addresses: Bitcoin's by their checksums (the BIPs' own test vectors decide
what is valid), Ethereum's after a wallet or payment word; the addresses explainers quote pass
as look-alikes; hashes, commit ids and test networks stay what they are."""

from __future__ import annotations

import time

import pytest

from synthguard.guards.privacy import Detector, PrivacyGuard, find_private, redact
from synthguard.guards.privacy.wallet import _base58check, _segwit, find_wallets
from synthguard.provenance.sample import sample_from_row

DETECTOR = Detector()


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        # BIP 173 and BIP 350's valid mainnet addresses: witness version 0 (Bech32), 1 and 16
        # (Bech32m), upper and lower case.
        ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", True),
        (
            "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
            True,
        ),
        ("BC1SW50QGDZ25J", True),
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", True),
        # BIP 350's invalid ones: version 1 with a Bech32 checksum; a changed character.
        (
            "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
            False,
        ),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", False),
    ],
)
def test_segwit_addresses_are_valid_exactly_when_the_bips_say_so(address: str, valid: bool) -> None:
    assert _segwit(address.lower()) is valid


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", True),  # the genesis block's coinbase
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", True),  # the Bitcoin wiki's P2SH example
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", False),  # its last character changed
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN", False),  # one short
    ],
)
def test_base58check_addresses_are_valid_by_their_checksum(address: str, valid: bool) -> None:
    assert _base58check(address) is valid


WALLET = "crypto_wallet/"
TAPROOT = "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y"


@pytest.mark.parametrize(
    ("text", "value", "rule"),
    [
        (
            "send BTC to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT please",
            "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
            WALLET + "bitcoin-base58check",
        ),
        (
            f"Cold wallet: {TAPROOT}.",
            TAPROOT,
            WALLET + "bitcoin-bech32",
        ),
        (
            "Send USDT (ERC-20) to 0x8ba1f109551bD432803012645Ac136ddd64DBA72.",
            "0x8ba1f109551bD432803012645Ac136ddd64DBA72",
            WALLET + "ethereum+keyword",
        ),
        (
            "my ethereum address is 0x742d35cc6634c0532925a3b844bc454e4438f44e",
            "0x742d35cc6634c0532925a3b844bc454e4438f44e",
            WALLET + "ethereum+keyword",
        ),
    ],
)
def test_each_form_is_found_with_its_rule(text: str, value: str, rule: str) -> None:
    (finding,) = find_private(sample_from_row({"text": text}))
    assert (text[finding.start : finding.end], finding.rule, finding.kind) == (
        value,
        rule,
        "crypto_wallet",
    )
    assert value not in finding.preview


@pytest.mark.parametrize(
    "text",
    [
        "Satoshi mined 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa in the genesis block.",
        "Coins sent to 1BitcoinEaterAddressDontSendf59kuE are gone.",
        "BIP 173's example is bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4.",
        "Never send to the zero address 0x0000000000000000000000000000000000000000.",
    ],
)
def test_addresses_explainers_quote_pass_as_public(text: str) -> None:
    findings, lookalikes = DETECTOR.scan(sample_from_row({"text": text}))
    assert findings == []
    assert [f.rule for f in lookalikes] == ["crypto_wallet/public"]


@pytest.mark.parametrize(
    "text",
    [
        # A 160-bit hex value with no wallet word before it: a hash, a key id, a contract.
        "sha1 0x742d35cc6634c0532925a3b844bc454e4438f44e in the log",
        "The storage slot is 0x742d35Cc6634C0532925a3b844Bc454e4438f44e.",
        # A wallet word in an earlier sentence does not reach.
        "Open your wallet. The digest was 0x742d35cc6634c0532925a3b844bc454e4438f44e.",
        # Base58-shaped runs whose checksum fails, test networks, parts of longer tokens.
        "commit 1BoatSLRHtKNngkdXEeobR76b53LETtpyX",
        "testnet faucet tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
        "https://example.org/tx/1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
        "x1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
        # Mixed case is no Bech32 address.
        "bc1P0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    ],
)
def test_what_is_no_address_is_not_found(text: str) -> None:
    assert find_private(sample_from_row({"text": text})) == []


def test_redaction_names_a_wallet() -> None:
    sample = sample_from_row({"text": "Tips: 1BoatSLRHtKNngkdXEeobR76b53LETtpyT, thanks!"})
    guard = PrivacyGuard()
    assert redact(sample, guard.findings_of(guard.check([sample]))).content["text"] == (
        "Tips: [WALLET], thanks!"
    )


@pytest.mark.parametrize(
    "row",
    [
        "1" * 200_000,
        "1BoatSLRHtKNngkdXEeobR76b53LETtpy " * 6_000,
        "bc1" + "q" * 200_000,
        "wallet 0x" + "a" * 200_000,
    ],
)
def test_a_hostile_row_costs_a_linear_scan(row: str) -> None:
    start = time.process_time()
    list(find_wallets(row, []))
    assert time.process_time() - start < 5.0
