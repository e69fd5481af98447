"""What `synthguard screen` prints: the funnel table by the names `--guards` takes, its columns
aligned whatever the guards' own names, and counts of one said in the singular."""

from __future__ import annotations

from pathlib import Path

from cli_support import Run, alpaca, write_jsonl

from synthguard.guards.pipeline import ALL_GUARDS


def _table(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("guard "))
    end = next(i for i, line in enumerate(lines) if " accepted, " in line)
    return lines[start : end + 1]


def test_the_table_names_guards_as_guards_takes_them_in_aligned_columns(
    run: Run, home: Path, tmp_path: Path
) -> None:
    rows = [alpaca(i) for i in range(4)] + [alpaca(0), {"unrelated": 1}]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    protected = write_jsonl(tmp_path / "eval.jsonl", [alpaca(3)])

    result = run(
        "screen",
        source,
        "--out",
        tmp_path / "out",
        "--guards",
        ",".join(ALL_GUARDS),
        "--protected",
        protected,
        home=home,
    )

    assert result.exit_code == 0, result.output
    header, *body, total = _table(result.stdout)
    # The guards' own names (`toxicity-alt-profanity-check`, `self-instruct-rouge-l`, ...) are
    # longer than the names `--guards` takes; the table shows the latter.
    names = [line.split()[0] for line in body]
    assert names == ["input", *ALL_GUARDS[:2], *ALL_GUARDS[1:], "quarantine"]
    family = header.index("family")
    checked = header.index("checked") + len("checked")
    held = header.index("quarantined") + len("quarantined")
    rules = header.index("rules")
    for line in body:
        name, kind, seen, stopped, *rule = line.split()
        assert line[:family].rstrip() == name
        assert line[family:].split()[0] == kind
        assert line[:checked].split()[-1] == seen
        assert line[:held].split()[-1] == stopped
        assert line[rules:].split() == rule
    assert body[0].split()[2:] == ["6", "1", "malformed", "1"]
    assert total.startswith("6 rows: ")


def test_one_row_is_said_in_the_singular(run: Run, home: Path, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [alpaca(1)])

    result = run("screen", source, "--out", tmp_path / "out", "--guards", "unicode", home=home)

    assert result.exit_code == 0, result.output
    assert _table(result.stdout)[-1] == "1 row: 1 accepted, 0 quarantined"
