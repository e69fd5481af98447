"""The dedup index a screen decides from is sealed by a signed head: changed, rolled back,
stripped of its head or re-signed by an outsider, it is refused before anything is screened;
an index an older synthguard saved is taken once, said so, and signed from then on."""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cli_support import Run, stderr_lines, write_jsonl
from sqlalchemy import text
from test_cli_shared_dedup import row, second_writer, sentence

from synthguard.guards.dedup.guard import DedupGuard
from synthguard.guards.dedup.index import DedupIndex, index_path
from synthguard.guards.dedup.segments import WAIT_NOTE_AFTER
from synthguard.guards.dedup.tables import SegmentTables
from synthguard.ledger.home import Home
from synthguard.ledger.log import HEAD_TYPE
from synthguard.ledger.log.store import engine_for
from synthguard.provenance.canonical import canonical_json
from synthguard.provenance.dsse import sign_envelope
from synthguard.provenance.errors import InputError
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.sample import sample_from_row

MANIFEST = "manifest.json"


def rows(seed: int, count: int) -> list[dict[str, str]]:
    """Unrelated rows (made-up words: no two share many 3-grams)."""
    rng = random.Random(seed)
    return [row(f"Explain item {seed}-{i}.", sentence(rng, 40)) for i in range(count)]


def copies(items: list[dict[str, str]]) -> list[dict[str, str]]:
    """Exact copies after normalisation (case), so other sample ids: what dedup must catch."""
    return [row(r["instruction"].upper(), r["output"].upper()) for r in items]


def screen(run: Run, home: Path, tmp_path: Path, name: str, items: list[dict[str, str]]) -> Any:
    source = write_jsonl(tmp_path / f"{name}.jsonl", items)
    return run("screen", source, "--out", tmp_path / f"out-{name}", "--guards", "dedup", home=home)


def accepted(tmp_path: Path, name: str) -> list[str]:
    lines = (tmp_path / f"out-{name}" / "accepted.jsonl").read_text().splitlines()
    return [json.loads(line)["instruction"] for line in lines]


