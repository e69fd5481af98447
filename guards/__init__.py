"""What stands between generated rows and a training set: guards that judge samples, and the
screen that runs them and signs every verdict.

    from synthguard.guards import default_guards, screen_file

    guards, notes = default_guards(home, names=["unicode", "dedup"])
    with home.open(passphrase) as ledger, Recorder(ledger) as recorder:
        screening = screen_file(Path("rows.jsonl"), Path("screened"), guards, recorder)
    print(len(screening.result.accepted), "accepted")

Inside: `verdict`, `screen`, `pipeline`, `errors`; the guards `decontamination`, `toxicity`,
`self_instruct`, `quarantine`, and the subsystems `dedup/`, `backdoor/` (each its own front door).

The names below load on first use (PEP 562, by `lazy_loader`), so importing a subsystem such as
`synthguard.guards.dedup` does not pull in the screen, the other guards and the ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from synthguard.guards.errors import GuardError as GuardError
    from synthguard.guards.pipeline import Screening as Screening
    from synthguard.guards.pipeline import default_guards as default_guards
    from synthguard.guards.pipeline import screen_file as screen_file
    from synthguard.guards.verdict import DatasetGuard as DatasetGuard
    from synthguard.guards.verdict import Guard as Guard
    from synthguard.guards.verdict import GuardInfo as GuardInfo
    from synthguard.guards.verdict import Verdict as Verdict

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "errors": ["GuardError"],
        "pipeline": ["Screening", "default_guards", "screen_file"],
        "verdict": ["DatasetGuard", "Guard", "GuardInfo", "Verdict"],
    },
)
