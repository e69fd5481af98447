"""`synthguard demo` runs with nothing configured and leaves a ledger that verifies."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from cli_support import invoke, stderr_lines

from synthguard.cli.demo.models import BuiltinGenerator
from synthguard.cli.demo.run import DEMO_PASSPHRASE, DEMO_SEED, MARKER
from synthguard.provenance.keys import SigningKey


def test_demo_runs_unconfigured_and_its_ledger_verifies(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = invoke("demo", "--dir", folder, "--samples", "40")  # no passphrase, no home
    assert result.exit_code == 0, result.output
    assert "recorded 40 samples" in result.stdout
    # 40 samples, 2 candidate answers for each of 3 of them, 2 critiques per pair, and one
    # revision per pair, critiqued again.
    assert "records      62: generated 46, critiqued 9, revised 3, imported 4" in result.stdout
    assert DEMO_PASSPHRASE in result.stdout
    assert "verify --checkpoint" in result.stdout
    for attack, rule in (
        ("exact copy of sample 2", "dedup/exact"),
        ("zero-width characters", "backdoor/invisible-char"),
        ("Cyrillic look-alike", "backdoor/mixed-script"),
        ("prompt injection", "backdoor/prompt-injection"),
        ("benchmark item", "decontamination/ngram-overlap"),
        ("toxic reply", "toxicity/"),
        ("personal data", "privacy/email, privacy/phone"),
        ("malformed line", "input/malformed"),
    ):
        line = next(x for x in result.stdout.splitlines() if x.strip().startswith(attack))
        assert rule in line, line

    home = folder / ".synthguard"
    verify = invoke("verify", "--checkpoint", folder / "checkpoint.txt", home=home)
    assert verify.exit_code == 0, verify.output
    # 63 entries from the pipeline (the genesis key, 4 imported seeds, 58 records); the 6
    # planted rows that are new samples, imported from a crawled dump; one signed `screened`
    # record per sample screened: 4 seeds + 40 samples + 7 planted attacks, less the planted
    # exact copy (the same sample as row 3) and the malformed line (no sample); the redacted
    # copy of the planted personal data: its `revised` record and its own `screened` record;
    # 8 review selections and their 8 verdicts; 39 `released` (the redacted copy among them).
    assert verify.stdout.startswith("ok: 176 entries verified (1 key, 2 checkpoints)")
    assert (
        "1 sample held for personal data (email 1, phone 1) also went out as a redacted copy"
        in (result.stdout)
    )
    assert (folder / "report.html").read_text().startswith("<!DOCTYPE html>")
    checked = invoke(
        "release", "verify", folder / "release", "--key", folder / "publisher.pem", home=home
    )
    assert checked.exit_code == 0, checked.output
    assert "39 samples" in checked.stdout
    assert "1 redacted copy (email 1, phone 1), their originals held back" in checked.stdout

    rows = [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]
    assert rows == list(BuiltinGenerator(DEMO_SEED).generate(40))
    key_id = json.loads((home / "config.json").read_text())["active_key"]
    key = SigningKey.load(
        home / "keys" / f"{key_id.removeprefix('sha256:')[:16]}.key", DEMO_PASSPHRASE
    )
    assert key.key_id == key_id

    seed = json.loads(invoke("ledger", "show", "1", home=home).stdout)["payload"]
    assert seed["event"] == "imported"
    assert seed["origin"] == "human"
    assert seed["sources"][0]["license"] == "CC0-1.0"
    record = json.loads(invoke("ledger", "show", "5", home=home).stdout)["payload"]
    assert record["event"] == "generated"
    assert record["generator"]["model"] == "builtin-template-lm"
    assert record["prompt_digest"].startswith("sha256:")


def test_demo_ledger_holds_a_critic_and_reviser_chain_that_lineage_shows(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = invoke("demo", "--dir", folder, "--samples", "10")
    assert result.exit_code == 0, result.output
    (revision_id,) = re.findall(r"lineage (sha256:[0-9a-f]{64})", result.stdout)
    home = folder / ".synthguard"
    shown = [json.loads(line) for line in invoke("ledger", "export", home=home).stdout.splitlines()]
    records = [json.loads(base64.b64decode(entry["envelope"]["payload"])) for entry in shown[1:]]
    made = {r["sample_id"]: r for r in records if r["event"] in ("generated", "revised")}
    revised = made[revision_id]
    assert (revised["event"], revised["depth"]) == ("revised", 3)
    (candidate_id,) = revised["parents"]
    candidate = made[candidate_id]
    assert (candidate["event"], candidate["depth"]) == ("generated", 2)
    assert candidate["generator"]["parameters"]["attempt"] in (0, 1)
    (task_id,) = candidate["parents"]
    assert made[task_id]["depth"] == 1
    pair = next(r for r in records if r["event"] == "critiqued" and r["sample_id"] == candidate_id)
    assert pair["detail"]["chosen"] == candidate_id
    assert 1 <= pair["detail"]["score"] <= 10

    lineage = invoke("lineage", revision_id, home=home)
    assert lineage.exit_code == 0, lineage.output
    for sample_id in (revision_id, candidate_id, task_id):
        assert sample_id in lineage.stdout


def test_demo_can_run_again_in_its_own_folder(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    assert invoke("demo", "--dir", folder, "--samples", "5").exit_code == 0
    first = json.loads((folder / ".synthguard" / "config.json").read_text())["origin"]
    again = invoke("demo", "--dir", folder, "--samples", "5")
    assert again.exit_code == 0, again.output
    assert json.loads((folder / ".synthguard" / "config.json").read_text())["origin"] != first
    assert (folder / MARKER).is_file()


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")
    result = invoke("demo", "--dir", folder)
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        f"synthguard: error: {folder} is not empty and was not made by `synthguard demo`; "
        "give an empty or new folder with --dir"
    ]
    assert (folder / "thesis.tex").read_text() == "years of work"


def test_demo_uses_the_passphrase_variable_when_set(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = invoke("demo", "--dir", folder, "--samples", "3", passphrase="my own secret")
    assert result.exit_code == 0, result.output
    assert DEMO_PASSPHRASE not in result.stdout
    assert "encrypted with $SYNTHGUARD_PASSPHRASE" in result.stdout
