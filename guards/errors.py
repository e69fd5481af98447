"""The guards' own error, under synthguard's one hierarchy (`synthguard.provenance.errors`).

A bad sample is not an error but a failing verdict; bad input to a guard (its parameters, a
damaged dedup index, an unreadable protected set) is an `InputError` from that hierarchy.
"""

from __future__ import annotations

from synthguard.provenance.errors import SynthguardError


class GuardError(SynthguardError):
    """A guard broke its contract (a bug in the guard, not in the data)."""
