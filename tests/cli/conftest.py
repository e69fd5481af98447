"""CLI test fixtures: a runner bound to the real `synthguard` group, and initialised homes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from cli_support import INTERVAL, ORIGIN, Run, alpaca, invoke, write_jsonl
from click.testing import Result

from synthguard.cli.demo.run import run_demo


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


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo folder (home and ledger, a release, the HTML report), made once; tests get
    copies."""
    folder = tmp_path_factory.mktemp("demo") / "demo"
    run_demo(folder, 40)
    return folder


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo folder."""
    folder = tmp_path / "demo"
    shutil.copytree(demo_template, folder)
    return folder


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    """A JSONL file of 7 good Alpaca rows."""
    return write_jsonl(tmp_path / "samples.jsonl", (alpaca(i) for i in range(7)))
