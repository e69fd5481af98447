"""Inputs a fuzzing pass over the CLI found reaching the catch-all ("unexpected ...") or
stopping a whole command: each now ends as one line and the right exit code, and nothing is
lost."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from cli_support import Run, alpaca, stderr_lines, write_jsonl


def _nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


def test_a_row_nested_hundreds_deep_is_quarantined_and_the_rest_screened(
    run: Run, home: Path, tmp_path: Path
) -> None:
    rows = write_jsonl(
        tmp_path / "rows.jsonl",
        [alpaca(0), {**alpaca(1), "meta": _nested(500)}, {**alpaca(2), "meta": _nested(31)}],
    )
    out = tmp_path / "out"
    result = run("screen", rows, "--out", out, "--guards", "unicode,dedup", home=home)
    assert result.exit_code == 0, result.output
    accepted = [json.loads(line) for line in (out / "accepted.jsonl").read_text().splitlines()]
    quarantined = [
        json.loads(line) for line in (out / "quarantined.jsonl").read_text().splitlines()
    ]
    assert [row["instruction"] for row in accepted] == [
        alpaca(0)["instruction"],
        alpaca(2)["instruction"],
    ]
    [deep] = quarantined
    # Kept whole, as its JSON text, with the reason.
    assert json.loads(deep["raw"]) == {**alpaca(1), "meta": _nested(500)}
    assert deep["line"] == 2
    assert "nested too deeply: more than 32 levels" in json.dumps(deep["reasons"])


def _tampered(home: Path, statement: str) -> Path:
    with sqlite3.connect(home / "ledger.db") as db:
        db.execute(statement)
    return home


@pytest.mark.parametrize(
    ("statement", "says"),
    [
        ("UPDATE entries SET envelope = 'not json' WHERE seq = 0", "its envelope is stored as str"),
        ("UPDATE entries SET envelope = 5 WHERE seq = 0", "its envelope is stored as int"),
        ("UPDATE entries SET leaf_hash = 'abc' WHERE seq = 0", "its leaf hash is stored as str"),
        # A TEXT column turns a number into text, but keeps a blob a blob.
        ("UPDATE entries SET key_id = X'00' WHERE seq = 0", "its key id is stored as bytes"),
    ],
)
@pytest.mark.parametrize("command", [["verify"], ["ledger", "show", "0"], ["ledger", "export"]])
def test_a_column_of_another_type_is_a_verification_failure(
    run: Run, home: Path, statement: str, says: str, command: list[str]
) -> None:
    result = run(*command, home=_tampered(home, statement))
    assert result.exit_code == 1, result.output
    assert stderr_lines(result)[-1].startswith(f"synthguard: verification failed: entry 0: {says}")


def test_stored_content_of_another_type_fails_verify(run: Run, home: Path, samples: Path) -> None:
    assert run("record", samples, "--generator", "g", "--model", "m", home=home).exit_code == 0
    result = run("verify", home=_tampered(home, "UPDATE samples SET content = X'FFFE00'"))
    assert result.exit_code == 1
    assert "the stored content is bytes, not text" in stderr_lines(result)[-1]


def test_a_key_cached_as_text_is_noted_not_trusted(run: Run, home: Path) -> None:
    result = run("verify", home=_tampered(home, "UPDATE keys SET public_key = 'abc'"))
    assert result.exit_code == 0, result.output
    assert "has another public key there than the signed key events give" in result.stdout


def test_a_driver_error_is_the_database_failing(run: Run, home: Path, samples: Path) -> None:
    made_by = ["--generator", "g", "--model", "m"]
    result = run("record", samples, *made_by, home=_tampered(home, "DROP TABLE entries"))
    assert result.exit_code == 2
    [line] = stderr_lines(result)
    assert line.startswith("synthguard: error: ")
    assert "unexpected" not in line


def test_a_deeply_nested_home_file_is_one_line(run: Run, home: Path) -> None:
    (home / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    result = run("verify", home=home)
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        "synthguard: error: a value nested too deeply to read (JSON hundreds of levels deep)"
    ]


def test_a_deeply_nested_release_manifest_fails_verification(run: Run, demo: Path) -> None:
    (demo / "release" / "manifest.dsse.json").write_text("[" * 100_000 + "]" * 100_000)
    result = run("release", "verify", demo / "release", "--key", demo / "publisher.pem")
    assert result.exit_code == 1, result.output
    assert stderr_lines(result)[-1].startswith("synthguard: verification failed:")


@pytest.mark.parametrize(
    "args",
    [
        ["record", "x.jsonl", "--generator", "g", "--model", "m", "--run-id", "\udcff"],
        ["report", "--name", "caf\udce9"],
    ],
)
def test_an_argument_that_is_no_utf8_is_one_line(run: Run, home: Path, args: list[str]) -> None:
    result = run(*args, home=home)
    assert result.exit_code == 2
    [line] = stderr_lines(result)
    assert "is not valid UTF-8" in line
    assert "\\xff" in line or "\\xe9" in line


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://127.0.0.1:abc/x", "postgresql+psycopg://127.0.0.1:abc/x"),
        ("postgresql://u:secret@[::1:1/x", "postgresql+psycopg://u:***@[::1:1/x"),
    ],
)
def test_a_ledger_url_that_does_not_parse_is_one_line(
    run: Run, tmp_path: Path, url: str, shown: str
) -> None:
    result = run("--db", url, "verify", home=tmp_path)
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        f"synthguard: error: '{shown}' is not a ledger URL: use sqlite:///PATH or postgresql://..."
    ]


def test_a_position_beyond_any_database_integer_is_a_usage_error(run: Run, home: Path) -> None:
    result = run("ledger", "show", str(2**63), home=home)
    assert result.exit_code == 2
    assert "is not in the range" in stderr_lines(result)[0]


def test_a_scheduler_address_that_does_not_parse_is_one_line(
    run: Run, home: Path, samples: Path, tmp_path: Path
) -> None:
    result = run("screen", samples, "--out", tmp_path / "out", "--scheduler", "garbage", home=home)
    assert result.exit_code == 2
    [line] = [line for line in stderr_lines(result) if line.startswith("synthguard: error")]
    assert line.startswith("synthguard: error: cannot reach the Dask scheduler at garbage")


@pytest.mark.parametrize("names", ["", ",,,", " , "])
def test_a_screen_with_no_guard_is_refused(
    run: Run, home: Path, samples: Path, tmp_path: Path, names: str
) -> None:
    # It would accept every row and sign that it did.
    result = run("screen", samples, "--out", tmp_path / "out", "--guards", names, home=home)
    assert result.exit_code == 2
    assert "Invalid value for '--guards': names no guard" in stderr_lines(result)[0]
    assert not (tmp_path / "out").exists()


def test_an_ids_file_that_is_no_text_is_one_line(run: Run, home: Path, tmp_path: Path) -> None:
    ids = tmp_path / "ids.bin"
    ids.write_bytes(b"\xff\xfe\x00\x81" * 64)
    result = run("review", "sample", "--rate", "1", "--seed", "2", "--ids", ids, home=home)
    assert result.exit_code == 2
    assert stderr_lines(result) == [f"synthguard: error: {ids}: not UTF-8 text: invalid start byte"]


@pytest.mark.parametrize("envelope", ["X'DEADBEEF'", "X'00'", "CAST('[[1]' AS BLOB)"])
def test_an_envelope_that_does_not_decode_stops_the_export(
    run: Run, home: Path, envelope: str
) -> None:
    result = run(
        "ledger", "export", home=_tampered(home, f"UPDATE entries SET envelope = {envelope}")
    )
    assert result.exit_code == 1
    assert stderr_lines(result)[-1].startswith(
        "synthguard: verification failed: entry 0: the envelope cannot be decoded"
    )


def _entries(home: Path) -> int:
    with sqlite3.connect(home / "ledger.db") as db:
        return int(db.execute("SELECT count(*) FROM entries").fetchone()[0])


@pytest.mark.parametrize("depth", [32, 5000])
def test_a_param_nested_too_deeply_is_a_usage_error(
    run: Run, home: Path, tmp_path: Path, depth: int
) -> None:
    rows = write_jsonl(tmp_path / "rows.jsonl", [alpaca(0)])
    before = _entries(home)
    deep = "[" * depth + '"x"' + "]" * depth  # json.dumps itself recurses
    result = run(
        "record", rows, "--generator", "g", "--model", "m", "--param", f"x={deep}", home=home
    )
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        "synthguard: error: Invalid value for '--param': 'x': its JSON is nested too deeply "
        "(more than 31 levels) (see 'synthguard record --help')"
    ]
    assert _entries(home) == before
    # One level less is a parameter like any other.
    deep = json.dumps(_nested(31))
    result = run(
        "record", rows, "--generator", "g", "--model", "m", "--param", f"x={deep}", home=home
    )
    assert result.exit_code == 0, result.output
    assert run("verify", home=home).exit_code == 0


@pytest.mark.parametrize("command", [["verify"], ["ledger", "show", "0"], ["audit"]])
def test_an_empty_database_file_is_no_ledger_and_stays_empty(
    run: Run, tmp_path: Path, command: list[str]
) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    result = run("--db", f"sqlite:///{empty}", *command)
    assert result.exit_code == 2, result.output
    assert stderr_lines(result) == [
        f"synthguard: error: no synthguard ledger at {empty}: the file is empty "
        "(run `synthguard init`)"
    ]
    assert empty.stat().st_size == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["empty.db"]


def test_revoking_a_revoked_key_again_signs_nothing(run: Run, home: Path) -> None:
    assert run("keys", "generate", home=home).exit_code == 0
    with sqlite3.connect(home / "ledger.db") as db:
        (key_id,) = db.execute("SELECT key_id FROM keys ORDER BY added_seq DESC").fetchone()
    first = run("keys", "revoke", key_id, "--reason", "laptop lost", home=home)
    assert first.exit_code == 0, first.output
    revoked_at = _entries(home) - 1
    again = run("keys", "revoke", key_id, "--reason", "laptop lost", home=home)
    assert again.exit_code == 0, again.output
    assert again.stdout == ""
    assert stderr_lines(again) == [
        f"synthguard: note: {key_id} was revoked at entry {revoked_at} already; nothing signed"
    ]
    assert _entries(home) == revoked_at + 1
    assert run("verify", home=home).exit_code == 0


def test_a_home_signs_into_no_ledger_founded_by_another_key(
    run: Run, home: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    assert run("init", home=other).exit_code == 0
    rows = write_jsonl(tmp_path / "rows.jsonl", [alpaca(0)])
    before = _entries(other)
    result = run(
        "--db",
        f"sqlite:///{other / 'ledger.db'}",
        "record",
        rows,
        "--generator",
        "g",
        "--model",
        "m",
        home=home,
    )
    assert result.exit_code == 2
    [line] = stderr_lines(result)
    pinned = json.loads((home / "config.json").read_text())["root_key"]
    founder = json.loads((other / "config.json").read_text())["root_key"]
    assert line.startswith(
        f"synthguard: error: refusing to sign: the ledger at sqlite:///{other / 'ledger.db'} was "
        f"founded by key {founder}, not by {pinned}, the genesis key this home pins"
    )
    assert _entries(other) == before
    # A key made for that ledger is not left behind in the home.
    keys_before = sorted((home / "keys").iterdir())
    generated = run("--db", f"sqlite:///{other / 'ledger.db'}", "keys", "generate", home=home)
    assert generated.exit_code == 2
    assert "refusing to sign" in generated.stderr
    assert sorted((home / "keys").iterdir()) == keys_before
    # The home's own ledger still takes its records.
    assert run("record", rows, "--generator", "g", "--model", "m", home=home).exit_code == 0


def test_an_edited_root_key_pin_stops_signing_before_verify_would_fail(
    run: Run, home: Path, tmp_path: Path
) -> None:
    config = json.loads((home / "config.json").read_text())
    (home / "config.json").write_text(json.dumps({**config, "root_key": "sha256:" + "0" * 64}))
    rows = write_jsonl(tmp_path / "rows.jsonl", [alpaca(0)])
    before = _entries(home)
    result = run("record", rows, "--generator", "g", "--model", "m", home=home)
    assert result.exit_code == 2
    assert "refusing to sign" in result.stderr
    assert "(config.json's root_key)" in result.stderr
    assert _entries(home) == before


def test_a_folder_in_place_of_the_kept_note_stops_a_writer_before_it_signs(
    run: Run, home: Path, samples: Path
) -> None:
    """The note is written after a batch's appends: a folder there once made the command fail
    after signing. Now it is one line before anything is signed, and for `verify` too."""
    note = home / "checkpoint.note"
    note.unlink()
    note.mkdir()
    before = _entries(home)
    for args in (("record", samples, "--generator", "g", "--model", "m"), ("verify",)):
        result = run(*args, home=home)
        assert result.exit_code == 2
        assert stderr_lines(result) == [
            f"synthguard: error: {note} is a folder, not the file where this home keeps the "
            "last checkpoint it signed: move it aside"
        ]
    assert _entries(home) == before
    note.rmdir()
    assert run("record", samples, "--generator", "g", "--model", "m", home=home).exit_code == 0
    assert run("verify", home=home).exit_code == 0
