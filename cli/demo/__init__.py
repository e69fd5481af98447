"""The demo: an end-to-end pipeline on a built-in generator, critic and reviser (a small
rule-based stand-in for an LLM, so the demo runs offline with nothing to configure), and the
`synthguard demo` command that runs it.

    from synthguard.cli.demo import run_demo

    result = run_demo(Path("synthguard-demo"), samples=200)
"""

from synthguard.cli.demo.command import demo
from synthguard.cli.demo.models import (
    BuiltinCritic,
    BuiltinGenerator,
    BuiltinReviser,
    BuiltinTaskProposer,
)
from synthguard.cli.demo.run import (
    DEFAULT_DIR,
    DEFAULT_SAMPLES,
    DEMO_PASSPHRASE,
    DemoResult,
    run_demo,
)

__all__ = [
    "DEFAULT_DIR",
    "DEFAULT_SAMPLES",
    "DEMO_PASSPHRASE",
    "BuiltinCritic",
    "BuiltinGenerator",
    "BuiltinReviser",
    "BuiltinTaskProposer",
    "DemoResult",
    "demo",
    "run_demo",
]
