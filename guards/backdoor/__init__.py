"""Backdoor and poisoning screening: invisible and bidi characters, mixed-script homoglyphs,
prompt-injection markers, answers that parrot their prompt, and dataset-level statistics:
triggers that pin a response or make it echo, prompt collapse, and payloads recurring in
unrelated answers without a trigger.

    from synthguard.guards.backdoor import BackdoorConfig, BackdoorGuard

    guard = BackdoorGuard(BackdoorConfig())
    verdicts = guard.check(samples) + guard.finish()  # finish: the dataset-level statistics

Inside: `guard` (the guard and its config), `triggers` (the dataset statistics), `spans` (what a
payload is made of, and echoes), `invisible`, `homoglyph`, `injection`.
"""

from synthguard.guards.backdoor.guard import BackdoorConfig, BackdoorGuard
from synthguard.guards.backdoor.homoglyph import find_mixed_script, read_as_latin

__all__ = [
    "BackdoorConfig",
    "BackdoorGuard",
    "find_mixed_script",
    "read_as_latin",
]
