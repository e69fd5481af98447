"""`synthguard lineage`: a generator -> critic -> reviser chain printed as a tree and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import Run, alpaca, invoke, stderr_lines, write_jsonl

from synthguard.ledger.log.store import Ledger
from synthguard.provenance import Generator, Recorder, sample_from_row, track
from synthguard.provenance.keys import SigningKey

WRITER = Generator(name="self-instruct", model="tiny-lm", version="2")
CRITIC = Generator(name="critic", model="judge-lm")
REVISER = Generator(name="reviser", model="fix-lm")


def text_id(text: str) -> str:
    return sample_from_row({"text": text}).id


def make_chain(tmp_path: Path) -> str:
    """seed -> draft (tracked) -> critiqued -> revised -> quiz, reviewed; return the db URL."""
    url = f"sqlite:///{tmp_path / 'l.db'}"
    with Ledger.create(url, SigningKey.generate()) as ledger, Recorder(ledger) as recorder:
        recorder.imported("seed task")

        @track(recorder, generator=WRITER)
        def draft(prompt: str, parents: list[str]) -> str:
            return f"draft of {prompt}"

        draft("seed task", parents=[text_id("seed task")])
        recorder.critiqued("draft of seed task", CRITIC, score=0.25, critique="too vague")
        recorder.revised("revised draft", text_id("draft of seed task"), REVISER)
        recorder.generated("quiz", WRITER, parents=[text_id("revised draft")])
        recorder.reviewed("quiz", reviewer="alice", verdict="bad", note="off topic")
    return url


def test_lineage_prints_the_ancestry_tree(tmp_path: Path) -> None:
    url = make_chain(tmp_path)
    result = invoke("--db", url, "lineage", text_id("quiz")[:15])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == text_id("quiz")
    assert "generated  by self-instruct (tiny-lm 2)  depth 3  seq 5" in lines[1]
    assert "reviewed   by alice: bad (off topic)  depth 3  seq 6" in lines[2]
    assert lines[3] == f"└─ {text_id('revised draft')}"
    assert "revised    by reviser (fix-lm)  depth 2  seq 4" in lines[4]
    assert lines[5] == f"   └─ {text_id('draft of seed task')}"
    assert "generated  by self-instruct (tiny-lm 2)  depth 1  seq 2" in lines[6]
    assert "critiqued  by critic (judge-lm)  score 0.25  depth 1  seq 3" in lines[7]
    assert lines[8] == f"      └─ {text_id('seed task')}"
    assert "imported   human  depth 0  seq 1" in lines[9]
    assert len(lines) == 10
    # Every record line ends with its RFC 3339 time.
    assert all(line.endswith("Z") for line in lines if "seq" in line)


def test_lineage_json(tmp_path: Path) -> None:
    url = make_chain(tmp_path)
    result = invoke("--db", url, "lineage", "--json", text_id("revised draft"))
    assert result.exit_code == 0, result.output
    tree = json.loads(result.stdout)
    assert tree["sample_id"] == text_id("revised draft")
    assert [r["event"] for r in tree["records"]] == ["revised"]
    (draft,) = tree["parents"]
    assert draft["depth"] == 1
    assert draft["records"][0]["generator"]["name"] == "self-instruct"
    assert draft["notes"][0]["detail"]["score"] == 0.25
    assert draft["parents"][0]["records"][0]["event"] == "imported"
    assert draft["parents"][0]["parents"] == []


def test_lineage_of_an_unknown_sample_is_an_input_error(tmp_path: Path) -> None:
    url = make_chain(tmp_path)
    result = invoke("--db", url, "lineage", text_id("nothing"))
    assert result.exit_code == 2
    missing = text_id("nothing")
    assert stderr_lines(result) == [f"synthguard: error: no sample {missing} in the ledger"]
    bad = invoke("--db", url, "lineage", "not-hex")
    assert bad.exit_code == 2
    assert "is not a sample id or a prefix of one" in bad.stderr


def test_lineage_shows_each_screenings_outcome_and_rules(
    run: Run, home: Path, tmp_path: Path
) -> None:
    kept = alpaca(0)
    laced = {"instruction": "Add 2 and\u200b 2.", "input": "", "output": "4"}
    source = write_jsonl(tmp_path / "in.jsonl", [kept, laced, {**kept, "id": "copy"}])
    assert run("record", source, "--generator", "g", "--model", "m", home=home).exit_code == 0
    # The second screen leaves out the unicode guard: the ledger's quarantine holds all the same.
    for out, guards in (("first", "unicode,dedup"), ("second", "dedup")):
        screened = run("screen", source, "--out", tmp_path / out, "--guards", guards, home=home)
        assert screened.exit_code == 0, screened.output
    laced_id = sample_from_row(laced).id

    held = run("lineage", laced_id, home=home)

    assert held.exit_code == 0, held.output
    screenings = [
        line.split("  depth")[0] for line in held.stdout.splitlines() if "screened" in line
    ]
    assert screenings == [
        "   screened   quarantined (backdoor/invisible-char)",
        "   screened   quarantined (quarantine/held)",
    ]
    shown = run("lineage", sample_from_row(kept).id, home=home)
    assert shown.stdout.count("screened   accepted  copy at line 3: quarantined (dedup/exact)") == 2
    tree = json.loads(run("lineage", "--json", laced_id, home=home).stdout)
    assert [note["detail"]["outcome"] for note in tree["notes"]] == ["quarantined"] * 2


def test_text_from_the_ledger_reaches_the_terminal_as_escapes_not_as_controls(
    tmp_path: Path,
) -> None:
    # A record's text is a key holder's, or a ledger's someone else wrote: an ESC sequence
    # in it could repaint the screen (here: erase the line, write a fake "ok"), and a
    # right-to-left override could reorder what an auditor reads.
    hostile = "gen\x1b[2K\r\x1b[32mok\x1b[0m\u202egnp.exe\x9b31m\x07"
    url = f"sqlite:///{tmp_path / 'l.db'}"
    with Ledger.create(url, SigningKey.generate()) as ledger, Recorder(ledger) as recorder:
        recorder.generated("quiz", Generator(name=hostile, model="m"))
        recorder.reviewed("quiz", reviewer=hostile, verdict="bad", note=hostile)
    quiz = text_id("quiz")

    outputs = [
        invoke("--db", url, "lineage", quiz),
        invoke("--db", url, "ledger", "show"),
        invoke("--db", url, "ledger", "show", "1"),
        invoke("--db", url, "lineage", "--json", quiz),
    ]
    for result in outputs:
        assert result.exit_code == 0, result.output
        shown = result.stdout
        assert not any(c in shown for c in "\x1b\r\x07\x9b\u202e"), repr(shown)
    tree = outputs[0].stdout
    assert "by gen\\u001b[2K\\u000d\\u001b[32mok\\u001b[0m\\u202egnp.exe\\u009b31m\\u0007" in tree
    # In JSON the escape is JSON's own: the same text comes back.
    records = json.loads(outputs[3].stdout)["records"]
    assert records[0]["generator"]["name"] == hostile
    assert json.loads(outputs[2].stdout)["payload"]["generator"]["name"] == hostile
