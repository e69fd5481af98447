"""Helpers for the middleware tests: a real SQLite ledger, and its lineage records read back."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from synthguard.ledger.log.store import Ledger
from synthguard.ledger.log.verify import verify_ledger
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.record import RECORD_TYPE


def new_ledger(tmp_path: Path, key: SigningKey | None = None, **options: Any) -> Ledger:
    """A fresh SQLite ledger in tmp_path, signed by `key` (a new in-memory key by default)."""
    return Ledger.create(f"sqlite:///{tmp_path / 'l.db'}", key or SigningKey.generate(), **options)


def payloads(ledger: Ledger, event: str | None = None) -> list[dict[str, Any]]:
    """The decoded lineage records the ledger holds, in order (only `event` ones, if given)."""
    found = []
    for entry in ledger.entries():
        if entry.payload_type != RECORD_TYPE:
            continue
        payload = json.loads(base64.b64decode(json.loads(entry.envelope)["payload"]))
        if event is None or payload["event"] == event:
            found.append(payload)
    return found


def verified_size(ledger: Ledger) -> int:
    """Verify the whole ledger (raising on any fault); return its size."""
    return verify_ledger(ledger).size
