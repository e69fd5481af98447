"""Attacks by someone with the database but no key (ARCHITECTURE.md, threat 1), through the
real `synthguard` commands, on SQLite and on PostgreSQL.

The attacker works on the database alone: plain SQL through SQLAlchemy `text()`, copies of the
SQLite file or of the PostgreSQL tables, and whatever is public arithmetic (leaf hashes,
roots). The key holder then runs the commands as usual in their home. Every attack must end in
a refusal or a failure naming what is wrong (exit 1, one line on stderr), and afterwards the
legitimate ledger (the database as it was before the attack) must verify in the home again.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cli_support import INTERVAL, ORIGIN, Run, alpaca, stderr_lines, write_jsonl
from click.testing import Result
from sqlalchemy import Engine, text
from sqlalchemy.exc import DataError, IntegrityError

from synthguard.ledger.log.checkpoint import sign_checkpoint
from synthguard.ledger.log.merkle import root as merkle_root
from synthguard.ledger.log.store import engine_for, entry_leaf_hash
from synthguard.provenance.canonical import canonical_json, digest
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.sample import sample_from_row

# A made-up benchmark item, long enough for 13-gram containment.
BENCH = (
    "A baker fills 14 trays with 23 muffins each on Monday, then bakes three times as many "
    "muffins on Tuesday and sells all but 17 of them by the evening. How many muffins from "
    "Tuesday were left unsold, and how many did the baker make over both days?"
)
# A generated sample that copies it: decontamination quarantines it.
COPIED = {"instruction": "Solve the word problem.", "input": "", "output": BENCH}
CLEAN = [alpaca(i) for i in range(4)]
X = sample_from_row(COPIED).id
TABLES = ("ledger_info", "keys", "entries", "checkpoints", "samples")
# Far above any seq these ledgers reach: moving entries there and back never collides.
FAR = 1_000_000

Tables = dict[str, list[tuple[Any, ...]]]


def read_tables(engine: Engine) -> Tables:
    """Every row of every ledger table."""
    tables: Tables = {}
    with engine.connect() as conn:
        for table in TABLES:
            rows = conn.execute(text(f"SELECT * FROM {table}")).all()
            tables[table] = [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows
            ]
    return tables


def write_tables(engine: Engine, tables: Tables) -> None:
    """Replace every ledger table's rows, in one transaction."""
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
            names = list(conn.execute(text(f"SELECT * FROM {table} WHERE 1 = 0")).keys())
            marks = ", ".join(f":{name}" for name in names)
            for row in tables[table]:
                conn.execute(
                    text(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"),
                    dict(zip(names, row, strict=True)),
                )


def sqlite_copy(source: Path, target: Path) -> None:
    """Copy a SQLite database file whole (its WAL included), as a backup tool does."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


@dataclass
class Site:
    """A home and its ledger database, the key holder's commands, and SQL on the database."""

    home: Path
    url: str
    run: Run
    tmp: Path
    engines: list[Engine] = field(default_factory=list)

    def __call__(self, *args: str | Path) -> Result:
        """Run a command in the home, as the key holder."""
        return self.run(*args, home=self.home)

    @property
    def engine(self) -> Engine:
        """The attacker's connection to the database."""
        if not self.engines:
            self.engines.append(engine_for(self.url))
        return self.engines[0]

    def sql(self, statement: str, **params: Any) -> list[Any]:
        """Run one statement in its own transaction; its rows, if any."""
        with self.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []

    def size(self) -> int:
        """Entries in the database."""
        return int(self.sql("SELECT count(*) FROM entries")[0][0])

    def entry(self, seq: int) -> dict[str, Any]:
        """The stored row of entry `seq`, bytes as bytes."""
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT * FROM entries WHERE seq = :s"), {"s": seq})
            found = dict(row.mappings().one())
        found["envelope"] = bytes(found["envelope"])
        found["leaf_hash"] = bytes(found["leaf_hash"])
        return found

    def seq_of(self, sample: str, event: str, outcome: str | None = None) -> int:
        """The latest entry whose signed payload is `event` about `sample` (of `outcome`)."""
        found = None
        for seq, envelope in self.sql("SELECT seq, envelope FROM entries ORDER BY seq"):
            payload = json.loads(base64.b64decode(json.loads(bytes(envelope))["payload"]))
            if payload.get("sample_id") != sample or payload.get("event") != event:
                continue
            if outcome is None or payload["detail"].get("outcome") == outcome:
                found = seq
        assert found is not None, f"no {event} {outcome or ''} entry about {sample}"
        return int(found)

    def record_twice(self) -> tuple[Path | Tables, int]:
        """Record two samples, keep a copy of the database, record the rest of CLEAN: the
        copy (an older database to roll back to) and its size."""
        first = write_jsonl(self.tmp / "first.jsonl", CLEAN[:2])
        assert self("record", first, "--generator", "g", "--model", "m").exit_code == 0
        older, size = self.copy_db(), self.size()
        later = write_jsonl(self.tmp / "samples.jsonl", CLEAN)
        assert self("record", later, "--generator", "g", "--model", "m").exit_code == 0
        assert self.size() > size
        return older, size

    def copy_db(self) -> Path | Tables:
        """A copy of the whole database: the SQLite file, or the PostgreSQL tables."""
        if self.url.startswith("sqlite"):
            copy = self.tmp / f"copy-{len(list(self.tmp.glob('copy-*')))}.db"
            sqlite_copy(self.home / "ledger.db", copy)
            return copy
        return read_tables(self.engine)

    def put_db(self, copy: Path | Tables) -> None:
        """Put a copy back over the database."""
        if isinstance(copy, Path):
            self.close()
            sqlite_copy(copy, self.home / "ledger.db")
        else:
            write_tables(self.engine, copy)

    def insert_copy(self, source: int, at: int) -> None:
        """Insert a byte-identical copy of entry `source` at `at`, moving later entries up one
        place, every moved leaf hash recomputed."""
        row = self.entry(source)
        size = self.size()
        self.sql("UPDATE entries SET seq = seq + :far WHERE seq >= :at", far=FAR, at=at)
        self.sql("UPDATE entries SET seq = seq - :back WHERE seq >= :far", back=FAR - 1, far=FAR)
        for seq in range(at + 1, size + 1):
            envelope = self.entry(seq)["envelope"]
            self.sql(
                "UPDATE entries SET leaf_hash = :h WHERE seq = :s",
                h=entry_leaf_hash(seq, envelope),
                s=seq,
            )
        row["seq"], row["leaf_hash"] = at, entry_leaf_hash(at, row["envelope"])
        self.sql(
            "INSERT INTO entries (seq, leaf_hash, envelope, key_id, payload_type, event, "
            "sample_id, time) VALUES (:seq, :leaf_hash, :envelope, :key_id, :payload_type, "
            ":event, :sample_id, :time)",
            **row,
        )

    def swap(self, a: int, b: int) -> None:
        """Swap two entries, their leaf hashes recomputed for their new places."""
        columns = ("envelope", "key_id", "payload_type", "event", "sample_id", "time")
        first, second = self.entry(a), self.entry(b)
        for seq, row in ((a, second), (b, first)):
            self.sql(
                "UPDATE entries SET leaf_hash = :h, "
                + ", ".join(f"{c} = :{c}" for c in columns)
                + " WHERE seq = :s",
                h=entry_leaf_hash(seq, row["envelope"]),
                s=seq,
                **{c: row[c] for c in columns},
            )

    def forge_checkpoint(self) -> None:
        """A checkpoint over the whole entries table, signed by a key of the attacker's own."""
        leaves = [bytes(h) for (h,) in self.sql("SELECT leaf_hash FROM entries ORDER BY seq")]
        tree_root = merkle_root(leaves)
        self.sql(
            "INSERT INTO checkpoints (size, root, note, key_id, time) "
            "VALUES (:s, :r, :n, :k, '2030-01-01T00:00:00Z')",
            s=len(leaves),
            r=tree_root,
            n=sign_checkpoint(ORIGIN, len(leaves), tree_root, SigningKey.generate()),
            k="sha256:" + "0" * 64,
        )

    def stock(self) -> None:
        """Record CLEAN and COPIED; screen them once without a protected set (all accepted),
        then once with it (COPIED quarantined)."""
        source = write_jsonl(self.tmp / "samples.jsonl", [*CLEAN, COPIED])
        bench = write_jsonl(self.tmp / "bench.jsonl", [{"id": "bake-1", "question": BENCH}])
        recorded = self("record", source, "--generator", "g", "--model", "m")
        assert recorded.exit_code == 0, recorded.output
        first = self.screen("first")
        assert first.exit_code == 0, first.output
        assert X in self.screened("first", "accepted")
        second = self.screen("second", "--protected", bench)
        assert second.exit_code == 0, second.output
        assert X in self.screened("second", "quarantined")

    def screen(self, out: str, *options: str | Path) -> Result:
        """`synthguard screen` of the stocked samples with the decontamination guard only."""
        return self(
            "screen",
            self.tmp / "samples.jsonl",
            "--out",
            self.tmp / out,
            "--guards",
            "decontamination",
            *options,
        )

    def screened(self, out: str, which: str) -> dict[str, dict[str, Any]]:
        """The rows of a screen output file, by sample id."""
        lines = (self.tmp / out / f"{which}.jsonl").read_text().splitlines()
        rows = [json.loads(line) for line in lines]
        return {_content_id(row): row for row in rows}

    def release(self, name: str, *rows: dict[str, Any]) -> Result:
        """`synthguard release create` of `rows`."""
        source = write_jsonl(self.tmp / f"{name}.jsonl", rows)
        return self("release", "create", name, "--from", source, "--out", self.tmp / name)

    def verifies(self) -> None:
        """`synthguard verify` in the home passes, the home's checkpoint checked."""
        verified = self("verify")
        assert verified.exit_code == 0, verified.output
        assert "home checkpoint: the ledger extends the one this home last signed" in (
            verified.stdout
        )

    def close(self) -> None:
        """Drop the attacker's connections."""
        for engine in self.engines:
            engine.dispose()
        self.engines.clear()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def site(request: pytest.FixtureRequest, run: Run, tmp_path: Path) -> Iterator[Site]:
    """An initialised home (a checkpoint every INTERVAL entries) on each backend in turn."""
    if request.param == "sqlite":
        home: Path = request.getfixturevalue("home")
        url = f"sqlite:///{home / 'ledger.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        home = tmp_path / "pg-home"
        init = run(
            "--db",
            url,
            "init",
            "--origin",
            ORIGIN,
            "--checkpoint-interval",
            str(INTERVAL),
            home=home,
        )
        assert init.exit_code == 0, init.output
    made = Site(home, url, run, tmp_path / "work")
    made.tmp.mkdir()
    try:
        yield made
    finally:
        made.close()


def _content_id(row: dict[str, Any]) -> str:
    """A screen output row's sample id, from its content (the fields the screen added left out)."""
    content = {k: v for k, v in row.items() if k not in ("reasons", "sample_id")}
    return sample_from_row(content).id


def one_error(result: Result, start: str) -> str:
    """The command failed with exit 1 and one stderr line starting with `start`; that line."""
    assert result.exit_code == 1, result.output
    lines = stderr_lines(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith(start), lines[0]
    return lines[0]


# -- 1. a replayed `accepted` screening ------------------------------------------------------


def test_a_replayed_accepted_screening(site: Site) -> None:
    site.stock()
    before = site.copy_db()
    accepted = site.seq_of(X, "screened", "accepted")
    size = site.size()
    site.insert_copy(accepted, size)
    site.forge_checkpoint()

    line = one_error(site("verify"), "synthguard: verification failed: ")
    assert f"entry {size}: repeats the signed record of entry {accepted}" in line

    refused = site.release("v1", COPIED)
    assert refused.exit_code in (1, 2), refused.output
    assert len(stderr_lines(refused)) == 1
    assert not (site.tmp / "v1").exists()

    site.put_db(before)
    site.verifies()


# -- 2 and 7. the quarantine binds: a screen with fewer guards, an edited index column --------


def test_a_screen_with_fewer_guards_keeps_the_quarantine(site: Site) -> None:
    site.stock()

    third = site.screen("third")  # no --protected: decontamination does not run
    assert third.exit_code == 0, third.output
    assert X not in site.screened("third", "accepted")
    held = site.screened("third", "quarantined")[X]
    assert [reason["guard"] for reason in held["reasons"]] == ["quarantine"]

    refused = site.release("v1", COPIED)
    assert refused.exit_code == 2
    assert stderr_lines(refused) == [
        f"synthguard: error: 1 of 1 samples may not be released, so nothing was: 1 quarantined: {X}"
    ]
    report = site("report", "--format", "json", "--out", site.tmp / "report.json")
    assert report.exit_code == 0, report.output
    figures = json.loads((site.tmp / "report.json").read_text())
    assert _find_key(figures, "quarantined") == 1

    released = site("quarantine", "release", X, "--reason", "the benchmark is ours to share")
    assert released.exit_code == 0, released.output
    fourth = site.screen("fourth")
    assert fourth.exit_code == 0, fourth.output
    assert X in site.screened("fourth", "accepted")
    created = site.release("v1", COPIED)
    assert created.exit_code == 0, created.output
    site.verifies()


def _find_key(value: Any, key: str) -> Any:
    """The first value of `key` in a JSON document, depth first."""
    if isinstance(value, dict):
        if key in value:
            return value[key]
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = _find_key(item, key)
            if found is not None:
                return found
    return None


def test_an_edited_index_column_does_not_lift_the_quarantine(site: Site) -> None:
    # The quarantine of X is filed under another sample id, one no screened row has: a reader
    # that selects X's records by the column no longer sees it.
    site.stock()
    quarantine = site.seq_of(X, "screened", "quarantined")
    elsewhere = digest(canonical_json({"text": "nothing to see"}))
    site.sql("UPDATE entries SET sample_id = :s WHERE seq = :q", s=elsewhere, q=quarantine)

    refused = site.release("v1", COPIED)
    assert refused.exit_code in (1, 2), refused.output
    assert not (site.tmp / "v1").exists()

    third = site.screen("third")
    if third.exit_code == 0:
        assert X not in site.screened("third", "accepted"), (
            "a screen with fewer guards accepted a quarantined sample"
        )
    else:
        one_error(third, "synthguard: verification failed: ")

    line = one_error(site("verify"), "synthguard: verification failed: ")
    assert f"entry {quarantine}: stored event or sample id differs" in line

    # Undone (not restored from the copy: the screen appended since, and the home knows it).
    site.sql("UPDATE entries SET sample_id = :s WHERE seq = :q", s=X, q=quarantine)
    site.verifies()


@pytest.mark.parametrize("how", ["forged override", "deleted quarantine"])
def test_a_lifted_quarantine_stops_the_screen_before_it_writes(site: Site, how: str) -> None:
    """An override written into the database without a key, or the quarantine deleted: the
    payloads would say X is free, and the screen once wrote X into accepted.jsonl before its
    signing refused. Now it stops first, and `quarantine list` names a forged override."""
    site.stock()
    before = site.copy_db()
    quarantine = site.seq_of(X, "screened", "quarantined")
    if how == "forged override":
        row = site.entry(quarantine)
        envelope = json.loads(row["envelope"])
        payload = json.loads(base64.b64decode(envelope["payload"]))
        override = {
            **payload,
            "event": "reviewed",
            "record_id": "f" * 32,
            "detail": {"outcome": "accepted", "overrides": [payload["record_id"]]},
        }
        envelope["payload"] = base64.b64encode(canonical_json(override)).decode()
        forged = json.dumps(envelope, separators=(",", ":")).encode()
        seq = site.size()
        site.sql(
            "INSERT INTO entries (seq, leaf_hash, envelope, key_id, payload_type, event, "
            "sample_id, time) VALUES (:seq, :leaf, :env, :key, :type, 'reviewed', :sid, :time)",
            seq=seq,
            leaf=entry_leaf_hash(seq, forged),
            env=forged,
            key=row["key_id"],
            type=row["payload_type"],
            sid=X,
            time=row["time"],
        )
        site.forge_checkpoint()
        listed = site("quarantine", "list")
        line = one_error(listed, "synthguard: verification failed: ")
        # Caught by the writer's checks it now makes first, then by the override's signature.
        assert f"entry {seq}, appended since this home's last checkpoint, does not verify" in line
        assert "refusing to sign" not in line
    else:
        site.sql("DELETE FROM entries WHERE seq = :q", q=quarantine)
        # The list signs nothing, but reads the quarantine only over the tree the home kept.
        one_error(site("quarantine", "list"), "synthguard: verification failed: ")

    third = site.screen("third")
    one_error(third, "synthguard: verification failed: ")
    written = list((site.tmp / "third").glob("*")) if (site.tmp / "third").exists() else []
    assert written == [], "the refused screen wrote its outputs"

    site.put_db(before)
    site.verifies()


# -- 4. reordered entries, then an append through the home -----------------------------------


@pytest.mark.parametrize("where", ["middle", "tail"])
def test_reordered_entries_refuse_an_append(site: Site, where: str) -> None:
    source = write_jsonl(site.tmp / "samples.jsonl", CLEAN)
    assert site("record", source, "--generator", "g", "--model", "m").exit_code == 0
    before = site.copy_db()
    size = site.size()
    a, b = (1, 3) if where == "middle" else (size - 2, size - 1)
    site.swap(a, b)
    site.sql("DELETE FROM checkpoints WHERE size > :a", a=a)

    more = write_jsonl(site.tmp / "more.jsonl", [alpaca(10)])
    refused = site("record", more, "--generator", "g", "--model", "m")
    one_error(refused, "synthguard: verification failed: refusing to sign: ")
    assert site.size() == size, "the refused command appended"

    site.put_db(before)
    site.verifies()


# -- 5. forged stored content ----------------------------------------------------------------


# Its answer is words as well as digits: digits alone turn up in the random hex ids a shown
# entry holds (a run id held "1288" in one run, and the test failed with nothing forged shown).
FORGED = {"instruction": "Solve the word problem.", "input": "", "output": "1288 marbles"}


def _forge(site: Site, how: str) -> None:
    if how == "edited":
        content = canonical_json(FORGED)
        site.sql(
            "UPDATE samples SET content = :c, digest = :d WHERE sample_id = :s",
            c=content.decode(),
            d=digest(content),
            s=X,
        )
    else:
        site.sql("DELETE FROM samples WHERE sample_id = :s", s=X)


@pytest.mark.parametrize("how", ["edited", "deleted"])
def test_forged_content_fails_verify_and_audit(site: Site, how: str) -> None:
    site.stock()
    before = site.copy_db()
    _forge(site, how)

    line = one_error(site("verify"), "synthguard: verification failed: ")
    assert f"sample {X}" in line
    audit = site("audit")
    assert audit.exit_code == 1
    failed = [row for row in audit.stdout.splitlines() if row.startswith("FAIL")]
    assert len(failed) == 1
    assert X in failed[0]

    size = site.size()
    released = site("quarantine", "release", X, "--reason", "looks fine to me")
    assert released.exit_code in (1, 2), released.output
    assert len(stderr_lines(released)) == 1
    assert site.size() == size, "the refused override was appended"
    if how == "edited":
        assert "is not what its records sign" in released.stderr

    site.put_db(before)
    site.verifies()


def test_a_quarantine_edited_into_an_acceptance_under_its_old_leaf_hash_is_refused(
    site: Site,
) -> None:
    # The envelope rewritten ("quarantined" -> "accepted"), its leaf hash column left alone:
    # the history checks compare stored leaf hashes, so the readers of the quarantine must
    # check that every envelope they pass over is the one its leaf hash commits to. A screen
    # once accepted X and signed for it.
    site.stock()
    assert site.release("v0", *CLEAN).exit_code == 0
    held = site.seq_of(X, "screened", "quarantined")
    envelope = json.loads(site.entry(held)["envelope"])
    payload = json.loads(base64.b64decode(envelope["payload"]))
    payload["detail"]["outcome"] = "accepted"
    envelope["payload"] = base64.b64encode(canonical_json(payload)).decode()
    site.sql(
        "UPDATE entries SET envelope = :e WHERE seq = :q",
        e=json.dumps(envelope, separators=(",", ":")).encode(),
        q=held,
    )
    size = site.size()
    for command in (("quarantine", "list"), ("quarantine", "release", X, "--reason", "ok")):
        line = one_error(site(*command), "synthguard: verification failed: ")
        assert f"entry {held}" in line
    third = site.screen("third")
    line = one_error(third, "synthguard: verification failed: ")
    assert f"entry {held}: its envelope is not the one its leaf hash commits to" in line
    assert not (site.tmp / "third" / "accepted.jsonl").exists()
    assert site.size() == size


def test_a_quarantine_hidden_by_its_index_columns_is_tampering_not_no_quarantine(
    site: Site,
) -> None:
    # `quarantine list` reads the signed payloads and shows X held; an override found X's
    # screenings by the sample_id column, so with the quarantining entry's columns pointed
    # elsewhere it said "not in quarantine", contradicting the list.
    site.stock()
    held = site.seq_of(X, "screened", "quarantined")
    site.sql(
        "UPDATE entries SET sample_id = :s, event = 'generated' WHERE seq = :q",
        s="sha256:" + "0" * 64,
        q=held,
    )
    assert X in site("quarantine", "list").stdout
    size = site.size()

    line = one_error(
        site("quarantine", "release", X, "--reason", "fine"), "synthguard: verification failed: "
    )
    assert "index columns were changed in the database" in line
    assert site.size() == size


def test_ledger_show_does_not_pass_off_forged_content(site: Site) -> None:
    # `ledger show` prints an entry with the sample's stored content: edited content must not
    # be shown as the sample's without a word.
    site.stock()
    _forge(site, "edited")
    generated = site.seq_of(X, "generated")

    shown = site("ledger", "show", str(generated))

    assert FORGED["output"] not in shown.stdout, f"forged content shown: {shown.stdout}"
    assert shown.exit_code == 1 or shown.stderr.startswith("synthguard: warning: "), shown.output


# -- 6. a ledger swapped wholesale -----------------------------------------------------------


def test_a_ledger_swapped_wholesale(site: Site, run: Run) -> None:
    source = write_jsonl(site.tmp / "samples.jsonl", CLEAN)
    assert site("record", source, "--generator", "g", "--model", "m").exit_code == 0
    before = site.copy_db()
    pinned = site.tmp / "root.pem"
    exported = site("keys", "export", "--format", "pem")
    assert exported.exit_code == 0, exported.output
    pinned.write_text(exported.stdout)

    # Another ledger, same origin, made by the attacker with a key of their own.
    other = site.tmp / "other"
    made = run("init", "--origin", ORIGIN, "--checkpoint-interval", str(INTERVAL), home=other)
    assert made.exit_code == 0, made.output
    forged = write_jsonl(site.tmp / "forged.jsonl", [alpaca(20), alpaca(21)])
    assert run("record", forged, "--generator", "g", "--model", "m", home=other).exit_code == 0
    other_key = json.loads((other / "config.json").read_text())["root_key"]
    if site.url.startswith("sqlite"):
        site.close()
        sqlite_copy(other / "ledger.db", site.home / "ledger.db")
    else:
        foreign = engine_for(f"sqlite:///{other / 'ledger.db'}")
        try:
            write_tables(site.engine, read_tables(foreign))
        finally:
            foreign.dispose()

    nowhere = site.tmp / "no-home"
    unpinned = run("--db", site.url, "verify", home=nowhere)
    assert unpinned.exit_code == 0, unpinned.output
    [warning] = stderr_lines(unpinned)
    assert warning.startswith(f"synthguard: warning: trusting genesis key {other_key}")

    one_error(
        run("--db", site.url, "verify", "--root-key", pinned, home=nowhere),
        "synthguard: verification failed: ",
    )
    one_error(site("verify"), "synthguard: verification failed: ")

    site.put_db(before)
    site.verifies()
    pinned_ok = run("--db", site.url, "verify", "--root-key", pinned, home=nowhere)
    assert pinned_ok.exit_code == 0, pinned_ok.output
    assert pinned_ok.stderr == ""


# -- 8. a rolled-back database ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["record", "screen"])
def test_a_rolled_back_database_is_refused(site: Site, command: str) -> None:
    old, old_size = site.record_twice()
    current = site.copy_db()

    site.put_db(old)
    if command == "record":
        more = write_jsonl(site.tmp / "more.jsonl", [alpaca(10)])
        refused = site("record", more, "--generator", "g", "--model", "m")
    else:
        refused = site.screen("rescreen")
    line = one_error(refused, "synthguard: verification failed: refusing to sign: ")
    assert "rolled back" in line
    assert site.size() == old_size, "the refused command appended"
    line = one_error(site("verify"), "synthguard: verification failed: ")
    assert "cut off or rolled back" in line

    site.put_db(current)
    site.verifies()
    more = write_jsonl(site.tmp / "after.jsonl", [alpaca(11)])
    assert site("record", more, "--generator", "g", "--model", "m").exit_code == 0
    site.verifies()


@pytest.mark.parametrize(
    "removed",
    [
        ("checkpoint.a.json", "checkpoint.b.json"),
        ("checkpoint.a.json", "checkpoint.b.json", "checkpoint.note"),
    ],
    ids=["slots", "slots-and-note"],
)
def test_a_rollback_hidden_by_removing_the_kept_checkpoint_is_refused(
    site: Site, removed: tuple[str, ...]
) -> None:
    """Without its kept files a home once started from the database's tree (trust on first
    use), and signed over a rolled-back database; now a home whose key signed a bound entry
    refuses, until `ledger rekeep` keeps a tree again after a whole verification."""
    old, old_size = site.record_twice()
    kept = site.tmp / "kept.note"
    kept.write_text((site.home / "checkpoint.note").read_text())

    site.put_db(old)
    for name in removed:
        (site.home / name).unlink()
    more = write_jsonl(site.tmp / "more.jsonl", [alpaca(10)])
    for command in (("record", more, "--generator", "g", "--model", "m"), ("verify",)):
        line = one_error(site(*command), "synthguard: verification failed: ")
        assert "rolled back and the files removed to hide it" in line, line
        assert "ledger rekeep --checkpoint FILE" in line
    assert site.size() == old_size, "the refused command appended"

    # The checkpoint kept elsewhere shows the rollback; trusting the database is a choice.
    line = one_error(site("ledger", "rekeep", "--checkpoint", kept), "synthguard: verification")
    assert "cut off or rolled back" in line
    assert site("verify").exit_code == 1
    rekept = site("ledger", "rekeep", "--trust-database")
    assert rekept.exit_code == 0, rekept.output
    assert rekept.stdout == f"kept the ledger's checkpoint of {old_size} entries as this home's\n"
    site.verifies()
    assert site("record", more, "--generator", "g", "--model", "m").exit_code == 0
    site.verifies()


def test_rekeep_takes_one_source_of_trust(site: Site) -> None:
    for args in ((), ("--trust-database", "--checkpoint", site.home / "checkpoint.note")):
        result = site("ledger", "rekeep", *args)
        assert result.exit_code == 2
        assert "give --checkpoint FILE or --trust-database (one of them)" in result.stderr


def test_rekeep_after_a_restore_from_a_backup_keeps_the_restored_tree(site: Site) -> None:
    """Both slots are replaced: the larger tree of the two is the one read, and the one a
    restore leaves behind is larger than the database's."""
    backup, restored = site.record_twice()
    lost = site.size()
    site.put_db(backup)
    assert site("verify").exit_code == 1
    rekept = site("ledger", "rekeep", "--trust-database")
    assert rekept.exit_code == 0, rekept.output
    assert rekept.stdout == (
        f"kept the ledger's checkpoint of {restored} entries as this home's (it kept one of "
        f"{lost} entries before)\n"
    )
    site.verifies()
    again = site("record", site.tmp / "samples.jsonl", "--generator", "g", "--model", "m")
    assert again.exit_code == 0, again.output
    site.verifies()


def test_home_copy_helpers_round_trip(site: Site) -> None:
    # The copies the attacks rely on are whole: a copy put back verifies as it was.
    source = write_jsonl(site.tmp / "samples.jsonl", CLEAN)
    assert site("record", source, "--generator", "g", "--model", "m").exit_code == 0
    copy = site.copy_db()
    site.sql("DELETE FROM samples")
    assert site("verify").exit_code == 1
    site.put_db(copy)
    site.verifies()


# -- 8. the writers' caches and settings beside the tree ----------------------------------------


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE keys SET status = 'revoked', ended_seq = 1",
        f"UPDATE keys SET key_id = 'sha256:{'0' * 64}'",
        "DELETE FROM keys",
        "UPDATE keys SET ended_seq = 1",
    ],
    ids=["revoked", "renamed", "deleted", "ended"],
)
def test_an_edited_keys_table_changes_nothing_a_command_trusts(site: Site, edit: str) -> None:
    # The keys table caches the signed key events; a command that read it would stop signing
    # (a key marked revoked) or lose the key a release needs. Releases go on, `keys list` shows
    # the signed state, and verify passes with a note naming the edit.
    site.stock()
    listed = site("keys", "list")
    site.sql(edit)

    released = site.release("v1", CLEAN[0])
    assert released.exit_code == 0, released.output
    assert site("keys", "list").stdout == listed.stdout
    verified = site("verify")
    assert verified.exit_code == 0, verified.output
    assert "the keys table (the writers' cache of the key events" in verified.output
    assert "was edited in the database" in verified.output
    audited = site("audit")
    assert audited.exit_code == 0, audited.output
    assert any(
        line.startswith("note: key ") and line.endswith("was edited in the database")
        for line in audited.stdout.splitlines()
    ), audited.stdout


