"""Both examples run end to end (small sizes) and leave a ledger that verifies, holding the
events, parents and depths their pipelines imply."""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from synthguard.guards.self_instruct import InstructionPool
from synthguard.ledger.home import Home
from synthguard.ledger.log.store import Ledger
from synthguard.ledger.log.verify import verify_ledger
from synthguard.provenance.record import RECORD_TYPE

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str) -> ModuleType:
    """Import examples/<name>.py as a module (the folder is not a package; as when the examples
    run as scripts, it is on the import path for their shared helper)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it runs
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def self_instruct() -> ModuleType:
    return load("self_instruct")


@pytest.fixture(scope="module")
def critic_loop() -> ModuleType:
    return load("critic_loop")


def records(ledger: Ledger) -> list[dict[str, Any]]:
    """The lineage records the ledger holds, decoded, in order."""
    return [
        json.loads(base64.b64decode(json.loads(entry.envelope)["payload"]))
        for entry in ledger.entries()
        if entry.payload_type == RECORD_TYPE
    ]


def open_home(path: Path) -> tuple[Ledger, list[dict[str, Any]]]:
    home = Home(path)
    ledger = home.open()
    verify_ledger(ledger, root_key_id=home.root_key())
    return ledger, records(ledger)


def test_self_instruct_grows_a_pool_of_ever_deeper_synthetic_tasks(
    self_instruct: ModuleType,
    tmp_path: Path,
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "si"
    argv = ["--home", str(home), "--steps", "6", "--per-step", "6", "--in-context", "4"]
    assert self_instruct.main(argv) == 0
    out = capsys.readouterr().out
    assert "verify: ok, 45 entries" in out  # genesis + 8 seeds + 36 proposals
    assert f"synthguard --home {home} lineage sha256:" in out

    ledger, found = open_home(home)
    with ledger:
        events = Counter(r["event"] for r in found)
        assert events == {"imported": 8, "generated": 36}
        depth = {r["sample_id"]: r["depth"] for r in found}
        seeds = [r for r in found if r["event"] == "imported"]
        assert {(r["origin"], r["depth"]) for r in seeds} == {("human", 0)}
        assert {r["sources"][0]["uri"] for r in seeds} == {self_instruct.SEED_SOURCE}
        proposals = [r for r in found if r["event"] == "generated"]
        for r in proposals:
            assert len(r["parents"]) == 4  # the tasks its prompt showed
            assert r["depth"] == 1 + max(depth[parent] for parent in r["parents"])
            assert r["generator"]["model"] == "builtin-self-instruct-lm"
            assert r["prompt_digest"].startswith("sha256:")
        # Prompts that showed machine-made tasks made synthetic-of-synthetic tasks.
        assert max(r["depth"] for r in proposals) >= 2
        assert len({r["generator"]["seed"] for r in proposals}) == 6  # one seed per prompt
        # Each stored proposal is the row the model returned.
        assert ledger.sample(proposals[0]["sample_id"]) is not None


def test_self_instruct_filters(self_instruct: ModuleType) -> None:
    rejection = self_instruct.rejection
    pool = InstructionPool(["Write a poem about the sea."])
    assert rejection("Write a short poem about the sea.", pool) == "rouge-l"
    assert rejection("Describe the image below in detail.", pool) == "keyword"
    assert rejection("Go.", pool) == "length"
    assert rejection("- list three colours of the rainbow", pool) == "punctuation-start"
    assert rejection("Name three colours of the rainbow.", pool) is None


def test_critic_loop_records_candidates_critiques_and_revisions(
    critic_loop: ModuleType,
    tmp_path: Path,
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "cl"
    assert critic_loop.main(["--home", str(home), "--tasks", "6"]) == 0
    out = capsys.readouterr().out
    assert "verify: ok" in out
    assert f"synthguard --home {home} lineage sha256:" in out

    ledger, found = open_home(home)
    with ledger:
        by_event: dict[str, list[dict[str, Any]]] = {}
        for r in found:
            by_event.setdefault(r["event"], []).append(r)
        candidates = by_event["generated"]
        assert len(candidates) == 12
        assert {(r["depth"], r["generator"]["model"]) for r in candidates} == {
            (1, "builtin-template-lm")
        }
        assert (
            sorted(r["generator"]["parameters"]["attempt"] for r in candidates) == [0] * 6 + [1] * 6
        )
        candidate_ids = {r["sample_id"] for r in candidates}

        revised = by_event["revised"]
        assert 1 <= len(revised) <= 6
        for r in revised:
            (original,) = r["parents"]
            assert original in candidate_ids
            assert r["depth"] == 2
            assert r["generator"]["model"] == "builtin-reviser-lm"
            assert r["detail"]["critique_digest"].startswith("sha256:")

        critiques = by_event["critiqued"]
        assert len(critiques) == 12 + len(revised)
        pairs = [r for r in critiques if "chosen" in r["detail"]]
        assert len(pairs) == 12  # each candidate judged once, with its pair named
        for r in pairs:
            detail = r["detail"]
            assert {detail["chosen"], detail["rejected"]} <= candidate_ids
            assert r["sample_id"] in (detail["chosen"], detail["rejected"])
            assert set(r["parents"]) == {detail["chosen"], detail["rejected"]}
            assert 1 <= detail["score"] <= 10
        # Every revision revises a chosen candidate and is scored again.
        chosen = {r["detail"]["chosen"] for r in pairs}
        assert {r["parents"][0] for r in revised} <= chosen
        rescored = {r["sample_id"] for r in critiques if "chosen" not in r["detail"]}
        assert rescored == {r["sample_id"] for r in revised}


def test_examples_run_on_a_temporary_home_or_a_bare_url(
    self_instruct: ModuleType,
    critic_loop: ModuleType,
    tmp_path: Path,
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert critic_loop.main(["--tasks", "2"]) == 0
    assert "a temporary ledger" in capsys.readouterr().out
    url = f"sqlite:///{tmp_path / 'bare.db'}"
    assert self_instruct.main(["--db", url, "--steps", "2", "--per-step", "3"]) == 0
    assert f"synthguard --db {url} lineage" in capsys.readouterr().out
    # The URL now holds a ledger: a second run says so in one line instead of overwriting it.
    assert self_instruct.main(["--db", url, "--steps", "1"]) == 2
    assert "a ledger exists already" in capsys.readouterr().err


def test_examples_run_as_scripts(tmp_path: Path, env: dict[str, str]) -> None:
    for script, args in (
        ("self_instruct.py", ["--steps", "2", "--per-step", "3"]),
        ("critic_loop.py", ["--tasks", "2"]),
    ):
        done = subprocess.run(
            [sys.executable, str(EXAMPLES / script), *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert "verify: ok" in done.stdout
