"""Ledgers stocked with samples in every release standing (accepted, human, overridden,
quarantined, unscreened), shared by the release, Croissant and hostile-folder tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthguard.ledger.log.store import Ledger
from synthguard.ledger.screening import sign_override
from synthguard.provenance.canonical import digest_json
from synthguard.provenance.record import Generator
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import sample_from_row

GENERATOR = Generator(name="self-instruct", provider="meta", model="llama-3-8b", version="2024-05")
GUARD = {
    "family": "backdoor",
    "name": "unicode",
    "version": "1",
    "config_digest": digest_json({"rules": ["invisible", "bidi"]}),
}
FAILED = {"guard": "backdoor", "rule": "invisible", "score": 1.0, "passed": False}


def alpaca(i: int, tag: str = "q") -> dict[str, str]:
    """A distinct Alpaca row."""
    return {"instruction": f"{tag}: add {i} and {i + 1}.", "input": "", "output": str(2 * i + 1)}


def sample_id(row: dict[str, Any]) -> str:
    """The content-addressed id of a row."""
    return sample_from_row(row).id


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    """Write rows as JSON lines."""
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def screen(recorder: Recorder, row: Any, outcome: str) -> None:
    """Sign a `screened` record shaped as the guards' screen writes it."""
    verdicts = [FAILED] if outcome == "quarantined" else []
    recorder.screened(row, detail={"outcome": outcome, "verdicts": verdicts, "guards": [GUARD]})


def override(ledger: Ledger, row: Any) -> None:
    """Sign a reviewer's release of a quarantined sample (naming the quarantines it answers)."""
    with Recorder(ledger) as recorder:
        sign_override(ledger, recorder, sample_id(row), reason="a false positive", reviewer="ana")


@dataclass
class Stock:
    """Rows recorded in a ledger, by how they stand."""

    accepted: list[dict[str, Any]] = field(default_factory=list)
    human: list[dict[str, Any]] = field(default_factory=list)
    overridden: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    unscreened: list[dict[str, Any]] = field(default_factory=list)

    @property
    def releasable(self) -> list[dict[str, Any]]:
        """Rows that may go out."""
        return self.accepted + self.human + self.overridden


def stock(
    ledger: Ledger,
    *,
    accepted: int = 4,
    human: int = 1,
    overridden: int = 1,
    quarantined: int = 1,
    unscreened: int = 1,
) -> Stock:
    """Record generated (or imported, for human) samples and screen them as asked."""
    made = Stock(
        accepted=[alpaca(i, "accepted") for i in range(accepted)],
        human=[{"text": f"a human wrote this, {i}"} for i in range(human)],
        overridden=[
            {
                "messages": [
                    {"role": "user", "content": f"hello {i}"},
                    {"role": "ai", "content": "hi"},
                ]
            }
            for i in range(overridden)
        ],
        quarantined=[alpaca(i, "held") for i in range(quarantined)],
        unscreened=[alpaca(i, "unscreened") for i in range(unscreened)],
    )
    with Recorder(ledger) as recorder:
        for row in made.accepted + made.overridden + made.quarantined + made.unscreened:
            recorder.generated(row, GENERATOR)
        for row in made.human:
            recorder.imported(row)
        for row in made.accepted + made.human:
            screen(recorder, row, "accepted")
        for row in made.overridden + made.quarantined:
            screen(recorder, row, "quarantined")
    for row in made.overridden:
        override(ledger, row)
    return made