@pytest.mark.parametrize("column", ["root", "key_id"])
def test_an_edited_checkpoint_column_fails_verify(site: Site, column: str) -> None:
    site.stock()
    value = b"\x00" * 32 if column == "root" else "sha256:" + "0" * 64
    site.sql(f"UPDATE checkpoints SET {column} = :v", v=value)
    line = one_error(site("verify"), "synthguard: verification failed: ")
    assert "stored root or key id differs from its signed note" in line


def test_a_sample_id_beside_a_key_event_fails_verify(site: Site) -> None:
    site.stock()
    site.sql("UPDATE entries SET sample_id = :s WHERE seq = 0", s=X)
    line = one_error(site("verify"), "synthguard: verification failed: ")
    assert "entry 0: a sample id is stored beside a key event" in line


def test_an_edited_checkpoint_interval_is_one_clear_error(site: Site) -> None:
    site.stock()
    site.sql("UPDATE ledger_info SET value = 'often' WHERE name = 'checkpoint_interval'")
    for command in (("verify",), ("ledger", "show", "0")):
        failed = site(*command)
        assert failed.exit_code == 2, failed.output
        (line,) = stderr_lines(failed)
        assert "holds no valid checkpoint interval" in line
        assert "unexpected" not in line


def test_an_edited_origin_is_never_signed_for(site: Site) -> None:
    # The writer binds every record and checkpoint it signs to the table's origin: an edited
    # one must not get the home's key to sign statements for another ledger.
    site.stock()
    site.sql("UPDATE ledger_info SET value = 'victim.example/ledger/OTHER' WHERE name = 'origin'")
    size = site.size()
    released = site.release("v1", *CLEAN[:2])
    assert released.exit_code == 1, released.output
    (line,) = stderr_lines(released)
    assert "the ledger_info table names this ledger 'victim.example/ledger/OTHER'" in line
    assert f"put back {ORIGIN!r}" in line
    assert site.size() == size
    assert not (site.tmp / "v1").exists()
    site.sql("UPDATE ledger_info SET value = :o WHERE name = 'origin'", o=ORIGIN)
    site.verifies()


