"""The front door's names: what type checkers read, and what `__init__.py` loads lazily."""

from .home import Home
from .log import Ledger, VerifyReport, verify_ledger
from .release import ReleaseReport, ReleaseResult, create_release, verify_release
from .report import TransparencyReport, compute_report

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
