"""Two homes, each with its own key, writing one PostgreSQL ledger: what one screens, the other's
screen deduplicates against (the index lives in the ledger database), and the ledger verifies
from both."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_support import ORIGIN, Run, write_jsonl

SYNTHGUARD = Path(sys.executable).with_name("synthguard")
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "de", "po", "gu", "fe", "ba", "zi"]


def sentence(rng: random.Random, n: int) -> str:
    """n made-up words: unrelated sentences share few 3-grams."""
    return " ".join(
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randrange(2, 4))) for _ in range(n)
    )


def row(instruction: str, output: str) -> dict[str, str]:
    return {"instruction": instruction, "input": "", "output": output}


def two_writers(run: Run, tmp_path: Path, url: str) -> tuple[Path, Path]:
    """Homes A and B, each with its own key, both writers of the ledger at `url`."""
    home_a, home_b = tmp_path / "machine-a", tmp_path / "machine-b"
    init = run("--db", url, "init", "--origin", ORIGIN, home=home_a)
    assert init.exit_code == 0, init.output
    second_writer(run, home_a, home_b, url)
    return home_a, home_b


def second_writer(run: Run, home_a: Path, home_b: Path, url: str) -> None:
    """Make `home_b` a writer of A's ledger with its own key: A adds the key to the ledger,
    and only B keeps it."""
    added = run("keys", "generate", "--reason", "machine B", home=home_a)
    assert added.exit_code == 0, added.output
    key_id = added.stdout.split()[2]
    config = json.loads((home_a / "config.json").read_text())
    home_b.mkdir(mode=0o700)
    (home_b / "keys").mkdir(mode=0o700)
    key_name = f"{key_id.removeprefix('sha256:')[:16]}.key"
    shutil.move(home_a / "keys" / key_name, home_b / "keys" / key_name)
    (home_b / "config.json").write_text(
        json.dumps({**config, "active_key": key_id, "db": url}, indent=2)
    )
    (home_b / "config.json").chmod(0o600)


def quarantined(out: Path) -> dict[str, list[dict[str, Any]]]:
    """Quarantined rows' reasons by instruction."""
    lines = (out / "quarantined.jsonl").read_text().splitlines()
    return {json.loads(line)["instruction"]: json.loads(line)["reasons"] for line in lines}


@pytest.mark.postgres
def test_two_homes_on_one_postgres_ledger_deduplicate_against_each_other(
    run: Run, tmp_path: Path, postgres_url: str
) -> None:
    home_a, home_b = two_writers(run, tmp_path, postgres_url)

    rng = random.Random(14)
    originals = [row(f"Explain item {i}.", sentence(rng, 40)) for i in range(6)]
    words = originals[1]["output"].split()
    words[20] = "changed"
    fresh = [row(f"Describe thing {i}.", sentence(rng, 40)) for i in range(3)]
    copies = [
        # Exact after normalisation (case and punctuation), so a different sample id.
        row("EXPLAIN ITEM 0!", originals[0]["output"].upper()),
        row("Explain item 1.", " ".join(words)),  # one word of 40 edited: a near copy
        *fresh,
    ]
    a_in = write_jsonl(tmp_path / "a.jsonl", originals)
    b_in = write_jsonl(tmp_path / "b.jsonl", copies)

    for home, source in ((home_a, a_in), (home_b, b_in)):
        recorded = run("record", source, "--generator", "g", "--model", "m", home=home)
        assert recorded.exit_code == 0, recorded.output
    screened_a = run("screen", a_in, "--out", tmp_path / "out-a", "--guards", "dedup", home=home_a)
    assert screened_a.exit_code == 0, screened_a.output
    accepted_a = (tmp_path / "out-a" / "accepted.jsonl").read_text().splitlines()
    ids_a = {json.loads(line)["instruction"]: json.loads(line)["sample_id"] for line in accepted_a}
    assert len(ids_a) == 6

    screened_b = run("screen", b_in, "--out", tmp_path / "out-b", "--guards", "dedup", home=home_b)

    assert screened_b.exit_code == 0, screened_b.output
    held = quarantined(tmp_path / "out-b")
    assert {name: [(r["guard"], r["rule"]) for r in reasons] for name, reasons in held.items()} == {
        "EXPLAIN ITEM 0!": [("dedup", "exact")],
        "Explain item 1.": [("dedup", "near")],
    }
    assert held["EXPLAIN ITEM 0!"][0]["detail"]["duplicate_of"] == ids_a["Explain item 0."]
    assert held["Explain item 1."][0]["detail"]["duplicate_of"] == ids_a["Explain item 1."]
    accepted_b = (tmp_path / "out-b" / "accepted.jsonl").read_text().splitlines()
    assert [json.loads(line)["instruction"] for line in accepted_b] == [
        r["instruction"] for r in fresh
    ]
    # The index is in the ledger database, not in either home.
    assert not (home_a / "dedup").exists()
    assert not (home_b / "dedup").exists()

    for home in (home_a, home_b):
        verified = run("verify", home=home)
        assert verified.exit_code == 0, verified.output


@pytest.mark.postgres
def test_two_screens_at_once_never_both_accept_copies_of_each_other(
    run: Run, tmp_path: Path, postgres_url: str, passphrase: str
) -> None:
    home_a, home_b = two_writers(run, tmp_path, postgres_url)
    rng = random.Random(15)
    rows = [row(f"Explain item {i}.", sentence(rng, 40)) for i in range(8)]
    shouted = [row(r["instruction"].upper(), r["output"].upper()) for r in rows]
    env = {**os.environ, "SYNTHGUARD_PASSPHRASE": passphrase}
    env.pop("SYNTHGUARD_HOME", None)
    env.pop("SYNTHGUARD_DB", None)
    screens = []
    for home, name, data in ((home_a, "a", rows), (home_b, "b", shouted)):
        source = write_jsonl(tmp_path / f"{name}.jsonl", data)
        command = [SYNTHGUARD, "--home", home, "screen", source, "--out", tmp_path / f"out-{name}"]
        screens.append(
            subprocess.Popen(
                [str(part) for part in [*command, "--guards", "dedup"]],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                text=True,
            )
        )
    for screen in screens:
        _, stderr = screen.communicate(timeout=300)
        assert screen.returncode == 0, stderr

    # Whichever screen went first kept its rows; the other's are all copies of them.
    accepted = {
        name: (tmp_path / f"out-{name}" / "accepted.jsonl").read_text().splitlines()
        for name in "ab"
    }
    first, second = ("a", "b") if accepted["a"] else ("b", "a")
    assert len(accepted[first]) == len(rows)
    assert accepted[second] == []
    kept = [json.loads(line)["sample_id"] for line in accepted[first]]
    held = (tmp_path / f"out-{second}" / "quarantined.jsonl").read_text().splitlines()
    reasons = [json.loads(line)["reasons"] for line in held]
    assert [(r[0]["rule"], r[0]["detail"]["duplicate_of"]) for r in reasons] == [
        ("exact", sample_id) for sample_id in kept
    ]
