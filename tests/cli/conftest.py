"""CLI test fixtures: a runner bound to the real `synthguard` group, and initialised homes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from cli_support import INTERVAL, ORIGIN, Run, alpaca, invoke, write_jsonl
from click.testing import Result


@pytest.fixture
def run(passphrase: str) -> Run:
    """`run(*args, home=..., input=..., env=...)`: invoke with SYNTHGUARD_PASSPHRASE set."""

    def call(*args: str | Path, **kwargs: Any) -> Result:
        kwargs.setdefault("passphrase", passphrase)
        return invoke(*args, **kwargs)

    return call


@pytest.fixture(scope="session")
def home_template(tmp_path_factory: pytest.TempPathFactory, passphrase: str) -> Path:
    """A home initialised once (a checkpoint every 5 entries); tests get copies."""
    home = tmp_path_factory.mktemp("template") / "home"
    result = invoke(
        "init",
        "--origin",
        ORIGIN,
        "--checkpoint-interval",
        str(INTERVAL),
        home=home,
        passphrase=passphrase,
    )
    assert result.exit_code == 0, result.output
    return home


@pytest.fixture
def home(home_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the initialised home: ledger with its genesis entry, key, config."""
    copy = tmp_path / "home"
    shutil.copytree(home_template, copy)
    return copy


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    """A JSONL file of 7 good Alpaca rows."""
    return write_jsonl(tmp_path / "samples.jsonl", (alpaca(i) for i in range(7)))
