"""Helpers for the CLI tests: invoke the real `synthguard` group in-process, write inputs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from synthguard.cli.main import cli

Run = Callable[..., Result]

ORIGIN = "test.synthguard.local/ledger"
INTERVAL = 5


def invoke(
    *args: str | Path,
    home: Path | None = None,
    input: str | None = None,
    env: Mapping[str, str | None] | None = None,
    passphrase: str | None = None,
) -> Result:
    """Run `synthguard [--home HOME] ARGS...` in-process, with a clean synthguard environment."""
    argv = (["--home", str(home)] if home is not None else []) + [str(arg) for arg in args]
    environment: dict[str, str | None] = {
        "SYNTHGUARD_PASSPHRASE": passphrase,
        "SYNTHGUARD_HOME": None,
        "SYNTHGUARD_DB": None,
    }
    environment.update(env or {})
    return CliRunner().invoke(cli, argv, input=input, env=environment, catch_exceptions=False)


def write_jsonl(path: Path, rows: Iterable[Any]) -> Path:
    """Write rows as JSON lines (bytes rows are written as they are)."""
    with path.open("wb") as out:
        for row in rows:
            out.write(row if isinstance(row, bytes) else json.dumps(row).encode() + b"\n")
    return path


def alpaca(i: int) -> dict[str, str]:
    """A distinct Alpaca row."""
    return {"instruction": f"Add {i} and {i + 1}.", "input": "", "output": str(2 * i + 1)}


def stderr_lines(result: Result) -> list[str]:
    """The non-empty lines the command wrote to stderr."""
    return [line for line in result.stderr.splitlines() if line.strip()]
