"""What the two toxicity test modules share: the extra's import (skip, or fail under CI), rows
as samples, and which samples a guard failed."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from typing import Any

import pytest

from synthguard.guards.toxicity import ToxicityGuard
from synthguard.guards.verdict import Verdict
from synthguard.provenance.sample import Sample, sample_from_row


def require(module: str) -> Any:
    """Import a module of the toxicity extra; skip without it, except under CI (`CI` set)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        message = f"{module} is not installed (pip install 'synthguard[toxicity]'): {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the toxicity tests", pytrace=False)
        pytest.skip(message)


def samples(texts: list[str]) -> list[Sample]:
    """One text sample per text."""
    return [sample_from_row({"text": text}) for text in texts]


def flagged(verdicts: Iterable[Verdict]) -> set[str]:
    """The ids of the samples that failed any verdict."""
    return {verdict.sample_id for verdict in verdicts if not verdict.passed}


def caught(guard: ToxicityGuard, texts: list[str]) -> list[str]:
    """The texts the guard fails, in input order."""
    batch = samples(texts)
    failed = flagged(guard.check(batch))
    return [text for text, sample in zip(texts, batch, strict=True) if sample.id in failed]
