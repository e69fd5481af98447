"""`synthguard report --format croissant` on the demo's release, and `synthguard audit` of it:
mlcroissant loads the release through the description, an edit to a figure in it is caught,
and a description without its release folder is refused with one line."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import mlcroissant as mlc
import pytest
from cli_support import invoke

from synthguard.ledger.release.manifest import JSONL_FILE
from synthguard.ledger.report.croissant import REPORT_PROPERTY


def croissant(demo: Path, *args: str | Path) -> tuple[int, str, str]:
    result = invoke("report", "--format", "croissant", *args, home=demo / ".synthguard")
    return result.exit_code, result.stdout, result.stderr


def described(demo: Path) -> Path:
    """The release's description, written into the release folder."""
    out = demo / "release" / "croissant.json"
    code, stdout, _ = croissant(demo, "--out", out, "--release", demo / "release")
    assert code == 0, stdout
    return out


def audit(demo: Path, report: Path, *args: str | Path) -> tuple[int, str, str]:
    result = invoke("audit", "--report", report, *args, home=demo / ".synthguard")
    return result.exit_code, result.stdout, result.stderr


def checks(stdout: str) -> dict[str, str]:
    """Each check's name and mark (`ok` or `FAIL`)."""
    return {line[6:].split("  ")[0]: line[:4].strip() for line in stdout.splitlines()}


def test_report_writes_a_description_that_mlcroissant_loads(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = demo / "release" / "croissant.json"

    code, stdout, stderr = croissant(demo, "--out", out, "--release", demo / "release")

    assert code == 0, stderr
    assert stdout == (
        f"wrote {out} (croissant): 39 samples of release demo-v1, checkpoint 176 entries\n"
    )

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    dataset = mlc.Dataset(jsonld=out)
    records = list(dataset.records("samples"))
    rows = (demo / "release" / JSONL_FILE).read_text(encoding="utf-8").splitlines()
    assert len(records) == len(rows) == 39
    assert "Synthetic" in (dataset.metadata.data_collection_type or [])


def test_a_description_needs_the_release_folder(demo: Path) -> None:
    code, _, stderr = croissant(demo, "--out", demo / "c.json")
    assert code == 2
    assert stderr.splitlines() == [
        "synthguard: error: a Croissant description is of a release: give --release DIR, the "
        "release folder"
    ]
    assert not (demo / "c.json").exists()

    code, _, stderr = croissant(demo, "--out", demo / "c.json", "--release", "demo-v1")
    assert code == 2
    assert stderr.splitlines() == ["synthguard: error: demo-v1 is not a release folder"]


def test_audit_passes_the_description_and_the_release(demo: Path) -> None:
    out = described(demo)

    code, stdout, _ = audit(
        demo, out, "--release", demo / "release", "--key", demo / "publisher.pem"
    )

    assert code == 0, stdout
    assert checks(stdout) == {
        "ledger verifies": "ok",
        "report checkpoint": "ok",
        "report figures": "ok",
        "report text (croissant)": "ok",
        "report is of this release": "ok",
        "release verifies offline": "ok",
        "release checkpoint in ledger": "ok",
        "release recorded in ledger": "ok",
        "dedup index": "ok",  # the demo's screens made one
    }


def test_audit_catches_an_edited_figure_in_the_carried_report(demo: Path) -> None:
    out = described(demo)
    document = json.loads(out.read_text(encoding="utf-8"))
    document[REPORT_PROPERTY]["sources"]["synthetic"]["samples"] -= 1
    out.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    code, stdout, _ = audit(demo, out, "--release", demo / "release")

    assert code == 1
    assert checks(stdout)["report figures"] == "FAIL"
    assert "sources.synthetic.samples: report 34, ledger 35" in stdout
    assert checks(stdout)["report text (croissant)"] == "FAIL"


def test_audit_catches_an_edited_figure_in_the_rai_text(demo: Path) -> None:
    out = described(demo)
    text = out.read_text(encoding="utf-8")
    assert text.count("89.74 % of the samples are synthetic") == 1
    out.write_text(text.replace("89.74 % of the samples", "59.74 % of the samples"))

    code, stdout, _ = audit(demo, out, "--release", demo / "release")

    assert code == 1
    assert checks(stdout)["report figures"] == "ok"
    assert checks(stdout)["report text (croissant)"] == "FAIL"


def test_audit_catches_a_data_file_the_description_does_not_name(demo: Path) -> None:
    out = described(demo)
    with (demo / "release" / JSONL_FILE).open("a", encoding="utf-8") as data:
        data.write('{"text": "slipped in"}\n')

    code, stdout, _ = audit(demo, out, "--release", demo / "release")

    assert code == 1
    assert checks(stdout)["report text (croissant)"] == "FAIL"
    assert f"{JSONL_FILE}: its SHA-256 differs from the one the manifest signed" in stdout
    assert checks(stdout)["release verifies offline"] == "FAIL"


def test_audit_of_a_description_needs_the_release_folder(demo: Path) -> None:
    out = described(demo)

    code, _, stderr = audit(demo, out)

    assert code == 2
    assert stderr.splitlines() == [
        f"synthguard: error: {out} describes a release (croissant): give its folder, --release DIR"
    ]
