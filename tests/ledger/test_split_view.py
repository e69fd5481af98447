"""A database that answers two reads of one command with different entries (PostgreSQL: a view
in the place of the `entries` table that shows the signed rows to one reader and edited ones to
the next). Whoever has the database but no key could have `audit` pass a report with forged
figures (its verification read the signed entries, its recomputation the forged ones), and
`release create` sign a release its policy refuses (it proved the release against the signed
entries and took the policy's figures from the forged ones). Both now check that the entries
they compute from have the root they verified or proved against."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from release_stock import GENERATOR, alpaca, screen, write_jsonl

from synthguard.ledger.audit import run_audit
from synthguard.ledger.log.kept import KeptCheckpoint
from synthguard.ledger.log.store import Ledger, entry_leaf_hash
from synthguard.ledger.log.verify import verify_ledger
from synthguard.ledger.release.create import create_release
from synthguard.ledger.report import FORMATS, RenderContext, compute_report, policy_figures
from synthguard.ledger.screening import held_samples
from synthguard.provenance.errors import VerificationError
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.recorder import Recorder

pytestmark = pytest.mark.postgres
psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def ledger(postgres_url: str) -> Iterator[Ledger]:
    """Four generated samples, one screened into quarantine, the rest accepted."""
    made = Ledger.create(postgres_url, SigningKey.generate())
    rows = [alpaca(i) for i in range(4)]
    with Recorder(made) as recorder:
        for row in rows:
            recorder.generated(row, GENERATOR)
        for number, row in enumerate(rows):
            screen(recorder, row, "quarantined" if number == 0 else "accepted")
    made.checkpoint()
    try:
        yield made
    finally:
        made.close()


def _forged(envelope: bytes, edit: dict[str, Any]) -> bytes:
    """The envelope with its payload's fields changed (and its signature left as it was)."""
    outer = json.loads(envelope)
    payload = json.loads(base64.b64decode(outer["payload"]))
    for key, value in edit.items():
        if key == "outcome":
            payload["detail"]["outcome"] = value
        else:
            payload[key] = value
    outer["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    return json.dumps(outer).encode()


@contextmanager
def split_view(
    url: str, event: str, edit: dict[str, Any], *, rehash: bool = False
) -> Iterator[Any]:
    """`entries` as a view: the signed rows while the table `genuine` holds a row, else the
    rows with the payload of every entry of `event` edited as `edit` says (and, with `rehash`,
    their leaf hashes recomputed to match); appends go to the signed table. Yields a
    connection to switch with (`INSERT INTO genuine` / `DELETE FROM genuine`)."""
    connection = psycopg.connect(url, autocommit=True)
    connection.execute("ALTER TABLE entries RENAME TO entries_signed")
    connection.execute("CREATE TABLE entries_forged AS SELECT * FROM entries_signed")
    connection.execute("CREATE TABLE genuine (yes int)")
    rows = connection.execute(
        "SELECT seq, envelope FROM entries_forged WHERE event = %s", (event,)
    ).fetchall()
    for seq, envelope in rows:
        forged = _forged(bytes(envelope), edit)
        connection.execute("UPDATE entries_forged SET envelope = %s WHERE seq = %s", (forged, seq))
        if rehash:
            connection.execute(
                "UPDATE entries_forged SET leaf_hash = %s WHERE seq = %s",
                (entry_leaf_hash(seq, forged), seq),
            )
    connection.execute(
        "CREATE VIEW entries AS "
        "SELECT * FROM entries_signed WHERE EXISTS (SELECT 1 FROM genuine) UNION ALL "
        "SELECT * FROM entries_forged WHERE NOT EXISTS (SELECT 1 FROM genuine)"
    )
    connection.execute(
        "CREATE RULE appended AS ON INSERT TO entries DO INSTEAD "
        "INSERT INTO entries_signed VALUES (NEW.*)"
    )
    try:
        yield connection
    finally:
        connection.execute("DROP VIEW entries")
        connection.execute("DROP TABLE entries_forged, genuine")
        connection.execute("ALTER TABLE entries_signed RENAME TO entries")
        connection.close()


def flip_after(switch: Any, entries: int) -> Any:
    """A progress callback that shows the signed rows until `entries` are counted (the first
    pass over the ledger: the one that checks them), and the forged ones after."""
    counted = [0]

    def progress(done: int) -> None:
        counted[0] += done
        if counted[0] >= entries:
            switch.execute("DELETE FROM genuine")

    switch.execute("INSERT INTO genuine VALUES (1)")
    return progress


def test_audit_refuses_figures_recomputed_from_other_entries_than_it_verified(
    ledger: Ledger, tmp_path: Path
) -> None:
    assert compute_report(ledger).processing.screening.quarantined == 1
    with split_view(ledger.url, "screened", {"outcome": "accepted"}) as switch:
        forged = compute_report(ledger)
        assert forged.processing.screening.quarantined == 0  # what the forged rows say
        report = tmp_path / "report.json"
        report.write_text(FORMATS["json"].render(forged, RenderContext(ledger, report, None)))
        audit = run_audit(ledger, report=report, progress=flip_after(switch, ledger.size()))
    assert not audit.passed
    failed = [check for check in audit.checks if not check.passed]
    # Its verification now names the view itself, before the figures are recomputed (whose
    # root check the release policy's test below still meets).
    assert [check.name for check in failed] == ["ledger verifies"]
    assert "the ledger's table entries is a view" in failed[0].detail


def test_a_release_policy_is_checked_on_the_entries_the_release_was_proved_against(
    ledger: Ledger, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "rows.jsonl", [alpaca(i) for i in range(1, 4)])
    limits = {"max_depth": 0}  # the rows are generated: depth 1
    with split_view(ledger.url, "generated", {"depth": 0}) as switch:
        checkpoint = ledger.checkpoint()
        with pytest.raises(VerificationError, match="read for the figures, are not the ones"):
            create_release(
                ledger,
                "r1",
                source,
                tmp_path / "r1",
                policy_config=limits,
                figures=policy_figures(ledger),
                progress=flip_after(switch, checkpoint.size),
            )
    assert not (tmp_path / "r1").exists()


def test_the_held_samples_are_read_from_the_tree_a_key_signed(ledger: Ledger) -> None:
    """The view answers every read with a quarantine edited into an acceptance, its leaf hash
    recomputed: each entry read is the one its stored leaf hash commits to, but those leaves
    are not the tree the latest checkpoint signs. A screen asks this before it decides (the
    `held` guard), and it took the sample for free (red-team, PostgreSQL, no key)."""
    assert len(held_samples(ledger)) == 1
    with (
        split_view(ledger.url, "screened", {"outcome": "accepted"}, rehash=True),
        pytest.raises(VerificationError, match="not the tree its latest checkpoint signs"),
    ):
        held_samples(ledger)
    assert len(held_samples(ledger)) == 1


def test_verify_names_a_view_in_the_place_of_the_entries_table(ledger: Ledger) -> None:
    """`verify` read the signed rows through the view and passed; a view, a rule or a trigger
    on a ledger table is no writer's and can show other readers other rows."""
    verify_ledger(ledger)
    with split_view(ledger.url, "screened", {"outcome": "accepted"}) as switch:
        switch.execute("INSERT INTO genuine VALUES (1)")  # verify's read: the signed rows
        with pytest.raises(VerificationError, match="the ledger's table entries is a view"):
            verify_ledger(ledger)


def test_verify_names_a_trigger_on_a_ledger_table(ledger: Ledger) -> None:
    connection = psycopg.connect(ledger.url, autocommit=True)
    try:
        connection.execute(
            "CREATE FUNCTION kept_as_is() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RETURN NEW; END $$"
        )
        connection.execute(
            "CREATE TRIGGER rewrite BEFORE INSERT ON checkpoints FOR EACH ROW "
            "EXECUTE FUNCTION kept_as_is()"
        )
        with pytest.raises(VerificationError, match="table checkpoints has 1 trigger"):
            verify_ledger(ledger)
    finally:
        connection.close()


def test_held_samples_read_after_the_history_check_extend_the_home_s_tree(
    postgres_url: str, tmp_path: Path
) -> None:
    """The writer's history check reads the signed leaf hashes, the scan after it the forged
    rows (the red-team's view told them apart by the query): the scan's own tree is checked
    against the one the home kept."""
    kept = KeptCheckpoint(tmp_path / "home")
    kept.folder.mkdir()
    signer = SigningKey.generate()
    made = Ledger.create(postgres_url, signer, kept=kept)
    try:
        with Recorder(made) as recorder:
            row = alpaca(0)
            recorder.generated(row, GENERATOR)
            screen(recorder, row, "quarantined")
        made.checkpoint()
    finally:
        made.close()
    ledger = Ledger.open(postgres_url, signer, kept=KeptCheckpoint(kept.folder))
    try:
        with split_view(postgres_url, "screened", {"outcome": "accepted"}, rehash=True) as switch:
            switch.execute("INSERT INTO genuine VALUES (1)")
            ledger.check_history()
            switch.execute("DELETE FROM genuine")
            with pytest.raises(VerificationError, match="do not extend the tree of 3 entries"):
                held_samples(ledger)
    finally:
        ledger.close()
