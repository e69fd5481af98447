"""What stands between generated rows and a training set: guards that judge samples, and the
screen that runs them and signs every verdict.

    from synthguard.guards import default_guards, screen_file

    guards, notes = default_guards(home, names=["unicode", "dedup"])
    with home.open(passphrase) as ledger, Recorder(ledger) as recorder:
        screening = screen_file(Path("rows.jsonl"), Path("screened"), guards, recorder)
    print(len(screening.result.accepted), "accepted")

Inside: `verdict`, `screen`, `pipeline`, `errors`; the guards `decontamination`, `toxicity`,
`self_instruct`, `quarantine`, and the subsystems `dedup/`, `backdoor/` (each its own front door).

The names below load on first use (PEP 562), so importing a subsystem such as
`synthguard.guards.dedup` does not pull in the screen, the other guards and the ledger.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthguard.guards.errors import GuardError
    from synthguard.guards.pipeline import Screening, default_guards, screen_file
    from synthguard.guards.verdict import DatasetGuard, Guard, GuardInfo, Verdict

_HOMES = {
    "Guard": "synthguard.guards.verdict",
    "DatasetGuard": "synthguard.guards.verdict",
    "GuardInfo": "synthguard.guards.verdict",
    "Verdict": "synthguard.guards.verdict",
    "GuardError": "synthguard.guards.errors",
    "Screening": "synthguard.guards.pipeline",
    "default_guards": "synthguard.guards.pipeline",
    "screen_file": "synthguard.guards.pipeline",
}

__all__ = [
    "DatasetGuard",
    "Guard",
    "GuardError",
    "GuardInfo",
    "Screening",
    "Verdict",
    "default_guards",
    "screen_file",
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
