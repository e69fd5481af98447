"""`synthguard review sample` and `synthguard review record`: ids on stdout, the draw on stderr,
signed records in the ledger, one-line errors with exit code 2."""

from __future__ import annotations

from pathlib import Path

from cli_support import Run, alpaca, stderr_lines, write_jsonl

from synthguard.ledger.home import Home
from synthguard.ledger.log.lineage import records_by_event
from synthguard.provenance.record import Event
from synthguard.provenance.sample import sample_from_row


def recorded_home(run: Run, home: Path, tmp_path: Path) -> list[str]:
    """Record 40 samples of model m and 10 human ones; return all their ids."""
    synthetic = [alpaca(i) for i in range(40)]
    human = [alpaca(i) for i in range(100, 110)]
    for rows, extra in (
        (synthetic, ("--generator", "g", "--model", "m")),
        (human, ("--origin", "human")),
    ):
        path = write_jsonl(tmp_path / f"{extra[1]}.jsonl", rows)
        result = run("record", path, *extra, home=home)
        assert result.exit_code == 0, result.output
    return [sample_from_row(row).id for row in synthetic + human]


def test_sample_prints_the_ids_and_records_the_draw(run: Run, home: Path, tmp_path: Path) -> None:
    ids = recorded_home(run, home, tmp_path)
    result = run("review", "sample", "--rate", "0.1", "--seed", "5", home=home)
    assert result.exit_code == 0, result.output
    selected = result.stdout.splitlines()
    assert len(selected) == 5  # 4 of model m's 40, 1 of the 10 human samples
    assert set(selected) <= set(ids)
    summary = stderr_lines(result)
    assert summary[0].startswith("draw sha256:")
    assert summary[1] == "seed 5, rate 0.1: 5 of 50 samples in 2 strata"
    assert summary[3].split() == ["human|unscreened", "10", "1"]
    assert summary[4].split() == ["m|unscreened", "40", "4"]
    assert summary[-1] == "recorded 5 signed selection records"
    with Home(home).open() as ledger:
        records = [e.record for e in records_by_event(ledger, (Event.REVIEWED,))]
    assert sorted(r.sample_id for r in records) == sorted(selected)
    assert {r.detail["draw"] for r in records} == {summary[0].removeprefix("draw ")}
    assert run("verify", home=home).exit_code == 0

    again = run("review", "sample", "--rate", "0.1", "--seed", "5", home=home)
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines() == selected
    assert stderr_lines(again)[-1] == "the ledger holds this draw already: nothing new recorded"


def test_sample_from_a_file_of_ids(run: Run, home: Path, tmp_path: Path) -> None:
    ids = recorded_home(run, home, tmp_path)
    listed = tmp_path / "ids.txt"
    listed.write_text("\n".join(ids[:8]) + "\n\n")
    result = run("review", "sample", "--rate", "0.5", "--seed", "9", "--ids", listed, home=home)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 4
    assert set(result.stdout.splitlines()) <= set(ids[:8])
    assert "4 of 8 samples in 1 stratum" in result.stderr


def test_an_ids_file_without_line_ends_is_refused_not_read_whole(
    run: Run, home: Path, tmp_path: Path
) -> None:
    # /dev/zero given as --ids was read as one endless line until memory ran out.
    ids = recorded_home(run, home, tmp_path)
    for path in (Path("/dev/zero"), tmp_path / "glued.txt"):
        if path.parent == tmp_path:
            path.write_text(ids[0] + "x" * 300 + ids[1])
        result = run("review", "sample", "--rate", "0.5", "--seed", "9", "--ids", path, home=home)
        assert result.exit_code == 2, result.output
        assert stderr_lines(result) == [
            f"synthguard: error: {path}: line 1 is longer than 256 characters: not a sample id"
        ]


def test_sample_errors_are_one_line_with_exit_2(run: Run, home: Path, tmp_path: Path) -> None:
    empty = run("review", "sample", "--rate", "0.1", "--seed", "1", home=home)
    assert empty.exit_code == 2
    assert stderr_lines(empty) == [
        "synthguard: error: the sampling frame is empty: no samples to review "
        "(none generated, revised or imported)"
    ]
    recorded_home(run, home, tmp_path)
    too_high = run("review", "sample", "--rate", "2", "--seed", "1", home=home)
    assert too_high.exit_code == 2
    assert stderr_lines(too_high) == [
        "synthguard: error: the review rate is a fraction in (0, 1], not 2.0"
    ]
    assert too_high.stdout == ""
    no_seed = run("review", "sample", "--rate", "0.1", home=home)
    assert no_seed.exit_code == 2
    assert "Missing option '--seed'" in no_seed.stderr


def test_record_signs_a_verdict(run: Run, home: Path, tmp_path: Path) -> None:
    ids = recorded_home(run, home, tmp_path)
    result = run(
        "review",
        "record",
        ids[3][:20],
        "--verdict",
        "bad",
        "--reviewer",
        "alice",
        "--note",
        "wrong sum",
        home=home,
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"bad: {ids[3]} by alice (signed by sha256:")
    with Home(home).open() as ledger:
        (record,) = [e.record for e in records_by_event(ledger, (Event.REVIEWED,))]
    assert record.sample_id == ids[3]
    assert record.detail == {"verdict": "bad", "reviewer": "alice", "note": "wrong sum"}
    verify = run("verify", home=home)
    assert verify.exit_code == 0, verify.output


def test_record_errors_are_one_line_with_exit_2(run: Run, home: Path, tmp_path: Path) -> None:
    ids = recorded_home(run, home, tmp_path)
    unknown = sample_from_row({"text": "never recorded"}).id
    missing = run("review", "record", unknown, "--verdict", "ok", "--reviewer", "bob", home=home)
    assert missing.exit_code == 2
    assert stderr_lines(missing) == [f"synthguard: error: no sample {unknown} in the ledger"]
    bad_verdict = run(
        "review", "record", ids[0], "--verdict", "meh", "--reviewer", "bob", home=home
    )
    assert bad_verdict.exit_code == 2
    assert "'meh' is not one of 'ok', 'bad'" in bad_verdict.stderr
    blank = run("review", "record", ids[0], "--verdict", "ok", "--reviewer", "", home=home)
    assert blank.exit_code == 2
    assert stderr_lines(blank) == ["synthguard: error: reviewer must name who reviewed the sample"]
    with Home(home).open() as ledger:
        assert list(records_by_event(ledger, (Event.REVIEWED,))) == []
