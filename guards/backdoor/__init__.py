"""Backdoor and poisoning screening: invisible and bidi characters, mixed-script homoglyphs,
prompt-injection markers, and dataset-level trigger statistics.

    from synthguard.guards.backdoor import BackdoorConfig, BackdoorGuard

    guard = BackdoorGuard(BackdoorConfig())
    verdicts = guard.check(samples) + guard.finish()  # finish: the dataset-level statistics
"""

from synthguard.guards.backdoor.guard import BackdoorConfig, BackdoorGuard

__all__ = [
    "BackdoorConfig",
    "BackdoorGuard",
]
