"""The README's blocks run as written: its Python blocks in order against a fresh home, and its
shell blocks in order as a reader types them after the two set-up commands.

They are one session, as a reader would type them: later blocks use names earlier ones defined
(`home`, `rows`). Each runs in a scratch folder with `SYNTHGUARD_HOME` and
`SYNTHGUARD_PASSPHRASE` set, after `synthguard init` (the README's tour starts with it).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from synthguard.cli.demo.run import run_demo
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


def shell_blocks() -> list[str]:
    """The README's shell blocks after the two set-up commands, up to its Development section
    (whose blocks run the tests themselves)."""
    text = README.read_text(encoding="utf-8").split("\n## Development", 1)[0]
    return _SHELL.findall(text)[1:]


_SHELL = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


@pytest.mark.postgres
def test_the_shell_blocks_run_as_written(tmp_path: Path, postgres_url: str) -> None:
    # As a reader would after `make demo` and `source .venv/bin/activate`: in a copy of the
    # repository's folder that holds the demo's output and the examples. The PostgreSQL block
    # gets a database of its own name, so that a reader's `synthguard_tour` is never touched.
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "examples").symlink_to(README.parent / "examples")
    run_demo(folder / "synthguard-demo", 40)
    database = f"synthguard_tour_{secrets.token_hex(4)}"
    script = "\n".join(shell_blocks()).replace("synthguard_tour", database)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    for name in ("SYNTHGUARD_HOME", "SYNTHGUARD_DB", "SYNTHGUARD_PASSPHRASE"):
        env.pop(name, None)
    try:
        done = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        subprocess.run(
            ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", database],
            capture_output=True,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "audit passed" in done.stdout + done.stderr
    assert (folder / "tour" / "release-v1" / "manifest.dsse.json").is_file()
