"""Where records live and how anyone checks them: the log, screening state, releases, reports.

    from synthguard.ledger import Home, compute_report, verify_ledger

    home = Home.locate()
    with home.open(passphrase) as ledger:
        print(verify_ledger(ledger).ok)
        report = compute_report(ledger, stated=...)

Inside, one folder per subsystem, each with its own front door:

- `log/`: the append-only log (tables, RFC 6962 tree, checkpoints, key timeline, lineage
  readers, verify). Every SQL statement of the project is here.
- `report/`: the transparency report, computed from the log and rendered (HTML, Markdown, JSON,
  dataset card, Croissant).
- `release/`: signed release folders: create, manifest, bundle, policy, verify.
- `integrations/`: Hugging Face datasets and distilabel.

and the modules that tie them to a user's work: `home` (the folder, its config and keys),
`screening` (the quarantine fold and its overrides), `review`, `audit`.

The names below load on first use (PEP 562), so importing `synthguard.ledger.home` or the log
does not pull in the report and release stacks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthguard.ledger.home import Home
    from synthguard.ledger.log import Ledger, VerifyReport, verify_ledger
    from synthguard.ledger.release import (
        ReleaseReport,
        ReleaseResult,
        create_release,
        verify_release,
    )
    from synthguard.ledger.report import TransparencyReport, compute_report

_HOMES = {
    "Home": "synthguard.ledger.home",
    "Ledger": "synthguard.ledger.log",
    "VerifyReport": "synthguard.ledger.log",
    "verify_ledger": "synthguard.ledger.log",
    "ReleaseReport": "synthguard.ledger.release",
    "ReleaseResult": "synthguard.ledger.release",
    "create_release": "synthguard.ledger.release",
    "verify_release": "synthguard.ledger.release",
    "TransparencyReport": "synthguard.ledger.report",
    "compute_report": "synthguard.ledger.report",
}

__all__ = [
    "Home",
    "Ledger",
    "ReleaseReport",
    "ReleaseResult",
    "TransparencyReport",
    "VerifyReport",
    "compute_report",
    "create_release",
    "verify_ledger",
    "verify_release",
]


def __getattr__(name: str) -> Any:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
