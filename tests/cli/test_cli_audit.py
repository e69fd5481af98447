"""`synthguard report` and `synthguard audit` on the demo's ledger: figures recompute, edits
to a report or a release are caught, and a ledger that grew since still audits its report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import alpaca, invoke, write_jsonl

from synthguard.cli.demo.run import DEMO_PASSPHRASE, run_demo
from synthguard.ledger.audit import run_audit
from synthguard.ledger.home import Home
from synthguard.ledger.report.embed import embedded_report


def audit(folder: Path, *args: str | Path) -> tuple[int, str]:
    result = invoke("audit", *args, home=folder / ".synthguard")
    return result.exit_code, result.stdout


def failed_checks(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("FAIL")]


def test_the_demo_report_and_release_pass_the_audit(demo: Path) -> None:
    code, out = audit(
        demo,
        "--report",
        demo / "report.html",
        "--release",
        demo / "release",
        "--key",
        demo / "publisher.pem",
    )
    assert code == 0, out
    names = [line[6:].split("  ")[0] for line in out.splitlines()]
    assert names == [
        "ledger verifies",
        "report checkpoint",
        "report figures",
        "report text (html)",
        "release verifies offline",
        "release checkpoint in ledger",
        "release recorded in ledger",
        "dedup index",  # the demo's screens made one
    ]


@pytest.mark.parametrize("fmt", ["json", "md", "html", "card"])
def test_every_report_format_audits_clean(demo: Path, fmt: str) -> None:
    out = demo / f"report.{fmt}"
    made = invoke("report", "--format", fmt, "--out", out, home=demo / ".synthguard")
    assert made.exit_code == 0, made.output
    code, stdout = audit(demo, "--report", out)
    assert code == 0, stdout


def test_an_edited_json_figure_is_named(demo: Path) -> None:
    out = demo / "report.json"
    invoke("report", "--format", "json", "--out", out, home=demo / ".synthguard")
    report = json.loads(out.read_text())
    report["sources"]["synthetic"]["samples"] -= 1
    out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    code, stdout = audit(demo, "--report", out)
    assert code == 1
    failures = failed_checks(stdout)
    assert any(
        "report figures" in line and "sources.synthetic.samples" in line for line in failures
    )


def test_an_edited_number_in_the_html_text_is_caught_though_its_data_block_is_intact(
    demo: Path,
) -> None:
    path = demo / "report.html"
    html = path.read_text()
    data_start = html.index('<script type="application/json"')
    visible, data = html[:data_start], html[data_start:]
    samples = embedded_report(html).general.samples
    assert f">{samples}<" in visible
    path.write_text(visible.replace(f">{samples}<", f">{samples + 1000}<", 1) + data)
    code, stdout = audit(demo, "--report", path)
    assert code == 1
    failures = failed_checks(stdout)
    assert len(failures) == 1, stdout
    assert "report text (html)" in failures[0]


def test_a_report_still_audits_after_the_ledger_grew(demo: Path) -> None:
    home = demo / ".synthguard"
    more = write_jsonl(demo / "more.jsonl", [alpaca(i) for i in range(5)])
    recorded = invoke("record", more, "--origin", "human", home=home, passphrase=DEMO_PASSPHRASE)
    assert recorded.exit_code == 0, recorded.output
    code, stdout = audit(demo, "--report", demo / "report.html", "--release", demo / "release")
    assert code == 0, stdout
    # Passing, but an auditor is told the report leaves out what came after it.
    size = embedded_report((demo / "report.html").read_text()).general.checkpoint.size
    with Home(home).open() as ledger:
        held = ledger.size()
    assert f"note: the report covers the ledger's first {size} entries; it holds {held} now" in (
        stdout
    )


def test_a_changed_release_row_fails_the_audit(demo: Path) -> None:
    samples = demo / "release" / "samples.jsonl"
    lines = samples.read_text().splitlines()
    row = json.loads(lines[0])
    row["output"] = str(row.get("output", "")) + " (edited)"
    lines[0] = json.dumps(row)
    samples.write_text("\n".join(lines) + "\n")
    code, stdout = audit(demo, "--release", demo / "release")
    assert code == 1
    assert any("release verifies offline" in line for line in failed_checks(stdout)), stdout


def test_a_file_slipped_into_the_release_folder_is_noted(demo: Path) -> None:
    write_jsonl(demo / "release" / "extra.jsonl", [alpaca(1)])
    code, stdout = audit(demo, "--release", demo / "release")
    assert code == 0, stdout
    assert stdout.splitlines()[-1] == (
        "note: the release folder also holds extra.jsonl, which its signed manifest does not "
        "list: no part of the release"
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "is empty: not a report"),
        ("\ufeff{}", "not a synthguard JSON report: Unexpected UTF-8 BOM"),
    ],
    ids=["empty", "bom"],
)
def test_an_empty_or_bom_prefixed_report_is_named_for_what_it_is(
    demo: Path, text: str, says: str
) -> None:
    # Both were read as Markdown and refused for lacking a Markdown report's comment.
    path = demo / "report.json"
    path.write_text(text, encoding="utf-8")
    result = invoke("audit", "--report", path, home=demo / ".synthguard")
    assert result.exit_code == 2
    assert says in result.stderr
    assert "Markdown" not in result.stderr


def test_a_report_of_another_ledger_is_refused(demo: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    run_demo(other, 5)
    code, stdout = audit(demo, "--report", other / "report.html")
    assert code == 1
    assert any("report is of this ledger" in line for line in failed_checks(stdout)), stdout


def test_a_report_that_cannot_be_written_is_one_error_line(demo: Path) -> None:
    result = invoke("report", "--out", demo / "missing" / "report.html", home=demo / ".synthguard")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"synthguard: error: cannot write the report to {demo / 'missing' / 'report.html'}: "
        "No such file or directory"
    ]


@pytest.mark.parametrize("fmt", ["json", "html"])
def test_a_report_written_to_standard_output_is_the_file_and_audits(demo: Path, fmt: str) -> None:
    made = invoke("report", "--format", fmt, "--out", "-", home=demo / ".synthguard")
    assert made.exit_code == 0, made.output
    assert not Path("-").exists()
    assert made.stderr.startswith(f"wrote standard output ({fmt}): ")
    out = demo / f"piped.{fmt}"
    out.write_bytes(made.stdout_bytes)
    code, stdout = audit(demo, "--report", out)
    assert code == 0, stdout
    filed = demo / f"filed.{fmt}"
    invoke("report", "--format", fmt, "--out", filed, home=demo / ".synthguard")
    assert filed.read_bytes() == made.stdout_bytes


def test_croissant_to_standard_output_is_refused(demo: Path) -> None:
    result = invoke(
        "report",
        "--format",
        "croissant",
        "--release",
        demo / "release",
        "--out",
        "-",
        home=demo / ".synthguard",
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "synthguard: error: --format croissant needs a file for --out: its file names are "
        "relative to it"
    ]


@pytest.mark.parametrize("option", ["--provider-name", "--model-version", "--model-dependency"])
def test_an_empty_stated_field_is_one_error_line(demo: Path, option: str) -> None:
    out = demo / "blank.json"
    result = invoke(
        "report", "--format", "json", "--out", out, option, "  ", home=demo / ".synthguard"
    )
    assert result.exit_code == 2
    assert not out.exists()
    assert result.stderr.strip().splitlines() == [
        f"synthguard: error: {option} is empty: leave it out, or say what it states"
    ]


def test_verifying_a_folder_that_is_no_release_is_a_usage_error(demo: Path) -> None:
    result = invoke("release", "verify", demo / "screened")
    assert result.exit_code == 2
    assert "is not a release folder" in result.stderr


def test_the_audit_reports_progress_per_entry_and_pass(demo: Path) -> None:
    ticks: list[int] = []
    with Home(demo / ".synthguard").open() as ledger:
        result = run_audit(ledger, report=demo / "report.html", progress=ticks.append)
        size = ledger.size()
    assert result.passed
    assert sum(ticks) == 2 * size  # verified once, recomputed once


def test_a_release_of_another_ledger_fails_only_the_ledger_checks(
    demo: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    run_demo(other, 5)
    code, stdout = audit(demo, "--release", other / "release")
    assert code == 1
    failed = [line[6:].split("  ")[0] for line in failed_checks(stdout)]
    assert failed == ["release checkpoint in ledger", "release recorded in ledger"], stdout


def test_an_edited_dataset_card_fails_the_audit(demo: Path) -> None:
    out = demo / "README.md"
    made = invoke("report", "--format", "card", "--out", out, home=demo / ".synthguard")
    assert made.exit_code == 0, made.output
    code, stdout = audit(demo, "--report", out)
    assert code == 0, stdout
    assert "report text (card)" in stdout
    card = out.read_text()
    out.write_text(card.replace("size_categories:\n- n<1K", "size_categories:\n- 1K<n<10K", 1))
    code, stdout = audit(demo, "--report", out)
    assert code == 1
    failures = failed_checks(stdout)
    assert len(failures) == 1, stdout
    assert "report text (card)" in failures[0]


def _stated(path: Path) -> dict[str, object]:
    stated: dict[str, object] = embedded_report(path.read_text()).general.stated.model_dump()
    return stated


def test_the_dataset_is_named_by_option_release_or_home_folder(demo: Path) -> None:
    home = demo / ".synthguard"
    origin = Home(home).config()["origin"]
    for args, name in (
        ((), "demo"),  # the folder that holds the home
        (("--release", "demo-v1"), "demo-v1"),
        (("--release", "demo-v1", "--name", "Demo instructions"), "Demo instructions"),
    ):
        out = demo / "named.md"
        made = invoke("report", "--format", "md", "--out", out, *args, home=home)
        assert made.exit_code == 0, made.output
        assert _stated(out)["dataset"] == name
        text = out.read_text()
        assert text.startswith("# Public summary of training content\n")
        assert f"Commission's template): {name}" in text
        assert f"): {origin}" not in text
        code, stdout = audit(demo, "--report", out)
        assert code == 0, stdout


def test_provider_and_model_come_from_the_config_and_the_options(demo: Path) -> None:
    home = demo / ".synthguard"
    config_path = home / "config.json"
    config = json.loads(config_path.read_text())
    config["provider"] = {"name": "Example Labs", "contact": "ai-office@example.org"}
    config["model"] = {"name": "example-7b", "version": "1", "dependencies": ["llama-3.1-8b"]}
    config_path.write_text(json.dumps(config))
    out = demo / "report.html"
    made = invoke("report", "--out", out, "--model-version", "2", home=home)
    assert made.exit_code == 0, made.output
    assert _stated(out) == {
        "dataset": "demo",
        "provider": {"name": "Example Labs", "contact": "ai-office@example.org"},
        "model": {"name": "example-7b", "version": "2", "dependencies": ["llama-3.1-8b"]},
    }
    html = out.read_text()
    assert "Example Labs" in html
    assert "ai-office@example.org" in html
    code, stdout = audit(demo, "--report", out)
    assert code == 0, stdout
    flags = invoke(
        "report",
        "--out",
        out,
        "--provider-name",
        "Other Labs",
        "--model-dependency",
        "a",
        "--model-dependency",
        "b",
        home=home,
    )
    assert flags.exit_code == 0, flags.output
    stated = _stated(out)
    assert stated["provider"] == {"name": "Other Labs", "contact": "ai-office@example.org"}
    assert stated["model"] == {"name": "example-7b", "version": "1", "dependencies": ["a", "b"]}


def test_a_bad_provider_in_the_config_is_one_error_line(demo: Path) -> None:
    home = demo / ".synthguard"
    config_path = home / "config.json"
    config = json.loads(config_path.read_text())
    config["provider"] = {"name": "Example Labs", "phone": "123"}
    config_path.write_text(json.dumps(config))
    result = invoke("report", "--out", demo / "r.html", home=home)
    assert result.exit_code == 2
    assert "provider" in result.stderr
    assert "phone" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _release(demo: Path, name: str, lines: slice) -> Path:
    """`release create NAME` of some of the demo screen's accepted rows; the folder."""
    rows = (demo / "screened" / "accepted.jsonl").read_text().splitlines()[lines]
    source = demo / f"{name}.jsonl"
    source.write_text("".join(line + "\n" for line in rows))
    out = demo / f"release-{name}"
    made = invoke(
        "release",
        "create",
        name,
        "--from",
        source,
        "--out",
        out,
        "--justify",
        "a test",
        home=demo / ".synthguard",
        passphrase=DEMO_PASSPHRASE,
    )
    assert made.exit_code == 0, made.output
    return out


