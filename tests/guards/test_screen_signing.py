"""The screen's signed verdicts: built and signed on processes forked from the screening one
(they inherit the key) or here, the same records in the same order, appended a block at a time."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from test_distributed_screen import mixed_corpus

from synthguard.guards import screen
from synthguard.guards.backdoor.guard import BackdoorConfig, BackdoorGuard
from synthguard.guards.dedup import DedupGuard, DedupIndex
from synthguard.guards.privacy import PrivacyGuard
from synthguard.guards.screen import ScreenResult, record_verdicts, screen_rows
from synthguard.guards.verdict import Guard
from synthguard.ledger.log import Ledger
from synthguard.ledger.log.verify import verify_ledger
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.reader import read_samples
from synthguard.provenance.record import RECORD_TYPE, Generator
from synthguard.provenance.recorder import Recorder

GENERATOR = Generator(name="self-instruct", model="test-model")


def screened(source: Path, folder: Path) -> tuple[ScreenResult, list[Guard]]:
    guards: list[Guard] = [
        DedupGuard(index=DedupIndex(folder / "dedup")),
        BackdoorGuard(BackdoorConfig()),
        PrivacyGuard(),
    ]
    return screen_rows(read_samples(source), guards, spill_dir=folder), guards


def signed(ledger: Ledger) -> list[tuple[str, str, int, Any]]:
    """Each record's event, sample, depth and detail, in ledger order (the genesis left out)."""
    found = []
    for entry in ledger.entries():
        if entry.payload_type == RECORD_TYPE:
            record = json.loads(base64.b64decode(json.loads(entry.envelope)["payload"]))
            found.append((record["event"], record["sample_id"], record["depth"], record["detail"]))
    return found


def test_verdicts_signed_on_forked_workers_are_those_signed_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, _ = mixed_corpus(tmp_path, size=1500)
    key = SigningKey.generate()
    found, appended = [], []
    for workers in (1, 2):
        folder = tmp_path / f"workers-{workers}"
        folder.mkdir()
        ledger = Ledger.create(f"sqlite:///{folder / 'ledger.db'}", key, origin="test")
        try:
            result, guards = screened(source, folder)
            with Recorder(ledger) as recorder:
                # Some samples have lineage here already: their records repeat its depth.
                for item in list(result)[:60:3]:
                    if item.row.sample is not None:
                        recorder.generated(item.row.sample, GENERATOR)
                # Records in blocks of 64: many blocks, most signed by the workers, and a
                # sample's copies in later blocks than the sample.
                with monkeypatch.context() as patch:
                    patch.setattr(screen, "BLOCK", 64)
                    count = record_verdicts(result, recorder, guards, workers=workers)
            appended.append(recorder.appended)
            verify_ledger(ledger)
            found.append(signed(ledger))
            result.close()
        finally:
            ledger.close()
    one, forked = found
    assert one == forked
    screened_records = [record for record in one if record[0] == "screened"]
    assert len(screened_records) == count > 20 * 64
    assert appended[0] == appended[1] == len(one)
    # The corpus exercises what a record carries: copies, lineage depth, both outcomes.
    assert any("copies" in detail for _, _, _, detail in screened_records)
    assert {depth for _, _, depth, _ in screened_records} == {0, 1}
    assert {detail["outcome"] for _, _, _, detail in screened_records} == {
        "accepted",
        "quarantined",
    }
