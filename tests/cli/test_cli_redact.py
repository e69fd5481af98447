"""`screen --redact`: samples held only for personal data go out as redacted copies, signed as
revisions of the original, which stays in quarantine; the ledger, the release and the report
all show it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import Run, alpaca, write_jsonl

from synthguard.guards import redaction
from synthguard.ledger.home import Home
from synthguard.ledger.log.lineage import records_by_event
from synthguard.provenance.record import Event

EMAIL = "maria.keller@posteo.de"
PHONE = "+49 30 9018 2210"
WITH_EMAIL = {
    "instruction": "Who maintains the parser?",
    "input": "",
    "output": f"Write to {EMAIL} for questions about the parser.",
}
WITH_BOTH = {
    "instruction": "How do I reach the support desk?",
    "input": "Office hours are 9 to 5.",
    "output": f"Call {PHONE} or mail {EMAIL}.",
}
# Personal data and a zero-width space: held by the unicode guard too, so not redacted.
WITH_MORE = {
    "instruction": "Contact\u200b details?",
    "input": "",
    "output": f"Mail {EMAIL}.",
}


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _record(run: Run, home: Path, source: Path) -> None:
    recorded = run("record", source, "--generator", "g", "--model", "m", home=home)
    assert recorded.exit_code == 0, recorded.output


def _screen(run: Run, home: Path, source: Path, out: Path, *extra: str) -> str:
    screened = run(
        "screen", source, "--out", out, "--guards", "unicode,dedup,privacy", *extra, home=home
    )
    assert screened.exit_code == 0, screened.output
    return screened.stdout


def test_privacy_quarantines_by_default_and_names_kind_span_and_rule(
    run: Run, home: Path, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [alpaca(1), WITH_EMAIL, WITH_BOTH])
    _record(run, home, source)

    _screen(run, home, source, tmp_path / "out")

    accepted = _rows(tmp_path / "out" / "accepted.jsonl")
    held = _rows(tmp_path / "out" / "quarantined.jsonl")
    assert [row["output"] for row in accepted] == [alpaca(1)["output"]]
    assert [row["output"] for row in held] == [WITH_EMAIL["output"], WITH_BOTH["output"]]
    reasons = {r["rule"]: r for r in held[1]["reasons"]}
    assert set(reasons) == {"email", "phone"}
    (email,) = reasons["email"]["detail"]["findings"]
    text = WITH_BOTH["output"]
    assert (email["field"], text[email["start"] : email["end"]]) == ("output", EMAIL)
    assert EMAIL not in json.dumps(held[1]["reasons"]), "a verdict must not repeat the value"
    (phone,) = reasons["phone"]["detail"]["findings"]
    assert text[phone["start"] : phone["end"]] == PHONE
    assert phone["rule"]


def test_redact_releases_a_signed_revision_and_keeps_the_original_held(
    run: Run, home: Path, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [alpaca(1), WITH_EMAIL, WITH_BOTH, WITH_MORE])
    _record(run, home, source)
    out = tmp_path / "out"

    stdout = _screen(run, home, source, out, "--redact")

    assert "redacted: 2 copies of samples held for personal data (email 2, phone 1)" in stdout
    accepted = _rows(out / "accepted.jsonl")
    held = _rows(out / "quarantined.jsonl")
    assert [row["output"] for row in accepted] == [
        alpaca(1)["output"],
        "Write to [EMAIL] for questions about the parser.",
        "Call [PHONE] or mail [EMAIL].",
    ]
    # Everything but the spans is byte for byte the original's.
    for copy, original in zip(accepted[1:], (WITH_EMAIL, WITH_BOTH), strict=True):
        assert {k: copy[k] for k in ("instruction", "input")} == {
            k: original[k] for k in ("instruction", "input")
        }
    assert [row["output"] for row in held] == [
        WITH_EMAIL["output"],
        WITH_BOTH["output"],
        WITH_MORE["output"],
    ]

    with Home(home).open() as ledger:
        revised = [e.record for e in records_by_event(ledger, [Event.REVISED])]
    assert sorted(r.sample_id for r in revised) == sorted(row["sample_id"] for row in accepted[1:])
    by_copy = {r.sample_id: r for r in revised}
    for copy, original in zip(accepted[1:], held[:2], strict=True):
        record = by_copy[copy["sample_id"]]
        assert record.parents == [original["sample_id"]]
        assert record.generator is not None
        assert record.generator.name == "privacy-redaction"
        spans = record.detail["redaction"]["spans"]
        assert all(set(span) == {"field", "start", "end", "kind", "rule"} for span in spans)
    assert by_copy[accepted[2]["sample_id"]].detail["redaction"]["kinds"] == {
        "email": 1,
        "phone": 1,
    }
    assert run("verify", home=home).exit_code == 0

    listed = run("quarantine", "list", home=home)
    assert all(row["sample_id"][:12] in listed.stdout for row in held)

    release = tmp_path / "release"
    created = run("release", "create", "v1", "--from", out, "--out", release, home=home)
    assert created.exit_code == 0, created.output
    verified = run("release", "verify", release)
    assert verified.exit_code == 0, verified.output
    assert (
        "revisions   2 samples are signed revisions of another sample; 2 redacted copies "
        "(email 2, phone 1), their originals held back" in verified.stdout
    )

    report = tmp_path / "report.json"
    made = run("report", "--format", "json", "--out", report, home=home)
    assert made.exit_code == 0, made.output
    privacy = json.loads(report.read_text())["processing"]["screening"]["privacy"]
    # The unicode guard stopped WITH_MORE first: the privacy guard never saw it.
    assert privacy["quarantined"] == 2
    assert {c["key"]: c["samples"] for c in privacy["quarantined_by_kind"]} == {
        "email": 2,
        "phone": 1,
    }
    assert privacy["redacted"] == 2
    assert {c["key"]: c["samples"] for c in privacy["redacted_by_kind"]} == {"email": 2, "phone": 1}


def test_a_later_redacting_screen_redacts_what_an_earlier_one_held(
    run: Run, home: Path, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [WITH_EMAIL])
    _record(run, home, source)
    _screen(run, home, source, tmp_path / "first")

    _screen(run, home, source, tmp_path / "second", "--redact")

    (copy,) = _rows(tmp_path / "second" / "accepted.jsonl")
    assert copy["output"] == "Write to [EMAIL] for questions about the parser."
    assert run("verify", home=home).exit_code == 0


def test_an_unrecorded_sample_is_not_redacted_and_the_screen_says_why(
    run: Run, home: Path, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [WITH_EMAIL])

    screened = run(
        "screen", source, "--out", tmp_path / "out", "--guards", "privacy", "--redact", home=home
    )

    assert screened.exit_code == 0, screened.output
    assert _rows(tmp_path / "out" / "accepted.jsonl") == []
    assert "could not be redacted: no making record in the ledger" in screened.stderr
    (held,) = _rows(tmp_path / "out" / "quarantined.jsonl")
    assert held["output"] == WITH_EMAIL["output"]


def _many(count: int) -> list[dict[str, str]]:
    """Rows held for personal data, nine contents once redacted, and one clean row."""
    rows = [
        {
            "instruction": f"Who answers question {n % 9}?",
            "input": "",
            "output": f"Mail person{n}@posteo.de about item {n % 9}.",
        }
        for n in range(count)
    ]
    clean = {"instruction": "What is a parser?", "input": "", "output": "A reader of text."}
    return [*rows, clean]


def test_redaction_in_blocks_writes_what_one_block_writes(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _many(40)
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    # Recorded but for the last two held rows: those cannot be revised.
    recorded = write_jsonl(tmp_path / "recorded.jsonl", rows[:-3] + rows[-1:])
    outputs = []
    for block in (redaction.HELD_BLOCK, 4):
        monkeypatch.setattr(redaction, "HELD_BLOCK", block)
        home = tmp_path / f"home-{block}"
        assert run("init", home=home).exit_code == 0
        _record(run, home, recorded)
        out = tmp_path / f"out-{block}"
        # No dedup: rows that differ only in their address are near copies of each other.
        screened = run(
            "screen", source, "--out", out, "--guards", "unicode,privacy", "--redact", home=home
        )
        assert screened.exit_code == 0, screened.output
        assert "redacted: 9 copies" in screened.stdout, screened.stdout
        outputs.append(
            [(out / name).read_bytes() for name in ("accepted.jsonl", "quarantined.jsonl")]
        )
    assert outputs[0] == outputs[1]
    # One copy per distinct redacted content, each right after its first original.
    accepted = _rows(tmp_path / "out-4" / "accepted.jsonl")
    assert [r["output"] for r in accepted] == [
        *(f"Mail [EMAIL] about item {n}." for n in range(9)),
        "A reader of text.",
    ]
    held = _rows(tmp_path / "out-4" / "quarantined.jsonl")
    assert len(held) == 40