def test_a_report_of_another_release_fails_beside_this_one(demo: Path) -> None:
    """The report of release `small`, put in the folder of the demo's release: each checked
    out on its own, and the audit passed them together."""
    _release(demo, "small", slice(0, 3))
    report = demo / "release" / "report.json"
    made = invoke(
        "report",
        "--format",
        "json",
        "--release",
        "small",
        "--out",
        report,
        home=demo / ".synthguard",
    )
    assert made.exit_code == 0, made.output
    code, stdout = audit(demo, "--report", report, "--release", demo / "release")
    assert code == 1
    (failed,) = failed_checks(stdout)
    assert "report is of this release" in failed
    assert "the report is of release 'small' (3 samples), the folder holds release" in failed


def test_a_release_name_is_given_once(demo: Path) -> None:
    """Two releases of one name were read as one by the report, Croissant and the audit."""
    _release(demo, "small", slice(0, 3))
    rows = (demo / "screened" / "accepted.jsonl").read_text().splitlines()[3:5]
    source = write_jsonl(demo / "again.jsonl", [json.loads(line) for line in rows])
    again = invoke(
        "release",
        "create",
        "small",
        "--from",
        source,
        "--out",
        demo / "again",
        "--justify",
        "a test",
        home=demo / ".synthguard",
        passphrase=DEMO_PASSPHRASE,
    )
    assert again.exit_code == 2
    assert again.stderr.strip().startswith(
        "synthguard: error: a release named 'small' was made already (its records start at entry "
    )
    assert not (demo / "again").exists()
