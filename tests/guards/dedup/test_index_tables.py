"""The dedup index in a PostgreSQL ledger database: it decides as the folder index does, homes
that share one ledger deduplicate against each other, two screens never decide at once, and an
unreachable database or a damaged index is one clear error."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dedup_texts import edited, failures, sample, shouted, words
from sqlalchemy import text

from synthguard.guards.dedup.guard import DedupGuard
from synthguard.guards.dedup.index import DedupIndex, index_path
from synthguard.guards.dedup.tables import LOCK_KEY, WAIT_NOTE_AFTER
from synthguard.ledger.home import Home
from synthguard.ledger.log import LockedSegments, NewSegment, SegmentFormat, StoredSegment
from synthguard.ledger.log.store import engine_for
from synthguard.provenance.errors import InputError, LedgerError

Found = dict[int, tuple[str, str, float]]


def pg_home(tmp_path: Path, name: str, url: str) -> Home:
    """A home whose ledger is the PostgreSQL database `url` (config.json names it)."""
    home = Home(tmp_path / name)
    home.path.mkdir(mode=0o700)
    home.config_path.write_text(json.dumps({"db": url}))
    return home


def screen(index: DedupIndex, texts: list[list[str]]) -> Found:
    """One screen run: check, save; each duplicate as (rule, original id, Jaccard)."""
    guard = DedupGuard(index)
    found = failures(guard.check([sample(t) for t in texts]))
    guard.save()
    return {
        p: (v.rule, str(v.detail["duplicate_of"]), float(v.detail["jaccard"]))
        for p, v in found.items()
    }


HELD = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = :objid "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
"""How many hold the index's lock in this database (pg_locks shows every database's)."""


def sql(url: str, statement: str, **params: Any) -> list[Any]:
    """Run one statement on the database; its rows, if it returns any."""
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_database_index_decides_as_the_folder_index_does(
    tmp_path: Path, postgres_url: str
) -> None:
    rng = random.Random(21)
    first = [words(rng, rng.randrange(5, 200)) for _ in range(150)]
    second = (
        [edited(rng, t, 0.05, "sub") for t in first[:30]]
        + [shouted(t) for t in first[30:40]]
        + [words(rng, 60) for _ in range(20)]
    )
    third = [edited(rng, t, 0.03, "ins") for t in second[40:]] + [shouted(second[0])]
    folder = tmp_path / "folder" / "dedup"
    home = pg_home(tmp_path, "home", postgres_url)

    for texts in (first, second, third):
        in_folder = screen(DedupIndex.open(folder), texts)
        assert screen(DedupIndex.at(home), texts) == in_folder
    assert len(in_folder) == len(third)
    assert not index_path(home).exists()  # the index lives in the database, not the home

    saved, reopened = DedupIndex.open(folder), DedupIndex.at(home)
    try:
        # Exact copies add nothing; near copies are indexed (a copy of a copy is a copy).
        assert len(reopened) == len(saved) == 150 + 30 + 20 + 20
        for doc in range(len(saved)):
            assert reopened.doc_id(doc) == saved.doc_id(doc)
            assert reopened.position(saved.doc_id(doc)) == saved.position(saved.doc_id(doc))
            assert reopened.exact_key(doc) == saved.exact_key(doc)
        for index in (saved, reopened):
            index.use_bands(32, 4)
        docs = list(range(len(saved)))
        assert reopened.matches(docs, 0.65) == saved.matches(docs, 0.65) != {}
    finally:
        reopened.close()


@pytest.mark.postgres
def test_homes_sharing_one_ledger_deduplicate_against_each_other(
    tmp_path: Path, postgres_url: str
) -> None:
    rng = random.Random(22)
    home_a, home_b = (pg_home(tmp_path, name, postgres_url) for name in ("a", "b"))
    mine = [words(rng, 80) for _ in range(10)]
    assert screen(DedupIndex.at(home_a), mine) == {}

    theirs = [edited(rng, mine[2], 0.05, "sub"), words(rng, 80), shouted(mine[5])]
    found = screen(DedupIndex.at(home_b), theirs)

    assert {p: (rule, original) for p, (rule, original, _) in found.items()} == {
        0: ("near", sample(mine[2]).id),
        2: ("exact", sample(mine[5]).id),
    }
    # And back: A sees what B added.
    assert screen(DedupIndex.at(home_a), [shouted(theirs[1])]) == {
        0: ("exact", sample(theirs[1]).id, 1.0)
    }


@pytest.mark.postgres
def test_many_saves_are_compacted_in_the_database(tmp_path: Path, postgres_url: str) -> None:
    rng = random.Random(23)
    home = pg_home(tmp_path, "home", postgres_url)
    texts = [words(rng, 40) for _ in range(20)]
    for one in texts:
        assert screen(DedupIndex.at(home), [one]) == {}
    segments = sql(postgres_url, "SELECT seq FROM dedup_segments")
    assert 0 < len(segments) < 5
    chunks = sql(postgres_url, "SELECT DISTINCT seq FROM dedup_chunks")
    assert sorted(chunks) == sorted(segments)  # the merged segments' bytes are gone too
    found = screen(DedupIndex.at(home), [edited(rng, t, 0.05, "sub") for t in texts])
    assert set(found) == set(range(20))


@pytest.mark.postgres
def test_a_second_screen_waits_for_the_first_and_sees_what_it_added(
    tmp_path: Path, postgres_url: str
) -> None:
    rng = random.Random(24)
    home_a, home_b = (pg_home(tmp_path, name, postgres_url) for name in ("a", "b"))
    mine = [words(rng, 60) for _ in range(5)]
    first = DedupGuard(DedupIndex.at(home_a))
    assert failures(first.check([sample(t) for t in mine])) == {}
    notes: list[str] = []
    got: dict[int, Any] = {}

    def second_screen() -> None:
        # Copies of the same texts, screened at the same time on "another machine".
        copies = [shouted(t) for t in mine]
        got.update(screen(DedupIndex.at(home_b, on_wait=notes.append), copies))

    second = threading.Thread(target=second_screen)
    second.start()
    deadline = time.monotonic() + 30 + WAIT_NOTE_AFTER
    while not notes and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert second.is_alive()  # waiting for the lock, not deciding
        (note,) = notes
        assert note.startswith("waiting for the dedup index in the ledger database postgresql:")
        assert "another screen (synthguard dedup, " in note
        assert "connected since" in note
        assert note.endswith("holds it until that screen ends")
    finally:
        first.save()  # saves, and lets the second screen in
        second.join(60)
    assert not second.is_alive()
    assert got == {i: ("exact", sample(t).id, 1.0) for i, t in enumerate(mine)}


@pytest.mark.postgres
def test_a_killed_screen_leaves_no_lock_behind(tmp_path: Path, postgres_url: str) -> None:
    home = pg_home(tmp_path, "home", postgres_url)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from synthguard.guards.dedup import DedupIndex\n"
            "from synthguard.ledger.home import Home\n"
            "index = DedupIndex.at(Home(Path(sys.argv[1])))\n"
            "print('locked', flush=True)\n"
            "time.sleep(120)\n",
            str(home.path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        assert sql(postgres_url, HELD, objid=LOCK_KEY & 0xFFFF_FFFF) == [(1,)]
    finally:
        holder.kill()
        holder.wait()
    opened: list[DedupIndex] = []
    opener = threading.Thread(target=lambda: opened.append(DedupIndex.at(home)))
    opener.start()
    opener.join(60)
    assert opened, "the lock of a killed screen was not released"
    opened[0].close()


@pytest.mark.postgres
def test_a_save_after_another_screen_saved_is_refused(tmp_path: Path, postgres_url: str) -> None:
    rng = random.Random(25)
    home = pg_home(tmp_path, "home", postgres_url)
    early = DedupGuard(DedupIndex.at(home))
    early.check([sample(words(rng, 50))])
    early.save()  # the lock goes with the save
    assert screen(DedupIndex.at(home), [words(rng, 50)]) == {}
    late = words(rng, 50)
    early.check([sample(late)])  # decided without the other screen's sample
    with pytest.raises(LedgerError, match="changed after this screen read it") as caught:
        early.save()
    assert "\n" not in str(caught.value)
    # Nothing of the refused save was kept, and the lock was let go.
    with DedupIndex.at(home) as index:
        assert len(index) == 2


@pytest.mark.postgres
def test_other_parameters_are_one_clear_error_in_the_database(
    tmp_path: Path, postgres_url: str
) -> None:
    home = pg_home(tmp_path, "home", postgres_url)
    screen(DedupIndex.at(home), [["some", "words"]])
    index = DedupIndex.at(home)
    try:
        with pytest.raises(InputError, match=r"in the ledger database .* num_perm=128 \(asked 64"):
            DedupGuard(index, num_perm=64)
    finally:
        index.close()


def flip_a_byte(url: str) -> None:
    (data,) = sql(url, "SELECT data FROM dedup_chunks LIMIT 1")[0]
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0xFF
    sql(url, "UPDATE dedup_chunks SET data = :d", d=bytes(damaged))


def lose_a_chunk(url: str) -> None:
    sql(url, "DELETE FROM dedup_chunks")


def wrong_counts(url: str) -> None:
    sql(url, "UPDATE dedup_segments SET docs = docs + 1")


def garbled_params(url: str) -> None:
    sql(url, "UPDATE dedup_index SET params = '{\"num_perm\": '")


def lose_the_index_row(url: str) -> None:
    sql(url, "DELETE FROM dedup_index")


@pytest.mark.postgres
@pytest.mark.parametrize(
    "damage", [flip_a_byte, lose_a_chunk, wrong_counts, garbled_params, lose_the_index_row]
)
def test_a_damaged_database_index_is_one_clear_error(
    tmp_path: Path, postgres_url: str, damage: Callable[[str], None]
) -> None:
    home = pg_home(tmp_path, "home", postgres_url)
    screen(DedupIndex.at(home), [words(random.Random(26), 30)])
    damage(postgres_url)
    with pytest.raises(
        LedgerError, match=r"the dedup index in the ledger database .* is damaged"
    ) as caught:
        DedupIndex.at(home)
    assert "\n" not in str(caught.value)
    # The failed open let go of the lock: nothing waits on it.
    assert sql(postgres_url, HELD, objid=LOCK_KEY & 0xFFFF_FFFF) == [(0,)]


def test_an_unreachable_database_is_one_clear_error(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:1/nowhere"
    with pytest.raises(LedgerError) as caught:
        DedupIndex.at(Home(tmp_path / "home"), db=url)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"cannot reach the ledger database {url} for the dedup index: ")


def test_a_sqlite_home_keeps_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHGUARD_DB", raising=False)
    home = Home(tmp_path / "home")
    index = DedupIndex.at(home, db=f"sqlite:///{tmp_path / 'elsewhere.db'}")
    assert index.path == index_path(home)
    screen(index, [["kept", "in", "the", "folder"]])
    assert (index_path(home) / "manifest.json").exists()
    assert os.listdir(tmp_path) == ["home"]


def _entry(data: bytes) -> dict[str, Any]:
    return {"docs": len(data), "sketches": 0, "sha256": hashlib.sha256(data).hexdigest()}


@pytest.mark.postgres
def test_the_ledger_keeps_any_segment_bytes_and_merges_them_through_the_caller(
    postgres_url: str,
) -> None:
    fmt = SegmentFormat("not/minhash", '{"any": "text"}')
    checked: list[SegmentFormat] = []
    merged: list[list[int]] = []

    def merge(segments: Iterator[StoredSegment]) -> NewSegment:
        them = list(segments)
        merged.append([s.seq for s in them])
        data = b"".join(s.data for s in them)
        return data, _entry(data)

    def read(
        stored: SegmentFormat | None, segments: Iterator[StoredSegment], head: bytes | None
    ) -> tuple[SegmentFormat | None, list[tuple[dict[str, Any], bytes]], bytes | None]:
        return stored, [(s.entry, s.data) for s in segments], head

    replaced: list[bytes | None] = []
    written: list[bytes] = []

    def head(entries: list[dict[str, Any]], before: bytes | None) -> bytes:
        replaced.append(before)
        written.append(json.dumps(entries).encode())
        return written[-1]

    blobs = [b"", b"a" * 1000, bytes(range(256)) * 40, b"\x00" * 3]
    for blob in blobs:
        tables = LockedSegments(postgres_url)
        tables.load(read)
        tables.save(
            fmt, (blob, _entry(blob)), check=checked.append, compact_at=2, merge=merge, head=head
        )

    # Past two segments the third save merged all three into one; the fourth came after it.
    assert merged == [[1, 2, 3]]
    # Each head was told the one it replaced.
    assert replaced == [None, *written[:-1]]
    assert checked == [fmt] * 3  # every save but the one that made the index
    tables = LockedSegments(postgres_url)
    try:
        first = b"".join(blobs[:3])
        # The head was signed for the segments as they are after the merge, in the same save.
        kept = [_entry(first), _entry(blobs[3])]
        assert tables.load(read) == (fmt, [(kept[0], first), (kept[1], blobs[3])], written[-1])
        assert written[-1] == json.dumps(kept).encode()
    finally:
        tables.close()
    assert sql(postgres_url, HELD, objid=LOCK_KEY & 0xFFFF_FFFF) == [(0,)]
