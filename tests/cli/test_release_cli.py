"""`synthguard release create` and `release verify`: record -> screen -> release -> verify through
the CLI, exit codes 0/1/2 and one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_support import Run, alpaca, stderr_lines, write_jsonl

from synthguard.ledger.home import Home
from synthguard.ledger.log.lineage import records_by_event
from synthguard.ledger.release.manifest import JSONL_FILE, MANIFEST_FILE
from synthguard.provenance import named_file
from synthguard.provenance.canonical import digest
from synthguard.provenance.record import Event
from synthguard.provenance.sample import original_row, sample_from_row

# A zero-width space: the unicode guard quarantines it.
PLANTED = {"instruction": "Add 2 and\u200b 2.", "input": "", "output": "4"}


@pytest.fixture
def screened(run: Run, home: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Record 6 good rows and a planted one, screen them; return (input file, screen folder)."""
    source = write_jsonl(tmp_path / "samples.jsonl", [*(alpaca(i) for i in range(6)), PLANTED])
    recorded = run("record", source, "--generator", "g", "--model", "m", home=home)
    assert recorded.exit_code == 0, recorded.output
    out = tmp_path / "screened"
    screen = run("screen", source, "--out", out, "--guards", "unicode", home=home)
    assert screen.exit_code == 0, screen.output
    return source, out


def export_key(run: Run, home: Path, tmp_path: Path, fmt: str) -> Path:
    """The home's public key, as `keys export --format FMT` prints it, in a file."""
    exported = run("keys", "export", "--format", fmt, home=home)
    assert exported.exit_code == 0, exported.output
    path = tmp_path / f"key.{fmt}"
    path.write_text(exported.stdout)
    return path


def test_create_then_verify_with_the_exported_key(
    run: Run, home: Path, tmp_path: Path, screened: tuple[Path, Path]
) -> None:
    _, folder = screened
    out = tmp_path / "release"

    created = run("release", "create", "v1", "--from", folder, "--out", out, home=home)

    assert created.exit_code == 0, created.output
    lines = created.stdout.splitlines()
    assert lines[0] == f"released 'v1': 6 samples from {folder / 'accepted.jsonl'} to {out}"
    manifest_digest = digest((out / MANIFEST_FILE).read_bytes())
    assert manifest_digest in lines[1]
    assert "outcomes    accepted 6" in created.stdout
    with Home(home).open() as ledger:
        released = [e.record for e in records_by_event(ledger, [Event.RELEASED])]
    assert len(released) == 6
    assert {r.detail["manifest"] for r in released} == {manifest_digest}
    assert run("verify", home=home).exit_code == 0

    for fmt in ("pem", "vkey", "both"):
        key = export_key(run, home, tmp_path, fmt)
        verified = run("release", "verify", out, "--key", key)
        assert verified.exit_code == 0, verified.output
        assert verified.stderr == ""
        assert verified.stdout.startswith("ok: release 'v1' verified: 6 samples, 12 signed records")


def release_v1(run: Run, home: Path, tmp_path: Path, screened: tuple[Path, Path]) -> Path:
    """`release create v1` of the screened folder; the release folder."""
    _, folder = screened
    out = tmp_path / "release"
    assert run("release", "create", "v1", "--from", folder, "--out", out, home=home).exit_code == 0
    return out


def test_verify_without_a_key_warns_trust_on_first_use(
    run: Run, home: Path, tmp_path: Path, screened: tuple[Path, Path]
) -> None:
    out = release_v1(run, home, tmp_path, screened)
    key_id = json.loads((home / "config.json").read_text())["active_key"]

    verified = run("release", "verify", out)

    assert verified.exit_code == 0, verified.output
    assert stderr_lines(verified) == [
        f"synthguard: warning: signed by {key_id}, trusted on first use: pass --key to pin"
    ]
    assert "not pinned" in verified.stdout
    # The headline does not say "verified" of a folder anyone could have signed.
    assert verified.stdout.startswith("ok: release 'v1' consistent, but with a key nothing pins")


