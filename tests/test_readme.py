"""The README's Python blocks run as written, in order, against a fresh home.

They are one session, as a reader would type them: later blocks use names earlier ones defined
(`home`, `rows`). Each runs in a scratch folder with `SYNTHGUARD_HOME` and
`SYNTHGUARD_PASSPHRASE` set, after `synthguard init` (the README's tour starts with it).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from synthguard.cli.main import cli

README = Path(__file__).parents[1] / "README.md"
PASSPHRASE = "readme passphrase"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks() -> list[str]:
    """The README's Python blocks, in order."""
    return _BLOCK.findall(README.read_text(encoding="utf-8"))


def test_the_readme_has_python_blocks() -> None:
    assert len(python_blocks()) >= 3


def test_the_python_blocks_run_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / ".synthguard"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYNTHGUARD_HOME", str(home))
    monkeypatch.setenv("SYNTHGUARD_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("SYNTHGUARD_DB", raising=False)
    result = CliRunner().invoke(cli, ["init"], catch_exceptions=False)
    assert result.exit_code == 0, result.output

    namespace: dict[str, object] = {"__name__": "__readme__"}
    for number, block in enumerate(python_blocks(), 1):
        code = compile(block, f"README.md python block {number}", "exec")
        exec(code, namespace)  # the README's own code, run as a reader would

    # What the blocks say they do happened: a release that verifies, a report next to it.
    assert (tmp_path / "release-v1" / "manifest.dsse.json").is_file()
    assert (tmp_path / "report.html").is_file()