def test_a_deleted_origin_is_named(site: Site) -> None:
    site.stock()
    site.sql("DELETE FROM ledger_info WHERE name = 'origin'")
    failed = site("verify")
    assert failed.exit_code == 2, failed.output
    (line,) = stderr_lines(failed)
    assert "names no origin in its ledger_info table: the table was edited" in line


def _altered(value: Any) -> Any:
    """Another value of the same kind: what a careless or malicious edit of one cell makes."""
    if isinstance(value, bool) or value is None:
        return "x"
    if isinstance(value, int):
        return value + 1
    if isinstance(value, bytes | memoryview):
        raw = bytes(value)
        return bytes([raw[0] ^ 1]) + raw[1:] if raw else b"x"
    swaps = {"screened": "generated", "generated": "screened", "active": "revoked"}
    return swaps.get(value, value[:-1] + ("x" if not value.endswith("x") else "y"))


PRIMARY_KEYS = {
    "ledger_info": "name",
    "keys": "key_id",
    "entries": "seq",
    "checkpoints": "size",
    "samples": "sample_id",
}


def test_no_single_cell_edit_lifts_a_quarantine_or_slips_past_verify(site: Site) -> None:
    # Every column of a middle row of every table, edited alone: the quarantined sample is
    # never released, and an edit `verify` does not fail on changes nothing a release accepts.
    site.stock()
    before = site.copy_db()
    cells = []
    for table in TABLES:
        key = PRIMARY_KEYS[table]
        rows = [row._asdict() for row in site.sql(f"SELECT * FROM {table} ORDER BY {key}")]
        if rows:
            row = rows[len(rows) // 2]
            cells += [(table, key, row[key], column, value) for column, value in row.items()]
    assert len(cells) >= 20
    for n, (table, key, at, column, value) in enumerate(cells):
        site.put_db(before)
        try:
            site.sql(f"UPDATE {table} SET {column} = :v WHERE {key} = :k", v=_altered(value), k=at)
        except (IntegrityError, DataError):
            continue  # the database refuses it (a seq or id taken, a type): no edit
        where = f"{table}.{column}"
        assert site.release(f"q{n}", COPIED).exit_code != 0, f"{where}: a quarantine was lifted"
        if site("verify").exit_code == 0:
            released = site.release(f"c{n}", CLEAN[0])
            assert released.exit_code == 0, f"{where}: verify passes, release refuses"