@pytest.mark.parametrize("hostile", ["fifo", "dev-zero", "folder"])
def test_a_named_key_or_note_that_is_no_regular_file_is_one_line(
    run: Run,
    home: Path,
    tmp_path: Path,
    screened: tuple[Path, Path],
    hostile: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A key file shipped beside a hostile release (or a checkpoint note, a report) that is a
    # FIFO would block the reader forever, a link to /dev/zero fill its memory.
    monkeypatch.setattr(named_file, "PIPE_SECONDS", 1)
    out = release_v1(run, home, tmp_path, screened)
    path = tmp_path / "publisher.pem"
    if hostile == "fifo":
        os.mkfifo(path)
    elif hostile == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    for args in (
        ("release", "verify", out, "--key", path),
        ("verify", "--checkpoint", path),
        ("audit", "--report", path),
    ):
        failed = run(*args, home=home)
        assert failed.exit_code == 2, (args, failed.output)
        (line,) = stderr_lines(failed)
        assert line.startswith("synthguard: error: "), line
        assert str(path) in line
        assert "cannot read the " in line or "is a directory" in line, line


def test_verify_names_what_the_folder_holds_beside_the_signed_files(
    run: Run, home: Path, tmp_path: Path, screened: tuple[Path, Path]
) -> None:
    # A file slipped in beside the data (a pipeline that globs *.jsonl would train on it) is
    # no part of what the manifest signs: verify says so, on stdout and as a warning.
    out = release_v1(run, home, tmp_path, screened)
    key = export_key(run, home, tmp_path, "pem")
    verified = run("release", "verify", out, "--key", key)
    assert "unsigned" not in verified.output

    write_jsonl(out / "extra.jsonl", [{"instruction": "i", "input": "", "output": "poison"}])
    (out / "croissant.json").write_text("{}\n")
    verified = run("release", "verify", out, "--key", key)

    assert verified.exit_code == 0, verified.output
    assert stderr_lines(verified) == [
        f"synthguard: warning: {out} also holds croissant.json, extra.jsonl, which the signed "
        "manifest does not list: do not take them for part of the release"
    ]
    assert (
        "  unsigned    croissant.json, extra.jsonl: in the folder, but not in the signed "
        "manifest; nothing vouches for them"
    ) in verified.stdout.splitlines()


def test_a_tampered_release_exits_1_with_one_line(
    run: Run, home: Path, tmp_path: Path, screened: tuple[Path, Path]
) -> None:
    _, folder = screened
    out = tmp_path / "release"
    assert run("release", "create", "v1", "--from", folder, "--out", out, home=home).exit_code == 0
    data = out / JSONL_FILE
    data.write_text(data.read_text().replace("Add 1", "Add 5"))

    verified = run("release", "verify", out, "--key", export_key(run, home, tmp_path, "pem"))

    assert verified.exit_code == 1
    assert stderr_lines(verified) == [
        f"synthguard: verification failed: {JSONL_FILE}: its SHA-256 differs from the one the "
        "manifest signed"
    ]
    assert verified.stdout == ""


def test_the_ids_a_user_reads_carry_from_screen_to_release(
    run: Run, home: Path, tmp_path: Path
) -> None:
    rows = [{**alpaca(i), "sample_id": f"mine-{i}"} for i in range(3)] + [PLANTED]
    source = write_jsonl(tmp_path / "samples.jsonl", rows)
    assert run("record", source, "--generator", "g", "--model", "m", home=home).exit_code == 0
    folder = tmp_path / "screened"
    screen = run("screen", source, "--out", folder, "--guards", "unicode", home=home)
    assert screen.exit_code == 0, screen.output
    (held,) = [json.loads(line) for line in (folder / "quarantined.jsonl").read_text().splitlines()]
    assert held["sample_id"] == sample_from_row(PLANTED).id
    overridden = run("quarantine", "release", held["sample_id"], "--reason", "ok", home=home)
    assert overridden.exit_code == 0, overridden.output
    out = tmp_path / "release"

    created = run("release", "create", "v1", "--from", folder, "--out", out, home=home)

    assert created.exit_code == 0, created.output
    released = [json.loads(line) for line in (out / JSONL_FILE).read_text().splitlines()]
    ids = {sample_from_row(row).id: row for row in rows}
    assert sorted(row["sample_id"] for row in released) == sorted(ids)
    for row in released:  # the tool's id, and the row's own field kept aside
        assert original_row(row) == ids[row["sample_id"]]
    assert sorted(row.get("_sample_id", "-") for row in released) == [
        "-",
        "mine-0",
        "mine-1",
        "mine-2",
    ]
    assert run("release", "verify", out).exit_code == 0
    lineage = run("lineage", released[0]["sample_id"], home=home)
    assert lineage.exit_code == 0, lineage.output
    assert "screened   accepted  depth 1" in lineage.stdout
    assert "released " in lineage.stdout


def test_an_old_release_verifies_with_its_retired_key_exported_by_id(
    run: Run, home: Path, tmp_path: Path, screened: tuple[Path, Path]
) -> None:
    _, folder = screened
    out = tmp_path / "release"
    assert run("release", "create", "v1", "--from", folder, "--out", out, home=home).exit_code == 0
    old = json.loads((home / "config.json").read_text())["active_key"]
    assert run("keys", "rotate", home=home).exit_code == 0

    exported = run("keys", "export", old, "--format", "pem", home=home)

    assert exported.exit_code == 0, exported.output
    assert "was retired at entry" in exported.stderr
    key = tmp_path / "old.pem"
    key.write_text(exported.stdout)
    verified = run("release", "verify", out, "--key", key)
    assert verified.exit_code == 0, verified.output
    assert verified.stderr == ""


def test_a_quarantined_sample_is_refused_then_released_by_an_override(
    run: Run, home: Path, tmp_path: Path, screened: tuple[Path, Path]
) -> None:
    source, _ = screened
    planted = sample_from_row(PLANTED).id
    out = tmp_path / "release"

    refused = run("release", "create", "v1", "--from", source, "--out", out, home=home)

    assert refused.exit_code == 2
    assert stderr_lines(refused) == [
        "synthguard: error: 1 of 7 samples may not be released, so nothing was: "
        f"1 quarantined: {planted}"
    ]
    assert not out.exists()

    overridden = run(
        "quarantine", "release", planted, "--reason", "a typo", "--reviewer", "ana", home=home
    )
    assert overridden.exit_code == 0, overridden.output
    created = run("release", "create", "v1", "--from", source, "--out", out, home=home)
    assert created.exit_code == 0, created.output
    assert "outcomes    accepted 6, override 1" in created.stdout
    assert run("release", "verify", out).exit_code == 0


def test_unscreened_samples_are_refused_with_exit_2(
    run: Run, home: Path, tmp_path: Path, screened: tuple[Path, Path]
) -> None:
    late = [alpaca(i) for i in range(50, 52)]
    source = write_jsonl(tmp_path / "late.jsonl", late)
    assert run("record", source, "--generator", "g", "--model", "m", home=home).exit_code == 0

    refused = run("release", "create", "v1", "--from", source, "--out", tmp_path / "r", home=home)

    assert refused.exit_code == 2
    (line,) = stderr_lines(refused)
    assert line.startswith("synthguard: error: 2 of 2 samples may not be released")
    assert all(sample_from_row(row).id in line for row in late)


def test_the_home_policy_refuses_unless_justified(
    run: Run, home: Path, tmp_path: Path, screened: tuple[Path, Path]
) -> None:
    _, folder = screened
    config_path = home / "config.json"
    config = json.loads(config_path.read_text())
    config["policy"] = {"max_depth": 0}
    config_path.write_text(json.dumps(config))
    out = tmp_path / "release"

    refused = run("release", "create", "v1", "--from", folder, "--out", out, home=home)

    assert refused.exit_code == 2
    assert stderr_lines(refused) == [
        "synthguard: error: the policy refuses this release: generation depth 1 exceeds the cap "
        "of 0 (a justification, --justify TEXT, releases it anyway, on the record)"
    ]

    justified = run(
        "release",
        "create",
        "v1",
        "--from",
        folder,
        "--out",
        out,
        "--justify",
        "a probe set",
        home=home,
    )
    assert justified.exit_code == 0, justified.output
    assert "policy      generation depth 1 exceeds the cap of 0 (justified)" in justified.stdout
    verified = run("release", "verify", out)
    assert verified.exit_code == 0, verified.output
    assert "generation depth 1 exceeds the cap of 0; justified: a probe set" in verified.stdout


def test_usage_errors_exit_2(
    run: Run, home: Path, tmp_path: Path, screened: tuple[Path, Path]
) -> None:
    _, folder = screened
    out = tmp_path / "release"
    out.mkdir()
    exists = run("release", "create", "v1", "--from", folder, "--out", out, home=home)
    assert exists.exit_code == 2
    assert stderr_lines(exists) == [
        f"synthguard: error: {out} exists already; a release goes into a new folder"
    ]

    not_a_key = tmp_path / "key.txt"
    not_a_key.write_text("hello\n")
    bad_key = run("release", "verify", out, "--key", not_a_key)
    assert bad_key.exit_code == 2
    assert stderr_lines(bad_key) == [
        f"synthguard: error: {not_a_key}: not a signed-note verifier key line"
    ]

    missing = run("release", "verify", tmp_path / "nowhere")
    assert missing.exit_code == 2
    assert stderr_lines(missing) == [
        f"synthguard: error: {tmp_path / 'nowhere'} is not a release folder"
    ]


def test_an_out_folder_the_system_refuses_is_one_line(
    run: Run, home: Path, tmp_path: Path, screened: tuple[Path, Path]
) -> None:
    # The system's own words, with the path it refused, not "unexpected FileExistsError".
    _, folder = screened
    blocker = tmp_path / "afile"
    blocker.write_text("in the way\n")
    created = run("release", "create", "v1", "--from", folder, "--out", blocker / "rel", home=home)
    assert created.exit_code == 2, created.output
    (line,) = stderr_lines(created)
    assert line.startswith("synthguard: error: "), line
    assert "unexpected" not in line
    assert "afile" in line
