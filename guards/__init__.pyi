"""The front door's names: what type checkers read, and what `__init__.py` loads lazily."""

from .errors import GuardError
from .pipeline import Screening, default_guards, screen_file
from .verdict import DatasetGuard, Guard, GuardInfo, Verdict

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
