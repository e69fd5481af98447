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

The names below load on first use (PEP 562, by `lazy_loader`), so importing
`synthguard.ledger.home` or the log does not pull in the report and release stacks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from synthguard.ledger.home import Home as Home
    from synthguard.ledger.log import Ledger as Ledger
    from synthguard.ledger.log import VerifyReport as VerifyReport
    from synthguard.ledger.log import verify_ledger as verify_ledger
    from synthguard.ledger.release import ReleaseReport as ReleaseReport
    from synthguard.ledger.release import ReleaseResult as ReleaseResult
    from synthguard.ledger.release import create_release as create_release
    from synthguard.ledger.release import verify_release as verify_release
    from synthguard.ledger.report import TransparencyReport as TransparencyReport
    from synthguard.ledger.report import compute_report as compute_report

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "home": ["Home"],
        "log": ["Ledger", "VerifyReport", "verify_ledger"],
        "release": ["ReleaseReport", "ReleaseResult", "create_release", "verify_release"],
        "report": ["TransparencyReport", "compute_report"],
    },
)
