"""The toxicity extra's packages, imported by name only when a backend needs them, so that
importing the guard needs none of them (nor their missing type information)."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from synthguard.provenance.errors import InputError

EXTRA_HINT = "pip install 'synthguard[toxicity]'"


def import_extra(module: str, purpose: str) -> Any:
    """Import `module`, or raise `InputError` naming what needs it and the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(f"{purpose} needs the toxicity extra: {EXTRA_HINT}") from exc


def installed(module: str) -> bool:
    """Whether `module` can be imported, without importing it."""
    return importlib.util.find_spec(module) is not None