def manifest(home: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((home / "dedup" / MANIFEST).read_text())
    return data


def write_manifest(home: Path, data: dict[str, Any]) -> None:
    (home / "dedup" / MANIFEST).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def refused(result: Any, *words: str) -> None:
    """The screen stopped with one error line naming `words`, and wrote no outputs."""
    assert result.exit_code == 1, result.output
    (line,) = stderr_lines(result)
    assert line.startswith("synthguard: verification failed: the dedup index"), line
    for word in words:
        assert word in line, line


@pytest.fixture
def screened(run: Run, home: Path, tmp_path: Path) -> list[dict[str, str]]:
    """`home` after two screens of fresh rows (heads 1 and 2); the rows of the first."""
    first = rows(1, 5)
    assert screen(run, home, tmp_path, "first", first).exit_code == 0
    assert screen(run, home, tmp_path, "second", rows(2, 5)).exit_code == 0
    return first


def test_each_save_signs_a_newer_head_that_the_next_screen_checks(
    run: Run, home: Path, tmp_path: Path, screened: list[dict[str, str]]
) -> None:
    head = json.loads(manifest(home)["head"])
    assert head["payloadType"] == HEAD_TYPE
    body = json.loads(base64.b64decode(head["payload"]))
    assert body["version"] == 2
    assert body["kind"] == "dedup-index"
    assert [s["sha256"] for s in body["state"]["segments"]] == [
        s["sha256"] for s in manifest(home)["segments"]
    ]
    kept = json.loads((home / "heads.json").read_text())
    assert [v["version"] for v in kept.values()] == [2]

    # The sealed index still deduplicates.
    again = screen(run, home, tmp_path, "again", copies(screened))
    assert again.exit_code == 0, again.output
    assert accepted(tmp_path, "again") == []


def test_a_segment_dropped_from_the_index_is_refused(
    run: Run, home: Path, tmp_path: Path, screened: list[dict[str, str]]
) -> None:
    # Without the first segment, the first screen's rows would pass as new.
    data = manifest(home)
    data["segments"] = data["segments"][1:]
    write_manifest(home, data)

    refused(screen(run, home, tmp_path, "again", screened), "does not hold", "without a key")
    assert not (tmp_path / "out-again").exists()


def test_a_rolled_back_index_is_refused(
    run: Run, home: Path, tmp_path: Path, screened: list[dict[str, str]]
) -> None:
    saved = tmp_path / "index-at-2"
    shutil.copytree(home / "dedup", saved)
    more = rows(3, 4)
    assert screen(run, home, tmp_path, "third", more).exit_code == 0
    # The index as it was before the third screen: signed, whole, and one version old.
    shutil.rmtree(home / "dedup")
    shutil.copytree(saved, home / "dedup")

    refused(screen(run, home, tmp_path, "again", more), "version 2", "version 3", "rolled back")


def test_an_index_stripped_of_its_head_is_refused(
    run: Run, home: Path, tmp_path: Path, screened: list[dict[str, str]]
) -> None:
    data = manifest(home)
    del data["head"]
    write_manifest(home, data)

    refused(screen(run, home, tmp_path, "again", screened), "no signed head", "version 2")


def test_a_removed_index_is_refused_and_the_message_says_how_to_start_over(
    run: Run, home: Path, tmp_path: Path, screened: list[dict[str, str]]
) -> None:
    shutil.rmtree(home / "dedup")

    refused(screen(run, home, tmp_path, "again", screened), "heads.json")
    (home / "heads.json").unlink()
    assert screen(run, home, tmp_path, "fresh", screened).exit_code == 0
    assert accepted(tmp_path, "fresh") == [r["instruction"] for r in screened]


def test_a_head_signed_by_a_key_outside_the_ledger_is_refused(
    run: Run, home: Path, tmp_path: Path, screened: list[dict[str, str]]
) -> None:
    data = manifest(home)
    body = json.loads(base64.b64decode(json.loads(data["head"])["payload"]))
    outsider = SigningKey.generate()
    data["segments"] = data["segments"][1:]
    body["state"]["segments"] = body["state"]["segments"][1:]
    body["version"] += 1
    body["signer"] = outsider.key_id
    data["head"] = sign_envelope(canonical_json(body), HEAD_TYPE, outsider).decode()
    write_manifest(home, data)

    refused(screen(run, home, tmp_path, "again", screened), "does not verify", "unknown key")


def test_an_index_saved_before_heads_is_taken_once_and_signed(
    run: Run, home: Path, tmp_path: Path
) -> None:
    first = rows(4, 3)
    # As an older synthguard saved it: the same folder, no head.
    with DedupIndex.open(index_path(Home(home))) as index:
        guard = DedupGuard(index)
        guard.check([sample_from_row(r) for r in first])
        guard.save()
    assert "head" not in manifest(home)

    taken = screen(run, home, tmp_path, "again", copies(first))
    assert taken.exit_code == 0, taken.output
    assert "has no signed head (an older synthguard saved it)" in taken.stdout
    assert accepted(tmp_path, "again") == []  # deduplicated against the old index
    assert "head" in manifest(home)
    # From now on, a head taken away is refused.
    data = manifest(home)
    del data["head"]
    write_manifest(home, data)
    refused(screen(run, home, tmp_path, "later", first), "no signed head")


def unsealed_save(home: Path, items: list[dict[str, str]]) -> None:
    """Add `items` to the home's index through the library without its ledger."""
    with DedupIndex.at(Home(home)) as index:
        guard = DedupGuard(index)
        guard.check([sample_from_row(r) for r in items])
        guard.save()


def test_a_sealed_index_is_not_saved_without_its_ledger(
    run: Run, home: Path, tmp_path: Path, screened: list[dict[str, str]]
) -> None:
    before = manifest(home)
    with pytest.raises(InputError, match="is sealed by a signed head: save it with its ledger"):
        unsealed_save(home, rows(7, 2))
    assert manifest(home) == before
    assert screen(run, home, tmp_path, "again", copies(screened)).exit_code == 0


@pytest.mark.postgres
def test_a_shared_index_changed_in_the_database_is_refused_on_every_machine(
    run: Run, tmp_path: Path, postgres_url: str
) -> None:
    home_a, home_b = tmp_path / "machine-a", tmp_path / "machine-b"
    assert run("--db", postgres_url, "init", home=home_a).exit_code == 0
    second_writer(run, home_a, home_b, postgres_url)
    first, second = rows(5, 4), rows(6, 4)
    assert screen(run, home_a, tmp_path, "a", first).exit_code == 0
    # B checks the head A signed (A's key is one of the ledger's), then signs its own.
    assert screen(run, home_b, tmp_path, "b", second).exit_code == 0
    verified = run("verify", home=home_a)
    assert verified.exit_code == 0, verified.output
    assert "dedup index in the ledger database" in verified.stdout
    assert "8 samples in 2 segments, as its signed head (version 2) lists" in verified.stdout

    with pytest.raises(InputError, match="is sealed by a signed head"):
        unsealed_save(home_a, rows(7, 2))

    # Someone with the database, no key: the first screen's segment goes, so its rows
    # would pass as new.
    engine = engine_for(postgres_url)
    try:
        with engine.begin() as conn:
            first_seq = conn.execute(text("SELECT min(seq) FROM dedup_segments")).scalar_one()
            for table in ("dedup_chunks", "dedup_segments"):
                conn.execute(text(f"DELETE FROM {table} WHERE seq = :seq"), {"seq": first_seq})
    finally:
        engine.dispose()

    for home, name in ((home_a, "a-again"), (home_b, "b-again")):
        refused(screen(run, home, tmp_path, name, first), "does not hold", "without a key")
        refused(run("verify", home=home), "in the ledger database", "does not hold")


def head_of(home: Path) -> dict[str, Any]:
    """The signed payload of the index's head."""
    envelope = json.loads(manifest(home)["head"])
    body: dict[str, Any] = json.loads(base64.b64decode(envelope["payload"]))
    return body


def test_heads_signed_before_a_key_rotation_still_verify(
    run: Run, home: Path, tmp_path: Path, screened: list[dict[str, str]]
) -> None:
    old_signer = head_of(home)["signer"]
    assert run("keys", "rotate", home=home).exit_code == 0
    # Entries after the rotation: the retired key signs nothing from here on.
    source = write_jsonl(tmp_path / "more.jsonl", rows(8, 3))
    assert run("record", source, "--generator", "g", "--model", "m", home=home).exit_code == 0

    # The head it signed holds for the ledger size it was signed at, as its entries do.
    again = screen(run, home, tmp_path, "again", copies(screened))
    assert again.exit_code == 0, again.output
    assert accepted(tmp_path, "again") == []
    # The next save that adds samples signs with the new key.
    assert screen(run, home, tmp_path, "fresh", rows(9, 2)).exit_code == 0
    assert head_of(home)["signer"] != old_signer


def test_a_head_signed_by_a_revoked_key_is_refused(
    run: Run, home: Path, tmp_path: Path, screened: list[dict[str, str]]
) -> None:
    old_signer = head_of(home)["signer"]
    assert run("keys", "rotate", home=home).exit_code == 0
    revoked = run("keys", "revoke", old_signer, "--reason", "laptop stolen", home=home)
    assert revoked.exit_code == 0, revoked.output

    refused(screen(run, home, tmp_path, "again", copies(screened)), "was revoked", "heads.json")


def test_a_second_screen_of_one_home_waits_for_the_first_to_save(
    home: Path, passphrase: str, screened: list[dict[str, str]]
) -> None:
    # The folder is held from a screen's load to its save: two at once decided from the same
    # index before, and kept each other's copies.
    at = Home(home)
    notes: list[str] = []
    with at.open(lambda: passphrase) as ledger:
        first = DedupIndex.at(at, ledger=ledger)
        DedupGuard(first).check([sample_from_row(r) for r in rows(10, 2)])
        with ThreadPoolExecutor(1) as pool:
            second = pool.submit(DedupIndex.at, at, ledger=ledger, on_wait=notes.append)
            time.sleep(WAIT_NOTE_AFTER + 0.5)
            assert not second.done()  # it waits for the first screen
            first.save()
            with second.result(timeout=30) as after:
                assert len(after) == 10 + 2  # it decides from what the first one saved
                DedupGuard(after).check([sample_from_row(r) for r in rows(11, 2)])
                after.save()
    assert head_of(home)["version"] == 4
    (note,) = notes
    assert note.startswith(f"waiting for the dedup index at {home / 'dedup'}: another screen (")
    assert note.endswith(f"pid {os.getpid()}) holds it until that screen ends")


def test_verify_checks_the_index_against_its_head(
    run: Run, home: Path, tmp_path: Path, screened: list[dict[str, str]]
) -> None:
    kept = (home / "heads.json").read_bytes()
    verified = run("verify", home=home)
    assert verified.exit_code == 0, verified.output
    assert (
        f"dedup index at {home / 'dedup'}: 10 samples in 2 segments, as its signed head "
        "(version 2) lists"
    ) in verified.stdout.splitlines()
    assert (home / "heads.json").read_bytes() == kept  # verify only reads

    # A home that never accepted a head of this index says what it could not check.
    (home / "heads.json").unlink()
    verified = run("verify", home=home)
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.rstrip().endswith(
        "(version 2) lists; this home has accepted no head of it before, so an older one would pass"
    )
    assert not (home / "heads.json").exists()
    (home / "heads.json").write_bytes(kept)

    data = manifest(home)
    write_manifest(home, {**data, "segments": data["segments"][1:]})
    refused(run("verify", home=home), "does not hold", "without a key")

    write_manifest(home, data)
    assert run("verify", home=home).exit_code == 0
    segment = home / "dedup" / data["segments"][0]["file"]
    segment.write_bytes(segment.read_bytes() + b"\0")
    refused(run("verify", home=home), "is damaged", "does not match its SHA-256")


@pytest.mark.parametrize("removed", ["the folder", "its manifest"])
def test_verify_and_audit_refuse_a_removed_index_as_a_screen_does(
    run: Run, home: Path, tmp_path: Path, screened: list[dict[str, str]], removed: str
) -> None:
    if removed == "the folder":
        shutil.rmtree(home / "dedup")
    else:
        (home / "dedup" / MANIFEST).unlink()

    refused(run("verify", home=home), "no signed head", "version 2", "heads.json")
    audited = run("audit", home=home)
    assert audited.exit_code == 1, audited.output
    line = next(line for line in audited.stdout.splitlines() if "dedup index" in line)
    assert line.startswith("FAIL")
    assert "no signed head, but this home accepted its version 2" in line
    refused(screen(run, home, tmp_path, "again", screened), "no signed head")


def test_verify_says_nothing_of_an_index_no_screen_made(run: Run, home: Path) -> None:
    verified = run("verify", home=home)
    assert verified.exit_code == 0, verified.output
    assert "dedup index" not in verified.output


def test_verify_names_an_index_saved_before_heads_and_leaves_it_as_it_is(
    run: Run, home: Path
) -> None:
    with DedupIndex.open(index_path(Home(home))) as index:
        guard = DedupGuard(index)
        guard.check([sample_from_row(r) for r in rows(8, 3)])
        guard.save()
    before = manifest(home)

    verified = run("verify", home=home)
    assert verified.exit_code == 0, verified.output
    assert "3 samples in 1 segment, saved before indexes were signed; the next screen signs it" in (
        verified.stdout
    )
    assert manifest(home) == before
    assert not (home / "heads.json").exists()


def test_audit_lists_the_index_and_fails_on_a_changed_one(
    run: Run, home: Path, tmp_path: Path, screened: list[dict[str, str]]
) -> None:
    audited = run("audit", home=home)
    assert audited.exit_code == 0, audited.output
    line = next(line for line in audited.stdout.splitlines() if "dedup index" in line)
    assert line.startswith("ok")
    assert line.endswith("10 samples in 2 segments, as its signed head (version 2) lists")

    data = manifest(home)
    write_manifest(home, {**data, "segments": data["segments"][:1]})
    audited = run("audit", home=home)
    assert audited.exit_code == 1
    line = next(line for line in audited.stdout.splitlines() if "dedup index" in line)
    assert line.startswith("FAIL")
    assert "does not hold what its signed head lists" in line


@pytest.mark.postgres
def test_verify_reads_a_shared_index_while_a_screen_holds_it(
    run: Run, tmp_path: Path, postgres_url: str
) -> None:
    home = tmp_path / "machine-a"
    assert run("--db", postgres_url, "init", home=home).exit_code == 0
    # No screen yet: no index, and verify makes none of its tables.
    verified = run("verify", home=home)
    assert verified.exit_code == 0, verified.output
    assert "dedup index" not in verified.output
    engine = engine_for(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('dedup_index')")).scalar() is None
    finally:
        engine.dispose()

    assert screen(run, home, tmp_path, "a", rows(9, 3)).exit_code == 0
    held = SegmentTables(postgres_url)  # the lock, as a screen running elsewhere holds it
    try:
        done: list[Any] = []
        verifying = threading.Thread(target=lambda: done.append(run("verify", home=home)))
        verifying.start()
        verifying.join(120)
    finally:
        held.close()
    assert done, "verify waited for the lock of a running screen"
    assert done[0].exit_code == 0, done[0].output
    assert "3 samples in 1 segment, as its signed head (version 1) lists" in done[0].stdout
